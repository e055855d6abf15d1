"""Running an Alembic environment (env.py) against one connection."""

from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from .connections import Database, VersionTable
from .project import Project
from .text import clip


def run_env(
    config: Config,
    script: ScriptDirectory,
    fn: Callable[[Any, MigrationContext], list],
    *,
    guard_logging: bool,
    **env_kw: Any,
) -> None:
    """Run ``env.py`` with ``fn`` choosing the steps, as ``alembic.command`` does."""
    with preserve_logging() if guard_logging else _nothing(), EnvironmentContext(
        config, script, fn=fn, **env_kw
    ):
        script.run_env()


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


def kept_statements(exc: BaseException, ran: list[str], transactional: bool) -> str:
    """What the failed revision did before failing and the database kept (DDL that commits
    as it goes, as on MySQL/MariaDB); "" where the whole revision rolled back."""
    done = ran[:-1] if getattr(exc, "statement", None) and ran else ran
    if transactional or not done:
        return ""
    return (f"; kept from the failed revision, as this database commits each DDL statement: "
            f"{'; '.join(clip(s, 50) for s in done)}")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


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
            attributes["connection"] = connection
        if metadata is not None:
            attributes["target_metadata"] = metadata
        if on_version_apply is not None:
            options["on_version_apply"] = on_version_apply
        attributes["nbmigrate.configure"] = options

    def __enter__(self):
        return self.config

    def __exit__(self, *exc: Any) -> None:
        self.config.attributes.clear()  # drop the connection and URL with the config
