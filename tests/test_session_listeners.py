"""The Session tells its listeners what each command changed (the dashboard follows it).

Driven through the engine's Session as a front end would: each command that changes
a database, the scripts, the tags or the connections tells every listener once it is
done (a move that stops part-way too); reads and previews tell nobody; a listener
that raises never breaks the command; a listener that is gone is not called.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import version

from nbmigrate.engine import Session
from nbmigrate.engine.errors import DestructiveChange, NbMigrateError
from nbmigrate.engine.events import Change


def body(table: str, *extra: str) -> str:
    """A revision body creating ``table`` (then running ``extra``)."""
    steps = "\n    ".join(extra) or "pass"
    return (f"def upgrade():\n    op.create_table('{table}', sa.Column('id', sa.Integer, "
            f"primary_key=True))\n    {steps}\n\ndef downgrade():\n    op.drop_table('{table}')\n")


@pytest.fixture
def told(tmp_path: Path) -> tuple[Session, list[Change], str]:
    """A session with a project and a SQLite database, and the changes it tells a listener."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    session = Session(workdir=tmp_path)
    seen: list[Change] = []
    session.subscribe(seen.append)
    session.init("migrations", url=url)
    yield session, seen, url
    for database in session.databases:
        database.engine.dispose()


def test_each_changing_command_tells_what_it_changed(told, tmp_path):
    session, seen, url = told
    [init] = seen
    assert (init.command, init.scripts, init.connections) == ("init", True, True)
    seen.clear()

    session.revision("ta", rev_id="aaaa0001", body=body("ta"))
    session.revision("tb", rev_id="bbbb0002", body=body("tb"))
    assert [(c.command, c.scripts, c.databases) for c in seen] == [
        ("revision", True, frozenset()), ("revision", True, frozenset())]
    seen.clear()

    session.upgrade("head")
    session.downgrade("-1")
    session.stamp("bbbb0002")
    assert [(c.command, c.databases, c.scripts, c.failed) for c in seen] == [
        ("upgrade", {"default"}, False, False), ("downgrade", {"default"}, False, False),
        ("stamp", {"default"}, False, False)]
    seen.clear()

    session.validate(accept="aaaa0001")  # the audit log records the file as applied
    assert [(c.command, c.databases, c.scripts) for c in seen] == [
        ("validate", {"default"}, False)]
    seen.clear()

    session.tag("v1", "aaaa0001")
    session.untag("v1")
    assert [(c.command, c.tags, c.scripts) for c in seen] == [
        ("tag", True, False), ("untag", True, False)]
    seen.clear()

    session.connect(f"sqlite:///{tmp_path / 'other.db'}", name="other")
    session.upgrade("head", db="other")
    assert [(c.command, c.connections, c.databases) for c in seen] == [
        ("connect", True, {"other"}), ("upgrade", False, {"other"})]
    assert version(f"sqlite:///{tmp_path / 'other.db'}") == {"bbbb0002"}


def test_reads_previews_refusals_and_moves_with_nothing_to_do_tell_nobody(told, tmp_path):
    session, seen, url = told
    session.revision("ta", rev_id="aaaa0001", body=body("ta"))
    session.upgrade("head")
    seen.clear()
    session.upgrade("head")  # already there
    session.downgrade("base", dry_run=True)
    session.downgrade("aaaa0001:base", sql=True)
    session.plan("downgrade", "base")
    session.history(), session.current(), session.tags(), session.graph(), session.status()
    session.validate()
    with pytest.raises(NbMigrateError):
        session.revision("bad", body="def upgrade(:\n")  # refused: nothing written
    with pytest.raises(NbMigrateError, match="cannot connect"):
        session.connect(f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}", name="bad")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO ta (id) VALUES (1)")
    engine.dispose()
    with pytest.raises(DestructiveChange):  # refused before anything ran
        session.downgrade("base")
    assert seen == []
    assert version(url) == {"aaaa0001"}


def test_a_move_that_stops_part_way_still_tells(told):
    session, seen, url = told
    session.revision("ta", rev_id="aaaa0001", body=body("ta"))
    session.revision("tb", rev_id="bbbb0002", body=body("tb", "raise RuntimeError('boom')"))
    seen.clear()
    with pytest.raises(NbMigrateError, match="stopped at revision bbbb0002"):
        session.upgrade("head")
    assert version(url) == {"aaaa0001"}  # the first revision was kept
    [change] = seen
    assert (change.command, change.databases, change.failed) == (
        "upgrade", {"default"}, True)


def test_a_listener_that_raises_never_breaks_the_command(told, log_messages):
    session, seen, url = told
    session.subscribe(lambda change: 1 / 0)
    after: list[str] = []
    session.subscribe(lambda change: after.append(change.command))
    session.revision("ta", rev_id="aaaa0001", body=body("ta"))
    result = session.upgrade("head")
    assert result.after == ("aaaa0001",) and version(url) == {"aaaa0001"}
    assert after == ["revision", "upgrade"]  # the listeners after it are still told
    assert any("listener failed after upgrade: ZeroDivisionError" in m for m in log_messages)


def test_an_unsubscribed_or_collected_listener_is_not_called(told):
    session, seen, url = told

    class View:
        calls: list[str] = []

        def changed(self, change: Change) -> None:
            View.calls.append(change.command)

    kept, dropped = View(), View()
    stop = session.subscribe(kept.changed)
    session.subscribe(dropped.changed)
    assert len(session.listeners) == 3
    del dropped
    gc.collect()
    assert len(session.listeners) == 2  # a bound method does not keep its object alive
    session.revision("ta", rev_id="aaaa0001", body=body("ta"))
    assert View.calls == ["revision"]
    stop()
    session.upgrade("head")
    assert View.calls == ["revision"] and [c.command for c in seen][-1] == "upgrade"


def test_the_fingerprint_changes_with_the_scripts_tags_and_heads(told, tmp_path):
    session, seen, url = told
    first = session.fingerprint()
    assert session.fingerprint() == first  # nothing changed: the same look
    # another process writes a revision file
    (tmp_path / "migrations" / "versions" / "aaaa0001_ta.py").write_text(
        '"""ta"""\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = "aaaa0001"\n'
        "down_revision = None\nbranch_labels = None\ndepends_on = None\n\n" + body("ta"))
    scripts = session.fingerprint()
    assert scripts.scripts != first.scripts and scripts.heads == first.heads == ()
    session.upgrade("head")
    moved = session.fingerprint()
    assert moved.heads == ("aaaa0001",) and moved.scripts == scripts.scripts
    session.tag("v1")
    assert session.fingerprint().tags != moved.tags
