"""PostgreSQL enum values: Alembic's autogenerate misses them; nbmigrate's does not."""

from __future__ import annotations

import sqlalchemy as sa
from helpers import server_url

MOOD_MODEL = """
import enum
from sqlalchemy import Enum
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

class Base(DeclarativeBase):
    pass

class Entry(Base):
    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    mood: Mapped[str] = mapped_column(Enum({values}, name="mood"))
"""


def test_a_new_enum_value_is_found_written_and_applied(nb, workdir):
    url = server_url("postgresql")
    nb.ok(MOOD_MODEL.format(values="'sad', 'ok'"))
    nb.ok(f"%migrate init migrations --url {url}")
    nb.ok("%migrate revision --autogenerate -m entries")
    nb.ok("%migrate upgrade head")

    nb.ok(MOOD_MODEL.format(values="'sad', 'ok', 'happy'"))
    diff = nb.ok("%migrate diff")
    assert [(o.op, o.table, o.name, o.detail) for o in diff.operations] == [
        ("modify_enum", "entries", "mood", "sad, ok -> sad, ok, happy")]
    assert "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy'" in diff.sql
    made = nb.ok("%migrate revision --autogenerate -m happy")
    assert "op.execute(\"ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy'\")" in made.source
    assert "cannot remove 'happy'" in made.source  # the downgrade says what it cannot do
    nb.ok("%migrate upgrade head")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO entries (mood) VALUES ('happy')")
    engine.dispose()
    assert nb.ok("%migrate diff").empty
    nb.ok("%migrate downgrade -1")  # runs: PostgreSQL keeps the value, the script says so
    assert nb.ok("%migrate current").revisions != ()
