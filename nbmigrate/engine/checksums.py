"""Checksums of applied revisions: was a revision edited after a database applied it?

When a step applies a revision, its audit row keeps a hash of the revision file
(line endings normalised, so a checkout on another OS hashes the same). ``validate``
compares each applied revision's kept hash with its file now (Flyway's validate,
Liquibase's checksums); ``accept`` records the file as it is now as the applied one
(Flyway's repair), in the audit log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from . import audit
from .errors import NbMigrateError
from .results import Result, Step
from .script_files import ScriptFiles
from .text import short
from .workspace import Workspace

OK, EDITED, GONE, UNKNOWN = "ok", "edited", "file gone", "unknown"


def file_checksum(path: str | Path, files: ScriptFiles | None = None) -> str:
    """The SHA-256 of a revision file, its line endings read as ``\\n`` (read through
    ``files`` if given)."""
    data = (files or ScriptFiles()).read(path).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(data).hexdigest()


def step_checksum(info: Any, files: ScriptFiles | None = None) -> str:
    """The checksum an audit row keeps for Alembic's MigrationInfo ``info``: the applied
    revision's file on the way up, nothing on the way down."""
    script = info.up_revision if info.is_upgrade else None
    path = getattr(script, "path", None)
    try:
        return file_checksum(path, files) if path else ""
    except OSError:
        return ""


class Checked(NamedTuple):
    """One applied revision, and whether its file is the one the database applied."""

    revision: str
    message: str
    state: str  # ok, edited, file gone, unknown (applied before checksums were kept)
    applied_at: Any
    detail: str


@dataclass(repr=False)
class Validation(Result):
    """``validate``: each revision a database applied, against its file now."""

    database: str
    checked: list[Checked] = field(default_factory=list)
    accepted: str = ""  # the revision whose file was just recorded as applied

    columns = Checked._fields

    def rows(self) -> list[tuple]:
        return [tuple(c) for c in self.checked]

    @property
    def problems(self) -> list[Checked]:
        """Applied revisions edited since, or whose files are gone."""
        return [c for c in self.checked if c.state in (EDITED, GONE)]

    @property
    def changed_since(self) -> str:
        """What ``status`` and the dashboard say of the problems ("" when there are none)."""
        return changed_since(self.checked)

    @property
    def failure(self) -> str:
        """One line when validation failed ("" when it passed)."""
        if not self.problems:
            return ""
        named = ", ".join(f"{c.revision} ({c.state})" for c in self.problems)
        return (f"{len(self.problems)} applied revision(s) of {self.database} differ from "
                f"what was applied: {named}; if the change is intended, "
                f"validate --accept REV records the file as it is now")


def validate(ws: Workspace, *, db: str | None = None, accept: str | None = None
             ) -> Validation:
    """Each revision database ``db`` applied, compared with its file now; ``accept``
    records the file of that revision as the applied one first."""
    project = ws.project  # first: a project that cannot be read says so
    script = project.script
    database = ws.database(db)
    with ws.connect(database, create=False) as conn:
        heads = database.heads(conn)
        kept = audit.applied_checksums(conn)
    applied = _applied(project, heads, kept)
    if accept is not None:
        accepted = script.get_revision(accept)
        if accepted is None or accepted.revision not in applied:
            raise NbMigrateError(f"validate --accept {accept}: not a revision {database.name} "
                                 "has applied")
        checksum = file_checksum(accepted.path)
        with ws.connect(database) as conn:
            audit.write_log(conn, [audit.row("accept", Step(
                accepted.revision, accepted.doc or "", "stamp", 0.0,
                from_revision=accepted.revision, to_revision=accepted.revision,
                checksum=checksum), audit.OK)])
        kept[accepted.revision] = (checksum, audit.utcnow())
    return Validation(database.name, checked(project, heads, kept),
                      accepted.revision if accept is not None else "")


def checked(project: Any, heads: tuple[str, ...], kept: dict[str, tuple[str | None, Any]]
            ) -> list[Checked]:
    """Each revision a database at ``heads`` applied, newest first, against its file now
    (``kept``: the checksums the audit log keeps, see ``audit.applied_checksums``)."""
    known = set(project.revisions())
    return [_check(project, known, rev, kept.get(rev))
            for rev in _in_order(project, _applied(project, heads, kept))]


def changed_since(checked: Iterable[Checked]) -> str:
    """The applied revisions edited since, or whose files are gone, in the words ``status``
    and the dashboard share ("" when there are none)."""
    differ = [short(c.revision) for c in checked if c.state in (EDITED, GONE)]
    return f"applied revision(s) changed since: {', '.join(differ)}" if differ else ""


def _applied(project: Any, heads: tuple[str, ...], kept: dict) -> set[str]:
    """The revisions a database at ``heads`` applied, those whose files are gone too."""
    known = set(project.revisions())
    applied = set(project.applied(tuple(h for h in heads if h in known)))
    applied |= {h for h in heads if h not in known}
    return applied | {rev for rev in kept if rev not in known}  # applied, file removed


def _in_order(project: Any, revisions: set[str]) -> list[str]:
    """Newest first, as history lists them; revisions without files last."""
    walk = [rev for rev in project.revisions() if rev in revisions]
    return walk + sorted(revisions - set(walk))


def _check(project: Any, known: set[str], revision: str, kept: tuple[str, Any] | None
           ) -> Checked:
    checksum, applied_at = kept or ("", None)
    if revision not in known:
        return Checked(revision, "", GONE, applied_at, "its file is not among the scripts")
    info = project.info(revision)
    if not checksum:
        return Checked(revision, info.message, UNKNOWN, applied_at,
                       "applied before nbmigrate kept checksums")
    now = file_checksum(info.path)
    if now != checksum:
        return Checked(revision, info.message, EDITED, applied_at,
                       f"{info.path} changed since it was applied")
    return Checked(revision, info.message, OK, applied_at, "")
