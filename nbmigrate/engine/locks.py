"""One migration at a time per database, across kernels and processes.

Each backend holds its dialect's lock (a PostgreSQL advisory lock, MySQL/MariaDB
``GET_LOCK``, a lock file beside a SQLite database); this module takes it and
gives the waiting and the timeout their words. The lock is taken before the plan
is made, so whoever waited finds the work already done.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from .errors import NbMigrateError

if TYPE_CHECKING:
    from .backends import Backend

NAME = "nbmigrate:migrations"
KEY = zlib.crc32(NAME.encode())  # the PostgreSQL advisory lock key, stable across versions


@contextmanager
def migration_lock(conn: Connection, backend: Backend, *, timeout: float,
                   on_wait: Callable[[str], None] | None = None) -> Iterator[float]:
    """Hold the database's migration lock; yields the seconds spent waiting for it."""
    started = time.perf_counter()
    with backend.lock(conn, timeout, on_wait):
        if conn.in_transaction():
            conn.commit()  # Alembic must begin its own transactions
        yield time.perf_counter() - started


def waiting(on_wait: Callable[[str], None] | None, timeout: float) -> None:
    """Say that the lock is taken and how long we wait for it."""
    if on_wait is not None:
        on_wait(f"another migration of this database is running: waiting up to {timeout:.0f} s")


def timed_out(timeout: float) -> NbMigrateError:
    return NbMigrateError(
        f"another migration of this database held its lock for over {timeout:.0f} s; "
        "nothing was changed: try again when it has finished"
    )


def poll(take: Callable[[], bool], timeout: float, *, interval: float,
         giving_up: Callable[[], None] | None = None) -> None:
    """Call ``take`` every ``interval`` seconds until it returns True, or give up after
    ``timeout`` seconds (``giving_up`` runs first) with one line."""
    deadline = time.monotonic() + timeout
    while not take():
        if time.monotonic() > deadline:
            if giving_up is not None:
                giving_up()
            raise timed_out(timeout) from None
        time.sleep(interval)
