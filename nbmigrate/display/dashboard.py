"""The dashboard's HTML: its header, history table, previews and status line."""

from __future__ import annotations

import html
from typing import Any

from ..engine.checksums import Validation
from ..engine.plans import Plan
from ..engine.results import CurrentState, Diff, History, TagList
from ..engine.text import heads_text, short
from .checks import validation_note
from .styles import DANGER, ERROR, MUTED, STATUS, WARNING
from .tables import html_table
from .words import NOTEBOOK

HISTORY_COLUMNS = ("revision", "message", "parents", "shape", "branch_labels", "tags",
                   "applied", "current")
STATUS_PREFIX = {"ready": "", "busy": "working: ", "ok": "", "error": "error: "}


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
    return html_table(HISTORY_COLUMNS, rows, title=history.title(), note=history.note(),
                      marked=marked)


def header_html(state: CurrentState) -> str:
    """One line: the database, its revision(s), the heads, what is pending."""
    esc = html.escape
    at = ", ".join(f"{short(r.revision)} ({r.message})" for r in state.current) or (
        heads_text(state.unknown))
    pending = (f"{len(state.pending)} revision(s) pending" if state.pending
               else "up to date" if state.current else "no revisions applied")
    heads = heads_text(state.script_heads) if state.script_heads else "none yet"
    return (f"<div class=nbm-header><b>{esc(state.database)}</b> "
            f"<span style='color:{MUTED}'>{esc(state.url)}</span> is at "
            f"<code>{esc(at)}</code> &middot; heads: <code>"
            f"{esc(heads)}</code> &middot; {esc(pending)}</div>")


def findings_html(validation: Validation) -> str:
    """Applied revisions edited since, or whose files are gone: ``status``'s words, then
    ``validate``'s advice ("" when there are none)."""
    if not validation.changed_since:
        return ""
    advice = NOTEBOOK(validation_note(validation))
    return (f"<div class=nbm-findings style='{WARNING};overflow-wrap:anywhere'>&#9888; "
            f"{html.escape(validation.changed_since)}<div class=nbm-advice "
            f"style='color:{MUTED}'>{html.escape(advice)}</div></div>")


def header_error_html(message: str) -> str:
    """The header when the database cannot be read."""
    return f"<div class=nbm-header style='color:{ERROR}'>{html.escape(message)}</div>"


def operations_html(diff: Diff) -> str:
    """The operations as a table; destructive ones marked and listed in red."""
    rows = diff.rows()
    lossy = [i for i, op in enumerate(diff.operations) if op.destructive]
    parts = []
    if lossy:
        names = ", ".join(f"{o.op} {'.'.join(filter(None, (o.table, o.name)))}"
                          for o in diff.operations if o.destructive)
        parts.append(f"<div class=nbm-danger style='{DANGER}'>&#9888; destructive: "
                     f"{html.escape(names)}</div>")
    parts.append(html_table(diff.columns, rows, title=diff.title(), note=diff.note(),
                            marked=lossy, lossy=True))
    return "".join(parts)


def plan_html(plan: Plan) -> str:
    """The plan, with what it would lose in red and the lint warnings above it."""
    parts = []
    if plan.destructive:
        parts.append(f"<div class=nbm-danger style='{DANGER}'>&#9888; would lose data: "
                     f"{html.escape(plan.loss())}</div>")
    for warning in plan.warnings:
        parts.append(f"<div class=nbm-warning style='{WARNING}'>&#9888; "
                     f"{html.escape(warning)}</div>")
    parts.append(plan._repr_html_())
    return "".join(parts)


def status_html(kind: str, text: str) -> str:
    """The status line: ready, busy, ok or error, and what it says."""
    return (f"<div class=nbm-status data-kind={kind} style='color:{STATUS[kind]};"
            "white-space:normal;overflow-wrap:anywhere'>"
            f"{html.escape(STATUS_PREFIX[kind] + text)}</div>")


def stale_html(why: str) -> str:
    """The note above a Preview that no longer matches: why, and that Apply is off."""
    return (f"<div class=nbm-stale style='{WARNING}'>&#9888; stale preview: "
            f"{html.escape(why)} since it was made; Apply is off until you Preview again</div>")
