"""The scratch database ``%migrate test`` works on: made, checked, marked, dropped.

A scratch database has the connected database's dialect and nothing to lose: a
temporary SQLite file, or a database of its own on the same server (created and
dropped), or a named connection to an empty database the user gives (``--db``).
Where DDL is transactional, ``Marks`` are the savepoints the walk goes back to.
Its schema is read by ``shapes``, its sample rows made by ``samples``."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from .advice import Command
from .connections import Database, make_engine, short_error
from .errors import NbMigrateError

PREFIX = "nbmigrate_trial_"


# ----------------------------------------------------------------- the database


@dataclass
class Scratch:
    """A database the test may change at will, and how to be rid of it."""

    database: Database
    where: str  # its URL, password masked (to connect to it, kept)
    made: bool  # nbmigrate created it (and drops it); False: the user's --db
    admin: Database | None = None  # the connected database, from whose server it is dropped
    folder: Path | None = None  # a SQLite file's temporary folder

    def drop(self) -> str:
        """Drop the database; "" or why it could not be dropped (say where it is)."""
        self.database.engine.dispose()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            return ""
        assert self.admin is not None
        name = self.database.url.database
        try:
            with _autocommit(self.admin) as conn:
                conn.exec_driver_sql(f"DROP DATABASE {name}")
        except SQLAlchemyError as exc:
            return (f"could not drop the scratch database {self.where}: "
                    f"{short_error(exc, self.admin.url)}")
        return ""


def make(connected: Database) -> Scratch:
    """A new empty database of ``connected``'s dialect: a temporary file for a file
    database, else a database of its own on the same server."""
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    if connected.backend.file_based:
        folder = Path(tempfile.mkdtemp(prefix=PREFIX))
        url = connected.url.set(database=str(folder / "trial.db"), query={})
        database = Database("scratch", make_engine(url), "scratch database",
                            connected.ini_section)
        return Scratch(database, database.masked_url, True, folder=folder)
    try:
        conn = _autocommit(connected)
    except SQLAlchemyError as exc:
        raise NbMigrateError(f"cannot connect to {connected.name} ({connected.masked_url}): "
                             f"{short_error(exc, connected.url)}") from None
    try:
        with conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except SQLAlchemyError as exc:
        raise NbMigrateError(
            f"test cannot create a scratch database on the server of {connected.name} "
            f"({short_error(exc, connected.url)}): give it an empty database, ",
            Command("test", "--db", "NAME"), " (a connection to an empty database)") from None
    database = Database("scratch", make_engine(connected.url.set(database=name)),
                        "scratch database", connected.ini_section)
    return Scratch(database, database.masked_url, True, admin=connected)


def given(database: Database, version_table: str) -> Scratch:
    """The user's ``--db`` database as the scratch one, refused unless it is empty (an
    empty version table aside), so that no data can be lost."""
    try:
        with database.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            held = [n for n in names if n != version_table]
            if version_table in names and not held:
                held = [version_table] if conn.exec_driver_sql(
                    f"SELECT COUNT(*) FROM {_quoted(conn, version_table)}").scalar() else []
    except SQLAlchemyError as exc:
        raise NbMigrateError(f"cannot read {database.name}: "
                             f"{short_error(exc, database.url)}") from None
    if held:
        shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
        raise NbMigrateError(
            f"test refused: {database.name} holds tables ({shown}); the test changes its "
            "database at will, so give it an empty one, or none for a scratch database; "
            "nothing changed")
    return Scratch(database, f"{database.name} ({database.masked_url})", False)


def _autocommit(database: Database) -> Any:
    return database.engine.execution_options(isolation_level="AUTOCOMMIT").connect()


def _quoted(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def drop_version_table(conn: Connection, name: str) -> None:
    """Remove the version table a test left in a ``--db`` database (empty by then)."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_quoted(conn, name)}")
    conn.commit()


class Marks:
    """Where a walk on a database whose DDL is transactional can go back to: the start
    of the revision (a transaction per revision on a database the test made, else a
    savepoint) and the schema its upgrade made (a savepoint)."""

    START, UP = "nbmigrate_trial_revision", "nbmigrate_trial_up"
    BATCH = 10  # revisions a transaction keeps, on a database the test made

    def __init__(self, conn: Connection, together: bool, *, commits: bool) -> None:
        if conn.in_transaction():
            conn.commit()
        self.conn, self.together, self.commits = conn, together, commits
        self.outer = conn.begin()
        self.later: list[str] = []  # sent with the next statement: one round trip
        self.set: set[str] = set()  # the savepoints there are
        self.kept = 0  # revisions done

    def _send(self, *statements: str) -> None:
        statements, self.later = (*self.later, *statements), []
        if self.together:
            self.conn.exec_driver_sql("; ".join(statements))
        else:
            for statement in statements:
                self.conn.exec_driver_sql(statement)

    def _mark(self, name: str) -> None:
        self._send(f"SAVEPOINT {name}")
        self.set.add(name)

    def _back(self, name: str) -> None:
        if name in self.set:
            self._send(f"ROLLBACK TO SAVEPOINT {name}", f"RELEASE SAVEPOINT {name}")
            self.set.discard(name)

    def revision(self) -> None:
        """A revision begins."""
        self._mark(self.START)

    def upgraded(self) -> None:
        """Its upgrade ran."""
        self._mark(self.UP)

    def back_to_upgraded(self) -> None:
        """Undo what ran since the upgrade (a downgrade, an upgrade again)."""
        self._back(self.UP)

    def back_to_start(self) -> None:
        """Undo the whole revision."""
        self._back(self.UP)
        self._back(self.START)

    def done(self) -> None:
        """The revision is done: keep it (committed every ``BATCH`` revisions where the
        database is the test's own: savepoints piling up in one transaction slow
        PostgreSQL's catalog reads down, and a commit a revision costs a round trip)."""
        if self.START in self.set:
            self.later.append(f"RELEASE SAVEPOINT {self.START}")  # and UP within it
            self.set.clear()
        self.kept += 1
        if self.commits and self.kept % self.BATCH == 0:
            self.later = []  # the commit releases them
            self.outer.commit()
            self.outer = self.conn.begin()

    def end(self, *, keep: bool) -> None:
        """The walk is over: commit (``keep``) or roll back what is not committed."""
        self.later, self.set = [], set()
        if keep:
            self.outer.commit()
        else:
            self.outer.rollback()
