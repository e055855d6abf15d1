"""Projects and databases the benchmarks build for themselves."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

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


def empty_database(url: str) -> None:
    """Drop everything in a server database (PostgreSQL schema public)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
