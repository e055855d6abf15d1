"""Real projects' migrations, driven side by side through nbmigrate and plain `alembic`.

optuna and mlflow-skinny ship an Alembic environment (alembic.ini, env.py,
versions/) inside their packages. Each is copied to a temporary folder (never run
where it is installed: nbmigrate may write files such as tags.json beside the
scripts) with the database URL set where its env.py reads it, then driven on
SQLite and PostgreSQL by nbmigrate on one database and by the plain `alembic`
command on another (`upgrade` and `downgrade` in a subprocess, as typed in a
terminal; `history` and `heads`, which run no env.py, through ``alembic.command``).
What a user would check must be the same: the history and heads, the schema after
`upgrade head`, the revision a failure stops at; and nbmigrate's own promises must
hold on projects it did not write: one audit-log row per revision applied, a log
that tells the truth after a failure, and no data lost without a confirmation.

Their env.py files come in two shapes. optuna's builds its own Engine from
``sqlalchemy.url`` and ignores ``config.attributes`` (and calls ``fileConfig`` only
when the root logger has no handler); mlflow's takes
``config.attributes["connection"]`` but opens a new connection from its
``.engine``, else builds an Engine from ``sqlalchemy.url``. Both call
``context.configure(..., render_as_batch=True)`` and run every revision in one
``context.begin_transaction()``; their scripts also commit ORM sessions of their own.
"""

from __future__ import annotations

import importlib.util
import io
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from helpers import RUN_DATABASE, SERVERS, server_url, terminal_environ, version
from sqlalchemy.pool import NullPool

import nbmigrate
from nbmigrate.engine.errors import DestructiveChange, NbMigrateError

AUDIT_TABLE = "nbmigrate_log"  # nbmigrate's own table: not part of the project's schema
ROWS = 23  # rows put where a guarded downgrade would drop them
T = TypeVar("T")

# mlflow's own revision scripts use a loader strategy SQLAlchemy 2.1 deprecates
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")


# ------------------------------------------------------------------ the projects


def _optuna_rows(conn: sa.Connection, n: int) -> None:
    """A study with one trial holding ``n`` objective values (rows in trial_values)."""
    conn.exec_driver_sql("INSERT INTO studies (study_id, study_name) VALUES (1, 'study')")
    conn.exec_driver_sql(
        "INSERT INTO trials (trial_id, number, study_id, state) VALUES (1, 0, 1, 'COMPLETE')")
    for i in range(n):
        conn.exec_driver_sql(
            "INSERT INTO trial_values (trial_value_id, trial_id, objective, value, value_type) "
            f"VALUES ({i + 1}, 1, {i}, 0.5, 'FINITE')")


def _mlflow_rows(conn: sa.Connection, n: int) -> None:
    """``n`` scheduler leases (rows in scheduler_leases)."""
    for i in range(n):
        conn.exec_driver_sql("INSERT INTO scheduler_leases (lease_key, acquired_at, ttl_seconds)"
                             f" VALUES ('lease-{i}', 1, 60)")


def _mlflow_initial_tables(engine: sa.Engine) -> None:
    """What mlflow's tracking store does before Alembic runs: create its initial tables."""
    from mlflow.store.tracking.dbmodels.initial_models import Base

    Base.metadata.create_all(engine)


@dataclass(frozen=True)
class RealProject:
    """A package that ships an Alembic environment, and what the tests need to know of it."""

    package: str
    ini: str  # its alembic.ini, inside the package
    scripts: str  # its script directory (env.py, versions/), inside the package
    url_from_connection: bool  # env.py takes config.attributes["connection"] (else the ini URL)
    dropper: str  # a revision whose downgrade drops ``table`` (or a column of it)
    table: str
    fill: Callable[[sa.Connection, int], None]  # puts n rows in ``table``
    prepare: Callable[[sa.Engine], None] | None = None  # run on a new database before Alembic

    def path(self, relative: str) -> Path:
        """A file or folder inside the installed package."""
        spec = importlib.util.find_spec(self.package)
        assert spec is not None and spec.origin, f"{self.package} is not installed"
        return Path(spec.origin).parent / relative


PROJECTS = {
    "optuna": RealProject(
        "optuna", "storages/_rdb/alembic.ini", "storages/_rdb/alembic",
        url_from_connection=False, dropper="v3.0.0.d", table="trial_values", fill=_optuna_rows),
    "mlflow": RealProject(
        "mlflow", "store/db_migrations/alembic.ini", "store/db_migrations",
        url_from_connection=True, dropper="dc11669786a5", table="scheduler_leases",
        fill=_mlflow_rows, prepare=_mlflow_initial_tables),
}
DIALECTS = ("sqlite", "postgresql")


# ------------------------------------------------------------------ copies and databases


def copy_project(project: RealProject, folder: Path) -> Path:
    """The project's script directory copied to ``folder/scripts``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(project.path(project.scripts), folder / "scripts",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def write_ini(project: RealProject, folder: Path, name: str, url: str | None) -> Path:
    """The project's own alembic.ini as ``folder/name``, pointing at ``folder/scripts``
    and, if ``url`` is given, at that database (its ``sqlalchemy.url``)."""
    text = project.path(project.ini).read_text()
    text, found = re.subn(r"(?m)^script_location\s*=.*$", "script_location = %(here)s/scripts",
                          text)
    assert found == 1, "the project's alembic.ini has no script_location"
    if url is not None:
        text, found = re.subn(r"(?m)^sqlalchemy\.url\s*=.*$",
                              "sqlalchemy.url = " + url.replace("%", "%%"), text)
        assert found == 1, "the project's alembic.ini has no sqlalchemy.url"
    ini = folder / name
    ini.write_text(text)
    return ini


class Scratch:
    """Databases of one dialect made for one project's tests, dropped at the end."""

    def __init__(self, dialect: str, folder: Path) -> None:
        self.dialect, self.folder = dialect, folder
        self.made: list[str] = []
        if dialect == "postgresql":
            server_url(dialect)  # skips (fails in CI) when the server is down

    def _admin(self) -> sa.Engine:
        """The server's own database, to create and drop others from."""
        return sa.create_engine(SERVERS[self.dialect], isolation_level="AUTOCOMMIT",
                                poolclass=NullPool)

    def new(self, like: str | None = None) -> str:
        """A new database: empty, or a copy of the one at ``like``."""
        name = f"{RUN_DATABASE}_{uuid.uuid4().hex[:8]}"
        if self.dialect == "sqlite":
            path = self.folder / f"{name}.db"
            if like is not None:
                shutil.copyfile(sa.make_url(like).database, path)
            url = f"sqlite:///{path}"
        else:
            template = f" TEMPLATE {sa.make_url(like).database}" if like else ""
            with self._admin().connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}{template}")
            url = sa.make_url(SERVERS[self.dialect]).set(database=name).render_as_string(
                hide_password=False)
        self.made.append(url)
        return url

    def drop_all(self) -> None:
        """Drop every server database made here (SQLite files go with the folder)."""
        if self.dialect == "sqlite":
            return
        with self._admin().connect() as conn:
            for url in self.made:
                name = sa.make_url(url).database
                conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     f"WHERE datname = '{name}' AND pid <> pg_backend_pid()")
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")


@contextmanager
def engine(url: str) -> Iterator[sa.Engine]:
    """An Engine that holds no connection once the block ends."""
    made = sa.create_engine(url, poolclass=NullPool)
    try:
        yield made
    finally:
        made.dispose()


# ------------------------------------------------------------------ the two tools


@contextmanager
def session(project: RealProject, ini: Path, url: str) -> Iterator[nbmigrate.Session]:
    """A fresh kernel's nbmigrate session: ``attach`` the copy at ``ini``, then (for an
    env.py that takes nbmigrate's connection) ``connect`` to ``url``; either way its
    default database must be ``url``. Its engines are closed afterwards."""
    made = nbmigrate.Session()
    made.attach(ini)
    if project.url_from_connection:
        made.connect(url)
    assert made.databases.get().url.database == sa.make_url(url).database
    try:
        yield made
    finally:
        for database in made.databases:
            database.engine.dispose()


def plain_alembic(ini: Path, *args: str, meanwhile: Callable[[], T]
                  ) -> tuple[subprocess.CompletedProcess, T]:
    """``alembic -c INI ARGS...`` run in a terminal, as a user would, and ``meanwhile()``
    run here while it works (each tool on a database of its own: half the wait)."""
    argv = [sys.executable, "-m", "alembic", "-c", str(ini), *args]
    with subprocess.Popen(argv, cwd=ini.parent, env=terminal_environ(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as running:
        try:
            result = meanwhile()
        finally:
            out, err = running.communicate(timeout=300)
    return subprocess.CompletedProcess(argv, running.returncode, out, err), result


def alembic_says(ini: Path, run: Callable[..., None]) -> list[str]:
    """The revision ids, in order, that an ``alembic.command`` function prints verbosely
    (``history``, ``heads``): its "Rev: ID" lines."""
    out = io.StringIO()
    run(Config(str(ini), stdout=out), verbose=True)
    return re.findall(r"(?m)^Rev: (\S+)", out.getvalue())


def scripts(ini: Path) -> ScriptDirectory:
    """The revision scripts, as plain Alembic reads them from ``ini``."""
    return ScriptDirectory.from_config(Config(str(ini)))


def failed_revision(traceback: str, ini: Path) -> str:
    """The revision whose script holds the innermost revision-script frame of a traceback."""
    by_file = {Path(s.path).resolve(): s.revision for s in scripts(ini).walk_revisions()}
    frames = [Path(f).resolve() for f in re.findall(r'File "([^"]+)", line \d+', traceback)]
    found = [by_file[f] for f in frames if f in by_file]
    assert found, f"no revision script in the traceback:\n{traceback}"
    return found[-1]


def applied(ini: Path, heads: set[str]) -> set[str]:
    """Every revision a database at ``heads`` has applied."""
    return {r.revision for r in scripts(ini).revision_map.iterate_revisions(
        tuple(heads), "base", inclusive=True)} if heads else set()


# ------------------------------------------------------------------ reflection


def schema(url: str) -> dict[str, dict]:
    """Each table but nbmigrate's audit log, as ``sqlalchemy.inspect`` sees it: columns
    (name, type, nullable), primary key, indexes, unique constraints, foreign keys."""
    with engine(url) as made:
        seen = sa.inspect(made)  # one query per kind for all tables (per table is slow)
        columns, keys = seen.get_multi_columns(), seen.get_multi_pk_constraint()
        indexes, unique = seen.get_multi_indexes(), seen.get_multi_unique_constraints()
        foreign = seen.get_multi_foreign_keys()
    return {key[1]: {
        "columns": [(c["name"], str(c["type"]), c["nullable"]) for c in columns[key]],
        "primary key": sorted(keys[key]["constrained_columns"]),
        "indexes": sorted((i["name"], tuple(map(str, i["column_names"])), i["unique"])
                          for i in indexes[key]),
        "unique": sorted((u["name"], tuple(u["column_names"])) for u in unique[key]),
        "foreign keys": sorted((f["name"] or "", tuple(f["constrained_columns"]),
                                f["referred_table"], tuple(f["referred_columns"]))
                               for f in foreign[key]),
    } for key in columns if key[1] != AUDIT_TABLE}  # key: (schema, table)


def count(url: str, table: str) -> int:
    """How many rows ``table`` holds."""
    with engine(url) as made, made.connect() as conn:
        return conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one()


# ------------------------------------------------------------------ fixtures


@dataclass
class Upgraded:
    """One project on one dialect: a database upgraded to head by nbmigrate, another by
    plain alembic, and the copy of the project each used."""

    project: RealProject
    folder: Path
    scratch: Scratch
    nb_url: str
    nb_ini: Path
    plain_url: str
    plain_ini: Path

    def ini_for(self, url: str, name: str) -> Path:
        """Another ini for nbmigrate, on the database at ``url``."""
        return nb_ini(self.project, self.folder, name, url)


def nb_ini(project: RealProject, folder: Path, name: str, url: str) -> Path:
    """An ini for nbmigrate to attach: the database's URL in it where env.py reads the
    URL; where env.py takes nbmigrate's connection, the package's own line (nbmigrate
    is told the URL with ``connect``)."""
    return write_ini(project, folder, name, None if project.url_from_connection else url)


def new_database(scratch: Scratch, project: RealProject) -> str:
    """An empty database, prepared as the project prepares one before Alembic runs."""
    url = scratch.new()
    if project.prepare is not None:
        with engine(url) as made:
            project.prepare(made)
    return url


@pytest.fixture(scope="module", params=[(p, d) for p in PROJECTS for d in DIALECTS],
                ids=lambda param: "-".join(param))
def upgraded(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgraded]:
    """`upgrade head` by nbmigrate on one new database and by `alembic` on another."""
    name, dialect = request.param
    project = PROJECTS[name]
    folder = copy_project(project, tmp_path_factory.mktemp(name))
    scratch = Scratch(dialect, folder)
    try:
        nb_url, plain_url = new_database(scratch, project), new_database(scratch, project)
        state = Upgraded(project, folder, scratch,
                         nb_url, nb_ini(project, folder, "alembic.ini", nb_url),
                         plain_url, write_ini(project, folder, "plain.ini", plain_url))

        def nbmigrate_upgrade() -> None:
            with session(project, state.nb_ini, nb_url) as nb:
                nb.upgrade("head")

        done, _ = plain_alembic(state.plain_ini, "upgrade", "head", meanwhile=nbmigrate_upgrade)
        assert done.returncode == 0, f"alembic upgrade head failed:\n{done.stderr}"
        yield state
    finally:
        scratch.drop_all()


@dataclass
class Failure:
    """The same failing downgrade run by both tools on copies of their head databases."""

    project: RealProject
    alembic_revision: str  # where plain alembic's traceback says it failed
    error: NbMigrateError  # what nbmigrate raised
    url: str  # nbmigrate's database
    ini: Path


@pytest.fixture(scope="module")
def failed_downgrade(upgraded: Upgraded) -> Failure:
    """`downgrade base` on each tool's head database (copies): each project has a revision
    whose downgrade fails there. ``yes``: the data the projects seed is not the point."""
    plain = write_ini(upgraded.project, upgraded.folder, "plain-fail.ini",
                      upgraded.scratch.new(like=upgraded.plain_url))
    url = upgraded.scratch.new(like=upgraded.nb_url)
    ini = upgraded.ini_for(url, "nb-fail.ini")

    def nbmigrate_downgrade() -> NbMigrateError | None:
        with session(upgraded.project, ini, url) as nb:
            try:
                nb.downgrade("base", yes=True)
            except NbMigrateError as exc:
                return exc
        return None

    done, error = plain_alembic(plain, "downgrade", "base", meanwhile=nbmigrate_downgrade)
    assert done.returncode != 0, "alembic downgrade base succeeded: no failure to compare"
    assert error is not None, "nbmigrate's downgrade base succeeded where alembic's failed"
    return Failure(upgraded.project, failed_revision(done.stderr, plain), error, url, ini)


# ------------------------------------------------------------------ the tests


def test_same_history_and_heads_as_alembic(upgraded):
    """`%migrate history` and `%migrate heads` list the revisions `alembic history` and
    `alembic heads` list, in the same order."""
    history = alembic_says(upgraded.plain_ini, command.history)
    heads = alembic_says(upgraded.plain_ini, command.heads)
    assert len(history) > 1 and heads, "alembic listed nothing"
    with session(upgraded.project, upgraded.nb_ini, upgraded.nb_url) as nb:
        assert [r.revision for r in nb.history().revisions] == history
        assert [h.revision for h in nb.heads().heads] == heads


def test_upgrade_head_makes_the_schema_alembic_makes(upgraded):
    """After `upgrade head` the database nbmigrate upgraded and the one `alembic` upgraded
    are at the same revision and reflect the same tables, columns, keys and indexes."""
    heads = set(alembic_says(upgraded.plain_ini, command.heads))
    assert version(upgraded.nb_url) == version(upgraded.plain_url) == heads
    nb_schema, plain_schema = schema(upgraded.nb_url), schema(upgraded.plain_url)
    assert nb_schema.keys() == plain_schema.keys()
    for table in plain_schema:
        assert nb_schema[table] == plain_schema[table], table


def test_audit_log_has_one_ok_row_per_revision_applied(upgraded):
    """`%migrate log` after `upgrade head` from nothing: one row per revision, in the order
    they were applied, each with status ok."""
    applied_order = list(reversed(alembic_says(upgraded.plain_ini, command.history)))
    with session(upgraded.project, upgraded.nb_ini, upgraded.nb_url) as nb:
        entries = list(reversed(nb.log(limit=None).entries))  # oldest first
    assert [e.action for e in entries] == ["upgrade"] * len(applied_order)
    assert [e.revision for e in entries] == applied_order
    assert [e.status for e in entries] == ["ok"] * len(applied_order)


def test_guard_refuses_a_downgrade_that_drops_rows(upgraded):
    """Rows in a table that a revision's downgrade drops (or drops a column of): downgrading
    past it without yes is refused, naming the table and how many rows, and nothing
    changes: same revision, same schema, the rows still there."""
    project = upgraded.project
    url = upgraded.scratch.new(like=upgraded.nb_url)
    with engine(url) as made, made.begin() as conn:
        project.fill(conn, ROWS)
    before_version, before_schema = version(url), schema(url)
    target = scripts(upgraded.nb_ini).get_revision(project.dropper).down_revision
    with session(project, upgraded.ini_for(url, "guard.ini"), url) as nb, \
            pytest.raises(DestructiveChange) as refused:
        nb.downgrade(target)
    message = str(refused.value)
    assert "\n" not in message
    assert re.search(rf"\b{project.table}\b[^;]*\b{ROWS}\b", message), message
    assert version(url) == before_version
    assert schema(url) == before_schema
    assert count(url, project.table) == ROWS


def test_failure_names_the_revision_alembic_fails_at(failed_downgrade):
    """The same failing `downgrade base`: nbmigrate's one-line error names the revision
    whose script plain alembic's traceback ends in, and the revision the database is at
    now."""
    failure = failed_downgrade
    message = str(failure.error)
    assert "\n" not in message
    named = {word.strip(".") for word in re.findall(r"[\w.]+", message)}
    assert failure.alembic_revision in named, message
    assert version(failure.url) <= named, message


def test_audit_log_after_a_failure_holds_what_the_database_kept(failed_downgrade):
    """After the failed downgrade, `%migrate log` says ok for exactly the revisions the
    database no longer has, and failed for the one that failed."""
    failure = failed_downgrade
    everything = {s.revision for s in scripts(failure.ini).walk_revisions()}
    reverted = everything - applied(failure.ini, version(failure.url))
    with session(failure.project, failure.ini, failure.url) as nb:
        entries = [e for e in nb.log(limit=None).entries if e.action == "downgrade"]
    assert {e.revision for e in entries if e.status == "ok"} == reverted
    assert [e.revision for e in entries if e.status == "failed"] == [failure.alembic_revision]
