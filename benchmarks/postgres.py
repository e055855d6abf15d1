"""The PostgreSQL server the benchmarks make databases of their own on.

Every database a run makes is named ``nbmigrate_bench_<pid>_<n>``, made empty from
``template0`` and dropped when it is replaced and when the run ends (on failure and
Ctrl-C too), so that runs, a test suite and other users of the server cannot collide
and no catalog grows from one case to the next. Dropping a database takes no lock per
table, unlike ``DROP SCHEMA ... CASCADE``, which runs out of lock slots past a few
thousand tables.

``NBMIGRATE_BENCH_POSTGRES`` names the server (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); its database, if any, is
only the one connected to for CREATE and DROP DATABASE.
"""

from __future__ import annotations

import itertools
import os
import re

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PREFIX = "nbmigrate_bench_"


def server_url() -> str:
    """The server the benchmarks use (``NBMIGRATE_BENCH_POSTGRES`` or the local one)."""
    return os.environ.get("NBMIGRATE_BENCH_POSTGRES", DEFAULT)


class Server:
    """A PostgreSQL server, and the databases this run made on it."""

    def __init__(self, url: str) -> None:
        self.url: URL = sa.engine.make_url(url)
        self.prefix = f"{PREFIX}{os.getpid()}_"
        self.made: set[str] = set()
        self._numbers = itertools.count(1)
        self._admin: Engine | None = None

    # ------------------------------------------------------------ the server

    def _engine(self, database: str) -> Engine:
        return sa.create_engine(self.url.set(database=database), isolation_level="AUTOCOMMIT",
                                poolclass=sa.pool.NullPool)

    def admin(self) -> Engine:
        """An autocommit engine on the server's maintenance database."""
        if self._admin is None:
            engine = self._engine(self.url.database or "postgres")
            try:
                with engine.connect():
                    pass
            except sa.exc.OperationalError:
                if self.url.database in (None, "postgres"):
                    raise
                engine = self._engine("postgres")  # an old override that named a database
            self._admin = engine
        return self._admin

    def available(self) -> bool:
        """Whether the server answers (and lets this user make databases)."""
        try:
            with self.admin().connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except sa.exc.OperationalError:
            return False
        self.sweep()
        return True

    # ------------------------------------------------------------ databases

    def fresh(self, replacing: str | None = None) -> str:
        """The URL of a new empty database (dropping ``replacing``, a URL it gave before)."""
        if replacing is not None:
            self.drop(replacing)
        name = f"{self.prefix}{next(self._numbers)}"
        self.made.add(name)  # first: an interrupted CREATE is dropped (IF EXISTS) too
        with self.admin().connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str) -> str:
        """Make database ``name`` as nbmigrate makes its scratch database (plain CREATE
        DATABASE); the URL. Timed by the callers that compare against that."""
        self.made.add(name)
        with self.admin().connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database this run made (its connections ended first)."""
        name = sa.engine.make_url(url).database
        assert name is not None and name in self.made, name
        with self.admin().connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.discard(name)

    def close(self) -> None:
        """Drop every database this run made, and let go of the server."""
        try:
            for name in sorted(self.made):
                self.drop(self.url.set(database=name).render_as_string(hide_password=False))
        finally:
            if self._admin is not None:
                self._admin.dispose()
                self._admin = None

    def sweep(self) -> list[str]:
        """Drop the databases an earlier run on this machine left behind (killed before it
        could drop them): those whose process is gone. Only on a local server, where a
        process id means something."""
        if self.url.host not in (None, "", "localhost", "127.0.0.1", "::1"):
            return []
        pattern = re.compile(rf"^{PREFIX}(\d+)_\w+$")
        dropped = []
        with self.admin().connect() as conn:
            names = [row[0] for row in conn.exec_driver_sql(
                f"SELECT datname FROM pg_database WHERE starts_with(datname, '{PREFIX}')")]
            for name in names:
                found = pattern.match(name)
                if found is None or _alive(int(found.group(1))):
                    continue
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                dropped.append(name)
        return dropped


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
