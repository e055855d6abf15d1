"""Advice as words: the command or setting a message suggests, spelled by each front end.

The engine says *what* to run (``Command("upgrade", "heads")``); the notebook
spells it with its magic, the terminal with its command (``display.words``), and
a front end without settings leaves a ``Setting`` out, with its lead-in.
A message is a sequence of parts: plain text, commands and settings.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, init=False)
class Command:
    """A sub-command and its arguments, as words."""

    words: tuple[str, ...]

    def __init__(self, *words: str) -> None:
        object.__setattr__(self, "words", words)


@dataclass(frozen=True)
class Setting:
    """An option of the front end and the value to give it; ``lead`` joins it to the
    text before it, and goes with it where a front end has no such option."""

    name: str
    value: str
    lead: str = ""


Part = str | Command | Setting


def spell(parts: Iterable[Part], command: Callable[[Command], str],
          setting: Callable[[Setting], str | None]) -> str:
    """The parts as one text: ``command`` and ``setting`` spell the advice (``setting``
    returns None where the front end has no options)."""
    out = []
    for part in parts:
        if isinstance(part, Command):
            out.append(command(part))
        elif isinstance(part, Setting):
            spelled = setting(part)
            if spelled is not None:
                out.append(part.lead + spelled)
        else:
            out.append(part)
    return "".join(out)
