"""The one exception family front-ends turn into a single line.

A message is a sequence of parts (text, and advice as words: ``advice.Command``,
``advice.Setting``); each front end spells the advice its own way with
``spell``. ``str()`` spells it as a notebook would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .advice import Command, Part, Setting


class NbMigrateError(Exception):
    """A user-facing failure: the message is one line and holds no password."""

    exit_code = 1

    def __init__(self, *parts: Part) -> None:
        super().__init__(*parts)
        self.parts = parts

    def spell(self, spelling: Callable[[Iterable[Part]], str] | None = None) -> str:
        """The message on one line, its advice spelled by ``spelling`` (default: the
        notebook's)."""
        if spelling is None:
            from ..display.words import NOTEBOOK

            spelling = NOTEBOOK
        return " ".join(spelling(self.parts).split())

    def __str__(self) -> str:
        return self.spell()

    def redacted(self, mask: Callable[[str], str]) -> NbMigrateError:
        """A copy whose every text and word went through ``mask``."""
        parts = tuple(
            Command(*map(mask, p.words)) if isinstance(p, Command)
            else p if isinstance(p, Setting) else mask(p) for p in self.parts)
        clean = type(self).__new__(type(self))
        clean.__dict__.update(self.__dict__)
        Exception.__init__(clean, *parts)
        clean.parts = parts
        return clean


class DriftDetected(NbMigrateError):
    """``check`` found differences between the model and the database."""

    exit_code = 1


class UsageProblem(NbMigrateError):
    """The command line itself is wrong (unknown sub-command, missing argument)."""

    exit_code = 2


class DestructiveChange(NbMigrateError):
    """An upgrade or downgrade would lose data and was not confirmed; nothing changed."""

    exit_code = 1

    def __init__(self, action: str, target: str, loss: str, *, stopped: str = "") -> None:
        super().__init__(
            f"{action} refused, it would lose data: {loss}. {stopped or 'Nothing changed'}. "
            "See the plan: ", Command(action, target, "--dry-run"), "; go ahead: add --yes",
            Setting("confirm_destructive", "False", lead=", or "))
        self.action, self.target, self.loss, self.stopped = action, target, loss, stopped


class Interrupted(NbMigrateError):
    """The user interrupted a run (Ctrl-C): the step in progress was undone."""

    exit_code = 130  # as a shell reports SIGINT


class SqlStopped(NbMigrateError):
    """``--sql`` stopped part-way: ``rendered`` is the SQL written before the failure."""

    def __init__(self, rendered: str, *parts: Part) -> None:
        super().__init__(*parts)
        self.rendered = rendered
