"""The read commands' words: the titles and notes of history, current and heads.

Kept apart from ``views``, which registers them with every other result's, so that the
terminal shows these three without loading the engine's other commands (and Alembic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..engine.advice import Command, Part
from ..engine.results import CurrentState, Heads, History, Result
from ..engine.text import heads_text
from .tables import marked_rows, titled_text
from .words import Spelling

Words = str | Sequence[Part]

# the column whose true values mark a row (bold in HTML, ">" in text)
MARKED = {History: "current", Heads: "current"}


def history_title(r: History) -> Words:
    where = f" on {r.database}" if r.database else ""
    at = f", at {heads_text(r.current)}" if r.applied is not None else ""
    return f"history: {len(r.revisions)} revision(s){where}{at}"


def history_note(r: History) -> Words:
    return f"applied: unknown ({r.unreachable})" if r.unreachable else ""


def current_title(r: CurrentState) -> Words:
    return f"{r.database} ({r.url}) is at {heads_text(r.revisions)}"


def current_note(r: CurrentState) -> Words:
    if r.unknown:
        return undefined(r.unknown)
    if r.pending:
        every = "heads" if len(r.script_heads) > 1 else "head"  # the word the README teaches
        return (f"{len(r.pending)} revision(s) pending: ", Command("upgrade", every),
                " applies them")
    return "up to date" if r.current else "no revisions yet"


def heads_title(r: Heads) -> Words:
    return f"{len(r.heads)} head(s)"


def heads_note(r: Heads) -> Words:
    if len(r.heads) > 1:
        return ("the history has branched into several heads: ",
                Command("merge", "-m", "'merge heads'"), " joins them into one; ",
                Command("upgrade", "heads"), " applies every branch")
    return ""


def undefined(revisions: Sequence[str]) -> str:
    """A database at revisions no script defines."""
    return (f"the database is at {', '.join(revisions)}, which no script here defines: "
            "is this the right migration directory?")


TITLES: dict[type, Callable[..., Words]] = {
    History: history_title, CurrentState: current_title, Heads: heads_title}
NOTES: dict[type, Callable[..., Words]] = {
    History: history_note, CurrentState: current_note, Heads: heads_note}


def text(result: Result, spelling: Spelling) -> str:
    """A History, CurrentState or Heads as ``views.text`` shows it."""
    rows = result.rows()

    def spelled(words: Words) -> str:
        return words if isinstance(words, str) else spelling(words)

    return titled_text(spelled(TITLES[type(result)](result)), result.columns, rows,
                       spelled(NOTES[type(result)](result)),
                       marked=marked_rows(result.columns, rows, MARKED.get(type(result))))
