"""A team's own Alembic project, whatever its env.py does: every step is audited, timed
and reported, the guard and the lock hold, and a dry run changes nothing.

The env.py shapes come from real projects: `alembic init`'s (makes its own Engine from
sqlalchemy.url), SQLAlchemy 1.x recipes and mlflow's (`.connect()` on the connection
it is handed), `.begin()` on it, one that sets its own session up first, and one that
connects to a database other than the one being migrated.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import alembic as alembic_cli
from helpers import columns, tables, team_project, version

from nbmigrate import Session
from nbmigrate.engine.errors import DestructiveChange, DriftDetected, NbMigrateError

ENGINE_SHAPED = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
connectable = config.attributes.get("connection", None)
if connectable is None:
    connectable = engine_from_config(config.get_section(config.config_ini_section),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.{opener}() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''

OWN_SESSION = '''
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
engine = engine_from_config(config.get_section(config.config_ini_section),
                            prefix="sqlalchemy.", poolclass=pool.NullPool)
with engine.connect() as connection:
    connection.exec_driver_sql("SELECT 1")  # its session set up before configure(),
    connection.commit()  # and committed, as Alembic's schema-per-tenant recipe does
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''

ELSEWHERE = '''
from alembic import context
from sqlalchemy import create_engine

with create_engine("sqlite:///elsewhere.db").connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
'''

SHAPES = {
    "alembic init": None,
    "engine .connect()": ENGINE_SHAPED.format(opener="connect"),
    "engine .begin()": ENGINE_SHAPED.format(opener="begin"),
    "own session": OWN_SESSION,
}


def revision(directory: Path, rev: str, parent: str | None, upgrade: str,
             downgrade: str = "pass") -> None:
    """Write revision ``rev`` (child of ``parent``) into the project's versions folder."""
    (directory / "alembic" / "versions" / f"{rev}.py").write_text(
        f'"""{rev}"""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
        f"revision = {rev!r}\ndown_revision = {parent!r}\n"
        f"branch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade():\n    {upgrade}\n\n\ndef downgrade():\n    {downgrade}\n")


def project(directory: Path, url: str, env_py: str | None) -> Session:
    """A team's `alembic init` project on ``url`` with ``env_py`` as its env.py (None:
    Alembic's own), three revisions (two tables, then a column), attached."""
    team_project(directory, url)
    if env_py is not None:
        (directory / "alembic" / "env.py").write_text(env_py)
    revision(directory, "r1", None, 'op.create_table("a", sa.Column("id", sa.Integer, '
             'primary_key=True), sa.Column("note", sa.String(20)))', 'op.drop_table("a")')
    revision(directory, "r2", "r1", 'op.create_table("b", sa.Column("id", sa.Integer, '
             'primary_key=True))', 'op.drop_table("b")')
    revision(directory, "r3", "r2", 'op.add_column("b", sa.Column("x", sa.Integer))',
             'op.drop_column("b", "x")')
    session = Session()
    session.attach(directory / "alembic.ini")
    return session


def log_rows(session: Session) -> list[tuple[str, str, str]]:
    """(revision, direction, status) of every audit row, oldest first."""
    frame = session.log().to_frame()
    return list(zip(frame.revision, frame.direction, frame.status, strict=True))[::-1]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_env_py_shape_logs_times_and_reports_each_step(shape, db_url, workdir):
    session = project(workdir, db_url, SHAPES[shape])
    seen = []
    done = session.upgrade("head", on_progress=lambda step, n, of: seen.append((step.revision,
                                                                                n, of)))
    assert [s.revision for s in done.steps] == ["r1", "r2", "r3"]
    assert seen == [("r1", 1, 3), ("r2", 2, 3), ("r3", 3, 3)]
    assert all(s.seconds is not None and s.seconds >= 0 for s in done.steps)
    assert log_rows(session) == [("r1", "up", "ok"), ("r2", "up", "ok"), ("r3", "up", "ok")]
    assert session.log().to_frame().seconds.notna().all()
    session.downgrade("r1", yes=True)
    assert version(db_url) == {"r1"}
    assert log_rows(session)[-2:] == [("r3", "down", "ok"), ("r2", "down", "ok")]


@pytest.mark.parametrize("shape", SHAPES)
def test_a_failure_names_the_revision_that_failed_and_logs_it(shape, db_url, workdir):
    session = project(workdir, db_url, SHAPES[shape])
    revision(workdir, "r4", "r3", 'op.add_column("a", sa.Column("y", sa.Integer))\n'
             '    op.execute("SELECT * FROM no_such_table")')
    with pytest.raises(NbMigrateError) as failed:
        session.upgrade("head")
    message = str(failed.value)
    assert "stopped at revision r4" in message and "no_such_table" in message
    mysql = db_url.startswith("mysql")
    if shape == "own session" and db_url.startswith("postgresql"):
        # env.py's one transaction (Alembic commits per revision only on SQLite and MySQL)
        assert "0 revision(s) applied before it" in message and "now at base" in message
        assert version(db_url) == set() and log_rows(session) == [("r4", "up", "failed")]
        return
    assert "3 revision(s) applied before it" in message and "now at r3" in message
    assert version(db_url) == {"r3"}
    assert log_rows(session) == [("r1", "up", "ok"), ("r2", "up", "ok"), ("r3", "up", "ok"),
                                 ("r4", "up", "failed")]
    if mysql:  # DDL commits as it goes: what r4 kept is named
        assert "kept from the failed revision" in message and "ADD COLUMN y" in message
        assert "y" in columns(db_url, "a")
    else:
        assert "y" not in columns(db_url, "a")


@pytest.mark.parametrize("shape", SHAPES)
def test_a_dry_run_changes_nothing_and_the_guard_refuses_whatever_env_py_does(
        shape, db_url, workdir):
    session = project(workdir, db_url, SHAPES[shape])
    session.upgrade("r3")
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO b (id, x) VALUES (1, 7), (2, 8)")
    revision(workdir, "r4", "r3", 'op.drop_column("b", "x")', 'pass')
    plan = session.upgrade("head", dry_run=True)
    assert plan.destructive and "2 non-null value(s)" in str(plan)
    assert "x" in columns(db_url, "b") and version(db_url) == {"r3"}
    with pytest.raises(DestructiveChange):
        session.upgrade("head")
    assert "x" in columns(db_url, "b") and version(db_url) == {"r3"}
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM b").scalar() == 2
    engine.dispose()
    session.upgrade("head", yes=True)
    assert "x" not in columns(db_url, "b") and version(db_url) == {"r4"}


def test_an_env_py_that_migrates_another_database_is_refused_in_one_line(workdir):
    session = project(workdir, f"sqlite:///{workdir / 'app.db'}", ELSEWHERE)
    with pytest.raises(NbMigrateError) as refused:
        session.upgrade("head")
    assert "env.py connects to sqlite:///elsewhere.db" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not (workdir / "elsewhere.db").exists() or not tables(
        f"sqlite:///{workdir / 'elsewhere.db'}")
    assert tables(f"sqlite:///{workdir / 'app.db'}") <= {"alembic_version"}


# --- reading changes nothing, and says what check would say


def test_reading_commands_never_make_the_database_file(workdir):
    session = project(workdir, f"sqlite:///{workdir / 'not_yet.db'}", None)
    assert [h.revision for h in session.heads().heads] == ["r3"]
    assert len(session.history().rows()) == 3
    assert "base" in str(session.current())
    assert session.log().entries == []
    assert session.status().rows()[0].current == "base (no revision applied)"
    session.graph()
    assert not (workdir / "not_yet.db").exists()
    session.upgrade("head")  # moving it makes it
    assert version(f"sqlite:///{workdir / 'not_yet.db'}") == {"r3"}


def test_status_compares_the_model_check_uses(workdir, models):
    session = project(workdir, f"sqlite:///{workdir / 'app.db'}", None)
    env = workdir / "alembic" / "env.py"  # the team's env.py imports its models
    env.write_text(env.read_text().replace("target_metadata = None",
                                           "from models import metadata as target_metadata"))
    session = Session()
    session.attach(workdir / "alembic.ini")
    session.upgrade("head")
    with pytest.raises(DriftDetected):
        session.check()
    drift = len(session.diff().operations)
    row = session.status().rows()[0]
    assert drift > 0 and row.drift == drift and "env.py" in row.note


def test_a_dry_run_prints_no_alembic_running_lines(workdir, capsys):
    session = project(workdir, f"sqlite:///{workdir / 'app.db'}", None)
    logger = logging.getLogger("alembic")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        session.upgrade("head", dry_run=True)
        assert "Running upgrade" not in capsys.readouterr().err
        session.upgrade("head")  # the real run: the user's logging asked for these
        assert "Running upgrade" in capsys.readouterr().err
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def test_a_multidb_env_py_is_refused_in_one_line_and_nothing_changes(workdir):
    alembic_cli("init", "--template", "multidb", "alembic", cwd=workdir)
    ini = workdir / "alembic.ini"
    one, two = workdir / "one.db", workdir / "two.db"
    text = ini.read_text().replace("driver://user:pass@localhost/dbname", f"sqlite:///{one}", 1)
    ini.write_text(text.replace("driver://user:pass@localhost/dbname2", f"sqlite:///{two}", 1))
    alembic_cli("revision", "-m", "first", cwd=workdir)
    session = Session()
    session.attach(ini)
    with pytest.raises(NbMigrateError) as refused:
        session.upgrade("head", db="engine1")
    assert "multidb" in str(refused.value) and "\n" not in str(refused.value)
    assert tables(f"sqlite:///{one}") == set() and tables(f"sqlite:///{two}") == set()


def test_a_flask_migrate_env_py_outside_its_app_says_what_it_needs(workdir, monkeypatch):
    (workdir / "flask.py").write_text(  # what Flask's current_app does with no app context
        "class _Proxy:\n    def __getattr__(self, name):\n"
        "        raise RuntimeError('Working outside of application context.')\n"
        "current_app = _Proxy()\n")
    monkeypatch.syspath_prepend(str(workdir))
    session = project(workdir, f"sqlite:///{workdir / 'app.db'}",
                      "from flask import current_app\nfrom alembic import context\n"
                      "engine = current_app.extensions['migrate'].db.engine\n")
    with pytest.raises(NbMigrateError) as refused:
        session.upgrade("head")
    assert "Flask-Migrate" in str(refused.value) and "app.app_context()" in str(refused.value)
    assert version(f"sqlite:///{workdir / 'app.db'}") == set()


def test_an_async_env_py_runs_on_the_synchronous_driver(workdir):
    alembic_cli("init", "--template", "async", "alembic", cwd=workdir)
    ini = workdir / "alembic.ini"
    ini.write_text(ini.read_text().replace("driver://user:pass@localhost/dbname",
                                           f"sqlite+aiosqlite:///{workdir / 'app.db'}"))
    revision(workdir, "r1", None, 'op.create_table("a", sa.Column("id", sa.Integer, '
             'primary_key=True))', 'op.drop_table("a")')
    session = Session()
    session.attach(ini)
    session.upgrade("head")
    assert version(f"sqlite:///{workdir / 'app.db'}") == {"r1"}
    assert log_rows(session) == [("r1", "up", "ok")]

    async def in_a_running_event_loop():  # as a Jupyter kernel runs every cell
        session.downgrade("base")

    with pytest.raises(NbMigrateError) as refused:
        asyncio.run(in_a_running_event_loop())
    assert "asyncio.run()" in str(refused.value) and "Jupyter" in str(refused.value)
    assert version(f"sqlite:///{workdir / 'app.db'}") == {"r1"}
