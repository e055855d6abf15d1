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
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from . import audit, plans
from .backends.pipelined import Pipeline
from .errors import DestructiveChange, Interrupted, NbMigrateError, SqlStopped
from .guard import CommitsItself, Guard, Refused
from .lock_waits import LockWaits, check_setting
from .locks import migration_lock
from .plans import Plan
from .results import ApplyResult, SqlScript, Step
from .runner import alembic_quiet, run_env
from .savepoints import Savepoints
from .stepping import Progress, Run, in_progress, stepper, steps_to
from .stops import error_line, losses_text, refused_error, step_revision, stopped_error, why
from .targets import check_exists, check_target, parse_range
from .text import heads_text
from .trail import Trail
from .version_rows import compiled_once
from .workspace import Workspace

REHEARSAL_LOCK_TIMEOUT = 2.0  # seconds a rehearsal's statement may wait behind live traffic


def move(ws: Workspace, action: str, target: Any, *, sql: bool, db: str | None,
         dry_run: bool = False, yes: bool = False, purge: bool = False,
         on_progress: Progress | None = None, previewed: Plan | None = None,
         lock_timeout: float | None = None, lock_retries: int | None = None
         ) -> ApplyResult | SqlScript | Plan:
    """Upgrade, downgrade or stamp database ``db`` to ``target``; ``sql`` only writes the
    SQL and ``dry_run`` only plans; ``yes`` lets data be lost; ``previewed`` refuses to run
    anything but what that plan showed; ``lock_timeout`` and ``lock_retries`` bound each
    statement's wait for a lock (None: the options')."""
    options = ws.options
    lock_timeout = options.lock_timeout if lock_timeout is None else lock_timeout
    lock_retries = options.lock_retries if lock_retries is None else lock_retries
    check_setting("lock_timeout", lock_timeout)
    check_setting("lock_retries", lock_retries)
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
              steps_to(script, action, target, display_target), env_kw, previewed,
              lock_timeout=lock_timeout, lock_retries=lock_retries)
    if sql:
        return _render(run)
    if dry_run:
        return _rehearse(run, on_progress)
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


def _render(run: Run) -> SqlScript:
    """``--sql``: the SQL, or what was rendered before a script failed and why."""
    buffer = io.StringIO()
    try:
        with run.ws.environment(run.database, output_buffer=buffer) as config:
            run_env(config, run.script, stepper(run, None), guard_logging=run.foreign,
                    **run.env_kw)
    except NbMigrateError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a script that fails in offline mode
        reason = error_line(exc, run.database)
        where = f" at revision {run.current}" if run.current else ""
        raise SqlStopped(buffer.getvalue().strip(),
                         f"{run.action} --sql stopped{where}: {reason}") from None
    if not run.planned:
        start = run.env_kw.get("starting_rev")
        return SqlScript(run.action, run.database.dialect, "",
                         f"{run.database.name} is at {heads_text((start,) if start else ())}: "
                         f"nothing to {run.action}")
    return SqlScript(run.action, run.database.dialect, buffer.getvalue().strip())


def _one_transaction(run: Run, chosen: list) -> bool:
    """Whether the run can be one transaction, rolled back as a whole."""
    return bool(chosen) and Savepoints.suit(run.database, chosen, run.files)


def _rehearse(run: Run, on_progress: Progress | None = None) -> Plan:
    """The plan: where DDL is transactional, the run itself in a transaction that is always
    rolled back; elsewhere (or where a script commits) a reading that sends only reads.
    ``on_progress`` is told of each revision rehearsed (or read)."""
    database = run.database
    with run.ws.connect(database) as conn:
        current = database.heads(conn)
        chosen = run.steps(current)
        plan = _rehearsal(run, conn, current, chosen, live=_one_transaction(run, chosen),
                          on_progress=on_progress)
        if plan is None:  # a script commits, which a rehearsal never does: read it instead
            run.planned.clear()
            plan = _rehearsal(run, conn, current, chosen, live=False,
                              on_progress=on_progress)
    return plan


def _rehearsal(run: Run, conn: Any, current: tuple[str, ...], chosen: list, *, live: bool,
               on_progress: Progress | None = None) -> Plan | None:
    """One rehearsal (``live``) or reading of the run; None if a script committed.
    ``on_progress`` counts from zero again for a reading that follows a rehearsal."""
    database = run.database
    stopped: dict[str, str] = {}
    rehearsed: list[Step] = []  # the steps this rehearsal ran, for on_progress

    def step_done(step: Step) -> None:
        rehearsed.append(step)
        if on_progress is not None:
            on_progress(step, len(rehearsed), len(run.planned))

    guard = Guard(database, confirmed=True, send=live, rehearsal=live)
    if live:
        if conn.in_transaction():
            conn.commit()
        conn.begin()
        database.backend.rehearse(conn, REHEARSAL_LOCK_TIMEOUT)

    def own_connection(_theirs: Any) -> None:  # what env.py sends there is not undone
        nonlocal live
        live = guard.rehearsal = guard.send = False  # so it is read, never sent

    try:
        with run.ws.environment(database, connection=conn) as config, guard.watching(), \
                alembic_quiet(), compiled_once(conn, database.version_table):
            run_env(config, run.script,
                    stepper(run, guard, after=step_done if on_progress else None),
                    guard_logging=run.foreign, on_own_connection=own_connection,
                    **run.env_kw)
    except Refused:
        if live:
            return None
        stopped[guard.revision] = "the project's env.py commits, which a reading never does"
    except KeyboardInterrupt:
        raise Interrupted(f"{run.action} --dry-run interrupted; nothing changed") from None
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - what the real run would hit, shown in the plan
        stopped[guard.revision or step_revision(chosen[0])] = why(exc, guard, database, live)
    finally:
        conn.rollback()
        guard.forget_copies()
    return plans.from_statements(run.action, database, run.target, current, chosen, guard,
                                 stopped, run.ws.project.signature(), run.files)


def _apply(run: Run, *, guarded: bool, on_progress: Progress | None) -> ApplyResult:
    """Run the steps under the migration lock, guarded, each logged with itself: as one
    transaction where DDL is transactional, unless a script commits (then again, each
    revision on its own)."""
    ws, database = run.ws, run.database
    started = time.perf_counter()
    options = ws.options
    with ws.connect(database) as conn, migration_lock(
        conn, database.backend, timeout=options.migration_wait, on_wait=options.on_wait
    ) as waited:
        before = run.before = database.heads(conn)  # under the lock: others' work counts
        # a target Alembic cannot place fails here, before a purge (which starts from none)
        chosen = run.steps(() if run.env_kw.get("purge") else before)
        if run.action == "stamp":
            chosen = []  # a stamp runs no script
        if run.previewed is not None:
            changed = run.previewed.differs(before, [step_revision(s) for s in chosen],
                                            ws.project.signature())
            if changed:
                raise NbMigrateError(f"{run.action} not run: {changed} since the preview; "
                                     "nothing changed: preview again")
        one = _one_transaction(run, chosen)
        try:
            _run_steps(run, conn, one=one, guarded=guarded, on_progress=on_progress)
        except CommitsItself:  # nothing was committed: run each revision on its own
            run.done.clear()
            run.planned.clear()
            _run_steps(run, conn, one=False, guarded=guarded, on_progress=on_progress)
        after = database.heads(conn)
    return ApplyResult(run.action, database.name, run.target, before, after, run.done,
                       time.perf_counter() - started, waited)


def _run_steps(run: Run, conn: Any, *, one: bool, guarded: bool,
               on_progress: Progress | None) -> None:
    """Run env.py's steps on ``conn``: ``one`` transaction with a savepoint per revision,
    or each revision committed as env.py commits it (the plan read first if guarded)."""
    database = run.database
    if guarded and not one and run.action != "stamp" and run.steps(run.before):
        _read_first(run, conn, run.before)
    guard = Guard(database, measure=guarded, confirmed=not guarded, stop=not one,
                  one_transaction=one) if run.action != "stamp" else None
    quiet = guard.quiet if guard else nullcontext
    trail = Trail(run.action, database, quiet=quiet)
    trail.settle(conn, run.before)
    waits = LockWaits.of(database, run.lock_timeout, run.lock_retries, run.ws.options.on_wait)
    waits.quiet = quiet
    with waits.bounded(conn):
        run.savepoints = Savepoints(conn, database) if one else None
        trail.held = one
        _steps_bounded(run, conn, guard, trail, waits, on_progress)


def _steps_bounded(run: Run, conn: Any, guard: Guard | None, trail: Trail, waits: LockWaits,
                   on_progress: Progress | None) -> None:
    """Run env.py's steps with each statement's lock wait bounded: a revision whose
    statement timed out is undone to its savepoint and run again, as ``waits`` allows."""
    database = run.database
    pipeline: Pipeline | None = None

    def own_connection(_theirs: Any) -> None:  # env.py runs the steps on its own
        if pipeline is not None:
            pipeline.end()
        if run.savepoints is not None:
            run.savepoints.abandon()
            run.savepoints = None
        trail.held = False
        if guard is not None:
            guard.stop, guard.one_transaction = True, False  # what ran before may be kept

    def step_done(step: Step) -> None:
        if run.savepoints is not None:
            run.savepoints.next()
        if on_progress is not None:
            on_progress(step, len(run.done), len(run.planned))

    try:
        while True:
            try:
                with run.ws.environment(database, connection=conn) as config, \
                        guard.watching() if guard is not None else nullcontext(), \
                        waits.statements_again(), compiled_once(conn, database.version_table), \
                        _pipelined(run, conn, guard) as pipeline:
                    run_env(config, run.script, stepper(run, guard, trail=trail, after=step_done),
                            guard_logging=run.foreign, on_own_connection=own_connection,
                            **run.env_kw)
                break
            except Exception as exc:  # noqa: BLE001 - a lock timeout is tried again, not others
                if not _again(run, conn, guard, waits, exc):
                    raise
        if run.savepoints is not None:
            trail.flush(conn)
            run.savepoints.finish()
        conn.commit()
    except CommitsItself:
        if run.savepoints is not None:
            run.savepoints.abandon()
        raise
    except Refused as refused:
        raise _after_refusal(run, conn, trail, guard, refused) from None
    except (Exception, SystemExit, KeyboardInterrupt) as exc:  # noqa: BLE001 - a script raises anything
        raise _after_failure(run, conn, trail, guard, waits.failure(exc)) from None
    finally:
        trail.close()


@contextmanager
def _pipelined(run: Run, conn: Any, guard: Guard | None) -> Iterator[Pipeline | None]:
    """A run that is one transaction on psycopg: its DDL and savepoints queued, waited
    for where a result is read, the guard's readings included (``backends/pipelined.py``)."""
    made = run.database.backend.pipeline(conn) if run.savepoints is not None else None
    if made is None:
        yield None
        return
    reading = guard.before_reading if guard is not None else None
    try:
        with made.sending() as pipeline:
            run.savepoints.send = pipeline.send
            if guard is not None:
                guard.before_reading = pipeline.wait
            yield pipeline
    finally:
        if guard is not None:
            guard.before_reading = reading
        if run.savepoints is not None:
            run.savepoints.send = None


def _again(run: Run, conn: Any, guard: Guard | None, waits: LockWaits,
           exc: BaseException) -> bool:
    """A statement's lock wait timed out in a run that is one transaction: undo the
    revision in progress to its savepoint and, after a pause, run it again (False: any
    other error, or no tries left)."""
    if run.savepoints is None or not waits.timed_out(exc):
        return False
    run.savepoints.undo_current()
    if not waits.again(exc, run.current, conn):
        return False
    if guard is not None:
        guard.forget(run.current)
    del run.planned[len(run.done):]  # asked for again from where the database is now
    return True


def _after_refusal(run: Run, conn: Any, trail: Trail, guard: Guard | None,
                   refused: Refused) -> NbMigrateError:
    """The guard refused: undo what can be undone, log what was kept, and say so."""
    if run.savepoints is not None:
        run.savepoints.abandon()
    if conn.in_transaction():
        conn.rollback()
    if run.savepoints is not None or (guard is not None and not guard.commits):
        run.done.clear()  # nothing was committed: all of it rolled back
    error = refused_error(run, refused, run.database, conn)
    if run.done or trail.marking:
        trail.ended(conn, in_progress(run), audit.FAILED, str(error))
    return error


def _after_failure(run: Run, conn: Any, trail: Trail, guard: Guard | None,
                   exc: BaseException) -> NbMigrateError:
    """A script failed or the user interrupted: undo the step in progress alone, keep and
    log the steps before it, and say where the database is now."""
    interrupted = isinstance(exc, KeyboardInterrupt)
    if guard is not None and guard.losses and not guard.confirmed and not interrupted \
            and run.savepoints is not None:
        run.savepoints.abandon()  # refused, whatever failed after: nothing changes
        run.done.clear()
        return DestructiveChange(run.action, run.target, losses_text(guard.losses))
    step = in_progress(run)
    try:
        if run.savepoints is not None:
            run.savepoints.undo_current()
        elif conn.in_transaction():
            conn.rollback()
        error = stopped_error(run, exc, guard, conn)
        trail.ended(conn, step, audit.INTERRUPTED if interrupted else audit.FAILED, str(error))
        if run.savepoints is not None:
            run.savepoints.finish()
    except SQLAlchemyError:  # the connection went with the failure: the database decides
        conn.invalidate()
        error = stopped_error(run, exc, guard, None)
    return error


def _read_first(run: Run, conn: Any, heads: tuple[str, ...]) -> None:
    """Where a run cannot be rolled back as a whole: read the plan first, sending only
    reads, and refuse before anything runs if it would lose data."""
    guard = Guard(run.database, confirmed=True, send=False)
    reading = Run(run.ws, run.script, run.foreign, run.action, run.target, run.database,
                  run.steps, run.env_kw)
    try:
        with run.ws.environment(run.database, connection=conn) as config, guard.watching(), \
                alembic_quiet():
            run_env(config, run.script, stepper(reading, guard), guard_logging=run.foreign,
                    **run.env_kw)
    except KeyboardInterrupt:
        raise Interrupted(f"{run.action} interrupted while its plan was read; "
                          "nothing changed") from None
    except (Exception, SystemExit):  # noqa: BLE001 - a script that needs what it wrote: the real run's guard
        pass  # stops before any loss this reading could not see
    finally:
        if conn.in_transaction():
            conn.rollback()
    if guard.losses:
        raise DestructiveChange(run.action, run.target, losses_text(guard.losses))
