"""The dashboard (``ui = %migrate ui``) driven as a user would, without a browser.

Buttons are clicked with ``button.click()`` and choices made by setting values;
the assertions are on the database (revision, tables, columns), on the files
written, and on what the widget shows: header, history, plan, status line.
"""

from __future__ import annotations

import gc
import re
import weakref
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import (
    MODEL_CELL,
    columns,
    nbmigrate,
    server_url,
    table_revision,
    tables,
    version,
    with_password,
)

from nbmigrate.widgets import Dashboard

WITH_EMAIL = MODEL_CELL.replace(
    "name: Mapped[str] = mapped_column(String(50))",
    "name: Mapped[str] = mapped_column(String(50))\n"
    "    email: Mapped[str | None] = mapped_column(String(100))",
)


def open_dashboard(nb) -> Dashboard:
    nb.ok("ui = %migrate ui")
    ui = nb.ns["ui"]
    assert isinstance(ui, Dashboard)
    return ui


def start(nb, workdir: Path) -> tuple[str, Dashboard]:
    url = f"sqlite:///{workdir / 'app.db'}"
    nb.ok(MODEL_CELL)
    nb.ok(f"%migrate init migrations --url {url}")
    return url, open_dashboard(nb)


def scripts(workdir: Path) -> list[Path]:
    return sorted((workdir / "migrations" / "versions").glob("*.py"))


def text(html: str) -> str:
    """What a user reads in an HTML widget: tags dropped, entities decoded."""
    import html as h

    return " ".join(h.unescape(re.sub(r"<style>.*?</style>|<[^>]+>", " ", html)).split())


def marked_rows(html: str) -> list[str]:
    """The highlighted rows of an nbmigrate table, as text."""
    return [text(row) for row in re.findall(r"<tr class=nbm-mark>(.*?)</tr>", html)]


def all_shown(widget) -> str:
    """Every string a widget tree shows: values, labels, options, descriptions."""
    out = []
    for name in ("value", "description", "tooltip", "placeholder"):
        value = getattr(widget, name, None)
        if isinstance(value, str):
            out.append(value)
    out.extend(str(o) for o in getattr(widget, "options", ()) or ())
    for child in getattr(widget, "children", ()) or ():
        out.append(all_shown(child))
    return "\n".join(out)


# ------------------------------------------------------------- new revision


def test_autogenerate_previews_discard_writes_nothing_save_writes_the_script(nb, workdir):
    url, ui = start(nb, workdir)
    panel = ui.authoring
    assert panel.preview.layout.display == "none"
    assert panel.save.disabled and panel.discard.disabled  # nothing to save yet

    panel.message.value = "create users"
    panel.autogenerate.click()
    assert ui.status.kind == "ok", ui.status.text
    assert panel.preview.layout.display == ""
    assert panel.preview.titles == ("Operations", "Python", "SQL")
    assert "add_table users" in text(panel.operations.value)
    assert "op.create_table('users'" in text(panel.python.value)
    assert "CREATE TABLE users" in text(panel.sql.value)
    assert not panel.save.disabled and not panel.discard.disabled

    panel.discard.click()
    assert ui.status.text == "preview discarded: nothing written"
    assert scripts(workdir) == [] and panel.preview.layout.display == "none"
    assert panel.save.disabled

    panel.autogenerate.click()
    panel.save.click()
    assert ui.status.kind == "ok" and ui.status.text.startswith("wrote revision")
    [written] = scripts(workdir)
    assert "create users" in written.read_text()
    assert "create users" in text(ui.history.value)  # the view refreshed
    assert panel.message.value == "" and panel.preview.layout.display == "none"
    assert version(url) == set()  # saving writes a script; it applies nothing


def test_save_writes_nothing_when_the_model_changed_since_the_preview(nb, workdir):
    url, ui = start(nb, workdir)
    ui.authoring.message.value = "create users"
    ui.authoring.autogenerate.click()
    nb.ok(WITH_EMAIL)  # the model cell is re-run after the preview
    ui.authoring.save.click()
    assert ui.status.kind == "error"
    assert "changed since the preview: nothing written" in ui.status.text
    assert scripts(workdir) == []
    ui.authoring.autogenerate.click()  # a new preview, with the email column, saves
    ui.authoring.save.click()
    assert ui.status.kind == "ok", ui.status.text
    [written] = scripts(workdir)
    assert "email" in written.read_text()


def test_a_destructive_operation_is_flagged_in_the_preview(nb, workdir):
    url, ui = start(nb, workdir)
    nb.ok("%migrate revision --autogenerate -m 'create users'")
    nb.ok("%migrate upgrade head")
    nb.ok(MODEL_CELL.replace("    name: Mapped[str] = mapped_column(String(50))\n", ""))
    ui.authoring.autogenerate.click()
    operations = ui.authoring.operations.value
    assert "destructive: remove_column users.name" in text(operations)
    marked = marked_rows(operations)
    assert len(marked) == 1 and "remove_column users name" in marked[0]


def test_save_without_a_message_is_an_error_line_and_writes_nothing(nb, workdir):
    _, ui = start(nb, workdir)
    ui.authoring.autogenerate.click()
    ui.authoring.save.click()
    assert ui.status.kind == "error"
    assert ui.status.text == "give the revision a message first"
    assert "error: give the revision a message first" in text(ui.status.value)
    assert scripts(workdir) == []
    assert not ui.authoring.save.disabled  # the user can type one and save


def test_an_engine_error_is_one_line_in_the_status_and_buttons_work_again(nb, workdir):
    url, ui = start(nb, workdir)
    nb.ok("%migrate revision --autogenerate -m 'create users'")  # written, not applied
    nb.ok(WITH_EMAIL)
    ui.authoring.message.value = "add email"
    ui.authoring.autogenerate.click()
    ui.authoring.save.click()
    assert ui.status.kind == "error"
    assert "is not at head: run %migrate upgrade head " in ui.status.text
    assert "\n" not in ui.status.text and "Traceback" not in ui.status.value
    assert len(scripts(workdir)) == 1
    assert not any(b.disabled for b in (ui.authoring.autogenerate, ui.refresh_button,
                                        ui.upgrade.preview))


# ------------------------------------------------------- upgrade / downgrade


def test_preview_then_apply_upgrades_and_the_view_refreshes(nb, workdir):
    url, ui = start(nb, workdir)
    nb.ok("%migrate revision --autogenerate -m 'create users' --rev-id aaaa0001")
    ui.refresh_button.click()
    panel = ui.upgrade
    assert "base (no revision applied)" in text(ui.header.value)
    assert panel.target.value == "head"
    assert panel.apply.disabled  # look before you leap: no plan, no Apply

    panel.preview.click()
    assert ui.status.kind == "ok", ui.status.text
    assert "create_table" in text(panel.plan.value) and "users" in text(panel.plan.value)
    assert version(url) == set()  # a preview changes nothing
    assert not panel.apply.disabled and panel.confirm.layout.display == "none"

    panel.apply.click()
    assert ui.status.kind == "ok", ui.status.text
    assert ui.status.text.startswith("upgraded default from base")
    assert version(url) == {"aaaa0001"}
    assert columns(url, "users") == {"id", "name"}
    assert "is at aaaa0001 (create users)" in text(ui.header.value)
    assert "up to date" in text(ui.header.value)
    assert [r.split()[0] for r in marked_rows(ui.history.value)] == ["aaaa0001"]
    assert '[current]' in ui.graph.value
    assert (panel.progress.value, panel.progress.max) == (1, 1)
    assert panel.apply.disabled  # the plan was used; a new Apply needs a new Preview


def test_changing_the_target_drops_the_preview(nb, workdir):
    url, ui = start(nb, workdir)
    for rev, table in (("aaaa0001", "ta"), ("bbbb0002", "tb")):
        nb.ok(table_revision(rev, table))
    ui.refresh_button.click()
    ui.upgrade.preview.click()
    assert not ui.upgrade.apply.disabled
    ui.upgrade.target.value = "+1"
    assert ui.upgrade.apply.disabled and ui.upgrade.plan.value == ""
    ui.upgrade.preview.click()
    ui.upgrade.apply.click()
    assert version(url) == {"aaaa0001"}  # +1, not head


def test_a_destructive_downgrade_is_refused_until_confirmed(nb, workdir):
    url, ui = start(nb, workdir)
    nb.ok("%migrate revision --autogenerate -m 'create users' --rev-id aaaa0001")
    nb.ok("%migrate upgrade head")
    nb.ok(WITH_EMAIL)
    nb.ok("%migrate revision --autogenerate -m 'add email' --rev-id bbbb0002")
    nb.ok("%migrate upgrade head")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO users (name, email) VALUES ('ada', 'ada@example.org')")
    engine.dispose()
    ui.refresh_button.click()

    panel = ui.upgrade
    panel.action.value = "downgrade"
    assert panel.target.value == "-1"
    panel.preview.click()
    shown = text(panel.plan.value)
    assert "would lose data: drop_column users.email" in shown
    assert panel.confirm.layout.display == ""  # the confirmation is offered with the plan

    panel.apply.click()  # not confirmed: the engine refuses and nothing changes
    assert ui.status.kind == "error"
    assert "\n" not in ui.status.text and "email" in ui.status.text
    assert version(url) == {"bbbb0002"} and "email" in columns(url, "users")
    assert panel.confirm.layout.display == "" and not panel.confirm.disabled

    panel.confirm.click()
    assert ui.status.kind == "ok", ui.status.text
    assert version(url) == {"aaaa0001"} and columns(url, "users") == {"id", "name"}
    assert panel.confirm.layout.display == "none"


DROP_EMAIL_FILE = '''"""drop email

Revision ID: cccc0003
Revises: bbbb0002
"""
from alembic import op

revision = "cccc0003"
down_revision = "bbbb0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("email")


def downgrade():
    pass
'''


@pytest.mark.parametrize("change", ["new revision", "edited revision", "moved database"])
def test_apply_runs_only_what_the_preview_showed(nb, workdir, change):
    url, ui = start(nb, workdir)
    nb.ok("%migrate revision --autogenerate -m 'create users' --rev-id aaaa0001")
    nb.ok("%migrate upgrade head")
    nb.ok(WITH_EMAIL)
    nb.ok("%migrate revision --autogenerate -m 'add email' --rev-id bbbb0002")
    ui.refresh_button.click()
    panel = ui.upgrade
    panel.target.value = "heads"
    panel.preview.click()
    assert [s.revision for s in panel.planned[3].steps] == ["bbbb0002"]
    if change == "new revision":  # arrives after the preview, dropping a column with data
        (workdir / "migrations" / "versions" / "cccc0003_drop_email.py").write_text(
            DROP_EMAIL_FILE)
        expected = {"aaaa0001"}
    elif change == "edited revision":
        script = next((workdir / "migrations" / "versions").glob("bbbb0002_*.py"))
        script.write_text(script.read_text().replace("def downgrade", "# edited\ndef downgrade"))
        expected = {"aaaa0001"}
    else:  # another kernel upgraded the database meanwhile
        nb.ok("%migrate upgrade head")
        expected = {"bbbb0002"}
    panel.confirm.click() if panel.confirm.layout.display == "" else panel.apply.click()
    assert ui.status.kind == "error" and "since the preview" in ui.status.text, ui.status.text
    assert "preview again" in ui.status.text and version(url) == expected


def test_progress_advances_per_revision_while_the_buttons_are_off(nb, workdir):
    url, ui = start(nb, workdir)
    revisions = (("aaaa0001", "ta"), ("bbbb0002", "tb"), ("cccc0003", "tc"))
    for rev, table in revisions:
        nb.ok(table_revision(rev, table))
    ui.refresh_button.click()
    panel = ui.upgrade
    seen = []
    panel.step.observe(lambda change: seen.append(
        (change["new"], panel.progress.value, panel.progress.max,
         [b.disabled for b in ui.buttons], ui.status.kind)), names="value")
    panel.preview.click()
    panel.apply.click()
    assert version(url) == {"cccc0003"}
    steps = [s for s in seen if "/" in s[0]]
    assert [s[:3] for s in steps] == [
        ("1/3: up aaaa0001 ta", 1, 3), ("2/3: up bbbb0002 tb", 2, 3),
        ("3/3: up cccc0003 tc", 3, 3),
    ]
    assert all(all(disabled) and kind == "busy" for *_, disabled, kind in steps)
    assert not ui.refresh_button.disabled and not panel.preview.disabled  # on again after
    seen.clear()
    nb.ok("%migrate downgrade base --yes")  # the hook was the widget's only while it ran
    assert seen == [] and version(url) == set()


def test_a_failing_migration_shows_where_it_stopped(nb, workdir):
    url, ui = start(nb, workdir)
    nb.ok(table_revision("aaaa0001", "ta"))
    nb.ok(table_revision("bbbb0002", "tb", "raise RuntimeError('boom')"))
    ui.refresh_button.click()
    ui.upgrade.preview.click()
    ui.upgrade.apply.click()
    assert ui.status.kind == "error"
    assert "stopped at revision bbbb0002" in ui.status.text and "boom" in ui.status.text
    assert version(url) == {"aaaa0001"} and "tb" not in tables(url)
    assert ui.upgrade.progress.bar_style == "danger"
    assert "is at aaaa0001" in text(ui.header.value)  # refreshed to where it stopped


def test_the_target_chooser_offers_keywords_steps_revisions_and_tags(nb, workdir):
    _, ui = start(nb, workdir)
    for rev, table in (("aaaa0001", "ta"), ("bbbb0002", "tb")):
        nb.ok(table_revision(rev, table))
    nb.ok("%migrate upgrade aaaa0001")
    nb.ok("%migrate tag v1 aaaa0001")
    ui.refresh_button.click()
    values = [v for _, v in ui.upgrade.target.options]
    assert values == ["head", "heads", "+1", "+2", "bbbb0002", "aaaa0001", "v1"]
    labels = dict((v, label) for label, v in ui.upgrade.target.options)
    assert labels["aaaa0001"] == "aaaa0001: ta (current)"
    ui.upgrade.action.value = "downgrade"
    values = [v for _, v in ui.upgrade.target.options]
    assert values == ["-1", "-2", "base", "bbbb0002", "aaaa0001", "v1"]
    ui.upgrade.target.value = "base"
    ui.upgrade.preview.click()
    ui.upgrade.apply.click()
    assert ui.status.kind == "ok", ui.status.text
    assert "base (no revision applied)" in text(ui.header.value)


# ------------------------------------------------------ header and history


def test_history_marks_current_and_shows_branches_merges_and_tags(nb, workdir):
    _, ui = start(nb, workdir)
    nb.ok(table_revision("aaaa0001", "ta"))
    nb.ok(table_revision("bbbb0002", "tb"))
    nb.ok(table_revision("ffff0001", "tf", options="--head aaaa0001 --splice "
                         "--branch-label feature"))
    nb.ok("%migrate merge -m 'join' --rev-id mmmm0001")
    nb.ok("%migrate upgrade bbbb0002")
    nb.ok("%migrate tag v1 aaaa0001")
    ui.refresh_button.click()
    history = ui.history.value
    assert [r.split()[0] for r in marked_rows(history)] == ["bbbb0002"]
    rows = {row.split()[0]: row for row in
            (text(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", history)[1:])}
    assert "head, merge" in rows["mmmm0001"]
    assert "branch point" in rows["aaaa0001"] and "v1" in rows["aaaa0001"]
    assert "feature" in rows["ffff0001"]
    assert "heads: mmmm0001" in text(ui.header.value)
    assert "2 revision(s) pending" in text(ui.header.value)
    svg = ui.graph.value
    assert "<svg" in svg and all(f'data-revision="{r}"' in svg
                                 for r in ("aaaa0001", "bbbb0002", "ffff0001", "mmmm0001"))


def test_the_database_selector_switches_what_the_view_shows(nb, workdir):
    url, ui = start(nb, workdir)
    nb.ok(table_revision("aaaa0001", "ta"))
    nb.ok("%migrate upgrade head")
    other = f"sqlite:///{workdir / 'other.db'}"
    nb.ok(f"%migrate connect --name other {other}")
    ui.refresh_button.click()
    assert [v for _, v in ui.database.options] == ["default", "other"]
    assert ui.database.value == "default"
    assert "is at aaaa0001" in text(ui.header.value)

    ui.database.value = "other"
    assert ui.status.kind == "ok", ui.status.text
    assert "other" in text(ui.header.value) and "base (no revision applied)" in text(
        ui.header.value)
    ui.upgrade.preview.click()
    ui.upgrade.apply.click()
    assert version(other) == {"aaaa0001"}
    assert version(url) == {"aaaa0001"} and ui.status.text.startswith("upgraded other")


@pytest.mark.server
def test_urls_are_shown_with_the_password_masked(nb, workdir):
    url, ui = start(nb, workdir)
    nb.ns["pg_url"] = with_password(server_url("postgresql"), "s3cret-pw")
    nb.ok("%migrate connect --name pg pg_url")  # the server trusts; the password is unused
    ui.refresh_button.click()
    ui.database.value = "pg"
    labels = [label for label, _ in ui.database.options]
    assert any(label.startswith("pg: postgresql+psycopg://postgres:***@") for label in labels)
    assert "s3cret-pw" not in all_shown(ui)


def test_without_a_migration_directory_the_status_says_what_to_do(nb, workdir):
    ui = open_dashboard(nb)
    assert ui.status.kind == "error"
    assert ui.status.text.startswith("no migration directory yet: %migrate init")
    nb.ok(MODEL_CELL)
    nb.ok(f"%migrate init migrations --url sqlite:///{workdir / 'app.db'}")
    ui.refresh_button.click()
    assert ui.status.kind == "ok" and "no revisions applied" in text(ui.header.value)


def test_the_preview_shows_lint_warnings(nb, workdir):
    url, ui = start(nb, workdir)
    nb.ok(table_revision("aaaa0001", "ta"))
    nb.ok(table_revision("bbbb0002", "tb",
                         "op.add_column('ta', sa.Column('n', sa.Integer, nullable=False))"))
    nb.ok("%migrate upgrade aaaa0001")
    ui.refresh_button.click()
    ui.upgrade.preview.click()
    warnings = re.findall(r"<div class=nbm-warning[^>]*>(.*?)</div>", ui.upgrade.plan.value)
    assert [text(w) for w in warnings] == [
        "⚠ bbbb0002: add_column ta.n: a NOT NULL column without a server default fails on a "
        "table with rows: add it nullable, backfill it, then make it NOT NULL"
    ]
    assert version(url) == {"aaaa0001"}


# ------------------------------------------------ following the session and others


def test_a_downgrade_in_another_cell_shows_at_once_and_the_preview_agrees(nb, workdir):
    url, ui = start(nb, workdir)
    for rev, table in (("aaaa0001", "ta"), ("bbbb0002", "tb")):
        nb.ok(table_revision(rev, table))
    nb.ok("%migrate upgrade head")
    assert "is at bbbb0002 (tb)" in text(ui.header.value)  # no click: it follows the cell
    assert "up to date" in text(ui.header.value)

    nb.ok("%migrate downgrade -1")
    header = text(ui.header.value)
    assert "is at aaaa0001 (ta)" in header and "1 revision(s) pending" in header
    assert "up to date" not in header
    assert [r.split()[0] for r in marked_rows(ui.history.value)] == ["aaaa0001"]
    labels = dict((v, label) for label, v in ui.upgrade.target.options)
    assert labels["aaaa0001"] == "aaaa0001: ta (current)"
    assert ui.status.kind == "ok" and ui.status.text == "updated after downgrade"

    ui.upgrade.preview.click()  # head: the preview says what the header says
    assert ui.status.kind == "ok", ui.status.text
    assert ui.status.text == "1 revision(s) to upgrade: Apply runs them"
    assert [s.revision for s in ui.upgrade.planned[3].steps] == ["bbbb0002"]
    assert "bbbb0002" in text(ui.upgrade.plan.value)


def test_a_revision_written_in_another_cell_is_in_history_and_targets_at_once(nb, workdir):
    _, ui = start(nb, workdir)
    nb.ok(table_revision("aaaa0001", "ta", message="create ta"))
    assert "aaaa0001 create ta" in text(ui.history.value)  # nothing clicked
    assert "aaaa0001" in [v for _, v in ui.upgrade.target.options]
    assert 'data-revision="aaaa0001"' in ui.graph.value
    assert "1 revision(s) pending" in text(ui.header.value)
    nb.ok("%migrate tag first aaaa0001")
    assert "first" in [v for _, v in ui.upgrade.target.options]


def test_a_change_from_another_process_is_noticed_at_the_next_click(nb, workdir):
    url, ui = start(nb, workdir)
    nb.ok(table_revision("aaaa0001", "ta"))
    done = nbmigrate("upgrade", "head", cwd=workdir)  # a terminal: no listener hears it
    assert done.returncode == 0, done.stderr
    assert version(url) == {"aaaa0001"}
    assert "up to date" not in text(ui.header.value)  # not yet: nothing was clicked

    ui.upgrade.preview.click()
    assert ui.status.kind == "ok", ui.status.text
    assert "is at aaaa0001 (ta)" in text(ui.header.value)
    assert "up to date" in text(ui.header.value)
    assert ui.upgrade.planned[3].steps == []  # the preview agrees: nothing to do

    made = nbmigrate("revision", "-m", "from a terminal", "--rev-id", "bbbb0002", cwd=workdir)
    assert made.returncode == 0, made.stderr
    ui.upgrade.action.value = "downgrade"  # any action looks first
    assert "bbbb0002 from a terminal" in text(ui.history.value)
    assert "bbbb0002" in [v for _, v in ui.upgrade.target.options]
    assert "1 revision(s) pending" in text(ui.header.value)


@pytest.mark.parametrize("change", ["downgrade in another cell", "revision in another cell",
                                    "upgrade in a terminal"])
def test_a_preview_that_no_longer_matches_is_marked_stale_and_not_applied(nb, workdir, change):
    url, ui = start(nb, workdir)
    for rev, table in (("aaaa0001", "ta"), ("bbbb0002", "tb")):
        nb.ok(table_revision(rev, table))
    nb.ok("%migrate upgrade aaaa0001")
    panel = ui.upgrade
    panel.preview.click()
    assert [s.revision for s in panel.planned[3].steps] == ["bbbb0002"]
    assert panel.stale_note.layout.display == "none" and not panel.apply.disabled
    if change == "downgrade in another cell":
        nb.ok("%migrate downgrade base")
        expected, why = set(), "the database moved from aaaa0001 to base"
    elif change == "revision in another cell":
        nb.ok(table_revision("cccc0003", "tc"))
        expected, why = {"aaaa0001"}, "a revision file was added, removed or edited"
    else:
        assert nbmigrate("upgrade", "head", cwd=workdir).returncode == 0
        expected, why = {"bbbb0002"}, "the database moved from aaaa0001 to bbbb0002"
        assert panel.stale_note.layout.display == "none"  # seen only at the next click
        panel.apply.click()  # it looks first, marks the preview stale, and the engine refuses
        assert ui.status.kind == "error", ui.status.text
    shown = text(panel.stale_note.value)
    assert panel.stale_note.layout.display == "" and shown.startswith("⚠ stale preview:")
    assert why in shown and "Preview again" in shown
    assert "nbm-stale-plan" in panel.plan._dom_classes  # the plan below is greyed out
    assert panel.apply.disabled and panel.confirm.disabled

    panel.apply.click()  # clicked anyway: the engine refuses what the preview no longer is
    assert ui.status.kind == "error", ui.status.text
    assert "since the preview" in ui.status.text and "preview again" in ui.status.text
    assert version(url) == expected

    panel.preview.click()  # a new preview is current again and applies
    assert panel.stale_note.layout.display == "none" and not panel.apply.disabled
    panel.apply.click()
    assert ui.status.kind == "ok", ui.status.text
    assert version(url) == {"cccc0003" if "revision" in change else "bbbb0002"}


def applied(nb, workdir: Path) -> tuple[str, Dashboard]:
    """A dashboard over a database that applied aaaa0001 (ta) and bbbb0002 (tb)."""
    url, ui = start(nb, workdir)
    for rev, table in (("aaaa0001", "ta"), ("bbbb0002", "tb")):
        nb.ok(table_revision(rev, table))
    nb.ok("%migrate upgrade head")
    return url, ui


def test_an_applied_revision_edited_since_shows_under_the_header_until_accepted(nb, workdir):
    url, ui = applied(nb, workdir)
    assert ui.findings.value == "" and ui.findings.layout.display == "none"

    [path] = (workdir / "migrations" / "versions").glob("aaaa0001_*.py")
    path.write_text(path.read_text() + "# tuned later\n")  # an editor: no listener hears it
    ui.upgrade.preview.click()  # the next click looks first and reads everything again
    assert ui.status.kind == "ok", ui.status.text
    shown = text(ui.findings.value)
    assert ui.findings.layout.display == ""
    assert shown.startswith("⚠ applied revision(s) changed since: aaaa0001 ")
    assert "%migrate validate --accept REV records the file as it is now" in shown
    assert ui.children.index(ui.findings) == ui.children.index(ui.header) + 1
    assert "var(--jp-warn-color1" in ui.findings.value  # the theme's warning colour

    [note] = nb.ok("%migrate status")["note"]  # the dashboard says what status says
    said = note.split("; ", 1)[1]
    assert said == "applied revision(s) changed since: aaaa0001" and said in shown
    assert "aaaa0001 (edited)" in nb.run("%migrate validate").error_line  # it fails...
    assert ui.findings.layout.display == ""  # ...and changes nothing the dashboard shows

    nb.ok("%migrate validate --accept aaaa0001")  # another cell: shown at once, no click
    assert ui.status.kind == "ok" and ui.status.text == "updated after validate"
    assert ui.findings.value == "" and ui.findings.layout.display == "none"
    assert version(url) == {"bbbb0002"}


def test_an_applied_revision_whose_file_is_gone_shows_under_the_header(nb, workdir):
    url, ui = applied(nb, workdir)
    [path] = (workdir / "migrations" / "versions").glob("bbbb0002_*.py")
    path.unlink()
    ui.refresh_button.click()
    assert ui.findings.layout.display == ""
    assert text(ui.findings.value).startswith("⚠ applied revision(s) changed since: bbbb0002 ")
    [note] = nb.ok("%migrate status")["note"]
    assert note.endswith("applied revision(s) changed since: bbbb0002")


def test_a_refresh_hashes_each_applied_revision_once(nb, workdir, monkeypatch):
    from nbmigrate.engine import checksums

    _, ui = applied(nb, workdir)
    hashed: list[str] = []
    real = checksums.file_checksum

    def counted(path):
        hashed.append(Path(path).name.split("_")[0])
        return real(path)

    monkeypatch.setattr(checksums, "file_checksum", counted)
    ui.refresh_button.click()
    assert ui.status.kind == "ok", ui.status.text
    assert sorted(hashed) == ["aaaa0001", "bbbb0002"]
    hashed.clear()
    ui.upgrade.preview.click()  # nothing changed since: the look finds it so, no hashing
    assert hashed == []


def test_a_closed_or_collected_dashboard_is_no_longer_told(nb, workdir):
    url, ui = start(nb, workdir)
    session = ui.session
    nb.ok("other = %migrate ui")
    gone = weakref.ref(nb.ns.pop("other"))
    assert len(session.listeners) == 2
    ui.close()
    gone().close()
    gc.collect()
    assert gone() is None  # closed and unreferenced: nothing keeps it alive
    header, history = ui.header.value, ui.history.value
    nb.ok(table_revision("aaaa0001", "ta"))
    nb.ok("%migrate upgrade head")
    assert len(session.listeners) == 0
    assert (ui.header.value, ui.history.value) == (header, history)  # closed: not told
    assert version(url) == {"aaaa0001"}


def test_a_dashboard_no_view_shows_reads_nothing_until_shown_again(nb, workdir, monkeypatch):
    """Running ``ui = %migrate ui`` again removes the old dashboard's view; the front end
    (JupyterLab counts views: ``_view_count``, as the browser test checks) says so, and
    the old dashboard stops reading the database after every command."""
    url, old = start(nb, workdir)
    old._view_count = 1  # what the front end sends when it shows the view
    new = open_dashboard(nb)  # the cell run again: a new dashboard, the old view removed
    new._view_count = 1
    old._view_count = 0
    assert old.hidden and not new.hidden
    reads = []
    current = type(new.session).current
    monkeypatch.setattr(type(new.session), "current",
                        lambda self, **kw: reads.append(kw) or current(self, **kw))
    header = old.header.value
    nb.ok(table_revision("aaaa0001", "ta"))
    nb.ok("%migrate upgrade head")
    assert version(url) == {"aaaa0001"}
    assert len(reads) == 2  # the shown dashboard followed each command; the hidden did not
    assert "is at aaaa0001 (ta)" in text(new.header.value)
    assert old.header.value == header

    old._view_count = 1  # shown again (``old`` in a cell): it reads what it missed
    assert len(reads) == 3
    assert "is at aaaa0001 (ta)" in text(old.header.value)
    assert "aaaa0001" in text(old.history.value)
    assert old.status.kind == "ok", old.status.text

    old._view_count = 0
    old.history._view_count = 1  # ``old.history`` in a cell of its own: still followed
    assert [r.split()[0] for r in marked_rows(old.history.value)] == ["aaaa0001"]
    nb.ok("%migrate downgrade base --yes")
    assert len(reads) == 5
    assert marked_rows(old.history.value) == []


def test_a_project_made_in_a_terminal_is_found_at_the_next_click(nb, workdir):
    ui = open_dashboard(nb)
    assert ui.status.text.startswith("no migration directory yet")
    for args in (("init", "migrations", "--url", "sqlite:///app.db"),
                 ("revision", "-m", "first", "--rev-id", "aaaa0001")):
        done = nbmigrate(*args, cwd=workdir)
        assert done.returncode == 0, done.stderr
    nb.ok(MODEL_CELL)
    ui.authoring.autogenerate.click()  # it looks first: a project, a connection, a revision
    assert ui.status.kind == "ok", ui.status.text
    assert [v for _, v in ui.database.options] == ["default"]
    assert "aaaa0001 first" in text(ui.history.value)
    assert "1 revision(s) pending" in text(ui.header.value)
