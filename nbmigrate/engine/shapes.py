"""A schema read as named items, and what differs between two readings.

Each item is named with its definition: a table, a column with its type, nullability
and default, an index, a constraint, a PostgreSQL enum type... Two readings differ
exactly where the schema did, and the difference names the item ("column users.email",
"enum type mood"). Each dialect's backend holds its catalog query (a ``ShapeReader``,
``Backend.schema_reader()``). After the first reading only the relations the statements
since then named are read again (``update``): a test of a long history stays near the
cost of its DDL, where SQLAlchemy's reflection, table by table, costs more than the
migrations themselves.

``update`` picks the relations to read again from the words of the statements, not a
parse: a word over-approximates what a statement touches (reading a relation too many
is cheap, missing one is wrong), and sqlglot would have to parse every statement of
every step."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

Item = tuple[str, str, str]  # (kind, owner, name): ("column", "users", "email")
Items = dict[Item, str]  # each item's definition
Shape = dict[str, Items]  # by relation (its bare lower-case name; "" for items of none)


class ShapeReader:
    """Reads a dialect's schema as items: all of it, or only the relations (tables,
    views, sequences) of some names and their items, in one query."""

    # (SQL, the expression of the relation's name it filters on; "" for an item of no
    # relation, such as a PostgreSQL enum type, read again only when asked)
    sections: tuple[tuple[str, str], ...] = ()
    head = ""  # a WITH clause the sections share ({only}: the filter, for its relations)
    head_name = ""
    only = "AND lower({}) IN :names"  # the filter on a relation's name
    expanding = True  # :names is a list the driver cannot take whole

    def __init__(self) -> None:
        self._texts: dict[tuple[bool, bool], Any] = {}

    def _text(self, only: bool, others: bool) -> Any:
        if (only, others) not in self._texts:
            where = self.only if only else ""
            parts = [sql.format(only=where.format(name) if name and not self.head else "")
                     for sql, name in self.sections if name or others]
            head = self.head.format(only=where.format(self.head_name)) if self.head else ""
            text = sa.text(head + " UNION ALL ".join(parts))  # percent signs escaped
            if only and self.expanding:
                text = text.bindparams(sa.bindparam("names", expanding=True))
            self._texts[(only, others)] = text
        return self._texts[(only, others)]

    def read(self, conn: Connection, hidden: Iterable[str], names: Iterable[str] | None = None,
             others: bool = True) -> Shape:
        """The items of the schema but those of the ``hidden`` tables; ``names``: only the
        relations of those names and their items, and, if ``others``, the
        items of no relation."""
        hidden = {h.lower() for h in hidden}
        wanted = None if names is None else sorted({n for n in names if n.lower() not in hidden})
        if wanted is not None and not wanted and not others:
            return {}
        query = self._text(wanted is not None, others)
        rows = conn.execute(query, {"names": wanted or ["\x00"]} if wanted is not None else {})
        shape: Shape = {}
        for kind, owner, name, definition in rows:
            item = (kind, owner or "", name or "")
            relation = _relation(item)
            if relation not in hidden:
                shape.setdefault(relation, {})[item] = " ".join(str(definition or "").split())
        return shape


def _bare(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower()


RELATIONS = frozenset({"table", "view", "materialized view", "sequence", "foreign table"})
# what may change the schema beyond the relations a statement names: read all of it again
_UNSAFE = re.compile(r"\b(drop\b[^;]*\bcascade|do|execute|call|perform|"
                     r"alter\s+(type|domain|extension)|create\s+or\s+replace|"
                     r"drop\s+(schema|owned|extension|function|procedure)|set\s+schema|"
                     r"inherit|attach|detach)\b", re.IGNORECASE)
_RENAME = re.compile(r"\brename\b", re.IGNORECASE)
_BATCH_RENAME = re.compile(r"^\s*alter\s+table\s+[\"`]?_alembic_tmp_\w+[\"`]?\s+rename\s+to\s+"
                           r"[\"`]?\w+[\"`]?\s*;?\s*$", re.IGNORECASE)  # Alembic's batch mode
# an index or trigger a statement may name without its table (DROP INDEX ix)
_NAMED = re.compile(r"\b(?:index|trigger)\s+(?:concurrently\s+)?(?:if\s+exists\s+)?"
                    r"(?:[\w$\"`]+\.)?[\"`]?([\w$]+)", re.IGNORECASE)
# what may change items of no relation (an enum type, a function, an extension)
_OTHERS = re.compile(r"\b(type|domain|enum|function|procedure|extension|schema|language)\b",
                     re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z_][\w$]*")


def update(reader: ShapeReader, conn: Connection, old: Shape | None, hidden: Iterable[str],
           statements: list[str]) -> Shape:
    """The schema now, from ``old`` (read before ``statements`` ran): only the relations
    the statements name (or whose index, constraint or trigger they name) are read again;
    everything, where a statement may reach further (CASCADE, a rename, a DO block...)."""
    if old is None or any(_UNSAFE.search(s) or (_RENAME.search(s) and not
                                                  _BATCH_RENAME.match(s)) for s in statements):
        return reader.read(conn, hidden)
    written = {w for s in statements for w in _WORD.findall(s)}
    touched = {w.lower() for w in written}
    named = {m.lower() for s in statements for m in _NAMED.findall(s)} - set(old)
    if named:  # the tables of the indexes and triggers named
        touched |= {relation for relation, items in old.items() if relation and
                    any(kind != "column" and name.lower() in named for kind, _, name in items)}
    others = any(_OTHERS.search(s) for s in statements)
    fresh = reader.read(conn, hidden, touched | written, others)  # as written: "Users"
    shape = dict(old)
    for relation in touched & set(old) | ({""} if others else set()):
        shape.pop(relation, None)
    shape.update(fresh)
    return shape


def _relation(item: Item) -> str:
    """The bare name of the relation an item belongs to; "" for an item of none."""
    kind, owner, name = item
    if owner:
        return _bare(owner)
    return _bare(name) if kind in RELATIONS else ""


def differences(before_shape: Shape, after_shape: Shape) -> str:
    """What differs from ``before`` in ``after``, each item named ("the downgrade left
    column users.email"; "missing table moods"; "changed column users.name: A -> B"),
    or ""; the items of a table that is there (or gone) as a whole are not named again."""
    before, after = _changed(before_shape, after_shape)
    left = [k for k in after if k not in before]
    gone = [k for k in before if k not in after]
    whole = {k[2] for k in (*left, *gone) if not k[1]}
    left = [describe(k) for k in left if k[1] not in whole]
    gone = [describe(k) for k in gone if k[1] not in whole]
    changed = [f"{describe(k)}: {before[k]} -> {after[k]}" for k in after
               if k in before and before[k] != after[k]]
    if not gone and not changed:
        return f"the downgrade left {', '.join(left)}" if left else ""
    parts = [f"{word} {', '.join(items)}" for word, items in
             (("left", left), ("missing", gone), ("changed", changed)) if items]
    return "after the downgrade: " + "; ".join(parts)


def describe(item: Item) -> str:
    """An item in words: "column users.email", "index ix on users", "enum type mood"."""
    kind, owner, name = item
    if kind == "column":
        return f"column {owner}.{name}"
    return f"{kind} {name} on {owner}" if owner else f"{kind} {name}"


def _changed(before: Shape, after: Shape) -> tuple[Items, Items]:
    """The items of the relations that differ between two readings (a relation not read
    again in between is the same object in both)."""
    old: Items = {}
    new: Items = {}
    for relation in sorted(before.keys() | after.keys()):
        if before.get(relation) is not after.get(relation):
            old.update(before.get(relation, {}))
            new.update(after.get(relation, {}))
    return old, new


def tables_changed(before: Shape, after: Shape) -> set[str]:
    """The tables whose items differ between two readings (those made or changed)."""
    old, new = _changed(before, after)
    changed = {k for k in new if new[k] != old.get(k)}
    return {owner or name for kind, owner, name in changed
            if owner or kind == "table"}

