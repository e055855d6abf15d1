"""PostgreSQL: transactional DDL, advisory locks, savepoints, and its own lint rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from alembic.operations import ops
from sqlalchemy.engine import Connection

from ..locks import KEY, poll, waiting
from .base import Backend

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


class PostgreSQL(Backend):
    dialects = ("postgresql",)
    savepoints = True
    statements_together = True

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

    def lint(self, op: Any) -> str:
        """squawk's and strong_migrations' rules: locks that block a table in use."""
        kw = getattr(op, "kw", {}) or {}
        if isinstance(op, ops.CreateIndexOp) and not kw.get("postgresql_concurrently"):
            return ("CREATE INDEX blocks writes to the table while it builds: use "
                    "postgresql_concurrently=True inside op.get_context().autocommit_block()")
        if isinstance(op, ops.DropIndexOp) and not kw.get("postgresql_concurrently"):
            return ("DROP INDEX takes an ACCESS EXCLUSIVE lock: use "
                    "postgresql_concurrently=True inside op.get_context().autocommit_block()")
        if isinstance(op, ops.AlterColumnOp) and op.modify_type is not None:
            return ("changing a column's type rewrites the table under an ACCESS EXCLUSIVE "
                    "lock (widening VARCHAR does not): add a new column, backfill, then swap")
        if isinstance(op, ops.AlterColumnOp) and op.modify_nullable is False:
            return ("SET NOT NULL scans the table under an ACCESS EXCLUSIVE lock: add CHECK "
                    "(col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT, then SET NOT NULL")
        if isinstance(op, (ops.CreateForeignKeyOp, ops.CreateCheckConstraintOp)) and not \
                kw.get("postgresql_not_valid"):
            return ("adding the constraint checks every row under a lock: add it NOT VALID "
                    "(postgresql_not_valid=True), then VALIDATE CONSTRAINT in a later revision")
        if isinstance(op, ops.CreateUniqueConstraintOp):
            return ("adding a unique constraint builds its index under a lock: CREATE UNIQUE "
                    "INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX")
        return super().lint(op)
