"""Progress on long work (issue 15, part 3): a bar once work has taken a second.

In a notebook the bar is tqdm's widget, replaced by a summary line when the command
ends; in a terminal it is tqdm's line on stderr, only when stderr is a TTY, ending with
N/N; stdout is the same either way, and quick work shows nothing extra.
"""

from __future__ import annotations

import fcntl
import inspect
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
from helpers import (
    MODEL_CELL,
    SCRIPT,
    Notebook,
    notebook,
    run_all,
    tables,
    terminal_environ,
)

from nbmigrate.engine import authoring, reading
from nbmigrate.engine.session import Session

SLOW = 40  # revisions
PAUSE = 0.05  # seconds each one sleeps: 2 s in all, well past the bar's one second

SLOW_REVISION = '''"""{message}

Revision ID: {rev}
Revises: {down}
"""
import time

import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down_literal}
branch_labels = None
depends_on = None


def upgrade():
    time.sleep({pause})
    op.create_table("t{n:02d}", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    time.sleep({pause})
    op.drop_table("t{n:02d}")
'''


def cli(*args: str) -> list[str]:
    """The console command line for ``args``."""
    command = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "nbmigrate.cli"]
    return [*command, *args]


def init_project(directory: Path) -> None:
    """``nbmigrate init`` in ``directory``: a project on SQLite app.db, nothing applied."""
    done = subprocess.run(cli("init", "migrations", "--url", "sqlite:///app.db"),
                          cwd=directory, env=terminal_environ(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def slow_project(workdir: Path) -> Path:
    """A project with 40 slow revisions, its SQLite database at base."""
    init_project(workdir)
    write_slow_revisions(workdir)
    return workdir


def write_slow_revisions(project: Path, count: int = SLOW, pause: float = PAUSE,
                         message: str = "step {n}") -> list[str]:
    """Revision scripts s01..sNN in ``project``/migrations/versions, a line, each sleeping
    ``pause`` seconds and creating table tNN, with ``message`` (``{n}``: its number);
    their ids, oldest first."""
    versions = project / "migrations" / "versions"
    ids = [f"s{n:02d}" for n in range(1, count + 1)]
    for n, rev in enumerate(ids, start=1):
        down = ids[n - 2] if n > 1 else None
        (versions / f"{rev}_step_{n}.py").write_text(SLOW_REVISION.format(
            n=n, rev=rev, down=down or "", down_literal=repr(down), pause=pause,
            message=message.format(n=n)))
    return ids


# ------------------------------------------------------------------ the notebook


@pytest.fixture
def kernel(nb: Notebook, monkeypatch: pytest.MonkeyPatch) -> Notebook:
    """The in-process notebook as a Jupyter kernel's shell: cells show widgets."""
    monkeypatch.setattr(nb.shell, "kernel", object(), raising=False)
    return nb


def bars(out) -> list:
    """The progress widgets a cell displayed (tqdm's box of label, bar and counts)."""
    return [o for o in out.outputs if not o.update
            and "application/vnd.jupyter.widget-view+json" in o.data]


def summaries(out) -> list[str]:
    """What the cell's bars became when the command ended."""
    return [o.data["text/plain"] for o in out.outputs if o.update]


def slow_notebook(nb: Notebook, workdir: Path) -> list[str]:
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    return write_slow_revisions(workdir)


def test_a_long_upgrade_shows_a_bar_that_ends_as_a_summary(kernel, workdir):
    ids = slow_notebook(kernel, workdir)
    out = kernel.run("%migrate upgrade head")
    assert out.error is None, out.error
    shown = bars(out)
    assert len(shown) == 1, out.outputs
    first = shown[0].data["text/plain"]  # the bar as it first appeared, part-way
    done = int(re.fullmatch(r"upgrade head: .*\] (\d+)/40", first).group(1))
    assert f"s{done:02d} step {done}]" in first, first  # the revision just done, by name
    assert len(summaries(out)) == 1
    assert re.fullmatch(r"upgrade head: 40/40 revisions in \d\d:\d\d", summaries(out)[0])
    assert out.stderr == "" and "%|" not in out.stdout  # no text bar besides the widget
    assert out.result.after == (ids[-1],)  # the result itself is unchanged
    assert {f"t{n:02d}" for n in range(1, 41)} <= tables("sqlite:///app.db")


def test_a_long_downgrade_and_rehearsal_show_bars(kernel, workdir):
    ids = slow_notebook(kernel, workdir)
    kernel.ok("%migrate upgrade head")
    rehearsal = kernel.run("%migrate downgrade base --dry-run")
    assert rehearsal.error is None, rehearsal.error
    assert bars(rehearsal)[0].data["text/plain"].startswith("downgrade base --dry-run:")
    assert len(summaries(rehearsal)) == 1
    assert summaries(rehearsal)[0].startswith("downgrade base --dry-run: 40/40 revisions in ")
    assert kernel.ok("%migrate current").current[0].revision == ids[-1]  # nothing changed

    down = kernel.run("%migrate downgrade base")
    assert down.error is None, down.error
    assert len(bars(down)) == 1
    assert summaries(down)[0].startswith("downgrade base: 40/40 revisions in ")
    assert not {f"t{n:02d}" for n in range(1, 41)} & tables("sqlite:///app.db")


def test_a_quick_upgrade_shows_no_bar(kernel, workdir):
    kernel.ok("%migrate init migrations --url sqlite:///app.db")
    write_slow_revisions(workdir, count=2, pause=0)
    out = kernel.run("%migrate upgrade head")
    assert out.error is None, out.error
    assert out.outputs == [] and out.stderr == ""
    assert out.stdout.startswith("Out[") and "%|" not in out.stdout
    assert out.result.after == ("s02",)


def test_a_failed_upgrade_says_where_it_stopped(kernel, workdir):
    slow_notebook(kernel, workdir)
    broken = workdir / "migrations" / "versions" / "s30_step_30.py"
    broken.write_text(broken.read_text().replace("time.sleep", "1 / 0; time.sleep", 1))
    out = kernel.run("%migrate upgrade head")
    assert "s30" in out.error_line and "ZeroDivisionError" in out.error_line
    assert re.fullmatch(r"upgrade head: stopped after 29/40 revisions \(\d\d:\d\d\)",
                        summaries(out)[0]), summaries(out)


def test_in_a_real_kernel_the_saved_notebook_keeps_the_summary(slow_project):
    """Run All in a Jupyter kernel: the bar is a widget while it runs; what the notebook
    keeps is its summary line, then the result."""
    nb = run_all(notebook("%load_ext nbmigrate", "%migrate upgrade head"), slow_project)
    shown = nb.cells[1].outputs
    assert [o["output_type"] for o in shown] == ["display_data", "execute_result"], shown
    assert set(shown[0]["data"]) == {"text/plain"}  # the widget was replaced
    assert re.fullmatch(r"upgrade head: 40/40 revisions in \d\d:\d\d",
                        shown[0]["data"]["text/plain"])
    assert "to s40" in shown[1]["data"]["text/plain"]


def test_a_cell_outside_a_kernel_writes_no_bar(nb, workdir):
    """The in-process shell without a kernel, its stderr captured (not a terminal)."""
    slow_notebook(nb, workdir)
    out = nb.run("%migrate upgrade head")
    assert out.error is None, out.error
    assert out.outputs == [] and out.stderr == ""


# ------------------------------------------------------------------ the terminal

def run_in_terminal(args: list[str], cwd: Path, *, tty_stderr: bool, **env: str
                    ) -> tuple[str, str, int]:
    """Run the console command with stdout to a pipe and stderr to a pseudo-terminal
    (80 columns) or, if not ``tty_stderr``, to a file, with ``env`` added to a terminal's
    environment; its stdout, stderr and exit code."""
    env = terminal_environ(**env)
    if not tty_stderr:
        err = cwd / "stderr.txt"
        with err.open("w") as file:
            done = subprocess.run(cli(*args), cwd=cwd, env=env, stdout=subprocess.PIPE,
                                  stderr=file, stdin=subprocess.DEVNULL, timeout=120)
        return done.stdout.decode(), err.read_text(), done.returncode
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(cli(*args), cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=child, stdin=subprocess.DEVNULL)
    os.close(child)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:  # the terminal closed: the command has exited
            break
        if not chunk:
            break
        seen.extend(chunk)
    os.close(main)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    return stdout, seen.decode(), proc.wait(timeout=120)


def last_line(terminal: str) -> str:
    """What a terminal shows last: the text after the final carriage return or newline."""
    lines = [part for part in re.split(r"[\r\n]+", terminal) if part.strip()]
    return lines[-1] if lines else ""


def test_a_terminal_shows_a_progress_line_on_stderr(slow_project):
    stdout, stderr, code = run_in_terminal(["upgrade", "head"], slow_project, tty_stderr=True)
    assert code == 0, stderr
    assert re.match(r"\rupgrade head: +\d+%\|", stderr), stderr
    assert last_line(stderr).startswith("upgrade head: 100%|")
    assert last_line(stderr).endswith("] 40/40"), repr(last_line(stderr))
    assert all(len(line) <= 80 for line in re.split(r"[\r\n]+", stderr))  # one line, redrawn
    assert "40/40" not in stdout and "%|" not in stdout
    assert "s40" in stdout  # the result, as without a terminal

    _, _, code = run_in_terminal(["downgrade", "base"], slow_project, tty_stderr=True)
    assert code == 0
    redirected, to_file, code = run_in_terminal(["upgrade", "head"], slow_project,
                                                tty_stderr=False)
    assert code == 0
    assert to_file == ""  # stderr a file: no progress written
    assert normalised(redirected) == normalised(stdout)


def normalised(stdout: str) -> str:
    """stdout with its timings (seconds, dates) blanked, to compare two runs."""
    return re.sub(r"\d{4}-\d\d-\d\d[ T][\d:.]+|\d+\.\d+", "#", stdout)


def test_a_long_message_is_cut_so_that_the_count_stays_on_the_line(workdir):
    init_project(workdir)
    write_slow_revisions(workdir, message="backfill the customers' e-mail addresses from the "
                         "legacy contacts table, batch {n}")
    stdout, stderr, code = run_in_terminal(["upgrade", "head"], workdir, tty_stderr=True)
    assert code == 0, stderr
    redraws = [line for line in re.split(r"[\r\n]+", stderr) if line]
    assert len(redraws) > 2
    assert all(len(line) <= 80 and re.search(r"\] \d+/40$", line) for line in redraws), redraws
    assert any("backfill the" in line for line in redraws)  # the label, cut with "..."


def test_a_terminal_dry_run_shows_progress_and_changes_nothing(slow_project):
    stdout, stderr, code = run_in_terminal(["upgrade", "head", "--dry-run"], slow_project,
                                           tty_stderr=True)
    assert code == 0, stderr
    assert last_line(stderr).startswith("upgrade head --dry-run: 100%|")
    assert last_line(stderr).endswith(" 40/40")
    assert "t01" not in tables(f"sqlite:///{slow_project / 'app.db'}")


def test_tqdm_disable_turns_the_bar_off(slow_project):
    stdout, stderr, code = run_in_terminal(["upgrade", "head"], slow_project, tty_stderr=True,
                                           TQDM_DISABLE="1")
    assert code == 0 and stderr == "" and "to s40" in stdout


def test_a_quick_terminal_command_writes_nothing_to_stderr(workdir):
    init_project(workdir)
    write_slow_revisions(workdir, count=2, pause=0)
    stdout, stderr, code = run_in_terminal(["upgrade", "head"], workdir, tty_stderr=True)
    assert code == 0 and stderr == "" and "s02" in stdout


# ------------------------------------------------------------------ the engine's reports


def test_autogenerate_reports_each_table_compared(nb, workdir):
    """diff, check and revision --autogenerate are told of each table (their Session
    methods pass ``on_progress`` on once they accept it)."""
    models = "\n".join(
        f"Table('m{n:02d}', md, Column('id', Integer, primary_key=True))" for n in range(30))
    nb.ok("from sqlalchemy import Column, Integer, MetaData, Table\nmd = MetaData()\n" + models)
    nb.ok("%migrate init migrations --url sqlite:///app.db --metadata md")
    session = nb.shell.magics_manager.registry["NbMigrate"].session
    seen: list[tuple[str, int, int]] = []
    diff = authoring.diff(session.workspace, on_progress=lambda *a: seen.append(a))
    assert len(diff.operations) == 30
    assert sorted(t for t, _, _ in seen) == [f"m{n:02d}" for n in range(30)]
    assert [(d, p) for _, d, p in seen] == [(n, 30) for n in range(1, 31)]

    seen.clear()
    made = authoring.revision(session.workspace, "thirty tables", autogenerate=True,
                              on_progress=lambda *a: seen.append(a))
    assert len(made.operations) == 30
    assert seen[-1][1:] == (30, 30) and len(seen) == 30


def test_status_reports_each_database(nb, workdir):
    nb.ok(MODEL_CELL)
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    for name in ("second", "third"):
        nb.ok(f"%migrate connect --name {name} sqlite:///{name}.db")
    session = nb.shell.magics_manager.registry["NbMigrate"].session
    seen: list[tuple[str, int, int]] = []
    status = reading.status(session.workspace,
                            on_progress=lambda row, d, p: seen.append((row.name, d, p)))
    assert [r.name for r in status.entries] == [name for name, _, _ in seen]
    assert [(d, p) for _, d, p in seen] == [(1, 3), (2, 3), (3, 3)]


# ------------------------------------------------------------- diff and status in a cell

SLOW_MODEL_CELL = """
import sqlite3
import time

from sqlalchemy import Column, Integer, MetaData, Table
from sqlalchemy.types import UserDefinedType

class SlowToCompare(UserDefinedType):
    \"\"\"An INTEGER that takes {pause} s each time autogenerate compares it.\"\"\"
    cache_ok = True

    def get_col_spec(self, **kw):
        time.sleep({pause})
        return "INTEGER"

md = MetaData()
for n in range({count}):
    Table(f"m{{n:02d}}", md, Column("id", Integer, primary_key=True), Column("v", SlowToCompare()))

def same_tables(path):
    with sqlite3.connect(path) as db:
        for n in range({count}):
            db.execute(f"CREATE TABLE m{{n:02d}} (id INTEGER NOT NULL PRIMARY KEY, v INTEGER)")
"""

passes_progress_on = pytest.mark.skipif(
    not all("on_progress" in inspect.signature(getattr(Session, name)).parameters
            for name in ("diff", "check", "revision", "status")),
    reason="Session.diff/check/revision/status do not pass on_progress on to the engine yet")


@passes_progress_on
def test_a_long_diff_shows_a_bar_per_table(kernel, workdir):
    kernel.ok(SLOW_MODEL_CELL.format(count=30, pause=PAUSE))
    kernel.ok("same_tables('app.db')")
    kernel.ok("%migrate init migrations --url sqlite:///app.db --metadata md")
    out = kernel.run("%migrate diff")
    assert out.error is None, out.error
    assert out.result.empty
    first = bars(out)[0].data["text/plain"]
    assert first.startswith("diff:") and re.search(r"\bm\d\d\] \d+/30$", first), first
    assert re.fullmatch(r"diff: 30/30 tables in \d\d:\d\d", summaries(out)[0])


@passes_progress_on
def test_a_long_status_shows_a_bar_per_database(kernel, workdir):
    kernel.ok(SLOW_MODEL_CELL.format(count=10, pause=PAUSE))
    kernel.ok("%migrate init migrations --url sqlite:///app.db --metadata md")
    for name in ("app", "second", "third"):
        kernel.ok(f"same_tables('{name}.db')")
        if name != "app":
            kernel.ok(f"%migrate connect --name {name} sqlite:///{name}.db")
    out = kernel.run("%migrate status")
    assert out.error is None, out.error
    assert list(out.result["drift"]) == [0, 0, 0]  # the table the cell shows
    assert re.fullmatch(r"status: 3/3 databases in \d\d:\d\d", summaries(out)[0])
