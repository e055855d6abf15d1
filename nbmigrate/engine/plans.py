"""Plans: what an upgrade or downgrade would do, step by step, before it does it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from alembic.operations import ops
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from .backends import backend_for
from .connections import short_error
from .impact import Impact, LiveSchema, assess
from .lint import lint
from .recorder import Recorder, render_sql
from .results import Result
from .text import clip

LOSSY = (ops.DropTableOp, ops.DropColumnOp)  # lose data unless proven empty


@dataclass
class PlannedOperation:
    """One operation of a revision script, with its data impact and lint warning."""

    revision: str
    kind: str
    table: str
    name: str
    destructive: bool
    count: int | None
    impact: str
    warning: str
    sql: str = ""

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
    reason: str = ""  # the error that stopped reading the script's operations

    @property
    def note(self) -> str:
        if not self.reason:
            return ""
        return (f"operations after the first {len(self.operations)} unknown: reading the script "
                f"without running it raised {self.reason}")

    @property
    def sql(self) -> str:
        return "\n".join(o.sql for o in self.operations if o.sql)


@dataclass(repr=False)
class Plan(Result):
    """``--dry-run``: each step's operations, SQL, data impact and warnings; nothing ran."""

    action: str
    database: str
    target: str
    current: tuple[str, ...]
    steps: list[PlanStep] = field(default_factory=list)

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

    def loss(self) -> str:
        """What would be lost, in one line."""
        return "; ".join(f"{o.kind} {o.target} ({o.impact})" for o in self.destructive)


def kind_of(operation: Any) -> str:
    """Alembic's name for an operation: DropColumnOp -> drop_column."""
    name = type(operation).__name__.removesuffix("Op")
    return "execute" if name == "ExecuteSQL" else re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def name_of(operation: Any) -> str:
    """The column, index or constraint an operation is about."""
    if isinstance(operation, ops.AddColumnOp):
        return operation.column.name
    if isinstance(operation, ops.RenameTableOp):
        return f"-> {operation.new_table_name}"
    if isinstance(operation, ops.ExecuteSQLOp):
        return clip(str(operation.sqltext), 50)
    for attr in ("column_name", "index_name", "constraint_name"):
        value = getattr(operation, attr, None)
        if value:
            return str(value)
    return ""


def build_plan(action: str, database: str, target: str, current: tuple[str, ...],
               steps: list[Any], connection: Connection, *, with_sql: bool = True,
               linting: bool = False) -> Plan:
    """The plan for alembic migration ``steps`` from ``current``, read on ``connection``.

    ``linting`` skips the data counts and treats every table the steps do not
    create as existing. Leaves the connection's transaction open for the caller to
    roll back (a script may have read or written through ``op.get_bind()``).
    """
    plan = Plan(action, database, target, current)
    live = LiveSchema(connection)
    dialect = connection.dialect
    backend = backend_for(dialect)
    recorder = Recorder(connection)
    for step in steps:
        revision = getattr(step, "revision", None)
        if revision is None:
            continue  # a stamp step runs no script
        recorded, note = recorder.record(step.migration_fn)
        texts = render_sql(recorded, dialect) if with_sql else [""] * len(recorded)
        planned = []
        for operation, sql in zip(recorded, texts, strict=True):
            schema = getattr(operation, "schema", None)
            table = getattr(operation, "table_name", None) or ""
            impact = Impact() if linting else _assess(operation, live)
            existing = ((lambda: (schema, table) not in live.new) if linting  # noqa: B023
                        else (lambda: bool(table) and live.holds_data(schema, table)))  # noqa: B023
            warning = lint(operation, backend, existing)
            planned.append(PlannedOperation(
                revision.revision, kind_of(operation), table, name_of(operation),
                impact.destructive, impact.count, impact.text, warning, sql))
            live.after(operation)
        plan.steps.append(PlanStep(
            revision.revision, revision.doc or "", "up" if step.is_upgrade else "down",
            planned, backend.revision_warning(recorded), note))
    return plan


def _assess(operation: Any, live: LiveSchema) -> Impact:
    try:
        return assess(operation, live)
    except SQLAlchemyError as exc:
        live.connection.rollback()  # PostgreSQL refuses more queries in a failed transaction
        return Impact(isinstance(operation, LOSSY), None, f"not counted: {short_error(exc)}")


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
            found += [(s.revision, "(revision)", "", "", w) for w in (s.note, s.warning) if w]
            found += [(o.revision, o.kind, o.table, o.name, o.warning)
                      for o in s.operations if o.warning]
        return found
