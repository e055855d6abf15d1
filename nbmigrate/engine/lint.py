"""Lint: operations that lock or rewrite a big table, each with a safer pattern.

The rules follow what squawk and strong_migrations teach for PostgreSQL, plus
MySQL/MariaDB's DDL that copies tables or commits as it goes. They are warnings:
on a small table, or in a maintenance window, the plain operation is fine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic.operations import ops

QUIET = (ops.CreateTableOp, ops.DropTableOp, ops.ExecuteSQLOp, ops.BulkInsertOp)


def lint(operation: Any, dialect: str, existing: Callable[[], bool]) -> str:
    """One warning for ``operation`` on ``dialect``, or "". ``existing()`` tells whether its
    table is already in the database (so may be big and in use): a table made by the same
    plan is empty and unused, and gets no warning."""
    if isinstance(operation, QUIET) or not existing():
        return ""
    if dialect == "postgresql":
        return _postgresql(operation)
    if dialect in ("mysql", "mariadb"):
        return _mysql(operation)
    return _any(operation)


def _postgresql(op: Any) -> str:
    kw = getattr(op, "kw", {}) or {}
    if isinstance(op, ops.CreateIndexOp) and not kw.get("postgresql_concurrently"):
        return ("CREATE INDEX blocks writes to the table while it builds: use "
                "postgresql_concurrently=True inside op.get_context().autocommit_block()")
    if isinstance(op, ops.DropIndexOp) and not kw.get("postgresql_concurrently"):
        return ("DROP INDEX takes an ACCESS EXCLUSIVE lock: use postgresql_concurrently=True "
                "inside op.get_context().autocommit_block()")
    if isinstance(op, ops.AlterColumnOp) and op.modify_type is not None:
        return ("changing a column's type rewrites the table under an ACCESS EXCLUSIVE lock "
                "(widening VARCHAR does not): add a new column, backfill, then swap")
    if isinstance(op, ops.AlterColumnOp) and op.modify_nullable is False:
        return ("SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock: add CHECK (col IS "
                "NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL")
    if isinstance(op, (ops.CreateForeignKeyOp, ops.CreateCheckConstraintOp)) and not kw.get(
        "postgresql_not_valid"
    ):
        return ("adding the constraint checks every row under a lock: add it NOT VALID "
                "(postgresql_not_valid=True), then VALIDATE CONSTRAINT in a later revision")
    if isinstance(op, ops.CreateUniqueConstraintOp):
        return ("adding a unique constraint builds its index under a lock: CREATE UNIQUE INDEX "
                "CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX")
    return _any(op)


def _mysql(op: Any) -> str:
    if isinstance(op, ops.AlterColumnOp) and (op.modify_type is not None
                                              or op.modify_nullable is not None):
        return ("MySQL/MariaDB copies the table to change a column's type or NULL-ness, "
                "blocking writes: run it with pt-online-schema-change or gh-ost on a big table")
    if isinstance(op, ops.DropColumnOp):
        return ("dropping a column rebuilds the table on MySQL/MariaDB: on a big table, "
                "plan it for a quiet time or use an online schema change tool")
    return _any(op)


def _any(op: Any) -> str:
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


def non_transactional(dialect: str, operations: list[Any]) -> str:
    """A revision-level warning: several DDL statements where DDL commits as it goes."""
    ddl = [o for o in operations if not isinstance(o, (ops.ExecuteSQLOp, ops.BulkInsertOp))]
    if dialect in ("mysql", "mariadb") and len(ddl) > 1:
        return (f"{len(ddl)} DDL operations in one revision: MySQL/MariaDB commits each, so a "
                "failure half-way leaves the first ones applied; one change per revision is "
                "safer")
    return ""
