"""Running an Alembic environment (env.py) against one connection, whatever env.py does.

nbmigrate hands env.py its connection in ``config.attributes["connection"]``. Real
env.py files take it in three shapes: as a Connection (Alembic's cookbook), as an
Engine they call ``.connect()`` or ``.begin()`` on (SQLAlchemy 1.x recipes, mlflow),
or not at all (``alembic init``'s template makes its own Engine from
``sqlalchemy.url``). ``EngineFace`` serves the first two; the third is met at
``context.configure()``, which every env.py calls: a connection to the same database
is swapped for nbmigrate's, so the lock, the guard and the run's one transaction
still hold.
"""

from __future__ import annotations

import io
import logging
import logging.config
import os
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, event
from sqlalchemy.engine import URL, Connection, Engine

from .backends import backend_for
from .connections import Database, VersionTable
from .errors import NbMigrateError
from .project import Project
from .secrets import mask_url
from .text import clip

# Told, before any migration statement, that env.py kept a connection of its own.
OnOwnConnection = Callable[[Connection], None]


def run_env(
    config: Config,
    script: ScriptDirectory,
    fn: Callable[[Any, MigrationContext], Any],
    *,
    guard_logging: bool,
    on_own_connection: OnOwnConnection | None = None,
    **env_kw: Any,
) -> None:
    """Run ``env.py`` with ``fn`` choosing the steps, as ``alembic.command`` does."""
    env_py = Path(script.env_py_location)
    if not env_py.is_file():
        raise NbMigrateError(f"the Alembic project has no env.py: {env_py} is missing")
    given = config.attributes.get("connection")
    ours = given.real if isinstance(given, EngineFace) else None
    if ours is not None and "upgrade_token" in env_py.read_text(encoding="utf-8"):
        raise NbMigrateError(
            "the project's env.py migrates several databases in one run (Alembic's multidb "
            "template): nbmigrate migrates one database at a time; use plain alembic for "
            "this project")
    with preserve_logging() if guard_logging else _nothing(), _Context(
        config, script, ours, on_own_connection, fn=fn, **env_kw
    ):
        try:
            script.run_env()
        except RuntimeError as exc:
            for words, why in _CANNOT_RUN_HERE:
                if words in str(exc):
                    with warnings.catch_warnings():  # the coroutine asyncio.run never ran
                        warnings.filterwarnings("ignore", "coroutine .* never awaited")
                        traceback.clear_frames(exc.__traceback__)
                    raise NbMigrateError(f"the project's env.py {why}") from None
            raise


# env.py files that need what a notebook does not give them, and what to do about it
_CANNOT_RUN_HERE = [
    ("outside of application context",
     "is Flask-Migrate's and needs the Flask app: run the command inside "
     "`with app.app_context():`"),
    ("cannot be called from a running event loop",
     "runs asyncio.run(), which cannot run inside Jupyter's event loop: use its "
     "database's synchronous driver in sqlalchemy.url, or the nbmigrate command in a terminal"),
]


class _Context(EnvironmentContext):
    """Alembic's EnvironmentContext, seeing the connection each env.py configures."""

    def __init__(self, config: Config, script: ScriptDirectory, ours: Connection | None,
                 on_own_connection: OnOwnConnection | None, **kw: Any) -> None:
        super().__init__(config, script, **kw)
        self.ours, self.on_own_connection = ours, on_own_connection
        self.sent: set[int] = set()  # connections that ran statements before configure()

    def _note(self, conn: Connection, *_: Any) -> None:
        self.sent.add(id(conn))

    def __enter__(self) -> _Context:
        if self.ours is not None:
            event.listen(Engine, "before_cursor_execute", self._note)
        return super().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._stop_noting()
        super().__exit__(*exc)

    def _stop_noting(self) -> None:
        if event.contains(Engine, "before_cursor_execute", self._note):
            event.remove(Engine, "before_cursor_execute", self._note)

    def configure(self, connection: Any = None, **kw: Any) -> None:  # type: ignore[override]
        connection = _unwrap(connection)
        if connection is not None and self.ours is not None and connection is not self.ours:
            connection = self._adopt(connection)
        self._stop_noting()
        super().configure(connection=connection, **kw)

    def _adopt(self, theirs: Connection) -> Connection:
        """nbmigrate's connection in place of one env.py opened to the same database; an
        error if env.py connected elsewhere."""
        assert self.ours is not None
        if not same_database(theirs.engine.url, self.ours.engine.url):
            raise NbMigrateError(
                f"the project's env.py connects to {mask_url(theirs.engine.url)}, not to "
                f"{mask_url(self.ours.engine.url)}: nbmigrate migrates one database at a "
                "time, the one it was asked to; have env.py use sqlalchemy.url or "
                "config.attributes['connection']")
        if id(theirs) not in self.sent:
            return self.ours  # nothing set up on theirs: ours does the same, and more
        backend_for(theirs.engine).adopt(theirs)
        if self.on_own_connection is not None:
            self.on_own_connection(theirs)  # it set its session up: keep it, and say so
        return theirs


# ``alembic.context``'s functions are set up per class: let them reach this subclass.
_Context._setups[_Context] = EnvironmentContext._setups[EnvironmentContext]


def same_database(a: URL, b: URL) -> bool:
    """Whether two URLs name the same database (drivers and passwords aside)."""
    def key(url: URL) -> tuple:
        database = url.database or ""
        if backend_for(url).file_based and database and not database.startswith(
                (":memory:", "file:")):
            database = os.path.realpath(database)  # one file, however its path is written
        return (url.get_backend_name(), url.host or "", url.port, database,
                url.username or "")

    return key(a) == key(b)


def _unwrap(connection: Any) -> Any:
    return connection.real if isinstance(connection, (EngineFace, _Borrowed)) else connection


class _Borrowed:
    """nbmigrate's connection lent as if newly opened: closing it leaves it open."""

    def __init__(self, real: Connection) -> None:
        self.real = real

    def __enter__(self) -> Connection:
        return self.real

    def __exit__(self, *exc: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class EngineFace:
    """nbmigrate's connection, usable as a Connection and as an Engine (``.connect()``,
    ``.begin()``), so env.py files written either way run on it."""

    def __init__(self, real: Connection) -> None:
        self.real = real

    def connect(self) -> _Borrowed:
        return _Borrowed(self.real)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """As ``Engine.begin()``: a transaction, unless nbmigrate's run is already in one."""
        if self.real.in_transaction():
            yield self.real
            return
        with self.real.begin():
            yield self.real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def configured_version_table(config: Config, script: ScriptDirectory) -> VersionTable:
    """The version table the project's env.py configures: env.py runs with nothing to
    migrate, as for ``alembic current``."""
    found: list[VersionTable] = []

    def look(_heads: Any, context: MigrationContext) -> list:
        found.append(VersionTable(context.version_table, context.version_table_schema))
        return []

    run_env(config, script, look, guard_logging=True)
    return found[0] if found else VersionTable()


def failed_statement(exc: BaseException, ran: list[str]) -> str:
    """" on <statement>" naming the SQL that failed, if a statement failed."""
    statement = getattr(exc, "statement", None)
    return f" on {clip(statement, 70)}" if statement else ""


def kept_statements(exc: BaseException, ran: list[str], transactional: bool,
                    how: str = "failed") -> str:
    """What the ``how`` (failed, interrupted) revision did before it stopped and the
    database kept (DDL that commits as it goes, as on MySQL/MariaDB); "" where the whole
    revision rolled back."""
    done = ran[:-1] if getattr(exc, "statement", None) and ran else ran
    if transactional or not done:
        return ""
    return (f"; kept from the {how} revision, as this database commits each DDL statement: "
            f"{'; '.join(clip(s, 50) for s in done)}")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def alembic_quiet() -> Iterator[None]:
    """Alembic's INFO lines ("Running upgrade ...") held back: a dry run or a reading runs
    nothing that stays, whatever level the user's logging gives Alembic."""
    logger = logging.getLogger("alembic.runtime.migration")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _skip_file_config(*_: Any, **__: Any) -> None:
    """An env.py's ``fileConfig``, skipped: the caller's logging is the caller's."""


@contextmanager
def preserve_logging() -> Iterator[None]:
    """Keep an env.py's ``fileConfig`` from printing into cells or re-plumbing the
    notebook's loggers: skip it while the env.py runs, and undo any other change."""
    file_config = logging.config.fileConfig
    logging.config.fileConfig = _skip_file_config
    manager = logging.Logger.manager
    root = logging.getLogger()
    saved_root = (root.level, list(root.handlers))
    saved = {
        name: (lg.level, list(lg.handlers), lg.propagate, lg.disabled)
        for name, lg in manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    try:
        yield
    finally:
        logging.config.fileConfig = file_config
        root.setLevel(saved_root[0])
        root.handlers[:] = saved_root[1]
        for name, lg in list(manager.loggerDict.items()):
            if not isinstance(lg, logging.Logger):
                continue
            fresh = (logging.NOTSET, [], True, False)  # a logger the env.py created
            level, handlers, propagate, disabled = saved.get(name, fresh)
            lg.setLevel(level)
            lg.handlers[:] = handlers
            lg.propagate, lg.disabled = propagate, disabled


class Environment:
    """A Config carrying the connection and options into env.py (a context manager)."""

    def __init__(self, project: Project, database: Database | None,
                 connection: Connection | None, metadata: MetaData | None,
                 on_version_apply: Callable | None, output_buffer: io.StringIO | None) -> None:
        section = database.ini_section if database and database.ini_section else "alembic"
        self.config = project.config(section, output_buffer=output_buffer)
        attributes = self.config.attributes
        options: dict[str, Any] = {"transaction_per_migration": True}
        if database is not None:
            attributes["url"] = database.masked_url
            options.update(database.backend.environment_options(database.engine))
            if database.source != f"alembic.ini [{section}]":
                # for an env.py that reads only sqlalchemy.url: point it at this database
                full = database.url.render_as_string(hide_password=False)
                self.config.set_section_option(section, "sqlalchemy.url", full.replace("%", "%%"))
        if connection is not None:
            attributes["connection"] = EngineFace(connection)
        if metadata is not None:
            attributes["target_metadata"] = metadata
        if on_version_apply is not None:
            options["on_version_apply"] = on_version_apply
        attributes["nbmigrate.configure"] = options

    def __enter__(self):
        return self.config

    def __exit__(self, *exc: Any) -> None:
        self.config.attributes.clear()  # drop the connection and URL with the config
