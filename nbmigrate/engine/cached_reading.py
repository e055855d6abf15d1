"""The terminal's current, heads and history, served from the cached revision graph.

While the cache is current (see ``revision_cache``) these read the version table and print
without importing Alembic or any revision script, and a plain SQLite file without importing
SQLAlchemy either (``sqlite_reading``). Where the cache cannot answer exactly as the
Session would, ``read_cached`` returns None and the caller asks the Session, which reads
the scripts and says what went wrong in its own words; ``cached_project.remember`` then
keeps the graph it read for the next command.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the front end imports this module for READS
    from .cached_project import CachedProject
    from .results import Result

READS = frozenset({"current", "heads", "history"})

__all__ = ["READS", "read_cached"]


def read_cached(command: str, *, config: str | None = None, url: str | None = None,
                db: str | None = None, verbose: bool = False,
                rev_range: str | None = None) -> Result | None:
    """``command`` (current, heads, or history without a range) for the project of
    ``config`` (default ./alembic.ini) and the database ``url`` or ``db``, from the cached
    graph; None when the cache cannot serve it. Errors are NbMigrateErrors, as the
    Session's, passwords masked."""
    if command not in READS or rev_range:
        return None
    from .cached_project import cached_project
    from .project import ini_path

    ini = ini_path(config) if config is not None else Path.cwd() / "alembic.ini"
    try:
        project = cached_project(ini) if ini.is_file() else None
    except (OSError, configparser.Error, UnicodeError):
        return None  # the Session says what is wrong with the ini file
    if project is None:
        return None
    from .sqlite_reading import read_sqlite

    found = read_sqlite(command, project, url=url, db=db, verbose=verbose)
    if found is not None:
        return found
    return _read(command, project, url=url, db=db, verbose=verbose)


def _read(command: str, project: CachedProject, *, url: str | None, db: str | None,
          verbose: bool) -> Result | None:
    """``command`` for ``project`` through SQLAlchemy, as the Session reads the database."""
    from sqlalchemy.exc import SQLAlchemyError

    from . import graph_reading
    from .cached_project import CacheCannotServe
    from .errors import NbMigrateError
    from .secrets import redact
    from .workspace import Workspace

    ws = Workspace()
    try:
        ws.use_project(project)
        if url is not None:
            from .setting_up import connect

            connect(ws, url)
        if command == "current":
            return graph_reading.current(ws, db=db)
        if command == "heads":
            return graph_reading.heads(ws, db=db)
        return graph_reading.history(ws, verbose=verbose, db=db)
    except CacheCannotServe:
        return None
    except NbMigrateError as exc:
        passwords = ws.databases.passwords()
        raise exc.redacted(lambda text: redact(text, passwords)) from None
    except (SQLAlchemyError, OSError, configparser.Error, UnicodeError):
        return None  # the Session says why, in one line
    finally:
        for database in ws.databases:  # this workspace is done with: close its connections
            if database.owned:
                database.engine.dispose()
