"""PostgreSQL enum values in autogenerate, which Alembic does not compare.

A model's ``Enum("sad", "ok", "happy", name="mood")`` against a database type
``mood`` with ``sad, ok`` shows no difference in plain Alembic, and the first
insert of ``happy`` fails. Importing this module registers a table comparator
that finds such changes: added values become
``op.execute("ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy'")`` in the script
(plain Alembic runs it); removed values, which PostgreSQL cannot drop, become a
comment that says how.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import comparators, renderers
from alembic.operations import MigrateOperation, Operations
from alembic.util import PriorityDispatchResult


class EnumValuesOp(MigrateOperation):
    """Values added to (or removed from) a PostgreSQL enum type used by a column."""

    def __init__(self, table_name: str, column_name: str, type_name: str,
                 old: tuple[str, ...], new: tuple[str, ...], schema: str | None = None) -> None:
        self.table_name, self.column_name, self.type_name = table_name, column_name, type_name
        self.old, self.new, self.schema = old, new, schema

    @property
    def added(self) -> list[str]:
        return [v for v in self.new if v not in self.old]

    @property
    def removed(self) -> list[str]:
        return [v for v in self.old if v not in self.new]

    def reverse(self) -> EnumValuesOp:
        return EnumValuesOp(self.table_name, self.column_name, self.type_name, self.new,
                            self.old, self.schema)

    def to_diff_tuple(self) -> list[tuple]:
        return [("modify_enum", self.schema, self.table_name, self.column_name, {},
                 ", ".join(self.old), ", ".join(self.new))]

    def statements(self) -> list[str]:
        """The SQL that adds the new values."""
        qualified = f"{self.schema}.{self.type_name}" if self.schema else self.type_name
        quoted = ("'" + v.replace("'", "''") + "'" for v in self.added)
        return [f"ALTER TYPE {qualified} ADD VALUE IF NOT EXISTS {q}" for q in quoted]


@comparators.dispatch_for("table", qualifier="postgresql")
def _compare_enum_values(autogen_context: Any, modify_table_ops: Any, schema: str | None,
                         tname: str, conn_table: sa.Table | None,
                         metadata_table: sa.Table | None) -> PriorityDispatchResult:
    if conn_table is None or metadata_table is None:
        return PriorityDispatchResult.CONTINUE
    for column in metadata_table.c:
        wanted = column.type
        if not isinstance(wanted, sa.Enum) or not wanted.native_enum or \
                column.name not in conn_table.c:
            continue
        existing = conn_table.c[column.name].type
        if not isinstance(existing, sa.Enum) or existing.name != wanted.name:
            continue  # a different type altogether: Alembic's type comparison says so
        if list(existing.enums) != list(wanted.enums):
            modify_table_ops.ops.append(EnumValuesOp(
                tname, column.name, wanted.name, tuple(existing.enums), tuple(wanted.enums),
                schema))
    return PriorityDispatchResult.CONTINUE


@renderers.dispatch_for(EnumValuesOp)
def _render(autogen_context: Any, op: EnumValuesOp) -> list[str]:
    lines = [f"op.execute({sql!r})" for sql in op.statements()]
    if op.removed:
        lines.append(f"# PostgreSQL cannot remove {', '.join(map(repr, op.removed))} from enum "
                     f"{op.type_name}: rename the type, create the new one, ALTER COLUMN ... "
                     "TYPE ... USING, then drop the old type")
    if not op.added:
        lines.append("pass")
    return lines


@Operations.implementation_for(EnumValuesOp)
def _run(operations: Operations, op: EnumValuesOp) -> None:
    for sql in op.statements():
        operations.execute(sql)
