"""Data impact: what an operation would do to the rows already in the database.

Each figure is one aggregate query (``count``) run in the database; no row is
fetched into Python. Tables and columns that an earlier step of the same plan
creates hold no data yet and are not counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops
from sqlalchemy.engine import Connection

from .backends import backend_for
from .text import clip

DELETING_SQL = ("delete", "drop", "truncate")


@dataclass
class Impact:
    """What one operation does to existing data."""

    destructive: bool = False  # data would be lost or the operation would fail on it
    count: int | None = None
    text: str = ""


class LiveSchema:
    """The database's tables and columns as the plan goes along, read once per table."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._inspector = sa.inspect(connection)
        self._columns: dict[tuple, dict[str, Any] | None] = {}
        self.new: set[tuple] = set()  # (schema, table) or (schema, table, column) made by the plan
        self._tables: dict[tuple, str] = {}  # (schema, name in the plan) -> name in the database
        self._writes: list[str] = []  # SQL run by earlier steps (data migrations), lower case
        self._cols: dict[tuple, str] = {}  # (schema, db table, name in the plan) -> db name

    def resolve(self, schema: str | None, table: str, column: str | None = None
                ) -> tuple[str, str | None]:
        """The database's names for a table and column that earlier steps renamed."""
        table = self._tables.get((schema, table), table)
        if column is not None:
            column = self._cols.get((schema, table, column), column)
        return table, column

    def columns(self, schema: str | None, table: str) -> dict[str, Any] | None:
        """The existing table's reflected columns by name; None if it does not exist."""
        key = (schema, table)
        if key not in self._columns:
            if self._inspector.has_table(table, schema=schema):
                self._columns[key] = {c["name"]: c for c in
                                      self._inspector.get_columns(table, schema=schema)}
            else:
                self._columns[key] = None
        return self._columns[key]

    def holds_data(self, schema: str | None, table: str, column: str | None = None) -> bool:
        """Whether the object exists in the database and no earlier step created it."""
        if (schema, table) in self.new or (schema, table, column) in self.new:
            return False
        table, column = self.resolve(schema, table, column)
        cols = self.columns(schema, table)
        return cols is not None and (column is None or column in cols)

    def exists(self, schema: str | None, table: str) -> bool:
        """Whether the table is there before this operation (in the database or made earlier)."""
        return ((schema, table) in self.new
                or self.columns(schema, self.resolve(schema, table)[0]) is not None)

    def count(self, query: Any) -> int:
        return int(self.connection.execute(query).scalar() or 0)

    def written_before(self, table: str) -> bool:
        """Whether an earlier statement of the plan (a data migration) may change ``table``."""
        word = re.compile(rf"\b{re.escape(table.lower())}\b")
        return any(word.search(sql) for sql in self._writes)

    def after(self, operation: Any) -> None:
        """Note what ``operation`` creates or writes, for the operations after it."""
        schema = getattr(operation, "schema", None)
        if isinstance(operation, ops.ExecuteSQLOp):
            self._writes.append(str(operation.sqltext).lower())
        elif isinstance(operation, ops.BulkInsertOp):
            self._writes.append(operation.table.name.lower())
        elif isinstance(operation, ops.CreateTableOp):
            self.new.add((schema, operation.table_name))
        elif isinstance(operation, ops.AddColumnOp):
            self.new.add((schema, operation.table_name, operation.column.name))
        elif isinstance(operation, ops.RenameTableOp):
            old, new = operation.table_name, operation.new_table_name
            if (schema, old) in self.new:
                self.new.add((schema, new))
            self._tables[(schema, new)] = self.resolve(schema, old)[0]
        elif isinstance(operation, ops.AlterColumnOp) and operation.modify_name:
            table, column = operation.table_name, operation.column_name
            if (schema, table, column) in self.new:
                self.new.add((schema, table, operation.modify_name))
            db_table, db_column = self.resolve(schema, table, column)
            self._cols[(schema, db_table, operation.modify_name)] = db_column  # type: ignore[assignment]


def assess(operation: Any, live: LiveSchema) -> Impact:
    """The data impact of one recorded operation on the live database."""
    schema = getattr(operation, "schema", None)
    table = getattr(operation, "table_name", None)
    if isinstance(operation, ops.DropTableOp):
        if not live.holds_data(schema, table):
            return Impact(text="created earlier in this plan" if live.exists(schema, table)
                          else "")
        table = live.resolve(schema, table)[0]
        rows = live.count(sa.select(sa.func.count()).select_from(sa.table(table, schema=schema)))
        return Impact(rows > 0, rows, f"{rows} row(s) dropped")
    if isinstance(operation, ops.DropColumnOp):
        column = operation.column_name
        if not live.holds_data(schema, table, column):
            return Impact()
        table, column = live.resolve(schema, table, column)
        t = sa.table(table, sa.column(column), schema=schema)
        values = live.count(sa.select(sa.func.count(t.c[column])))
        return Impact(values > 0, values, f"{values} non-null value(s) dropped")
    if isinstance(operation, ops.AlterColumnOp):
        return _alter(operation, live)
    if isinstance(operation, (ops.CreateUniqueConstraintOp, ops.CreatePrimaryKeyOp)) or (
        isinstance(operation, ops.CreateIndexOp) and operation.unique
    ):
        return _duplicates(operation, live)
    if isinstance(operation, ops.ExecuteSQLOp):
        text = str(operation.sqltext).strip()
        if text.split(None, 1)[:1] and text.split(None, 1)[0].lower() in DELETING_SQL:
            return Impact(True, None, f"runs {clip(text, 60)}: rows affected unknown")
    return Impact()


def _alter(operation: ops.AlterColumnOp, live: LiveSchema) -> Impact:
    schema, table, column = operation.schema, operation.table_name, operation.column_name
    notes = []
    if operation.modify_name:
        notes.append(f"renamed to {operation.modify_name} (data kept)")
    if not live.holds_data(schema, table, column):
        return Impact(text="; ".join(notes))
    table, column = live.resolve(schema, table, column)
    t = sa.table(table, sa.column(column), schema=schema)
    col = t.c[column]
    lost = 0
    if operation.modify_nullable is False:
        nulls = live.count(sa.select(sa.func.count()).select_from(t).where(col.is_(None)))
        lost += nulls
        if nulls:
            notes.append(f"{nulls} NULL(s) fail NOT NULL")
    if operation.modify_type is not None:
        existing = live.columns(schema, table)[column]["type"]  # type: ignore[index]
        change, misfit = narrowing(existing, operation.modify_type, col,
                                   backend_for(live.connection))
        if misfit is not None:
            bad = live.count(sa.select(sa.func.count()).select_from(t).where(misfit))
            lost += bad
            if bad:
                notes.append(f"{bad} value(s) do not fit {change}")
    if lost and live.written_before(table):  # e.g. UPDATE ... SET col = ... before NOT NULL
        notes.append(f"counted before the data migration that writes {table} first")
        return Impact(False, lost, "; ".join(notes))
    return Impact(lost > 0, lost if lost or operation.modify_nullable is False
                  or operation.modify_type is not None else None, "; ".join(notes))


def narrowing(old: Any, new: Any, col: Any, backend: Any) -> tuple[str, Any]:
    """How ``old`` -> ``new`` treats values: (description, SQL condition for values that
    do not fit, or None when every value fits)."""
    shown = f"{old} -> {new}"
    if isinstance(old, sa.String) and isinstance(new, sa.String):
        if new.length is None or (old.length is not None and new.length >= old.length):
            return shown, None
        return shown, backend.char_length(col) > new.length
    if isinstance(old, sa.Integer) and isinstance(new, sa.Integer):
        order = [sa.SmallInteger, sa.Integer, sa.BigInteger]
        rank = {k: i for i, k in enumerate(order)}
        old_rank = max((rank[k] for k in order if isinstance(old, k)), default=1)
        new_rank = max((rank[k] for k in order if isinstance(new, k)), default=1)
        if new_rank >= old_rank:
            return shown, None
        bits = (16, 32)[new_rank]
        limit = 2 ** (bits - 1)
        return shown, sa.or_(col >= limit, col < -limit)
    if isinstance(old, sa.Integer) and isinstance(new, (sa.BigInteger, sa.Numeric, sa.String)):
        return shown, None
    if isinstance(old, sa.Numeric) and isinstance(new, sa.Numeric) and _numeric_fits(old, new):
        return shown, None
    if old._type_affinity is new._type_affinity and not isinstance(old, sa.Numeric):
        return shown, None  # same kind (DATETIME -> TIMESTAMP, TEXT -> CLOB, ...)
    return shown, col.is_not(None)  # another kind of value: every value is converted


def _numeric_fits(old: sa.Numeric, new: sa.Numeric) -> bool:
    if isinstance(new, sa.Float):
        return True
    return (not isinstance(old, sa.Float) and (new.precision or 0) >= (old.precision or 0)
            and (new.scale or 0) >= (old.scale or 0))


def _duplicates(operation: Any, live: LiveSchema) -> Impact:
    schema, table = operation.schema, operation.table_name
    names = [c if isinstance(c, str) else getattr(c, "name", None)
             for c in getattr(operation, "columns", None) or ()]
    if not names or None in names or not live.holds_data(schema, table):
        return Impact()
    table = live.resolve(schema, table)[0]
    names = [live.resolve(schema, table, n)[1] for n in names]
    cols = live.columns(schema, table) or {}
    if any(n not in cols for n in names):
        return Impact()
    t = sa.table(table, *(sa.column(n) for n in names), schema=schema)
    keys = [t.c[n] for n in names]
    groups = (sa.select(*keys).where(*(k.is_not(None) for k in keys))
              .group_by(*keys).having(sa.func.count() > 1).subquery())
    dups = live.count(sa.select(sa.func.count()).select_from(groups))
    text = f"{dups} duplicated value(s): the constraint would fail" if dups else ""
    return Impact(False, dups, text)

