"""A migration that cannot lock its table waits a bounded time, tries again after a growing
pause (saying so), and stops in one line with the database at its last good revision;
released, the same upgrade goes through. On PostgreSQL the revision is undone to its
savepoint and run again; on MariaDB the statement, which did nothing, is sent again."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from helpers import columns, nbmigrate, server_url, table_revision, tables, version

from nbmigrate.engine import NbMigrateError, Session

ADD_EMAIL = '''%%migrate revision -m "email" --rev-id c2
def upgrade():
    op.add_column("users", sa.Column("email", sa.String(50)))

def downgrade():
    op.drop_column("users", "email")
'''

# another table first: on MariaDB it is committed before the ALTER waits, so a statement
# sent again must be the ALTER alone
AUDIT_THEN_EMAIL = '''%%migrate revision -m "audit and email" --rev-id c2
def upgrade():
    op.create_table("audit", sa.Column("id", sa.Integer, primary_key=True))
    op.add_column("users", sa.Column("email", sa.String(50)))

def downgrade():
    op.drop_column("users", "email")
    op.drop_table("audit")
'''

KINDS = ["postgresql", "mysql"]


@contextmanager
def reading_users(url: str) -> Iterator[sa.Connection]:
    """Another session in a transaction that has read ``users``: until it ends it holds a
    lock (PostgreSQL ACCESS SHARE, MariaDB a shared metadata lock) no ALTER can get."""
    engine = sa.create_engine(url)
    conn = engine.connect()
    conn.exec_driver_sql("SELECT * FROM users").all()
    try:
        yield conn
    finally:
        if not conn.closed:
            conn.rollback()
            conn.close()
        engine.dispose()


def project(nb, url: str, revision: str = ADD_EMAIL) -> None:
    """users at c1, and ``revision`` (c2) pending."""
    nb.ok(f"%migrate init migrations --url {url}")
    nb.ok(table_revision("c1", "users"))
    nb.ok("%migrate upgrade c1")
    nb.ok(revision)


def fails(nb, code: str) -> str:
    """The one line a failing cell shows."""
    out = nb.run(code)
    assert out.error is not None, f"{code!r} did not fail"
    assert "Traceback" not in out.shown
    return out.error_line


def session(workdir, told: list[str], timeout: float, retries: int) -> Session:
    """Another kernel's session on the project, its waits told to ``told``."""
    kernel = Session(workdir=workdir)
    kernel.options.lock_timeout, kernel.options.lock_retries = timeout, retries
    kernel.options.on_wait = told.append
    return kernel


@pytest.mark.server
@pytest.mark.parametrize("kind", KINDS)
def test_a_held_table_times_out_is_tried_again_and_stops_with_nothing_changed(
        nb, workdir, kind):
    url = server_url(kind)
    project(nb, url)
    told: list[str] = []
    kernel = session(workdir, told, 0.5, 2)
    started = time.monotonic()
    with reading_users(url) as reading, pytest.raises(NbMigrateError) as stopped:
        holder = reading.exec_driver_sql("SELECT CONNECTION_ID()").scalar() \
            if kind == "mysql" else None
        kernel.upgrade("head")
    took = time.monotonic() - started
    message = str(stopped.value)
    print(message, told, sep="\n")
    timeout = 0.5 if kind == "postgresql" else 1  # MariaDB's settings take whole seconds
    assert "\n" not in message
    assert "stopped at revision c2" in message
    assert (f"could not lock users within {timeout:g} s, 3 tries: another session holds it"
            in message)
    assert "default is now at c1" in message
    if kind == "postgresql":  # the server tells who holds it
        assert "pid " in message and "SELECT * FROM users" in message
    else:  # the oldest open transaction: the reading session, idle
        assert re.search(rf"another session holds it \(probably connection {holder}, "
                         r"root@[\w.]+, in a transaction for \d+ s, idle\)", message)
    # each wait was told as it began, with the pause growing
    assert len(told) == 2, told
    assert "(try 1 of 3)" in told[0] and f"trying again in {timeout / 2:g} s" in told[0]
    assert "(try 2 of 3)" in told[1] and f"trying again in {timeout:g} s" in told[1]
    # three waits of the timeout (MariaDB's whole second) and the pauses: not the server's
    # default (PostgreSQL waits for ever, MariaDB a year)
    assert took < 20
    assert version(url) == {"c1"} and "email" not in columns(url, "users")
    log = kernel.log()
    failed = log.entries[0]
    assert (failed.revision, failed.status) == ("c2", "failed")
    assert "could not lock users" in failed.error
    # released, the same upgrade goes through, on the same pooled connection
    kernel.upgrade("head")
    assert version(url) == {"c2"} and "email" in columns(url, "users")


@pytest.mark.server
@pytest.mark.parametrize("kind", KINDS)
def test_a_lock_released_during_the_pause_lets_the_revision_through(nb, workdir, kind):
    url = server_url(kind)
    project(nb, url, AUDIT_THEN_EMAIL)
    told: list[str] = []
    kernel = session(workdir, told, 0.5, 3)
    with reading_users(url) as holder:
        release = threading.Timer(0.3, holder.rollback)  # before the first timeout ends
        release.start()
        try:
            result = kernel.upgrade("head")
        finally:
            release.cancel()
    assert [step.revision for step in result.steps] == ["c2"]
    assert version(url) == {"c2"}
    assert {"audit", "users"} <= tables(url) and "email" in columns(url, "users")
    log = kernel.log()
    assert [(r.revision, r.status) for r in log.entries[:2]] == [("c2", "ok"), ("c1", "ok")]


@pytest.mark.server
def test_mariadb_sends_only_the_statement_that_waited_again(nb, workdir):
    # DDL commits as it goes there: "audit" was made before the ALTER waited, and making
    # it again would fail; the ALTER alone is sent again
    url = server_url("mysql")
    project(nb, url, AUDIT_THEN_EMAIL)
    told: list[str] = []
    kernel = session(workdir, told, 1, 3)
    with reading_users(url) as holder:
        release = threading.Timer(1.6, holder.rollback)  # after the first timeout
        release.start()
        try:
            kernel.upgrade("head")
        finally:
            release.cancel()
    assert told and "could not lock users within 1 s (try 1 of 4)" in told[0]
    assert version(url) == {"c2"} and "email" in columns(url, "users")


@pytest.mark.server
def test_postgresql_keeps_the_revisions_before_the_one_that_could_not_lock(nb, workdir):
    url = server_url("postgresql")
    nb.ok(f"%migrate init migrations --url {url}")
    nb.ok(table_revision("c1", "users"))
    nb.ok("%migrate upgrade c1")
    nb.ok(table_revision("c2", "audit"))
    nb.ok(ADD_EMAIL.replace("--rev-id c2", "--rev-id c3"))
    kernel = session(workdir, [], 0.2, 1)
    with reading_users(url), pytest.raises(NbMigrateError) as stopped:
        kernel.upgrade("head")
    assert "stopped at revision c3" in str(stopped.value)
    assert "1 revision(s) applied before it; default is now at c2" in str(stopped.value)
    assert version(url) == {"c2"} and "audit" in tables(url)
    assert "email" not in columns(url, "users")
    with sa.create_engine(url).connect() as conn:  # the timeout went with the run
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "0"
    for database in kernel.databases:
        with database.engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "0"


@pytest.mark.server
def test_the_notebook_and_the_terminal_set_the_bound(nb, workdir):
    url = server_url("postgresql")
    project(nb, url)
    nb.ok("%config NbMigrate.lock_timeout = 0.2")
    nb.ok("%config NbMigrate.lock_retries = 0")
    with reading_users(url):
        failed = fails(nb, "%migrate upgrade")
        assert "could not lock users within 0.2 s, 1 try" in failed
        assert "\n" not in failed
        # the command line's own, over the notebook's
        failed = fails(nb, "%migrate upgrade --lock-timeout 0.3 --lock-retries 1")
        assert "could not lock users within 0.3 s, 2 tries" in failed
        run = nbmigrate("upgrade", "head", "--lock-timeout", "0.2", "--lock-retries", "0",
                        cwd=workdir, NBMIGRATE_URL=url)
        assert run.returncode == 1
        assert "could not lock users within 0.2 s, 1 try" in run.stderr
        assert "Traceback" not in run.stderr
    assert version(url) == {"c1"}
    nb.ok("%migrate upgrade")
    assert version(url) == {"c2"}


@pytest.mark.parametrize("flags", ["--lock-timeout -1", "--lock-timeout soon",
                                   "--lock-retries 1.5", "--lock-retries -2"])
def test_a_bad_bound_is_one_line_and_changes_nothing(nb, workdir, flags):
    url = f"sqlite:///{workdir / 'app.db'}"
    project(nb, url)
    failed = fails(nb, f"%migrate upgrade {flags}")
    assert "\n" not in failed and ("lock" in failed or "not" in failed)
    assert version(url) == {"c1"}


def test_sqlite_has_no_table_locks_to_bound_and_upgrades_as_before(nb, workdir):
    url = f"sqlite:///{workdir / 'app.db'}"
    project(nb, url)
    nb.ok("%migrate upgrade --lock-timeout 1 --lock-retries 2")
    assert version(url) == {"c2"}


def test_lint_notes_a_revision_outside_the_upgrade_s_transaction(nb, workdir):
    url = f"sqlite:///{workdir / 'app.db'}"
    nb.ok(f"%migrate init migrations --url {url}")
    nb.ok(table_revision("c1", "users"))
    nb.ok('''%%migrate revision -m "index" --rev-id c2
def upgrade():
    with op.get_context().autocommit_block():
        op.create_index("ix_users_id", "users", ["id"])

def downgrade():
    op.drop_index("ix_users_id", "users")
''')
    report = nb.ok("%migrate lint")
    notes = report[(report.revision == "c2") & (report.operation == "(revision)")]
    assert len(notes) == 1
    assert "outside the upgrade's one transaction" in notes.warning.iloc[0]
    assert "not tried again" in notes.warning.iloc[0]
    assert not report[report.revision == "c1"].warning.str.contains("outside").any()
