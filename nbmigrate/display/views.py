"""Every result's views: title, note, HTML, text and frame, registered per result type.

As Alembic registers a renderer per operation class, each result type registers
what differs: most only a title and a note; the table itself comes from the
result's ``columns`` and ``rows()``. Titles and notes may carry advice as words
(``advice.Command``), spelled by the front end that shows them (``spelling``).
"""

from __future__ import annotations

import html as _html
from collections.abc import Sequence
from functools import singledispatch
from typing import Any

from ..engine.advice import Command, Part
from ..engine.audit import AuditLog
from ..engine.checksums import Validation
from ..engine.graph import RevisionGraph
from ..engine.plans import LintReport, Plan
from ..engine.results import (
    ApplyResult,
    Branches,
    ConnectionList,
    CurrentState,
    Diff,
    Heads,
    History,
    Note,
    Rename,
    Result,
    RevisionCreated,
    RevisionDetails,
    RevisionInfo,
    SqlScript,
    Status,
    TagList,
)
from ..engine.text import heads_text, short
from ..engine.trial_report import TrialReport
from . import auditlog, checks, reading_views
from . import graph as drawing
from .reading_views import undefined as _undefined
from .tables import LOSSY_COLUMN, html_block, html_table, marked_rows, titled_text
from .words import NOTEBOOK, Spelling, lines

Words = str | Sequence[Part]

# the column whose true values mark a row (bold in HTML, ">" in text)
MARKED = {**reading_views.MARKED, Plan: "destructive", ConnectionList: "default",
          RevisionGraph: "current"}


def title(result: Result, spelling: Spelling = NOTEBOOK) -> str:
    """The result's headline."""
    return _spell(_title(result), spelling)


def note(result: Result, spelling: Spelling = NOTEBOOK) -> str:
    """What to read after the table: advice, warnings, why something is unknown."""
    return _spell(_note(result), spelling)


def _spell(words: Words, spelling: Spelling) -> str:
    return words if isinstance(words, str) else spelling(words)


def _marked(result: Result, rows: list[tuple]) -> list[int]:
    return marked_rows(result.columns, rows, MARKED.get(type(result)))


# ----------------------------------------------------------- html, text, frame


@singledispatch
def html(result: Result, spelling: Spelling = NOTEBOOK) -> str:
    """The result as HTML: its title, its table with marked rows, its note."""
    rows = result.rows()
    if not result.columns or not rows:
        return html_table((), (), title=title(result, spelling), note=note(result, spelling))
    return html_table(result.columns, rows, title=title(result, spelling),
                      note=note(result, spelling), marked=_marked(result, rows),
                      lossy=MARKED.get(type(result)) == LOSSY_COLUMN)


@singledispatch
def text(result: Result, spelling: Spelling = NOTEBOOK) -> str:
    """The result as plain text: title, table (marked rows start with ``>``), note."""
    rows = result.rows()
    return titled_text(title(result, spelling), result.columns, rows, note(result, spelling),
                       marked=_marked(result, rows))


@singledispatch
def frame(result: Result) -> Any:
    """The table as a DataFrame that shows the title, note and marked rows as HTML."""
    from .frames import make_frame

    return make_frame(result.columns, result.rows(), mark_column=MARKED.get(type(result)),
                      title=title(result), note=note(result))


@singledispatch
def notebook_value(result: Any) -> Any:
    """What a cell shows and binds for ``result``: the result, or its table as a
    DataFrame where a user goes on to work with the rows."""
    return result


for _kind in (History, ConnectionList, TagList, AuditLog, Status, LintReport):
    notebook_value.register(_kind, lambda result: result.to_frame())


def plain(value: Any) -> Any:
    """A tuple of names as the text a table shows ("a1b2, c3d4"; "" for none)."""
    return ", ".join(map(str, value)) if isinstance(value, tuple) else value


@frame.register
def _(r: History) -> Any:
    from .frames import make_frame

    rows = [tuple(map(plain, row)) for row in r.rows()]  # h[["revision", "parents"]] reads
    return make_frame(r.columns, rows, mark_column=MARKED[History], title=title(r),
                      note=note(r))


@html.register
def _(r: AuditLog, spelling: Spelling = NOTEBOOK) -> str:
    return auditlog.html(r.entries, title=title(r, spelling), note=note(r, spelling),
                         messages=r.messages)


@text.register
def _(r: AuditLog, spelling: Spelling = NOTEBOOK) -> str:
    return auditlog.text(r.entries, title=title(r, spelling), note=note(r, spelling),
                         messages=r.messages)


@frame.register
def _(r: AuditLog) -> Any:
    from .frames import make_log_frame

    return make_log_frame(r.columns, r.rows(), title=title(r), note=note(r),
                          messages=r.messages)


@html.register
def _(r: SqlScript, spelling: Spelling = NOTEBOOK) -> str:
    return html_block(title(r, spelling), r.sql, language="sql")


@text.register
def _(r: SqlScript, spelling: Spelling = NOTEBOOK) -> str:
    return f"{title(r, spelling)}\n{r.sql}"


@html.register
def _(r: Note, spelling: Spelling = NOTEBOOK) -> str:
    return html_table(("", ""), r.rows(), title=r.text, header=False)


@text.register
def _(r: Note, spelling: Spelling = NOTEBOOK) -> str:
    width = max((len(k) for k in r.details), default=0)
    lines = [f"  {k.ljust(width)}  {v}" for k, v in r.details.items()]
    return "\n".join([r.text, *lines])


@html.register
def _(r: Plan, spelling: Spelling = NOTEBOOK) -> str:
    sql = r.sql
    details = (f"<details><summary>SQL for {_html.escape(r.database)}</summary>"
               f"{html_block('', sql, language='sql')}</details>") if sql else ""
    return html.dispatch(Result)(r, spelling) + details


@text.register
def _(r: Plan, spelling: Spelling = NOTEBOOK) -> str:
    return "\n\n".join(p for p in (text.dispatch(Result)(r, spelling), r.sql) if p)


@html.register
def _(r: RevisionGraph, spelling: Spelling = NOTEBOOK) -> str:
    return drawing.html_view(r, title(r, spelling), note(r, spelling))


@text.register
def _(r: RevisionGraph, spelling: Spelling = NOTEBOOK) -> str:
    return drawing.text(r, title(r, spelling), note(r, spelling))


# ------------------------------------------------------------- titles, notes


@singledispatch
def _title(result: Result) -> Words:
    return ""


@singledispatch
def _note(result: Result) -> Words:
    return ""


for _kind in (History, CurrentState, Heads):  # the read commands' words, kept light
    _title.register(_kind, reading_views.TITLES[_kind])
    _note.register(_kind, reading_views.NOTES[_kind])


@_title.register
def _(r: Branches) -> Words:
    return f"{len(r.points)} branch point(s)"


def revision_line(r: RevisionInfo) -> str:
    """One revision on one line: id, branch labels, head, message."""
    labels = f" ({', '.join(r.branch_labels)})" if r.branch_labels else ""
    head = " (head)" if r.is_head else ""
    return f"{r.revision}{labels}{head}: {r.message}"


@_title.register
def _(r: RevisionDetails) -> Words:
    return "\n".join(revision_line(info) for info in r.revisions)


@_note.register
def _(r: RevisionDetails) -> Words:
    return "\n\n".join(info.doc for info in r.revisions)


@_title.register
def _(r: ApplyResult) -> Words:
    waited = (f" (after waiting {r.waited:.1f} s for another migration)"
              if r.waited >= 0.5 else "")
    if not r.steps and r.before == r.after:
        return f"{r.database} is already at {heads_text(r.after)}: nothing to do{waited}"
    verb = {"upgrade": "upgraded", "downgrade": "downgraded", "stamp": "stamped"}[r.action]
    return (f"{verb} {r.database} from {heads_text(r.before)} to {heads_text(r.after)}: "
            f"{len(r.steps)} revision(s) in {r.seconds:.2f} s{waited}")


@_title.register
def _(r: SqlScript) -> Words:
    if r.nothing:
        return f"-- {r.nothing}: no SQL"
    return f"-- {r.action} SQL for {r.dialect} (not executed)"


def rename_hint(rename: Rename) -> list[Part]:
    """A likely rename, and how to write it as one."""
    return [f"possible rename: {rename.arrow}; to keep the data, add --rename {rename} to ",
            Command("revision", "--autogenerate")]


@_title.register
def _(r: Diff) -> Words:
    if r.empty:
        return f"model {r.model} and {r.database} match: no differences"
    return f"model {r.model} vs {r.database}: {len(r.operations)} difference(s)"


@_note.register
def _(r: Diff) -> Words:
    return lines(*map(rename_hint, r.renames))


@_title.register
def _(r: RevisionCreated) -> Words:
    ops = f" with {len(r.operations)} operation(s)" if r.operations else ""
    model = f" from model {r.model}" if r.model else ""
    return f"wrote revision {r.revision.revision} {r.revision.message!r}{ops}{model}"


@_note.register
def _(r: RevisionCreated) -> Words:
    return lines(r.path, *map(rename_hint, r.renames),
                  ("review it, then: ", Command("upgrade", "head")))


@_title.register
def _(r: Note) -> Words:
    return r.text


@_title.register
def _(r: TagList) -> Words:
    return f"{len(r.tags)} tag(s)" if r.tags else ("no tags yet: ", Command("tag", "NAME", "[REV]"))


@_title.register
def _(r: Status) -> Words:
    down = sum(1 for row in r.entries if not row.reachable)
    return f"{len(r.entries)} database(s)" + (f", {down} unreachable" if down else "")


_title.register(Validation, checks.validation_title)
_note.register(Validation, checks.validation_note)
_title.register(TrialReport, checks.trial_title)
_note.register(TrialReport, checks.trial_note)


@_title.register
def _(r: AuditLog) -> Words:
    if not r.entries:
        return f"{r.database}: nothing applied by nbmigrate yet"
    return f"{r.database}: the last {len(r.entries)} step(s), newest first"


@_title.register
def _(r: ConnectionList) -> Words:
    return f"{len(r.entries)} connection(s)" if r.entries else "no connections yet"


@_title.register
def _(r: Plan) -> Words:
    if not r.steps:
        return f"{r.database} is at {heads_text(r.current)}: nothing to {r.action}"
    lost = len(r.destructive)
    loss = f"; {lost} would lose data" if lost else "; no data lost"
    to = r.target
    if r.after is not None:  # the revisions the target names (head, -1, a tag)
        to = ", ".join(short(h) for h in r.after) or "base"
        to += f" ({r.target})" if r.target not in (to, *r.after) else ""
    return (f"plan: {r.action} {r.database} from {heads_text(r.current)} to {to}: "
            f"{len(r.steps)} revision(s), {len(r.operations)} operation(s){loss} "
            "(nothing ran)")


@_note.register
def _(r: Plan) -> Words:
    lines = [f"{s.revision}: {s.note}" for s in r.steps if s.note]
    lines += [f"{s.revision}: {s.warning}" for s in r.steps if s.warning]
    return "\n".join(lines)


@_title.register
def _(r: LintReport) -> Words:
    n, steps = len(r.rows()), len(r.plan.steps)
    if not steps:
        return "lint: no revisions to check"
    if not n:
        return f"lint: {steps} revision(s) checked for {r.dialect}: no warnings"
    return (f"lint: {n} warning(s) in {steps} revision(s) for {r.dialect} (warnings, "
            "not errors: on a small table the plain operation is fine)")


@_title.register
def _(r: RevisionGraph) -> Words:
    if not r.nodes:
        return "revision graph: no revisions yet"
    at = f", database at {heads_text(r.current)}" if r.current is not None else ""
    return f"revision graph: {len(r.nodes)} revision(s), {len(r.heads)} head(s){at}"


@_note.register
def _(r: RevisionGraph) -> Words:
    if r.current is None:
        return f"current revision unknown ({r.unreachable})" if r.unreachable else ""
    known = {n.revision for n in r.nodes}
    unknown = [c for c in r.current if c not in known]
    return _undefined(unknown) if unknown else ""

