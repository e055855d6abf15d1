"""Named database connections, made from URLs, engines or connections."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Column, MetaData, String, Table, create_engine, select
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from .backends import Backend, backend_for
from .errors import NbMigrateError
from .secrets import mask_url, redact, url_passwords

DEFAULT = "default"


class VersionTable(NamedTuple):
    """Where a database records its revisions (Alembic's ``version_table`` option)."""

    name: str = "alembic_version"
    schema: str | None = None


def current_heads(connection: Connection, table: VersionTable | None = None, *,
                  within: bool = False) -> tuple[str, ...]:
    """The revisions recorded in the version table (default Alembic's ``alembic_version``);
    ``within``: as the caller's open transaction sees them, leaving it open."""
    table = table or VersionTable()
    heads: tuple[str, ...] = ()
    if connection.dialect.has_table(connection, table.name, table.schema):  # as Alembic reads
        version = Table(table.name, MetaData(), Column("version_num", String(32)),
                        schema=table.schema)
        heads = tuple(row[0] for row in connection.execute(select(version.c.version_num)))
    if connection.in_transaction() and not within:
        connection.rollback()  # leave no transaction open: Alembic must start its own
    return tuple(heads)


@dataclass
class Database:
    """One named connection: an Engine and where it came from."""

    name: str
    engine: Engine
    source: str  # "url", "variable NAME" or "alembic.ini [section]"
    ini_section: str | None = None
    owned: bool = True  # nbmigrate made the Engine and may dispose of it
    # the version table as the project's env.py configures it (None: not read yet, so
    # Alembic's alembic_version)
    version: VersionTable | None = None

    @property
    def url(self) -> URL:
        return self.engine.url

    @property
    def masked_url(self) -> str:
        return mask_url(self.engine.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def backend(self) -> Backend:
        return backend_for(self.engine)

    @property
    def version_table(self) -> str:
        return (self.version or VersionTable()).name

    def missing(self) -> bool:
        """Whether the database is a file not made yet (connecting would make it)."""
        if not self.backend.file_based:
            return False
        name = (self.url.database or "").removeprefix("file:").split("?")[0]
        return bool(name) and name != ":memory:" and not Path(name).exists()

    def heads(self, connection: Connection, *, within: bool = False) -> tuple[str, ...]:
        """The revisions recorded in this database's version table (``within``: in the
        caller's open transaction, left open)."""
        return current_heads(connection, self.version, within=within)

    def connect(self) -> Connection:
        """A new connection; failures become one line without the password."""
        try:
            return self.engine.connect()
        except SQLAlchemyError as exc:
            raise NbMigrateError(
                f"cannot connect to {self.name} ({self.masked_url}): {short_error(exc, self.url)}"
            ) from None


def parse_url(text: str) -> URL:
    """A SQLAlchemy URL, or one clear line saying why ``text`` is not one."""
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise NbMigrateError(f"not a database URL: {redact(text)!r}") from None
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise NbMigrateError(f"unknown database dialect in {mask_url(url)}") from None
    return url


def anchored(url: URL, here: Path) -> URL:
    """``url`` with a relative database file made absolute from ``here``, so that it reads
    (and finds the file) the same after a kernel restart or a change of directory."""
    name = url.database or ""
    if not backend_for(url).file_based or not name or name == ":memory:" \
            or name.startswith("file:") or Path(name).is_absolute():
        return url
    return url.set(database=str(here / name))


# asyncio drivers an async env.py names, and the synchronous one nbmigrate uses instead
_SYNC_DRIVERS = {"aiosqlite": "pysqlite", "asyncpg": "psycopg", "psycopg_async": "psycopg",
                 "aiomysql": "pymysql", "asyncmy": "pymysql"}


def make_engine(url: URL) -> Engine:
    """An Engine for ``url``, prepared by its backend (SQLite: real transactions around DDL);
    for an asyncio driver, the database's synchronous driver."""
    sync = _SYNC_DRIVERS.get(url.get_driver_name())
    if sync is not None:
        url = url.set(drivername=f"{url.get_backend_name()}+{sync}")
    try:
        engine = create_engine(url)
    except ImportError as exc:
        raise NbMigrateError(
            f"the driver for {mask_url(url)} is not installed ({exc.name or exc})"
        ) from None
    except (ArgumentError, TypeError, ValueError) as exc:
        raise NbMigrateError(f"cannot use {mask_url(url)}: {short_error(exc, url)}") from None
    backend_for(engine).prepare(engine)
    return engine


def engine_from_value(value: Any, label: str) -> tuple[Engine, str]:
    """An Engine from a URL string, URL, Engine or Connection held in a variable."""
    if isinstance(value, Engine):
        return value, f"variable {label}"
    if isinstance(value, Connection):
        return value.engine, f"variable {label}"
    if isinstance(value, (str, URL)):
        return make_engine(parse_url(str(value) if isinstance(value, str) else value)), (
            f"variable {label}"
        )
    raise NbMigrateError(
        f"{label} holds a value of type {type(value).__name__}, "
        "not an Engine, Connection or URL string"
    )


def short_error(exc: BaseException, url: URL | None = None) -> str:
    """The first line of a database error, without SQLAlchemy's links or passwords."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    line = next((part.strip() for part in text.splitlines() if part.strip()), type(exc).__name__)
    line = line.split("(Background on this error")[0].strip()
    passwords = [url.password] if url is not None and url.password else []
    return redact(line, passwords)


class Databases:
    """The session's named connections; the first one added is the default."""

    def __init__(self) -> None:
        self._by_name: dict[str, Database] = {}
        self.default_name: str | None = None

    def add(self, db: Database, *, make_default: bool = False) -> Database:
        old = self._by_name.get(db.name)
        if old is not None and old.owned and old.engine is not db.engine:
            old.engine.dispose()
        self._by_name[db.name] = db
        if make_default or self.default_name is None:
            self.default_name = db.name
        return db

    def get(self, name: str | None = None) -> Database:
        if name is None:
            name = self.default_name
            if name is None:
                raise NbMigrateError(
                    "no database connected: connect URL, init --url URL, or set NBMIGRATE_URL"
                )
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name) or "none"
            raise NbMigrateError(f"no connection named {name!r} (known: {known})") from None

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self):
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def passwords(self) -> list[str]:
        return [password for db in self for password in url_passwords(db.url)]
