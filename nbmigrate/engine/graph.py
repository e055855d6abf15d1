"""The revision graph: revisions in topological order, one lane per branch (drawn by display).

Layout follows ``git log --graph``: newest revisions first, each branch keeps a
lane (column) from the revision that starts it down to the revision it comes
from, and a merge's extra parents take a lane of their own until they are reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .results import Result


@dataclass(frozen=True)
class GraphNode:
    """One revision, where it sits in the drawing and what labels it carries."""

    revision: str
    message: str
    parents: tuple[str, ...]
    children: tuple[str, ...]
    row: int
    lane: int
    head: bool
    branch_labels: tuple[str, ...]
    tags: tuple[str, ...]
    current: bool | None  # None when the database could not be reached

    @property
    def merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def branch_point(self) -> bool:
        return len(self.children) > 1


@dataclass(frozen=True)
class GraphEdge:
    """child -> parent (a down_revision); ``path`` is the lane it is in at each row it spans."""

    child: str
    parent: str
    path: tuple[tuple[int, int], ...]  # (row, lane), from the child's row to the parent's

    def lane_at(self, row: int) -> int | None:
        for r, lane in self.path:
            if r == row:
                return lane
        return None


@dataclass(repr=False)
class RevisionGraph(Result):
    """The revision DAG laid out for display; ``to_frame()`` gives one row per revision."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    lanes: int
    current: tuple[str, ...] | None
    unreachable: str = ""  # why the current revision is unknown, when it is

    columns = ("revision", "message", "parents", "children", "lane", "current", "tags")

    def rows(self) -> list[tuple]:
        return [(n.revision, n.message, n.parents, n.children, n.lane, n.current, n.tags)
                for n in self.nodes]

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def heads(self) -> list[str]:
        return [n.revision for n in self.nodes if n.head]


# ------------------------------------------------------------------ building


def build_graph(
    script: Any,
    *,
    current: tuple[str, ...] | None,
    tags: Mapping[str, str],
    note: str = "",
) -> RevisionGraph:
    """Lay out the revisions of an Alembic ``ScriptDirectory`` as a RevisionGraph."""
    scripts = {sc.revision: sc for sc in script.walk_revisions()}
    parents = {rev: tuple(p for p in sc._versioned_down_revisions if p in scripts)
               for rev, sc in scripts.items()}
    children: dict[str, list[str]] = {rev: [] for rev in scripts}
    for rev, ps in parents.items():
        for p in ps:
            children[p].append(rev)
    order = topological(list(scripts), parents, children)
    rows = {rev: i for i, rev in enumerate(order)}
    lanes_of, edges, width = assign_lanes(order, parents, rows)
    tags_of: dict[str, list[str]] = {}
    for name, rev in sorted(tags.items()):
        tags_of.setdefault(rev, []).append(name)
    at = set(current or ())
    nodes = [
        GraphNode(
            revision=rev, message=scripts[rev].doc or "", parents=parents[rev],
            children=tuple(sorted(children[rev], key=rows.__getitem__)), row=rows[rev],
            lane=lanes_of[rev], head=not children[rev],
            branch_labels=_own_labels(scripts[rev]),
            tags=tuple(tags_of.get(rev, ())), current=None if current is None else rev in at,
        )
        for rev in order
    ]
    return RevisionGraph(nodes, edges, width, None if current is None else tuple(current),
                         note)


def _own_labels(sc: Any) -> tuple[str, ...]:
    """The branch labels a script declares (Alembic also lists those inherited from below)."""
    own = sc._orig_branch_labels if hasattr(sc, "_orig_branch_labels") else sc.branch_labels
    return tuple(sorted(own or ()))


def topological(
    revisions: Sequence[str],
    parents: Mapping[str, Sequence[str]],
    children: Mapping[str, Sequence[str]],
) -> list[str]:
    """Children before parents, each branch kept together (reverse post-order from the heads)."""
    starts = [r for r in revisions if not children[r]] + list(revisions)
    seen: set[str] = set()
    post: list[str] = []
    for start in reversed(starts):  # the first head ends up on top
        if start in seen:
            continue
        seen.add(start)
        # parents are visited last-first, so a revision's first parent comes right below it
        stack = [(start, iter(reversed(parents[start])))]
        while stack:
            rev, pending = stack[-1]
            for parent in pending:
                if parent not in seen:
                    seen.add(parent)
                    stack.append((parent, iter(reversed(parents[parent]))))
                    break
            else:
                stack.pop()
                post.append(rev)
    return post[::-1]


def assign_lanes(
    order: Sequence[str], parents: Mapping[str, Sequence[str]], rows: Mapping[str, int]
) -> tuple[dict[str, int], list[GraphEdge], int]:
    """Each revision's lane, each edge's lane at every row it spans, and how many lanes."""
    lanes: list[str | None] = []  # the revision each lane is waiting for
    lane_of: dict[str, int] = {}
    reserved: dict[tuple[str, str], int] = {}  # (child, parent) -> the lane the edge runs in

    def free_lane() -> int:
        if None in lanes:
            return lanes.index(None)
        lanes.append(None)
        return len(lanes) - 1

    for rev in order:
        holding = [i for i, waiting in enumerate(lanes) if waiting == rev]
        lane = holding[0] if holding else free_lane()
        for i in holding:
            lanes[i] = None  # branches that come from this revision end here
        lane_of[rev] = lane
        for n, parent in enumerate(parents[rev]):
            if n == 0:
                target = lane  # the first parent continues this revision's lane
            elif parent in lanes:
                target = lanes.index(parent)
            else:
                target = free_lane()
            lanes[target] = parent
            reserved[(rev, parent)] = target

    edges = []
    for rev in order:
        for parent in parents[rev]:
            lane, start, end = reserved[(rev, parent)], rows[rev], rows[parent]
            path = [(start, lane_of[rev])]
            path += [(r, lane) for r in range(start + 1, end)]
            path.append((end, lane_of[parent]))
            edges.append(GraphEdge(rev, parent, tuple(path)))
    return lane_of, edges, len(lanes)
