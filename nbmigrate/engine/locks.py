"""One migration at a time per database, across kernels and processes.

Each backend holds its dialect's lock (a PostgreSQL advisory lock, MySQL/MariaDB
``GET_LOCK`` on a name of the database's own, a lock file beside a SQLite database
file); this module takes it and gives the waiting and the timeout their words. The
lock is taken before the plan is made, so whoever waited finds the work already
done. A lock dies with the process that held it.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
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
    """The error of a wait for the lock that lasted too long."""
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


@contextmanager
def file_lock(path: str, timeout: float,
              on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the file at ``path``, which exists only while it is
    held (a holder that died leaves it, unlocked, to the next one); no lock at all where
    the platform has no ``flock`` (Windows)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    held: list[int] = []

    def take() -> bool:
        while True:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)  # anyone may lock it
            except OSError as exc:
                raise NbMigrateError(f"cannot open the migration lock file {path}: "
                                     f"{exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            if _names(path, fd):
                held.append(fd)
                return True
            os.close(fd)  # its holder removed it as we opened it: take the next one

    if not take():
        waiting(on_wait, timeout)
        poll(take, timeout, interval=0.05)
    try:
        yield
    finally:
        if _names(path, held[0]):  # removed while still locked, so no waiter keeps it
            with suppress(FileNotFoundError):
                os.unlink(path)
        fcntl.flock(held[0], fcntl.LOCK_UN)
        os.close(held[0])


def _names(path: str, fd: int) -> bool:
    """Whether ``path`` is still the file open as ``fd``."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino)
