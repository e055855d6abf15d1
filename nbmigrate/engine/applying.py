"""Moving a database along the revision graph: upgrade, downgrade, stamp.

Under the migration lock, a real move first plans (and refuses a plan that
would lose data, unless confirmed), then runs the project's env.py with one
transaction per revision, logging each step and, on failure, saying where it
stopped and what the failed revision left behind.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from . import audit
from .connections import Database, short_error
from .errors import DestructiveChange, NbMigrateError
from .locks import migration_lock
from .plans import Plan, build_plan
from .results import ApplyResult, SqlScript, Step
from .runner import failed_statement, kept_statements, run_env, statements_run
from .savepoints import Savepoints
from .targets import check_exists, check_target, parse_range
from .text import heads_text
from .workspace import Workspace

Progress = Callable[[Step, int, int], None]  # (the step just done, steps done, steps planned)


def move(ws: Workspace, action: str, target: Any, *, sql: bool, db: str | None,
         dry_run: bool = False, yes: bool = False, purge: bool = False,
         on_progress: Progress | None = None) -> ApplyResult | SqlScript | Plan:
    """Upgrade, downgrade or stamp database ``db`` to ``target``; ``sql`` only writes the
    SQL and ``dry_run`` only plans; ``yes`` lets data be lost."""
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
    steps = _steps(script, action, target, display_target)
    env_kw = {"as_sql": sql, "starting_rev": start, "destination_rev": target}
    if action == "stamp":
        env_kw["purge"] = purge
    if sql:
        buffer = io.StringIO()
        with ws.environment(database, output_buffer=buffer) as config:
            run_env(config, script, steps, guard_logging=foreign, **env_kw)
        return SqlScript(action, database.dialect, buffer.getvalue().strip())
    if dry_run:
        with ws.connect(database) as conn:
            current = database.heads(conn)
            try:
                return build_plan(action, database.name, display_target, current,
                                  steps(current), conn)
            finally:
                conn.rollback()  # whatever a script did through op.get_bind()
    guard = action != "stamp" and ws.options.confirm_destructive and not yes
    return _apply(ws, script, foreign, action, display_target, database, steps, env_kw,
                  guard=guard, on_progress=on_progress)


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


def _apply(ws: Workspace, script: ScriptDirectory, foreign: bool, action: str, target: str,
           database: Database, steps: Callable[..., list], env_kw: dict[str, Any], *,
           guard: bool, on_progress: Progress | None) -> ApplyResult:
    """Run the steps under the migration lock, guarded, logged and timed."""
    done: list[Step] = []
    planned: list[Any] = []
    clock = [time.perf_counter()]

    def plan(rev: Any, context: Any) -> list:
        chosen = steps(rev, context)
        planned.extend(chosen)
        clock[0] = time.perf_counter()
        return chosen

    def applied(ctx: Any, step: Any, heads: Any, run_args: Any) -> None:
        now = time.perf_counter()
        rev = step.up_revision
        direction = "stamp" if step.is_stamp else ("up" if step.is_upgrade else "down")
        seconds = now - clock[0]
        done.append(Step(step.up_revision_id or "", rev.doc if rev else "", direction,
                         seconds, audit.utcnow() - timedelta(seconds=seconds),
                         ",".join(step.source_revision_ids),
                         ",".join(step.destination_revision_ids)))
        clock[0] = now
        ran.clear()  # statements of the step in progress only
        if savepoints is not None:
            savepoints.next()
        if on_progress is not None:
            on_progress(done[-1], len(done), len(planned))

    started = time.perf_counter()
    options = ws.options
    with ws.connect(database) as conn, migration_lock(
        conn, database.backend, timeout=options.lock_timeout, on_wait=options.on_wait
    ) as waited, statements_run(conn, database.version_table) as ran:
        audit.ensure_log(conn)
        before = database.heads(conn)  # read under the lock: what others did is counted
        chosen = steps(before) if action != "stamp" else []  # a stamp runs no script
        if guard:
            _refuse_data_loss(action, target, database, conn, chosen)
        ran.clear()  # the lock's, the log's and the guard's own queries
        savepoints = (Savepoints(conn, database) if chosen and not foreign
                      and Savepoints.suit(database, chosen) else None)
        try:
            with ws.environment(database, connection=conn, on_version_apply=applied
                                ) as config:
                run_env(config, script, plan, guard_logging=foreign, **env_kw)
            if savepoints is not None:
                savepoints.finish()
            conn.commit()
        except Exception as exc:  # noqa: BLE001 - a migration can raise anything
            if savepoints is not None:
                savepoints.keep_done()
            if conn.in_transaction():
                conn.rollback()
            error = _stopped(action, database, planned, done, exc, list(ran))
            failed = planned[len(done)] if len(planned) > len(done) else None
            if failed is not None and hasattr(failed, "revision"):
                done.append(Step(failed.revision.revision, failed.revision.doc,
                                 "up" if failed.is_upgrade else "down",
                                 time.perf_counter() - clock[0], audit.utcnow()))
            audit.write_log(conn, audit.log_rows(action, done, error=str(error)))
            raise error from None
        after = database.heads(conn)
        audit.write_log(conn, audit.log_rows(action, done))
    if not done and planned and all(hasattr(s, "revision") for s in planned):
        done = [Step(s.revision.revision, s.revision.doc, "up" if s.is_upgrade else "down")
                for s in planned]  # an env.py of the project's own, without our hook
    return ApplyResult(action, database.name, target, before, after, done,
                       time.perf_counter() - started, waited)


def _refuse_data_loss(action: str, target: str, database: Database, conn: Any,
                      chosen: list) -> None:
    try:
        plan = build_plan(action, database.name, target, (), chosen, conn, with_sql=False)
    finally:
        conn.rollback()
    if plan.destructive:  # a script that cannot be read is left to fail when it runs
        raise DestructiveChange(action, target, plan.loss())


def _stopped(action: str, database: Database, planned: list, done: list[Step],
             exc: BaseException, ran: list[str]) -> NbMigrateError:
    if isinstance(exc, NbMigrateError):
        return exc
    if isinstance(exc, (CommandError, RevisionError)):
        return NbMigrateError(str(exc))
    reason = short_error(exc, database.url) if isinstance(exc, SQLAlchemyError) else (
        f"{type(exc).__name__}: {exc}"
    )
    failed = planned[len(done)] if len(planned) > len(done) else None
    where = ""
    if failed is not None and hasattr(failed, "revision"):
        where = f" at revision {failed.revision.revision} ({failed.revision.doc!r})"
    try:
        with database.connect() as conn:
            now = heads_text(database.heads(conn))
    except NbMigrateError:
        now = "unknown (cannot reconnect)"
    transactional = database.backend.transactional_ddl(database.engine)
    return NbMigrateError(
        f"{action} of {database.name} stopped{where}{failed_statement(exc, ran)}: {reason}; "
        f"{len(done)} revision(s) applied before it{kept_statements(exc, ran, transactional)}; "
        f"{database.name} is now at {now}"
    )
