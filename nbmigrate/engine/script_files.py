"""The revision files one run reads, each read once: whether it commits itself, and the
checksum its audit row keeps, come from the same bytes."""

from __future__ import annotations

from pathlib import Path


class ScriptFiles:
    """Revision files read at most once each (for one run: an edit made during it is
    the next run's)."""

    def __init__(self) -> None:
        self._read: dict[str, bytes] = {}

    def read(self, path: str | Path) -> bytes:
        """The file's bytes (OSError if it cannot be read)."""
        key = str(path)
        if key not in self._read:
            self._read[key] = Path(path).read_bytes()
        return self._read[key]

    def text(self, path: str | Path) -> str:
        """The file's text."""
        return self.read(path).decode("utf-8")
