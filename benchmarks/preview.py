"""4. ``upgrade --dry-run`` of a revision that drops a column of a big table, against the
counts it needs, in alternating rounds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from benchmarks.fixtures import Fresh, close_session, revision_project
from benchmarks.postgres import Server
from benchmarks.timing import Row, alternating, goal

BIG_SCRIPT = '''"""{message}

Revision ID: {rev}
"""
from alembic import op
import sqlalchemy as sa

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    {upgrade}


def downgrade():
    {downgrade}
'''
CREATE_BIG = ('op.create_table("big", sa.Column("id", sa.Integer, primary_key=True), '
              'sa.Column("payload", sa.String(20)), sa.Column("note", sa.String(20)))')
DROP_NOTE = ('with op.batch_alter_table("big") as batch_op:\n'
             '        batch_op.drop_column("note")')
ADD_NOTE = ('with op.batch_alter_table("big") as batch_op:\n'
            '        batch_op.add_column(sa.Column("note", sa.String(20)))')


def preview(tmp: Path, rows: int, runs: int, server: Server | None) -> list[Row]:
    """Scenario 4 on SQLite and, when a server answers, PostgreSQL."""
    found = _preview_on(tmp / "preview-sqlite", None, rows, runs)
    if server is not None:
        found += _preview_on(tmp / "preview-postgresql", server, rows, runs)
    return found


def _fill(engine: sa.Engine, rows: int) -> None:
    """``rows`` rows in ``big``, every other one with a note."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "INSERT INTO big SELECT x, 'payload', CASE WHEN mod(x, 2) = 1 THEN 'n' END "
                f"FROM generate_series(1, {rows}) AS x")
        else:
            conn.exec_driver_sql(
                f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows})"
                " INSERT INTO big SELECT x, 'payload', CASE WHEN x % 2 = 1 THEN 'n' END FROM c")


def _preview_on(where: Path, server: Server | None, rows: int, runs: int) -> list[Row]:
    from nbmigrate.engine import Session

    fresh = Fresh(where / "databases", server)
    try:
        url = fresh("big")
        ini = revision_project(where, url, 0)
        versions = ini.parent / "migrations" / "versions"
        (versions / "r1_big.py").write_text(BIG_SCRIPT.format(
            message="big", rev="r1", down=None, upgrade=CREATE_BIG,
            downgrade='op.drop_table("big")'))
        (versions / "r2_drop_note.py").write_text(BIG_SCRIPT.format(
            message="drop note", rev="r2", down="r1", upgrade=DROP_NOTE, downgrade=ADD_NOTE))
        session = Session(ini, url=url)
        session.upgrade("r1")
        engine = sa.create_engine(url)
        _fill(engine, rows)

        def count(sql: str) -> Callable[[], object]:
            def run() -> None:
                with engine.connect() as conn:
                    conn.exec_driver_sql(sql).scalar()
            return run

        plan = session.upgrade("head", dry_run=True)
        counted = plan.destructive[0].count if plan.destructive else None
        rounds = alternating({
            "ours": lambda: session.upgrade("head", dry_run=True),
            "rows": count("SELECT count(*) FROM big"),
            "values": count("SELECT count(note) FROM big"),
        }, runs)
        engine.dispose()
        close_session(session)
    finally:
        fresh.close()

    label = f"4. preview, drop a column of {rows:,} rows ({fresh.dialect})"
    ours = rounds.ratio("ours", "values")
    shown = "nothing" if counted is None else f"{counted:,}"
    return [
        Row(label, "%migrate upgrade --dry-run", rounds.median("ours"), "SELECT count(note)",
            ours, f"{goal(ours, '<=', 1.2)}; counted {shown} non-null values "
            f"(expected {(rows + 1) // 2:,})"),
        Row(label, "SELECT count(note) (floor)", rounds.median("values"), "SELECT count(*)",
            rounds.ratio("values", "rows")),
        Row(label, "SELECT count(*)", rounds.median("rows")),
    ]
