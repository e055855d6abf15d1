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


def test_tags_survive_a_kernel_restart(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    for rev in ("aaaa1111", "bbbb2222"):
        nb.ok(f"%migrate revision -m {rev} --rev-id {rev}")
    nb.ok("%migrate tag first aaaa1111")
    later = run_all(notebook("%load_ext nbmigrate", "%migrate upgrade first", "%migrate tags"),
                    workdir)
    assert version(f"sqlite:///{workdir / 'app.db'}") == {"aaaa1111"}
    assert "first" in later.cells[2].outputs[0]["data"]["text/plain"]
