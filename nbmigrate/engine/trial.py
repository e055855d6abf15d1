"""``test``: the project's migrations tried on a scratch database, one row per check.

One env.py run walks the whole history (``trial_walk``); a step that fails ends that
env.py run, and the next run goes on from the step after it. The connected database
is never touched: the walk runs on a scratch database (``scratch``) of its dialect.
"""

from __future__ import annotations

import time
from typing import Any

from alembic.runtime.migration import RevisionStep
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from . import scratch
from .connections import Database, VersionTable, current_heads
from .errors import Interrupted, NbMigrateError
from .runner import alembic_quiet, run_env
from .savepoints import Savepoints
from .text import heads_text, short
from .trial_report import FAILED, OK, SKIPPED, Progress, TrialReport, TrialRow
from .trial_walk import Walk, reason
from .version_rows import compiled_once
from .workspace import Workspace

__all__ = ["Progress", "TrialReport", "TrialRow", "run_trial"]


def run_trial(ws: Workspace, rev_range: str | None = None, *, db: str | None = None,
              keep: bool = False, start: str | None = None, data: bool = False,
              metadata: str | None = None, on_progress: Progress | None = None
              ) -> TrialReport:
    """Try the migrations on a scratch database of the connected one's dialect (or on
    ``db``, an empty database), never touching the connected one: one head; each
    revision of ``rev_range`` (default: all) upgraded one at a time, then downgraded and
    upgraded again (from ``start`` up) with nothing left by the downgrade; ``data``: rows
    in the tables before each downgrade, and what it loses; the model against the head.
    The scratch database is dropped unless ``keep``."""
    began = time.perf_counter()
    script = ws.project.script
    plan, tested, stair, model_skip = _plan(ws, script, rev_range, start)
    model, model_skip = _model(ws, metadata, model_skip)
    connected = ws.database(db)
    reader = connected.backend.schema_reader()
    if reader is None:
        raise NbMigrateError(f"test does not know how to read a {connected.dialect} schema")
    if db is not None:
        ws.learn_version(connected)
        place = scratch.given(connected, connected.version_table)
    else:
        place = scratch.make(connected)
    walk = Walk(ws, script, place.database, plan, tested, stair, data=data, model=model,
                 model_skip=model_skip, on_progress=on_progress, reader=reader)
    remark = ""
    try:
        with place.database.connect() as conn:
            remark = _walk(ws, walk, conn, keep=keep, made=place.made)
    except KeyboardInterrupt:
        raise Interrupted("test interrupted; the connected database was never touched"
                          ) from None
    finally:
        if place.made and not keep:
            remark = place.drop() or remark
    heads = tuple(script.get_heads())
    return TrialReport(connected.name, connected.dialect, place.where,
                       [_heads_row(heads), *walk.rows], len(plan),
                       time.perf_counter() - began, place.where if keep else "", remark,
                       "" if place.made else connected.name, heads)


def _plan(ws: Workspace, script: ScriptDirectory, rev_range: str | None, start: str | None
          ) -> tuple[list[Script], set[str], set[str], str]:
    """The revisions to upgrade, in order; those tested (in the range); those whose
    downgrade is tested (from ``start`` up); why the model is not compared, if not."""
    low = high = None
    if rev_range:
        low, _, high = rev_range.partition(":") if ":" in rev_range else (rev_range, "",
                                                                         rev_range)
        low, high = (ws.resolve(p.strip(), script) or None for p in (low, high))
    target = high or "heads"
    lowest = _one(script, low, "test") if low and low != "base" else None
    start_rev = _one(script, ws.resolve(start, script), "test --from") if start else None
    try:
        plan = [step.revision for step in script._upgrade_revs(target, ())]
        ends = {sc.revision for sc in script.get_revisions(target)}
    except (RevisionError, CommandError) as exc:
        raise NbMigrateError(f"test {rev_range}: {str(exc).splitlines()[0]}") from None
    applied = ws.project.applied
    tested = {sc.revision for sc in plan
              if lowest is None or lowest in applied((sc.revision,))}
    stair = {r for r in tested if start_rev is None or start_rev in applied((r,))}
    skip = "" if ends == set(script.get_heads()) else \
        f"not compared: the range ends at {heads_text(tuple(sorted(ends)))}, before the head"
    return plan, tested, stair, skip


def _one(script: ScriptDirectory, rev: str, what: str) -> str:
    """The id of the one revision ``rev`` names."""
    try:
        found = script.get_revision(rev)
    except (RevisionError, CommandError) as exc:
        raise NbMigrateError(f"{what}: {str(exc).splitlines()[0]}") from None
    if found is None:
        raise NbMigrateError(f"{what}: no revision {rev!r}")
    return found.revision


def _model(ws: Workspace, metadata: str | None, skip: str) -> tuple[Any, str]:
    """The model to compare with the head schema, or None and why there is none (a
    foreign env.py's own model is found as it runs)."""
    if skip:
        return None, skip
    try:
        return ws.model(metadata)[0], ""
    except NbMigrateError as exc:
        return None, "" if ws.foreign() else f"not compared: {exc}"


def _heads_row(heads: tuple[str, ...]) -> TrialRow:
    """The first row: one head, or which heads (a merge joins them)."""
    if not heads:
        return TrialRow("", "", "heads", SKIPPED, "no revisions yet")
    if len(heads) == 1:
        return TrialRow(heads[0], "", "heads", OK, "one head")
    return TrialRow(", ".join(heads), "", "heads", FAILED,
                    f"{len(heads)} heads: {', '.join(short(h) for h in heads)}; "
                    "merge them into one")


def _walk(ws: Workspace, walk: Walk, conn: Connection, *, keep: bool, made: bool) -> str:
    """Run env.py until the walk is done; "" or what could not be cleaned up."""
    walk.database.backend.quicken(conn)
    script = ws.project.script
    steps = [RevisionStep(script.revision_map, sc, True) for sc in walk.plan]
    if Savepoints.suit(walk.database, steps):
        walk.marks = scratch.Marks(conn, walk.database.backend.statements_together,
                                   commits=made)
    foreign = ws.foreign()
    event.listen(Engine, "before_cursor_execute", walk.capture)
    try:
        while not walk.finished:
            try:
                with ws.environment(walk.database, connection=conn) as config, \
                        alembic_quiet(), compiled_once(conn, walk.database.version_table):
                    run_env(config, script, walk.steps, guard_logging=foreign,
                            on_own_connection=walk.own_connection, as_sql=False,
                            destination_rev="heads")
            except KeyboardInterrupt:
                raise
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a script raises anything
                if walk.running is None:
                    raise _stopped(exc, walk.database) from None
                walk.failed(exc, conn)
    finally:
        event.remove(Engine, "before_cursor_execute", walk.capture)
        walk.unwatch()
    if walk.marks is not None:
        walk.marks.end(keep=keep)  # a --db database, not kept: rolled back, empty again
        return ""
    if conn.in_transaction():
        conn.commit()
    return "" if keep or made else _empty(ws, walk, conn)


def _stopped(exc: BaseException, database: Database) -> NbMigrateError:
    """What stopped the walk outside any step (env.py itself, a reading), in one line."""
    if isinstance(exc, NbMigrateError):
        return exc
    return NbMigrateError(f"test stopped: {reason(exc, database)}")


def _empty(ws: Workspace, walk: Walk, conn: Connection) -> str:
    """Empty a ``--db`` database the walk committed to (no transactional DDL): every
    revision downgraded, then the version table dropped; "" or why it is not empty."""
    script = ws.project.script
    version = walk.version or VersionTable()
    heads = current_heads(conn, version)

    def down(_heads: Any, _context: Any) -> list:
        return script._downgrade_revs("base", heads)

    try:
        with ws.environment(walk.database, connection=conn) as config, alembic_quiet():
            run_env(config, script, down, guard_logging=ws.foreign(), as_sql=False,
                    destination_rev="base")
        scratch.drop_version_table(conn, version.name)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a script raises anything
        return (f"{walk.database.name} could not be emptied ({reason(exc, walk.database)}): "
                "drop its tables yourself")
    return ""

