"""``test``: the migrations tried on a scratch database, one row per revision and check,
never touching the connected database."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import (
    SERVERS,
    another_database,
    columns,
    drop_database,
    nbmigrate,
    table_revision,
    tables,
    team_project,
    version,
)
from IPython.core.error import UsageError

from nbmigrate.engine import NbMigrateError, Session, shapes
from nbmigrate.engine.backends import backend_for
from nbmigrate.engine.trial import TrialReport, run_trial
from nbmigrate.engine.undone import undone

USERS = ('op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), '
         'sa.Column("name", sa.String(50), nullable=False))')


def model(*extra: sa.Column) -> sa.MetaData:
    """The model of the healthy project: users (id, name, email) and orders."""
    metadata = sa.MetaData()
    sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("name", sa.String(50), nullable=False),
             sa.Column("email", sa.String(120)), sa.Index("ix_users_email", "email"), *extra)
    sa.Table("orders", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id")))
    return metadata


def write(session: Session, rev: str, up: str, down: str, *, head: str = "head") -> None:
    """A revision ``rev`` whose upgrade() runs ``up`` and downgrade() ``down``."""
    session.revision(rev, rev_id=rev, head=head, splice=head != "head",
                     body=f"def upgrade():\n    {up}\n\n\ndef downgrade():\n    {down}\n")


def healthy(session: Session) -> None:
    """r1 users, r2 users.email with an index, r3 orders pointing at users."""
    write(session, "r1", USERS, 'op.drop_table("users")')
    write(session, "r2", 'op.add_column("users", sa.Column("email", sa.String(120)))\n'
          '    op.create_index("ix_users_email", "users", ["email"])',
          'op.drop_index("ix_users_email", table_name="users")\n'
          '    with op.batch_alter_table("users") as batch:\n'
          '        batch.drop_column("email")')
    write(session, "r3", 'op.create_table("orders", sa.Column("id", sa.Integer, '
          'primary_key=True), sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id")))',
          'op.drop_table("orders")')


@pytest.fixture
def session(db_url: str, tmp_path: Path) -> Session:
    """A project on ``db_url`` whose model is the healthy project's."""
    made = Session(workdir=tmp_path, namespace={"metadata": model()})
    made.init("migrations", url=db_url)
    yield made
    for database in made.databases:
        database.engine.dispose()


def rows(report: TrialReport) -> dict[tuple[str, str], tuple[str, str]]:
    """(revision, check) -> (status, detail)."""
    return {(r.revision, r.check): (r.status, r.detail) for r in report.checks}


def state(url: str) -> dict:
    """Everything a test could change in a database: columns, indexes, rows, version."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            found: dict = {"version": version(url)}
            for name in sorted(inspector.get_table_names()):
                table = sa.Table(name, sa.MetaData(), autoload_with=conn)
                found[name] = ([(c.name, str(c.type), c.nullable) for c in table.columns],
                               sorted(i["name"] for i in inspector.get_indexes(name)),
                               sorted(map(tuple, conn.execute(sa.select(table)))))
            return found
    finally:
        engine.dispose()


def gone(where: str) -> bool:
    """Whether the scratch database at URL ``where`` no longer exists."""
    url = sa.make_url(where)
    if url.get_backend_name() == "sqlite":
        return not Path(url.database).exists()
    engine = sa.create_engine(url.set(database=sa.make_url(SERVERS[_kind(url)]).database))
    try:
        with engine.connect() as conn:
            query = ("SELECT 1 FROM pg_database WHERE datname = :n"
                     if _kind(url) == "postgresql" else
                     "SELECT 1 FROM information_schema.schemata WHERE schema_name = :n")
            return conn.execute(sa.text(query), {"n": url.database}).first() is None
    finally:
        engine.dispose()


def _transactional(url: str) -> bool:
    """Whether DDL on ``url`` rolls back (where a stairway can go back to a savepoint)."""
    return sa.make_url(url).get_backend_name() in ("sqlite", "postgresql")


def _kind(url: sa.URL) -> str:
    return "postgresql" if url.get_backend_name() == "postgresql" else "mysql"


# ------------------------------------------------------------------ a healthy project


def test_a_healthy_project_passes_and_the_connected_database_is_untouched(session, db_url):
    healthy(session)
    session.upgrade("r2")
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO users (name, email) VALUES ('ada', 'a@b.c')")
    engine.dispose()
    before = state(db_url)
    seen = []
    report = run_trial(session.workspace,
                       on_progress=lambda row, n, of: seen.append((row.revision, n, of)))
    assert not report.failed and report.failure == "", report.failures
    found = rows(report)
    assert found[("r3", "heads")] == ("ok", "one head")
    for rev in ("r1", "r2", "r3"):
        for check in ("upgrade", "stairway", "no trace"):
            assert found[(rev, check)][0] == "ok", (rev, check, found[(rev, check)])
    if _transactional(db_url):  # r3's downgrade undid exactly what its upgrade made
        assert "upgrade's schema restored" in found[("r3", "stairway")][1]
    assert found[("r3", "models")] == ("ok", "autogenerate finds nothing")
    assert [r.check for r in report.checks][:4] == ["heads", "upgrade", "no trace",
                                                      "stairway"]
    assert seen == [("r1", 1, 3), ("r2", 2, 3), ("r3", 3, 3)]
    assert state(db_url) == before  # schema, rows and revision of the connected database
    assert report.database == "default" and report.revisions == 3
    assert gone(report.scratch) and not report.kept
    assert report.columns == ("revision", "message", "check", "status", "detail")
    assert report.rows()[0] == tuple(report.checks[0])


# ------------------------------------------------------------------ what it finds


def test_a_downgrade_that_forgets_a_column_fails_naming_the_revision_and_column(session):
    healthy(session)
    write(session, "r4", 'op.add_column("users", sa.Column("age", sa.Integer))', "pass")
    write(session, "r5", 'op.create_table("tags", sa.Column("id", sa.Integer, '
          'primary_key=True))', 'op.drop_table("tags")')
    report = run_trial(session.workspace)
    assert report.failed
    found = rows(report)
    assert found[("r4", "no trace")] == ("failed", "the downgrade left column users.age")
    assert [r.check for r in report.checks if r.revision == "r4"] == [
        "upgrade", "no trace", "stairway"]  # once each, though it was read and run again
    assert found[("r4", "stairway")][0] == "failed"  # the column is there when it runs again
    assert "age" in found[("r4", "stairway")][1]
    # where the walk can go back (transactional DDL) the next revisions are still tried;
    # MySQL/MariaDB keeps what ran, so the revisions after it are named as not run
    after = found[("r5", "upgrade")]
    assert after == ("ok", "") or after == ("skipped", "not run: r4 failed")
    assert "models" in {r.check for r in report.checks}
    assert report.failure.startswith("test failed: r4 no trace: the downgrade left column "
                                     "users.age (and ")


LEFT = {  # what an upgrade makes and its downgrade forgets, and how the row names it
    "index": ('op.create_index("ix_users_name", "users", ["name"])',
              "index ix_users_name on users"),
    "table": ('op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))',
              "table notes"),
    "foreign key": ('with op.batch_alter_table("orders") as batch:\n'
                    '        batch.add_column(sa.Column("owner_id", sa.Integer))\n'
                    '        batch.create_foreign_key("fk_owner", "users", ["owner_id"], ["id"])',
                    "column orders.owner_id", "foreign key "),  # SQLite: by its columns
}


@pytest.mark.parametrize("kind", LEFT)
def test_what_a_downgrade_leaves_is_named(session, kind):
    healthy(session)
    up, *named = LEFT[kind]
    write(session, "r4", up, "pass")
    found = rows(run_trial(session.workspace))
    status, detail = found[("r4", "no trace")]
    assert status == "failed" and detail.startswith(f"the downgrade left {named[0]}"), detail
    assert all(name in detail for name in named), detail


def test_what_a_downgrade_drops_that_was_there_before_is_named(session):
    healthy(session)
    write(session, "r4", "pass", 'op.drop_index("ix_users_email", table_name="users")')
    found = rows(run_trial(session.workspace))
    assert found[("r4", "no trace")] == (
        "failed", "after the downgrade: missing index ix_users_email on users")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_postgresql_enum_type_left_by_a_downgrade_is_named(session):
    write(session, "e1", 'op.create_table("entries", sa.Column("id", sa.Integer, '
          'primary_key=True), sa.Column("mood", sa.Enum("sad", "ok", name="mood")))',
          'op.drop_table("entries")')
    report = run_trial(session.workspace)
    found = rows(report)
    assert found[("e1", "no trace")] == ("failed", "the downgrade left enum type mood")
    assert found[("e1", "stairway")] == ("ok", "")  # CREATE TYPE is skipped when it exists


def test_drifted_models_fail_naming_the_column(session):
    healthy(session)
    report = run_trial(session.workspace, metadata="drifted")
    assert rows(report)[("r3", "models")][0] == "skipped"  # no such model: said, not failed
    session.workspace.namespace = {"metadata": model(sa.Column("nickname", sa.String(30)))}
    report = run_trial(session.workspace)
    status, detail = rows(report)[("r3", "models")]
    assert status == "failed" and "add_column users.nickname" in detail
    assert [r.check for r in report.failures] == ["models"]


def test_a_branched_history_is_walked_on_each_branch(tmp_path):
    session = Session(workdir=tmp_path, namespace={"metadata": sa.MetaData()})
    session.init("migrations", url=f"sqlite:///{tmp_path / 'main.db'}")
    write(session, "a1", USERS, 'op.drop_table("users")')
    write(session, "b1", 'op.create_table("b", sa.Column("id", sa.Integer, primary_key=True))',
          'op.drop_table("b")', head="a1")
    write(session, "c1", 'op.create_table("c", sa.Column("id", sa.Integer, primary_key=True))',
          'op.drop_table("c")', head="a1")
    write(session, "c2", 'op.add_column("c", sa.Column("x", sa.Integer))', "pass", head="c1")
    report = run_trial(session.workspace)
    found = rows(report)
    heads_row = report.checks[0]
    assert (heads_row.check, heads_row.status) == ("heads", "failed")
    assert set(heads_row.revision.split(", ")) == set(report.heads) == {"b1", "c2"}
    assert heads_row.detail.startswith("2 heads: ") and "merge" in heads_row.detail
    for rev in ("a1", "b1", "c1", "c2"):
        assert found[(rev, "upgrade")][0] == "ok"
    assert found[("b1", "no trace")][0] == "ok"
    assert found[("c2", "no trace")] == ("failed", "the downgrade left column c.x")
    session.merge(("b1", "c2"), message="join", rev_id="m1")
    report = run_trial(session.workspace)
    assert rows(report)[("m1", "heads")] == ("ok", "one head")
    assert rows(report)[("m1", "stairway")] == ("ok", "")  # a merge unmerged and merged


def test_an_irreversible_revision_is_reported_as_such(session):
    healthy(session)
    write(session, "r4", 'op.execute("UPDATE users SET name = upper(name)")',
          'raise NotImplementedError("upper-casing cannot be undone")')
    write(session, "r5", 'op.add_column("users", sa.Column("age", sa.Integer))',
          'op.drop_column("users", "age")')
    session.workspace.namespace = {"metadata": model(sa.Column("age", sa.Integer))}
    report = run_trial(session.workspace)
    found = rows(report)
    assert found[("r4", "stairway")] == (
        "irreversible", "downgrade() raises NotImplementedError: upper-casing cannot be undone")
    assert ("r4", "no trace") not in found
    assert found[("r5", "stairway")][0] == "ok"  # the walk goes on above it
    assert not report.failed


def test_from_limits_the_downgrades_tested_and_a_range_the_revisions(session):
    healthy(session)
    report = run_trial(session.workspace, start="r2")
    checks = {(r.revision, r.check) for r in report.checks}
    assert ("r1", "upgrade") in checks and ("r1", "stairway") not in checks
    assert ("r2", "stairway") in checks and ("r3", "stairway") in checks
    report = run_trial(session.workspace, "r2:r2")
    revisions = {r.revision for r in report.checks if r.check not in ("heads", "models")}
    assert revisions == {"r2"}  # r1 ran to get there, unreported; r3 did not run
    assert rows(report)[("r3", "models")] == ("skipped", "not compared: the range ends at "
                                                          "r2, before the head")
    with pytest.raises(NbMigrateError, match="test --from: Can't locate revision .*'nope'"):
        run_trial(session.workspace, start="nope")


def test_data_shows_what_each_downgrade_would_lose(session):
    write(session, "r1", USERS, 'op.drop_table("users")')
    write(session, "r2", 'op.add_column("users", sa.Column("email", sa.String(120)))',
          'with op.batch_alter_table("users") as batch:\n        batch.drop_column("email")')
    write(session, "r3", 'op.create_index("ix_users_name", "users", ["name"])',
          'op.drop_index("ix_users_name", table_name="users")')
    report = run_trial(session.workspace, data=True)
    found = rows(report)
    assert found[("r1", "data")] == ("loses data", "drop_table users (3 row(s) dropped)")
    status, detail = found[("r2", "data")]
    assert status == "loses data" and "users.email" in detail and "3 non-null" in detail
    assert found[("r3", "data")] == ("ok", "nothing lost")
    assert [r.check for r in report.failures] == ["models"]  # this model has no orders


def test_data_fills_a_table_whose_rows_point_at_another(session):
    healthy(session)
    report = run_trial(session.workspace, data=True)
    assert not report.failed, report.failures
    data = [(r.revision, r.status, r.detail) for r in report.checks if r.check == "data"]
    assert data == [("r1", "loses data", "drop_table users (3 row(s) dropped)"),
                    ("r2", "loses data", "drop_column users.email (3 non-null value(s) dropped)"),
                    ("r3", "loses data", "drop_table orders (3 row(s) dropped)")]


# ------------------------------------------------------------------ the scratch database


def test_a_database_with_tables_passed_as_db_is_refused_with_nothing_changed(session, db_url,
                                                                           tmp_path):
    healthy(session)
    session.upgrade("head")
    before = state(db_url)
    with pytest.raises(NbMigrateError, match=r"test refused: default holds tables \("):
        run_trial(session.workspace, db="default")
    assert state(db_url) == before


@pytest.fixture
def spare(db_url: str, tmp_path: Path) -> str:
    """The URL of a second, empty database of ``db_url``'s kind."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'spare.db'}"
        return
    with another_database(_kind(sa.make_url(db_url))) as url:
        yield url


def test_an_empty_database_passed_as_db_is_used_and_left_empty(session, db_url, spare):
    healthy(session)
    session.upgrade("r1")
    session.connect(spare, name="spare")
    before = state(db_url)
    report = run_trial(session.workspace, db="spare")
    assert not report.failed and report.database == report.on == "spare"
    assert not report.remark
    assert state(spare) == {"version": set()}  # emptied: rolled back, or downgraded (MySQL)
    assert state(db_url) == before


def test_keep_leaves_the_scratch_database_and_says_where(session, db_url):
    healthy(session)
    report = run_trial(session.workspace, keep=True)
    try:
        assert report.kept == report.scratch and not gone(report.kept)
        kept = sa.make_url(report.kept).render_as_string(hide_password=False)
        assert version(kept) == {"r3"}
        # the head's schema, whether a stairway ran its upgrade again or went back to it
        assert {"users", "orders"} <= tables(kept)
        assert {"id", "name", "email"} <= columns(kept, "users")
    finally:
        url = sa.make_url(report.kept)
        if url.get_backend_name() == "sqlite":
            shutil.rmtree(Path(url.database).parent)
        else:
            drop_database(_kind(url), url.database)


def test_a_team_env_py_runs_on_the_scratch_database_only(tmp_path):
    main = tmp_path / "main.db"
    team_project(tmp_path, f"sqlite:///{main}")
    session = Session()
    session.attach(tmp_path / "alembic.ini")
    write(session, "t1", USERS, 'op.drop_table("users")')
    report = run_trial(session.workspace)
    assert not report.failed, report.failures
    assert rows(report)[("t1", "stairway")] == ("ok", "")
    assert rows(report)[("t1", "models")][0] == "skipped"  # alembic init's env.py: no model
    assert not main.exists()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_without_permission_to_create_a_database_it_says_to_pass_db(db_url, tmp_path):
    role = f"nbmigrate_nocreate_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(db_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOCREATEDB")
    try:
        url = sa.make_url(db_url).set(username=role).render_as_string(hide_password=False)
        session = Session(workdir=tmp_path, namespace={"metadata": model()})
        session.init("migrations", url=url)
        write(session, "r1", USERS, 'op.drop_table("users")')
        with pytest.raises(NbMigrateError) as refused:
            run_trial(session.workspace)
        message = str(refused.value)
        assert "permission denied" in message and "%migrate test --db NAME" in message
        assert "\n" not in message
        for database in session.databases:
            database.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()



# ------------------------------------------------------------------ reading the schema


def test_a_partial_reading_equals_a_full_one(db_url):
    """After statements, only the relations they name (or whose index they name) are
    read again; the result is what reading everything gives."""
    engine = sa.create_engine(db_url)
    statements = ["CREATE TABLE a (id INTEGER PRIMARY KEY, n INTEGER)",
                  "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (id))",
                  "CREATE INDEX ix_a_n ON a (n)", "CREATE TABLE c (id INTEGER PRIMARY KEY)"]
    later = ["DROP INDEX ix_a_n" + (" ON a" if engine.dialect.name == "mysql" else ""),
             "ALTER TABLE b ADD COLUMN extra VARCHAR(20)", "DROP TABLE c",
             "CREATE TABLE d (id INTEGER PRIMARY KEY)"]
    try:
        with engine.connect() as conn:
            reader = backend_for(conn).schema_reader()
            for sql in statements:
                conn.exec_driver_sql(sql)
            before = reader.read(conn, {"alembic_version"})
            for sql in later:
                conn.exec_driver_sql(sql)
            partial = shapes.update(reader, conn, before, {"alembic_version"}, later)
            assert partial == reader.read(conn, {"alembic_version"})
            assert "c" not in partial and "d" in partial and partial["a"] != before["a"]
            assert shapes.differences(before, partial) == (
                "after the downgrade: left column b.extra, table d; missing index ix_a_n on a, "
                "table c")
            conn.rollback()
    finally:
        engine.dispose()


UNDONE = [  # (an upgrade's then its downgrade's statements, whether they cancel out)
    (["CREATE TABLE t (id INTEGER)", "INSERT INTO t VALUES (1)", "DROP TABLE t"], True),
    (["CREATE TABLE t (id INTEGER)", "CREATE INDEX ix ON t (id)", "DROP TABLE t"], True),
    (["ALTER TABLE u ADD COLUMN c INTEGER", "ALTER TABLE u DROP COLUMN c"], True),
    (["CREATE INDEX ix ON u (c)", "DROP INDEX ix ON u"], True),
    (["UPDATE u SET c = 1"], True),
    (["ALTER TABLE u ADD COLUMN c INTEGER"], False),  # left
    (["DROP TABLE u"], False),  # dropped what was there
    (["CREATE TABLE t (id INTEGER)", "DROP TABLE t CASCADE"], False),
    (["ALTER TABLE u ADD CONSTRAINT k UNIQUE (c)", "ALTER TABLE u DROP CONSTRAINT k"], False),
    (["CREATE TYPE mood AS ENUM ('a')", "CREATE TABLE t (m mood)", "DROP TABLE t"], False),
    (["CREATE TABLE t (id INTEGER); DROP TABLE u", "DROP TABLE t"], False),
]


@pytest.mark.parametrize(("statements", "expected"), UNDONE)
def test_statements_that_cancel_out_are_known_without_reading(statements, expected):
    for dialect in ("sqlite", "postgresql", "mysql"):
        assert undone(statements, dialect) is expected, dialect


# ------------------------------------------------------------------ the front ends

LEAKY = '''%%migrate revision -m "age" --rev-id b2
def upgrade():
    op.add_column("ta", sa.Column("age", sa.Integer))

def downgrade():
    pass
'''


def test_a_leaky_downgrade_fails_the_notebook_cell_in_one_line(nb):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok(table_revision("a1", "ta"))
    nb.ok(LEAKY)
    out = nb.run("%migrate test")
    assert isinstance(out.error, UsageError) and "\n" not in out.error_line
    assert "b2" in out.error_line and "column ta.age" in out.error_line
    shown = nb.ns["_"]  # the report stays at hand
    assert isinstance(shown, TrialReport) and shown.failures[0].check == "no trace"


def test_the_terminal_exits_1_on_a_leaky_downgrade_and_0_on_a_healthy_project(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok(table_revision("a1", "ta"))
    healthy_run = nbmigrate("test", cwd=workdir)
    assert healthy_run.returncode == 0, healthy_run.stderr
    nb.ok(LEAKY)
    done = nbmigrate("test", cwd=workdir)
    assert done.returncode == 1 and "b2" in done.stderr and "column ta.age" in done.stderr
    assert "no trace" in done.stdout  # the table, for CI logs
