"""Reflection reused between diffs never hides a change made elsewhere.

Every change here goes through another engine (or another process) than the
session's, between two diffs; the second diff must see it, exactly as a diff that
reflects from scratch does.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from helpers import server_url

from nbmigrate.engine import Session
from nbmigrate.engine.backends.postgresql import PG_CATALOGS
from nbmigrate.engine.reflection import KEPT, ReflectionCache


def model_and_database() -> tuple[sa.MetaData, sa.MetaData]:
    """The model, and what the database starts with: the same but the foreign key."""
    model, held = sa.MetaData(), sa.MetaData()
    for metadata in (model, held):
        sa.Table("users", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.String(40), nullable=False),
                 sa.Column("score", sa.Integer, server_default="0"),
                 sa.Index("ix_users_name", "name"))
        fk = [sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_orders_user")]
        sa.Table("orders", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("user_id", sa.Integer),
                 sa.Column("note", sa.String(20)),
                 *(fk if metadata is model else []))
    return model, held


@pytest.fixture
def setup(db_url: str, tmp_path: Path):
    model, held = model_and_database()
    other = sa.create_engine(db_url, poolclass=sa.pool.NullPool)  # not the session's engine
    held.create_all(other)
    session = Session(namespace={"model": model}, workdir=tmp_path)
    session.init("migrations", url=db_url)
    yield session, other
    session.databases.get().engine.dispose()
    other.dispose()


def change(engine: sa.Engine, table: str, edit: Callable[[object], None]) -> None:
    """Apply ``edit`` to a batch_alter_table of ``table`` through ``engine``."""
    with engine.begin() as conn, \
            Operations(MigrationContext.configure(conn)).batch_alter_table(table) as batch:
        edit(batch)


def ops(session: Session) -> set[tuple[str, str, str]]:
    return {(o.op, o.table, o.name) for o in session.diff().operations}


def cold(session: Session) -> set[tuple[str, str, str]]:
    """The diff with nothing kept: what the database really holds now."""
    KEPT.clear()
    return ops(session)


def reuses(session: Session) -> bool:
    """Whether the session's database is one whose reflection is kept."""
    return session.databases.get().dialect in ("sqlite", "postgresql")


def test_two_diffs_without_a_change_agree_and_reuse_reflection(setup):
    session, _other = setup
    KEPT.clear()
    first = session.diff()
    hits = KEPT.hits
    second = session.diff()
    assert KEPT.hits == hits + (1 if reuses(session) else 0)
    assert second.rows() == first.rows() == [
        ("add_fk", "orders", "fk_orders_user", "(user_id) -> users", False)]
    assert second.code == first.code and second.sql == first.sql
    assert second.renames == first.renames and second.note() == first.note()


def test_every_change_made_elsewhere_shows_in_the_next_diff(setup):
    session, other = setup
    assert cold(session) == {("add_fk", "orders", "fk_orders_user")}
    steps = [
        ("add a column", "users", lambda b: b.add_column(sa.Column("extra", sa.Integer)),
         ("remove_column", "users", "extra")),
        ("drop an index", "users", lambda b: b.drop_index("ix_users_name"),
         ("add_index", "users", "ix_users_name")),
        ("change a type", "orders",
         lambda b: b.alter_column("note", type_=sa.String(50), existing_type=sa.String(20)),
         ("modify_type", "orders", "note")),
    ]
    expected = {("add_fk", "orders", "fk_orders_user")}
    for what, table, edit, shows in steps:
        session.diff()  # reflection kept from an unchanged schema...
        change(other, table, edit)
        expected.add(shows)
        assert ops(session) == expected, what  # ...is not used once it changed
        assert cold(session) == expected, what

    session.diff()
    sa.Table("added", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True)
             ).create(other)
    expected.add(("remove_table", "added", ""))
    assert ops(session) == expected

    session.diff()
    change(other, "orders", lambda b: b.create_foreign_key(
        "fk_orders_user", "users", ["user_id"], ["id"]))
    expected.discard(("add_fk", "orders", "fk_orders_user"))
    assert ops(session) == expected == cold(session)


def test_a_changed_default_is_read_again(setup):
    # autogenerate compares server defaults only when asked, so ask the Inspector
    session, other = setup
    engine = session.databases.get().engine
    cache = ReflectionCache()

    def score_default() -> str:
        with engine.connect() as conn:
            columns = cache.inspector(conn).get_columns("users")
        return str(next(c for c in columns if c["name"] == "score")["default"])

    assert "0" in score_default() and "0" in score_default()
    change(other, "users", lambda b: b.alter_column(
        "score", server_default="7", existing_type=sa.Integer))
    assert "7" in score_default()
    assert cache.hits == (1 if reuses(session) else 0)


@pytest.fixture
def sqlite_setup(tmp_path: Path):
    model, held = model_and_database()
    path = tmp_path / "test.db"
    held.create_all(sa.create_engine(f"sqlite:///{path}"))
    session = Session(namespace={"model": model}, workdir=tmp_path)
    session.init("migrations", url=f"sqlite:///{path}")
    return session, path


def test_sqlite_change_from_another_process_shows(sqlite_setup):
    session, path = sqlite_setup
    session.diff()
    subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
                    " c.execute('ALTER TABLE users ADD COLUMN extra INTEGER'); c.commit()",
                    str(path)], check=True)
    assert ("remove_column", "users", "extra") in ops(session)


def test_sqlite_file_replaced_by_another_with_the_same_schema_version(sqlite_setup, tmp_path):
    session, path = sqlite_setup
    before = session.diff()
    model, held = model_and_database()
    held.tables["orders"].append_column(sa.Column("extra", sa.Integer))  # same DDL count
    replacement = tmp_path / "other.db"
    held.create_all(sa.create_engine(f"sqlite:///{replacement}"))
    version = "PRAGMA schema_version"
    with sa.create_engine(f"sqlite:///{path}").connect() as a, \
            sa.create_engine(f"sqlite:///{replacement}").connect() as b:
        assert a.exec_driver_sql(version).scalar() == b.exec_driver_sql(version).scalar()
    session.databases.get().engine.dispose()  # no pooled connection holds the old file open
    os.replace(replacement, path)
    assert ("remove_column", "orders", "extra") in ops(session)
    assert ("remove_column", "orders", "extra") not in {(o.op, o.table, o.name)
                                                       for o in before.operations}


def test_postgresql_signature_covers_every_catalog_reflection_reads():
    db_url = server_url("postgresql")
    model, _held = model_and_database()
    engine = sa.create_engine(db_url)
    model.create_all(engine)
    names: set[str] = set()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def collect(conn, cursor, statement, *args):  # noqa: ANN001
        names.update(re.findall(r"\bpg_[a-z_]+\b", statement))

    with engine.connect() as conn:
        compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), model)
        sa.MetaData().reflect(conn)
        catalogs = {row[0] for row in conn.exec_driver_sql(
            "SELECT relname FROM pg_catalog.pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'pg_catalog'::regnamespace")}
    engine.dispose()
    read = names & catalogs
    assert read and read <= set(PG_CATALOGS), read - set(PG_CATALOGS)
