"""The audit log as a user reads it first: when, what, from -> to, status, seconds, and
the error on one line (the whole text one click away). Every column stays in the
DataFrame; these views pick and word them.

The views take rows with the log's fields as attributes: the engine's ``LogEntry``
or a DataFrame's ``itertuples()``, whose missing values are NaN or NaT.
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable, Mapping
from typing import Any

from .styles import LOG_STATUS, LOG_STYLE, STYLE
from .tables import text_table, when

COLUMNS = ("when (UTC)", "what", "from -> to", "status", "seconds", "error")
FIELDS = ("started_at", "action", "revision", "from_revision", "to_revision", "status",
          "seconds", "error")  # what the views read from a row
ERROR_WIDTH = 80  # characters of an error's first line shown in the table
MORE = "every column (direction, success, os_user, nbmigrate_version, the whole error) " \
       "is in the DataFrame: df = %migrate log"


def _known(value: Any) -> Any:
    """``value``, or None where a DataFrame holds NaN or NaT."""
    return None if value is None or value != value else value


def what(row: Any, messages: Mapping[str, str]) -> str:
    """The action, the revision and its message: "upgrade a1b2: add email"."""
    revision = _known(row.revision)
    message = messages.get(revision, "") if revision else ""
    words = f"{row.action} {revision}" if revision else str(row.action)
    return f"{words}: {message}" if message else words


def span(row: Any) -> str:
    """From which revision to which ("base" for none), or "" where the log does not say."""
    start, end = _known(row.from_revision), _known(row.to_revision)
    if start is None and end is None:
        return ""
    return f"{start or 'base'} -> {end or 'base'}"


def seconds(value: Any) -> str:
    """A step's duration, or "" while it runs or where it was cut off."""
    value = _known(value)
    return "" if value is None else f"{value:.3f}"


def error_line(error: str) -> str:
    """The error's first line, clipped to ``ERROR_WIDTH`` characters ("…" where more
    follows)."""
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if len(first) > ERROR_WIDTH:
        return first[:ERROR_WIDTH - 1] + "\u2026"
    return f"{first} \u2026" if len(lines) > 1 else first


def _error(row: Any) -> str:
    return str(_known(row.error) or "")


def rows(entries: Iterable[Any], messages: Mapping[str, str]) -> list[tuple[str, ...]]:
    """One row of ``COLUMNS`` per step, as text."""
    return [(when(_known(r.started_at)), what(r, messages), span(r), str(_known(r.status) or ""),
             seconds(r.seconds), error_line(_error(r))) for r in entries]


def html(entries: Iterable[Any], *, title: str, note: str,
         messages: Mapping[str, str] | None = None) -> str:
    """The log as an HTML table; a long error is one line that opens to its whole text."""
    entries, messages = list(entries), messages or {}
    body = []
    for row, shown in zip(entries, rows(entries, messages), strict=True):
        stamp, words, moved, status, took, line = map(_html.escape, shown)
        error = _error(row)
        if error.strip() != shown[-1]:
            line = (f"<details><summary>{line}</summary>"
                    f"<pre>{_html.escape(error.strip())}</pre></details>")
        kind = f" class=nbm-{status}" if status in LOG_STATUS else ""
        body.append(f"<tr><td class=nbm-when>{stamp}</td><td>{words}</td>"
                    f"<td class=nbm-when>{moved}</td><td{kind}>{status}</td><td>{took}</td>"
                    f"<td class=nbm-error>{line}</td></tr>")
    head = "".join(f"<th>{_html.escape(c)}</th>" for c in COLUMNS)
    parts = [STYLE, LOG_STYLE, f"<div class=nbm-title>{_html.escape(title)}</div>"]
    if entries:
        parts.append(f"<table class=nbm-table><thead><tr>{head}</tr></thead>"
                     f"<tbody>{''.join(body)}</tbody></table>")
    notes = "\n".join(filter(None, (note, MORE if entries else "")))
    if notes:
        parts.append(f"<div class=nbm-note>{_html.escape(notes)}</div>")
    return "".join(parts)


def text(entries: Iterable[Any], *, title: str, note: str,
         messages: Mapping[str, str] | None = None) -> str:
    """The log as a plain-text table, then the errors that did not fit, in full."""
    entries, messages = list(entries), messages or {}
    shown = rows(entries, messages)
    parts = [title]
    if entries:
        parts.append(text_table(COLUMNS, shown))
    full = [(r, line) for r, line in zip(entries, shown, strict=True)
            if _error(r).strip() != line[-1]]
    if full:
        parts.append("errors in full:")
        for row, line in full:
            body = "\n".join(f"    {text_line}" for text_line in _error(row).strip().splitlines())
            parts.append(f"  {line[0]} {line[1]}:\n{body}")
    parts.append(note)
    return "\n".join(p for p in parts if p)
