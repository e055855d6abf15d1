"""Statements that cancel out: an upgrade and its downgrade known to leave the schema as
they found it without reading it, from what ``statements`` reads them to do.

A revision that only makes tables, indexes or columns, and whose downgrade drops them
again, needs no reading of the schema before and after: ``test`` checks it from its
statements, and reads the schema only where they say otherwise."""

from __future__ import annotations

import re
from pathlib import Path

from .statements import Effect, classify, plain

_ROWS = frozenset({"insert", "update", "delete", "copy"})  # rows, not the schema
_READS = frozenset({"select", "union"})


def undone(statements: list[str], dialect: str) -> bool:
    """Whether ``statements`` (an upgrade, then its downgrade, on a ``dialect`` database)
    leave the schema as they found it by construction: each table, index or column they
    make, they drop again (an index or column with its table), and they drop nothing
    else."""
    tables: set[tuple[str | None, str]] = set()
    indexes: dict[str, tuple[str | None, str]] = {}
    columns: set[tuple[tuple[str | None, str], str]] = set()
    for sql in statements:
        if ";" in sql.strip().rstrip(";"):
            return False
        effects = plain(sql, dialect) or classify(sql, dialect)
        if len(effects) != 1:
            return False
        effect = effects[0]
        table = (effect.schema, effect.table)
        if effect.kind in _ROWS or (effect.kind == "read" and effect.detail in _READS):
            continue
        if _made(effect, "create_table"):
            tables.add(table)
        elif effect.kind == "create_index" and effect.options <= {"unique"}:
            indexes[effect.name] = table
        elif _made(effect, "add_column"):
            columns.add((table, effect.name))
        elif _made(effect, "drop_table") and table in tables:
            tables.discard(table)
            indexes = {i: t for i, t in indexes.items() if t != table}
            columns = {c for c in columns if c[0] != table}
        elif _dropped_index(effect) and effect.name in indexes:
            del indexes[effect.name]
        elif _made(effect, "drop_column") and (table, effect.name) in columns:
            columns.discard((table, effect.name))
        else:
            return False
    return not (tables or indexes or columns)


def _made(effect: Effect, kind: str) -> bool:
    """``effect`` is a plain ``kind`` (no IF [NOT] EXISTS, CASCADE...)."""
    if kind == "add_column":  # a column's own NOT NULL, DEFAULT or PRIMARY KEY is plain
        return effect.kind == kind
    return effect.kind == kind and not effect.options


def _dropped_index(effect: Effect) -> bool:
    return effect.kind == "drop_object" and effect.detail == "index" and not effect.options


_PLAIN_OPS = {"create_table", "drop_table", "create_index", "drop_index", "add_column",
              "drop_column", "f"}
# (a type named in a call: the templates' ``from typing import Sequence`` is no sequence)
_NOT_PLAIN = re.compile(r"batch_alter_table|execute|get_bind|get_context|"
                        r"\b(?:Enum|Sequence)\s*\(|comment|autocommit", re.IGNORECASE)


def plain_revision(path: str | None) -> bool:
    """Whether a revision script looks as if its statements are ones ``undone`` reads
    (a guess, from the script's Python source: the statements themselves decide)."""
    try:
        source = Path(path).read_text(encoding="utf-8") if path else ""
    except OSError:
        return False
    ops = set(re.findall(r"\bop\.(\w+)", source))
    return bool(source) and ops <= _PLAIN_OPS and not _NOT_PLAIN.search(source)
