"""Plans: what an upgrade or downgrade would do, step by step, before it does it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .backends import backend_for
from .connections import Database
from .guard import Guard
from .lint import changes_existing, lint
from .recorder import Recorder, render_sql
from .results import Result
from .savepoints import commits_itself
from .script_files import ScriptFiles
from .statements import Effect, classify
from .text import clip


@dataclass
class PlannedOperation:
    """One thing a revision's statement does, what it does to the data there, a warning."""

    revision: str
    kind: str
    table: str
    name: str
    destructive: bool
    count: int | None
    impact: str
    warning: str
    sql: str = ""  # the statement (on the first of its operations only)
    statement: int = 0  # its place among the revision's statements

    @property
    def target(self) -> str:
        return ".".join(p for p in (self.table, self.name) if p)


@dataclass
class PlanStep:
    """One revision an upgrade or downgrade would apply."""

    revision: str
    message: str
    direction: str
    operations: list[PlannedOperation]
    warning: str = ""
    reason: str = ""  # why the run stopped in this revision: what comes after is unknown
    warned: str = ""  # the tables the revision's warning is about

    @property
    def note(self) -> str:
        return f"stopped here, the rest is unknown: {self.reason}" if self.reason else ""

    @property
    def sql(self) -> str:
        return "\n".join(o.sql if o.sql.endswith(";") else o.sql + ";"
                         for o in self.operations if o.sql)


@dataclass(repr=False)
class Plan(Result):
    """``--dry-run``: each step's operations, SQL, data impact and warnings; nothing ran."""

    action: str
    database: str
    target: str
    current: tuple[str, ...]
    steps: list[PlanStep] = field(default_factory=list)
    scripts: str = ""  # the fingerprint of the revision files the plan was made from
    after: tuple[str, ...] | None = None  # where the database would be (None: not known)

    columns = ("revision", "direction", "operation", "table", "name", "impact",
               "destructive", "warning")

    @property
    def operations(self) -> list[PlannedOperation]:
        return [o for s in self.steps for o in s.operations]

    @property
    def destructive(self) -> list[PlannedOperation]:
        """The operations that would lose data (or fail on the data there)."""
        return [o for o in self.operations if o.destructive]

    @property
    def unknown(self) -> list[PlanStep]:
        """Steps whose scripts could not be read in full, so may do more than shown."""
        return [s for s in self.steps if s.note]

    @property
    def warnings(self) -> list[str]:
        """Lint warnings and unreadable scripts, one line each, naming the revision."""
        lines = []
        for s in self.steps:
            lines += [f"{s.revision}: {w}" for w in (s.note, s.warning) if w]
            lines += [f"{o.revision}: {o.kind} {o.target}: {o.warning}"
                      for o in s.operations if o.warning]
        return lines

    @property
    def sql(self) -> str:
        return "\n\n".join(f"-- {s.revision} ({s.direction}): {s.message}\n{s.sql}"
                           for s in self.steps if s.sql)

    def rows(self) -> list[tuple]:
        return [(o.revision, s.direction, o.kind, o.table, o.name, o.impact, o.destructive,
                 o.warning) for s in self.steps for o in s.operations]

    def differs(self, current: tuple[str, ...], revisions: list[str], scripts: str) -> str:
        """Why a run would not be what this plan showed ("" if it would): the database moved,
        or the revisions to run or their files changed."""
        if set(current) != set(self.current):
            return f"the database moved from {', '.join(self.current) or 'base'} to " \
                   f"{', '.join(current) or 'base'}"
        if revisions != [s.revision for s in self.steps]:
            return "the revisions to run are not the ones previewed"
        if scripts != self.scripts:
            return "a revision file was added, removed or edited"
        return ""

    def loss(self) -> str:
        """What would be lost, in one line."""
        return "; ".join(f"{o.kind} {o.target} ({o.impact})" for o in self.destructive)


def step_of(step: Any) -> tuple[str, str, str]:
    """(revision, message, direction) of an Alembic migration step."""
    revision = step.revision
    return revision.revision, revision.doc or "", "up" if step.is_upgrade else "down"


def from_statements(action: str, database: Database, target: str, current: tuple[str, ...],
                    steps: list[Any], guard: Guard, stopped: dict[str, str] | None = None,
                    scripts: str = "", files: ScriptFiles | None = None) -> Plan:
    """The plan of a run the guard watched (a rehearsal, or a reading that sent only
    reads): each revision's statements, what they do to the rows there, and warnings
    (its scripts read through the run's ``files``).
    ``stopped`` maps a revision to why the run stopped in it."""
    plan = Plan(action, database.name, target, current, scripts=scripts)
    backend = database.backend
    created: set[tuple] = set()
    stopped = stopped or {}
    for step in steps:
        revision, message, direction = step_of(step)
        planned, effects = [], []
        for seen in guard.statements(revision):
            found = guard.effects(seen)
            first = True
            for effect, impact in zip(found, seen.impacts, strict=True):
                if effect.kind == "read":
                    continue
                existing = (effect.schema, effect.table) not in created
                planned.append(PlannedOperation(
                    revision, effect.kind, effect.table, _name(effect), impact.destructive,
                    impact.count, impact.text, lint(effect, backend, existing),
                    seen.sql.strip() if first else "", seen.number))
                first = False
                effects.append(effect)
                if effect.kind == "create_table":
                    created.add((effect.schema, effect.table))
        changed = changes_existing(effects, created)
        plan.steps.append(PlanStep(revision, message, direction, planned,
                                   _revision_warning(backend, changed, step, files),
                                   stopped.get(revision, ""), _tables(changed)))
    if not stopped:
        plan.after = _heads_after(current, steps)
    return plan


def _revision_warning(backend: Any, changed: list[Effect], step: Any,
                      files: ScriptFiles | None = None) -> str:
    """What a revision as a whole risks: DDL that commits piece by piece, or running
    outside the run's one transaction, and so outside its protections."""
    outside = ""
    if backend.savepoints and commits_itself(step, files):
        outside = ("note: this revision runs outside the upgrade's one transaction "
                   "(autocommit_block() or COMMIT): what it did before a failure is kept, "
                   "and a statement that cannot lock its table is not tried again")
    return "; ".join(w for w in (backend.revision_warning(changed), outside) if w)


def _heads_after(current: tuple[str, ...], steps: list[Any]) -> tuple[str, ...]:
    """The heads a database at ``current`` is at once Alembic's ``steps`` ran."""
    heads = list(current)
    for step in steps:
        heads = [h for h in heads if h not in step.from_revisions]
        heads += [t for t in step.to_revisions if t not in heads]
    return tuple(heads)


def _tables(effects: list[Effect]) -> str:
    return ", ".join(sorted({e.table for e in effects if e.table}))


def _name(e: Effect) -> str:
    """What a row names beside the table: a column, an index, a new name, a reason."""
    if e.kind in ("rename_table", "copy"):
        return f"-> {e.detail}" if e.kind == "rename_table" else f"<- {e.detail}"
    if e.kind == "rename_column":
        return f"{e.name} -> {e.detail}"
    if e.kind == "unknown":
        return clip(e.detail, 50)
    return e.name


def _from_existing_type(effect: Effect, operation: Any, backend: Any, dialect: Any) -> Effect:
    """A type change the script gave ``existing_type`` for: whether it rewrites the table
    is known without the database (lint of revisions that are not pending)."""
    from dataclasses import replace

    existing = getattr(operation, "existing_type", None)
    if effect.kind != "alter_type" or existing is None or not effect.detail:
        return effect
    old = str(existing.compile(dialect=dialect))
    if backend.rewrites(old, effect.detail):
        return effect
    return replace(effect, options=effect.options | {"no_rewrite"})


def from_scripts(database: str, rev_range: str, steps: list[Any], dialect: Any) -> Plan:
    """A plan for ``lint`` of revisions that need not be pending: each script's ``op``
    calls are recorded (nothing runs), written as SQL for the dialect, and judged;
    every table the range does not create counts as existing."""
    plan = Plan("upgrade", database, rev_range, ())
    backend = backend_for(dialect)
    recorder = Recorder(dialect)
    created: set[tuple] = set()
    for step in steps:
        revision, message, direction = step_of(step)
        recorded, reason = recorder.record(step.migration_fn)
        planned, effects = [], []
        for operation, sql in zip(recorded, render_sql(recorded, dialect, plain=True),
                                  strict=True):
            for effect in classify(sql, dialect.name):
                if effect.kind == "read":
                    continue
                effect = _from_existing_type(effect, operation, backend, dialect)
                existing = (effect.schema, effect.table) not in created
                planned.append(PlannedOperation(revision, effect.kind, effect.table,
                                                _name(effect), False, None, "",
                                                lint(effect, backend, existing), sql))
                effects.append(effect)
                if effect.kind == "create_table":
                    created.add((effect.schema, effect.table))
        changed = changes_existing(effects, created)
        plan.steps.append(PlanStep(revision, message, direction, planned,
                                   _revision_warning(backend, changed, step),
                                   f"reading the script without running it raised {reason}"
                                   if reason else "", _tables(changed)))
    return plan


@dataclass(repr=False)
class LintReport(Result):
    """``lint``: the warnings of a range of revisions, each with a safer pattern."""

    plan: Plan
    dialect: str

    columns = ("revision", "operation", "table", "name", "warning")

    @property
    def warnings(self) -> list[str]:
        return self.plan.warnings

    def __len__(self) -> int:
        return len(self.rows())

    def rows(self) -> list[tuple]:
        found = []
        for s in self.plan.steps:
            last = s.operations[-1].table if s.operations else ""
            found += [(s.revision, "(revision)", table, "", w)
                      for w, table in ((s.note, last), (s.warning, s.warned)) if w]
            found += [(o.revision, o.kind, o.table, o.name, o.warning)
                      for o in s.operations if o.warning]
        return found
