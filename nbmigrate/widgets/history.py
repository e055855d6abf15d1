"""The history table and the header: where the selected database stands."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..display.tables import html_table
from ..engine.results import CurrentState, History, TagList, heads_text, short

COLUMNS = ("revision", "message", "parents", "shape", "branch_labels", "tags", "applied",
           "current")


def shape(revision: Any) -> str:
    """What a revision is in the graph: head, merge, branch point, root."""
    parts = [name for name, flag in (("head", revision.is_head), ("merge", revision.is_merge),
                                      ("branch point", revision.is_branch_point),
                                      ("root", not revision.parents)) if flag]
    return ", ".join(parts)


def history_html(history: History, tags: TagList) -> str:
    """The history table with the current revision marked, merges, branches and tags."""
    named: dict[str, list[str]] = {}
    for name, info in tags.tags:
        named.setdefault(info.revision, []).append(name)
    applied = history.applied
    rows = [(r.revision, r.message, r.parents, shape(r), r.branch_labels,
             tuple(named.get(r.revision, ())),
             None if applied is None else r.revision in applied,
             r.revision in history.current) for r in history.revisions]
    marked = [i for i, row in enumerate(rows) if row[-1]]
    return html_table(COLUMNS, rows, title=history.title(), note=history.note(), marked=marked)


def header_html(state: CurrentState) -> str:
    """One line: the database, its revision(s), the heads, what is pending."""
    esc = html.escape
    at = ", ".join(f"{short(r.revision)} ({r.message})" for r in state.current) or (
        heads_text(state.unknown))
    pending = (f"{len(state.pending)} revision(s) pending" if state.pending
               else "up to date" if state.current else "no revisions applied")
    heads = heads_text(state.script_heads) if state.script_heads else "none yet"
    return (f"<div class=nbm-header><b>{esc(state.database)}</b> "
            f"<span style='color:#666'>{esc(state.url)}</span> is at "
            f"<code>{esc(at)}</code> &middot; heads: <code>"
            f"{esc(heads)}</code> &middot; {esc(pending)}</div>")


class HistoryView(w.HTML):
    """The history table of the selected database."""

    def show(self, history: History, tags: TagList) -> None:
        self.value = history_html(history, tags)
