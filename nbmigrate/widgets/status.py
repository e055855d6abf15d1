"""The status line and the one error path every dashboard callback goes through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..display.dashboard import status_html
from ..engine.errors import NbMigrateError


def one_line(exc: BaseException) -> str:
    """An exception as the one line the status shows."""
    if isinstance(exc, NbMigrateError):
        return str(exc)
    text = " ".join(str(exc).split())  # an unexpected error: its type says what went wrong
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class StatusLine(w.HTML):
    """One line saying what the dashboard is doing, did, or why it failed."""

    def __init__(self) -> None:
        super().__init__()
        self.kind = "ready"
        self.text = ""
        self.show("ready", "ready")

    def show(self, kind: str, text: str) -> None:
        """Show ``text`` as ``kind`` (ready, busy, ok, error)."""
        self.kind, self.text = kind, text
        self.value = status_html(kind, text)


class Worker:
    """Runs one piece of work at a time: buttons off, status busy, any error as one line."""

    def __init__(self, status: StatusLine, sync_buttons: Callable[[bool], None], *,
                 before: Callable[[], None] | None = None,
                 after: Callable[[], None] | None = None) -> None:
        self.status = status
        self.sync_buttons = sync_buttons  # called with busy=True before, busy=False after
        self.before = before  # run first, unless the work reads everything anyway
        self.after = after  # run once the work is done, whatever its outcome
        self.busy = False

    def run(self, doing: str, work: Callable[[], str | None], *, check: bool = True) -> bool:
        """Run ``work`` (after ``before``, if ``check``); its return value (or "done") is the
        status. False if it failed."""
        if self.busy:
            return False  # a click queued behind running work
        self.busy = True
        self.sync_buttons(True)
        self.status.show("busy", doing)
        try:
            if check and self.before is not None:
                self.before()
            said = work()
        except Exception as exc:  # noqa: BLE001 - shown in the widget, never lost in a log
            self.status.show("error", one_line(exc))
            return False
        else:
            self.status.show("ok", said or "done")
            return True
        finally:
            if self.after is not None:
                self.after()
            self.busy = False
            self.sync_buttons(False)

    def callback(self, doing: str, work: Callable[[], str | None], *, check: bool = True
                 ) -> Callable[..., None]:
        """A button or observer callback that runs ``work`` through ``run``."""

        def handler(*_: Any) -> None:
            self.run(doing, work, check=check)

        return handler

