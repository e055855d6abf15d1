"""Revision targets: checks Alembic would trip over, ``START:END`` ranges, tags inside."""

from __future__ import annotations

import re
from typing import Any

from .errors import NbMigrateError
from .tags import resolve_tag


def check_target(text: str, action: str) -> None:
    """One line for a revision text Alembic would trip over (an empty one, ``branch@``)."""
    if not text.strip():
        raise NbMigrateError(f"{action}: give a revision (head, base, +1, -1, an id, a tag)")
    if text.endswith("@"):
        raise NbMigrateError(f"{action}: {text!r} names a branch but no revision: "
                             f"{text}head, {text}+1")


def check_exists(script: Any, target: str | tuple, action: str) -> None:
    """Fail early, in one line, on a target Alembic cannot find."""
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    for rev in (target,) if isinstance(target, str) else target:
        if re.search(r"[+-]\d+$", rev) or rev in ("head", "heads", "base"):
            continue  # relative forms (+2, -1, ae10+2, branch@+1): Alembic resolves them
        if rev.endswith("@base"):  # a branch's base: the branch must exist
            rev = rev[: -len("base")] + "head"
        try:
            if not script.get_revisions(rev):
                raise NbMigrateError(f"{action}: no revision {rev!r}")
        except (RevisionError, CommandError) as exc:
            raise NbMigrateError(f"{action}: {exc}") from None


def parse_range(text: str, command: str, tags: dict[str, str]) -> tuple[str | None, str | None]:
    """``START:END``, ``START:`` or ``:END`` as (start, end), tags resolved; None for an
    open end."""
    if ":" not in text:
        raise NbMigrateError(f"{command} range {text!r}: use START:END, START: or :END")
    start, end = (resolve_tag(part.strip(), tags) or None for part in text.split(":", 1))
    return start, end


def resolve_tags(target: Any, tags: dict[str, str]) -> Any:
    """Targets with tag names replaced by revisions (also in tuples and FROM:TO)."""
    if not tags or target is None:
        return target
    if isinstance(target, tuple):
        return tuple(resolve_tag(t, tags) for t in target)
    if ":" in target:
        return ":".join(resolve_tag(part, tags) for part in target.split(":", 1))
    return resolve_tag(target, tags)
