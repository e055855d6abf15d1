"""nbmigrate against plain Alembic and the physical floor, measured in one run.

    python -m benchmarks            # full sizes (500 revisions, 1000 tables)
    python -m benchmarks --quick    # small sizes, for CI

Every scenario prints absolute medians and ratios against its baselines,
measured side by side in this same run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from benchmarks import real_projects
from benchmarks.fixtures import (
    ddl_statements,
    empty_database,
    revision_project,
    wide_model,
)
from benchmarks.timing import Row, alternating, median_time, ratio

# a database of the benchmarks' own, so that a test run at the same time cannot collide
POSTGRES = os.environ.get("NBMIGRATE_BENCH_POSTGRES",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/nbmigrate_bench")


def server_available(url: str) -> bool:
    """Whether the server answers; creates the benchmark database if it is missing."""
    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(name)s",
                {"name": target.database}).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        admin.dispose()


def alembic_config(ini: Path):
    from alembic.config import Config

    return Config(str(ini), stdout=io.StringIO())


# ------------------------------------------------------------------ scenarios


def read_commands(tmp: Path, revisions: int, runs: int) -> list[Row]:
    """1. current / history / heads on a big project: warm session vs Alembic."""
    return [row for shape in ("linear", "branched")
            for row in _reads_on(tmp, shape, revisions, runs)]


def _reads_on(tmp: Path, shape: str, revisions: int, runs: int) -> list[Row]:
    from alembic import command

    from nbmigrate.engine import Session

    where = tmp / f"reads-{shape}"
    where.mkdir()
    url = f"sqlite:///{where / 'db.sqlite'}"
    ini = revision_project(where, url, revisions, branched=shape == "branched")
    session = Session(ini)
    session.upgrade("heads")
    env = {**os.environ, "NBMIGRATE_URL": url}
    rows = []
    for name in ("current", "history", "heads"):
        call = getattr(session, name)
        call()  # warm: the scripts are parsed once and cached
        ours = median_time(call, runs * 5)
        argv = [sys.executable, "-m", "alembic", "-c", str(ini), name]
        cli = median_time(lambda argv=argv: subprocess.run(
            argv, env=env, capture_output=True, check=True), max(1, runs // 2))

        def in_process(name: str = name) -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                getattr(command, name)(alembic_config(ini))

        inproc = median_time(in_process, runs)
        label = f"1. {name}, {revisions} revisions ({shape})"
        rows += [
            Row(label, "%migrate (warm session)", ours),
            Row(label, "alembic CLI process", cli, "%migrate", cli / ours, "goal: >= 50x"),
            Row(label, "alembic.command in-process", inproc, "%migrate", inproc / ours,
                "goal: >= 1x"),
        ]
    return rows


def upgrades(tmp: Path, revisions: int, runs: int, postgres: bool) -> list[Row]:
    """2. upgrade head over many revisions: nbmigrate vs Alembic vs the DDL alone."""
    targets = [("sqlite", None)] + ([("postgresql", POSTGRES)] if postgres else [])
    return [row for dialect, server in targets
            for row in _upgrades_on(tmp, dialect, server, revisions, runs)]


def _upgrades_on(tmp: Path, dialect: str, server: str | None, revisions: int, runs: int
                 ) -> list[Row]:
    from alembic import command

    from nbmigrate.engine import Session

    where = tmp / f"upgrade-{dialect}"
    where.mkdir()
    counter = iter(range(10_000))

    def fresh_url() -> str:
        if server is not None:
            empty_database(server)
            return server
        return f"sqlite:///{where / f'db{next(counter)}.sqlite'}"

    url = fresh_url()
    ini = revision_project(where, url, revisions)
    state: dict[str, object] = {}

    def prepare_ours() -> None:
        state["session"] = Session(ini, url=fresh_url())
        state["session"].project.script  # noqa: B018 - parsing is timed elsewhere

    def prepare_alembic() -> None:
        config = alembic_config(ini)
        config.set_main_option("sqlalchemy.url", fresh_url())
        state["config"] = config

    def prepare_floor() -> None:
        state["engine"] = sa.create_engine(fresh_url())

    statements = ddl_statements(revisions, sa.create_engine(url).dialect)

    def floor() -> None:
        with state["engine"].begin() as conn:
            for ddl in statements:
                conn.exec_driver_sql(ddl)

    medians, rounds = alternating({
        "guarded": lambda: state["session"].upgrade("head"),
        "confirmed": lambda: state["session"].upgrade("head", yes=True),
        "rehearsal": lambda: state["session"].upgrade("head", dry_run=True),
    }, runs, prepare_ours)
    ours, unguarded, rehearsal = (medians[k] for k in ("guarded", "confirmed", "rehearsal"))
    theirs = median_time(lambda: command.upgrade(state["config"], "head"), runs,
                         prepare_alembic)
    bottom = median_time(floor, runs, prepare_floor)
    if server is not None:
        empty_database(server)
    label = f"2. upgrade head, {revisions} revisions ({dialect})"
    goal = "goal: <= 0.6x" if dialect == "sqlite" else "goal: <= 1.0x"
    per_rev = (ours - bottom) / revisions * 1000
    return [
        Row(label, "%migrate upgrade", ours, "alembic.command", ours / theirs,
            f"{goal}; {per_rev:.2f} ms/revision over the floor"),
        Row(label, "%migrate upgrade, guard confirmed (--yes)", unguarded, "%migrate upgrade",
            ratio(rounds, "guarded", "confirmed"),
            "guarded / confirmed, median of per-round ratios: goal <= 1.05x"),
        Row(label, "%migrate upgrade --dry-run (a rehearsal)", rehearsal, "%migrate upgrade",
            ratio(rounds, "rehearsal", "guarded"),
            "rehearsal / guarded upgrade, median of per-round ratios: goal <= 1.2x"),
        Row(label, "alembic.command.upgrade", theirs, "floor", theirs / bottom),
        Row(label, "DDL alone, one transaction (floor)", bottom),
    ]


def autogenerate(tmp: Path, tables: int, runs: int, postgres: bool) -> list[Row]:
    """3. model vs database on many tables: diff and revision vs Alembic vs reflect."""
    model = wide_model(tables)
    held = sa.MetaData()
    for table in list(model.sorted_tables)[: tables - 50]:
        table.to_metadata(held)
    targets = [("sqlite", f"sqlite:///{tmp / 'wide.sqlite'}")]
    if postgres:
        targets.append(("postgresql", POSTGRES))
    return [row for dialect, url in targets
            for row in _autogenerate_on(tmp, dialect, url, model, held, tables, runs)]


def peak_mib(fn: Callable[[], object]) -> float:
    """The most memory Python objects held at once during ``fn`` (one untimed run), MiB."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def without_gc(fn: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        gc.disable()
        try:
            fn()
        finally:
            gc.enable()
    return run


def _autogenerate_on(tmp: Path, dialect: str, url: str, model: sa.MetaData,
                     held: sa.MetaData, tables: int, runs: int) -> list[Row]:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from nbmigrate.engine import Session
    from nbmigrate.engine.reflection import KEPT
    from nbmigrate.engine.runner import preserve_logging

    if dialect == "postgresql":
        empty_database(url)
    engine = sa.create_engine(url)
    held.create_all(engine)
    where = tmp / f"autogen-{dialect}"
    where.mkdir()
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
        with preserve_logging():  # env.py's fileConfig would log every later scenario
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

    floor = median_time(reflect, runs)
    floor_no_gc = median_time(without_gc(reflect), runs)
    cold = median_time(cold_diff, runs)
    warm = median_time(session.diff, runs)
    compared = median_time(alembic_compare, runs)
    ours_rev = median_time(ours_revision, runs, remove_revisions)
    theirs_rev = median_time(alembic_revision, runs, remove_revisions)
    remove_revisions()
    memory = {
        "floor": peak_mib(reflect), "cold": peak_mib(cold_diff), "warm": peak_mib(session.diff),
        "compare": peak_mib(alembic_compare),
    }
    engine.dispose()
    if dialect == "postgresql":
        empty_database(url)
    label = f"3. autogenerate, {tables} tables ({dialect})"
    goal = "goal: <= 1.2x"

    def mib(name: str) -> str:
        return f"peak {memory[name]:.0f} MiB"

    return [
        Row(label, "%migrate diff, schema changed since last diff", cold, "reflect floor",
            cold / floor, f"{goal}; {cold / compared:.2f}x compare_metadata; {mib('cold')}; "
            f"found {found} differences"),
        Row(label, "%migrate diff, schema unchanged (reflection reused)", warm, "reflect floor",
            warm / floor, f"{goal}; {warm / compared:.2f}x compare_metadata; {mib('warm')}"),
        Row(label, "%migrate revision --autogenerate", ours_rev, "alembic revision",
            ours_rev / theirs_rev, f"goal: < 1x; {ours_rev / floor:.2f}x the floor"),
        Row(label, "alembic revision --autogenerate (in-process)", theirs_rev, "reflect floor",
            theirs_rev / floor),
        Row(label, "alembic compare_metadata", compared, "reflect floor", compared / floor,
            mib("compare")),
        Row(label, "MetaData.reflect (floor)", floor, note=mib("floor")),
        Row(label, "MetaData.reflect, collector paused", floor_no_gc, "reflect floor",
            floor_no_gc / floor, "what the floor costs without the cyclic GC's passes"),
    ]


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


def preview(tmp: Path, rows: int, runs: int, postgres: bool) -> list[Row]:
    """4. --dry-run of a drop-column revision on a big table vs plain counts."""
    targets = [("sqlite", f"sqlite:///{tmp / 'big.sqlite'}")]
    if postgres:
        targets.append(("postgresql", POSTGRES))
    return [row for dialect, url in targets
            for row in _preview_on(tmp, dialect, url, rows, runs)]


def _preview_on(tmp: Path, dialect: str, url: str, rows: int, runs: int) -> list[Row]:
    from nbmigrate.engine import Session

    if dialect == "postgresql":
        empty_database(url)
    where = tmp / f"preview-{dialect}"
    where.mkdir()
    ini = revision_project(where, url, 0)
    versions = ini.parent / "migrations" / "versions"
    (versions / "r1_big.py").write_text(BIG_SCRIPT.format(
        message="big", rev="r1", down=None, upgrade=CREATE_BIG, downgrade='op.drop_table("big")'))
    (versions / "r2_drop_note.py").write_text(BIG_SCRIPT.format(
        message="drop note", rev="r2", down="r1", upgrade=DROP_NOTE, downgrade=ADD_NOTE))
    session = Session(ini, url=url)
    session.upgrade("r1")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if dialect == "postgresql":
            conn.exec_driver_sql(
                "INSERT INTO big SELECT x, 'payload', CASE WHEN mod(x, 2) = 1 THEN 'n' END "
                f"FROM generate_series(1, {rows}) AS x")
        else:
            conn.exec_driver_sql(
                f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows})"
                " INSERT INTO big SELECT x, 'payload', CASE WHEN x % 2 = 1 THEN 'n' END FROM c")

    def count(sql: str) -> Callable[[], object]:
        def run() -> None:
            with engine.connect() as conn:
                conn.exec_driver_sql(sql).scalar()
        return run

    plan = session.upgrade("head", dry_run=True)
    counted = plan.destructive[0].count if plan.destructive else None
    ours = median_time(lambda: session.upgrade("head", dry_run=True), runs)
    rows_floor = median_time(count("SELECT count(*) FROM big"), runs)
    values_floor = median_time(count("SELECT count(note) FROM big"), runs)
    engine.dispose()
    if dialect == "postgresql":
        empty_database(url)
    label = f"4. preview, drop a column of {rows:,} rows ({dialect})"
    return [
        Row(label, "%migrate upgrade --dry-run", ours, "SELECT count(note)", ours / values_floor,
            f"counted {counted:,} non-null values (expected {(rows + 1) // 2:,})"),
        Row(label, "SELECT count(note) (floor)", values_floor, "SELECT count(*)",
            values_floor / rows_floor),
        Row(label, "SELECT count(*)", rows_floor),
    ]


def startup(runs: int) -> list[Row]:
    """5. %load_ext nbmigrate in a running kernel, and what it imports."""
    code = (
        "import sys, time\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "t = time.perf_counter(); shell.run_line_magic('load_ext', 'nbmigrate')\n"
        "dt = time.perf_counter() - t\n"
        "heavy = [m for m in ('pandas', 'alembic.autogenerate', 'ipywidgets') "
        "if m in sys.modules]\n"
        "print(dt, ','.join(heavy) or '-')\n"
    )
    times, heavy = [], "-"
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout.split()
        times.append(float(out[0]))
        heavy = out[1]
    ours = statistics.median(times)
    return [Row("5. start-up", "%load_ext nbmigrate", ours, "goal 0.15 s", ours / 0.15,
                f"heavy modules imported: {heavy}")]


# ------------------------------------------------------------------- report


def machine() -> str:
    import alembic
    import IPython

    return (f"{platform.platform()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, SQLAlchemy {sa.__version__}, "
            f"Alembic {alembic.__version__}, IPython {IPython.__version__}")


def report(rows: list[Row]) -> str:
    lines = ["| scenario | variant | median s | ratio | against | note |",
             "|---|---|---:|---:|---|---|"]
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}x"
        lines.append(f"| {r.scenario} | {r.variant} | {r.seconds:.4f} | {ratio} | "
                     f"{r.baseline} | {r.note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, one or two runs")
    parser.add_argument("--no-postgres", action="store_true",
                        help="skip the PostgreSQL cases")
    args = parser.parse_args(argv)
    revisions, tables, big, runs = ((40, 120, 20_000, 2) if args.quick
                                    else (500, 1000, 1_000_000, 5))
    postgres = not args.no_postgres and server_available(POSTGRES)
    print(f"machine: {machine()}")
    print(f"sizes: {revisions} revisions, {tables} tables, {big:,} rows, median of {runs} runs"
          f"{'' if postgres else '; PostgreSQL not reachable: its cases skipped'}\n")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="nbmigrate-bench-") as tmp:
        root = Path(tmp)
        for scenario in (
            lambda: read_commands(root, revisions, runs),
            lambda: upgrades(root, revisions, runs, postgres),
            lambda: autogenerate(root, tables, runs, postgres),
            lambda: preview(root, big, runs, postgres),
            lambda: startup(runs + 1),
            lambda: real_projects.upgrades(
                root, runs, {"sqlite": None} if args.quick else {
                    "sqlite": None, **({"postgresql": POSTGRES} if postgres else {})},
                ("optuna",) if args.quick else tuple(real_projects.PROJECTS)),
        ):
            new = scenario()
            rows += new
            print(report(new).split("\n", 2)[2])
            sys.stdout.flush()
    print("\n" + report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
