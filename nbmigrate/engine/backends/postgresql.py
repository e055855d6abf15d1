"""PostgreSQL: transactional DDL, advisory locks, savepoints, and its own lint rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from ..locks import KEY, poll, waiting
from ..secrets import redact
from ..shapes import ShapeReader
from ..statements import Effect
from ..text import clip
from .base import Backend
from .pipelined import Pipeline

# Every catalog PostgreSQL reflection (SQLAlchemy's and Alembic's) reads, and those its
# deparsed definitions name (pg_get_expr, pg_get_indexdef, pg_get_constraintdef,
# format_type). The tests check the first part against the SQL reflection actually
# runs. pg_index's flags are hashed too: old servers flip them in place (without a
# new row version) during CREATE INDEX CONCURRENTLY.
PG_CATALOGS = {
    "pg_namespace": "", "pg_class": "", "pg_attribute": "", "pg_attrdef": "",
    "pg_constraint": "", "pg_index": "indisvalid, indisready, indislive",
    "pg_description": "", "pg_type": "", "pg_enum": "", "pg_sequence": "",
    "pg_inherits": "", "pg_partitioned_table": "", "pg_depend": "", "pg_collation": "",
    "pg_opclass": "", "pg_am": "", "pg_tablespace": "", "pg_proc": "", "pg_operator": "",
    "pg_ts_config": "", "pg_ts_dict": "",
}


def _signature_sql() -> str:
    parts = [
        "current_database()",
        "(SELECT oid::text FROM pg_catalog.pg_database WHERE datname = current_database())",
        "current_user::text",
        "current_schemas(true)::text",
        # role names can appear in deparsed expressions; pg_authid is not readable by all
        "(SELECT md5(string_agg(oid::text || rolname, ',' ORDER BY oid))"
        " FROM pg_catalog.pg_roles)",
    ]
    for catalog, flags in PG_CATALOGS.items():
        row = "xmin::text" + "".join(f" || ':' || {flag}::text" for flag in
                                     filter(None, (f.strip() for f in flags.split(","))))
        parts.append(f"(SELECT md5(string_agg({row}, ',' ORDER BY {row}))"
                     f" FROM pg_catalog.{catalog})")
    return "SELECT " + ",\n       ".join(parts)


SIGNATURE = _signature_sql()

# the tables whose foreign keys reach a table, at any depth (TRUNCATE ... CASCADE)
REFERENCING = """
WITH RECURSIVE refs(oid) AS (
    SELECT conrelid FROM pg_constraint WHERE contype = 'f' AND confrelid = %(name)s::regclass
  UNION
    SELECT c.conrelid FROM pg_constraint c JOIN refs r ON c.confrelid = r.oid
    WHERE c.contype = 'f')
SELECT n.nspname, k.relname FROM refs JOIN pg_class k ON k.oid = refs.oid
JOIN pg_namespace n ON n.oid = k.relnamespace WHERE refs.oid <> %(name)s::regclass
"""
# the table columns of a type or domain (DROP TYPE ... CASCADE drops them)
COLUMNS_OF_TYPE = """
SELECT n.nspname, c.relname, a.attname FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid OR t.oid = (SELECT typelem FROM pg_type WHERE
    oid = a.atttypid AND typelem <> 0)
JOIN pg_namespace tn ON tn.oid = t.typnamespace
WHERE t.typname = %(name)s AND (%(schema)s::text IS NULL OR tn.nspname = %(schema)s)
  AND a.attnum > 0 AND NOT a.attisdropped
"""


# the oldest session holding a lock on a table, and what it is doing
LOCK_HOLDER = """
SELECT a.pid, coalesce(a.state, ''),
       extract(epoch FROM clock_timestamp() - coalesce(a.xact_start, a.query_start))::int,
       left(coalesce(a.query, ''), 2000)
FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.granted AND l.relation = to_regclass(%(table)s) AND l.pid <> pg_backend_pid()
ORDER BY a.xact_start NULLS LAST LIMIT 1
"""
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout, and of NOWAIT


class PostgreSQL(Backend):
    dialects = ("postgresql",)
    savepoints = True
    bounds_lock_waits = True
    statements_together = True
    scratch_settings = ("SET synchronous_commit = off",)

    @contextmanager
    def lock(self, conn: Connection, timeout: float,
             on_wait: Callable[[str], None] | None) -> Iterator[None]:
        """A session advisory lock, released even after a failed statement."""

        def take() -> bool:
            return bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({KEY})").scalar())

        if not take():
            waiting(on_wait, timeout)
            poll(take, timeout, interval=0.1, giving_up=conn.rollback)
        try:
            yield
        finally:
            if conn.in_transaction():
                conn.rollback()  # a failed statement must not keep the unlock from running
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({KEY})")
            conn.commit()

    def schema_signature(self, conn: Connection) -> tuple | None:
        """A hash of the ``xmin`` (the transaction that wrote the row) of every row of
        every catalog reflection reads: DDL writes catalog rows, so the hash moves and
        never comes back."""
        if (conn.dialect.server_version_info or (0,)) < (10,):
            return None
        return tuple(conn.exec_driver_sql(SIGNATURE).one())

    @contextmanager
    def measuring(self, conn: Connection) -> Iterator[None]:
        conn.exec_driver_sql("SAVEPOINT nbmigrate_measure")
        try:
            yield
        except BaseException:
            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT nbmigrate_measure")
            raise
        conn.exec_driver_sql("RELEASE SAVEPOINT nbmigrate_measure")

    def rehearse(self, conn: Connection, lock_timeout: float) -> None:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(lock_timeout * 1000)}ms'")

    def pipeline(self, conn: Connection) -> Pipeline | None:
        return Pipeline(conn) if Pipeline.suits(conn) else None

    def bound_lock_waits(self, conn: Connection, seconds: float) -> bool:
        conn.exec_driver_sql(f"SET lock_timeout = '{max(1, round(seconds * 1000))}ms'")
        return False  # a timed-out statement aborts the transaction: its revision runs again

    def unbound_lock_waits(self, conn: Connection) -> None:
        conn.exec_driver_sql("RESET lock_timeout")

    def lock_not_available(self, exc: BaseException) -> bool:
        orig = getattr(exc, "orig", None) or exc
        return LOCK_NOT_AVAILABLE in (getattr(orig, "sqlstate", None),
                                      getattr(orig, "pgcode", None))

    def lock_holder(self, conn: Connection, table: str) -> str:
        row = conn.exec_driver_sql(LOCK_HOLDER, {"table": table}).first()
        if row is None:
            return ""
        pid, state, seconds, query = row
        doing = f"{state} for {seconds} s" if state and seconds is not None else state
        query = clip(" ".join(redact(query).split()), 60)  # masked, then cut
        return ", ".join(p for p in (f"pid {pid}", doing, query and f"last ran {query!r}") if p)

    def referencing(self, conn: Connection, table: str, schema: str | None
                    ) -> list[tuple[str | None, str]]:
        rows = conn.exec_driver_sql(REFERENCING, {"name": f"{schema}.{table}" if schema
                                                  else table}).all()
        return [(s, t) for s, t in rows]

    def columns_of_type(self, conn: Connection, name: str, schema: str | None
                        ) -> list[tuple[str | None, str, str]]:
        rows = conn.exec_driver_sql(COLUMNS_OF_TYPE, {"name": name, "schema": schema}).all()
        return [tuple(r) for r in rows]

    def lint(self, e: Effect) -> str:
        """squawk's and strong_migrations' rules: locks that block a table in use."""
        if e.kind == "create_index" and "concurrently" not in e.options:
            return ("CREATE INDEX blocks writes to the table while it builds: use "
                    "postgresql_concurrently=True inside op.get_context().autocommit_block()")
        if e.kind == "drop_object" and e.detail == "index" and "concurrently" not in e.options:
            return ("DROP INDEX takes an ACCESS EXCLUSIVE lock: use "
                    "postgresql_concurrently=True inside op.get_context().autocommit_block()")
        if e.kind == "alter_type" and "no_rewrite" not in e.options:
            return ("changing a column's type rewrites the table under an ACCESS EXCLUSIVE "
                    "lock (widening VARCHAR does not): add a new column, backfill, then swap")
        if e.kind == "set_not_null":
            return ("SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock: add CHECK "
                    "(col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL")
        if e.kind == "add_constraint" and {"foreign_key", "check"} & e.options and \
                "not_valid" not in e.options:
            return ("adding the constraint checks every row under a lock: add it NOT VALID "
                    "(postgresql_not_valid=True), then VALIDATE CONSTRAINT in a later revision")
        if e.kind == "add_constraint" and "unique" in e.options:
            return ("adding a unique constraint builds its index under a lock: CREATE UNIQUE "
                    "INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX")
        return super().lint(e)

    def enum_labels(self, conn: Connection, name: str) -> list[str] | None:
        labels = [r[0] for r in conn.exec_driver_sql(
            "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
            "WHERE t.typname = %(n)s ORDER BY e.enumsortorder", {"n": name.strip('"')})]
        return labels or None

    def schema_reader(self) -> ShapeReader:
        return _READER

    def index_table(self, conn: Connection, name: str, schema: str | None) -> str:
        found = conn.exec_driver_sql(
            "SELECT tablename FROM pg_indexes WHERE indexname = %(n)s "
            "AND (%(s)s::text IS NULL OR schemaname = %(s)s)", {"n": name, "s": schema}).first()
        return found[0] if found else ""

    def rewrites(self, old: str, new: str) -> bool:
        """Whether changing a column from ``old`` to ``new`` rewrites the table: not for
        the same type, nor for VARCHAR widened or made TEXT."""
        old, new = _type(old), _type(new)
        if old == new:
            return False
        if old[0] in ("VARCHAR", "CHARACTER VARYING") and new[0] in (
                "VARCHAR", "CHARACTER VARYING", "TEXT"):
            return not (new[0] == "TEXT" or new[1] is None or
                        (old[1] is not None and new[1] >= old[1]))
        return True


def _type(text: str) -> tuple[str, int | None]:
    """A type as (name, length): "VARCHAR(20)" -> ("VARCHAR", 20)."""
    name, _, rest = text.upper().partition("(")
    length = rest.split(")")[0].split(",")[0].strip()
    return name.strip(), int(length) if length.isdigit() else None


# ----------------------------------------------------------------- test's schema reader


_PG_OWN = ("NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = {}::regclass "
           "AND x.objid = {}.oid AND x.deptype = 'e')")  # not an extension's member


class PostgreSQLShape(ShapeReader):
    """pg_catalog, every schema but the system's; what extensions own is left out."""

    head = f"""
WITH ns AS (
  SELECT oid, nspname, CASE WHEN nspname = current_schema() THEN '' ELSE nspname || '.' END
         AS p FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg!_toast%'
        ESCAPE '!' AND nspname NOT LIKE 'pg!_temp!_%' ESCAPE '!'),
rel AS (
  SELECT c.oid, c.relkind, ns.p || c.relname AS name FROM pg_class c
  JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND {_PG_OWN.format("'pg_class'", 'c')}
  {{only}})
"""
    head_name = "c.relname"
    only = "AND {} = ANY(:names)"  # one text for any names (prepared once), on an index
    expanding = False
    sections = (
        ("SELECT 'schema', '', nspname, '' FROM ns WHERE nspname <> 'public'", ""),
        ("""SELECT CASE relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
       WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'table' END, '', name, ''
FROM rel""", "name"),
        ("""SELECT 'column', rel.name, a.attname, format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
       || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
       || CASE a.attidentity WHEN 'a' THEN ' IDENTITY ALWAYS' WHEN 'd' THEN ' IDENTITY'
          ELSE '' END
FROM rel JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE rel.relkind <> 'S'""", "name"),
        ("""SELECT CASE con.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique constraint'
       WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check constraint' ELSE 'constraint' END,
       rel.name, con.conname, pg_get_constraintdef(con.oid)
FROM pg_constraint con JOIN rel ON rel.oid = con.conrelid""", "name"),
        ("""SELECT 'index', rel.name, ic.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN rel ON rel.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                  AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))""", "name"),
        ("""SELECT 'trigger', rel.name, t.tgname, pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN rel ON rel.oid = t.tgrelid WHERE NOT t.tgisinternal""", "name"),
        (f"""SELECT CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain'
       ELSE 'type' END, '', ns.p || t.typname, CASE t.typtype WHEN 'e' THEN
       (SELECT string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) FROM pg_enum e
        WHERE e.enumtypid = t.oid) WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
       ELSE '' END
FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
WHERE (t.typtype IN ('e', 'd', 'r', 'm') OR (t.typtype = 'c' AND
       (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
  AND {_PG_OWN.format("'pg_type'", 't')}""", ""),
        (f"""SELECT 'function', '', ns.p || p.proname || '('
       || pg_get_function_identity_arguments(p.oid) || ')', md5(coalesce(p.prosrc, ''))
FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace WHERE {_PG_OWN.format("'pg_proc'", 'p')}""",
         ""),
        ("SELECT 'extension', '', extname, '' FROM pg_extension WHERE extname <> 'plpgsql'", ""),
    )


_READER = PostgreSQLShape()
