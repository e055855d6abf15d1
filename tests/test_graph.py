"""Branches, merges, stamps, hand-written revisions and every Alembic target form."""

from __future__ import annotations

import helpers
import pytest
from helpers import snapshot, tables, version


def table_revision(nb, rev: str, table: str, options: str = "") -> None:
    nb.ok(helpers.table_revision(rev, table, message=f"create {table}", options=options))


@pytest.fixture
def chain(nb, db_url):
    """A project with three linear revisions a1 -> b2 -> c3, none applied."""
    nb.ok(f"%migrate init migrations --url {db_url}")
    for rev, table in (("a1", "ta"), ("b2", "tb"), ("c3", "tc")):
        table_revision(nb, rev, table)
    table_revision(nb, "dddd4444", "td")  # long enough for a prefix (Alembic wants 4+)
    return db_url


def test_every_target_form(nb, chain):
    steps = [
        ("upgrade +1", {"a1"}), ("upgrade +2", {"c3"}), ("downgrade -1", {"b2"}),
        ("downgrade base", set()), ("upgrade b2", {"b2"}), ("upgrade dddd", {"dddd4444"}),
        ("downgrade a1", {"a1"}), ("upgrade head", {"dddd4444"}), ("downgrade -2", {"b2"}),
        ("upgrade heads", {"dddd4444"}),
    ]
    for line, expected in steps:
        nb.ok(f"%migrate {line}")
        assert version(chain) == expected, line
    assert {"ta", "tb", "tc", "td"} <= tables(chain)


def test_cell_body_becomes_the_script(nb, workdir, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    table_revision(nb, "a1", "ta")
    script = next((workdir / "migrations" / "versions").glob("a1_*.py")).read_text()
    assert "revision: str = 'a1'" in script and "down_revision" in script
    assert script.count("def upgrade") == 1 and 'op.create_table("ta"' in script
    nb.ok("%migrate upgrade head")
    assert "ta" in tables(db_url)


@pytest.mark.parametrize("body, complaint", [
    ("def upgrade(:\n    pass\n", "syntax error"),
    ("def upgrade():\n    pass\n", "downgrade()"),
])
def test_bad_cell_body_writes_nothing(nb, workdir, body, complaint):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    before = snapshot(workdir)
    out = nb.run(f'%%migrate revision -m "x"\n{body}')
    assert complaint in out.error_line and "\n" not in out.error_line
    assert snapshot(workdir) == before


def test_branches_heads_merge(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    table_revision(nb, "a1", "ta")
    table_revision(nb, "b2", "tb")
    table_revision(nb, "f1", "tf", "--head a1 --splice --branch-label feature")
    heads = nb.ok("%migrate heads")
    assert {h.revision for h in heads.heads} == {"b2", "f1"}
    assert "merge" in heads.note()
    branches = nb.ok("%migrate branches")
    assert [(p.revision, [c.revision for c in kids]) for p, kids in branches.points] == [
        ("a1", ["b2", "f1"])
    ]

    out = nb.run("%migrate upgrade head")  # ambiguous with two heads
    assert out.error is not None and "\n" not in out.error_line
    assert version(db_url) == set()

    nb.ok("%migrate upgrade feature@head")
    assert version(db_url) == {"f1"} and "tb" not in tables(db_url)
    nb.ok("%migrate upgrade heads")
    assert version(db_url) == {"b2", "f1"}

    merged = nb.ok("%migrate merge -m 'join' --rev-id m1")
    assert set(merged.revision.parents) == {"b2", "f1"}
    assert [h.revision for h in nb.ok("%migrate heads").heads] == ["m1"]
    nb.ok("%migrate upgrade head")
    assert version(db_url) == {"m1"}
    assert "single head" in nb.run("%migrate merge -m again").error_line


def test_depends_on_and_show(nb):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    table_revision(nb, "a1", "ta")
    table_revision(nb, "x1", "tx", "--head base --branch-label other")
    table_revision(nb, "b2", "tb", "--head a1 --depends-on x1")
    shown = nb.ok("%migrate show b2")
    assert shown.revisions[0].depends_on == ("x1",)
    assert [r.revision for r in nb.ok("%migrate show other@head").revisions] == ["x1"]
    out = nb.run("%migrate show nope")
    assert "nope" in out.error_line and "\n" not in out.error_line


def test_stamp(nb, chain, workdir):
    nb.ok("%migrate stamp head")
    assert version(chain) == {"dddd4444"} and "ta" not in tables(chain)
    before = snapshot(workdir)
    sql = nb.ok("%migrate stamp base --sql")
    assert "alembic_version" in sql.sql and version(chain) == {"dddd4444"}
    assert snapshot(workdir) == before
    nb.ok("%migrate stamp base")
    assert version(chain) == set()
    nb.ok("%migrate stamp --purge b2")
    assert version(chain) == {"b2"}


def test_history_ranges_and_applied(nb, chain):
    nb.ok("%migrate upgrade a1")
    h = nb.ok("%migrate history")
    assert list(h["revision"]) == ["dddd4444", "c3", "b2", "a1"]
    assert list(h["applied"]) == [False, False, False, True]

    def revisions(line: str) -> list[str]:
        return list(nb.ok(f"%migrate history {line}")["revision"])

    assert revisions("-r current:") == ["dddd4444", "c3", "b2", "a1"]
    assert revisions("-r :current") == ["a1"]
    assert revisions("-r b2:c3") == ["c3", "b2"]
    assert {"path", "doc"} <= set(nb.ok("%migrate history --verbose").columns)
    assert "START:END" in nb.run("%migrate history -r x").error_line


@pytest.mark.parametrize("line", [
    "revision -m x --rev-id 'a b'",
    "revision -m x --head nonexistent",
])
def test_bad_revision_options(nb, workdir, line):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    before = snapshot(workdir)
    out = nb.run(f"%migrate {line}")
    assert out.error is not None and "\n" not in out.error_line
    assert snapshot(workdir) == before
