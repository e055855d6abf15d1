"""Small, dependency-free HTML and text tables for results."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .styles import STYLE

LOSSY_COLUMN = "destructive"  # rows marked by it lose data: marked in the error colour


def when(value: datetime | None) -> str:
    """A time to the second ("2024-05-01 12:03:04"), so a table's rows do not wrap."""
    if value is None or value != value:  # NaT is a datetime that is not equal to itself
        return ""
    if value.tzinfo is None and value.year >= 1000:  # the same text, a history's rows quicker
        return value.isoformat(" ", "seconds")
    return value.strftime("%Y-%m-%d %H:%M:%S")


def cell(value: Any) -> str:
    """How one value reads in a table."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, (tuple, list, set, frozenset)):
        return ", ".join(str(v) for v in value)
    return str(value)


def html_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str = "",
    note: str = "",
    marked: Sequence[int] = (),
    lossy: bool = False,
    header: bool = True,
) -> str:
    """An HTML table; rows whose index is in ``marked`` are highlighted (in the error
    colour when ``lossy``: they would lose data; else in the colour of the current
    revision)."""
    marked = set(marked)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns) if header else ""
    body = "".join(
        f"<tr{' class=nbm-mark' if i in marked else ''}>"
        + "".join(f"<td>{html.escape(cell(v))}</td>" for v in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    parts = [STYLE]
    if title:
        parts.append(f"<div class=nbm-title>{html.escape(title)}</div>")
    parts.append(
        ("<table class='nbm-table nbm-lossy'>" if lossy else "<table class=nbm-table>")
        + (f"<thead><tr>{head}</tr></thead>" if head else "")
        + f"<tbody>{body}</tbody></table>"
    )
    if note:
        parts.append(f"<div class=nbm-note>{html.escape(note)}</div>")
    return "".join(parts)


def text_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, marked: Sequence[int] = ()
) -> str:
    """A plain-text table for terminals; marked rows start with ``>``."""
    marked = set(marked)
    texts = [[cell(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in texts]) for i, c in enumerate(columns)]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for i, row in enumerate(texts):
        prefix = "> " if i in marked else "  "
        cells = (v.ljust(w) for v, w in zip(row, widths, strict=True))
        lines.append((prefix + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def html_block(title: str, text: str, *, language: str = "") -> str:
    """A titled, escaped code block (SQL, Python)."""
    return (
        f"{STYLE}<div class=nbm-title>{html.escape(title)}</div>"
        f"<pre class='nbm-code {language}'>{html.escape(text)}</pre>"
    )


def marked_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]],
                column: str | None) -> list[int]:
    """The indexes of the rows whose ``column`` is true (none without a column)."""
    if column is None:
        return []
    i = list(columns).index(column)
    return [n for n, row in enumerate(rows) if row[i] is True]


def titled_text(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], note: str,
                *, marked: Sequence[int] = ()) -> str:
    """A result as plain text: its title, its table (marked rows start with ``>``), its
    note."""
    parts = [title]
    if columns and rows:
        parts.append(text_table(columns, rows, marked=marked))
    parts.append(note)
    return "\n".join(p for p in parts if p)
