"""The terminal's current, heads and history of a SQLite file, read with Python's sqlite3.

With the revision graph cached, what these commands ask the database is two SELECTs;
loading SQLAlchemy to send them costs most of the command. Where the project's one
database is a plain SQLite file (``sqlite:///PATH``, nothing else in the URL) in
Alembic's ``alembic_version`` table, they are read here, as SQLAlchemy's SQLite dialect
reads them (its ``has_table`` PRAGMAs, its text to datetime). Anything else, or any
error, is None: the caller reads through SQLAlchemy, which says what went wrong.
"""

from __future__ import annotations

import configparser
import os
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from . import graph_reading
from .cached_project import CacheCannotServe
from .results import Result

DEFAULT = "default"  # connections.DEFAULT, without importing SQLAlchemy
# a URL whose text is its rendering: no password, query, host, %-escape or ":memory:"
_PLAIN_FILE = re.compile(r"sqlite(?:\+pysqlite)?:///(?P<path>[A-Za-z0-9_./-]+)")
_APPLIED_AT = ("SELECT nbmigrate_log.revision, max(nbmigrate_log.started_at) AS max_1 "
               "FROM nbmigrate_log WHERE nbmigrate_log.direction = ? "
               "AND nbmigrate_log.success IS 1 GROUP BY nbmigrate_log.revision")


def plain_file(url: str) -> str | None:
    """The file a plain SQLite URL names, None for any other URL."""
    found = _PLAIN_FILE.fullmatch(url)
    return found["path"] if found else None


def read_sqlite(command: str, project: Any, *, url: str | None, db: str | None,
                verbose: bool) -> Result | None:
    """``command`` (current, heads or history) for ``project`` (a CachedProject) from its
    SQLite file, or None where this cannot read it exactly as the Session would."""
    if url is not None or db not in (None, DEFAULT) or os.environ.get("NBMIGRATE_URL"):
        return None
    try:
        sections = project.url_sections()
        path = plain_file(sections.get("alembic", ""))
        if path is None or len(sections) != 1 or "version_table" in project.env_source():
            return None
    except (configparser.Error, OSError, UnicodeError):
        return None  # the Session says what is wrong with the ini file or env.py
    reads: list[Callable[[sqlite3.Connection], Any]] = [_heads]
    if command == "history":
        reads.append(_applied_at)
    try:
        found = _read(path, reads)
    except (sqlite3.Error, ValueError, TypeError, OSError):
        return None
    heads = found[0]
    try:
        if command == "current":
            return graph_reading.current_state(project, DEFAULT, sections["alembic"], heads)
        if command == "heads":
            return graph_reading.heads_of(project, heads)
        return graph_reading.history_from(project, DEFAULT, project.revisions(), heads,
                                          found[1], "", verbose=verbose)
    except CacheCannotServe:  # a revision the graph does not hold: Alembic says what
        return None


def _read(path: str, reads: list[Callable[[sqlite3.Connection], Any]]) -> list[Any]:
    """Each of ``reads`` on one connection to ``path``; a file not made yet reads as an
    empty database, and is not made."""
    conn = sqlite3.connect(path if Path(path).exists() else ":memory:")
    try:
        return [read(conn) for read in reads]
    finally:
        conn.close()


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether ``name`` is a table (or view) in main or temp, as SQLAlchemy asks."""
    return any(conn.execute(f'PRAGMA {schema}.table_info("{name}")').fetchall()
               for schema in ("main", "temp"))


def _heads(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The revisions in ``alembic_version``; none where it is not there."""
    if not _has_table(conn, "alembic_version"):
        return ()
    rows = conn.execute("SELECT alembic_version.version_num FROM alembic_version")
    return tuple(row[0] for row in rows)


def _applied_at(conn: sqlite3.Connection) -> dict[str, datetime]:
    """When each revision was last applied successfully, from the audit log
    (``audit.applied_at``)."""
    if not _has_table(conn, "nbmigrate_log"):
        return {}
    return {rev: None if at is None else datetime.fromisoformat(at)
            for rev, at in conn.execute(_APPLIED_AT, ("up",))}
