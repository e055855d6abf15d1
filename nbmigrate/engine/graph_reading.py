"""current, heads and the whole history: where a database stands against the revision graph.

They ask the workspace's project only for its graph (``revisions``, ``heads``, ``info``,
``applied``, ``pending``), which a Project reads from the scripts with Alembic and a
CachedProject from the user's cache without importing Alembic. The caller asks for the
scripts first where they may have changed (``reading`` does).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .results import CurrentState, Heads, History

if TYPE_CHECKING:
    from .workspace import Workspace


def current(ws: Workspace, *, db: str | None = None) -> CurrentState:
    """Which revision(s) the database is at, and what is pending."""
    project = ws.project
    database = ws.database(db)
    with ws.connect(database, create=False) as conn:
        heads = database.heads(conn)
    return current_state(project, database.name, database.masked_url, heads)


def current_state(project: Any, name: str, masked_url: str, heads: tuple[str, ...]
                  ) -> CurrentState:
    """The CurrentState of database ``name`` (at ``masked_url``), whose version table
    holds ``heads``."""
    known = [h for h in heads if known_revision(project, h)]
    unknown = tuple(h for h in heads if h not in known)
    return CurrentState(
        name, masked_url, tuple(project.info(h) for h in known),
        project.heads(), project.pending(tuple(known)), unknown,
    )


def heads(ws: Workspace, *, db: str | None = None) -> Heads:
    """The heads of the revision graph (and which one the database is at)."""
    at, _ = ws.heads_if_reachable(db)
    return heads_of(ws.project, at)


def heads_of(project: Any, at: tuple[str, ...] | None) -> Heads:
    """The project's heads, for a database at ``at`` (None: not read)."""
    return Heads([project.info(h) for h in project.heads()], at)


def history(ws: Workspace, *, verbose: bool = False, db: str | None = None) -> History:
    """Every revision newest first, marking which the database has applied."""
    current, applied_at, note = database_history(ws, db)
    return history_of(ws, ws.project.revisions(), current, applied_at, note,
                      verbose=verbose, db=db)


def database_history(ws: Workspace, db: str | None
                     ) -> tuple[tuple[str, ...] | None, dict[str, datetime], str]:
    """The database's heads and when each revision was applied (one connection for both),
    or None, {} and why it cannot be read."""
    from . import audit  # its table, defined as it loads, only where the log is read

    read, note = ws.read_if_reachable(
        db, lambda database, conn: (database.heads(conn), audit.applied_at(conn)))
    current, applied_at = read or (None, {})
    return current, applied_at, note


def history_of(ws: Workspace, revisions: Iterable[str], current: tuple[str, ...] | None,
               applied_at: dict[str, datetime], note: str, *, verbose: bool,
               db: str | None) -> History:
    """The History of ``revisions`` (newest first) for a database at ``current``."""
    return history_from(ws.project, ws.databases.default_name if db is None else db,
                        revisions, current, applied_at, note, verbose=verbose)


def history_from(project: Any, name: str | None, revisions: Iterable[str],
                 current: tuple[str, ...] | None, applied_at: dict[str, datetime], note: str,
                 *, verbose: bool) -> History:
    """The History of ``revisions`` (newest first) for database ``name`` at ``current``,
    ``note`` saying why it could not be read."""
    infos = [project.info(rev) for rev in revisions]
    applied = None if current is None else project.applied(current)
    return History(infos, name, current or (), applied, verbose, unreachable=note,
                   applied_at=applied_at)


def known_revision(project: Any, revision: str) -> bool:
    """Whether a revision in a version table is one of the project's scripts."""
    return revision in project.revisions()
