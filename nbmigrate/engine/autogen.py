"""Model against database: Alembic's autogenerate, as rows a table can show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from .results import Operation

# nbmigrate's own tables in a managed database; autogenerate never proposes to drop them
NBMIGRATE_TABLES = frozenset({"nbmigrate_log"})


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name`` hook that hides nbmigrate's own tables."""
    return not (type_ == "table" and name in NBMIGRATE_TABLES)


def compare(connection: Connection, metadata: MetaData) -> tuple[list[Operation], str]:
    """The operations that would bring the database to the model, and their Python code."""
    from alembic.autogenerate import produce_migrations, render_python_code
    from alembic.migration import MigrationContext

    batch = connection.dialect.name == "sqlite"
    context = MigrationContext.configure(
        connection,
        opts={
            "target_metadata": metadata,
            "compare_type": True,
            "include_name": include_name,
            "render_as_batch": batch,
        },
    )
    script = produce_migrations(context, metadata)
    ops = operations(script.upgrade_ops.as_diffs())
    code = render_python_code(script.upgrade_ops, render_as_batch=batch) if ops else ""
    return ops, code


def operations(diffs: list[Any]) -> list[Operation]:
    """Rows for Alembic's ``as_diffs()`` tuples (and lists of column modifications)."""
    rows: list[Operation] = []
    for diff in diffs:
        if isinstance(diff, list):
            rows.extend(_modification(item) for item in diff)
        else:
            rows.append(_change(diff))
    return rows


def _change(diff: tuple) -> Operation:
    kind = diff[0]
    removing = kind.startswith("remove")
    if kind in ("add_table", "remove_table"):
        table = diff[1]
        cols = ", ".join(c.name for c in table.columns)
        return Operation(kind, table.name, "", f"columns: {cols}", removing)
    if kind in ("add_column", "remove_column"):
        _schema, tname, column = diff[1:4]
        return Operation(kind, tname, column.name, str(column.type), removing)
    if kind in ("add_table_comment", "remove_table_comment"):
        return Operation(kind, diff[1].name, "", str(diff[1].comment or ""), False)
    obj = diff[1]  # an index or a constraint
    table = getattr(getattr(obj, "table", None), "name", "") or ""
    cols = ", ".join(c.name for c in getattr(obj, "columns", ()) or ())
    if kind.endswith("_fk"):
        target = getattr(obj, "referred_table", None)
        detail = f"({cols}) -> {target.name if target is not None else '?'}"
    else:
        detail = f"({cols})" if cols else ""
    return Operation(kind, table, obj.name or "", detail, False)


def _modification(item: tuple) -> Operation:
    kind, _schema, tname, cname, _existing, old, new = item
    if kind == "modify_nullable":
        detail = "NULL -> NOT NULL" if not new else "NOT NULL -> NULL"
        risky = not new
    else:
        detail, risky = f"{_show(old)} -> {_show(new)}", kind == "modify_type"
    return Operation(kind, tname, cname, detail, risky)


def _show(value: Any) -> str:
    text = getattr(value, "arg", value)  # server defaults hold their text in .arg
    return "None" if text is None else str(getattr(text, "text", text))
