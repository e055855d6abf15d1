"""Migrations of one database take turns, however each names it; migrations of two
databases never wait on each other; a lock never outlives its holder, on disk or on the
server, and one whose holder was killed blocks nobody."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import another_database, nbmigrate, server_url, table_revision, tables, version

from nbmigrate.engine import NbMigrateError, Session
from nbmigrate.engine.backends.mysql import lock_name

HOLD = "NBMIGRATE_TEST_HOLD"  # the directory where a holding run and the test signal


def held_revision(rev: str, table: str) -> str:
    """A revision cell creating ``table``; in a run started with ``hold``, its upgrade()
    first leaves a file ``holding`` and waits (up to 60 s) for a file ``release``."""
    return f'''%%migrate revision -m "{table}" --rev-id {rev}
def upgrade():
    import os, pathlib, time
    hold = os.environ.get("{HOLD}")
    if hold:
        pathlib.Path(hold, "holding").touch()
        deadline = time.monotonic() + 60
        while not pathlib.Path(hold, "release").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))

def downgrade():
    op.drop_table("{table}")
'''


def upgrading(workdir: Path, url: str, target: str = "head", *, hold: bool = False,
              stderr: Any = subprocess.PIPE) -> subprocess.Popen:
    """`nbmigrate upgrade` of ``url`` in a process of its own, started in ``workdir``
    (holding in a :func:`held_revision` if ``hold``)."""
    env = {k: v for k, v in os.environ.items() if k != HOLD}
    env["NBMIGRATE_URL"] = url
    if hold:
        env[HOLD] = str(workdir)
    return subprocess.Popen([sys.executable, "-m", "nbmigrate.cli", "upgrade", target],
                            cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=stderr,
                            text=True)


def eventually(condition: Callable[[], bool], seconds: float = 60) -> bool:
    """Whether ``condition`` comes true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def lock_files(directory: Path) -> list[str]:
    """The migration lock files under ``directory``."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*.nbmigrate-lock"))


def test_two_processes_upgrading_at_once_apply_each_revision_once(nb, db_url, workdir):
    nb.ok(f"%migrate init migrations --url {db_url}")
    # each revision sleeps long enough for the other process to arrive
    nb.ok(table_revision("c1", "first_table", "import time", "time.sleep(1.5)"))
    nb.ok(table_revision("c2", "second_table", "import time", "time.sleep(1.5)"))
    env = {**os.environ, "NBMIGRATE_URL": db_url}
    runs = [subprocess.Popen([sys.executable, "-m", "nbmigrate.cli", "upgrade", "head"],
                             cwd=workdir, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    said = sorted(out for out, _ in outputs)
    assert "nothing to do (after waiting" in said[0]  # it waited, then found it done
    assert said[1].startswith("upgraded default from base")
    assert any("waiting" in err for _, err in outputs)  # told why it paused
    assert version(db_url) == {"c2"}
    assert {"first_table", "second_table"} <= tables(db_url)
    log = nb.ok("%migrate log")
    assert sorted(log[log["direction"] == "up"]["revision"]) == ["c1", "c2"]  # once each
    assert log["success"].all()
    assert lock_files(workdir) == []


def test_four_names_of_one_sqlite_file_upgrading_at_once_take_turns(nb, workdir):
    (workdir / "data").mkdir()
    db = workdir / "data" / "app.db"
    (workdir / "link.db").symlink_to(db)
    urls = [f"sqlite:///{db}", f"sqlite:///{workdir / 'link.db'}", "sqlite:///data/app.db",
            "sqlite:///file:data/app.db?uri=true"]
    nb.ok(f"%migrate init migrations --url {urls[0]}")
    nb.ok(held_revision("c1", "first_table"))
    nb.ok(table_revision("c2", "second_table"))
    errors = [workdir / f"stderr{i}" for i in range(len(urls))]
    runs = []
    try:
        for url, path in zip(urls, errors, strict=True):
            with path.open("w") as stderr:
                runs.append(upgrading(workdir, url, hold=True, stderr=stderr))
        # whichever took the lock holds it until the three others say they wait for it
        eventually(lambda: (workdir / "holding").exists() and
                   sum("waiting" in p.read_text() for p in errors) == 3)
    finally:
        (workdir / "release").touch()
    said = sorted((run.communicate(timeout=120)[0], path.read_text())
                  for run, path in zip(runs, errors, strict=True))
    assert [run.returncode for run in runs] == [0] * 4, said
    assert said[3][0].startswith("upgraded default from base"), said  # one did the work
    for out, err in said[:3]:  # the others said they waited, then found it done
        assert "waiting" in err and out.startswith("default is already at c2: nothing to do")
    assert version(urls[0]) == {"c2"}
    log = nb.ok("%migrate log")
    assert sorted(log[log["direction"] == "up"]["revision"]) == ["c1", "c2"]  # once each
    assert lock_files(workdir) == []


@pytest.mark.parametrize("kind", ["mysql", "postgresql"])
def test_a_migration_of_another_database_on_the_same_server_does_not_wait(nb, workdir, kind):
    first = server_url(kind)
    with another_database(kind) as second:
        nb.ok(f"%migrate init migrations --url {first}")
        nb.ok(held_revision("c1", "first_table"))
        holder = upgrading(workdir, first, hold=True)
        other, overlapped = None, False
        try:
            if eventually((workdir / "holding").exists):  # it holds the first's lock
                other = nbmigrate("upgrade", "head", cwd=workdir, NBMIGRATE_URL=second)
                overlapped = holder.poll() is None
        finally:
            (workdir / "release").touch()
        held = holder.communicate(timeout=120)
        assert holder.returncode == 0 and other is not None, held
        assert other.returncode == 0, other.stderr
        assert other.stdout.startswith("upgraded default from base")
        assert "waiting" not in other.stderr  # it never said it waited
        assert overlapped  # it was done while the first database's migration still ran
        assert version(first) == version(second) == {"c1"}


def test_mysql_lock_names_are_the_database_s_own_and_within_the_server_s_limit():
    # MySQL refuses a GET_LOCK name over 64 characters and folds its case
    assert lock_name("sales") == "nbmigrate:sales"
    long_names = ["x" * 54 + "_eu", "x" * 54 + "_us", "X" * 57]
    names = [lock_name(schema) for schema in [*long_names, "Sales", "sales"]]
    assert len({name.lower() for name in names}) == len(names)  # none the same
    assert all(len(name.encode()) <= 64 and name.startswith("nbmigrate:") for name in names)
    assert lock_name("Sales") == "nbmigrate:Sales:d0edfb6e8c55c8742a83f0f192886e0e"  # stable


def test_no_lock_file_is_left_after_an_upgrade_a_timeout_or_a_failure(nb, workdir):
    url = f"sqlite:///{workdir / 'app.db'}"
    nb.ok(f"%migrate init migrations --url {url}")
    nb.ok(held_revision("c1", "first_table"))
    nb.ok(table_revision("c2", "second_table", "raise RuntimeError('boom')"))
    kernel = Session(workdir=workdir)  # another kernel, which waits 1 s at most
    kernel.options.migration_wait = 1
    holder = upgrading(workdir, url, "c1", hold=True)
    try:
        assert eventually((workdir / "holding").exists)
        assert lock_files(workdir) == ["app.db.nbmigrate-lock"]  # there while held
        with pytest.raises(NbMigrateError, match="held its lock for over 1 s"):
            kernel.upgrade("c1")
        assert lock_files(workdir) == ["app.db.nbmigrate-lock"]  # still the holder's
    finally:
        (workdir / "release").touch()
        for database in kernel.databases:
            database.engine.dispose()
    held = holder.communicate(timeout=120)
    assert holder.returncode == 0, held
    assert version(url) == {"c1"}
    assert lock_files(workdir) == []  # after an upgrade, and a wait that timed out
    failed = nb.run("%migrate upgrade head")
    assert "boom" in failed.shown
    assert version(url) == {"c1"}
    assert lock_files(workdir) == []  # after a failed upgrade


def test_a_lock_whose_holder_was_killed_blocks_nobody(nb, db_url, workdir):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(held_revision("c1", "first_table"))
    holder = upgrading(workdir, db_url, hold=True)
    try:
        assert eventually((workdir / "holding").exists)
    finally:
        holder.kill()  # kill -9 while it holds the lock, in the middle of its migration
        holder.communicate()
    if db_url.startswith("sqlite"):
        assert lock_files(workdir) == ["test.db.nbmigrate-lock"]  # the dead holder's
    done = nbmigrate("upgrade", "head", cwd=workdir, NBMIGRATE_URL=db_url)  # 120 s at most
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("upgraded default from base")  # the killed run kept nothing
    assert version(db_url) == {"c1"}
    assert "first_table" in tables(db_url)
    assert lock_files(workdir) == []  # the dead holder's lock file went with the next run
