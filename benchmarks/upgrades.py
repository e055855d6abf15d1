"""2. ``upgrade head`` over many revisions: nbmigrate against Alembic and the DDL alone.

All five variants run in alternating rounds, each on a fresh empty database made
(untimed) just before it, and every ratio is the median of per-round ratios:

- nbmigrate guarded (``upgrade head``), confirmed (``yes=True``) and rehearsed
  (``dry_run=True``), in a session whose scripts are already read;
- Alembic's upgrade in-process over scripts read before timing (``inprocess``), env.py
  connecting as it does for ``alembic upgrade head``;
- the floor: the same CREATE TABLE statements in one real transaction (checked: a
  second connection sees none of the tables before the COMMIT).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.fixtures import (
    Fresh,
    close_session,
    ddl_statements,
    one_transaction_engine,
    revision_project,
    unseen_until_commit,
)
from benchmarks.inprocess import InProcess, read_scripts
from benchmarks.postgres import Server
from benchmarks.timing import Row, Variant, alternating, goal


def upgrades(tmp: Path, revisions: int, runs: int, server: Server | None) -> list[Row]:
    """Scenario 2 on SQLite and, when a server answers, PostgreSQL."""
    rows = _upgrades_on(tmp / "upgrade-sqlite", None, revisions, runs)
    if server is not None:
        rows += _upgrades_on(tmp / "upgrade-postgresql", server, revisions, runs)
    return rows


def _upgrades_on(where: Path, server: Server | None, revisions: int, runs: int
                 ) -> list[Row]:
    from nbmigrate.engine import Session

    fresh = Fresh(where / "databases", server)
    try:
        url = fresh("project")
        ini = revision_project(where, url, revisions)
        script, parse = read_scripts(ini)
        alembic = InProcess(ini, script)
        statements = ddl_statements(revisions, sa.create_engine(url).dialect)
        held: dict[str, Any] = {}

        def release(name: str) -> None:
            thing = held.pop(name, None)
            if isinstance(thing, sa.Engine):
                thing.dispose()
            elif thing is not None:
                close_session(thing)

        def session(name: str) -> Variant:
            def setup() -> None:
                release(name)
                held[name] = Session(ini, url=fresh(name))
                held[name].project.script  # noqa: B018 - read before timing, as in a notebook

            options = {"guarded": {}, "confirmed": {"yes": True},
                       "rehearsal": {"dry_run": True}}[name]
            return Variant(lambda: held[name].upgrade("head", **options), setup)

        def alembic_setup() -> None:
            held["alembic-url"] = fresh("alembic")

        def floor_setup() -> None:
            release("floor")
            held["floor"] = one_transaction_engine(fresh("floor"))

        def floor() -> None:
            with held["floor"].begin() as conn:
                for ddl in statements:
                    conn.exec_driver_sql(ddl)

        rounds = alternating({
            "guarded": session("guarded"),
            "confirmed": session("confirmed"),
            "rehearsal": session("rehearsal"),
            "alembic": Variant(lambda: alembic.upgrade("head", url=held["alembic-url"]),
                               alembic_setup),
            "floor": Variant(floor, floor_setup),
        }, runs)
        floor_setup()
        checked = unseen_until_commit(held["floor"], statements)
        for name in list(held):
            if name != "alembic-url":
                release(name)
    finally:
        fresh.close()

    dialect = fresh.dialect
    label = f"2. upgrade head, {revisions} revisions ({dialect})"
    versus = rounds.ratio("guarded", "alembic")
    over_floor = rounds.ratio("guarded", "floor")
    per_rev, low, high = rounds.per_unit_over("guarded", "floor", revisions)
    floor_words = f"{per_rev:.2f} ms/revision over the floor ({low:.2f}-{high:.2f})"
    if dialect == "sqlite":
        note = f"{goal(versus, '<=', 0.6)}; {floor_words}; {over_floor} the floor"
    else:
        note = (f"{goal(versus, '<=', 0.6)}; {over_floor} the floor, "
                f"{goal(over_floor, '<=', 1.3)}; {floor_words}")
    alembic_floor = rounds.ratio("alembic", "floor")
    return [
        Row(label, "%migrate upgrade", rounds.median("guarded"), "alembic in-process", versus,
            note),
        Row(label, "%migrate upgrade, guard confirmed (--yes)", rounds.median("confirmed"),
            "%migrate upgrade", rounds.ratio("guarded", "confirmed"),
            f"guarded / confirmed: {goal(rounds.ratio('guarded', 'confirmed'), '<=', 1.05)}"),
        Row(label, "%migrate upgrade --dry-run (a rehearsal)", rounds.median("rehearsal"),
            "%migrate upgrade", rounds.ratio("rehearsal", "guarded"),
            f"rehearsal / guarded: {goal(rounds.ratio('rehearsal', 'guarded'), '<=', 1.2)}"),
        Row(label, "alembic upgrade in-process, scripts read before timing",
            rounds.median("alembic"), "floor", alembic_floor,
            f"as alembic.command.upgrade runs it, without reading the {revisions} scripts "
            f"({parse:.2f} s, untimed on both sides)"),
        Row(label, "DDL alone, one transaction (floor)", rounds.median("floor"), note=checked),
    ]
