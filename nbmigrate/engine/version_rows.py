"""Alembic's version-row statements, compiled once per run instead of once per revision.

Alembic writes each revision id into its INSERT, UPDATE or DELETE of the version row as
literal SQL text, so SQLAlchemy compiles every one afresh (a third of the time a long
SQLite upgrade spends in Python). The same statements with the ids as bound values
compile once and are served from SQLAlchemy's cache after: the rows written, the
rowcount Alembic checks and the SQL the guard reads (``UPDATE alembic_version ...``) are
the same. A statement of any other shape is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import bindparam, event
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Delete, Insert, Update
from sqlalchemy.sql.elements import BinaryExpression, ColumnClause

COLUMN = "version_num"
_QUOTED = re.compile(r"'([^']*)'")


@contextmanager
def compiled_once(conn: Connection, version_table: str) -> Iterator[None]:
    """While the run lasts, ``conn`` sends Alembic's version-row statements on
    ``version_table`` with bound values."""

    made: dict[tuple, Any] = {}  # (table, kind) -> the statement with bound values

    def before(_conn: Any, clause: Any, multiparams: Any, params: Any, options: Any
               ) -> tuple[Any, Any, Any]:
        if multiparams or params or getattr(getattr(clause, "table", None), "name",
                                            None) != version_table:
            return clause, multiparams, params
        bound = _bound(clause)
        if bound is None:
            return clause, multiparams, params
        statement, values = bound
        key = (clause.table, type(clause))
        if key not in made:
            made[key] = statement()
        return made[key], (), values

    event.listen(conn, "before_execute", before, retval=True)
    try:
        yield
    finally:
        event.remove(conn, "before_execute", before)


def _bound(clause: Any) -> tuple[Callable[[], Any], dict[str, str]] | None:
    """What makes the statement with bound values, and the values; None for another
    shape."""
    table = clause.table
    column = table.c.get(COLUMN)
    if column is None:
        return None
    if isinstance(clause, Insert):
        to = _set_to(clause)
        if to is None or getattr(clause, "select", None) is not None:
            return None
        return lambda: table.insert().values({COLUMN: bindparam("nbm_to")}), {"nbm_to": to}
    source = _where(clause, column)
    if source is None:
        return None
    if isinstance(clause, Delete):
        return (lambda: table.delete().where(column == bindparam("nbm_from")),
                {"nbm_from": source})
    if isinstance(clause, Update):
        to = _set_to(clause)
        if to is None:
            return None
        return (lambda: table.update().where(column == bindparam("nbm_from"))
                .values({COLUMN: bindparam("nbm_to")}), {"nbm_from": source, "nbm_to": to})
    return None


def _set_to(clause: Any) -> str | None:
    """The id a ``.values(version_num=literal_column("'id'"))`` writes."""
    values = dict(getattr(clause, "_values", None) or {})
    if list(values) != [COLUMN] or getattr(clause, "_multi_values", ()) or \
            getattr(clause, "_returning", ()):
        return None
    return _literal(values[COLUMN])


def _where(clause: Any, column: Any) -> str | None:
    """The id of a ``WHERE version_num = 'id'``, the statement's only condition."""
    criteria = getattr(clause, "_where_criteria", ())
    if len(criteria) != 1 or not isinstance(criteria[0], BinaryExpression):
        return None
    condition = criteria[0]
    if condition.left is not column or condition.operator.__name__ != "eq":
        return None
    return _literal(condition.right)


def _literal(value: Any) -> str | None:
    """The text of a quoted ``literal_column`` holding no quote of its own."""
    if not isinstance(value, ColumnClause) or not value.is_literal:
        return None
    found = _QUOTED.fullmatch(value.name)
    return found[1] if found else None
