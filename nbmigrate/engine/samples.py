"""Sample rows for ``test --data``: a few rows in each table before a downgrade, made
from the column types, so that the downgrade has something to lose."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from .connections import short_error

ROWS = 3  # rows made in each table before a downgrade


def fill(conn: Connection, tables: Iterable[str], counter: Iterator[int]) -> list[str]:
    """Insert a few rows made from the column types into each of ``tables`` (and first
    into the empty tables their foreign keys point at), each value drawn from
    ``counter`` (a unique column takes them all); why any table got none."""
    filler = _Filler(conn, counter)
    for table in sorted(tables):
        filler.fill(table, set())
    return filler.problems


class _NoValue(Exception):
    """A column no value can be made for."""


class _Filler:
    """Rows for tables, each value new (a unique column takes them all)."""

    def __init__(self, conn: Connection, counter: Iterator[int]) -> None:
        self.conn = conn
        self.inspector = sa.inspect(conn)
        self.counter = counter
        self.done: set[str] = set()
        self.problems: list[str] = []

    def fill(self, name: str, visiting: set[str], *, parent: bool = False) -> None:
        if name in self.done or name in visiting:
            return
        visiting.add(name)
        schema, _, table = name.rpartition(".")
        if parent and self._holds_rows(table, schema):
            self.done.add(name)
            return
        try:
            columns = self.inspector.get_columns(table, schema=schema or None)
            keys = self.inspector.get_foreign_keys(table, schema=schema or None)
        except (SQLAlchemyError, NotImplementedError):
            self.done.add(name)
            return  # gone, or not a table
        references: dict[str, tuple[str, str]] = {}
        for key in keys:
            parent = ".".join(filter(None, (key.get("referred_schema"), key["referred_table"])))
            if parent != name:
                self.fill(parent, visiting, parent=True)
            for own, theirs in zip(key["constrained_columns"], key["referred_columns"],
                                   strict=False):
                references[own] = (parent, theirs)
        self.done.add(name)
        target = sa.table(table, *(sa.column(c["name"]) for c in columns), schema=schema or None)
        try:
            rows = [self._row(columns, references) for _ in range(ROWS)]
            with self.conn.begin_nested():
                self.conn.execute(target.insert(), rows)
        except _NoValue as exc:
            self.problems.append(f"no rows in {name}: {exc}")
        except SQLAlchemyError as exc:
            self.problems.append(f"no rows in {name}: {short_error(exc)}")

    def _holds_rows(self, table: str, schema: str) -> bool:
        try:
            return self.conn.execute(sa.select(sa.literal(1)).select_from(
                sa.table(table, schema=schema or None)).limit(1)).first() is not None
        except SQLAlchemyError:
            return True  # not a table to fill

    def _row(self, columns: list[dict], references: dict[str, tuple[str, str]]
             ) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column in columns:
            name = column["name"]
            if column.get("computed") or column.get("autoincrement") is True:
                continue  # the database makes it
            if name in references:
                row[name] = self._referenced(column, *references[name])
                continue
            value = sample(column["type"], next(self.counter))
            if value is _NONE:
                if column.get("default") is not None or column.get("nullable", True):
                    continue
                raise _NoValue(f"no sample value for {name} ({column['type']})")
            row[name] = value
        return row

    def _referenced(self, column: dict, parent: str, key: str) -> Any:
        """A value the foreign key column ``column`` may hold: one of ``parent``'s."""
        schema, _, table = parent.rpartition(".")
        value = self.conn.execute(sa.select(sa.column(key)).select_from(
            sa.table(table, sa.column(key), schema=schema or None)).limit(1)).scalar()
        if value is None and not column.get("nullable", True):
            raise _NoValue(f"{parent} has no row for {column['name']} to point at")
        return value


_NONE = object()


def sample(kind: Any, n: int) -> Any:
    """A value of the SQL type ``kind``, different for each ``n`` (for unique columns)."""
    python = _python_type(kind)
    if isinstance(kind, sa.Enum):
        return kind.enums[n % len(kind.enums)] if kind.enums else _NONE
    made = {
        bool: lambda: n % 2 == 0,
        int: lambda: n % 30000 + 1,
        float: lambda: float(n % 1000),
        decimal.Decimal: lambda: decimal.Decimal(n % 1000),
        str: lambda: f"s{n}"[-(getattr(kind, "length", None) or 20):],
        datetime.datetime: lambda: datetime.datetime(2024, 1, 1) + datetime.timedelta(minutes=n),
        datetime.date: lambda: datetime.date(2024, 1, 1) + datetime.timedelta(days=n % 3000),
        datetime.time: lambda: datetime.time(n % 24, n % 60),
        datetime.timedelta: lambda: datetime.timedelta(seconds=n),
        bytes: lambda: f"b{n}".encode(),
        uuid.UUID: lambda: uuid.UUID(int=n),
        dict: lambda: {"n": n},
        list: lambda: [n],
    }.get(python)
    return _NONE if made is None else made()


def _python_type(kind: Any) -> Any:
    try:
        return kind.python_type
    except (NotImplementedError, AttributeError):
        return None
