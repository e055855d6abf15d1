"""1. ``current`` / ``history`` / ``heads`` on a big project: a warm session against the
``alembic`` command line and ``alembic.command`` in-process, in alternating rounds."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from benchmarks.fixtures import close_session, revision_project
from benchmarks.inprocess import alembic_config
from benchmarks.timing import Row, Variant, alternating, goal


def read_commands(tmp: Path, revisions: int, runs: int) -> list[Row]:
    """Scenario 1 on a linear and on a branched history."""
    return [row for shape in ("linear", "branched")
            for row in _reads_on(tmp, shape, revisions, runs)]


def _reads_on(tmp: Path, shape: str, revisions: int, runs: int) -> list[Row]:
    from alembic import command

    from nbmigrate.engine import Session
    from nbmigrate.engine.runner import preserve_logging

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
        argv = [sys.executable, "-m", "alembic", "-c", str(ini), name]

        def cli(argv: list[str] = argv) -> None:
            subprocess.run(argv, env=env, capture_output=True, check=True)

        def in_process(name: str = name) -> None:
            with contextlib.redirect_stdout(io.StringIO()), preserve_logging():
                getattr(command, name)(alembic_config(ini))

        rounds = alternating({"ours": Variant(call, repeat=5), "cli": cli,
                              "inproc": in_process}, runs)
        label = f"1. {name}, {revisions} revisions ({shape})"
        by_cli, by_inproc = rounds.ratio("cli", "ours"), rounds.ratio("inproc", "ours")
        rows += [
            Row(label, "%migrate (warm session)", rounds.median("ours"),
                note="each round's time: the mean of 5 calls"),
            Row(label, "alembic CLI process", rounds.median("cli"), "%migrate", by_cli,
                goal(by_cli, ">=", 50)),
            Row(label, "alembic.command in-process", rounds.median("inproc"), "%migrate",
                by_inproc, f"{goal(by_inproc, '>=', 1)}; reads the scripts on every call"),
        ]
    close_session(session)
    return rows
