"""Tags: names for revisions, kept in ``tags.json`` beside the scripts (to be committed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .advice import Command
from .errors import NbMigrateError
from .text import short

FILENAME = "tags.json"
KEYWORDS = {"head", "heads", "base", "current"}
_NAME = re.compile(r"[A-Za-z_][\w.]*")
_RELATIVE = re.compile(r"(?P<name>[A-Za-z_][\w.]*)(?P<step>[+-]\d+)")


class Tags(dict):
    """Tag name -> full revision id, in the project ``script``."""

    def __init__(self, tags: dict[str, str], script: Any = None) -> None:
        super().__init__(tags)
        self.script = script

    def clash(self, name: str) -> str | None:
        """A revision id that starts with tag ``name`` (made after the tag), which would
        make the name mean two revisions; looked for only when asked."""
        return _starting(self.script, name) if self.script is not None else None


def tags_path(script: Any) -> Path:
    return Path(script.dir) / FILENAME


def load_tags(script: Any) -> Tags:
    """Tag name -> full revision id; empty when there is no tags file."""
    path = tags_path(script)
    if not path.is_file():
        return Tags({})
    try:
        tags = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:  # not JSON, or not UTF-8
        raise NbMigrateError(f"{path} is not valid JSON: {exc}") from None
    except RecursionError:
        raise NbMigrateError(f"{path} is nested too deeply to be a tags file") from None
    if not isinstance(tags, dict):
        raise NbMigrateError(f"{path} should map tag names to revisions")
    known = script.revision_map._revision_map  # revision ids and branch labels
    for name, revision in tags.items():
        if not _NAME.fullmatch(name) or name in KEYWORDS or name in known \
                or not isinstance(revision, str):
            raise NbMigrateError(f"{path}: tag {name!r} naming {revision!r:.40} cannot be used "
                                 "(a tag is a name, not one of Alembic's words or a "
                                 "revision id, for one revision id): correct or delete it")
    return Tags(tags, script)


def _starting(script: Any, name: str) -> str | None:
    """A revision id that starts with ``name``, if any."""
    return next((key for key, sc in script.revision_map._revision_map.items()
                 if sc is not None and sc.revision == key and key.startswith(name)), None)


def save_tags(script: Any, tags: dict[str, str]) -> None:
    text = json.dumps(dict(sorted(tags.items())), indent=2) + "\n"
    tags_path(script).write_text(text, encoding="utf-8")


def check_name(script: Any, name: str) -> None:
    """Refuse a tag name that Alembic would read as something else."""
    if not _NAME.fullmatch(name):
        raise NbMigrateError(
            f"tag {name!r}: start with a letter, then letters, digits, _ or . only"
        )
    if name in KEYWORDS:
        raise NbMigrateError(f"tag {name!r} is an Alembic keyword")
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    try:
        clash = script.get_revisions(name)
    except (RevisionError, CommandError):
        clash = ()  # not a revision, prefix or branch label: free to use
    if clash or _starting(script, name):  # also the start of several ids
        labels = {label for sc in clash if sc is not None for label in sc.branch_labels}
        what = "a branch label" if name in labels else "a revision id"
        raise NbMigrateError(f"tag {name!r} clashes with {what}")


def resolve_tag(target: str, tags: dict[str, str]) -> str:
    """``target`` with a tag name (also ``TAG+N`` / ``TAG-N``) replaced by its revision;
    refused where a revision id also starts with the name."""
    if target in tags:
        name, step = target, ""
    elif (relative := _RELATIVE.fullmatch(target)) and relative["name"] in tags:
        name, step = relative["name"], relative["step"]
    else:
        return target
    clash = tags.clash(name) if isinstance(tags, Tags) else None
    if clash:
        raise NbMigrateError(f"{name!r} is a tag (naming {short(tags[name])}) and also the "
                             f"start of revision {short(clash)}: give more of a revision id, "
                             "or delete the tag: ", Command("tag", "--delete", name))
    return tags[name] + step
