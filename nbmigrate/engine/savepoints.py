"""One transaction for many revisions, a savepoint for each: a failing revision still
rolls back alone, and the revisions before it are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from .connections import Database


class Savepoints:
    """A transaction per 50 revisions and a SAVEPOINT per revision: one commit (and
    fsync) instead of fifty, while a failing revision still rolls back alone and the
    revisions before it are kept.

    Alembic leaves transactions to a caller whose connection is already in one, so
    this works with nbmigrate's env.py, which uses the connection it is given. The
    savepoint is plain SQL under one reused name: where the backend allows several
    statements in one call, releasing one and starting the next is one round trip.
    """

    BATCH = 50  # revisions per commit: PostgreSQL slows down past 64 subtransactions
    NAME = "nbmigrate_step"

    def __init__(self, connection: Connection, database: Database) -> None:
        if connection.in_transaction():
            connection.commit()
        self.connection = connection
        self.done = 0
        self.together = database.backend.statements_together
        self.outer = connection.begin()
        self._run(f"SAVEPOINT {self.NAME}")

    @staticmethod
    def suit(database: Database, steps: list[Any]) -> bool:
        """Savepoints and transactional DDL on this database, and no script that needs
        autocommit (``autocommit_block()``)."""
        backend = database.backend
        if not backend.savepoints or not backend.transactional_ddl(database.engine):
            return False
        paths = [getattr(getattr(s, "revision", None), "path", None) for s in steps]
        return all(p and "autocommit_block" not in Path(p).read_text(encoding="utf-8")
                   for p in paths)

    def _run(self, *statements: str) -> None:
        if self.together:
            self.connection.exec_driver_sql("; ".join(statements))
        else:
            for statement in statements:
                self.connection.exec_driver_sql(statement)

    def next(self) -> None:
        """A revision is done: keep it, and start the next one's savepoint."""
        self.done += 1
        if self.done % self.BATCH:
            self._run(f"RELEASE SAVEPOINT {self.NAME}", f"SAVEPOINT {self.NAME}")
            return
        self._run(f"RELEASE SAVEPOINT {self.NAME}")
        self.outer.commit()
        self.outer = self.connection.begin()
        self._run(f"SAVEPOINT {self.NAME}")

    def finish(self) -> None:
        self._run(f"RELEASE SAVEPOINT {self.NAME}")
        self.outer.commit()

    def keep_done(self) -> None:
        """The revision in progress failed: undo it alone and keep those before it."""
        if self.outer.is_active:
            self._run(f"ROLLBACK TO SAVEPOINT {self.NAME}")
            self.outer.commit()
