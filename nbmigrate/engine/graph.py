"""The revision graph: revisions in topological order, one lane per branch, drawn as SVG or text.

Layout follows ``git log --graph``: newest revisions first, each branch keeps a
lane (column) from the revision that starts it down to the revision it comes
from, and a merge's extra parents take a lane of their own until they are reached.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..display.tables import STYLE
from .results import Result, heads_text, short

PALETTE = ("#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
           "#7f7f7f")
ROW, LANE, PAD, RADIUS, CHAR = 26, 16, 10, 5, 7.2  # pixels; CHAR: a monospace glyph's width


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

    def labels(self) -> list[tuple[str, str]]:
        """(kind, text) decorations: head, branch labels, tags, current."""
        out = [("head", "head")] if self.head else []
        out += [("branch", f"branch: {b}") for b in self.branch_labels]
        out += [("tag", f"tag: {t}") for t in self.tags]
        if self.current:
            out.append(("current", "current"))
        return out


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
    marked_column = "current"

    def rows(self) -> list[tuple]:
        return [(n.revision, n.message, n.parents, n.children, n.lane, n.current, n.tags)
                for n in self.nodes]

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def heads(self) -> list[str]:
        return [n.revision for n in self.nodes if n.head]

    def title(self) -> str:
        if not self.nodes:
            return "revision graph: no revisions yet"
        at = f", database at {heads_text(self.current)}" if self.current is not None else ""
        return (f"revision graph: {len(self.nodes)} revision(s), "
                f"{len(self.heads)} head(s){at}")

    def note(self) -> str:
        if self.current is None:
            return f"current revision unknown ({self.unreachable})" if self.unreachable else ""
        known = {n.revision for n in self.nodes}
        unknown = [c for c in self.current if c not in known]
        if unknown:
            return (f"the database is at {', '.join(unknown)}, which no script here defines: "
                    "is this the right migration directory?")
        return ""

    # ------------------------------------------------------------------ text

    def __str__(self) -> str:
        lines = [self.title()]
        width = 2 * max(self.lanes, 1) - 1
        for node in self.nodes:
            marks = [" "] * width
            for edge in self._passing(node.row):
                marks[2 * edge.lane_at(node.row)] = "|"
            marks[2 * node.lane] = "@" if node.current else "*"
            decorations = ", ".join(text for _, text in node.labels())
            decorations = f" ({decorations})" if decorations else ""
            lines.append(f"{''.join(marks)} {short(node.revision)}{decorations} {node.message}"
                         .rstrip())
            connector = self._connector(node.row, width)
            if connector:
                lines.append(connector)
        if self.note():
            lines.append(self.note())
        return "\n".join(lines)

    def _passing(self, row: int) -> Iterable[GraphEdge]:
        """Edges that pass through ``row`` without ending or starting there."""
        return (e for e in self.edges if e.path[0][0] < row < e.path[-1][0])

    def _connector(self, row: int, width: int) -> str:
        """The line between ``row`` and the next, when an edge changes lane there."""
        segments = [(e.lane_at(row), e.lane_at(row + 1)) for e in self.edges
                    if e.path[0][0] <= row < e.path[-1][0]]
        if all(a == b for a, b in segments):
            return ""
        chars = [" "] * width
        for a, b in segments:
            if a == b:
                chars[2 * a] = "|"
        for a, b in segments:
            if a < b:
                for i in range(2 * a + 1, 2 * b):
                    chars[i] = chars[i] if chars[i] == "|" else "-"
                chars[2 * b - 1] = "\\"
            elif a > b:
                for i in range(2 * b + 1, 2 * a):
                    chars[i] = chars[i] if chars[i] == "|" else "-"
                chars[2 * b + 1] = "/"
        return "".join(chars).rstrip()

    # ------------------------------------------------------------------ SVG

    def _repr_html_(self) -> str:
        parts = [STYLE, f"<div class=nbm-title>{html.escape(self.title())}</div>"]
        if self.nodes:
            parts.append(self.svg())
        if self.note():
            parts.append(f"<div class=nbm-note>{html.escape(self.note())}</div>")
        return "".join(parts)

    def svg(self) -> str:
        """The graph as an inline SVG element."""
        text_x = PAD + max(self.lanes, 1) * LANE + 8
        widest = max(len(_line_text(n)) for n in self.nodes)
        width = int(text_x + widest * CHAR + PAD)
        height = PAD * 2 + len(self.nodes) * ROW
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="nbm-graph" width="{width}" '
               f'height="{height}" viewBox="0 0 {width} {height}" '
               'style="font-family:monospace;font-size:12px">']
        for edge in self.edges:
            lane = edge.path[1][1] if len(edge.path) > 2 else edge.path[-1][1]
            out.append(f'<path d="{_edge_path(edge)}" fill="none" stroke="{_color(lane)}" '
                       'stroke-width="2"/>')
        for node in self.nodes:
            out.append(_node_svg(node, text_x))
        out.append("</svg>")
        return "".join(out)


def _x(lane: int) -> float:
    return PAD + lane * LANE + LANE / 2


def _y(row: int) -> float:
    return PAD + row * ROW + ROW / 2


def _color(lane: int) -> str:
    return PALETTE[lane % len(PALETTE)]


def _edge_path(edge: GraphEdge) -> str:
    (r0, l0), *rest = edge.path
    d = [f"M{_x(l0):g},{_y(r0):g}"]
    for (r1, l1) in rest:
        x0, y0, x1, y1 = _x(l0), _y(r0), _x(l1), _y(r1)
        if l0 == l1:
            d.append(f"L{x1:g},{y1:g}")
        else:  # a smooth bend from one lane into the next
            mid = (y0 + y1) / 2
            d.append(f"C{x0:g},{mid:g} {x1:g},{mid:g} {x1:g},{y1:g}")
        r0, l0 = r1, l1
    return " ".join(d)


LABEL_COLORS = {"head": "#2e7d32", "branch": "#6a1b9a", "tag": "#e65100", "current": "#1565c0"}


def _line_text(node: GraphNode) -> str:
    labels = "".join(f" [{text}]" for _, text in node.labels())
    return f"{short(node.revision)}{labels} {node.message}"


def _node_svg(node: GraphNode, text_x: float) -> str:
    x, y = _x(node.lane), _y(node.row)
    esc = html.escape
    tip = esc(f"{node.revision}: {node.message}")
    if node.current:
        circle = (f'<circle cx="{x:g}" cy="{y:g}" r="{RADIUS + 1}" fill="#1565c0" '
                  'stroke="#0d47a1" stroke-width="2"/>')
    else:
        circle = (f'<circle cx="{x:g}" cy="{y:g}" r="{RADIUS}" fill="white" '
                  f'stroke="{_color(node.lane)}" stroke-width="2"/>')
    weight = ' font-weight="bold"' if node.current else ""
    spans = [f'<tspan{weight}>{esc(short(node.revision))}</tspan>']
    for kind, text in node.labels():
        spans.append(f'<tspan fill="{LABEL_COLORS[kind]}" font-weight="bold"> '
                     f'[{esc(text)}]</tspan>')
    spans.append(f'<tspan fill="#444"> {esc(node.message)}</tspan>')
    return (f'<g class="nbm-rev" data-revision="{esc(node.revision)}"><title>{tip}</title>'
            f'{circle}<text x="{text_x:g}" y="{y + 4:g}">{"".join(spans)}</text></g>')


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
