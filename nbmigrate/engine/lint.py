"""Lint: statements that lock or rewrite a big table, each with a safer pattern.

The rules follow what squawk and strong_migrations teach for PostgreSQL, plus
MySQL/MariaDB's DDL that copies tables or commits as it goes; each backend holds
its dialect's rules, and the ones below hold everywhere. They read what a
statement does (``statements.Effect``), so they judge raw SQL as well as ``op``
calls. They are warnings: on a small table, or in a maintenance window, the plain
statement is fine. A table made earlier in the same plan is empty and unused, and
gets none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .statements import Effect

if TYPE_CHECKING:
    from .backends import Backend

DDL = frozenset({"drop_column", "alter_type", "set_not_null", "alter_column", "add_column",
                 "add_constraint", "drop_constraint", "rename_column", "rename_table",
                 "create_index", "drop_object", "drop_table", "alter_table", "truncate"})


def lint(effect: Effect, backend: Backend, existing: bool) -> str:
    """One warning for ``effect`` on ``backend``'s dialect, or "". ``existing``: its table
    was there before the plan (so may be big and in use)."""
    if not existing or not effect.table:
        return ""
    return backend.lint(effect)


def common(e: Effect) -> str:
    """The warnings that hold on every dialect."""
    if e.kind == "add_column" and "not_null" in e.options and not \
            {"default", "primary_key"} & e.options:
        return ("a NOT NULL column without a server default fails on a table with rows: "
                "add it nullable, backfill it, then make it NOT NULL")
    if e.kind == "rename_column" or (e.kind == "alter_type" and "rename" in e.options):
        return ("renaming a column breaks code still using the old name: deploy code that "
                "reads both first")
    if e.kind == "rename_table":
        return ("renaming a table breaks code still using the old name: deploy code that "
                "reads both first, or leave a view under the old name")
    return ""


def changes_existing(effects: list[Effect], created: set[tuple]) -> list[Effect]:
    """The DDL among ``effects`` on tables that were there before the plan."""
    return [e for e in effects if e.kind in DDL and (e.schema, e.table) not in created]
