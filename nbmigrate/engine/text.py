"""Short texts shared by messages and views: a revision, a set of heads, a clipped line."""

from __future__ import annotations

import re
from collections.abc import Sequence


def short(revision: str | None) -> str:
    """A revision id as tables show it (12 characters), or "base"."""
    return revision[:12] if revision else "base"


def clip(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with "..." if longer."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def heads_text(heads: Sequence[str]) -> str:
    """Where a database is: its heads, or that nothing is applied."""
    return ", ".join(short(h) for h in heads) if heads else "base (no revision applied)"


def script_text(message: str | None) -> str | None:
    """A revision message as a script template may place it (a docstring, a string, a
    comment): one line, its backslashes and quotes escaped, so that it is only ever
    text and Python reads back exactly what was written."""
    if message is None:
        return None
    line = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", message).split())
    return line.replace("\\", "\\\\").replace('"', '\\"').replace("'", "\\'")
