"""One migration at a time per database, across kernels and processes.

PostgreSQL: a session advisory lock; MySQL/MariaDB: GET_LOCK; SQLite: an
exclusive lock on a file beside the database. The lock is taken before the
plan is made, so whoever waited finds the work already done.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Connection

from .errors import NbMigrateError

NAME = "nbmigrate:migrations"
KEY = zlib.crc32(NAME.encode())  # the PostgreSQL advisory lock key, stable across versions


@contextmanager
def migration_lock(
    conn: Connection, *, timeout: float, on_wait: Callable[[str], None] | None = None
) -> Iterator[float]:
    """Hold the database's migration lock; yields the seconds spent waiting for it."""
    dialect = conn.dialect.name
    started = time.perf_counter()
    if dialect == "postgresql":
        acquire = _postgres(conn, timeout, on_wait)
    elif dialect in ("mysql", "mariadb"):
        acquire = _mysql(conn, timeout, on_wait)
    elif dialect == "sqlite":
        acquire = _sqlite(conn, timeout, on_wait)
    else:
        acquire = _nothing()
    with acquire:
        if conn.in_transaction():
            conn.commit()  # Alembic must begin its own transactions
        yield time.perf_counter() - started


def _waiting(on_wait: Callable[[str], None] | None, timeout: float) -> None:
    if on_wait is not None:
        on_wait(f"another migration of this database is running: waiting up to {timeout:.0f} s")


def _timed_out(timeout: float) -> NbMigrateError:
    return NbMigrateError(
        f"another migration of this database held its lock for over {timeout:.0f} s; "
        "nothing was changed: try again when it has finished"
    )


@contextmanager
def _postgres(conn: Connection, timeout: float, on_wait) -> Iterator[None]:
    got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({KEY})").scalar()
    if not got:
        _waiting(on_wait, timeout)
        deadline = time.monotonic() + timeout
        while not got:
            if time.monotonic() > deadline:
                conn.rollback()
                raise _timed_out(timeout)
            time.sleep(0.1)
            got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({KEY})").scalar()
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()  # a failed statement must not keep the unlock from running
        conn.exec_driver_sql(f"SELECT pg_advisory_unlock({KEY})")
        conn.commit()


@contextmanager
def _mysql(conn: Connection, timeout: float, on_wait) -> Iterator[None]:
    got = conn.exec_driver_sql(f"SELECT GET_LOCK('{NAME}', 0)").scalar()
    if got != 1:
        _waiting(on_wait, timeout)
        got = conn.exec_driver_sql(f"SELECT GET_LOCK('{NAME}', {int(timeout)})").scalar()
        if got != 1:
            raise _timed_out(timeout)
    try:
        yield
    finally:
        conn.exec_driver_sql(f"SELECT RELEASE_LOCK('{NAME}')")
        conn.commit()


@contextmanager
def _sqlite(conn: Connection, timeout: float, on_wait) -> Iterator[None]:
    database = conn.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # one process only can see an in-memory database
        return
    try:
        import fcntl
    except ImportError:  # Windows: no flock; SQLite's own locking still applies
        yield
        return

    path = Path(database).with_name(Path(database).name + ".nbmigrate-lock")
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _waiting(on_wait, timeout)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise _timed_out(timeout) from None
                    time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
