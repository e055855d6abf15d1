"""Reading: where databases stand, the revisions, their graph, the log, and lint."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from alembic.runtime.migration import RevisionStep
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from . import applying, audit, authoring, autogen, checksums, graph_reading, plans
from .audit import AuditLog
from .connections import Database, short_error
from .errors import NbMigrateError
from .graph import RevisionGraph, build_graph
from .graph_reading import known_revision as _known
from .plans import LintReport
from .results import (
    Branches,
    BranchPoint,
    CurrentState,
    DatabaseStatus,
    Heads,
    History,
    RevisionDetails,
    RevisionInfo,
    Status,
)
from .tags import load_tags
from .targets import check_target, parse_range
from .text import heads_text
from .trail import cut_off
from .workspace import Workspace


def history(ws: Workspace, rev_range: str | None = None, *, verbose: bool = False,
            db: str | None = None) -> History:
    """Revisions newest first, marking which the database has applied."""
    project = ws.project
    script = project.script
    if not rev_range:
        return graph_reading.history(ws, verbose=verbose, db=db)
    current, applied_at, note = graph_reading.database_history(ws, db)
    base, head = parse_range(rev_range, "history", load_tags(script))
    if "current" in (base, head) and current is None:
        raise NbMigrateError("'current' in a range needs a connected database")
    pairs = [(base, head)]
    if current and "current" in (base, head):  # one walk per current head, as alembic does
        pairs = [(h if base == "current" else base, h if head == "current" else head)
                 for h in current]
    elif "current" in (base, head):
        pairs = [(None if base == "current" else base, "base" if head == "current" else head)]
    seen: dict[str, None] = {}
    for low, high in pairs:
        for sc in script.walk_revisions(base=low or "base", head=high or "heads"):
            seen.setdefault(sc.revision)
    return graph_reading.history_of(ws, seen, current, applied_at, note, verbose=verbose,
                                    db=db)


def current(ws: Workspace, *, db: str | None = None) -> CurrentState:
    """Which revision(s) the database is at, and what is pending."""
    ws.project.script  # noqa: B018 - the scripts as they are now
    return graph_reading.current(ws, db=db)


def heads(ws: Workspace, *, db: str | None = None) -> Heads:
    """The heads of the revision graph (and which one the database is at)."""
    ws.project.script  # noqa: B018 - the scripts as they are now
    return graph_reading.heads(ws, db=db)


def branches(ws: Workspace) -> Branches:
    """Branch points and the revisions that branch from them."""
    script = ws.project.script
    return Branches([
        BranchPoint(RevisionInfo.from_script(sc),
                    [RevisionInfo.from_script(script.get_revision(n)) for n in sorted(sc.nextrev)])
        for sc in script.walk_revisions() if sc.is_branch_point
    ])


def show(ws: Workspace, revision: str, *, db: str | None = None) -> RevisionDetails:
    """One revision (or ``heads``, ``current``, a branch label...) in full."""
    project = ws.project
    script = project.script
    check_target(revision, "show")
    ids: Iterable[str] = [ws.resolve(revision, script)]
    if revision == "current":
        at, note = ws.heads_if_reachable(db)
        if at is None:
            raise NbMigrateError(f"'current' needs a reachable database: {note}")
        ids = at
    found = [sc for rev in ids for sc in script.get_revisions(rev) if sc is not None]
    if not found:
        raise NbMigrateError(f"no revision {revision!r} in {project.location}")
    return RevisionDetails([RevisionInfo.from_script(sc) for sc in found])


def graph(ws: Workspace, *, db: str | None = None) -> RevisionGraph:
    """The revision graph: branches, merges, the database's current revision, tags."""
    script = ws.project.script
    at, note = ws.heads_if_reachable(db)
    return build_graph(script, current=at, tags=load_tags(script), note=note)


DatabaseProgress = Callable[[DatabaseStatus, int, int], None]  # (its row, done, databases)


def status(ws: Workspace, *, metadata: str | None = None,
           on_progress: DatabaseProgress | None = None) -> Status:
    """Every named connection: reachable, current revision, pending, drift from the model;
    ``on_progress`` is told of each database's row as it is read."""
    ws.discover()
    project = ws.project
    script = project.script
    script_heads = heads_text(script.get_heads())
    try:
        model, label = ws.model(metadata)
    except NbMigrateError:
        model, label = None, ""
    through_env = model is None and ws.foreign()  # as check does: env.py's own model
    rows: list[DatabaseStatus] = []
    databases = list(ws.databases)
    for db in databases:
        rows.append(_status_row(ws, db, model, label, through_env, script_heads))
        if on_progress is not None:
            on_progress(rows[-1], len(rows), len(databases))
    return Status(rows)


def _status_row(ws: Workspace, db: Database, model: Any, label: str, through_env: bool,
                script_heads: str) -> DatabaseStatus:
    """One database's row of ``status``: where it stands, or why it cannot be read."""
    project = ws.project
    try:
        with ws.connect(db, create=False) as conn:
            at = db.heads(conn)
            drift = None if model is None else len(autogen.compare(conn, model)[0])
            differ = checksums.changed_since(checksums.checked(
                project, at, audit.applied_checksums(conn)))
        note = f"model {label}" if model is not None else "no model to compare"
        if through_env and not db.missing():
            drift, note = _drift_through_env(ws, db.name)
        if differ:  # as validate says, and the dashboard
            note += f"; {differ}"
    except (SQLAlchemyError, NbMigrateError) as exc:  # a row that says why, not a traceback
        why = short_error(exc, db.url) if isinstance(exc, SQLAlchemyError) else str(exc)
        return DatabaseStatus(db.name, db.dialect, db.masked_url, False, None,
                              script_heads, None, None, why)
    pending = len(project.pending(tuple(h for h in at if _known(project, h))))
    return DatabaseStatus(db.name, db.dialect, db.masked_url, True, heads_text(at),
                          script_heads, pending, drift, note)


def _drift_through_env(ws: Workspace, db: str) -> tuple[int | None, str]:
    """How many differences ``check`` finds through the project's env.py, and the note."""
    try:
        return len(authoring.diff(ws, db=db).operations), f"model {authoring.ENV_MODEL}"
    except (NbMigrateError, CommandError) as exc:  # no model there, or not up to date
        return None, f"not compared: {str(exc).splitlines()[0]}"


def log(ws: Workspace, *, db: str | None = None, limit: int | None = 200) -> AuditLog:
    """What nbmigrate applied to the database, newest first (the audit log)."""
    database = ws.database(db)
    with ws.connect(database, create=False) as conn:
        rows = audit.read_log(conn, limit)
        if any(r.status == audit.RUNNING for r in rows) and \
                not database.backend.migration_running(conn):  # its run was cut off
            cut = cut_off(database.heads(conn))
            rows = [r._replace(status=audit.INTERRUPTED, error=cut)
                    if r.status == audit.RUNNING else r for r in rows]
    return AuditLog(database.name, rows, _messages(ws, {r.revision for r in rows}))


def _messages(ws: Workspace, revisions: set[str | None]) -> dict[str, str]:
    """The message of each revision that is one of the project's scripts (none without a
    project: a database's log reads without one)."""
    try:
        project = ws.project
    except NbMigrateError:
        return {}
    return {rev: project.info(rev).message for rev in revisions if rev and _known(project, rev)}


def lint(ws: Workspace, rev_range: str | None = None, *, db: str | None = None) -> LintReport:
    """Warnings for operations that lock or rewrite big tables on the database's dialect:
    the revisions not yet applied, or ``rev_range`` (START:END)."""
    database = ws.database(db)
    if rev_range is None:
        return LintReport(applying.plan(ws, "upgrade", "heads", db=db), database.dialect)
    script = ws.project.script
    low, high = parse_range(rev_range, "lint", load_tags(script))
    revisions = list(script.walk_revisions(base=low or "base", head=high or "heads"))
    steps = [RevisionStep(script.revision_map, sc, True) for sc in reversed(revisions)]
    plan = plans.from_scripts(database.name, rev_range, steps, database.engine.dialect)
    return LintReport(plan, database.dialect)

