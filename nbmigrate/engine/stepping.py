"""One move of a database as it runs: its state (``Run``), the steps Alembic takes, and
the env.py ``fn`` that hands them over one at a time, so that each statement is known to
be its step's and each step is known to be done."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from . import audit
from .checksums import step_checksum
from .connections import Database
from .errors import NbMigrateError
from .guard import Guard
from .plans import Plan
from .results import Step
from .savepoints import Savepoints
from .script_files import ScriptFiles
from .stops import missing_function, step_revision
from .text import heads_text
from .trail import Trail
from .workspace import Workspace

Progress = Callable[[Step, int, int], None]  # (the step just done, steps done, steps planned)


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
    clock: float = 0.0  # when the step in progress began
    savepoints: Savepoints | None = None  # the run is one transaction
    lock_timeout: float | None = None  # a statement's wait for a lock (None: the default)
    lock_retries: int | None = None  # tries again after a lock timeout (None: the default)
    files: ScriptFiles = field(default_factory=ScriptFiles)  # each revision file read once


def steps_to(script: ScriptDirectory, action: str, target: Any, shown: str
             ) -> Callable[..., list]:
    """Alembic's steps from a database's heads to ``target`` (an env.py ``fn``), worked
    out once for each set of heads (a run asks before env.py starts, and env.py again)."""
    found: dict[tuple, list] = {}

    def steps(rev: Any, _context: Any = None) -> list:
        key = tuple(rev) if isinstance(rev, (tuple, list)) else (rev,)
        if key not in found:
            found[key] = _steps(rev)
        return list(found[key])

    def _steps(rev: Any) -> list:
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
        except AttributeError as exc:  # a script without upgrade() or downgrade()
            raise NbMigrateError(f"{action} {shown}: {missing_function(script, exc)}"
                                 ) from None

    return steps


def stepper(run: Run, guard: Guard | None, *, trail: Trail | None = None,
             after: Callable[[Step], None] | None = None
             ) -> Callable[[Any, Any], Iterator[Any]]:
    """The env.py ``fn``: hands Alembic one step at a time, so that each statement is
    known to be that step's, and each step is known to be done (its record made and
    logged in its own transaction) whichever env.py runs. ``after`` is told of each step
    done: the run's record of it, or (a rehearsal, which keeps none) one made here."""

    def applied(ctx: Any, step: Any, **_: Any) -> None:  # Alembic's on_version_apply
        done = record(step, time.perf_counter() - run.clock, run.files)
        run.done.append(done)
        if trail is not None:
            trail.applied(ctx.connection, done)

    def fn(heads: Any, context: Any) -> Iterator[Any]:
        chosen = run.steps(heads, context)
        run.planned.extend(chosen)
        if trail is not None:
            context.on_version_apply_callbacks = (*context.on_version_apply_callbacks, applied)
        for step in chosen:
            run.current = step_revision(step)
            if guard is not None:
                guard.start(run.current)
            run.clock = time.perf_counter()
            if trail is not None and trail.marking:
                trail.starting(record(step.info, 0.0, run.files))
            yield step  # Alembic runs it before asking for the next one
            if after is not None and trail is None:
                after(record(step.info, time.perf_counter() - run.clock, run.files))
            elif after is not None and run.done:
                after(run.done[-1])
        if guard is not None:
            guard.finish()

    return fn


def record(info: Any, seconds: float | None, files: ScriptFiles | None = None) -> Step:
    """The Step a run reports (and logs) for Alembic's MigrationInfo ``info`` (its file
    read through ``files``)."""
    return Step(info.up_revision_id or "", info.up_revision.doc if info.up_revision else "",
                "stamp" if info.is_stamp else ("up" if info.is_upgrade else "down"), seconds,
                audit.utcnow() - timedelta(seconds=seconds or 0),
                ",".join(info.source_revision_ids), ",".join(info.destination_revision_ids),
                step_checksum(info, files))


def in_progress(run: Run) -> Step | None:
    """The step that was running when the run stopped, as far as it got."""
    if len(run.planned) <= len(run.done) or not hasattr(run.planned[len(run.done)], "info"):
        return None
    return record(run.planned[len(run.done)].info, time.perf_counter() - run.clock, run.files)
