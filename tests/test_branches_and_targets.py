"""The revision graph from a notebook: target forms, branches, merges, stamps, show, history.

Each test is a short notebook session: ``%%migrate revision`` cells write small
revisions with predictable ids, then the user moves the database around and
looks at the graph.  Assertions are what a user would check: the database's
``alembic_version``, its tables, and the fields and tables of what the magics return.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers import snapshot, table_revision, tables, version, write_revision
from IPython.core.error import UsageError

A, B, C = "aaaa0001", "bbbb0002", "cccc0003"
FEATURE, OTHER = "ffff0001", "xxxx0001"
CHAIN = ((A, "ta"), (B, "tb"), (C, "tc"))
OWN_TABLES = {"alembic_version", "nbmigrate_log"}  # Alembic's and nbmigrate's audit log


def user_tables(url: str) -> set[str]:
    """The tables the revisions made: everything but the version table and the audit log."""
    return tables(url) - OWN_TABLES


def one_line_error(out) -> str:
    """The cell failed as a user mistake: a UsageError of one line, no traceback."""
    assert isinstance(out.error, UsageError), f"expected a UsageError, got {out.error!r}"
    assert out.error_line and "\n" not in out.error_line
    assert "Traceback" not in out.shown
    return out.error_line


def start(nb, url: str, revisions=CHAIN) -> None:
    nb.ok(f"%migrate init migrations --url {url}")
    for rev, table in revisions:
        write_revision(nb, rev, table)


def sqlite(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'app.db'}"


def history(nb, options: str = "") -> list[str]:
    return list(nb.ok(f"%migrate history {options}")["revision"])


# ------------------------------------------------------------- target forms


def test_every_alembic_target_form_on_a_linear_chain(nb, db_url):
    start(nb, db_url)
    everything = {"ta", "tb", "tc"}
    moves = [
        # line, database after, tables after, (revision, direction) of each step
        ("upgrade +1", {A}, {"ta"}, [(A, "up")]),
        ("upgrade +2", {C}, everything, [(B, "up"), (C, "up")]),
        ("downgrade -1", {B}, {"ta", "tb"}, [(C, "down")]),
        ("downgrade base", set(), set(), [(B, "down"), (A, "down")]),
        ("upgrade bbbb0", {B}, {"ta", "tb"}, [(A, "up"), (B, "up")]),  # a unique prefix
        ("upgrade head", {C}, everything, [(C, "up")]),
        ("downgrade base", set(), set(), [(C, "down"), (B, "down"), (A, "down")]),
        (f"upgrade {A}+1", {B}, {"ta", "tb"}, [(A, "up"), (B, "up")]),  # REV+N
        ("upgrade heads", {C}, everything, [(C, "up")]),
    ]
    for line, at, made, steps in moves:
        before = version(db_url)
        result = nb.ok(f"%migrate {line}")
        assert version(db_url) == at, line
        assert user_tables(db_url) == made, line
        assert [(s.revision, s.direction) for s in result.steps] == steps, line
        assert set(result.before) == before and set(result.after) == at, line
        assert list(result.to_frame()["revision"]) == [rev for rev, _ in steps], line


def test_a_relative_step_beyond_either_end_is_one_line_and_changes_nothing(nb, workdir):
    url = sqlite(workdir)
    start(nb, url)
    for line in ("downgrade -1", "upgrade +4"):
        one_line_error(nb.run(f"%migrate {line}"))
        assert version(url) == set() and user_tables(url) == set(), line
    nb.ok("%migrate upgrade head")
    for line in ("upgrade +1", "downgrade -4"):
        one_line_error(nb.run(f"%migrate {line}"))
        assert version(url) == {C} and user_tables(url) == {"ta", "tb", "tc"}, line


def test_an_unknown_or_ambiguous_target_is_one_line_and_changes_nothing(nb, workdir):
    url = sqlite(workdir)
    start(nb, url, CHAIN + (("cccc0004", "td"),))
    nb.ok(f"%migrate upgrade {A}")
    for line, named in (("upgrade nope", "nope"), ("downgrade nope", "nope"),
                        ("upgrade cccc", "cccc"), ("upgrade nolabel@head", "nolabel")):
        assert named in one_line_error(nb.run(f"%migrate {line}")), line
        assert version(url) == {A} and user_tables(url) == {"ta"}, line


# ----------------------------------------------------------------- branches


def test_a_second_root_with_a_branch_label_makes_two_heads(nb, db_url):
    start(nb, db_url, ((A, "ta"), (B, "tb")))
    write_revision(nb, FEATURE, "tf", "--head base --branch-label feature")

    heads = nb.ok("%migrate heads")
    assert {h.revision for h in heads.heads} == {B, FEATURE}
    assert [h.branch_labels for h in heads.heads if h.revision == FEATURE] == [("feature",)]
    for shown in (str(heads), heads._repr_html_(), heads.to_frame().note):
        assert "%migrate merge" in shown and "%migrate upgrade heads" in shown
    assert len(heads.to_frame()) == 2
    assert nb.ok("%migrate branches").points == []  # both start at base: no branch point

    error = one_line_error(nb.run("%migrate upgrade head"))
    assert "head" in error
    assert version(db_url) == set() and user_tables(db_url) == set()

    done = nb.ok("%migrate upgrade feature@head")
    assert [s.revision for s in done.steps] == [FEATURE]
    assert version(db_url) == {FEATURE} and user_tables(db_url) == {"tf"}

    one_line_error(nb.run("%migrate upgrade head"))  # still two heads
    assert version(db_url) == {FEATURE} and user_tables(db_url) == {"tf"}

    nb.ok("%migrate upgrade heads")
    assert version(db_url) == {B, FEATURE}  # two rows in the version table
    assert user_tables(db_url) == {"ta", "tb", "tf"}
    current = nb.ok("%migrate current")
    assert set(current.revisions) == {B, FEATURE} and current.pending == ()
    assert list(nb.ok("%migrate heads").to_frame()["current"]) == [True, True]


def test_branches_lists_the_branch_point_with_its_children(nb, workdir):
    url = sqlite(workdir)
    start(nb, url, ((A, "ta"), (B, "tb")))
    versions = workdir / "migrations" / "versions"
    before = snapshot(versions)
    error = one_line_error(nb.run(table_revision(FEATURE, "tf", options=f"--head {A}")))
    assert "--splice" in error
    assert snapshot(versions) == before

    write_revision(nb, FEATURE, "tf", f"--head {A} --splice --branch-label feature")
    branches = nb.ok("%migrate branches")
    assert [(p.revision, [c.revision for c in kids]) for p, kids in branches.points] == [
        (A, [B, FEATURE])
    ]
    frame = branches.to_frame()
    assert list(frame["branch_point"]) == [A]
    assert set(frame["children"][0]) == {B, FEATURE}
    assert len(nb.ok("%migrate heads").heads) == 2

    nb.ok("%migrate upgrade feature@head")
    assert version(url) == {FEATURE} and user_tables(url) == {"ta", "tf"}
    nb.ok("%migrate upgrade heads")
    assert version(url) == {B, FEATURE} and user_tables(url) == {"ta", "tb", "tf"}


def test_merge_joins_the_heads(nb, db_url, workdir):
    start(nb, db_url, ((A, "ta"), (B, "tb")))
    write_revision(nb, FEATURE, "tf", f"--head {A} --splice --branch-label feature")
    nb.ok("%migrate upgrade heads")
    assert version(db_url) == {B, FEATURE}

    merged = nb.ok('%migrate merge -m "merge"')
    rev = merged.revision
    assert set(rev.parents) == {B, FEATURE} and rev.is_merge and rev.message == "merge"
    assert Path(merged.path).is_file() and rev.revision in Path(merged.path).name
    heads = nb.ok("%migrate heads")
    assert [h.revision for h in heads.heads] == [rev.revision]
    assert "merge" not in heads.note()

    done = nb.ok("%migrate upgrade head")
    assert [s.revision for s in done.steps] == [rev.revision]
    assert version(db_url) == {rev.revision}  # the two rows became one
    verbose = nb.ok("%migrate history --verbose")
    assert list(verbose["merge"]) == [True, False, False, False]
    assert list(verbose["applied"]) == [True, True, True, True]

    versions = workdir / "migrations" / "versions"
    before = snapshot(versions)
    assert "single head" in one_line_error(nb.run('%migrate merge -m "again"'))
    assert snapshot(versions) == before

    nb.ok(f"%migrate downgrade {B}")  # un-merging gives the two heads back
    assert version(db_url) == {B, FEATURE}
    assert user_tables(db_url) == {"ta", "tb", "tf"}


def test_depends_on_another_branch(nb, workdir):
    url = sqlite(workdir)
    start(nb, url, ((A, "ta"),))
    write_revision(nb, OTHER, "tx", "--head base --branch-label other")
    write_revision(nb, B, "tb", f"--head {A} --depends-on {OTHER}")

    shown = nb.ok(f"%migrate show {B}")
    [info] = shown.revisions
    assert info.depends_on == (OTHER,) and info.parents == (A,)
    assert list(shown.to_frame()["depends_on"]) == [(OTHER,)]
    assert nb.ok(f"%migrate show {OTHER}").revisions[0].depends_on == ()
    verbose = nb.ok("%migrate history --verbose").set_index("revision")
    assert verbose.loc[B, "depends_on"] == OTHER

    nb.ok(f"%migrate upgrade {B}")  # the dependency comes along
    assert user_tables(url) == {"ta", "tb", "tx"}
    assert version(url) == {B}  # Alembic counts the dependency as B's ancestry
    applied = nb.ok("%migrate history").set_index("revision")["applied"]
    assert applied.to_dict() == {A: True, B: True, OTHER: True}

    versions = workdir / "migrations" / "versions"
    before = snapshot(versions)
    assert "nope" in one_line_error(nb.run("%migrate revision -m x --head other@head "
                                           "--depends-on nope"))
    assert snapshot(versions) == before


# -------------------------------------------------------------------- stamp


def test_stamp(nb, db_url, workdir):
    start(nb, db_url)

    stamped = nb.ok("%migrate stamp head")
    assert stamped.action == "stamp" and stamped.before == () and stamped.after == (C,)
    assert version(db_url) == {C}
    assert user_tables(db_url) == set()  # recorded, not run
    current = nb.ok("%migrate current")
    assert current.revisions == (C,) and current.pending == ()

    before = snapshot(workdir)
    sql = nb.ok(f"%migrate stamp {B} --sql")
    assert "alembic_version" in sql.sql and B in sql.sql
    assert version(db_url) == {C}
    assert snapshot(workdir) == before

    nb.ok("%migrate stamp base")
    assert version(db_url) == set() and "alembic_version" in tables(db_url)

    engine = sa.create_engine(db_url)  # the version table names a revision no script has
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO alembic_version (version_num) VALUES ('zzzz9999')")
    finally:
        engine.dispose()
    assert "zzzz9999" in one_line_error(nb.run("%migrate stamp head"))
    assert version(db_url) == {"zzzz9999"}
    one_line_error(nb.run("%migrate stamp --purge head --sql"))
    assert version(db_url) == {"zzzz9999"}
    nb.ok("%migrate stamp --purge head")
    assert version(db_url) == {C}
    assert user_tables(db_url) == set()


def test_stamp_sql_takes_an_alembic_range(nb, workdir):
    url = sqlite(workdir)
    start(nb, url)
    before = snapshot(workdir)
    sql = nb.ok(f"%migrate stamp {A}:{B} --sql")
    assert "UPDATE alembic_version" in sql.sql and B in sql.sql
    assert snapshot(workdir) == before and version(url) == set()


def test_stamp_sql_at_several_heads_says_what_to_type(nb, workdir):
    url = sqlite(workdir)
    start(nb, url, ((A, "ta"), (B, "tb")))
    write_revision(nb, FEATURE, "tf", "--head base --branch-label feature")
    nb.ok("%migrate upgrade heads")
    out = nb.run(f"%migrate stamp {A} --sql")
    if out.error is not None:
        error = one_line_error(out)
        assert "('" not in error, "the hint shows a Python tuple"
        assert f"FROM:{A}" in error
    assert version(url) == {B, FEATURE}


# ------------------------------------------------------- %%migrate revision


BAD_BODIES = {
    "syntax error": ("def upgrade(:\n    pass\n\ndef downgrade():\n    pass\n",
                     "syntax error at line 1"),
    "no downgrade": ("def upgrade():\n    op.drop_table('ta')\n", "missing downgrade()"),
    "no upgrade": ("def downgrade():\n    pass\n", "missing upgrade()"),
    "no functions": ("upgrade = downgrade = None\n", "missing upgrade(), downgrade()"),
}


@pytest.mark.parametrize("body, complaint", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_bad_cell_body_is_one_line_and_writes_nothing(nb, workdir, body, complaint):
    start(nb, sqlite(workdir), ((A, "ta"),))
    migrations = workdir / "migrations"
    before = snapshot(migrations)
    out = nb.run(f'%%migrate revision -m "bad" --rev-id {B}\n{body}')
    assert complaint in one_line_error(out)
    assert snapshot(migrations) == before
    assert [h.revision for h in nb.ok("%migrate heads").heads] == [A]


BODY = '''
def _table(name):
    op.create_table(name, sa.Column("id", sa.Integer, primary_key=True))


def upgrade():
    _table("tv")
    op.create_index("ix_tv_id", "tv", ["id"])


def downgrade():
    op.drop_index("ix_tv_id", table_name="tv")
    op.drop_table("tv")
'''


def module_level(path: str) -> tuple[ast.Module, dict, dict]:
    """A revision file's tree, its functions by name and its assigned names' values."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    functions = {n.name: ast.dump(n) for n in tree.body if isinstance(n, ast.FunctionDef)}
    values = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            values[node.target.id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                values[getattr(target, "id", "")] = ast.literal_eval(node.value)
    return tree, functions, values


def test_a_cell_body_becomes_the_revision_scripts_functions(nb, workdir):
    url = sqlite(workdir)
    start(nb, url, ((A, "ta"),))
    made = nb.ok(f'%%migrate revision -m "index tv" --rev-id vvvv0002\n{BODY}')
    assert made.revision.revision == "vvvv0002" and made.revision.parents == (A,)

    tree, functions, values = module_level(made.path)
    body = ast.parse(BODY)
    assert functions == {n.name: ast.dump(n) for n in body.body}  # the cell's, and only them
    assert values == {"revision": "vvvv0002", "down_revision": A, "branch_labels": None,
                      "depends_on": None}
    doc = ast.get_docstring(tree)
    assert doc.startswith("index tv") and "Revision ID: vvvv0002" in doc
    assert f"Revises: {A}" in doc
    source = made.source
    assert "from alembic import op" in source and "import sqlalchemy as sa" in source
    assert "Upgrade schema." not in source  # the template's own functions are gone
    assert textwrap.dedent(BODY).strip() in source

    nb.ok("%migrate upgrade head")
    assert version(url) == {"vvvv0002"} and user_tables(url) == {"ta", "tv"}
    nb.ok("%migrate downgrade -1")
    assert version(url) == {A} and user_tables(url) == {"ta"}

    side = nb.ok(f'%%migrate revision -m "side" --rev-id ssss0001 --head base '
                 f'--branch-label side --depends-on {A}\n{BODY}')
    _, functions, values = module_level(side.path)
    assert set(functions) == {"_table", "upgrade", "downgrade"}
    assert values == {"revision": "ssss0001", "down_revision": None,
                      "branch_labels": ("side",), "depends_on": A}


BAD_REV_IDS = ["'a b'", "a/b", "../../escape", "a.b", "a-b", "a@b", "a+b", "a:b"]


@pytest.mark.parametrize("rev_id", BAD_REV_IDS)
def test_a_rev_id_with_bad_characters_is_refused(nb, workdir, rev_id):
    start(nb, sqlite(workdir), ((A, "ta"),))
    before = snapshot(workdir)
    out = nb.run(f"%migrate revision -m x --rev-id {rev_id}")
    one_line_error(out)
    assert snapshot(workdir) == before
    assert [h.revision for h in nb.ok("%migrate heads").heads] == [A]


def test_a_head_that_does_not_exist_is_one_line(nb, workdir):
    start(nb, sqlite(workdir), ((A, "ta"),))
    before = snapshot(workdir)
    assert "nonexistent" in one_line_error(nb.run("%migrate revision -m x --head nonexistent"))
    assert snapshot(workdir) == before


def test_rerunning_a_revision_cell_keeps_the_project_working(nb, workdir):
    """A notebook cell runs twice; the second run must not break the revision graph."""
    url = sqlite(workdir)
    start(nb, url, ((A, "ta"), (B, "tb")))
    before = snapshot(workdir)
    for cell in (table_revision(B, "tb"), table_revision(B, "tz", message="other")):
        out = nb.run(cell)
        assert B in one_line_error(out)
        assert snapshot(workdir) == before
    assert [h.revision for h in nb.ok("%migrate heads").heads] == [B]
    nb.ok("%migrate upgrade head")
    assert version(url) == {B} and user_tables(url) == {"ta", "tb"}


def test_a_branch_label_already_in_use_writes_nothing(nb, workdir):
    start(nb, sqlite(workdir), ((A, "ta"),))
    write_revision(nb, FEATURE, "tf", "--head base --branch-label feature")
    before = snapshot(workdir)
    out = nb.run(table_revision(OTHER, "tx", options="--head base --branch-label feature"))
    assert "feature" in one_line_error(out)
    assert snapshot(workdir) == before
    assert {h.revision for h in nb.ok("%migrate heads").heads} == {A, FEATURE}


# --------------------------------------------------------------------- show


def test_show(nb, workdir):
    url = sqlite(workdir)
    start(nb, url, CHAIN + (("cccc0004", "td"),))

    head = nb.ok("%migrate show head")
    assert [r.revision for r in head.revisions] == ["cccc0004"]
    assert "(head)" in str(head) and "Revision ID: cccc0004" in str(head)
    frame = head.to_frame()
    assert list(frame["revision"]) == ["cccc0004"] and list(frame["parents"]) == [(C,)]

    prefix = nb.ok("%migrate show bbbb0")
    assert [(r.revision, r.parents, r.message) for r in prefix.revisions] == [(B, (A,), "tb")]
    assert "cccc" in one_line_error(nb.run("%migrate show cccc"))  # two revisions start so

    one_line_error(nb.run("%migrate show current"))  # nothing applied yet
    nb.ok(f"%migrate upgrade {B}")
    assert [r.revision for r in nb.ok("%migrate show current").revisions] == [B]

    assert "nope" in one_line_error(nb.run("%migrate show nope"))
    one_line_error(nb.run('%migrate show ""'))
    assert version(url) == {B}


# ------------------------------------------------------------------ history


def test_history_after_a_partial_upgrade(nb, db_url):
    start(nb, db_url)
    nb.ok(f"%migrate upgrade {A}")

    assert nb.ok("h = %migrate history") is None
    h = nb.ns["h"]
    assert isinstance(h, pd.DataFrame)
    assert list(h["revision"]) == [C, B, A]
    assert list(h["parents"]) == [B, A, ""]
    assert list(h["message"]) == ["tc", "tb", "ta"]
    assert list(h["head"]) == [True, False, False]
    assert list(h["applied"]) == [False, False, True]
    assert list(h["current"]) == [False, False, True]
    assert h["applied_at"].isna().tolist() == [True, True, False]
    assert not {"path", "doc"} & set(h.columns)

    assert history(nb, f"-r base:{B}") == [B, A]
    assert history(nb, f"-r {B}:") == [C, B]
    assert history(nb, f"-r :{B}") == [B, A]
    assert history(nb, f"-r {A}:{B}") == [B, A]
    assert history(nb, "-r current:") == [C, B, A]
    assert history(nb, "-r :current") == [A]

    nb.ok("%migrate upgrade +1")
    h = nb.ok("%migrate history")
    assert list(h["applied"]) == [False, True, True]
    assert list(h["current"]) == [False, True, False]
    assert history(nb, "-r current:") == [C, B]
    assert history(nb, "-r :current") == [B, A]

    verbose = nb.ok("%migrate history --verbose")
    assert list(verbose.columns) == list(h.columns) + [
        "depends_on", "merge", "branch_point", "path", "doc"]
    for rev, path, doc in zip(verbose["revision"], verbose["path"], verbose["doc"],
                              strict=True):
        assert Path(path).is_file() and Path(path).name.startswith(rev)
        assert f"Revision ID: {rev}" in doc

    for line in ("-r nonsense", "-r nope:", f"-r {B}:nope"):
        error = one_line_error(nb.run(f"%migrate history {line}"))
        assert ("START:END" if line == "-r nonsense" else "nope") in error, line
    assert version(db_url) == {B}


def test_history_current_ranges_with_two_heads_applied(nb, workdir):
    url = sqlite(workdir)
    start(nb, url, ((A, "ta"), (B, "tb")))
    write_revision(nb, OTHER, "tx", "--head base --branch-label other")
    nb.ok("%migrate upgrade heads")
    assert version(url) == {B, OTHER}

    h = nb.ok("%migrate history")
    assert set(h["revision"]) == {A, B, OTHER} and all(h["applied"])
    assert set(h.loc[h["current"], "revision"]) == {B, OTHER}
    assert set(history(nb, "-r :current")) == {A, B, OTHER}  # everything applied, both branches
    assert {B, OTHER} <= set(history(nb, "-r current:"))  # from each current head up
