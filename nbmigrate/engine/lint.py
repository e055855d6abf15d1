"""Lint: operations that lock or rewrite a big table, each with a safer pattern.

The rules follow what squawk and strong_migrations teach for PostgreSQL, plus
MySQL/MariaDB's DDL that copies tables or commits as it goes; each backend holds
its dialect's rules, and the ones below hold everywhere. They are warnings: on a
small table, or in a maintenance window, the plain operation is fine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from alembic.operations import ops

if TYPE_CHECKING:
    from .backends import Backend

QUIET = (ops.CreateTableOp, ops.DropTableOp, ops.ExecuteSQLOp, ops.BulkInsertOp)


def lint(operation: Any, backend: Backend, existing: Callable[[], bool]) -> str:
    """One warning for ``operation`` on ``backend``'s dialect, or "". ``existing()`` tells
    whether its table is already in the database (so may be big and in use): a table
    made by the same plan is empty and unused, and gets no warning."""
    if isinstance(operation, QUIET) or not existing():
        return ""
    return backend.lint(operation)


def common(op: Any) -> str:
    """The warnings that hold on every dialect."""
    if isinstance(op, ops.AddColumnOp):
        column = op.column
        if not column.nullable and column.server_default is None and not column.primary_key:
            return ("a NOT NULL column without a server default fails on a table with rows: "
                    "add it nullable, backfill it, then make it NOT NULL")
    if isinstance(op, ops.AlterColumnOp) and op.modify_name:
        return ("renaming a column breaks code still using the old name: deploy code that "
                "reads both first")
    if isinstance(op, ops.RenameTableOp):
        return ("renaming a table breaks code still using the old name: deploy code that "
                "reads both first, or leave a view under the old name")
    return ""
