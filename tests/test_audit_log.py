"""The audit log: every step recorded in the database, shown by %migrate log."""

from __future__ import annotations

import getpass
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import (
    SCRIPT,
    server_url,
    table_revision,
    tables,
    team_project,
    terminal_environ,
    version,
)
from helpers import nbmigrate as nbmigrate_cli

import nbmigrate


def test_every_step_is_logged_with_who_when_and_how_it_ended(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(table_revision("a1", "ta"))
    nb.ok(table_revision("b2", "tb"))
    nb.ok("%migrate upgrade head")
    nb.ok("%migrate downgrade -1")
    nb.ok("%migrate stamp b2")
    nb.ok(table_revision("c3", "tc", 'raise RuntimeError("broken")'))
    assert nb.run("%migrate upgrade head").error is not None
    log = nb.ok("%migrate log")
    steps = list(zip(log["action"], log["revision"], log["direction"], log["success"],
                     strict=True))
    assert steps == [("upgrade", "c3", "up", False), ("stamp", "b2", "stamp", True),
                     ("downgrade", "b2", "down", True), ("upgrade", "b2", "up", True),
                     ("upgrade", "a1", "up", True)]
    assert "broken" in log["error"].iloc[0] and log["error"].iloc[1:].isna().all()
    assert (log["os_user"] == getpass.getuser()).all()
    assert (log["nbmigrate_version"] == nbmigrate.__version__).all()
    assert list(log["from_revision"].iloc[1:]) == ["a1", "b2", "a1", ""]
    assert log["started_at"].is_monotonic_decreasing

    history = nb.ok("%migrate history")
    applied_at = dict(zip(history["revision"], history["applied_at"], strict=True))
    assert applied_at["a1"] == log["started_at"].iloc[-1]
    assert applied_at["c3"] is None or str(applied_at["c3"]) == "NaT"


def test_autogenerate_never_proposes_to_drop_the_log(nb, db_url, model_cell, workdir):
    nb.ok(model_cell)
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok("%migrate revision --autogenerate -m users")
    nb.ok("%migrate upgrade head")
    assert "nbmigrate_log" in tables(db_url)
    assert nb.ok("%migrate diff").empty
    assert "no changes" in str(nb.ok("%migrate revision --autogenerate -m again"))


def test_a_team_env_py_does_not_drop_the_log_either(nb, workdir, models):
    team_project(workdir, f"sqlite:///{workdir / 'team.db'}")
    env = workdir / "alembic" / "env.py"  # the team's env.py imports its models
    models.write_text("from sqlalchemy import MetaData\nmetadata = MetaData()\n")
    env.write_text(env.read_text().replace("target_metadata = None",
                                           "from models import metadata as target_metadata"))
    nb.ok("%migrate attach alembic.ini")
    nb.ok("%migrate revision -m empty")
    nb.ok("%migrate upgrade head")  # its step's row creates the log table in team.db
    assert "nbmigrate_log" in tables(f"sqlite:///{workdir / 'team.db'}")
    result = nb.ok("%migrate revision --autogenerate -m nothing")
    assert "no changes" in str(result)
    assert len(list((workdir / "alembic" / "versions").glob("*.py"))) == 1


# --- a run cut off: kill -9, Ctrl-C

HANG = '''
    if os.environ.get("NBMIGRATE_TEST_HANG") == revision:
        pathlib.Path("hanging").touch()
        time.sleep(60)'''


def hanging_project(directory: Path, url: str, count: int, *, per_step: bool) -> None:
    """An nbmigrate project of ``count`` revisions r01.. each making a table; the one
    named by NBMIGRATE_TEST_HANG hangs after touching ./hanging. ``per_step``: r01 needs
    autocommit, so each revision commits on its own (else the run is one transaction,
    where DDL is transactional)."""
    done = nbmigrate_cli("init", "migrations", "--url", url, cwd=directory)
    assert done.returncode == 0, done.stderr
    parent = None
    for n in range(1, count + 1):
        rev = f"r{n:02d}"
        first = "with op.get_context().autocommit_block():\n        pass\n    " \
            if per_step and n == 1 else ""
        (directory / "migrations" / "versions" / f"{rev}.py").write_text(
            f'"""{rev}"""\nimport os, pathlib, time\nfrom alembic import op\n'
            f"import sqlalchemy as sa\n\nrevision = {rev!r}\ndown_revision = {parent!r}\n\n\n"
            f"def upgrade():\n    {first}op.create_table('t{rev}', sa.Column('id', "
            f"sa.Integer, primary_key=True)){HANG}\n\n\ndef downgrade():\n"
            f"    op.drop_table('t{rev}')\n")
        parent = rev


def start_hanging(directory: Path, revision: str) -> subprocess.Popen:
    """`nbmigrate upgrade head --yes` in a terminal, returned once ``revision`` hangs
    (--yes: where a run cannot be one transaction, the guard would first read each
    revision's upgrade(), and the reading would hang)."""
    process = subprocess.Popen(
        [str(SCRIPT), "upgrade", "head", "--yes"], cwd=directory, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env=terminal_environ(NBMIGRATE_TEST_HANG=revision))
    deadline = time.monotonic() + 60
    while not (directory / "hanging").exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the revision never started"
        time.sleep(0.05)
    return process


def log_frame(url: str):
    """The audit log of the database at ``url``, newest first, as `%migrate log` shows."""
    session = nbmigrate.Session()
    session.connect(url)
    return session.log().to_frame()


def logged(url: str) -> list[tuple[str, str]]:
    """(revision, status) of each audit row, oldest first."""
    frame = log_frame(url)
    return list(zip(frame.revision, frame.status, strict=True))[::-1]


def logged_errors(url: str) -> list[str | None]:
    return list(log_frame(url).error)[::-1]


def test_kill_9_leaves_a_log_of_exactly_the_revisions_kept(db_url, workdir):
    hanging_project(workdir, db_url, 30, per_step=True)
    process = start_hanging(workdir, "r15")
    process.kill()  # SIGKILL: nothing of nbmigrate's runs after this
    process.communicate()
    assert version(db_url) == {"r14"}
    rows = logged(db_url)
    assert rows[:14] == [(f"r{n:02d}", "ok") for n in range(1, 15)]
    mysql = db_url.startswith("mysql")
    assert rows[14:] == ([("r15", "interrupted")] if mysql else [])  # written before r15 ran

    (workdir / "hanging").unlink()
    if mysql:  # r15's CREATE TABLE committed itself: the log says so; clean up first
        assert "commits each DDL statement" in logged_errors(db_url)[-1]
        with sa.create_engine(db_url).begin() as conn:
            conn.exec_driver_sql("DROP TABLE tr15")
    again = nbmigrate_cli("upgrade", "head", cwd=workdir)
    assert again.returncode == 0, again.stderr
    assert version(db_url) == {"r30"}
    rows = logged(db_url)
    assert sorted(r for r, status in rows if status == "ok") == \
        [f"r{n:02d}" for n in range(1, 31)]
    assert [status for _, status in rows if status != "ok"] == (["interrupted"] if mysql else [])


@pytest.fixture(params=["sqlite", "postgresql"])
def transactional_url(request, tmp_path):
    """A database where DDL is transactional, so that an upgrade can be one transaction."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'one.db'}"
    return server_url(request.param)


def test_kill_9_in_one_transaction_keeps_nothing_and_logs_nothing(transactional_url, workdir):
    hanging_project(workdir, transactional_url, 30, per_step=False)
    process = start_hanging(workdir, "r15")
    process.kill()
    process.communicate()
    assert version(transactional_url) == set() and logged(transactional_url) == []
    assert tables(transactional_url) <= {"alembic_version"}


def test_ctrl_c_is_one_line_keeps_what_was_done_and_logs_the_interruption(db_url, workdir):
    hanging_project(workdir, db_url, 20, per_step=False)
    process = start_hanging(workdir, "r08")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "interrupted at revision r08" in err and "7 revision(s) applied before it" in err
    assert "now at r07" in err and version(db_url) == {"r07"}
    if db_url.startswith("mysql"):  # DDL commits as it goes: what r08 did is named
        assert "kept from the interrupted revision" in err and "CREATE TABLE tr08" in err
        assert "tr08" in tables(db_url)
    else:
        assert "which was undone" in err and "tr08" not in tables(db_url)
    assert logged(db_url) == [*((f"r{n:02d}", "ok") for n in range(1, 8)),
                              ("r08", "interrupted")]


def test_ctrl_c_in_a_notebook_is_one_line_and_the_log_says_interrupted(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(table_revision("a1", "ta"))
    nb.ok(table_revision("b2", "tb", "raise KeyboardInterrupt  # the user pressed Ctrl-C"))
    out = nb.run("%migrate upgrade head --yes")  # --yes: MySQL's guard reads no plan first
    assert "interrupted at revision b2" in out.error_line and "\n" not in out.error_line
    assert "1 revision(s) applied before it" in out.error_line
    log = nb.ok("%migrate log")
    assert list(zip(log["revision"], log["status"], strict=True)) == [("b2", "interrupted"),
                                                                      ("a1", "ok")]
    assert "a1" in str(nb.ok("%migrate current"))
