"""What a SQL statement does, read by a real SQL parser (sqlglot) for its dialect.

The guard sees every statement a migration sends and asks this module what each
one does: drop a table, delete rows, drop a column, change a column's type,
copy a table into another, create something, only read, or something the parser
cannot judge. Comments, several statements in one string, data-modifying CTEs
and PL/pgSQL ``DO`` blocks are read as what they are, never by a first word.
Bound parameters are written into the text first, so the parser sees values.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from .sql_text import inline

# A statement without any of these words cannot lose data that is there (CREATE TABLE,
# an INSERT of values, a plain UPDATE, a SELECT): the guard does not parse it as it runs.
# An INSERT ... SELECT is read too: it may copy a table that is dropped next.
RISKY = re.compile(r"\b(drop|delete|truncate|alter|merge|replace|rename|do|call|exec|"
                   r"execute|unique)\b|\binsert\b[\s\S]*\bselect\b", re.IGNORECASE)
# nbmigrate's and Alembic's own bookkeeping, which the guard leaves alone
TRANSACTION = re.compile(r"^\s*(savepoint|release|rollback|begin|commit|set\s+local|start)\b",
                         re.IGNORECASE)
LOSSES = frozenset({"drop_table", "truncate", "delete", "drop_column", "alter_type",
                    "drop_schema", "drop_type", "replace_table"})
# what would fail on the data there (NULLs under NOT NULL, duplicates under UNIQUE): counted
CHECKS = frozenset({"set_not_null", "add_constraint", "create_index"})
DIALECTS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "sqlite": "sqlite"}
SQLALCHEMY_NAMES = {"postgres": "postgresql"}  # sqlglot's names back to SQLAlchemy's


@dataclass(frozen=True)
class Effect:
    """One thing a statement does. ``node`` is its parsed table and ``source`` the part
    of the statement the queries that measure it need (a DELETE, a column's new type, a
    copy's SELECT, the text of what cannot be judged)."""

    kind: str
    table: str = ""
    schema: str | None = None
    name: str = ""  # the column, index, view, function... it is about
    options: frozenset[str] = frozenset()  # if_exists, cascade, concurrently, not_valid...
    detail: str = ""  # a new type, a reason it cannot be judged, where a table is copied
    node: Any = field(default=None, compare=False, repr=False)
    source: Any = field(default=None, compare=False, repr=False)

    @property
    def loses(self) -> bool:
        """Whether this can lose data that exists (measured before it runs)."""
        return self.kind in LOSSES

    @property
    def target(self) -> str:
        return ".".join(p for p in (self.table, self.name) if p)


def quiet() -> None:
    """sqlglot logs a warning for each statement it reads as a bare command: those are
    ours to judge, not the notebook's to see."""
    logging.getLogger("sqlglot").setLevel(logging.ERROR)


def classify(sql: str, dialect: str, parameters: Any = None, paramstyle: str = "") -> list[Effect]:
    """The effects of ``sql`` (one or several statements) on the ``dialect`` database."""
    import sqlglot
    from sqlglot.errors import SqlglotError

    quiet()
    if parameters:
        sql = inline(sql, parameters, paramstyle)
    read = DIALECTS.get(dialect, dialect)
    try:
        trees = sqlglot.parse(sql, read=read)
    except (SqlglotError, ValueError, RecursionError) as exc:
        return [Effect("unknown", detail=f"the parser cannot read it ({_first_line(exc)})",
                       source=sql)]
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    out: list[Effect] = []
    for tree in trees:
        if tree is not None:  # names as the database stores them (PostgreSQL folds to lower)
            out.extend(_effects(normalize_identifiers(tree, dialect=read), read))
    return out


_NAME = r"((?:[\w$]+|\"[^\"]+\"|`[^`]+`)(?:\.(?:[\w$]+|\"[^\"]+\"|`[^`]+`))?)"
_COLUMNS = r"\(\s*[\w$\"`.]+(?:\s*,\s*[\w$\"`.]+)*\s*\)"
_PLAIN = [  # statements too common to parse one by one, and plain enough not to need it
    ("create_table", re.compile(rf"^\s*create\s+table\s+(?:if\s+not\s+exists\s+)?{_NAME}",
                                re.IGNORECASE)),
    ("insert", re.compile(rf"^\s*insert\s+into\s+{_NAME}", re.IGNORECASE)),
    ("update", re.compile(rf"^\s*update\s+{_NAME}\s+set\b", re.IGNORECASE)),
]
# The forms Alembic's batch mode and plain table changes send, read without a parser
# (tests/test_guard_fuzzed.py checks that they read as the parser reads them).
_DROP = re.compile(rf"^\s*drop\s+table\s+(if\s+exists\s+)?{_NAME}\s*;?\s*$", re.IGNORECASE)
_RENAME = re.compile(rf"^\s*alter\s+table\s+{_NAME}\s+rename\s+to\s+{_NAME}\s*;?\s*$",
                     re.IGNORECASE)
_COPY = re.compile(rf"^\s*insert\s+into\s+{_NAME}\s*{_COLUMNS}\s*select\s+[\w$\"`.,\s]+"
                   rf"\s+from\s+{_NAME}\s*;?\s*$", re.IGNORECASE)
_NEW_TABLE = re.compile(rf"^\s*create\s+table\s+{_NAME}\s*\(", re.IGNORECASE)
_INDEX = re.compile(rf"^\s*create\s+(unique\s+)?index\s+{_NAME}\s+on\s+{_NAME}\s*"
                    rf"({_COLUMNS})\s*;?\s*$", re.IGNORECASE)


def plain(sql: str, dialect: str = "") -> list[Effect] | None:
    """The effect of a plain statement read without parsing it: CREATE TABLE, INSERT or
    UPDATE; and, given the ``dialect`` (for how it folds names), DROP TABLE, a table
    RENAME, a batch copy (INSERT ... SELECT columns FROM table) and CREATE INDEX. None for
    anything else: that is parsed."""
    if ";" in sql.strip().rstrip(";"):
        return None
    if dialect:
        found = _plain_ddl(sql, DIALECTS.get(dialect, dialect))
        if found is not None:
            return found
    if RISKY.search(sql):
        return None
    for kind, pattern in _PLAIN:
        match = pattern.match(sql)
        if match:
            *schema, table = [p.strip('"`') for p in match.group(1).split(".")]
            return [Effect(kind, table, schema[0] if schema else None)]
    return None


def _plain_ddl(sql: str, read: str) -> list[Effect] | None:
    if "`" in sql and read != "mysql":
        return None  # not a name there: the parser says what it is
    try:
        return _plain_forms(sql, read)
    except _Keyword:
        return None  # a keyword where a name should be: the parser says what it is


class _Keyword(Exception):
    """An unquoted keyword where a name should be."""


def _plain_forms(sql: str, read: str) -> list[Effect] | None:

    def name(text: str) -> tuple[str | None, str]:
        *schema, table = [_identifier(part, read) for part in _parts(text)]
        return (schema[-1] if schema else None), table

    if match := _DROP.match(sql):
        schema, table = name(match.group(2))
        return [Effect("drop_table", table, schema,
                       options=frozenset({"if_exists"}) if match.group(1) else frozenset())]
    if match := _RENAME.match(sql):
        schema, table = name(match.group(1))
        return [Effect("rename_table", table, schema, detail=name(match.group(2))[1])]
    if match := _COPY.match(sql):
        listed = re.sub(r"\bfrom\s*$", "", sql[match.end(1):match.start(2)].rstrip(),
                        flags=re.IGNORECASE)
        for part in _parts(re.sub(r"\)\s*select\b", ",", listed, count=1, flags=re.IGNORECASE)):
            _identifier(part, read)  # each column a name, not a keyword
        schema, table = name(match.group(1))
        return [Effect("copy", table, schema, detail=name(match.group(2))[1],
                       source=_selected(listed))]
    if (match := _NEW_TABLE.match(sql)) and not re.search(r"\bselect\b", sql, re.IGNORECASE):
        schema, table = name(match.group(1))
        return [Effect("create_table", table, schema)]
    if match := _INDEX.match(sql):
        schema, table = name(match.group(3))
        columns = ", ".join(_identifier(c.strip().split(".")[-1], read)
                            for c in match.group(4).strip("() ").split(","))
        return [Effect("create_index", table, schema, _identifier(match.group(2), read),
                       frozenset({"unique"}) if match.group(1) else frozenset(), columns)]
    return None


def _selected(listed: str) -> Any:
    """The SELECT of a batch copy, as measuring it needs: the columns it carries."""
    from sqlglot import exp

    chosen = re.split(r"\)\s*select\b", listed, maxsplit=1, flags=re.IGNORECASE)[1]
    return exp.select(*(exp.column(_parts(item)[-1].strip('"`'))
                        for item in chosen.split(",")))


def _parts(name: str) -> list[str]:
    """The dotted parts of a name, each with its quotes."""
    return re.findall(r'"[^"]+"|`[^`]+`|[\w$]+', name)


def _identifier(text: str, read: str) -> str:
    """A name as the database stores it (as sqlglot normalises it for ``read``)."""
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect

    quoted = text[:1] in "\"`"
    dialect = Dialect.get_or_raise(read)
    if not quoted and text.upper() in dialect.tokenizer_class.KEYWORDS:
        raise _Keyword(text)
    identifier = exp.to_identifier(text[1:-1] if quoted else text, quoted=quoted)
    return dialect.normalize_identifier(identifier).name


def _effects(tree: Any, dialect: str) -> list[Effect]:
    from sqlglot import exp

    if isinstance(tree, exp.Command):
        return _command(tree, dialect)
    if isinstance(tree, exp.Drop):
        return _drop(tree)
    if isinstance(tree, exp.TruncateTable):
        options = frozenset({"cascade"}) if (tree.args.get("option") or "").upper() == \
            "CASCADE" else frozenset()
        return [_on(t, "truncate", options=options) for t in tree.expressions]
    if isinstance(tree, exp.Alter):
        return _alter(tree, dialect)
    if isinstance(tree, exp.Create):
        return [_create(tree)]
    found = []  # a DELETE, UPDATE or INSERT anywhere: top level, or in a CTE
    for node in tree.find_all(exp.Delete, exp.Update, exp.Insert, exp.Merge):
        found.append(_write(node))
    if found:
        return found
    return [Effect("read" if isinstance(tree, (exp.Select, exp.Union, exp.Show, exp.Pragma,
                                               exp.Set, exp.Transaction, exp.Commit,
                                               exp.Rollback, exp.Comment, exp.Describe,
                                               exp.Use))
                   else "other", detail=type(tree).__name__.lower())]


def _on(table: Any, kind: str, source: Any = None, **kw: Any) -> Effect:
    """An effect on a parsed table."""
    return Effect(kind, table.name, table.db or None, node=table, source=source, **kw)


def _drop(tree: Any) -> list[Effect]:
    kind = (tree.args.get("kind") or "").upper()
    options = frozenset(k for k in ("exists", "cascade", "concurrently") if tree.args.get(k))
    options = frozenset("if_exists" if o == "exists" else o for o in options)
    tables = tree.args.get("tables") or ([tree.this] if tree.this is not None else [])
    if kind == "TABLE":
        return [Effect("drop_table", t.name, t.db or None, options=options, node=t)
                for t in tables]
    if kind == "SCHEMA":
        return [Effect("drop_schema", "", t.db or t.name, options=options, node=t)
                for t in tables]
    if kind in ("TYPE", "DOMAIN"):
        return [Effect("drop_type" if "cascade" in options else "drop_object", "", t.db or None,
                       name=t.name, options=options, detail=kind.lower(), node=t)
                for t in tables]
    return [Effect("drop_object", "", t.db or None, name=t.name, options=options,
                   detail=kind.lower() or "object", node=t) for t in tables]


def _alter(tree: Any, dialect: str) -> list[Effect]:
    from sqlglot import exp

    if (tree.args.get("kind") or "").upper() != "TABLE" or tree.this is None:
        return [Effect("alter_object", detail=(tree.args.get("kind") or "").lower())]
    table = tree.this
    out = []
    for action in tree.args.get("actions") or []:
        if isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "COLUMN":
            for column in action.args.get("tables") or []:
                options = frozenset(o for o, k in (("if_exists", "exists"), ("cascade", "cascade"))
                                    if action.args.get(k))
                out.append(_on(table, "drop_column", name=column.name, options=options))
        elif isinstance(action, exp.Drop):
            out.append(_on(table, "drop_constraint",
                           name=" ".join(t.name for t in action.args.get("tables") or [])))
        elif isinstance(action, exp.AlterColumn):
            out.append(_alter_column(table, action, dialect))
        elif isinstance(action, exp.ModifyColumn):  # MySQL MODIFY / CHANGE
            out.append(_modify(table, action, dialect))
        elif isinstance(action, exp.ColumnDef):
            out.append(_on(table, "add_column", name=action.name,
                           options=_column_options(action), detail=_sql(action.kind, dialect)))
        elif isinstance(action, exp.AddConstraint):
            out.append(_on(table, "add_constraint", name=_constraint_name(action),
                           options=_constraint_options(action, dialect),
                           detail=", ".join(_unique_columns(action))))
        elif isinstance(action, exp.RenameColumn):
            out.append(_on(table, "rename_column", name=action.this.name,
                           detail=action.args["to"].name))
        elif isinstance(action, exp.AlterRename):
            out.append(_on(table, "rename_table", detail=action.this.name))
        else:
            out.append(_on(table, "alter_table", detail=type(action).__name__.lower()))
    return out or [_on(table, "alter_table")]


def _alter_column(table: Any, action: Any, dialect: str) -> Effect:
    name = action.this.name
    if action.args.get("dtype") is not None:
        using = action.args.get("using")
        return _on(table, "alter_type", action, name=name,
                   options=frozenset({"using"}) if using else frozenset(),
                   detail=_sql(action.args["dtype"], dialect))
    if action.args.get("allow_null") is False:
        return _on(table, "set_not_null", name=name)
    return _on(table, "alter_column", name=name)


def _modify(table: Any, action: Any, dialect: str) -> Effect:
    """MySQL's MODIFY/CHANGE: a new definition, maybe a new name, maybe a new type."""
    column = action.this
    old = action.args.get("rename_from")
    name = old.name if old is not None else column.name
    kind = column.args.get("kind")
    options = frozenset({"rename"}) if old is not None and old.name != column.name else frozenset()
    return _on(table, "alter_type", column, name=name, options=options | _column_options(column),
               detail=_sql(kind, dialect) if kind is not None else "")


def _column_options(column: Any) -> frozenset[str]:
    from sqlglot import exp

    options = set()
    for constraint in column.args.get("constraints") or []:
        kind = constraint.args.get("kind")
        if isinstance(kind, exp.NotNullColumnConstraint) and not kind.args.get("allow_null"):
            options.add("not_null")
        elif isinstance(kind, exp.DefaultColumnConstraint):
            options.add("default")
        elif isinstance(kind, exp.PrimaryKeyColumnConstraint):
            options.add("primary_key")
    return frozenset(options)


def _unique_columns(node: Any) -> list[str]:
    """The columns a UNIQUE constraint or index covers."""
    from sqlglot import exp

    for unique in node.find_all(exp.UniqueColumnConstraint):
        schema = unique.this
        return [i.name for i in (schema.expressions if schema is not None else [])]
    return []


def _constraint_name(action: Any) -> str:
    names = [c.name for c in action.expressions if c.name]
    return ", ".join(names)


def _constraint_options(action: Any, dialect: str) -> frozenset[str]:
    from sqlglot import exp

    options = set()
    for node in action.walk():
        if isinstance(node, exp.ForeignKey):
            options.add("foreign_key")
        elif isinstance(node, (exp.UniqueColumnConstraint,)):
            options.add("unique")
        elif isinstance(node, exp.CheckColumnConstraint):
            options.add("check")
        elif isinstance(node, exp.PrimaryKey):
            options.add("primary_key")
    if "NOT VALID" in _sql(action, dialect).upper():
        options.add("not_valid")
    return frozenset(options)


def _create(tree: Any) -> Effect:
    from sqlglot import exp

    kind = (tree.args.get("kind") or "").upper()
    if kind == "INDEX":
        index = tree.this
        table = index.args.get("table")
        options = frozenset(k for k in ("unique", "concurrently") if tree.args.get(k))
        params = index.args.get("params")
        columns = [c.name for c in (params.args.get("columns") or [])] if params else []
        return Effect("create_index", table.name if table is not None else "",
                      (table.db or None) if table is not None else None, name=index.name,
                      options=options, detail=", ".join(c for c in columns if c),
                      node=table)
    if kind == "TABLE":
        table = tree.this if isinstance(tree.this, exp.Table) else tree.this.this
        return _on(table, "create_table")
    return Effect("create_object", name=tree.this.name if tree.this is not None else "",
                  detail=kind.lower())


def _write(node: Any) -> Effect:
    """A DELETE, UPDATE, INSERT or MERGE (anywhere in a statement)."""
    from sqlglot import exp

    if isinstance(node, exp.Merge):
        return Effect("unknown", detail="MERGE may delete rows: not judged", source=node)
    table = node.this
    while table is not None and not isinstance(table, exp.Table):
        table = table.this  # INSERT INTO t (cols) is a Schema around the Table
    if table is None:
        return Effect("unknown", detail=f"{type(node).__name__.upper()} of no table",
                      source=node)
    if isinstance(node, exp.Delete):
        return _on(table, "delete", node)
    if isinstance(node, exp.Update):
        return _on(table, "update", node)
    select = node.args.get("expression")
    if isinstance(select, exp.Select) and select.args.get("from_") is not None:
        sources = [t for t in select.find_all(exp.Table)]
        if len(sources) == 1:  # INSERT INTO a (...) SELECT ... FROM b: b's rows kept in a
            return _on(table, "copy", select, detail=sources[0].name)
    return _on(table, "insert", node)


def _command(tree: Any, dialect: str) -> list[Effect]:
    """Statements sqlglot reads only as a command: look inside those that say what they do."""
    text = tree.sql(dialect)
    head = text.upper().split()
    words = " ".join(head[:3])
    if head[:1] == ["DO"]:
        from .do_blocks import do_block  # it reads each statement of the body with classify

        return do_block(text, dialect)
    if words.startswith(("CREATE FUNCTION", "CREATE OR REPLACE", "CREATE PROCEDURE",
                         "CREATE TRIGGER", "CREATE AGGREGATE", "CREATE RULE")):
        return [Effect("create_object", detail=" ".join(head[1:3]).lower())]
    if words.startswith("ALTER TYPE") and "ADD VALUE" in text.upper():
        return [Effect("alter_object", detail="enum value added")]
    if words.startswith(("DROP DOMAIN", "DROP EXTENSION", "DROP OPERATOR", "DROP POLICY",
                         "DROP RULE", "DROP PUBLICATION", "DROP CAST")):
        cascade = "CASCADE" in head
        kind = "drop_type" if cascade and head[1] == "DOMAIN" else "drop_object"
        name = text.split()[2] if len(text.split()) > 2 else ""
        return [Effect(kind, name=name.strip('"`'), detail=head[1].lower(),
                       options=frozenset({"cascade"}) if cascade else frozenset())]
    if head[:2] == ["REPLACE", "INTO"] and len(text.split()) > 2:  # MySQL: delete, then insert
        return [Effect("replace", text.split()[2].split("(")[0].strip("`"))]
    if head[:2] == ["RENAME", "TABLE"] and len(text.split()) >= 5:  # MySQL
        parts = text.split()
        return [Effect("rename_table", parts[2].strip("`"), detail=parts[4].strip("`;"))]
    if head[:1] in (["ANALYZE"], ["VACUUM"], ["REINDEX"], ["CLUSTER"], ["GRANT"], ["REVOKE"],
                    ["LOCK"], ["NOTIFY"], ["LISTEN"], ["SET"], ["RESET"], ["DISCARD"]):
        return [Effect("other", detail=head[0].lower())]
    return [Effect("unknown", detail=f"{' '.join(text.split()[:2])} is not judged", source=text)]


def _sql(node: Any, dialect: str) -> str:
    return node.sql(dialect) if node is not None else ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__
