"""The operations a revision script would run, read by calling it with ``op`` recording.

``upgrade()`` or ``downgrade()`` runs with Alembic's ``op`` proxy bound to an
Operations object whose ``invoke`` keeps each operation instead of running it, so a
plan sees exactly what the script asks for (``batch_alter_table`` blocks included),
not what Alembic's batch mode turns it into on SQLite.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

from alembic.operations import Operations
from alembic.operations.base import BatchOperations
from alembic.operations.ops import BulkInsertOp, CreateTableOp, MigrateOperation
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Dialect

from .backends import backend_for


class Recorder:
    """Reads revision scripts' operations for a dialect (one set-up for many scripts);
    nothing reaches a database: a script that asks ``op.get_bind()`` stops the reading."""

    def __init__(self, dialect: Dialect) -> None:
        self.recorded: list[MigrateOperation] = []
        context = MigrationContext.configure(dialect=dialect)
        self.ops = _recording(Operations(context), self.recorded)
        self.ops.batch_alter_table = _batch(context, self.recorded)

    def record(self, migration_fn: Any) -> tuple[list[MigrateOperation], str]:
        """The operations ``migration_fn`` asks for, and why reading stopped early ("" if not).

        Nothing runs through ``op``.
        """
        self.recorded.clear()
        self.ops._install_proxy()
        try:
            migration_fn()
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a script can raise anything
            return list(self.recorded), f"{type(exc).__name__}: {exc}".splitlines()[0]
        finally:
            self.ops._remove_proxy()
        return list(self.recorded), ""


class _TableLater:
    """What ``op.create_table`` returns while recording: the Table, built only if the
    script uses it (as for ``op.bulk_insert``); most scripts never do."""

    def __init__(self, operation: CreateTableOp, context: MigrationContext) -> None:
        self._operation, self._context = operation, context
        self._table: Any = None

    def table(self) -> Any:
        if self._table is None:
            self._table = self._operation.to_table(self._context)
        return self._table

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table(), name)


def _recording(ops: Any, recorded: list[MigrateOperation], batch: bool = False) -> Any:
    def invoke(operation: MigrateOperation) -> Any:
        operation._nbmigrate_batch = batch  # type: ignore[attr-defined]
        if isinstance(operation, BulkInsertOp) and isinstance(operation.table, _TableLater):
            operation.table = operation.table.table()
        recorded.append(operation)
        if isinstance(operation, CreateTableOp):
            return _TableLater(operation, ops.migration_context)
        return None

    ops.invoke = invoke
    return ops


def _batch(context: MigrationContext, recorded: list[MigrateOperation]) -> Any:
    @contextmanager
    def batch_alter_table(table_name: str, schema: str | None = None, **_: Any
                          ) -> Iterator[BatchOperations]:
        impl = SimpleNamespace(table_name=table_name, schema=schema)
        yield _recording(BatchOperations(context, impl=impl), recorded, batch=True)

    return batch_alter_table


def render_sql(operations: list[MigrateOperation], dialect: Dialect, *, plain: bool = False
               ) -> list[str]:
    """Each operation's SQL for ``dialect``, as Alembic's offline mode writes it (``plain``:
    without the notes a reader needs, to be parsed)."""
    out = io.StringIO()
    context = MigrationContext.configure(
        dialect=dialect, opts={"as_sql": True, "output_buffer": out, "literal_binds": True}
    )
    ops = Operations(context)
    backend = backend_for(dialect)
    texts = []
    for operation in operations:
        out.seek(0)
        out.truncate()
        try:
            ops.invoke(operation)
            text = out.getvalue().strip()
            if getattr(operation, "_nbmigrate_batch", False) and backend.batch and not plain:
                text = f"-- {backend.batch_note}\n" + text
            texts.append(text)
        except Exception as exc:  # noqa: BLE001 - some operations have no offline form
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            texts.append(f"-- (no SQL preview for this operation: {reason})")
    return texts
