"""SQLite: a file, batch mode for column changes, transactions that nbmigrate opens itself."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..locks import poll, waiting
from .base import Backend


class SQLite(Backend):
    dialects = ("sqlite",)
    batch = True
    batch_note = "SQLite: batch mode copies the table to do this"
    savepoints = True
    file_based = True

    def prepare(self, engine: Engine) -> None:
        # pysqlite only opens a transaction before DML, so CREATE/ALTER would run in
        # autocommit and a failed migration could not be rolled back. SQLAlchemy's
        # documented recipe: let SQLAlchemy emit BEGIN itself.
        if engine.dialect.driver == "pysqlite":
            event.listen(engine, "connect", _no_implicit_transactions)
            event.listen(engine, "begin", _begin)

    def transactional_ddl(self, engine: Engine) -> bool:
        return event.contains(engine, "begin", _begin)

    def environment_options(self, engine: Engine) -> dict[str, Any]:
        return {"transactional_ddl": True} if self.transactional_ddl(engine) else {}

    @contextmanager
    def lock(self, conn: Connection, timeout: float,
             on_wait: Callable[[str], None] | None) -> Iterator[None]:
        """An exclusive lock on a file beside the database (one process only can see an
        in-memory database; Windows has no flock, and SQLite's own locking applies)."""
        database = conn.engine.url.database
        try:
            import fcntl
        except ImportError:
            fcntl = None  # type: ignore[assignment]
        if fcntl is None or not database or database == ":memory:" \
                or database.startswith("file:"):
            yield
            return
        path = Path(database).with_name(Path(database).name + ".nbmigrate-lock")
        with open(path, "a+") as handle:

            def take() -> bool:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return False
                return True

            if not take():
                waiting(on_wait, timeout)
                poll(take, timeout, interval=0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

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

    def index_table(self, conn: Connection, name: str, schema: str | None) -> str:
        found = conn.exec_driver_sql(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?",
            (name,)).first()
        return found[0] if found else ""


def _rows(conn: Connection, table: str) -> list:
    return conn.exec_driver_sql(
        f"SELECT type, name, tbl_name, sql FROM {table} ORDER BY type, name").all()


def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")
