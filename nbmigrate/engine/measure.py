"""What a statement would lose, counted in the database just before it runs.

Each figure is one aggregate query on the migration's own connection, inside its
transaction, so earlier statements (a backfill, a rename, a copy) are seen. A
table or column the migration created holds nothing yet. Where a database
cannot run the statements before measuring (MySQL's read-only plans), what the
plan created, renamed and wrote is tracked instead (``Observed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from .sql_text import tables_named
from .statements import Effect

INTEGER_RANGES = {"TINYINT": 8, "SMALLINT": 16, "MEDIUMINT": 24, "INT": 32, "BIGINT": 64}


@dataclass
class Impact:
    """What one effect does to the data there: a count, its words, and whether it loses."""

    count: int | None = None
    text: str = ""
    destructive: bool = False
    judged: bool = True


@dataclass
class Observed:
    """What the migration has done so far that a count must know about."""

    created: set[tuple] = field(default_factory=set)  # (schema, table): empty, made here
    added: set[tuple] = field(default_factory=set)  # (schema, table, column): made here
    renamed: dict[tuple, str] = field(default_factory=dict)  # (schema, new) -> old name
    written: dict[tuple, int] = field(default_factory=dict)  # (schema, table) -> statement no.
    copies: dict[tuple, Effect] = field(default_factory=dict)  # (schema, source) -> the copy
    dropped: set[tuple] = field(default_factory=set)  # (schema, table) dropped here

    def note(self, effect: Effect, number: int) -> None:
        """Remember what ``effect`` makes, renames, copies, drops or writes."""
        key = (effect.schema, effect.table)
        if effect.kind == "create_table":
            self.created.add(key)
        elif effect.kind == "drop_table":
            self.dropped.add(key)
        elif effect.kind == "add_column":
            self.added.add((*key, effect.name))
        elif effect.kind == "rename_table":
            new = (effect.schema, effect.detail)
            if key in self.created:
                self.created.add(new)
            self.renamed[new] = self.renamed.get(key, effect.table)
            for source, copy in list(self.copies.items()):  # the copy is now under its new name
                if (copy.schema, copy.table) == key:
                    self.copies[source] = replace(copy, table=effect.detail)
        elif effect.kind == "copy":
            self.copies[(effect.schema, effect.detail)] = effect
            self.written[key] = number
        elif effect.kind in ("insert", "update", "delete"):
            self.written[key] = number

    def made_here(self, schema: str | None, table: str, column: str | None = None) -> bool:
        return (schema, table) in self.created or (schema, table, column) in self.added

    def holds_dropped_rows(self, schema: str | None, table: str) -> bool:
        """Whether a table made here now holds rows copied from one dropped since (its
        rows are no longer anywhere else)."""
        return any(copy.table == table and copy.schema == schema and
                   (source_schema, source) in self.dropped
                   for (source_schema, source), copy in self.copies.items())


class Measure:
    """Counts on one connection. ``live``: the migration's statements ran (PostgreSQL,
    SQLite); otherwise they were only recorded, and the database is as it was."""

    def __init__(self, connection: Connection, backend: Any, dialect: str, *, live: bool,
                 observed: Observed) -> None:
        self.connection, self.backend, self.dialect = connection, backend, dialect
        self.live, self.observed = live, observed

    def judge(self, effect: Effect) -> list[tuple[Effect, Impact]]:
        """What ``effect`` would lose, as (effect, impact) pairs: one, or, for a table whose
        rows were copied into another first (SQLite's batch mode, or by hand), one per
        column or row the copy left behind."""
        copy = self.observed.copies.get((effect.schema, effect.table))
        if effect.kind == "drop_table" and copy is not None and \
                not self.observed.made_here(effect.schema, effect.table):
            try:
                return self._copied(effect, copy)
            except _Unmeasured as exc:
                return [(effect, Impact(None, f"not counted: {exc}", True, judged=False))]
        return [(effect, self.impact(effect))]

    def impact(self, effect: Effect) -> Impact:
        """What ``effect`` would lose; not judged (and destructive) where it cannot be
        counted but reaches rows."""
        how = getattr(self, f"_{effect.kind}", None)
        if how is None:
            return Impact()
        try:
            return how(effect)
        except _Unmeasured as exc:
            return Impact(None, f"not counted: {exc}", exc.reaches_rows, judged=False)
        except Exception as exc:  # noqa: BLE001 - a form no query here handles: not judged
            return Impact(None, f"not counted ({type(exc).__name__}: {exc})", True,
                          judged=False)

    # ------------------------------------------------------------------- losses

    def _drop_table(self, e: Effect) -> Impact:
        if self.observed.made_here(e.schema, e.table) and \
                not self.observed.holds_dropped_rows(e.schema, e.table):
            return Impact(0, "created earlier in this plan")
        rows = self._rows(e)
        if rows is None:
            return Impact(None, "not there" if "if_exists" in e.options else "")
        return self._loss(rows, "row(s) dropped", e)

    def _truncate(self, e: Effect) -> Impact:
        if self.observed.made_here(e.schema, e.table):
            return Impact(0, "created earlier in this plan")
        rows = self._rows(e) or 0
        for schema, table in self.backend.referencing(self.connection, e.table, e.schema) \
                if "cascade" in e.options else ():
            rows += self._rows(Effect("drop_table", table, schema)) or 0
        return self._loss(rows, "row(s) removed", e)

    def _delete(self, e: Effect) -> Impact:
        from sqlglot import exp

        delete = e.source
        if delete is None or delete.args.get("tables") or delete.args.get("limit"):
            raise _Unmeasured("this DELETE's form is not counted",
                              reaches_rows=bool(self._rows(e)))
        if self.observed.made_here(e.schema, e.table):
            return Impact(0, "created earlier in this plan")
        query = exp.select(exp.Count(this=exp.Star())).from_(self._table(e, delete.this))
        where = delete.args.get("where")
        using = delete.args.get("using")
        if using:
            inner = exp.select("1").from_(using[0].copy())
            for extra in using[1:]:
                inner = inner.join(extra.copy(), join_type="cross")
            if where is not None:
                inner = inner.where(where.this.copy())
            query = query.where(exp.Exists(this=inner))
        elif where is not None:
            query = query.where(where.this.copy())
        return self._loss(self._count(query, e), "row(s) deleted", e)

    def _drop_column(self, e: Effect) -> Impact:
        from sqlglot import exp

        if self.observed.made_here(e.schema, e.table, e.name):
            return Impact(0, "created earlier in this plan")
        query = exp.select(exp.Count(this=exp.column(e.name, quoted=True))).from_(self._table(e))
        try:  # one query; the catalogs are read only when it fails
            return self._loss(self._count(query, e), "non-null value(s) dropped", e)
        except _Unmeasured:
            column = self._column(e, e.name)
            if column is None:
                return Impact(None, "not there" if "if_exists" in e.options else "")
            if column == e.name:
                raise
        query = exp.select(exp.Count(this=exp.column(column, quoted=True))).from_(self._table(e))
        return self._loss(self._count(query, e), "non-null value(s) dropped", e)

    def _alter_type(self, e: Effect) -> Impact:
        if not e.detail or self.observed.made_here(e.schema, e.table, e.name):
            return Impact(0 if e.detail else None, "")
        column = self._column(e, e.name)
        if column is None:
            return Impact()
        using = getattr(e.source, "args", {}).get("using") or None
        lost = self._altered(e, column, e.detail, using=using)
        impact = self._loss(lost, f"value(s) changed by the new type {e.detail}", e)
        if "not_null" in e.options:  # MySQL's MODIFY ... NOT NULL
            nulls = self._nulls(e, column)
            if nulls.count:
                impact.count = lost + nulls.count
                impact.text = self._written(e, "; ".join(
                    t for t in (f"{lost} value(s) changed by the new type {e.detail}"
                                if lost else "", nulls.text) if t))
        return impact

    # ------------------------------------------------ what would fail on the data

    def _set_not_null(self, e: Effect) -> Impact:
        return self._nulls(e, e.name)

    def _add_constraint(self, e: Effect) -> Impact:
        return self._duplicates(e) if "unique" in e.options else Impact()

    def _create_index(self, e: Effect) -> Impact:
        return self._duplicates(e) if "unique" in e.options else Impact()

    def _nulls(self, e: Effect, name: str) -> Impact:
        from sqlglot import exp

        if self.observed.made_here(e.schema, e.table, name):
            return Impact()
        column = self._column(e, name)
        if column is None:
            return Impact()
        nulls = self._count(exp.select(exp.Count(this=exp.Star())).from_(self._table(e))
                            .where(exp.column(column, quoted=True).is_(exp.null())), e)
        return Impact(nulls, f"{nulls} NULL(s) fail NOT NULL" if nulls else "")

    def _duplicates(self, e: Effect) -> Impact:
        from sqlglot import exp

        names = [n.strip() for n in e.detail.split(",") if n.strip()]
        if not names or self.observed.made_here(e.schema, e.table):
            return Impact()
        columns = [self._column(e, n) for n in names]
        if None in columns:
            return Impact()
        keys = [exp.column(c, quoted=True) for c in columns]
        groups = (exp.select(*keys).from_(self._table(e))
                  .where(exp.and_(*(k.copy().is_(exp.null()).not_() for k in keys)))
                  .group_by(*(k.copy() for k in keys))
                  .having(exp.GT(this=exp.Count(this=exp.Star()),
                                 expression=exp.Literal.number(1))))
        dups = self._count(exp.select(exp.Count(this=exp.Star())).from_(groups.subquery("d")), e)
        return Impact(dups, f"{dups} duplicated value(s): the constraint would fail" if dups
                      else "")

    def _drop_schema(self, e: Effect) -> Impact:
        if "cascade" not in e.options:
            return Impact(text="fails if the schema is not empty")
        rows = 0
        for table in sa.inspect(self.connection).get_table_names(schema=e.schema):
            rows += self._rows(Effect("drop_table", table, e.schema)) or 0
        return self._loss(rows, "row(s) dropped with the schema", e)

    def _drop_type(self, e: Effect) -> Impact:
        from sqlglot import exp

        values = 0
        for schema, table, column in self.backend.columns_of_type(self.connection, e.name,
                                                                   e.schema):
            target = Effect("drop_column", table, schema, name=column)
            query = exp.select(exp.Count(this=exp.column(column, quoted=True))).from_(
                self._table(target))
            values += self._count(query, target)
        return self._loss(values, "non-null value(s) dropped with the type's columns", e)

    def _unknown(self, e: Effect) -> Impact:
        text = e.source if isinstance(e.source, str) else ""
        names = tables_named(text, sa.inspect(self.connection).get_table_names()) if text else []
        held = [(n, self._rows(Effect("drop_table", n))) for n in names]
        held = [(n, rows) for n, rows in held if rows]
        if held:
            where = ", ".join(f"{n} ({rows} row(s))" for n, rows in held)
            return Impact(None, f"{e.detail}: it can reach {where}", True, judged=False)
        return Impact(None, f"{e.detail}: it reaches no table that holds rows", judged=False)

    # ------------------------------------------------------------ measuring

    def _copied(self, e: Effect, copy: Effect) -> list[tuple[Effect, Impact]]:
        """What dropping a table whose rows were copied first loses: the columns the copy
        left out, the values its casts change, the rows its WHERE left behind."""
        from sqlglot import exp

        select = copy.source
        carried: dict[str, Any] = {}
        for expression in select.expressions:
            value = expression.this if isinstance(expression, exp.Alias) else expression
            columns = list(value.find_all(exp.Column))
            if len(columns) == 1:
                carried[columns[0].name.lower()] = value
        found = []
        for column in self._columns(e):
            value = carried.get(column.lower())
            if value is None:
                count = self._count(exp.select(exp.Count(this=exp.column(column, quoted=True)))
                                    .from_(self._table(e)), e)
                lost = replace(e, kind="drop_column", name=column)
                found.append((lost, self._loss(count, "non-null value(s) dropped", lost)))
            elif isinstance(value, exp.Cast):
                new_type = value.to.sql(self.dialect)
                count = self._altered(e, column, new_type)
                changed = replace(e, kind="alter_type", name=column, detail=new_type)
                found.append((changed, self._loss(count, f"value(s) changed by the new type "
                                                  f"{new_type}", changed)))
        where = select.args.get("where")
        if where is not None:
            left = self._count(exp.select(exp.Count(this=exp.Star())).from_(self._table(e))
                               .where(exp.not_(where.this.copy())), e)
            found.append((replace(e, kind="delete"), self._loss(left, "row(s) not copied", e)))
        kept = Impact(0, f"its rows were copied to {copy.table} first")
        return [(e, kept)] + [(lost, impact) for lost, impact in found if impact.count]

    def _altered(self, e: Effect, column: str, new_type: str, using: Any = None) -> int:
        """Non-null values the new type would change (or refuse): an integer that does not
        fit, or a value that reads differently once cast."""
        from sqlglot import exp

        try:
            target = exp.DataType.build(new_type, dialect=self.dialect)
        except Exception:  # noqa: BLE001 - sqlglot knows no such type: a user-defined one
            target = exp.DataType.build(new_type, dialect=self.dialect, udt=True)
        col = exp.column(column, quoted=True)
        value = using.copy() if using is not None else col.copy()
        base = exp.select(exp.Count(this=exp.Star())).from_(self._table(e))
        labels = self._labels(target)
        if labels is not None:  # an enum: the values it no longer has
            as_text = exp.Cast(this=col.copy(), to=exp.DataType.build(self.backend.text_type))
            return self._count(base.where(exp.and_(
                col.copy().is_(exp.null()).not_(),
                exp.Not(this=exp.In(this=as_text, expressions=[exp.Literal.string(v)
                                                                for v in labels])))), e)
        bits = INTEGER_RANGES.get(target.this.name)
        if bits is not None and using is None:
            limit = 2 ** (bits - 1)
            condition = exp.or_(col.copy() >= limit, col.copy() < -limit,
                                exp.NEQ(this=col.copy(), expression=exp.Round(this=col.copy())))
            return self._count(base.where(condition), e)
        changed = exp.NullSafeNEQ(this=exp.Cast(this=value, to=target), expression=col.copy())
        try:
            return self._count(base.where(exp.and_(col.copy().is_(exp.null()).not_(), changed)),
                               e)
        except _Unmeasured:  # no comparison between the two types: compare their text
            as_text = exp.DataType.build(self.backend.text_type)
            changed = exp.NullSafeNEQ(
                this=exp.Cast(this=exp.Cast(this=value.copy(), to=target), to=as_text),
                expression=exp.Cast(this=col.copy(), to=as_text.copy()))
            return self._count(base.where(exp.and_(col.copy().is_(exp.null()).not_(), changed)),
                               e)

    def _labels(self, target: Any) -> list[str] | None:
        """The values of an enum type (inline, or a user-defined type); None otherwise."""
        from sqlglot import exp

        if target.this == exp.DataType.Type.ENUM:
            return [v.name for v in target.expressions]
        if target.this == exp.DataType.Type.USERDEFINED:
            return self.backend.enum_labels(self.connection, target.sql(self.dialect))
        return None

    def _loss(self, count: int | None, words: str, e: Effect) -> Impact:
        if count is None:
            return Impact()
        return Impact(count, self._written(e, f"{count} {words}"), count > 0)

    def _written(self, e: Effect, text: str) -> str:
        """``text``, saying so where a write this reading did not send came first."""
        key = (e.schema, e.table)
        if self.live or key not in self.observed.written:
            return text
        return (f"{text}; counted before the write of statement {self.observed.written[key]}"
                ", which this plan did not run")

    def _table(self, e: Effect, node: Any = None) -> Any:
        """The table in the database: as the statement named it, or by its name before a
        rename this plan did not run."""
        from sqlglot import exp

        if node is None and isinstance(e.node, exp.Table):
            node = e.node
        name = self._name(e)
        if node is not None and name == e.table:
            return node.copy()
        return exp.table_(exp.to_identifier(name, quoted=True),
                          db=exp.to_identifier(e.schema, quoted=True) if e.schema else None)

    def _rows(self, e: Effect) -> int | None:
        """Rows in ``e``'s table; None if there is no such table."""
        from sqlglot import exp

        if self.observed.made_here(e.schema, e.table) and (
                not self.live or not self.observed.holds_dropped_rows(e.schema, e.table)):
            return 0
        try:  # one query; the catalogs are read only when it fails
            return self._count(exp.select(exp.Count(this=exp.Star())).from_(self._table(e)), e)
        except _Unmeasured:
            if not self._exists(e):
                return None
            raise

    def _name(self, e: Effect) -> str:
        """The table's name in the database now."""
        return e.table if self.live else self.observed.renamed.get((e.schema, e.table), e.table)

    def _exists(self, e: Effect) -> bool:
        return sa.inspect(self.connection).has_table(self._name(e), schema=e.schema)

    def _columns(self, e: Effect) -> list[str]:
        inspector = sa.inspect(self.connection)
        return [c["name"] for c in inspector.get_columns(self._name(e), schema=e.schema)]

    def column_type(self, e: Effect) -> str | None:
        """The type a column has now, as the database's dialect writes it."""
        if not self._exists(e):
            return None
        for column in sa.inspect(self.connection).get_columns(self._name(e), schema=e.schema):
            if column["name"].lower() == e.name.lower():
                return str(column["type"].compile(dialect=self.connection.dialect))
        return None

    def _column(self, e: Effect, column: str) -> str | None:
        """The column's exact name in the database, if the table has it."""
        if not self._exists(e):
            return None
        names = self._columns(e)
        if column in names:
            return column
        return next((n for n in names if n.lower() == column.lower()), None)

    def _count(self, query: Any, e: Effect) -> int:
        try:
            with self.backend.measuring(self.connection):
                return int(self.connection.exec_driver_sql(query.sql(self.dialect)).scalar() or 0)
        except SQLAlchemyError as exc:
            raise _Unmeasured(_reason(exc)) from None


class _Unmeasured(Exception):
    def __init__(self, reason: str, reaches_rows: bool = True) -> None:
        super().__init__(reason)
        self.reaches_rows = reaches_rows


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", exc)
    lines = str(orig).strip().splitlines()
    return lines[0][:120] if lines else type(exc).__name__
