"""3. Model against database on many tables: ``diff`` and ``revision --autogenerate``
against Alembic's own and against ``MetaData.reflect`` (the floor), in alternating
rounds; memory peaks from one untimed run of each."""

from __future__ import annotations

import contextlib
import gc
import io
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from benchmarks.fixtures import Fresh, close_session, wide_model
from benchmarks.inprocess import alembic_config
from benchmarks.postgres import Server
from benchmarks.timing import Row, Variant, alternating, goal


def autogenerate(tmp: Path, tables: int, runs: int, server: Server | None) -> list[Row]:
    """Scenario 3 on SQLite and, when a server answers, PostgreSQL."""
    model = wide_model(tables)
    held = sa.MetaData()
    for table in list(model.sorted_tables)[: tables - 50]:
        table.to_metadata(held)
    rows = _autogenerate_on(tmp / "autogen-sqlite", None, model, held, tables, runs)
    if server is not None:
        rows += _autogenerate_on(tmp / "autogen-postgresql", server, model, held, tables,
                                 runs)
    return rows


def peak_mib(fn: Callable[[], object]) -> float:
    """The most memory Python objects held at once during ``fn`` (one untimed run), MiB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def without_gc(fn: Callable[[], object]) -> Callable[[], None]:
    """``fn`` with the cyclic garbage collector paused while it runs."""
    def run() -> None:
        gc.disable()
        try:
            fn()
        finally:
            gc.enable()
    return run


def _autogenerate_on(where: Path, server: Server | None, model: sa.MetaData,
                     held: sa.MetaData, tables: int, runs: int) -> list[Row]:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from nbmigrate.engine import Session
    from nbmigrate.engine.reflection import KEPT
    from nbmigrate.engine.runner import preserve_logging

    fresh = Fresh(where / "databases", server)
    try:
        url = fresh("wide")
        engine = sa.create_engine(url)
        held.create_all(engine)
        session = Session(namespace={"model": model}, workdir=where)
        session.init("migrations", url=url)
        versions = where / "migrations" / "versions"
        found = len(session.diff())

        def cold_diff() -> None:
            KEPT.clear()  # as after any schema change: nothing reflected is reused
            session.diff()

        def ours_revision() -> None:
            session.revision("wide", autogenerate=True)

        def alembic_revision() -> None:
            config = alembic_config(where / "alembic.ini")
            config.attributes["target_metadata"] = model
            # env.py's fileConfig would log every later scenario; "Generating ..." is printed
            with preserve_logging(), contextlib.redirect_stdout(io.StringIO()):
                command.revision(config, "wide", autogenerate=True)

        def remove_revisions() -> None:  # each revision run starts from an empty versions/
            for script in versions.glob("*.py"):
                script.unlink()
            session.project.invalidate()

        def alembic_compare() -> None:
            with engine.connect() as conn:
                compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                 model)

        def reflect() -> None:
            with engine.connect() as conn:
                sa.MetaData().reflect(conn)

        rounds = alternating({
            "floor": reflect, "floor_no_gc": without_gc(reflect), "cold": cold_diff,
            "warm": session.diff, "compare": alembic_compare,
            "ours_rev": Variant(ours_revision, remove_revisions),
            "theirs_rev": Variant(alembic_revision, remove_revisions),
        }, runs)
        remove_revisions()
        memory = {
            "floor": peak_mib(reflect), "cold": peak_mib(cold_diff),
            "warm": peak_mib(session.diff), "compare": peak_mib(alembic_compare),
        }
        engine.dispose()
        close_session(session)
    finally:
        fresh.close()

    label = f"3. autogenerate, {tables} tables ({fresh.dialect})"

    def mib(name: str) -> str:
        return f"peak {memory[name]:.0f} MiB"

    def diff_note(name: str) -> str:
        floor, compared = rounds.ratio(name, "floor"), rounds.ratio(name, "compare")
        return (f"{goal(floor, '<=', 1.2)}; {compared} compare_metadata, "
                f"{goal(compared, '<', 1)}; {mib(name)}")

    ours_rev = rounds.ratio("ours_rev", "theirs_rev")
    return [
        Row(label, "%migrate diff, schema changed since last diff", rounds.median("cold"),
            "reflect floor", rounds.ratio("cold", "floor"),
            f"{diff_note('cold')}; found {found} differences"),
        Row(label, "%migrate diff, schema unchanged (reflection reused)",
            rounds.median("warm"), "reflect floor", rounds.ratio("warm", "floor"),
            diff_note("warm")),
        Row(label, "%migrate revision --autogenerate", rounds.median("ours_rev"),
            "alembic revision", ours_rev,
            f"{goal(ours_rev, '<', 1)}; {rounds.ratio('ours_rev', 'floor')} the floor"),
        Row(label, "alembic revision --autogenerate (in-process)",
            rounds.median("theirs_rev"), "reflect floor", rounds.ratio("theirs_rev", "floor")),
        Row(label, "alembic compare_metadata", rounds.median("compare"), "reflect floor",
            rounds.ratio("compare", "floor"), mib("compare")),
        Row(label, "MetaData.reflect (floor)", rounds.median("floor"), note=mib("floor")),
        Row(label, "MetaData.reflect, collector paused", rounds.median("floor_no_gc"),
            "reflect floor", rounds.ratio("floor_no_gc", "floor"),
            "what the floor costs without the cyclic GC's passes"),
    ]
