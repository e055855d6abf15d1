"""SQL as text: bound parameters written in as literals (so a statement can be read
whatever sent it), and the table names a text mentions."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

_LITERAL_OR_PLACEHOLDER = re.compile(
    r"""('(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|--[^\n]*|/\*.*?\*/)"""  # skipped as they are
    r"""|(%\((\w+)\)s|%s|\?|(?<![:\w]):(\w+)|%%)""", re.DOTALL)


def inline(sql: str, parameters: Any, paramstyle: str) -> str:
    """``sql`` with its bound parameters written in as SQL literals (for reading only)."""
    if isinstance(parameters, (list, tuple)) and parameters and \
            isinstance(parameters[0], (Mapping, list, tuple)):
        parameters = parameters[0]  # executemany: the first set says what the rest do
    positional = iter(parameters) if isinstance(parameters, Sequence) else iter(())
    named = parameters if isinstance(parameters, Mapping) else {}

    def replace(match: re.Match) -> str:
        if match.group(1):
            return match.group(1)
        token = match.group(2)
        if token == "%%":
            return "%" if paramstyle in ("pyformat", "format") else token
        if token.startswith("%(") and match.group(3) in named:
            return literal(named[match.group(3)])
        if token in ("%s", "?"):
            return literal(next(positional, None))
        if match.group(4) is not None and paramstyle in ("named", "numeric"):
            key = match.group(4)
            value = named.get(key) if named else None
            if not named and key.isdigit():
                value = list(parameters)[int(key) - 1] if isinstance(parameters, Sequence) else None
            return literal(value)
        return token

    return _LITERAL_OR_PLACEHOLDER.sub(replace, sql)


def literal(value: Any) -> str:
    """A Python value as a SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"X'{bytes(value).hex()}'"
    if isinstance(value, (datetime.date, datetime.time)):
        value = value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else \
            value.isoformat()
    return "'" + str(value).replace("'", "''") + "'"


def tables_named(text: str, known: Iterable[str]) -> list[str]:
    """Which of the ``known`` table names appear as words in ``text``."""
    words = {w.lower() for w in re.findall(r"[A-Za-z_][\w$]*", text)}
    return [name for name in known if name.lower() in words]
