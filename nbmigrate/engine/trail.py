"""Writing the audit log as a run goes, so that it holds exactly what the database kept.

Where the whole run is one transaction (``held``), the rows wait and go in just before
it commits. Where each step commits on its own, a step's row is written in the step's
transaction, after Alembic moved the version row. Where DDL commits as it goes
(MySQL/MariaDB), a row marked ``running`` is committed before the step from a
connection of its own, and marked ``ok`` in the step's transaction: a row still
running when the next run takes the lock is a step that was cut off (``interrupted``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from .audit import INTERRUPTED, OK, RUNNING, TABLE, ensure_log, log, row
from .connections import Database
from .results import Step
from .secrets import redact, url_passwords
from .text import heads_text

Quiet = Callable[[], AbstractContextManager[Any]]  # the guard, looking away


def cut_off(heads: tuple[str, ...]) -> str:
    """The error of a row whose run died while its step ran (where DDL commits as it goes)."""
    return (f"interrupted; afterwards the version table said {heads_text(heads)}; what the "
            "revision ran before it was cut off stays, as this database commits each DDL "
            "statement")


class Trail:
    """The audit rows of one upgrade, downgrade or stamp of ``database``."""

    def __init__(self, action: str, database: Database, *, quiet: Quiet = nullcontext) -> None:
        self.action, self.database, self.quiet = action, database, quiet
        self.held = False  # the run is one transaction: rows wait for its commit
        self.marking = not database.backend.transactional_ddl(database.engine)
        self.pending: list[dict] = []
        self._running: int | None = None  # the id of the row marked running
        self._side: Connection | None = None
        self._ready = False

    def settle(self, conn: Connection, heads: tuple[str, ...]) -> None:
        """Mark the rows a cut-off run left running as interrupted, saying where the
        version table put the database (under the lock, before this run's steps)."""
        if not self.marking:
            return  # elsewhere a row is written only with its step
        inspector = inspect(conn)
        if inspector.has_table(TABLE) and "status" in {
                c["name"] for c in inspector.get_columns(TABLE)}:
            conn.execute(log.update().where(log.c.status == RUNNING).values(
                status=INTERRUPTED, error=cut_off(heads)))
        conn.commit()  # leave no transaction open: Alembic must begin its own

    def starting(self, step: Step) -> None:
        """A step begins: where DDL commits as it goes, say so durably first."""
        if not self.marking:
            return
        with self.quiet():
            side = self._side_connection()
            self._ensure(side)
            self._running = side.execute(
                log.insert().values(**row(self.action, step, RUNNING))).inserted_primary_key[0]
            side.commit()

    def applied(self, conn: Connection, step: Step) -> None:
        """A step is done (called in its transaction, on the connection that ran it)."""
        record = row(self.action, step, OK)
        if self.held:
            self.pending.append(record)
            return
        with self.quiet():
            if self._running is not None:
                conn.execute(log.update().where(log.c.id == self._running).values(
                    status=OK, success=True, seconds=step.seconds))
                self._running = None
            else:
                self._ensure(conn)
                conn.execute(log.insert(), record)

    def ended(self, conn: Connection, step: Step | None, status: str, error: str) -> None:
        """A step failed or was interrupted, and what it did was rolled back where it
        could be: its row says so (held: before the caller commits; else committed)."""
        self._ready = False  # the rollback may have taken a log table made in this run
        error = redact(error, url_passwords(self.database.url))  # stored, so masked too
        with self.quiet():
            if self._running is not None:
                side = self._side_connection()
                side.execute(log.update().where(log.c.id == self._running).values(
                    status=status, success=False, seconds=step.seconds if step else None,
                    error=error))
                side.commit()
                self._running = None
                return
            if step is not None:
                self.pending.append(row(self.action, step, status, error))
            self.flush(conn)
            if not self.held:
                conn.commit()

    def flush(self, conn: Connection) -> None:
        """Write the rows that waited for the run's one transaction."""
        if self.pending:
            with self.quiet():
                self._ensure(conn)
                conn.execute(log.insert(), self.pending)
            self.pending = []

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None

    def _ensure(self, conn: Connection) -> None:
        if not self._ready:
            ensure_log(conn)
            self._ready = True

    def _side_connection(self) -> Connection:
        if self._side is None:
            self._side = self.database.connect()
        return self._side
