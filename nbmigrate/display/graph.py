"""The revision graph drawn: text for a terminal (as ``git log --graph``), SVG for a notebook."""

from __future__ import annotations

import html
from collections.abc import Iterable

from ..engine.graph import GraphEdge, GraphNode, RevisionGraph
from ..engine.text import short
from .styles import (
    CURRENT_FILL,
    CURRENT_STROKE,
    LABEL_COLORS,
    MESSAGE,
    NODE_FILL,
    PALETTE,
    STYLE,
    TEXT,
)

ROW, LANE, PAD, RADIUS, CHAR = 26, 16, 10, 5, 7.2  # pixels; CHAR: a monospace glyph's width


def labels(node: GraphNode) -> list[tuple[str, str]]:
    """(kind, text) decorations: head, branch labels, tags, current."""
    out = [("head", "head")] if node.head else []
    out += [("branch", f"branch: {b}") for b in node.branch_labels]
    out += [("tag", f"tag: {t}") for t in node.tags]
    if node.current:
        out.append(("current", "current"))
    return out


# ------------------------------------------------------------------ text


def text(graph: RevisionGraph, title: str, note: str) -> str:
    """One line per revision, lanes drawn with ``*`` (``@`` for the current one) and ``|``."""
    lines = [title]
    width = 2 * max(graph.lanes, 1) - 1
    for node in graph.nodes:
        marks = [" "] * width
        for edge in _passing(graph, node.row):
            marks[2 * edge.lane_at(node.row)] = "|"
        marks[2 * node.lane] = "@" if node.current else "*"
        decorations = ", ".join(words for _, words in labels(node))
        decorations = f" ({decorations})" if decorations else ""
        lines.append(f"{''.join(marks)} {short(node.revision)}{decorations} {node.message}"
                     .rstrip())
        connector = _connector(graph, node.row, width)
        if connector:
            lines.append(connector)
    if note:
        lines.append(note)
    return "\n".join(lines)


def _passing(graph: RevisionGraph, row: int) -> Iterable[GraphEdge]:
    """Edges that pass through ``row`` without ending or starting there."""
    return (e for e in graph.edges if e.path[0][0] < row < e.path[-1][0])


def _connector(graph: RevisionGraph, row: int, width: int) -> str:
    """The line between ``row`` and the next, when an edge changes lane there."""
    segments = [(e.lane_at(row), e.lane_at(row + 1)) for e in graph.edges
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


def html_view(graph: RevisionGraph, title: str, note: str) -> str:
    """The title, the graph as inline SVG, and the note."""
    parts = [STYLE, f"<div class=nbm-title>{html.escape(title)}</div>"]
    if graph.nodes:
        parts.append(svg(graph))
    if note:
        parts.append(f"<div class=nbm-note>{html.escape(note)}</div>")
    return "".join(parts)


def svg(graph: RevisionGraph) -> str:
    """The graph as an inline SVG element."""
    text_x = PAD + max(graph.lanes, 1) * LANE + 8
    widest = max(len(_line_text(n)) for n in graph.nodes)
    width = int(text_x + widest * CHAR + PAD)
    height = PAD * 2 + len(graph.nodes) * ROW
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="nbm-graph" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" '
           'style="font-family:monospace;font-size:12px">']
    for edge in graph.edges:
        lane = edge.path[1][1] if len(edge.path) > 2 else edge.path[-1][1]
        out.append(f'<path d="{_edge_path(edge)}" fill="none" style="stroke:{_color(lane)}" '
                   'stroke-width="2"/>')
    for node in graph.nodes:
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


def _line_text(node: GraphNode) -> str:
    decorations = "".join(f" [{words}]" for _, words in labels(node))
    return f"{short(node.revision)}{decorations} {node.message}"


def _paint(fill: str, stroke: str = "") -> str:
    """A style attribute: SVG's fill="..." and stroke="..." do not resolve var()."""
    return f'style="fill:{fill}' + (f';stroke:{stroke}"' if stroke else '"')


def _node_svg(node: GraphNode, text_x: float) -> str:
    x, y = _x(node.lane), _y(node.row)
    esc = html.escape
    tip = esc(f"{node.revision}: {node.message}")
    if node.current:
        circle = (f'<circle cx="{x:g}" cy="{y:g}" r="{RADIUS + 1}" '
                  f'{_paint(CURRENT_FILL, CURRENT_STROKE)} stroke-width="2"/>')
    else:
        circle = (f'<circle cx="{x:g}" cy="{y:g}" r="{RADIUS}" '
                  f'{_paint(NODE_FILL, _color(node.lane))} stroke-width="2"/>')
    weight = ' font-weight="bold"' if node.current else ""
    spans = [f'<tspan class="nbm-rev-id"{weight}>{esc(short(node.revision))}</tspan>']
    for kind, words in labels(node):
        spans.append(f'<tspan {_paint(LABEL_COLORS[kind])} font-weight="bold"> '
                     f'[{esc(words)}]</tspan>')
    spans.append(f'<tspan class="nbm-rev-message" {_paint(MESSAGE)}> '
                 f'{esc(node.message)}</tspan>')
    return (f'<g class="nbm-rev" data-revision="{esc(node.revision)}"><title>{tip}</title>'
            f'{circle}<text x="{text_x:g}" y="{y + 4:g}" {_paint(TEXT)}>{"".join(spans)}'
            '</text></g>')
