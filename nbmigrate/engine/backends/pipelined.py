"""PostgreSQL: a run's statements sent through psycopg's pipeline mode.

Sent one at a time, each statement of an upgrade waits a round trip for its answer:
a SAVEPOINT, the revision's DDL, Alembic's version-row UPDATE, a RELEASE, for every
revision. Most of those answers are never read. In pipeline mode the DDL and savepoint
statements are queued and go with the next statement whose result is read (a read, or
a write whose row count may be checked, such as the version row, once a revision), so a
revision costs about one round trip.

Nothing else changes: the guard still sees each statement before it is queued, and a
queued statement that failed is raised when the run next waits, as an error of its own
SQL, before its revision's version row is written, so its revision fails, is undone to
its savepoint and is named as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import SavepointClause

# statements whose answer nobody reads: queued, not waited for (a script's own savepoint,
# such as SQLAlchemy's begin_nested(), and what runs inside it are waited for: the script
# may catch an error; nbmigrate's own savepoints are queued by ``send``)
_QUEUED = re.compile(r"\s*(create|alter|drop|comment|grant|revoke)\b", re.IGNORECASE)
# a script's own SAVEPOINT (not SQLAlchemy's begin_nested()): it may roll back to it where
# an error meets its except clause, so from there on every statement is answered at once
_SAVEPOINT = re.compile(r"\s*savepoint\b", re.IGNORECASE)
# statements the pipeline carries; any other (COPY, a DO body, several commands in one
# string) is sent on its own, outside it
_CARRIED = re.compile(r"\s*(select|with|insert|update|delete|create|alter|drop|comment|grant|"
                      r"revoke|truncate|savepoint|release|rollback\s+to)\b", re.IGNORECASE)


def _carried(statement: str) -> bool:
    """Whether the pipeline's extended protocol takes ``statement`` (one command, which a
    ``;`` inside it may not be)."""
    return _CARRIED.match(statement) is not None and ";" not in statement.rstrip().rstrip(";")


class Pipeline:
    """Statements sent on ``conn`` queued where their answers are not read."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.driver = conn.connection.driver_connection
        self.queued: list[tuple[Any, str, Any]] = []  # (cursor, statement, parameters)
        self._open: Any = None  # psycopg's pipeline while statements are queued
        # a queued statement's failure: its transaction is aborted, so every statement
        # after it raises it again (a script's except clause around a later read, where
        # it surfaced, cannot make the run go on past it)
        self.broken: Exception | None = None
        self._context: Any = None  # what opened it
        import psycopg

        self._server_cursor = psycopg.ServerCursor  # a pipeline cannot carry one

    @staticmethod
    def suits(conn: Connection) -> bool:
        """Whether ``conn`` is psycopg 3 on a libpq with pipeline mode."""
        if conn.dialect.driver != "psycopg":
            return False
        import psycopg

        return psycopg.Pipeline.is_supported()

    @contextmanager
    def sending(self) -> Iterator[Pipeline]:
        """While the block runs, queue what can be queued; wait for all of it at the end
        (a queued statement that failed is raised here at the latest)."""
        engine = self.conn.engine
        listeners = (("do_execute", self._execute), ("do_executemany", self._execute_many),
                     ("do_execute_no_params", self._execute_no_params))
        for name, listener in listeners:
            event.listen(engine, name, listener)
        self._begin()
        try:
            yield self
            self.end()
        finally:
            self._discard()
            for name, listener in listeners:
                event.remove(engine, name, listener)

    def end(self) -> None:
        """Wait for what is queued and send the rest one at a time, as usual."""
        if self._open is not None:
            try:
                self._wait(None, "", None)
            finally:
                self._discard()

    # ------------------------------------------------------------------ sending

    def _execute_no_params(self, cursor: Any, statement: str, context: Any) -> bool:
        return self._execute(cursor, statement, None, context)

    def _execute_many(self, cursor: Any, statement: str, parameters: Any, _context: Any
                      ) -> bool:
        """Rows sent many at a time (``op.bulk_insert``) are waited for, so that a failing
        row is raised as this statement's error, not that of one queued after it."""
        if cursor.connection is not self.driver:
            return False
        self._check()
        if self._open is None:
            return False
        self._wait(cursor, statement, parameters, many=True)
        return True

    def send(self, statement: str) -> None:
        """Queue a statement of nbmigrate's own (a savepoint), past SQLAlchemy: nobody
        reads its answer and the guard leaves it alone."""
        self._check()
        if self._open is None:
            self.conn.exec_driver_sql(statement)
            return
        cursor, sent = self.driver.cursor(), self._unanswered()
        try:
            cursor.execute(statement)
        except Exception as exc:  # noqa: BLE001 - an answer that came back early failed
            raise self._failure(exc, (cursor, statement, None), sent) from None
        self.queued.append((cursor, statement, None))

    def wait(self) -> None:
        """Wait for what is queued (before the guard reads the database to judge a
        statement, so that a failure in it is raised as itself, not met by the reading)."""
        self._check()
        if self.queued:
            self._wait(None, "", None)

    def _check(self) -> None:
        if self.broken is not None:
            raise self.broken

    def _execute(self, cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
        if cursor.connection is not self.driver:
            return False  # SQLAlchemy sends it as usual
        self._check()
        if self._open is None:
            return False
        if not _carried(statement):
            self.end()
            try:
                cursor.execute(statement, parameters)
            finally:
                self._begin()
            return True
        if isinstance(cursor, self._server_cursor) or (  # stream_results, yield_per
                _SAVEPOINT.match(statement) and not isinstance(
                    getattr(context.compiled, "statement", None), SavepointClause)):
            self.end()  # none for the rest of the run
            return False
        if _QUEUED.match(statement) and not context.root_connection.in_nested_transaction():
            sent = self._unanswered()
            try:
                cursor.execute(statement, parameters)
            except Exception as exc:  # noqa: BLE001 - an answer that came back early failed
                raise self._failure(exc, (cursor, statement, parameters), sent) from None
            self.queued.append((cursor, statement, parameters))
            return True
        self._wait(cursor, statement, parameters)
        return True

    def _wait(self, cursor: Any, statement: str, parameters: Any, *, many: bool = False
              ) -> None:
        """Send ``statement`` (if any; ``many``: a set of rows) and wait for it and all
        that is queued."""
        this = (cursor, statement, parameters) if cursor is not None else None
        sent = [*self._unanswered(), *([cursor] if cursor is not None else [])]
        try:
            if many:
                cursor.executemany(statement, parameters)
            elif cursor is not None:
                cursor.execute(statement, parameters)
            self._open.sync()
        except Exception as exc:  # noqa: BLE001 - which statement failed is found below
            raise self._failure(exc, this, sent) from None
        self.queued.clear()

    def _unanswered(self) -> list[Any]:
        """Every cursor waiting for an answer, in order: also a script's own, past
        SQLAlchemy (``get_bind().connection``), which psycopg queues all the same."""
        return [q[0] for q in getattr(self._open, "result_queue", ()) if q]

    def _failure(self, exc: Exception, this: tuple[Any, str, Any] | None,
                 sent: list[Any] | None = None) -> Exception:
        """``exc`` as the error of the statement that failed: the first whose answer did
        not come (a queued one, or ``this``), or ``this`` where the driver refused it before
        sending it (no SQLSTATE); none named where it was a script's own, sent past
        SQLAlchemy. The pipeline is made ready again."""
        import psycopg

        refused = this is not None and getattr(exc, "sqlstate", None) is None \
            and not isinstance(exc, psycopg.errors.PipelineAborted)
        failed = None if refused else \
            next((q for q in self.queued if q[0].pgresult is None), None)
        # the first cursor the server did not answer, whoever sent it: not ours, not this
        first = next((c for c in sent or () if c.pgresult is None), None)
        foreign = not refused and first is not None and first is not (this or (None,))[0] \
            and all(first is not q[0] for q in self.queued)
        self.queued.clear()
        with suppress(Exception):  # the server skipped the rest until this sync
            self._open.sync()
        if not isinstance(exc, psycopg.Error) or (failed is None and not foreign):
            return exc  # ``this`` failed, or the driver refused it: SQLAlchemy names it
        statement, parameters = (None, None) if foreign else failed[1:]
        self.broken = DBAPIError.instance(statement, parameters, exc, psycopg.Error,
                                          dialect=self.conn.dialect)
        return self.broken

    def _begin(self) -> None:
        self._context = self.driver.pipeline()
        self._open = self._context.__enter__()

    def _discard(self) -> None:
        if self._open is not None:
            context, self._open, self._context = self._context, None, None
            self.queued.clear()
            with suppress(Exception):  # what failed was raised already
                context.__exit__(None, None, None)
