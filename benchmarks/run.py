"""nbmigrate against plain Alembic and the physical floor, measured in one run.

    python -m benchmarks            # full sizes (500 revisions, 1000 tables)
    python -m benchmarks --quick    # small sizes, for CI

Every scenario runs its variants in alternating rounds and prints their median times
and, for each ratio, the median of the per-round ratios with the lowest and highest
round in brackets. PostgreSQL cases run on databases this run makes and drops
(``benchmarks.postgres``).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from benchmarks import real_projects
from benchmarks.autogenerate import autogenerate
from benchmarks.postgres import Server, server_url
from benchmarks.preview import preview
from benchmarks.reads import read_commands
from benchmarks.terminal import terminal
from benchmarks.timing import Ratio, Row, goal
from benchmarks.trials import trials
from benchmarks.upgrades import upgrades

STARTUP_GOAL = 0.15  # seconds


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
    ratio = Ratio.of([t / STARTUP_GOAL for t in times])
    return [Row("5. start-up", "%load_ext nbmigrate", sorted(times)[len(times) // 2],
                f"goal {STARTUP_GOAL} s", ratio,
                f"{goal(ratio, '<=', 1)}; heavy modules imported: {heavy}")]


# ------------------------------------------------------------------- report


def machine() -> str:
    """The machine and the versions the figures were taken with."""
    from importlib.metadata import PackageNotFoundError, version

    import alembic
    import IPython

    try:
        pytest_alembic = f", pytest-alembic {version('pytest-alembic')}"
    except PackageNotFoundError:
        pytest_alembic = ""
    return (f"{platform.platform()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}, SQLAlchemy {sa.__version__}, "
            f"Alembic {alembic.__version__}{pytest_alembic}, IPython {IPython.__version__}")


def load() -> str:
    """The load averages (1, 5, 15 minutes), as ``uptime`` prints them."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def report(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| scenario | variant | median s | ratio (rounds) | against | note |",
             "|---|---|---:|---:|---|---|"]
    for r in rows:
        seconds = "" if r.seconds is None else f"{r.seconds:.4f}"
        ratio = "" if r.ratio is None else str(r.ratio)
        lines.append(f"| {r.scenario} | {r.variant} | {seconds} | {ratio} | "
                     f"{r.baseline} | {r.note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every scenario and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, two or three rounds")
    parser.add_argument("--no-postgres", action="store_true",
                        help="skip the PostgreSQL cases")
    args = parser.parse_args(argv)
    # a TERM ends the run as Ctrl-C does: through the finally that drops its databases
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    # Ctrl-C (or kill -INT) stops the run even where it was started with SIGINT ignored
    # (a shell's background job): the finally below drops its databases either way
    signal.signal(signal.SIGINT, signal.default_int_handler)
    revisions, tables, big, trial, runs = ((40, 120, 20_000, 20, 2) if args.quick
                                           else (500, 1000, 1_000_000, 100, 5))
    server = None if args.no_postgres else Server(server_url())
    if server is not None and not server.available():
        server.close()
        server = None
    began = time.perf_counter()
    print(f"machine: {machine()}")
    print(f"load average at the start: {load()}")
    print(f"sizes: {revisions} revisions, {tables} tables, {big:,} rows, {trial} revisions "
          f"tested; {runs} alternating rounds"
          f"{'' if server else '; PostgreSQL not reachable: its cases skipped'}\n")
    rows: list[Row] = []
    scenarios: list[Callable[[Path], list[Row]]] = [
        lambda root: read_commands(root, revisions, runs),
        lambda root: upgrades(root, revisions, runs, server),
        lambda root: autogenerate(root, tables, runs, server),
        lambda root: preview(root, big, runs, server),
        lambda root: startup(runs + 2),
        lambda root: real_projects.upgrades(
            root, runs, {"sqlite": None} if args.quick else {
                "sqlite": None, **({"postgresql": server} if server else {})},
            ("optuna",) if args.quick else tuple(real_projects.PROJECTS)),
        lambda root: trials(root, trial, runs, server),
        lambda root: terminal(root, runs + 2, args.quick),
    ]
    try:
        with tempfile.TemporaryDirectory(prefix="nbmigrate-bench-") as tmp:
            for scenario in scenarios:
                start = time.perf_counter()
                new = scenario(Path(tmp))
                rows += new
                print(report(new).split("\n", 2)[2])
                print(f"({time.perf_counter() - start:.0f} s)")
                sys.stdout.flush()
    finally:
        if server is not None:
            server.close()
    print(f"\nload average at the end: {load()}; {time.perf_counter() - began:.0f} s in all")
    print("\n" + report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
