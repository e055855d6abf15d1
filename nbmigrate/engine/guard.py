"""The guard: every statement a migration sends passes it before the database runs it.

It listens on SQLAlchemy's ``before_cursor_execute`` for the migrating database,
whichever env.py, ``op`` call, raw SQL or ``op.get_bind()`` sent the statement.
Each statement is read (``statements``), numbered within the revision that sent it,
and, where it can lose data, measured just before it runs (``measure``). The guard
then lets it run, stops the run right there (``stop``), or, for a plan that must not
change anything, records it and sends a statement that does nothing instead
(``send=False``: only reads reach the database).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from .connections import Database, VersionTable
from .measure import Impact, Measure, Observed
from .statements import CHECKS, RISKY, TRANSACTION, Effect, classify, plain

_CREATE_TABLE = re.compile(r"^\s*create\s+(?:temp\w*\s+)?table\s+(?:if\s+not\s+exists\s+)?"
                           r"([\w.\"`]+)", re.IGNORECASE)
READING_TABLE = "nbmigrate_reading_version"  # a reading's own copy of the version table
_COMMIT = re.compile(r"^\s*(commit|end)\b", re.IGNORECASE)
_READ = re.compile(r"^\s*(\(\s*)*(select|with|show|pragma|explain|describe|values)\b",
                   re.IGNORECASE)


@dataclass
class Seen:
    """One statement a migration sent, and what the guard made of it."""

    revision: str  # the revision whose script sent it ("" before the first)
    number: int  # its place among that revision's statements, from 1
    sql: str
    effects: list[Effect] | None = None  # None: not read yet (it cannot change data)
    impacts: list[Impact] = field(default_factory=list)
    sent: bool = True


@dataclass(frozen=True)
class Loss:
    """Data a statement would lose."""

    revision: str
    number: int
    effect: Effect
    impact: Impact
    sql: str

    def __str__(self) -> str:
        return f"{self.effect.kind} {self.effect.target or '(statement)'} ({self.impact.text})"


class Refused(Exception):
    """The run stops: losses the user has not confirmed (or a rehearsal would commit)."""

    def __init__(self, losses: list[Loss], *, before: Seen | None = None) -> None:
        super().__init__("; ".join(map(str, losses)) or "stopped")
        self.losses, self.before = losses, before


class CommitsItself(Exception):
    """A script commits the migration's connection: the run cannot be one transaction
    (raised before the commit, so nothing of the run is kept)."""


class Guard:
    """Judges the statements one migration run sends to ``database``.

    ``measure``: count what losses would lose; ``confirmed``: losses are allowed;
    ``stop``: an unconfirmed loss stops the run before it is sent (where what ran
    before cannot be rolled back); ``send``: False records every statement that is not
    a read and sends a no-op in its place; ``one_transaction``: the run is one transaction,
    so a commit from a script stops it (``CommitsItself``) before it commits.
    """

    def __init__(self, database: Database, *, measure: bool = True, confirmed: bool = False,
                 stop: bool = False, send: bool = True, rehearsal: bool = False,
                 one_transaction: bool = False) -> None:
        self.database = database
        self.backend = database.backend
        self.version_table = database.version_table
        self.measure, self.confirmed, self.stop, self.send = measure, confirmed, stop, send
        self.rehearsal, self.one_transaction = rehearsal, one_transaction
        self.seen: list[Seen] = []
        self.losses: list[Loss] = []
        self.observed = Observed()
        self.revision = ""
        self.commits = 0  # transactions committed during the run
        self.started = False  # the first step began (what env.py commits before is its own)
        self._numbers: dict[str, int] = {}
        self._busy = False  # the guard's own queries
        self._copied: dict[int, Connection] = {}  # connections with a reading's version copy
        self._thread = threading.get_ident()
        # called before the guard reads the database: what was sent is answered first
        self.before_reading: Callable[[], None] = _nothing

    # ---------------------------------------------------------------- events

    @contextmanager
    def watching(self) -> Iterator[Guard]:
        """Listen to every connection to the database (an env.py may open its own)."""
        event.listen(Engine, "before_cursor_execute", self._before, retval=True)
        event.listen(Engine, "commit", self._commit)
        try:
            yield self
        finally:
            event.remove(Engine, "before_cursor_execute", self._before)
            event.remove(Engine, "commit", self._commit)

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """nbmigrate's own statements (the audit log): not the migration's, not judged."""
        busy, self._busy = self._busy, True
        try:
            yield
        finally:
            self._busy = busy

    def start(self, revision: str) -> None:
        """The statements from here on are ``revision``'s."""
        self.revision = revision
        self.started = True

    def forget(self, revision: str) -> None:
        """``revision`` runs again from its start: what it sent before was undone."""
        self.seen = [s for s in self.seen if s.revision != revision]
        self.losses = [loss for loss in self.losses if loss.revision != revision]
        self._numbers.pop(revision, None)

    def finish(self) -> None:
        """Every step ran: refuse now (the caller rolls back) if data would be lost."""
        self.revision = ""
        if self.losses and not self.confirmed:
            raise Refused(self.losses)

    def _ours(self, conn: Connection) -> bool:
        return (not self._busy and threading.get_ident() == self._thread
                and conn.engine.url == self.database.url)

    def _commit(self, conn: Connection) -> None:
        if not self._ours(conn) or not self.started:
            return
        if self.one_transaction:
            raise CommitsItself()
        if self.rehearsal or (self.losses and not self.confirmed):
            raise Refused(self.losses)  # a rehearsal, or lost data, is never committed
        self.commits += 1

    def _before(self, conn: Connection, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> tuple[str, Any]:
        if not self._ours(conn):
            return statement, parameters
        if self.one_transaction and _COMMIT.match(statement):
            raise CommitsItself()  # a script's own COMMIT would end the run's transaction
        if self._bookkeeping(statement):
            if self.send or _READ.match(statement) or TRANSACTION.match(statement):
                return statement, parameters
            return self._unwritten(statement, parameters, conn, executemany)
        read = _READ.match(statement) is not None and not RISKY.search(statement)
        created = _CREATE_TABLE.match(statement)
        if created:  # a table made by this run holds no data that was there before it
            name = created.group(1).replace('"', "").replace("`", "").split(".")
            self.observed.created.add((name[0] if len(name) > 1 else None, name[-1]))
        number = self._numbers.get(self.revision, 0) + (not read)  # reads are not numbered
        self._numbers[self.revision] = number
        seen = Seen(self.revision, number, statement)
        self.seen.append(seen)
        if RISKY.search(statement) or (not self.send and not read):
            self._judge(conn, seen, statement, parameters)
        if not self.send and not (read or all(e.kind == "read" for e in seen.effects or ())):
            seen.sent = False
            return self.backend.noop, [] if executemany else ()
        return statement, parameters

    def _unwritten(self, statement: str, parameters: Any, conn: Connection,
                   executemany: bool) -> tuple[str, Any]:
        """A reading keeps the version table in a temporary copy of its own, so that
        Alembic's bookkeeping works and the real table is not written."""
        if statement.lstrip()[:12].lower().startswith("create table"):
            return self.backend.noop, [] if executemany else ()
        self._copy_version_table(conn)
        name = re.compile(rf"""(?:[`"\w]+\.)?[`"]?\b{re.escape(self.version_table)}\b[`"]?""")
        return name.sub(READING_TABLE, statement), parameters

    def _copy_version_table(self, conn: Connection) -> None:
        session = id(conn.connection.dbapi_connection)  # one copy per database session
        if session in self._copied:
            return
        self._busy = True
        try:
            conn.exec_driver_sql(self.backend.temporary_table(
                READING_TABLE, "version_num VARCHAR(255) NOT NULL"))
            conn.exec_driver_sql(f"DELETE FROM {READING_TABLE}")  # one a failed run left
            table = self.database.version or VersionTable()
            if sa.inspect(conn).has_table(table.name, schema=table.schema):
                source = f"{table.schema}.{table.name}" if table.schema else table.name
                conn.exec_driver_sql(f"INSERT INTO {READING_TABLE} SELECT version_num "
                                     f"FROM {source}")
        finally:
            self._busy = False
        self._copied[session] = conn

    def forget_copies(self) -> None:
        """Drop the reading's temporary version tables (they would go with the session)."""
        for conn in self._copied.values():
            if not conn.closed:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {READING_TABLE}")
                    conn.commit()  # a temporary table made where a script committed stays
        self._copied.clear()

    def _bookkeeping(self, statement: str) -> bool:
        """Alembic's and nbmigrate's own statements: transactions, the version table."""
        if TRANSACTION.match(statement):
            return True
        head = statement.lstrip()[:80].lower()
        return self.version_table in head and head.startswith(
            ("select", "insert into", "update", "delete from", "create table"))

    # --------------------------------------------------------------- judging

    def _judge(self, conn: Connection, seen: Seen, statement: str, parameters: Any) -> None:
        dialect = conn.dialect
        self.before_reading()
        self._busy = True
        try:
            measure = Measure(conn, self.backend, _sqlglot_dialect(dialect.name),
                              live=self.send, observed=self.observed)
            seen.effects = []
            pairs: list[tuple[Effect, Impact]] = []
            for found in plain(statement, dialect.name) or classify(
                    statement, dialect.name, parameters, dialect.paramstyle):
                found = self._known(conn, measure, found)
                judged = measure.judge(found) if self.measure and (
                    found.loses or found.kind in CHECKS or found.kind == "unknown") \
                    else [(found, Impact())]
                self.observed.note(found, seen.number)
                pairs += judged
        finally:
            self._busy = False
        for effect, impact in pairs:
            seen.effects.append(effect)
            seen.impacts.append(impact)
            if impact.destructive:
                self.losses.append(Loss(seen.revision, seen.number, effect, impact, statement))
                if not self.confirmed and (self.stop or self.commits):
                    raise Refused(self.losses, before=seen)

    def _known(self, conn: Connection, measure: Measure, e: Effect) -> Effect:
        """``e`` with what the database knows now and the statement does not say: whether
        a type change rewrites the table, which table a dropped index was on."""
        if e.kind == "alter_type" and e.detail:
            if self.observed.made_here(e.schema, e.table, e.name):
                return replace(e, options=e.options | {"no_rewrite"})  # nothing there to rewrite
            old = measure.column_type(e)
            if old is not None and not self.backend.rewrites(old, e.detail):
                return replace(e, options=e.options | {"no_rewrite"})
        elif e.kind == "drop_object" and e.detail == "index" and not e.table:
            return replace(e, table=self.backend.index_table(conn, e.name, e.schema))
        return e

    # ------------------------------------------------------------------ reading

    def effects(self, seen: Seen) -> list[Effect]:
        """What a statement does (read now if it was not read when it ran)."""
        if seen.effects is None:
            seen.effects = plain(seen.sql, self.database.dialect) or classify(
                seen.sql, self.database.dialect)
            seen.impacts = [Impact() for _ in seen.effects]
        return seen.effects

    def statements(self, revision: str) -> list[Seen]:
        return [s for s in self.seen if s.revision == revision]


def _nothing() -> None:
    pass


def _sqlglot_dialect(name: str) -> str:
    from .statements import DIALECTS

    return DIALECTS.get(name, name)
