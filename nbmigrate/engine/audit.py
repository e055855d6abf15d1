"""The audit log: a small table nbmigrate keeps in each database it migrates.

One row per revision step of every upgrade, downgrade and stamp: when, how
long, from and to which revision, by whom, and how it ended (``status``: ok,
failed, interrupted; running while it runs). A ``Trail`` writes each step's row
with the step itself, so the log holds exactly what the database kept, whatever
stops the process.
"""

from __future__ import annotations

import functools
import getpass
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from typing import NamedTuple

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
    null,
    select,
)
from sqlalchemy.engine import Connection

from .results import Result, Step
from .secrets import redact


class LogEntry(NamedTuple):
    """One row of the audit log."""

    started_at: datetime
    action: str
    revision: str | None
    from_revision: str | None
    to_revision: str | None
    direction: str
    status: str  # ok, failed, interrupted; running while a run is under way
    seconds: float | None
    success: bool
    error: str | None
    os_user: str | None
    nbmigrate_version: str | None
    checksum: str | None = None  # of the revision file applied (absent before 0.3)


@dataclass(repr=False)
class AuditLog(Result):
    """What was applied to a database, when, by whom, how long it took."""

    database: str
    entries: list[LogEntry]
    messages: dict[str, str] = field(default_factory=dict)  # revision -> its message

    columns = LogEntry._fields

    def rows(self) -> list[tuple]:
        return [e._replace(seconds=None if e.seconds is None else round(e.seconds, 4))
                for e in self.entries]


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
    Column("status", String(16)),  # ok, failed, interrupted, running (absent before 0.2)
    Column("seconds", Float),
    Column("success", Boolean, nullable=False),
    Column("error", Text),
    Column("os_user", String(128)),
    Column("nbmigrate_version", String(32)),
    Column("checksum", String(64)),  # of the revision file applied (absent before 0.3)
)

COLUMNS = LogEntry._fields  # the table's columns but its id, in order
OK, FAILED, INTERRUPTED, RUNNING = "ok", "failed", "interrupted", "running"


@functools.cache
def nbmigrate_version() -> str:
    """The installed nbmigrate's version, as the log records it."""
    try:
        return metadata.version("nbmigrate")
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


def os_user() -> str:
    """Who runs this, as ``getpass.getuser()`` says (looked up once per set of the
    variables it reads first)."""
    return _os_user(*(os.environ.get(name) for name in _USER_VARIABLES))


_USER_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")  # getpass.getuser()'s order


@functools.cache
def _os_user(*_variables: str | None) -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return "unknown"


def ensure_log(conn: Connection) -> None:
    """Create the log table, or add the columns an older nbmigrate's table lacks (in the
    caller's transaction)."""
    inspector = inspect(conn)
    if not inspector.has_table(TABLE):
        log.create(conn)
        return
    have = {c["name"] for c in inspector.get_columns(TABLE)}
    missing = [c for c in log.columns if c.name not in have]
    if missing:
        from alembic.operations import Operations
        from alembic.runtime.migration import MigrationContext

        operations = Operations(MigrationContext.configure(conn))
        for column in missing:
            operations.add_column(TABLE, Column(column.name, column.type))


def write_log(conn: Connection, rows: Iterable[dict]) -> None:
    """Append rows (dicts keyed by COLUMNS) and commit."""
    rows = list(rows)
    if rows:
        ensure_log(conn)
        conn.execute(log.insert(), rows)
        conn.commit()


def read_log(conn: Connection, limit: int | None = None) -> list[LogEntry]:
    """The newest rows first; none if there is no table."""
    inspector = inspect(conn)
    if not inspector.has_table(TABLE):
        return []
    have = {c["name"] for c in inspector.get_columns(TABLE)}
    query = select(*(log.c[name] if name in have else null().label(name)
                     for name in COLUMNS)).order_by(log.c.id.desc())
    rows = [_with_status(LogEntry(*r)) for r in conn.execute(query.limit(limit) if limit
                                                               else query)]
    conn.rollback()
    return rows


def _with_status(entry: LogEntry) -> LogEntry:
    """Rows an older nbmigrate wrote have no status: it follows from ``success``."""
    if entry.status:
        return entry
    return entry._replace(status=OK if entry.success else FAILED)


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


def applied_checksums(conn: Connection) -> dict[str, tuple[str | None, datetime]]:
    """Each revision's checksum as last applied (or accepted), with when; revisions whose
    last step was down are left out."""
    inspector = inspect(conn)
    if not inspector.has_table(TABLE):
        return {}
    have = {c["name"] for c in inspector.get_columns(TABLE)}
    checksum = log.c.checksum if "checksum" in have else null().label("checksum")
    query = (select(log.c.revision, log.c.direction, checksum, log.c.started_at)
             .where(log.c.success.is_(True)).order_by(log.c.id))
    found: dict[str, tuple[str | None, datetime]] = {}
    for revision, direction, kept, at in conn.execute(query):
        if direction == "down":
            found.pop(revision, None)
        elif direction == "up" or kept:  # an upgrade, or a stamp or accept that kept one
            found[revision] = (kept, at)
    conn.rollback()
    return found


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo: how the log stores times on every dialect."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def row(action: str, step: Step, status: str, error: str | None = None) -> dict:
    """The audit-log row of one step."""
    return {
        "started_at": step.started_at or utcnow(), "action": action, "revision": step.revision,
        "from_revision": step.from_revision, "to_revision": step.to_revision,
        "direction": step.direction, "status": status, "seconds": step.seconds,
        "success": status == OK, "error": redact(error) if error else error,
        "os_user": os_user(), "nbmigrate_version": nbmigrate_version(),
        "checksum": step.checksum or None,
    }
