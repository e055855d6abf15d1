"""``%migrate graph``: the revision DAG with branches, merges, the current revision and tags.

A user reads the graph three ways: inline SVG in the notebook, text in a
terminal, and a DataFrame. Each test builds a small history with
``%%migrate revision`` cells and checks what those show.
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from helpers import write_revision

from nbmigrate.engine.graph import RevisionGraph, build_graph

A, B, C = "aaaa0001", "bbbb0002", "cccc0003"
FEATURE, OTHER = "ffff0001", "xxxx0001"


def start(nb, workdir: Path) -> str:
    url = f"sqlite:///{workdir / 'app.db'}"
    nb.ok(f"%migrate init migrations --url {url}")
    return url


def branched(nb, workdir: Path) -> str:
    """A - B - C and A - FEATURE, merged into M; a second root OTHER; tag v1 on A; db at B."""
    url = start(nb, workdir)
    write_revision(nb, A, "ta")
    write_revision(nb, B, "tb")
    write_revision(nb, C, "tc")
    write_revision(nb, FEATURE, "tf", f"--head {A} --splice --branch-label feature")
    write_revision(nb, OTHER, "tx", "--head base --branch-label other")
    nb.ok(f"%migrate merge -m 'join feature' --rev-id mmmm0001 {C} {FEATURE}")
    nb.ok(f"%migrate upgrade {B}")
    nb.ok(f"%migrate tag v1 {A}")
    return url


def script_of(workdir: Path) -> ScriptDirectory:
    return ScriptDirectory.from_config(Config(str(workdir / "alembic.ini")))


def test_a_linear_history_is_one_lane_with_the_current_revision_marked(nb, workdir):
    start(nb, workdir)
    for rev, table in ((A, "ta"), (B, "tb"), (C, "tc")):
        write_revision(nb, rev, table)
    nb.ok(f"%migrate upgrade {B}")

    graph = nb.ok("%migrate graph")
    assert isinstance(graph, RevisionGraph)
    assert [n.revision for n in graph.nodes] == [C, B, A]  # newest first, like history
    assert {n.lane for n in graph.nodes} == {0} and graph.lanes == 1
    assert [n.current for n in graph.nodes] == [False, True, False]
    assert graph.heads == [C]

    text = str(graph).splitlines()
    assert text[0] == "revision graph: 3 revision(s), 1 head(s), database at bbbb0002"
    assert text[1:] == ["* cccc0003 (head) tc", "@ bbbb0002 (current) tb", "* aaaa0001 ta"]

    frame = graph.to_frame()
    assert list(frame.columns) == ["revision", "message", "parents", "children", "lane",
                                   "current", "tags"]
    assert list(frame["revision"]) == [C, B, A]
    assert list(frame["parents"]) == [(B,), (A,), ()]
    assert list(frame["children"]) == [(), (C,), (B,)]
    assert list(frame["current"]) == [False, True, False]
    assert "nbm-mark" in frame._repr_html_()  # the current row is highlighted


def test_branches_merges_tags_and_a_second_root(nb, workdir):
    branched(nb, workdir)
    graph = nb.ok("%migrate graph")
    by_rev = {n.revision: n for n in graph.nodes}
    assert set(by_rev) == {A, B, C, FEATURE, OTHER, "mmmm0001"}

    merge = by_rev["mmmm0001"]
    assert merge.merge and set(merge.parents) == {C, FEATURE} and merge.head
    assert by_rev[A].branch_point and set(by_rev[A].children) == {B, FEATURE}
    assert by_rev[A].tags == ("v1",)
    assert by_rev[FEATURE].branch_labels == ("feature",)
    assert by_rev["mmmm0001"].branch_labels == ()  # only where the label is declared
    assert by_rev[OTHER].head and by_rev[OTHER].parents == ()
    assert sorted(graph.heads) == sorted(["mmmm0001", OTHER])
    assert [n.revision for n in graph.nodes if n.current] == [B]

    # the two sides of the merge run in different lanes
    assert by_rev[FEATURE].lane != by_rev[C].lane
    assert graph.lanes >= 2
    # children are always drawn above their parents
    rows = {n.revision: n.row for n in graph.nodes}
    assert all(rows[p] > rows[n.revision] for n in graph.nodes for p in n.parents)

    text = str(graph)
    assert re.search(r"^\*\s+mmmm0001 \(head\) join feature$", text, re.M)
    assert re.search(r"^@ .*bbbb0002 \(current\) tb$", text, re.M)
    assert "aaaa0001 (tag: v1) ta" in text
    assert "ffff0001 (branch: feature) tf" in text
    assert "\\" in text and "/" in text  # the branch leaving and joining the main lane

    frame = graph.to_frame()
    assert list(frame.loc[frame["revision"] == A, "tags"]) == [("v1",)]
    assert list(frame.loc[frame["current"], "revision"]) == [B]


def test_no_edge_runs_through_another_revision(nb, workdir):
    """What the drawing promises: an edge's lane at a row is never another revision's node."""
    branched(nb, workdir)
    write_revision(nb, "dddd0004", "td", f"--head {B} --splice")  # a third branch, from B
    graph = nb.ok("%migrate graph")
    nodes_at = {(n.row, n.lane): n.revision for n in graph.nodes}
    links = {(n.revision, p) for n in graph.nodes for p in n.parents}
    assert {(e.child, e.parent) for e in graph.edges} == links  # one edge per down_revision
    for edge in graph.edges:
        rows = [r for r, _ in edge.path]
        assert rows == list(range(rows[0], rows[-1] + 1))  # one point per row, no gaps
        assert nodes_at[edge.path[0]] == edge.child and nodes_at[edge.path[-1]] == edge.parent
        for point in edge.path[1:-1]:
            assert point not in nodes_at, f"{edge.child}->{edge.parent} crosses {nodes_at[point]}"


def test_the_graph_shows_inline_as_svg_with_labels(nb, workdir):
    branched(nb, workdir)
    graph = nb.ok("%migrate graph")
    data, _ = nb.shell.display_formatter.format(graph)  # what the notebook receives
    shown = data["text/html"]
    svg = shown[shown.index("<svg"):shown.index("</svg>")]
    for rev in (A, B, C, FEATURE, OTHER, "mmmm0001"):
        assert f'data-revision="{rev}"' in svg
    assert svg.count("<path") == 5  # A-B, B-C, A-F, C-M, F-M; OTHER is a root
    assert "[tag: v1]" in svg and "[current]" in svg and "[branch: feature]" in svg
    assert "revision graph: 6 revision(s), 2 head(s), database at bbbb0002" in shown


def test_messages_are_escaped(nb, workdir):
    start(nb, workdir)
    write_revision(nb, A, "ta", message="<b>bold</b> & co")
    html = nb.ok("%migrate graph")._repr_html_()
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html


def test_without_a_database_the_graph_says_why_current_is_unknown(nb, workdir):
    start(nb, workdir)
    write_revision(nb, A, "ta")
    graph = build_graph(script_of(workdir), current=None, tags={}, note="cannot connect")
    assert [n.current for n in graph.nodes] == [None]
    assert "current revision unknown (cannot connect)" in str(graph)
    assert "current revision unknown (cannot connect)" in graph._repr_html_()
    assert "@" not in str(graph).splitlines()[1]


def test_a_database_at_a_revision_no_script_defines(nb, workdir):
    start(nb, workdir)
    write_revision(nb, A, "ta")
    graph = build_graph(script_of(workdir), current=("deadbeef0000",), tags={}, note="")
    assert "deadbeef0000, which no script here defines" in str(graph)


def test_an_empty_migration_directory(nb, workdir):
    start(nb, workdir)
    graph = nb.ok("%migrate graph")
    assert len(graph) == 0
    assert str(graph).startswith("revision graph: no revisions yet")
    assert "<svg" not in graph._repr_html_()
    assert graph.to_frame().empty
