"""The benchmark runner keeps working (its timings are for people, not for asserts), and
the PostgreSQL databases it makes do not outlive it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa
from helpers import REQUIRE_SERVERS, ROOT

SERVER = os.environ.get("NBMIGRATE_BENCH_POSTGRES",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _admin() -> sa.Engine | None:
    """An autocommit engine on the benchmarks' server, or None when none answers (a
    failure in CI, where the server is required)."""
    engine = sa.create_engine(SERVER, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect():
            return engine
    except sa.exc.OperationalError:
        if REQUIRE_SERVERS:
            pytest.fail(f"the benchmarks' PostgreSQL server is required: {SERVER}")
        return None


def _databases_of(pid: int) -> list[str]:
    """The databases a benchmark run with process id ``pid`` has on the server."""
    engine = _admin()
    if engine is None:
        return []
    with engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql(
            f"SELECT datname FROM pg_database WHERE starts_with(datname, "
            f"'nbmigrate_bench_{pid}_')")]


def test_quick_benchmarks_run_every_scenario_and_print_ratios():
    run = subprocess.Popen([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = run.communicate(timeout=300)
    finally:
        run.kill()
    assert run.returncode == 0, stderr
    table = stdout.split("\n\n")[-1]
    for scenario in ("1. current", "1. history", "1. heads", "2. upgrade head",
                     "3. autogenerate", "4. preview", "5. start-up",
                     "6. optuna: upgrade head from empty (sqlite)",
                     "7. test, 20 revisions (sqlite)",
                     "8. current, 40 revisions (terminal", "8. upgrade, 100 revisions (terminal"):
        rows = [line for line in table.splitlines() if line.startswith(f"| {scenario}")]
        assert rows, f"scenario {scenario!r} did not run"
        # every ratio: the median of per-round ratios, then the lowest and highest round
        assert any(re.search(r"\| \d+\.\d\dx \(\d+\.\d\d-\d+\.\d\d\) \|", row)
                   for row in rows), scenario
        assert not any(re.search(r"\| \d+\.\d\dx \|", row) for row in rows), scenario
    assert "machine: " in stdout and "Alembic" in stdout
    assert _databases_of(run.pid) == []


@pytest.mark.server
def test_an_interrupted_run_drops_the_databases_it_made():
    if _admin() is None:
        pytest.skip("no PostgreSQL server for the benchmarks")
    run = subprocess.Popen([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _databases_of(run.pid):  # scenario 2 makes the first
            assert run.poll() is None, run.stderr.read() if run.stderr else ""
            assert time.monotonic() < deadline, "the run made no database"
            time.sleep(0.2)
        run.send_signal(signal.SIGINT)
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode != 0
    assert _databases_of(run.pid) == []


@pytest.mark.server
def test_a_run_drops_what_a_killed_run_left_behind():
    engine = _admin()
    if engine is None:
        pytest.skip("no PostgreSQL server for the benchmarks")
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    pid = int(ended.stdout)  # a process that is gone, as a killed run's would be
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "nbmigrate_bench_{pid}_1"')
    try:
        subprocess.run([sys.executable, "-c", "from benchmarks.postgres import Server, "
                        "server_url; assert Server(server_url()).available()"],
                       cwd=ROOT, check=True)
        assert _databases_of(pid) == []
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "nbmigrate_bench_{pid}_1"')
