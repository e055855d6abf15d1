"""How each front end spells the engine's advice: ``%migrate ...`` or ``nbmigrate ...``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..engine.advice import Command, Part, Setting, spell


@dataclass(frozen=True)
class Spelling:
    """A front end's words: its command, and how it sets an option (None: it has none)."""

    program: str
    settings: str | None = None  # e.g. "%config NbMigrate.{name} = {value}"

    def command(self, advice: Command) -> str:
        return " ".join((self.program, *advice.words))

    def setting(self, advice: Setting) -> str | None:
        if self.settings is None:
            return None
        return self.settings.format(name=advice.name, value=advice.value)

    def __call__(self, parts: Iterable[Part]) -> str:
        return spell(parts, self.command, self.setting)


NOTEBOOK = Spelling("%migrate", "%config NbMigrate.{name} = {value}")
TERMINAL = Spelling("nbmigrate")
