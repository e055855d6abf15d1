"""How a run that stopped says so: why (the error in one line), where (the revision and
statement), and what it kept (where the database is now)."""

from __future__ import annotations

import traceback
from typing import TYPE_CHECKING, Any

from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from .connections import Database, short_error
from .errors import DestructiveChange, Interrupted, NbMigrateError
from .guard import Guard, Refused
from .lock_waits import LockNotTaken
from .runner import failed_statement, kept_statements
from .text import heads_text

if TYPE_CHECKING:
    from .applying import Run


def step_revision(step: Any) -> str:
    """The revision id of an Alembic migration step ("" for none)."""
    revision = getattr(step, "revision", None)
    return revision.revision if revision is not None else ""


def why(exc: BaseException, guard: Guard, database: Database, live: bool) -> str:
    """Why a rehearsal or a reading stopped, naming the statement."""
    statements = guard.statements(guard.revision)
    failed = getattr(exc, "statement", None)  # a database error names its statement
    named = [s for s in statements if failed and s.sql == failed] or statements
    number = named[-1].number if named else 0
    reason = error_line(exc, database)
    if live:
        return f"statement {number} would fail: {reason}" if number else f"it raised {reason}"
    after = f" after statement {number}" if number else ""
    return (f"the script raised {reason}{after}, perhaps needing a write this reading "
            "recorded but did not send")


def error_line(exc: BaseException, database: Database) -> str:
    """An error in one line: the database's words, Alembic's, or the exception's."""
    if isinstance(exc, SQLAlchemyError):
        return short_error(exc, database.url)
    if isinstance(exc, LockNotTaken):
        return str(exc)
    if isinstance(exc, (CommandError, RevisionError)):
        return str(exc).splitlines()[0]
    if not str(exc).strip():  # a bare assert or raise: where it was raised is the news
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {frames[-1].filename}, line {frames[-1].lineno}" if frames else ""
        return f"{type(exc).__name__}{where}"
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def losses_text(losses: list) -> str:
    """The losses the guard found, in one line."""
    return "; ".join(f"{loss.revision}: {loss}" if loss.revision else str(loss)
                     for loss in losses)


def where_now(run: Run, conn: Any) -> tuple[str, int]:
    """Where the database is now, and how many of the steps done before the stop it kept
    (none if it is back where it started: the run's transaction rolled back whole)."""
    database = run.database
    try:
        if conn is not None:
            heads = database.heads(conn, within=True)
        else:
            with database.connect() as fresh:
                heads = database.heads(fresh)
    except (NbMigrateError, SQLAlchemyError):
        return "unknown (cannot reconnect)", len(run.done)
    kept = len(run.done) if set(heads) != set(run.before) else 0
    return heads_text(heads), kept


def refused_error(run: Run, refused: Refused, database: Database, conn: Any) -> NbMigrateError:
    """The guard refused: everything rolled back, or (where what ran before is kept)
    stopped right before the statement that would lose data."""
    if refused.before is None and not run.done:
        return DestructiveChange(run.action, run.target, losses_text(refused.losses))
    seen = refused.before
    where = f" at revision {seen.revision}, before statement {seen.number}" if seen else ""
    now, kept = where_now(run, conn)
    if not kept:
        return DestructiveChange(run.action, run.target, losses_text(refused.losses))
    return DestructiveChange(
        run.action, run.target, losses_text(refused.losses),
        stopped=f"It stopped{where}; the {kept} revision(s) before it were applied and kept "
                f"(this run could not be one transaction); {database.name} is now at {now}")


def stopped_error(run: Run, exc: BaseException, guard: Guard | None, conn: Any
                  ) -> NbMigrateError:
    """Why a run stopped, where, and what it kept, in one line."""
    if isinstance(exc, NbMigrateError):
        return exc
    database = run.database
    failed = run.planned[len(run.done)] if len(run.planned) > len(run.done) else None
    if isinstance(exc, (CommandError, RevisionError)) and failed is None:
        return NbMigrateError(str(exc))
    where = ""
    if failed is not None and hasattr(failed, "revision"):
        where = f" at revision {failed.revision.revision} ({failed.revision.doc!r})"
    now, kept = where_now(run, conn)
    ran = [s.sql for s in guard.statements(step_revision(failed)) if s.number] \
        if guard and failed else []  # reads (unnumbered) change nothing to keep
    transactional = database.backend.transactional_ddl(database.engine)
    if isinstance(exc, KeyboardInterrupt):
        return Interrupted(
            f"{run.action} of {database.name} interrupted{where}"
            f"{', which was undone' if transactional else ''}; {kept} revision(s) applied "
            f"before it{kept_statements(exc, ran, transactional, 'interrupted')}; "
            f"{database.name} is now at {now}")
    reason = error_line(exc, database)
    return NbMigrateError(
        f"{run.action} of {database.name} stopped{where}{failed_statement(exc, ran)}: "
        f"{reason}; {kept} revision(s) applied before it"
        f"{kept_statements(exc, ran, transactional)}; {database.name} is now at {now}"
    )


def missing_function(script: Any, exc: AttributeError) -> str:
    """Which revision file lacks the function Alembic looked for."""
    name = getattr(exc, "name", None)
    if name not in ("upgrade", "downgrade"):
        raise exc
    for rev in script.walk_revisions():
        if not hasattr(rev.module, name):
            return f"revision {rev.revision} ({rev.path}) has no {name}() function"
    raise exc
