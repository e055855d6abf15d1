"""Small readers of database and disk state, for assertions."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

MODEL_CELL = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy import String

class Base(DeclarativeBase):
    pass

class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
"""


OTHER_BASE_CELL = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base2(DeclarativeBase):
    pass

class Order(Base2):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
"""


def table_revision(rev: str, table: str, *body: str, message: str = "", options: str = "") -> str:
    """A ``%%migrate revision`` cell whose upgrade() creates ``table``, then runs ``body``."""
    steps = "\n    ".join(body) or "pass"
    return f'''%%migrate revision -m "{message or table}" --rev-id {rev} {options}
def upgrade():
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))
    {steps}

def downgrade():
    op.drop_table("{table}")
'''


def added_tables(diff) -> list[str]:
    """The tables a Diff would create."""
    return [o.table for o in diff.operations if o.op == "add_table"]


def tables(url: str) -> set[str]:
    """The table names in the database at ``url``."""
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def columns(url: str, table: str) -> set[str]:
    """The column names of ``table``."""
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def version(url: str) -> set[str]:
    """The revisions in ``alembic_version`` (empty if none)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return set()
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version")
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its content, to prove nothing changed."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".db-journal")
    }


def value_views(value) -> list[str]:
    """Every way a cell's value shows: text, repr, HTML, and its table as text and HTML."""
    import pandas as pd

    if value is None:
        return []
    views = [str(value), repr(value)]
    if hasattr(value, "_repr_html_"):
        views.append(value._repr_html_() or "")
    frames = [value] if isinstance(value, pd.DataFrame) else []
    if hasattr(value, "to_frame"):
        frames.append(value.to_frame())
    for frame in frames:
        with pd.option_context("display.max_columns", None, "display.width", 10_000):
            views += [frame.to_string(), frame.to_html(), repr(frame)]
    return views
