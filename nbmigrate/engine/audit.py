"""The audit log: a small table nbmigrate keeps in each database it migrates.

One row per revision step of every upgrade, downgrade and stamp: when, how
long, from and to which revision, by whom, and whether it succeeded.
"""

from __future__ import annotations

import functools
import getpass
from collections.abc import Iterable
from datetime import datetime, timezone
from importlib import metadata

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import Connection

from .results import LogEntry

TABLE = "nbmigrate_log"  # autogen.NBMIGRATE_TABLES keeps autogenerate away from it

log = Table(
    TABLE, MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime, nullable=False),  # UTC
    Column("action", String(16), nullable=False),  # upgrade, downgrade, stamp
    Column("revision", String(255)),
    Column("from_revision", String(255)),
    Column("to_revision", String(255)),
    Column("direction", String(8), nullable=False),  # up, down, stamp
    Column("seconds", Float),
    Column("success", Boolean, nullable=False),
    Column("error", Text),
    Column("os_user", String(128)),
    Column("nbmigrate_version", String(32)),
)

COLUMNS = LogEntry._fields  # the table's columns but its id, in order


@functools.cache
def nbmigrate_version() -> str:
    """The installed nbmigrate's version, as the log records it."""
    try:
        return metadata.version("nbmigrate")
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return "unknown"


def ensure_log(conn: Connection) -> None:
    """Create the log table if the database has none yet."""
    log.create(conn, checkfirst=True)
    conn.commit()


def write_log(conn: Connection, rows: Iterable[dict]) -> None:
    """Append rows (dicts keyed by COLUMNS) in their own transaction."""
    rows = list(rows)
    if rows:
        conn.execute(log.insert(), rows)
        conn.commit()


def read_log(conn: Connection, limit: int | None = None) -> list[LogEntry]:
    """The newest rows first; none if there is no table."""
    if not inspect(conn).has_table(TABLE):
        return []
    query = select(*(log.c[name] for name in COLUMNS)).order_by(log.c.id.desc())
    rows = [LogEntry(*r) for r in conn.execute(query.limit(limit) if limit else query)]
    conn.rollback()
    return rows


def applied_at(conn: Connection) -> dict[str, datetime]:
    """When each revision was last applied successfully, where the log knows."""
    if not inspect(conn).has_table(TABLE):
        return {}
    query = (select(log.c.revision, func.max(log.c.started_at))
             .where(log.c.direction == "up", log.c.success.is_(True))
             .group_by(log.c.revision))
    found = {rev: at for rev, at in conn.execute(query)}
    conn.rollback()
    return found


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo: how the log stores times on every dialect."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def log_rows(action: str, steps: list, error: str | None = None) -> list[dict]:
    """Audit-log rows for ``steps``; with ``error``, the last step is the one that failed."""
    user, version = os_user(), nbmigrate_version()
    return [{
        "started_at": s.started_at or utcnow(), "action": action, "revision": s.revision,
        "from_revision": s.from_revision, "to_revision": s.to_revision,
        "direction": s.direction, "seconds": s.seconds,
        "success": error is None or i < len(steps) - 1,
        "error": error if error is not None and i == len(steps) - 1 else None,
        "os_user": user, "nbmigrate_version": version,
    } for i, s in enumerate(steps)]
