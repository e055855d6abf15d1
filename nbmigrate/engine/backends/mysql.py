"""MySQL and MariaDB: DDL commits as it goes, GET_LOCK, and table copies to warn about."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alembic.operations import ops
from sqlalchemy.engine import Connection

from ..locks import NAME, timed_out, waiting
from .base import Backend


class MySQL(Backend):
    dialects = ("mysql", "mariadb")

    @contextmanager
    def lock(self, conn: Connection, timeout: float,
             on_wait: Callable[[str], None] | None) -> Iterator[None]:
        """``GET_LOCK``, which waits on the server itself."""
        got = conn.exec_driver_sql(f"SELECT GET_LOCK('{NAME}', 0)").scalar()
        if got != 1:
            waiting(on_wait, timeout)
            got = conn.exec_driver_sql(f"SELECT GET_LOCK('{NAME}', {int(timeout)})").scalar()
            if got != 1:
                raise timed_out(timeout)
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT RELEASE_LOCK('{NAME}')")
            conn.commit()

    def lint(self, op: Any) -> str:
        if isinstance(op, ops.AlterColumnOp) and (op.modify_type is not None
                                                  or op.modify_nullable is not None):
            return ("MySQL/MariaDB copies the table to change a column's type or NULL-ness, "
                    "blocking writes: run it with pt-online-schema-change or gh-ost on a big "
                    "table")
        if isinstance(op, ops.DropColumnOp):
            return ("dropping a column rebuilds the table on MySQL/MariaDB: on a big table, "
                    "plan it for a quiet time or use an online schema change tool")
        return super().lint(op)

    def revision_warning(self, operations: list[Any]) -> str:
        """Several DDL statements in one revision, where each commits as it goes."""
        ddl = [o for o in operations if not isinstance(o, (ops.ExecuteSQLOp, ops.BulkInsertOp))]
        if len(ddl) > 1:
            return (f"{len(ddl)} DDL operations in one revision: MySQL/MariaDB commits each, "
                    "so a failure half-way leaves the first ones applied; one change per "
                    "revision is safer")
        return ""
