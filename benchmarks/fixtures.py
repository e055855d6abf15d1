"""Projects and databases the benchmarks build for themselves."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from benchmarks.postgres import Server
from nbmigrate.engine.project import init_project

SCRIPT = '''"""table {i}

Revision ID: {rev}
Revises: {parent}
Create Date: 2026-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = None


def upgrade():
    op.create_table("t{i}", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String(20)))


def downgrade():
    op.drop_table("t{i}")
'''


def revision_project(where: Path, url: str, count: int, *, branched: bool = False) -> Path:
    """An nbmigrate project with ``count`` revisions, each creating one small table.

    ``branched`` forks a side branch every 50 revisions and merges it back 10 later.
    Returns the alembic.ini path.
    """
    project = init_project(where / "migrations", url=sa.engine.make_url(url))
    versions = project.location / "versions"
    parent: str | tuple[str, ...] | None = None
    side: str | None = None
    for i in range(count):
        rev = f"r{i:04d}"
        down = parent
        if branched and i % 50 == 10 and side is not None:
            down = (parent, side)  # a merge point
            side = None
        labels = None
        (versions / f"{rev}_t.py").write_text(SCRIPT.format(
            i=i, rev=rev, parent=down or "", down=down, labels=labels))
        if branched and i % 50 == 0:
            side_rev = f"s{i:04d}"
            (versions / f"{side_rev}_t.py").write_text(SCRIPT.format(
                i=f"s{i}", rev=side_rev, parent=rev, down=rev, labels=None))
            side = side_rev
        parent = rev
    return project.ini


def ddl_statements(count: int, dialect: sa.Dialect) -> list[str]:
    """The CREATE TABLE statements the revisions above run, compiled for ``dialect``."""
    metadata = sa.MetaData()
    tables = [sa.Table(f"t{i}", metadata, sa.Column("id", sa.Integer, primary_key=True),
                       sa.Column("name", sa.String(20))) for i in range(count)]
    return [str(sa.schema.CreateTable(t).compile(dialect=dialect)) for t in tables]


def wide_model(count: int) -> sa.MetaData:
    """``count`` tables of 5 columns, an index and a foreign key each.

    The keys form shallow trees (each table points at the first of its ten, those at
    w0), not one chain: ``MetaData.reflect``, the floor, follows a chain of foreign keys
    by recursion and overflows Python's stack on a 1000-table chain when PostgreSQL
    lists the tables in an unlucky order.
    """
    metadata = sa.MetaData()
    for i in range(count):
        columns = [
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(40), nullable=False),
            sa.Column("amount", sa.Numeric(10, 2)),
            sa.Column("created", sa.DateTime),
        ]
        parent = i - i % 10 if i % 10 else 0  # w0 points at itself
        columns.append(sa.Column("parent_id", sa.Integer, sa.ForeignKey(f"w{parent}.id")))
        sa.Table(f"w{i}", metadata, *columns, sa.Index(f"ix_w{i}_name", "name"))
    return metadata


def one_transaction_engine(url: str) -> sa.Engine:
    """An Engine whose ``begin()`` is one real transaction, DDL included.

    pysqlite's legacy transaction handling sends no BEGIN before DDL, so every CREATE
    would commit on its own; SQLAlchemy's documented recipe, which nbmigrate's SQLite
    backend uses too, hands BEGIN to SQLAlchemy."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite" and engine.dialect.driver == "pysqlite":
        @event.listens_for(engine, "connect")
        def _no_implicit_transactions(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN")
    return engine


def unseen_until_commit(engine: sa.Engine, statements: list[str]) -> str:
    """Run ``statements`` in one ``engine.begin()`` and ask a second connection, before the
    commit, how many of the tables they create it sees (none, in one transaction); rolled
    back. A sentence for the report."""
    names = [s.split()[2].strip('"') for s in statements]
    with engine.connect() as conn:
        trans = conn.begin()
        for ddl in statements:
            conn.exec_driver_sql(ddl)
        other = sa.create_engine(engine.url)
        try:
            with other.connect() as peek:
                seen = set(sa.inspect(peek).get_table_names()) & set(names)
        except sa.exc.OperationalError:  # SQLite: the writer holds the file
            seen = set()
        finally:
            other.dispose()
        trans.rollback()
    verdict = "one transaction" if not seen else "NOT one transaction"
    return (f"{verdict}: another connection saw {len(seen)} of {len(names)} tables "
            "before COMMIT")


def scratch_engine(url: str) -> sa.Engine:
    """An Engine whose sessions run with the settings nbmigrate gives its scratch
    database (SQLite ``synchronous = OFF``, PostgreSQL ``synchronous_commit = off``), so
    that a comparison with ``%migrate test`` is of the tools, not of the fsyncs."""
    from nbmigrate.engine.backends import backend_for

    engine = sa.create_engine(url)
    settings = backend_for(engine).scratch_settings

    @event.listens_for(engine, "connect")
    def _quicken(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for statement in settings:
            cursor.execute(statement)
        cursor.close()
        dbapi_connection.commit()

    return engine


def close_session(session: Any) -> None:
    """Let go of every connection an nbmigrate Session holds."""
    for database in session.databases:
        database.engine.dispose()


class Fresh:
    """Empty databases of one dialect, the last one per ``slot`` kept: files in a folder
    (SQLite), or databases of this run on a server (PostgreSQL), each replaced by the next
    and dropped at the end."""

    def __init__(self, folder: Path, server: Server | None) -> None:
        self.folder, self.server = folder, server
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dialect = "sqlite" if server is None else "postgresql"
        self._last: dict[str, str] = {}
        self._numbers = itertools.count(1)

    def __call__(self, slot: str = "") -> str:
        """A new empty database for ``slot`` (the slot's last one dropped); its URL."""
        old = self._last.pop(slot, None)
        if self.server is not None:
            url = self.server.fresh(replacing=old)
        else:
            if old is not None:
                Path(sa.engine.make_url(old).database or "").unlink(missing_ok=True)
            name = f"{slot or 'db'}-{next(self._numbers)}.sqlite"
            url = f"sqlite:///{self.folder / name}"
        self._last[slot] = url
        return url

    def close(self) -> None:
        """Drop the databases still kept."""
        for slot in list(self._last):
            url = self._last.pop(slot)
            if self.server is not None:
                self.server.drop(url)
