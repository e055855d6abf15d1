"""Tags: names for revisions, usable as targets, kept on disk across kernels."""

from __future__ import annotations

import json

import pytest
from helpers import notebook, run_all, snapshot, version


@pytest.fixture
def tagged(nb, db_url):
    """Revisions aaaa1111 -> bbbb2222 -> cccc3333; the database at bbbb2222, tagged v1."""
    nb.ok(f"%migrate init migrations --url {db_url}")
    for rev in ("aaaa1111", "bbbb2222", "cccc3333"):
        nb.ok(f"%migrate revision -m {rev} --rev-id {rev}")
    nb.ok("%migrate upgrade bbbb2222")
    nb.ok("%migrate tag v1")
    nb.ok("%migrate tag v0 aaaa")
    return db_url


def test_tags_are_targets(nb, tagged, workdir):
    assert json.loads((workdir / "migrations" / "tags.json").read_text()) == {
        "v0": "aaaa1111", "v1": "bbbb2222"}
    tags = nb.ok("%migrate tags")
    assert list(tags["tag"]) == ["v0", "v1"] and list(tags["applied"]) == [True, True]
    nb.ok("%migrate upgrade head")
    nb.ok("%migrate downgrade v0")
    assert version(tagged) == {"aaaa1111"}
    nb.ok("%migrate upgrade v1+1")
    assert version(tagged) == {"cccc3333"}
    assert list(nb.ok("%migrate history -r v0:v1")["revision"]) == ["bbbb2222", "aaaa1111"]
    assert nb.ok("%migrate show v1").revisions[0].revision == "bbbb2222"
    nb.ok("%migrate stamp v0")
    assert version(tagged) == {"aaaa1111"}
    assert "version_num='bbbb2222'" in nb.ok("%migrate upgrade v1 --sql").sql
    nb.ok("%migrate tag --delete v0")
    assert list(nb.ok("%migrate tags")["tag"]) == ["v1"]
    assert "Can't locate revision identified by 'v0'" in nb.run("%migrate upgrade v0").error_line


@pytest.mark.parametrize("line, complaint", [
    ("tag head", "keyword"),
    ("tag aaaa1111", "revision id"),
    ("tag aaaa", "revision id"),
    ("tag v1", "already names"),
    ("tag v2 nope", "nope"),
    ("tag 'bad name'", "letters"),
    ("tag --delete nope", "no tag"),
])
def test_bad_tags_are_refused_and_change_nothing(nb, tagged, workdir, line, complaint):
    before = snapshot(workdir)
    out = nb.run(f"%migrate {line}")
    assert complaint in out.error_line and "\n" not in out.error_line
    assert snapshot(workdir) == before


def test_a_tag_a_later_revision_id_starts_with_is_refused_as_a_target(nb, tagged, workdir):
    """``dead`` tagged first, then a revision ``deadbeef``: ``dead`` would mean either, so a
    target naming it is one clear line, and nothing moves until the tag is deleted."""
    nb.ok("%migrate tag dead aaaa1111")
    nb.ok("%migrate revision -m later --rev-id deadbeef0001")
    for line in ("upgrade dead", "downgrade dead", "upgrade dead+1", "history -r dead:",
                 "show dead", "stamp dead", "tag v2 dead"):
        before = snapshot(workdir)
        out = nb.run(f"%migrate {line}")
        assert out.error_line == ("'dead' is a tag (naming aaaa1111) and also the start of "
                                  "revision deadbeef0001: give more of a revision id, or "
                                  "delete the tag: %migrate tag --delete dead"), line
        assert snapshot(workdir) == before and version(tagged) == {"bbbb2222"}, line
    listed = nb.ok("%migrate tags")
    assert list(listed["tag"]) == ["dead", "v0", "v1"]  # still listed, and says why not usable
    assert list(listed["message"]) == [
        "aaaa1111 (not usable as a target: revision deadbeef0001 starts with it)",
        "aaaa1111", "bbbb2222"]
    nb.ok("%migrate upgrade v1+1")  # the other tags still work
    nb.ok("%migrate tag --delete dead")
    nb.ok("%migrate upgrade dead")  # now only the revision
    assert version(tagged) == {"deadbeef0001"}


@pytest.mark.parametrize("name", ["a", "aa"])
def test_a_tag_that_starts_several_revision_ids_is_refused(nb, tagged, workdir, name):
    nb.ok("%migrate revision -m other --rev-id aaaa2222")
    before = snapshot(workdir)
    out = nb.run(f"%migrate tag {name} bbbb2222")
    assert "clashes with a revision id" in out.error_line
    assert snapshot(workdir) == before


def test_tags_survive_a_kernel_restart(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    for rev in ("aaaa1111", "bbbb2222"):
        nb.ok(f"%migrate revision -m {rev} --rev-id {rev}")
    nb.ok("%migrate tag first aaaa1111")
    later = run_all(notebook("%load_ext nbmigrate", "%migrate upgrade first", "%migrate tags"),
                    workdir)
    assert version(f"sqlite:///{workdir / 'app.db'}") == {"aaaa1111"}
    assert "first" in later.cells[2].outputs[0]["data"]["text/plain"]
