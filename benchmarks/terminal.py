"""The terminal command against the ``alembic`` command, each a whole process, in
alternating rounds: ``current``, ``history`` and ``heads`` (from nbmigrate's cached revision
graph, warmed by one untimed run), and ``check`` and ``upgrade`` with nothing to do.

Each command runs as a user runs it, the installed console script (``python -m`` where
there is none), in the project's folder, with its own cache folder and bytecode compiled
once into a folder of the run (``PYTHONPYCACHEPREFIX``), as an installed package has it,
whatever PYTHONDONTWRITEBYTECODE the caller set.

    python -m benchmarks.terminal [--quick] [--runs N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.fixtures import revision_project
from benchmarks.timing import Row, alternating, goal
from nbmigrate.engine.project import set_ini_option
from nbmigrate.engine.revision_cache import listing, settled

READS = ("current", "history", "heads")
READ_GOALS = {200: 0.6, 1000: 0.45}  # at most this times the alembic command, by revisions
MODEL = """import sqlalchemy as sa

metadata = sa.MetaData()
for i in range({count}):
    sa.Table(f"t{{i}}", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("name", sa.String(20)))
"""


def terminal(tmp: Path, runs: int, quick: bool) -> list[Row]:
    """8. The terminal command at two project sizes (40 and 100 revisions when ``quick``,
    200 and 1000 otherwise)."""
    return [row for size in ((40, 100) if quick else tuple(READ_GOALS))
            for row in _on_project(tmp, size, runs)]


def _on_project(tmp: Path, size: int, runs: int) -> list[Row]:
    where = tmp / f"terminal-{size}"
    where.mkdir()
    ini = revision_project(where, f"sqlite:///{where / 'app.db'}", size)
    # check compares with a model: env.py imports it, for both commands, from check.ini
    (where / "models.py").write_text(MODEL.format(count=size))
    (where / "check.ini").write_text(ini.read_text())
    set_ini_option(where / "check.ini", "alembic", "nbmigrate.metadata", "models:metadata")
    env = _environment(tmp, where)
    _run(["nbmigrate", "upgrade", "head"], where, env)
    _settle(where / "migrations" / "versions")
    rows = []
    for name, argv, limit in [*((r, [r], READ_GOALS.get(size)) for r in READS),
                              ("check", ["-c", "check.ini", "check"], 1.0),
                              ("upgrade", ["upgrade", "head"], 1.0)]:
        ours, theirs = ["nbmigrate", *argv], ["alembic", *argv]
        for command in (ours, theirs):  # untimed: the cache and the bytecode are warm
            _run(command, where, env)
        rounds = alternating({
            "nbmigrate": lambda c=ours: _run(c, where, env),
            "alembic": lambda c=theirs: _run(c, where, env),
        }, runs)
        ratio = rounds.ratio("nbmigrate", "alembic")
        scenario = f"8. {name}, {size} revisions (terminal, whole process)"
        what = {"upgrade": "nothing to do", "check": "no drift"}.get(name, "warm cache")
        verdict = goal(ratio, "<=", limit) if limit is not None else \
            f"the goals are for {' and '.join(map(str, READ_GOALS))} revisions"
        rows += [
            Row(scenario, f"nbmigrate {' '.join(argv)}", rounds.median("nbmigrate"),
                "alembic", ratio, f"{what}; {verdict}"),
            Row(scenario, f"alembic {' '.join(argv)}", rounds.median("alembic")),
        ]
    return rows


def _settle(versions: Path) -> None:
    """Wait until the scripts are older than a read trusts: a graph read as they are
    written is not cached (revision_cache.settled)."""
    for _ in range(100):  # ten seconds at most (a clock behind the files' stamps)
        if settled(listing([str(versions)], False), time.time_ns(), False):
            return
        time.sleep(0.1)


def _environment(tmp: Path, where: Path) -> dict[str, str]:
    """The commands' environment: the project's model importable, a cache folder and a
    bytecode folder of this run, no database URL but the project's."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONDONTWRITEBYTECODE", "NBMIGRATE_URL")}
    env.update(XDG_CACHE_HOME=str(tmp / "cache"), PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(where),
                                                        env.get("PYTHONPATH", "")])))
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    """One command as a whole process; it must succeed."""
    script = Path(sys.executable).with_name(argv[0])
    command = [str(script)] if script.is_file() else [
        sys.executable, "-m", "nbmigrate.cli" if argv[0] == "nbmigrate" else "alembic"]
    done = subprocess.run([*command, *argv[1:]], cwd=cwd, env=env, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()[-500:]}")


if __name__ == "__main__":
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=11)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nbmigrate-terminal-") as folder:
        for row in terminal(Path(folder), options.runs, options.quick):
            seconds = "" if row.seconds is None else f"{row.seconds * 1000:8.1f} ms"
            print(f"{row.scenario:62s} {row.variant:28s} {seconds:>11s} "
                  f"{str(row.ratio or ''):>18} {row.note}")
