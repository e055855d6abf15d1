"""Bounded lock waits: a migration's statement waits at most ``timeout`` seconds for a lock
another session holds, so that an ALTER queued behind a long query does not hold up every
query queued behind it; what could not get its lock is tried again after a growing pause.

Where the run is one transaction (PostgreSQL) the revision is undone to its savepoint and
run again; where DDL commits as it goes (MySQL/MariaDB) the statement, which did nothing,
is sent again. Where a revision runs outside both (``autocommit_block()``, a script that
commits), the timeout still holds but nothing is tried again: the run stops, saying so.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from .connections import Database
from .errors import NbMigrateError

DEFAULT_TIMEOUT = 5.0  # seconds, on PostgreSQL and MySQL/MariaDB (SQLite locks the file)
DEFAULT_RETRIES = 3
LONGEST_PAUSE = 60.0  # seconds between two tries, however many there were


class LockNotTaken(Exception):
    """A statement could not get its lock within the timeout, on every try."""

    def __init__(self, text: str, statement: str | None) -> None:
        super().__init__(text)
        self.statement = statement


def check_setting(name: str, value: float | None) -> None:
    """Refuse a lock timeout or retry count that is not a number of zero or more."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 \
            or not math.isfinite(value) or (name == "lock_retries" and value != int(value)):
        kind = "a whole number" if name == "lock_retries" else "a number of seconds"
        raise NbMigrateError(f"{name} must be {kind}, 0 or more (0 turns it off), "
                             f"not {value!r}")


@dataclass
class LockWaits:
    """The bounded lock waits of one run on ``database``."""

    database: Database
    timeout: float  # seconds a statement waits for a lock; 0: as long as the database says
    retries: int
    on_wait: Callable[[str], None] | None = None
    quiet: Callable[[], AbstractContextManager[Any]] = nullcontext  # the guard looking away
    tries: dict[str, int] = field(default_factory=dict)  # lock timeouts met, per revision
    gave_up: LockNotTaken | None = None
    _alone: bool = False  # a statement that timed out may be sent again on its own

    @classmethod
    def of(cls, database: Database, timeout: float | None, retries: int | None,
           on_wait: Callable[[str], None] | None = None) -> LockWaits:
        """The waits for ``database``: ``timeout`` None is the database's default (none
        where its backend cannot bound a lock wait)."""
        backend = database.backend
        if not backend.bounds_lock_waits:
            timeout = 0.0
        elif timeout is None:
            timeout = DEFAULT_TIMEOUT
        return cls(database, backend.lock_wait_seconds(timeout) if timeout else 0.0,
                   DEFAULT_RETRIES if retries is None else int(retries), on_wait)

    # ------------------------------------------------------------- the setting

    @contextmanager
    def bounded(self, conn: Connection) -> Iterator[LockWaits]:
        """The database's lock timeout set on ``conn`` for the run, and put back after
        (by then what the run keeps is committed: an open transaction holds only reads)."""
        if not self.timeout:
            yield self
            return
        backend = self.database.backend
        if conn.in_transaction():
            conn.commit()
        self._alone = backend.bound_lock_waits(conn, self.timeout)
        conn.commit()
        try:
            yield self
        finally:
            if not (conn.closed or conn.invalidated):
                try:
                    if conn.in_transaction():
                        conn.rollback()
                    backend.unbound_lock_waits(conn)
                    conn.commit()
                except SQLAlchemyError:
                    conn.invalidate()  # never back to the pool with the setting

    # ---------------------------------------------------------- a revision again

    def timed_out(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a statement's lock wait that ran out of time."""
        return bool(self.timeout) and self.database.backend.lock_not_available(exc)

    def again(self, exc: BaseException, revision: str, conn: Connection) -> bool:
        """After a lock timeout ended ``revision``'s try (already undone to its savepoint):
        wait and say so, then True to run it again; False after the last try (``gave_up``
        then says why)."""
        return self._wait(revision, getattr(exc, "statement", None), conn)

    def _wait(self, key: str, statement: str | None, conn: Connection | None) -> bool:
        tries = self.tries[key] = self.tries.get(key, 0) + 1
        table = self._table(statement)
        holder = self._holder(conn, table)
        if tries > self.retries:
            self.gave_up = LockNotTaken(
                f"could not lock {table or 'a table'} within {_seconds(self.timeout)}, "
                f"{tries} {'try' if tries == 1 else 'tries'}: {holder}", statement)
            return False
        pause = min(self.timeout * 2 ** (tries - 1) / 2, LONGEST_PAUSE)
        if self.on_wait is not None:
            self.on_wait(f"could not lock {table or 'a table'} within "
                         f"{_seconds(self.timeout)} (try {tries} of {self.retries + 1}): "
                         f"{holder}; trying again in {_seconds(pause)}")
        time.sleep(pause)
        return True

    def failure(self, exc: BaseException) -> BaseException:
        """The error a run stopped with: the lock not taken, where that was why."""
        if self.gave_up is not None and (
                exc is self.gave_up or self.database.backend.lock_not_available(exc)):
            return self.gave_up
        return exc

    # --------------------------------------------------------- a statement again

    @contextmanager
    def statements_again(self) -> Iterator[None]:
        """Where DDL commits as it goes: a statement of the run that could not get its
        lock did nothing, so it is sent again on its own (after the same pauses)."""
        if not self.timeout or not self._alone:
            yield
            return
        thread = threading.get_ident()
        url = self.database.url

        def execute(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
            conn = getattr(context, "root_connection", None)
            if conn is None or threading.get_ident() != thread or conn.engine.url != url:
                return False
            while True:
                try:
                    if parameters is None:
                        cursor.execute(statement)
                    else:
                        cursor.execute(statement, parameters)
                    return True
                except Exception as exc:  # noqa: BLE001 - the driver's own error, raised on
                    if not self.database.backend.lock_not_available(exc) or \
                            not self._wait(statement, statement, conn):
                        raise

        def without(cursor: Any, statement: str, context: Any) -> bool:
            return execute(cursor, statement, None, context)

        event.listen(Engine, "do_execute", execute)
        event.listen(Engine, "do_execute_no_params", without)
        try:
            yield
        finally:
            event.remove(Engine, "do_execute", execute)
            event.remove(Engine, "do_execute_no_params", without)

    # ---------------------------------------------------------------- words

    def _table(self, statement: str | None) -> str:
        """The table ``statement`` is about ("" if it cannot be read)."""
        if not statement:
            return ""
        from .statements import classify, plain

        dialect = self.database.dialect
        with suppress(Exception):  # a statement sqlglot cannot read names no table
            effects = plain(statement, dialect) or classify(statement, dialect)
            for effect in effects:
                if effect.table:
                    return f"{effect.schema}.{effect.table}" if effect.schema else effect.table
        return ""

    def _holder(self, conn: Connection | None, table: str) -> str:
        """Who holds the lock, as far as the database tells."""
        found = ""
        if conn is not None and table:
            with self.quiet(), suppress(SQLAlchemyError):
                found = self.database.backend.lock_holder(conn, table)
        return f"another session holds it ({found})" if found else "another session holds it"


def _seconds(value: float) -> str:
    return f"{value:g} s"
