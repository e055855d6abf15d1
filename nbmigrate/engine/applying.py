"""Moving a database along the revision graph: upgrade, downgrade, stamp.

Under the migration lock, a real move first plans (and refuses a plan that
would lose data, unless confirmed), then runs the project's env.py with one
transaction per revision, logging each step and, on failure, saying where it
stopped and what the failed revision left behind.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from . import audit
from .connections import Database, has_transactional_ddl, short_error
from .errors import DestructiveChange, NbMigrateError
from .locks import migration_lock
from .plans import Plan, build_plan
from .results import ApplyResult, SqlScript, Step, heads_text
from .runner import failed_statement, kept_statements, run_env, statements_run


def move(session: Any, action: str, target: Any, *, sql: bool, db: str | None,
          dry_run: bool = False, yes: bool = False, purge: bool = False
          ) -> ApplyResult | SqlScript | Plan:
    """Upgrade, downgrade or stamp ``session``'s database ``db`` to ``target``; ``sql``
    only writes the SQL and ``dry_run`` only plans; ``yes`` lets data be lost."""
    script = session.project.script
    database = session._database(db)
    display_target = ", ".join(target) if isinstance(target, tuple) else target
    for text in (target,) if isinstance(target, str) else target:
        for part in text.split(":", 1) if sql else (text,):
            check_target(part, action)
    target = session._resolve_tags(target)
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
        start, target = target.split(":", 1)
    elif sql and start is None:
        with session._connect(database) as conn:
            heads = database.heads(conn)
        if len(heads) > 1:
            raise NbMigrateError(
                f"{database.name} is at several heads ({heads_text(heads)}): "
                f"give the start as a range, FROM:{display_target.replace(', ', ' FROM:')}"
            )
        start = heads[0] if heads else None
    if not sql:
        _resolve(script, target, action)

    def steps(rev: Any, _context: Any = None) -> list:
        try:
            if action == "upgrade":
                return script._upgrade_revs(target, rev)
            if action == "downgrade":
                return script._downgrade_revs(target, rev)
            return script._stamp_revs(target, rev)
        except (RevisionError, CommandError) as exc:
            raise NbMigrateError(f"{action} {display_target}: {exc}") from None
        except AssertionError:  # Alembic's check that a relative step stays in range
            raise NbMigrateError(
                f"{action} {display_target}: out of range from {heads_text(tuple(rev))}"
            ) from None

    env_kw = {"as_sql": sql, "starting_rev": start, "destination_rev": target}
    if action == "stamp":
        env_kw["purge"] = purge
    if sql:
        buffer = io.StringIO()
        with session._environment(database, output_buffer=buffer) as config:
            run_env(config, script, steps, guard_logging=session._foreign(), **env_kw)
        return SqlScript(action, database.dialect, buffer.getvalue().strip())
    if dry_run:
        with session._connect(database) as conn:
            current = database.heads(conn)
            try:
                return build_plan(action, database.name, display_target, current,
                                  steps(current), conn)
            finally:
                conn.rollback()  # whatever a script did through op.get_bind()
    guard = action != "stamp" and session.confirm_destructive and not yes
    return _apply(session, action, display_target, database, steps, env_kw, guard=guard)


def _apply(session: Any, action: str, target: str, database: Database,
           steps: Callable[..., list], env_kw: dict[str, Any], *, guard: bool
           ) -> ApplyResult:
    """Run the steps under the migration lock, guarded, logged and timed."""
    script = session.project.script
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
        if session.on_progress is not None:
            session.on_progress(done[-1], len(done), len(planned))

    started = time.perf_counter()
    with session._connect(database) as conn, migration_lock(
        conn, timeout=session.lock_timeout, on_wait=session.on_wait
    ) as waited, statements_run(conn, database.version_table) as ran:
        audit.ensure_log(conn)
        before = database.heads(conn)  # read under the lock: what others did is counted
        chosen = steps(before) if action != "stamp" else []  # a stamp runs no script
        if guard:
            _refuse_data_loss(action, target, database, conn, chosen)
        ran.clear()  # the lock's, the log's and the guard's own queries
        savepoints = (Savepoints(conn) if chosen and not session._foreign()
                      and Savepoints.suit(database, chosen) else None)
        try:
            with session._environment(database, connection=conn, on_version_apply=applied
                                   ) as config:
                run_env(config, script, plan, guard_logging=session._foreign(), **env_kw)
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


class Savepoints:
    """A transaction per 50 revisions and a SAVEPOINT per revision: one commit (and
    fsync) instead of fifty, while a failing revision still rolls back alone and the
    revisions before it are kept.

    Alembic leaves transactions to a caller whose connection is already in one, so
    this works with nbmigrate's env.py, which uses the connection it is given. The
    savepoint is plain SQL under one reused name: on PostgreSQL, releasing one and
    starting the next is one round trip.
    """

    BATCH = 50  # revisions per commit: PostgreSQL slows down past 64 subtransactions
    NAME = "nbmigrate_step"

    def __init__(self, connection: Connection) -> None:
        if connection.in_transaction():
            connection.commit()
        self.connection = connection
        self.done = 0
        self.together = connection.dialect.name == "postgresql"  # several statements per call
        self.outer = connection.begin()
        self._run(f"SAVEPOINT {self.NAME}")

    @staticmethod
    def suit(database: Database, steps: list) -> bool:
        """Transactional DDL, and no script that needs autocommit (autocommit_block())."""
        if database.dialect not in ("sqlite", "postgresql") or \
                not has_transactional_ddl(database.engine):
            return False
        paths = [getattr(getattr(s, "revision", None), "path", None) for s in steps]
        return all(p and "autocommit_block" not in Path(p).read_text(encoding="utf-8")
                   for p in paths)

    def _run(self, *statements: str) -> None:
        if self.together:
            self.connection.exec_driver_sql("; ".join(statements))
        else:
            for statement in statements:
                self.connection.exec_driver_sql(statement)

    def next(self) -> None:
        """A revision is done: keep it, and start the next one's savepoint."""
        self.done += 1
        if self.done % self.BATCH:
            self._run(f"RELEASE SAVEPOINT {self.NAME}", f"SAVEPOINT {self.NAME}")
            return
        self._run(f"RELEASE SAVEPOINT {self.NAME}")
        self.outer.commit()
        self.outer = self.connection.begin()
        self._run(f"SAVEPOINT {self.NAME}")

    def finish(self) -> None:
        self._run(f"RELEASE SAVEPOINT {self.NAME}")
        self.outer.commit()

    def keep_done(self) -> None:
        """The revision in progress failed: undo it alone and keep those before it."""
        if self.outer.is_active:
            self._run(f"ROLLBACK TO SAVEPOINT {self.NAME}")
            self.outer.commit()


def _refuse_data_loss(action: str, target: str, database: Database,
                      conn: Connection, chosen: list) -> None:
    try:
        plan = build_plan(action, database.name, target, (), chosen, conn, with_sql=False)
    finally:
        conn.rollback()
    if plan.destructive:  # a script that cannot be read is left to fail when it runs
        raise DestructiveChange(
            f"{action} refused, it would lose data: {plan.loss()}. Nothing changed. "
            f"See the plan: %migrate {action} {target} --dry-run; go ahead: add --yes, or "
            "%config NbMigrate.confirm_destructive = False"
        )


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
    return NbMigrateError(
        f"{action} of {database.name} stopped{where}{failed_statement(exc, ran)}: {reason}; "
        f"{len(done)} revision(s) applied before it"
        f"{kept_statements(exc, ran, has_transactional_ddl(database.engine))}; "
        f"{database.name} is now at {now}"
    )


def check_target(text: str, action: str) -> None:
    """One line for a revision text Alembic would trip over (an empty one, ``branch@``)."""
    if not text.strip():
        raise NbMigrateError(f"{action}: give a revision (head, base, +1, -1, an id, a tag)")
    if text.endswith("@"):
        raise NbMigrateError(f"{action}: {text!r} names a branch but no revision: "
                             f"{text}head, {text}+1")


def _resolve(script: Any, target: str | tuple, action: str) -> None:
    """Fail early, in one line, on a target Alembic cannot find."""
    for rev in (target,) if isinstance(target, str) else target:
        if re.search(r"[+-]\d+$", rev) or rev in ("head", "heads", "base"):
            continue  # relative forms (+2, -1, ae10+2, branch@+1): Alembic resolves them
        try:
            if not script.get_revisions(rev):
                raise NbMigrateError(f"{action}: no revision {rev!r}")
        except (RevisionError, CommandError) as exc:
            raise NbMigrateError(f"{action}: {exc}") from None
