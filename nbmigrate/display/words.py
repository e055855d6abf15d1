"""How each front end spells the engine's advice: ``%migrate ...`` or ``nbmigrate ...``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..engine.advice import Command, Part, Setting, spell


@dataclass(frozen=True)
class Spelling:
    """A front end's words: its command, and how it sets an option (None: it has none)."""

    program: str
    settings: str | None = None  # e.g. "%config NbMigrate.{name} = {value}"
    terminal: bool = False  # no state between commands: -c and --url name project and database

    def command(self, advice: Command) -> str:
        words = advice.words
        if self.terminal and words[:1] in (("attach",), ("connect",)) and len(words) > 1:
            option = "-c" if words[0] == "attach" else "--url"  # it keeps nothing between runs
            return f"{self.program} {option} {words[1]} SUBCOMMAND"
        return " ".join((self.program, *words))

    def setting(self, advice: Setting) -> str | None:
        if self.settings is None:
            return None
        return self.settings.format(name=advice.name, value=advice.value)

    def __call__(self, parts: Iterable[Part]) -> str:
        return spell(parts, self.command, self.setting)


NOTEBOOK = Spelling("%migrate", "%config NbMigrate.{name} = {value}")
TERMINAL = Spelling("nbmigrate", terminal=True)


def lines(*lines: str | Sequence[Part]) -> list[Part]:
    """Lines of words joined by newlines, empty ones left out."""
    out: list[Part] = []
    for line in filter(None, lines):
        if out:
            out.append("\n")
        out.extend([line] if isinstance(line, str) else line)
    return out
