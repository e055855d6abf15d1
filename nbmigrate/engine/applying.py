"""Moving a database along the revision graph: upgrade, downgrade, stamp, and plans.

Every statement a run sends passes the guard (``guard.py``). Where DDL is
transactional (PostgreSQL, SQLite) an upgrade runs once, in one transaction with
a savepoint per revision: the guard measures each statement that can lose data
just before it runs, and a loss nobody confirmed rolls the whole run back. A dry
run there is a rehearsal: the same run, always rolled back. Where DDL commits as
it goes (MySQL/MariaDB, or revisions that commit or need autocommit), the plan is
read first with only reads sent, a loss in it refuses before anything runs, and
during the real run the guard stops right before any loss the plan did not see.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from . import audit, plans
from .connections import Database, short_error
from .errors import DestructiveChange, NbMigrateError, SqlStopped
from .guard import Guard, Refused
from .locks import migration_lock
from .plans import Plan
from .results import ApplyResult, SqlScript, Step
from .runner import failed_statement, kept_statements, run_env
from .savepoints import Savepoints
from .targets import check_exists, check_target, parse_range
from .text import heads_text
from .workspace import Workspace

Progress = Callable[[Step, int, int], None]  # (the step just done, steps done, steps planned)
REHEARSAL_LOCK_TIMEOUT = 2.0  # seconds a rehearsal's statement may wait behind live traffic


@dataclass
class Run:
    """One move of one database: what every part of it needs, read once."""

    ws: Workspace
    script: ScriptDirectory
    foreign: bool  # the project's own env.py, not nbmigrate's
    action: str
    target: str  # as the user wrote it
    database: Database
    steps: Callable[..., list]  # Alembic's steps from a database's heads
    env_kw: dict[str, Any]
    previewed: Plan | None = None  # run only what this plan showed
    current: str = ""  # the revision whose step is running
    before: tuple[str, ...] = ()  # the database's heads when the run began
    done: list[Step] = field(default_factory=list)
    planned: list[Any] = field(default_factory=list)


def move(ws: Workspace, action: str, target: Any, *, sql: bool, db: str | None,
         dry_run: bool = False, yes: bool = False, purge: bool = False,
         on_progress: Progress | None = None, previewed: Plan | None = None
         ) -> ApplyResult | SqlScript | Plan:
    """Upgrade, downgrade or stamp database ``db`` to ``target``; ``sql`` only writes the
    SQL and ``dry_run`` only plans; ``yes`` lets data be lost; ``previewed`` refuses to run
    anything but what that plan showed."""
    script = ws.project.script
    foreign = not ws.project.env_is_ours()
    database = ws.database(db)
    display_target = ", ".join(target) if isinstance(target, tuple) else target
    for text in (target,) if isinstance(target, str) else target:
        for part in text.split(":", 1) if sql else (text,):
            check_target(part, action)
    target = ws.resolve(target, script)
    start = None
    if isinstance(target, tuple) and sql and any(":" in t for t in target):
        starts = {t.split(":", 1)[0] for t in target if ":" in t}
        if len(starts) > 1:
            raise NbMigrateError("stamp --sql takes one starting revision (FROM:TO)")
        start = starts.pop()
        target = tuple(t.split(":", 1)[-1] for t in target)
    elif isinstance(target, str) and ":" in target:
        if not sql:
            raise NbMigrateError(
                f"a range ({target}) only works with --sql; give one target to {action}"
            )
        start, end = parse_range(target, action, {})
        target = end or ""
    elif sql and start is None:
        with ws.connect(database) as conn:
            heads = database.heads(conn)
        if len(heads) > 1:
            raise NbMigrateError(
                f"{database.name} is at several heads ({heads_text(heads)}): "
                f"give the start as a range, FROM:{display_target.replace(', ', ' FROM:')}"
            )
        start = heads[0] if heads else None
    if not sql:
        check_exists(script, target, action)
    env_kw = {"as_sql": sql, "starting_rev": start, "destination_rev": target}
    if action == "stamp":
        env_kw["purge"] = purge
    run = Run(ws, script, foreign, action, display_target, database,
              _steps(script, action, target, display_target), env_kw, previewed)
    if sql:
        return _render(run)
    if dry_run:
        return _rehearse(run)
    guarded = action != "stamp" and ws.options.confirm_destructive and not yes
    return _apply(run, guarded=guarded, on_progress=on_progress)


def plan(ws: Workspace, action: str, target: str, *, db: str | None = None) -> Plan:
    """What ``upgrade`` or ``downgrade`` to ``target`` would do, with data impact (the one
    way to a plan: ``--dry-run``, the dashboard's preview and ``lint`` all come here)."""
    if action not in ("upgrade", "downgrade"):
        raise NbMigrateError(f"a plan is for upgrade or downgrade, not {action!r}")
    found = move(ws, action, target, sql=False, dry_run=True, db=db)
    assert isinstance(found, Plan)
    return found


def _steps(script: ScriptDirectory, action: str, target: Any, shown: str
           ) -> Callable[..., list]:
    """Alembic's steps from a database's heads to ``target`` (an env.py ``fn``)."""

    def steps(rev: Any, _context: Any = None) -> list:
        try:
            if action == "upgrade":
                return script._upgrade_revs(target, rev)
            if action == "downgrade":
                return script._downgrade_revs(target, rev)
            return script._stamp_revs(target, rev)
        except (RevisionError, CommandError) as exc:
            raise NbMigrateError(f"{action} {shown}: {exc}") from None
        except AssertionError:  # Alembic's check that a relative step stays in range
            raise NbMigrateError(
                f"{action} {shown}: out of range from {heads_text(tuple(rev))}"
            ) from None

    return steps


def _render(run: Run) -> SqlScript:
    """``--sql``: the SQL, or what was rendered before a script failed and why."""
    buffer = io.StringIO()
    try:
        with run.ws.environment(run.database, output_buffer=buffer) as config:
            run_env(config, run.script, _stepper(run, None), guard_logging=run.foreign,
                    **run.env_kw)
    except NbMigrateError:
        raise
    except Exception as exc:  # noqa: BLE001 - a script that fails in offline mode
        reason = _reason(exc, run.database)
        where = f" at revision {run.current}" if run.current else ""
        raise SqlStopped(buffer.getvalue().strip(),
                         f"{run.action} --sql stopped{where}: {reason}") from None
    return SqlScript(run.action, run.database.dialect, buffer.getvalue().strip())


def _revision(step: Any) -> str:
    revision = getattr(step, "revision", None)
    return revision.revision if revision is not None else ""


def _stepper(run: Run, guard: Guard | None, *, after: Callable[[Any, float], None] | None = None
             ) -> Callable[[Any, Any], Iterator[Any]]:
    """The env.py ``fn``: hands Alembic one step at a time, so that each statement is
    known to be that step's, and each step is known to be done when the next is asked
    for (whichever env.py runs)."""

    def fn(heads: Any, context: Any) -> Iterator[Any]:
        chosen = run.steps(heads, context)
        run.planned.extend(chosen)
        for step in chosen:
            run.current = _revision(step)
            if guard is not None:
                guard.start(run.current)
            clock = time.perf_counter()
            yield step
            if after is not None:
                after(step, time.perf_counter() - clock)
        if guard is not None:
            guard.finish()

    return fn


def _one_transaction(run: Run, chosen: list) -> bool:
    """Whether the run can be one transaction, rolled back as a whole."""
    return bool(chosen) and Savepoints.suit(run.database, chosen)


def _rehearse(run: Run) -> Plan:
    """The plan: where DDL is transactional, the run itself in a transaction that is always
    rolled back; elsewhere a reading that sends only reads."""
    database = run.database
    stopped: dict[str, str] = {}
    with run.ws.connect(database) as conn:
        current = database.heads(conn)
        chosen = run.steps(current)
        live = _one_transaction(run, chosen)
        guard = Guard(database, confirmed=True, send=live, rehearsal=live)
        if live:
            if conn.in_transaction():
                conn.commit()
            conn.begin()
            database.backend.rehearse(conn, REHEARSAL_LOCK_TIMEOUT)
        try:
            with run.ws.environment(database, connection=conn) as config, guard.watching():
                run_env(config, run.script, _stepper(run, guard), guard_logging=run.foreign,
                        **run.env_kw)
        except Refused:
            stopped[guard.revision] = ("the project's env.py commits each revision, which a "
                                       "rehearsal never does")
        except Exception as exc:  # noqa: BLE001 - what the real run would hit, shown in the plan
            stopped[guard.revision or _revision(chosen[0])] = _why(exc, guard, database, live)
        finally:
            conn.rollback()
            guard.forget_copies()
    return plans.from_statements(run.action, database, run.target, current, chosen, guard,
                                 stopped, run.ws.project.signature())


def _why(exc: BaseException, guard: Guard, database: Database, live: bool) -> str:
    """Why a rehearsal or a reading stopped, naming the statement."""
    statements = guard.statements(guard.revision)
    failed = getattr(exc, "statement", None)  # a database error names its statement
    named = [s for s in statements if failed and s.sql == failed] or statements
    number = named[-1].number if named else 0
    reason = _reason(exc, database)
    if live:
        return f"statement {number} would fail: {reason}" if number else f"it raised {reason}"
    after = f" after statement {number}" if number else ""
    return (f"the script raised {reason}{after}, perhaps needing a write this reading "
            "recorded but did not send")


def _reason(exc: BaseException, database: Database) -> str:
    """An error in one line: the database's words, Alembic's, or the exception's."""
    if isinstance(exc, SQLAlchemyError):
        return short_error(exc, database.url)
    if isinstance(exc, (CommandError, RevisionError)):
        return str(exc).splitlines()[0]
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


def _apply(run: Run, *, guarded: bool, on_progress: Progress | None) -> ApplyResult:
    """Run the steps under the migration lock, guarded, logged and timed."""
    ws, database = run.ws, run.database
    started = time.perf_counter()

    def step_done(step: Any, seconds: float) -> None:
        info = step.info
        run.done.append(Step(
            info.up_revision_id or "", info.up_revision.doc if info.up_revision else "",
            "stamp" if info.is_stamp else ("up" if info.is_upgrade else "down"), seconds,
            audit.utcnow() - timedelta(seconds=seconds), ",".join(info.source_revision_ids),
            ",".join(info.destination_revision_ids)))
        if savepoints is not None:
            savepoints.next()
        if on_progress is not None:
            on_progress(run.done[-1], len(run.done), len(run.planned))

    options = ws.options
    with ws.connect(database) as conn, migration_lock(
        conn, database.backend, timeout=options.lock_timeout, on_wait=options.on_wait
    ) as waited:
        audit.ensure_log(conn)
        before = run.before = database.heads(conn)  # under the lock: others' work counts
        chosen = run.steps(before) if run.action != "stamp" else []  # a stamp runs no script
        if run.previewed is not None:
            changed = run.previewed.differs(before, [_revision(s) for s in chosen],
                                            ws.project.signature())
            if changed:
                raise NbMigrateError(f"{run.action} not run: {changed} since the preview; "
                                     "nothing changed: preview again")
        one = _one_transaction(run, chosen)
        if guarded and chosen and not one:
            _read_first(run, conn, before)
        guard = Guard(database, measure=guarded, confirmed=not guarded, stop=not one) \
            if run.action != "stamp" else None
        savepoints = Savepoints(conn, database) if one else None
        try:
            with ws.environment(database, connection=conn) as config, \
                    guard.watching() if guard is not None else nullcontext():
                run_env(config, run.script, _stepper(run, guard, after=step_done),
                        guard_logging=run.foreign, **run.env_kw)
            if savepoints is not None:
                savepoints.finish()
            conn.commit()
        except Refused as refused:
            if savepoints is not None:
                savepoints.abandon()
            if conn.in_transaction():
                conn.rollback()
            if guard is not None and not guard.commits:
                run.done.clear()  # nothing was committed: all of it rolled back
            error = _refused(run, refused, database)
            audit.write_log(conn, audit.log_rows(run.action, run.done, error=None)
                            if run.done else [])
            raise error from None
        except Exception as exc:  # noqa: BLE001 - a migration can raise anything
            if guard is not None and guard.losses and not guard.confirmed and one:
                savepoints.abandon()  # refused, whatever failed after: nothing changes
                run.done.clear()
                raise DestructiveChange(run.action, run.target, _losses(guard.losses)) from None
            if savepoints is not None:
                savepoints.keep_done()
            if conn.in_transaction():
                conn.rollback()
            error = _stopped(run, exc, guard)
            failed = run.planned[len(run.done)] if len(run.planned) > len(run.done) else None
            if failed is not None and hasattr(failed, "revision"):
                run.done.append(Step(failed.revision.revision, failed.revision.doc,
                                     "up" if failed.is_upgrade else "down", None,
                                     audit.utcnow()))
            audit.write_log(conn, audit.log_rows(run.action, run.done, error=str(error)))
            raise error from None
        after = database.heads(conn)
        audit.write_log(conn, audit.log_rows(run.action, run.done))
    return ApplyResult(run.action, database.name, run.target, before, after, run.done,
                       time.perf_counter() - started, waited)


def _read_first(run: Run, conn: Any, heads: tuple[str, ...]) -> None:
    """Where a run cannot be rolled back as a whole: read the plan first, sending only
    reads, and refuse before anything runs if it would lose data."""
    guard = Guard(run.database, confirmed=True, send=False)
    reading = Run(run.ws, run.script, run.foreign, run.action, run.target, run.database,
                  run.steps, run.env_kw)
    try:
        with run.ws.environment(run.database, connection=conn) as config, guard.watching():
            run_env(config, run.script, _stepper(reading, guard), guard_logging=run.foreign,
                    **run.env_kw)
    except Exception:  # noqa: BLE001 - a script that needs what it wrote: the real run's guard
        pass  # stops before any loss this reading could not see
    finally:
        if conn.in_transaction():
            conn.rollback()
    if guard.losses:
        raise DestructiveChange(run.action, run.target, _losses(guard.losses))


def _losses(losses: list) -> str:
    return "; ".join(f"{loss.revision}: {loss}" if loss.revision else str(loss)
                     for loss in losses)


def _where_now(run: Run) -> tuple[str, int]:
    """Where the database is now, and how many of the steps done before the stop it kept
    (none if it is back where it started: the run's transaction rolled back whole)."""
    database = run.database
    try:
        with database.connect() as conn:
            heads = database.heads(conn)
    except NbMigrateError:
        return "unknown (cannot reconnect)", len(run.done)
    kept = len(run.done) if set(heads) != set(run.before) else 0
    return heads_text(heads), kept


def _refused(run: Run, refused: Refused, database: Database) -> NbMigrateError:
    """The guard refused: everything rolled back, or (where what ran before is kept)
    stopped right before the statement that would lose data."""
    if refused.before is None and not run.done:
        return DestructiveChange(run.action, run.target, _losses(refused.losses))
    seen = refused.before
    where = f" at revision {seen.revision}, before statement {seen.number}" if seen else ""
    now, kept = _where_now(run)
    if not kept:
        return DestructiveChange(run.action, run.target, _losses(refused.losses))
    return DestructiveChange(
        run.action, run.target, _losses(refused.losses),
        stopped=f"It stopped{where}; the {kept} revision(s) before it were applied and kept "
                f"(this run could not be one transaction); {database.name} is now at {now}")


def _stopped(run: Run, exc: BaseException, guard: Guard | None) -> NbMigrateError:
    if isinstance(exc, NbMigrateError):
        return exc
    database = run.database
    failed = run.planned[len(run.done)] if len(run.planned) > len(run.done) else None
    if isinstance(exc, (CommandError, RevisionError)) and failed is None:
        return NbMigrateError(str(exc))
    reason = _reason(exc, database)
    where = ""
    if failed is not None and hasattr(failed, "revision"):
        where = f" at revision {failed.revision.revision} ({failed.revision.doc!r})"
    now, kept = _where_now(run)
    ran = [s.sql for s in guard.statements(_revision(failed)) if s.number] \
        if guard and failed else []  # reads (unnumbered) change nothing to keep
    transactional = database.backend.transactional_ddl(database.engine)
    return NbMigrateError(
        f"{run.action} of {database.name} stopped{where}{failed_statement(exc, ran)}: "
        f"{reason}; {kept} revision(s) applied before it"
        f"{kept_statements(exc, ran, transactional)}; {database.name} is now at {now}"
    )
