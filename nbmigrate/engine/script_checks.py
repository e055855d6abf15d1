"""Checks on freshly parsed revision scripts, each problem said in one line: one revision id
in two files, identifiers that are not text, a script that fails as it is imported; and
how often the files on disk are looked at (once per command)."""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from .errors import NbMigrateError

# the command under way (see ``one_reading``): None outside any
_READING: ContextVar[object | None] = ContextVar("nbmigrate_reading", default=None)


@contextlib.contextmanager
def one_reading() -> Iterator[None]:
    """One command: within it, each project looks at its files on disk once, and the
    command works on that state of the scripts (what nbmigrate writes, it invalidates)."""
    if _READING.get() is not None:  # inside a command already
        yield
        return
    token = _READING.set(object())
    try:
        yield
    finally:
        _READING.reset(token)


def command_under_way() -> object | None:
    """A token of the command under way (``one_reading``), None outside any."""
    return _READING.get()


def refuse_duplicates(script: Any, warned: list) -> None:
    """Two files with one revision id: name them (Alembic warns, then misleads)."""
    if not any("present more than once" in str(w.message) for w in warned):
        return
    seen: dict[str, list[str]] = {}
    for sc in script._load_revisions():
        seen.setdefault(sc.revision, []).append(sc.path)
    twice = {rev: paths for rev, paths in seen.items() if len(paths) > 1}
    rev, paths = next(iter(twice.items()))
    raise NbMigrateError(f"revision {rev} is in {len(paths)} files, {' and '.join(paths)}: "
                         "give one of them another revision id")


def refuse_odd_identifiers(script: Any) -> None:
    """A script whose identifiers are not text (Alembic takes them, then fails later)."""
    revisions = script.revision_map
    # the map also holds None and () for base, no script: a script whose revision is None or
    # () hides there, but it is a head (nothing can name it as its down revision)
    if all(isinstance(key, str) and key.strip() and _identifiers_are_text(sc)
           for key, sc in revisions._revision_map.items() if sc is not None) \
            and all(isinstance(head, str) for head in revisions.heads):
        return
    for sc in script._load_revisions():  # again, to name the file (only when one is odd)
        if not (isinstance(sc.revision, str) and sc.revision.strip()
                and _identifiers_are_text(sc)):
            raise NbMigrateError(f"revision script {sc.path}: its revision identifiers must be "
                                 f"text, not {_identifiers(sc)}")


def _identifiers(sc: Any) -> str:
    module = sc.module
    return ", ".join(f"{name} = {getattr(module, name, None)!r:.40}" for name in
                     ("revision", "down_revision", "branch_labels", "depends_on"))


def _identifiers_are_text(sc: Any) -> bool:
    """down_revision, branch_labels and depends_on are None, an id, or a list of ids."""
    if sc is None:
        return True
    for name in ("down_revision", "branch_labels", "depends_on"):
        value = getattr(sc.module, name, None)
        texts = value if isinstance(value, (tuple, list)) else (value,)
        if value is not None and not all(isinstance(v, str) and v.strip() for v in texts):
            return False
    return True


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its type's name when it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def import_failure(exc: BaseException, scripts: str) -> str:
    """One line for a revision script that raised as it was imported: file, line, error."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = next((f for f in reversed(frames)
                  if os.path.abspath(f.filename).startswith(os.path.abspath(scripts))), None)
    place = f"{where.filename}, line {where.lineno}" if where else "a revision script"
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())
    return f"cannot import {place}: {reason}"
