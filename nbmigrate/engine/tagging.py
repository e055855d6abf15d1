"""Tagging: names for revisions, usable wherever a target is."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from alembic.script.revision import RevisionError
from alembic.util import CommandError

from .advice import Command
from .errors import NbMigrateError
from .results import Note, RevisionInfo, Tag, TagList
from .tags import check_name, load_tags, resolve_tag, save_tags
from .targets import check_target
from .text import heads_text, short
from .workspace import Workspace


def tag(ws: Workspace, name: str, revision: str | None = None, *, db: str | None = None) -> Note:
    """Name a revision (default: the database's current one); kept in tags.json."""
    script = ws.project.script
    tags = load_tags(script)
    if name in tags:
        raise NbMigrateError(f"tag {name!r} already names {short(tags[name])}: ",
                             Command("tag", "--delete", name))
    check_name(script, name)
    if revision is not None:
        check_target(revision, "tag")
    if revision is None:
        database = ws.database(db)
        with ws.connect(database) as conn:
            current = database.heads(conn)
        if len(current) != 1:
            raise NbMigrateError(
                f"the database is at {heads_text(current)}: give the revision to tag"
            )
        revision = current[0]
    found = [sc for sc in script.get_revisions(resolve_tag(revision, tags)) if sc]
    if len(found) != 1:
        raise NbMigrateError(f"tag {name!r}: {revision!r} is not one revision")
    tags[name] = found[0].revision
    save_tags(script, tags)
    return Note(f"tagged {found[0].revision} ({found[0].doc}) as {name}",
                {"file": str(Path(script.dir) / "tags.json")})


def untag(ws: Workspace, name: str) -> Note:
    """Delete a tag."""
    script = ws.project.script
    tags = load_tags(script)
    if name not in tags:
        known = ", ".join(sorted(tags)) or "none"
        raise NbMigrateError(f"no tag {name!r} (tags: {known})")
    revision = tags.pop(name)
    save_tags(script, tags)
    return Note(f"deleted tag {name} (it named {short(revision)})")


def tags(ws: Workspace, *, db: str | None = None) -> TagList:
    """Every tag with its revision, and whether the database has applied it."""
    project = ws.project
    script = project.script
    current, _ = ws.heads_if_reachable(db)
    loaded = load_tags(script)
    named = [Tag(name, _info(project, rev, loaded.clash(name)))
             for name, rev in sorted(loaded.items())]
    return TagList(named, None if current is None else project.applied(current))


def _info(project: Any, revision: str, clash: str | None = None) -> RevisionInfo:
    """The revision a tag names, or a row saying it names none (a hand-edited tags.json,
    or a script since removed); ``clash``: a revision id that starts with the tag."""
    try:
        if project.script.get_revision(revision) is not None:
            info = project.info(revision)
            if clash:
                info = replace(info, message=f"{info.message} (not usable as a target: "
                                             f"revision {short(clash)} starts with it)")
            return info
    except (RevisionError, CommandError):
        pass
    return RevisionInfo(revision, (), "(no such revision in this project)", (), (), False,
                        False, False, "", None, "")
