"""SQLite: a file, batch mode for column changes, transactions that nbmigrate opens itself."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..locks import file_lock
from ..shapes import ShapeReader
from .base import Backend


class SQLite(Backend):
    dialects = ("sqlite",)
    batch = True
    batch_note = "SQLite: batch mode copies the table to do this"
    savepoints = True
    file_based = True
    scratch_settings = ("PRAGMA synchronous = OFF",)

    def prepare(self, engine: Engine) -> None:
        # pysqlite only opens a transaction before DML, so CREATE/ALTER would run in
        # autocommit and a failed migration could not be rolled back. SQLAlchemy's
        # documented recipe: let SQLAlchemy emit BEGIN itself.
        if engine.dialect.driver == "pysqlite":
            event.listen(engine, "connect", _no_implicit_transactions)
            event.listen(engine, "begin", _begin)

    def adopt(self, conn: Connection) -> None:
        """DDL in real transactions on an env.py's own pysqlite connection too (unless it
        is inside a transaction of its own already)."""
        if self.transactional_ddl(conn.engine) or conn.in_transaction():
            return
        self.prepare(conn.engine)
        if event.contains(conn.engine, "begin", _begin):
            _no_implicit_transactions(conn.connection.dbapi_connection, None)

    def transactional_ddl(self, engine: Engine) -> bool:
        return event.contains(engine, "begin", _begin)

    def environment_options(self, engine: Engine) -> dict[str, Any]:
        return {"transactional_ddl": True} if self.transactional_ddl(engine) else {}

    @contextmanager
    def lock(self, conn: Connection, timeout: float,
             on_wait: Callable[[str], None] | None) -> Iterator[None]:
        """A lock file beside the database file, whatever path, link or URI named it;
        none for an in-memory or temporary database, which only this process sees."""
        path = database_file(conn)
        if not path:
            yield
            return
        with file_lock(os.path.realpath(path) + ".nbmigrate-lock", timeout, on_wait):
            yield

    def schema_signature(self, conn: Connection) -> tuple:
        """``PRAGMA schema_version`` of every attached database (bumped by every schema
        change, from any connection) and a hash of every ``sqlite_master`` row, so that a
        file replaced by another is seen too."""
        digest = hashlib.sha256()
        parts: list[Any] = []
        for _seq, schema, path in conn.exec_driver_sql("PRAGMA database_list").all():
            if schema == "temp":  # listed once something touched it; hashed below either way
                continue
            quoted = '"' + schema.replace('"', '""') + '"'
            version = conn.exec_driver_sql(f"PRAGMA {quoted}.schema_version").scalar()
            parts.append((schema, path, version))
            digest.update(repr((schema, _rows(conn, f"{quoted}.sqlite_master"))).encode())
        # this connection's own temporary tables, which unqualified reflection sees first
        digest.update(repr(("temp", _rows(conn, "sqlite_temp_master"))).encode())
        return (*parts, digest.hexdigest())

    def schema_reader(self) -> ShapeReader:
        return _READER

    def index_table(self, conn: Connection, name: str, schema: str | None) -> str:
        found = conn.exec_driver_sql(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?",
            (name,)).first()
        return found[0] if found else ""


def database_file(conn: Connection) -> str:
    """The file SQLite opened as the ``main`` database ("" for memory or temporary)."""
    ours = not conn.in_transaction()
    rows = conn.exec_driver_sql("PRAGMA database_list").all()
    if ours and conn.in_transaction():
        conn.commit()  # hold nothing of SQLite's own locks while waiting for ours
    return next((file or "" for _seq, name, file in rows if name == "main"), "")


def _rows(conn: Connection, table: str) -> list:
    return conn.exec_driver_sql(
        f"SELECT type, name, tbl_name, sql FROM {table} ORDER BY type, name").all()


def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


# ----------------------------------------------------------------- test's schema reader


_SQLITE_TABLES = ("FROM sqlite_master m, {} WHERE m.type = 'table' "
                  "AND m.name NOT LIKE 'sqlite!_%' ESCAPE '!' {{only}}")
_SQLITE_COLUMNS = "(SELECT group_concat(name, ', ') FROM (SELECT name FROM " \
                  "pragma_index_info(l.name) ORDER BY seqno))"


class SQLiteShape(ShapeReader):
    """sqlite_master and the table-valued pragmas (columns, indexes, foreign keys)."""

    sections = (
        ("SELECT 'table', '', name, '' FROM sqlite_master WHERE type = 'table' "
         "AND name NOT LIKE 'sqlite!_%' ESCAPE '!' {only}", "name"),
        ("SELECT type, CASE type WHEN 'trigger' THEN tbl_name ELSE '' END, name, sql "
         "FROM sqlite_master WHERE type IN ('view', 'trigger') {only}", "tbl_name"),
        ("SELECT 'column', m.name, p.name, upper(p.type) || CASE WHEN p.\"notnull\" "
         "THEN ' NOT NULL' ELSE '' END || coalesce(' DEFAULT ' || trim(p.dflt_value, '()'), "
         "'') || CASE WHEN p.pk THEN ' PRIMARY KEY' ELSE '' END "
         + _SQLITE_TABLES.format("pragma_table_info(m.name) p"), "m.name"),
        ("SELECT CASE l.origin WHEN 'c' THEN 'index' WHEN 'u' THEN 'unique constraint' "
         "ELSE 'primary key' END, m.name, CASE l.origin WHEN 'c' THEN l.name ELSE "
         f"{_SQLITE_COLUMNS} END, {_SQLITE_COLUMNS} || CASE WHEN l.\"unique\" THEN ' UNIQUE' "
         "ELSE '' END " + _SQLITE_TABLES.format("pragma_index_list(m.name) l"), "m.name"),
        ("SELECT 'foreign key', m.name, group_concat(f.\"from\", ', '), f.\"table\" || '(' "
         "|| group_concat(coalesce(f.\"to\", ''), ', ') || ') ON DELETE ' || f.on_delete || "
         "' ON UPDATE ' || f.on_update "
         + _SQLITE_TABLES.format("pragma_foreign_key_list(m.name) f")
         + " GROUP BY m.name, f.id", "m.name"),
    )


_READER = SQLiteShape()
