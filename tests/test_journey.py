"""The cheat sheet's journey in a notebook, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from helpers import MODEL_WITH_EMAIL_CELL, columns, snapshot, table_revision, tables, version


def test_cheat_sheet_journey(nb, db_url, model_cell):
    nb.ok(model_cell)
    init = nb.ok(f"%migrate init migrations --url {db_url}")
    assert "created an Alembic environment" in str(init)

    first = nb.ok("%migrate revision --autogenerate -m 'create users'")
    assert [(o.op, o.table) for o in first.operations] == [("add_table", "users")]
    assert "op.create_table('users'" in first.source

    applied = nb.ok("%migrate upgrade head")
    assert version(db_url) == {first.revision.revision}
    assert "users" in tables(db_url)
    assert [s.revision for s in applied.steps] == [first.revision.revision]

    # the model cell gains a column; re-running it must just work
    nb.ok(MODEL_WITH_EMAIL_CELL)
    diff = nb.ok("%migrate diff")
    assert [(o.op, o.table, o.name) for o in diff.operations] == [("add_column", "users", "email")]
    second = nb.ok("%migrate revision --autogenerate -m 'add email'")
    nb.ok("%migrate upgrade head")
    assert "email" in columns(db_url, "users")

    nb.ok("h = %migrate history")
    h = nb.ns["h"]
    assert list(h["revision"]) == [second.revision.revision, first.revision.revision]
    assert list(h["applied"]) == [True, True]
    assert list(h["current"]) == [True, False]
    html = h._repr_html_()
    assert html.count("<tr class=nbm-mark>") == 1 and second.revision.revision in html

    nb.ok("%migrate downgrade -1")
    assert version(db_url) == {first.revision.revision}
    assert "email" not in columns(db_url, "users")

    current = nb.ok("%migrate current")
    assert current.revisions == (first.revision.revision,)
    assert current.pending == (second.revision.revision,)


def test_sql_shows_dialect_ddl_and_changes_nothing(nb, db_url, model_cell, workdir):
    nb.ok(model_cell)
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok("%migrate revision --autogenerate -m 'create users'")
    before = snapshot(workdir)
    sql = nb.ok("%migrate upgrade head --sql")
    assert "CREATE TABLE users" in sql.sql
    assert "INSERT INTO alembic_version" in sql.sql
    if db_url.startswith("postgresql"):
        assert "SERIAL" in sql.sql
    if db_url.startswith("mysql"):
        assert "AUTO_INCREMENT" in sql.sql
    assert version(db_url) == set()
    assert "users" not in tables(db_url)
    assert snapshot(workdir) == before


def test_a_failed_revision_stops_at_the_last_good_one(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(table_revision("good1", "a", 'op.execute("INSERT INTO a VALUES (1)")'))
    nb.ok(table_revision("bad2", "b", 'op.execute("INSERT INTO b VALUES (1)")',
                         'raise RuntimeError("boom half-way")'))
    out = nb.run("%migrate upgrade head")
    assert "\n" not in out.error_line
    assert "stopped at revision bad2" in out.error_line and "boom half-way" in out.error_line
    assert "is now at good1" in out.error_line
    assert version(db_url) == {"good1"}
    assert "a" in tables(db_url)
    if not db_url.startswith("mysql"):  # MySQL DDL cannot be rolled back
        assert "b" not in tables(db_url)


def test_a_trailing_comment_is_ignored_but_a_hash_in_a_word_is_kept(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db  # alembic init migrations")
    made = nb.ok('%migrate revision -m "fix #12" --rev-id a1  # alembic revision -m ...')
    assert made.revision.message == "fix #12"
    made = nb.ok("%migrate revision -m issue#13 --rev-id b2")
    assert made.revision.message == "issue#13"


def test_a_cell_of_several_lines_shows_what_each_did(nb, workdir):
    out = nb.run("%migrate init migrations --url sqlite:///app.db\n"
                 "%migrate revision -m one --rev-id r1\n"
                 "%migrate upgrade head\n"
                 "done = True")
    assert out.error is None
    shown = [str(o.data.get("text/plain", "")) for o in out.outputs]
    assert [text.split()[0] for text in shown] == ["created", "wrote", "upgraded"]
    # a value bound to a name is not shown; the last line is shown once, by IPython
    out = nb.run("h = %migrate history\n%migrate heads")
    assert out.outputs == [] and "r1" in str(out.result)


def test_the_first_hour_speaks_of_revisions_and_upgrade_head(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    for rev in ("r1", "r2"):
        nb.ok(f"%%migrate revision -m {rev} --rev-id {rev}\n"
              "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n")
    nb.ok("%migrate upgrade r1")
    assert "upgrade head applies them" in nb.ok("%migrate current").note()  # one head
    assert str(nb.ok("%migrate upgrade head --dry-run")).startswith(
        "plan: upgrade default from r1 to r2 (head):")
    assert str(nb.ok("%migrate downgrade -1 --dry-run")).startswith(
        "plan: downgrade default from r1 to base (-1):")
    nb.ok("%migrate upgrade head")
    at_head = nb.ok("%migrate upgrade head --sql")
    assert at_head.sql == "" and "default is at r2: nothing to upgrade" in str(at_head)
