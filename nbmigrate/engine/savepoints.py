"""One transaction for a whole upgrade, a savepoint for each revision: a failing revision
rolls back alone and the revisions before it are kept; a refused one rolls back all."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from .connections import Database
from .script_files import ScriptFiles

# a script that needs autocommit, or sends COMMIT, cannot run inside one outer transaction
# (one that commits its connection otherwise is found as it runs: guard.CommitsItself)
_COMMITS = re.compile(r"autocommit_block|[\"']\s*commit\b", re.IGNORECASE)


def commits_itself(step: Any, files: ScriptFiles | None = None) -> bool:
    """Whether a migration step's script needs autocommit or sends COMMIT (or cannot be
    read to tell); read through ``files`` if given."""
    path = getattr(getattr(step, "revision", None), "path", None)
    return not path or bool(_COMMITS.search((files or ScriptFiles()).text(path)))


class Savepoints:
    """The whole upgrade in one transaction, with a SAVEPOINT per revision: one commit
    (and fsync) for the upgrade, a failing revision undone alone, and, where the guard
    refuses, nothing changed at all.

    Alembic leaves transactions to a caller whose connection is already in one, so
    this works with any env.py that uses the connection it is given. The savepoint is
    plain SQL under one reused name: where the backend allows several statements in one
    call, releasing one and starting the next is one round trip.
    """

    NAME = "nbmigrate_step"

    def __init__(self, connection: Connection, database: Database) -> None:
        if connection.in_transaction():
            connection.commit()
        self.connection = connection
        self.together = database.backend.statements_together
        self.send: Callable[[str], None] | None = None  # a pipeline's, while one is open
        self.outer = connection.begin()
        self._run(f"SAVEPOINT {self.NAME}")

    @staticmethod
    def suit(database: Database, steps: list[Any], files: ScriptFiles | None = None) -> bool:
        """Savepoints and transactional DDL on this database, and no script that needs
        autocommit or sends COMMIT (``autocommit_block()``, ``op.execute("COMMIT")``)."""
        backend = database.backend
        if not backend.savepoints or not backend.transactional_ddl(database.engine):
            return False
        return not any(commits_itself(step, files) for step in steps)

    def _run(self, *statements: str) -> None:
        if self.send is not None:
            for statement in statements:
                self.send(statement)
        elif self.together:
            self.connection.exec_driver_sql("; ".join(statements))
        else:
            for statement in statements:
                self.connection.exec_driver_sql(statement)

    def next(self) -> None:
        """A revision is done: keep it, and start the next one's savepoint."""
        self._run(f"RELEASE SAVEPOINT {self.NAME}", f"SAVEPOINT {self.NAME}")

    def finish(self) -> None:
        """Commit the revisions done."""
        if self.outer.is_active:
            self._run(f"RELEASE SAVEPOINT {self.NAME}")
            self.outer.commit()

    def undo_current(self) -> None:
        """The revision in progress failed: undo it alone (``finish`` keeps those before)."""
        if self.outer.is_active:
            self._run(f"ROLLBACK TO SAVEPOINT {self.NAME}")

    def abandon(self) -> None:
        """Undo the whole upgrade."""
        if self.outer.is_active:
            self.outer.rollback()
