"""How guarded runs behave: each script runs once, revisions that commit run as with plain
Alembic, ``--sql`` that fails says where, and no argument form Alembic accepts makes a
plan crash."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import alembic, version
from test_guard_catalogue import dump, seed

from nbmigrate.engine import NbMigrateError, Session
from nbmigrate.engine.errors import DestructiveChange, SqlStopped


@pytest.fixture
def project(db_url: str, tmp_path: Path) -> tuple[Session, str, Path]:
    seed(db_url)
    session = Session(workdir=tmp_path)
    session.init("migrations", url=db_url)
    session.revision("start", rev_id="r_start")
    session.upgrade("head")
    yield session, db_url, tmp_path
    for database in session.databases:
        database.engine.dispose()


def write(session: Session, rev: str, *lines: str, down: str = "pass") -> None:
    body = "\n    ".join(lines)
    session.revision(rev, rev_id=rev, body=f"def upgrade():\n    {body}\n\n\n"
                                           f"def downgrade():\n    {down}\n")


def test_a_guarded_upgrade_runs_each_script_once(project):
    session, url, where = project
    counter = where / "count"
    write(session, "r1", "import pathlib",
          f"p = pathlib.Path({str(counter)!r})",
          "p.write_text(str(int(p.read_text()) + 1) if p.exists() else '1')",
          'op.add_column("t", sa.Column("k", sa.Integer))',
          'op.get_bind().exec_driver_sql("UPDATE t SET k = id")')
    session.upgrade("head", dry_run=True)
    assert counter.read_text() == "1"  # the rehearsal, or MySQL's reading, ran it once
    counter.unlink()
    session.upgrade("head")
    # PostgreSQL and SQLite measure as the one real run goes; MySQL reads the plan first
    # (sending only reads), because its DDL cannot be rolled back
    assert counter.read_text() == ("2" if url.startswith("mysql") else "1")
    assert version(url) == {"r1"}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # a PostgreSQL habit
def test_a_revision_that_commits_runs_as_with_plain_alembic(db_url, tmp_path):
    seed(db_url)
    session = Session(workdir=tmp_path)
    session.init("migrations", url=db_url)
    write(session, "r1", 'op.add_column("t", sa.Column("k", sa.Integer))',
          'op.execute("COMMIT")', 'op.create_index("ix_t_k", "t", ["k"])',
          down='op.drop_index("ix_t_k", table_name="t")\n    op.drop_column("t", "k")')
    write(session, "r2", 'op.execute("UPDATE no_such_table SET x = 1")')
    failed = None
    try:
        session.upgrade("head")
    except NbMigrateError as exc:
        failed = str(exc)
    assert failed is not None and "stopped at revision r2" in failed
    assert version(db_url) == {"r1"}  # r1 ran whole; r2 failed and names itself
    assert "k" in {c["name"] for c in sa.inspect(sa.create_engine(db_url)).get_columns("t")}
    # plain alembic applies the same revision the same way
    session.downgrade("base", yes=True)
    (tmp_path / "migrations" / "versions" / "r2_r2.py").unlink()
    alembic("upgrade", "head", cwd=tmp_path, url=db_url)
    assert version(db_url) == {"r1"}


def test_sql_that_fails_part_way_shows_what_it_rendered_and_where_it_stopped(project):
    session, url, where = project
    write(session, "r1", 'op.add_column("t", sa.Column("k", sa.Integer))')
    write(session, "r2", "raise RuntimeError('needs a live database')")
    with pytest.raises(SqlStopped) as stopped:
        session.upgrade("head", sql=True)
    assert "stopped at revision r2: RuntimeError: needs a live database" in str(stopped.value)
    assert "ADD COLUMN k" in stopped.value.rendered
    assert "-- Running upgrade r_start -> r1" in stopped.value.rendered


def test_sql_that_fails_part_way_in_a_notebook_prints_it_then_one_line(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok('%%migrate revision -m one --rev-id r1\ndef upgrade():\n    op.create_table("a", '
          'sa.Column("id", sa.Integer, primary_key=True))\n\ndef downgrade():\n    pass\n')
    nb.ok('%%migrate revision -m two --rev-id r2\ndef upgrade():\n    raise RuntimeError("x")\n'
          '\ndef downgrade():\n    pass\n')
    out = nb.run("%migrate upgrade head --sql")
    assert "CREATE TABLE a" in out.stdout
    assert out.error_line == "upgrade --sql stopped at revision r2: RuntimeError: x"


@pytest.mark.parametrize("lines", [
    ['op.drop_column("t", sa.Column("blank"))'],
    ['op.alter_column("t", "s", existing_type=sa.String(20), nullable=True)'],
    ['with op.batch_alter_table("t") as b:', '    b.alter_column("s", new_column_name="s2")'],
], ids=["a Column object", "existing_type", "a batch rename"])
def test_plans_and_lint_take_every_argument_form_alembic_accepts(project, lines):
    session, url, where = project
    write(session, "r1", *lines)
    before = dump(url)
    plan = session.upgrade("head", dry_run=True)  # a plan, never a traceback
    assert dump(url) == before
    [step] = plan.steps
    # where Alembic itself cannot run the form here (SQLAlchemy 2.1 refuses a bare Column;
    # MySQL needs the existing type to rename), the plan says so in one line, as the real
    # upgrade would fail
    assert "\n" not in step.reason
    try:
        session.upgrade("head", yes=True)
    except NbMigrateError as exc:  # the rehearsal saw the same failure coming
        assert step.reason
        seen = step.reason.split("raised ")[-1].split("would fail: ")[-1].split(", perhaps")[0]
        assert seen in str(exc)
    else:
        assert not step.reason
    session.lint("r_start:r1")
    session.lint()


@pytest.mark.parametrize("db_url", ["mysql"], indirect=True)  # DDL that commits as it goes
def test_a_loss_the_reading_could_not_foresee_stops_right_before_it(project):
    session, url, where = project
    write(session, "r1", 'op.create_table("marker", sa.Column("id", sa.Integer, '
          'primary_key=True))', 'op.execute("INSERT INTO marker VALUES (1)")',
          down='op.drop_table("marker")')
    # the reading sends no write, so it cannot know that marker holds a row: it stops there
    write(session, "r2", 'if op.get_bind().exec_driver_sql("SELECT count(*) FROM marker")'
          '.scalar():', '    op.drop_table("u")')
    plan = session.upgrade("head", dry_run=True)
    assert "did not send" in plan.steps[1].reason and plan.destructive == []
    with pytest.raises(DestructiveChange) as stopped:
        session.upgrade("head")
    line = str(stopped.value)
    assert "r2: drop_table u (3 row(s) dropped)" in line
    assert "It stopped at revision r2, before statement 1; the 1 revision(s) before it " \
           "were applied and kept" in line and "is now at r1" in line
    assert "Nothing changed" not in line
    assert version(url) == {"r1"} and "u" in sa.inspect(sa.create_engine(url)).get_table_names()
