"""Progress on long work: a tqdm bar, shown once a command has run for a second.

The engine tells an ``on_progress(item, done, planned)`` callback of each step it
finishes: a revision of an upgrade, a downgrade or a ``--dry-run`` rehearsal, a table
that autogenerate compared (diff, check, revision --autogenerate), a database that
status read. A front end hands the command a ``Progress`` as that callback (``shown``).
It draws nothing, and imports nothing, until the work has taken ``DELAY`` seconds;
then it shows tqdm's bar, labelled with the step just done (a revision's id and
message, a table, a database):

- in a notebook (a Jupyter kernel): tqdm's widget, which the command's end replaces
  by a one-line summary, ``upgrade heads: 40/40 revisions in 00:02``;
- in a terminal: tqdm's text bar on stderr, only when stderr is a TTY, its last line
  ending with ``40/40``. Progress is never written to stdout.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .engine.text import clip, short

DELAY = 1.0
"""Seconds of work before a bar appears. Past about a second a user wonders whether
anything is happening; work shorter than that shows nothing extra, so a quick command
prints exactly what it did before. A count of steps says nothing about time (500 small
revisions take half a second, one data migration can take minutes)."""

NOTEBOOK, TERMINAL = "notebook", "terminal"
"""Where a bar is shown: a widget in the cell's output, or text on stderr."""

FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}{postfix}] {n_fmt}/{total_fmt}"
"""tqdm's bar, the count last: its final state reads ``... [00:02<00:00] 40/40``."""

NOUNS = {"upgrade": "revisions", "downgrade": "revisions", "stamp": "revisions",
         "diff": "tables", "check": "tables", "revision": "tables", "status": "databases",
         "test": "revisions"}
"""The sub-commands whose engine call reports progress, and what their steps are."""

LABEL_WIDTH = 40  # characters of a step's label; the line keeps room for bar and count
TITLE_WIDTH = 40


def form_for(shell: Any = None) -> str | None:
    """Where a bar can be shown: a widget when ``shell`` is a Jupyter kernel's, else text
    on stderr when stderr is a terminal, else nowhere (piped, redirected, captured).

    tqdm's ``auto`` module makes the same choice once, when it is first imported; this
    makes it per command, for the shell that runs it.
    """
    if shell is not None and getattr(shell, "kernel", None) is not None:
        return NOTEBOOK
    return TERMINAL if _is_terminal(sys.stderr) else None


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no stream, or a closed one
        return False


@contextmanager
def shown(args: argparse.Namespace, form: str | None) -> Iterator[Progress | None]:
    """While the command parsed into ``args`` runs, give it a ``Progress`` of ``form``
    as its ``on_progress`` (the grammar passes every parsed name the engine method
    accepts); the bar ends with the command, as a success or, if it raised, as where
    it stopped."""
    progress = for_command(args, form)
    if progress is None:
        yield None
        return
    args.on_progress = progress
    failed = True
    try:
        yield progress
        failed = False
    finally:
        del args.on_progress
        progress.close(failed=failed)


def for_command(args: argparse.Namespace, form: str | None) -> Progress | None:
    """The Progress for a command that reports it, None for any other (or no ``form``)."""
    noun = NOUNS.get(getattr(args, "command", ""))
    if form is None or noun is None or getattr(args, "sql", False):
        return None  # --sql renders offline: nothing runs, nothing to count
    if args.command == "revision" and not getattr(args, "autogenerate", False):
        return None
    return Progress(title(args), noun, form)


def title(args: argparse.Namespace) -> str:
    """The bar's name: the command as typed, in short (``upgrade heads --dry-run``)."""
    words = [args.command]
    if args.command == "stamp":
        words.extend(args.revisions)
    elif getattr(args, "target", None):
        words.append(args.target)
    if getattr(args, "dry_run", False):
        words.append("--dry-run")
    if args.command == "revision":
        words.append("--autogenerate")
    if getattr(args, "db", None):
        words.extend(["--db", args.db])
    return clip(plain(" ".join(words)), TITLE_WIDTH)


def label(item: object) -> str:
    """What a step done is called: a revision's id and message, a database's name, a
    table's name."""
    revision = getattr(item, "revision", None)
    if isinstance(revision, str):
        text = f"{short(revision)} {getattr(item, 'message', '') or ''}"
    else:
        text = str(getattr(item, "name", item))
    return clip(plain(text), LABEL_WIDTH)


def plain(text: str) -> str:
    """``text`` without control characters, which would move a terminal's cursor."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", text)


class Progress:
    """An engine ``on_progress`` callback that shows a tqdm bar once the work has taken
    ``delay`` seconds (counted from its creation, as the command starts)."""

    def __init__(self, title: str, noun: str, form: str, *, delay: float = DELAY) -> None:
        self.title = title
        self.noun = noun
        self.form = form
        self.delay = delay
        self.started = time.monotonic()
        self.bar: Any = None  # the tqdm bar, once shown
        self.handle: Any = None  # the notebook output that holds it
        self.summary = ""  # what a notebook's bar became when the command ended
        self.off = False  # tqdm is switched off (TQDM_DISABLE=1)

    def __call__(self, item: object, done: int, planned: int) -> None:
        """The engine finished ``item``, the ``done``-th of ``planned`` steps."""
        if self.bar is None:
            if self.off or time.monotonic() - self.started < self.delay:
                return
            self.bar = self._open(item, done, planned)
            self.off = self.bar is None
            return
        bar = self.bar
        if planned != bar.total:  # a run that starts again (a script commits) may replan
            started = bar.start_t
            bar.reset(total=planned)
            bar.start_t = started
        bar.set_postfix_str(self._fit(item, bar), refresh=False)
        bar.update(done - bar.n)  # may go back: a rehearsal read again counts anew

    def _fit(self, item: object, bar: Any) -> str:
        """The label of ``item``, cut so that a terminal's line keeps its count."""
        text = label(item)
        columns = getattr(bar, "ncols", None)  # a terminal's width; None in a notebook
        if not columns:
            return text
        # "TITLE: 100%|" + a bar of 10 + "| [00:00<00:00, " + label + "] N/N"
        room = columns - len(self.title) - 44 - 2 * len(str(bar.total))
        return clip(text, room) if room >= 8 else ""

    def _open(self, item: object, done: int, planned: int) -> Any:
        """tqdm's bar of this form at ``done`` of ``planned``, shown now; its clock, rate
        and time left count from the command's start (the average rate: steps differ).
        None where the user switched tqdm off (``TQDM_DISABLE=1``)."""
        options: dict[str, Any] = {"total": planned, "desc": self.title, "leave": True,
                                   "bar_format": FORMAT, "smoothing": 0}
        if self.form == NOTEBOOK:
            from tqdm.notebook import tqdm as notebook_bar

            bar = notebook_bar(**options, display=False)  # displayed below, when drawn
        else:
            from tqdm.std import tqdm as text_bar

            # delay: not drawn before its clock is set (the delay itself has passed)
            bar = text_bar(**options, file=sys.stderr, dynamic_ncols=True, delay=self.delay)
        if bar.disable:
            return None
        bar.n = bar.last_print_n = done
        bar.start_t -= time.monotonic() - self.started
        bar.set_postfix_str(self._fit(item, bar), refresh=False)
        bar.refresh()
        if self.form == NOTEBOOK:
            from IPython.display import display

            self.handle = display(bar.container, display_id=True)
        return bar

    def close(self, *, failed: bool = False) -> None:
        """The command ended: a terminal keeps the bar's last line (``... 40/40``); in a
        notebook the bar becomes a summary line. Nothing happens if no bar was shown."""
        bar, self.bar = self.bar, None
        if bar is None:
            return
        bar.set_postfix_str("", refresh=False)
        if self.form != NOTEBOOK:
            bar.close()
            return
        elapsed = bar.format_interval(bar.format_dict["elapsed"])
        counted = f"{bar.n}/{bar.total} {self.noun}"
        complete = not failed and bar.n >= (bar.total or 0)
        self.summary = (f"{self.title}: {counted} in {elapsed}" if complete
                        else f"{self.title}: stopped after {counted} ({elapsed})")
        bar.leave = False
        bar.close()
        bar.container.close()  # its widget model too: the summary takes its place
        self.handle.update({"text/plain": self.summary}, raw=True)
