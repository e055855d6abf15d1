"""7. ``%migrate test`` against pytest-alembic and the plain Alembic commands it runs.

On one project of revisions that each create a table (and whose downgrades drop it),
in alternating rounds, each variant on empty scratch databases it makes and drops
inside its timing, as ``test`` makes and drops its own:

- nbmigrate's ``Session.test()``: one head, each revision upgraded, downgraded and
  upgraded again (the stairway), the downgrade leaving no trace; no model is given,
  so its model check is skipped (pytest-alembic's model test is not run either);
- pytest-alembic's ``test_upgrade`` and ``test_up_down_consistency``, driven through
  its Python API (``CommandExecutor``, ``MigrationContext``, as its ``runner()`` builds
  them), each test on a database of its own as its fixtures give one per test;
- the Alembic commands the walk amounts to, in-process (``inprocess``): for each
  revision ``upgrade +1``, ``downgrade -1``, ``upgrade +1``, one connection, each
  command its own transaction.

Every side reads the revision scripts before timing, skips env.py's logging set-up,
and runs its scratch sessions with the settings nbmigrate gives its scratch database.
"""

from __future__ import annotations

import io
import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.fixtures import Fresh, close_session, revision_project, scratch_engine
from benchmarks.inprocess import InProcess, read_scripts
from benchmarks.postgres import Server
from benchmarks.timing import Row, alternating, goal

NOT_INSTALLED = "pytest-alembic not installed: pip install -e '.[bench]'"


def trials(tmp: Path, revisions: int, runs: int, server: Server | None) -> list[Row]:
    """Scenario 7 on SQLite and, when a server answers, PostgreSQL."""
    rows = _trials_on(tmp / "trial-sqlite", None, revisions, runs)
    if server is not None:
        rows += _trials_on(tmp / "trial-postgresql", server, revisions, runs)
    return rows


def pytest_alembic_tests() -> tuple[Callable[[Any], None], ...] | None:
    """pytest-alembic's ``test_upgrade`` and ``test_up_down_consistency``, if installed."""
    try:
        from pytest_alembic.tests.default import test_up_down_consistency, test_upgrade
    except ImportError:
        return None
    return test_upgrade, test_up_down_consistency


def scratch_maker(server: Server | None) -> Callable[[], Any]:
    """A context manager making an empty scratch database as ``test`` makes its own (a
    file in a new temporary folder, or CREATE DATABASE on the server), yielding an Engine
    on it, and dropping it at the end."""
    numbers = itertools.count(1)

    @contextmanager
    def scratch() -> Iterator[sa.Engine]:
        folder = None
        if server is None:
            folder = Path(tempfile.mkdtemp(prefix="nbmigrate_bench_trial_"))
            url = f"sqlite:///{folder / 'trial.db'}"
        else:
            url = server.create(f"{server.prefix}t{next(numbers)}")
        engine = scratch_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            else:
                assert server is not None
                server.drop(url)

    return scratch


def _trials_on(where: Path, server: Server | None, revisions: int, runs: int) -> list[Row]:
    from nbmigrate.engine import Session
    from nbmigrate.engine.runner import preserve_logging

    fresh = Fresh(where / "databases", server)
    tests = pytest_alembic_tests()
    scratch = scratch_maker(server)
    try:
        url = fresh("connected")
        ini = revision_project(where, url, revisions)
        script, parse = read_scripts(ini)
        alembic = InProcess(ini, script)
        session = Session(ini, url=url)
        session.project.script  # noqa: B018 - read before timing, as in a notebook

        def ours() -> None:
            report = session.test()
            assert not report.failed, report.failure

        def plain() -> None:
            with scratch() as engine, engine.connect() as conn:
                for _ in range(revisions):
                    alembic.upgrade("+1", connection=conn)
                    alembic.downgrade("-1", connection=conn)
                    alembic.upgrade("+1", connection=conn)

        def made_alone() -> None:
            with scratch() as engine, engine.connect():
                pass

        variants: dict[str, Callable[[], object]] = {
            "ours": ours, "plain": plain, "scratch": made_alone}
        if tests is not None:
            variants["pytest"] = lambda: _pytest_alembic(ini, script, scratch, tests)
        checked = _check(ours, plain, tests, ini, script, scratch, revisions)
        with preserve_logging():
            rounds = alternating(variants, runs)
        close_session(session)
    finally:
        fresh.close()

    label = f"7. test, {revisions} revisions ({fresh.dialect})"
    versus_plain = rounds.ratio("ours", "plain")
    rows = [Row(label, "%migrate test (Session.test)", rounds.median("ours"),
                "plain alembic commands", versus_plain,
                f"{goal(versus_plain, '<=', 1.5)}; no model given: its model check "
                f"skipped; {checked}")]
    if tests is None:
        rows.append(Row(label, "pytest-alembic", None, note=NOT_INSTALLED))
    else:
        faster = rounds.ratio("pytest", "ours")
        rows.append(Row(
            label, "pytest-alembic test_upgrade + test_up_down_consistency",
            rounds.median("pytest"), "%migrate test", faster,
            f"{goal(faster, '>=', 3)} (%migrate test this much faster); one Connection "
            f"per test, as nbmigrate's env.py takes one; runner built on the scripts read "
            f"before timing (under pytest each test reads them: +{parse:.2f} s a test)"))
    rows += [
        Row(label, "plain alembic commands in-process", rounds.median("plain"),
            "%migrate test", rounds.ratio("plain", "ours"),
            f"upgrade +1, downgrade -1, upgrade +1 for each revision: {3 * revisions} "
            "commands, one connection"),
        Row(label, "scratch database alone (make + drop)", rounds.median("scratch"),
            note="inside every variant's time (pytest-alembic: twice, a database per test)"),
    ]
    return rows


def _pytest_alembic(ini: Path, script: Any, scratch: Callable[[], Any],
                    tests: tuple[Callable[[Any], None], ...]) -> None:
    """pytest-alembic's tests as its ``runner()`` runs them, each on a database of its own,
    with the ScriptDirectory already read handed to its CommandExecutor."""
    from pytest_alembic.config import Config
    from pytest_alembic.executor import CommandExecutor, ConnectionExecutor
    from pytest_alembic.runner import MigrationContext

    for test in tests:
        with scratch() as engine, engine.connect() as conn:
            config = Config(config_options={"file": str(ini)})
            stdout = io.StringIO()
            executor = CommandExecutor(config.make_alembic_config(stdout), stdout, 0, script)
            context = MigrationContext.from_config(config, executor, ConnectionExecutor(conn))
            executor.configure(connection=conn)
            test(context)


def _check(ours: Callable[[], None], plain: Callable[[], None],
           tests: tuple[Callable[[Any], None], ...] | None, ini: Path, script: Any,
           scratch: Callable[[], Any], revisions: int) -> str:
    """Every variant runs once, untimed, and does what it is meant to (``ours`` asserts
    its report has no failure; the plain commands' statements are counted)."""
    from nbmigrate.engine.runner import preserve_logging

    ours()
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", count)
    try:
        with preserve_logging():
            plain()
            creates = sum(s.lstrip().upper().startswith("CREATE TABLE T") for s in sent)
            if tests is not None:
                _pytest_alembic(ini, script, scratch, tests)
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", count)
    assert creates == 2 * revisions, (creates, revisions)
    return f"checked: every variant ran once; the plain commands created {creates} tables"
