"""Checksums of applied revisions: ``validate`` finds a revision edited (or removed) after a
database applied it, and ``--accept`` records the file as it is now (Flyway's validate and
repair). On SQLite, PostgreSQL and MariaDB, in a notebook and in a terminal."""

from __future__ import annotations

import sqlalchemy as sa
from helpers import nbmigrate, table_revision
from IPython.core.error import UsageError


def applied_project(nb, url: str) -> None:
    nb.ok(f"%migrate init migrations --url {url}")
    nb.ok(table_revision("a1", "ta"))
    nb.ok(table_revision("b2", "tb"))
    nb.ok("%migrate upgrade head")


def script(workdir, prefix: str):
    [path] = (workdir / "migrations" / "versions").glob(f"{prefix}_*.py")
    return path


def test_an_edited_applied_revision_is_found_and_accepted(nb, workdir, db_url):
    applied_project(nb, db_url)
    report = nb.ok("%migrate validate")
    assert [(c.revision, c.state) for c in report.checked] == [("b2", "ok"), ("a1", "ok")]

    path = script(workdir, "a1")
    path.write_text(path.read_text().replace("pass", "pass  # tuned later"))
    out = nb.run("%migrate validate")
    assert isinstance(out.error, UsageError) and "\n" not in out.error_line
    assert "a1 (edited)" in out.error_line and "--accept" in out.error_line
    shown = nb.ns["_"]  # the report stays at hand
    assert {c.revision: c.state for c in shown.checked} == {"a1": "edited", "b2": "ok"}
    done = nbmigrate("validate", cwd=workdir)
    assert done.returncode == 1 and "a1 (edited)" in done.stderr
    assert "edited" in done.stdout  # the table, for CI logs

    [note] = nb.ok("%migrate status")["note"]  # status says so too
    assert note.endswith("applied revision(s) changed since: a1")

    accepted = nb.ok("%migrate validate --accept a1")
    assert accepted.accepted == "a1" and not accepted.problems
    assert nbmigrate("validate", cwd=workdir).returncode == 0
    newest = nb.ok("%migrate log").iloc[0]  # the log's DataFrame
    assert (newest["action"], newest["revision"], newest["status"]) == ("accept", "a1", "ok")


def test_line_endings_are_not_an_edit(nb, workdir):
    applied_project(nb, "sqlite:///app.db")
    path = script(workdir, "b2")
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # a checkout on Windows
    assert not nb.ok("%migrate validate").problems


def test_a_removed_file_and_revisions_applied_before_checksums(nb, workdir):
    applied_project(nb, "sqlite:///app.db")
    engine = sa.create_engine(f"sqlite:///{workdir / 'app.db'}")
    with engine.begin() as conn:  # as an older nbmigrate wrote the log: no checksum
        conn.exec_driver_sql("UPDATE nbmigrate_log SET checksum = NULL WHERE revision = 'a1'")
    engine.dispose()
    states = {c.revision: c.state for c in nb.ok("%migrate validate").checked}
    assert states == {"a1": "unknown", "b2": "ok"}  # not known: not an error

    nb.ok("%migrate downgrade -1")  # b2 no longer applied: its file may go
    script(workdir, "b2").unlink()
    assert {c.revision for c in nb.ok("%migrate validate").checked} == {"a1"}


def test_accept_names_only_applied_revisions(nb, workdir):
    applied_project(nb, "sqlite:///app.db")
    nb.ok("%migrate downgrade -1")
    out = nb.run("%migrate validate --accept b2")
    assert isinstance(out.error, UsageError)
    assert "not a revision default has applied" in out.error_line


def test_each_applied_step_keeps_its_checksum(nb, workdir, db_url):
    """Every applied step's row keeps the hash of the file it ran."""
    applied_project(nb, db_url)
    log = nb.ok("%migrate log")
    rows = dict(zip(log["revision"], log["checksum"], strict=True))
    assert all(len(rows[rev] or "") == 64 for rev in ("a1", "b2")), rows
