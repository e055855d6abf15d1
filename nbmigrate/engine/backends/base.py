"""The backend every dialect starts from, and the registry its subclasses join."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..lint import common

_REGISTRY: dict[str, Backend] = {}


class Backend:
    """What a dialect does by default; subclasses override where theirs differs."""

    dialects: ClassVar[tuple[str, ...]] = ()
    batch = False  # Alembic's batch mode makes column changes work (SQLite)
    batch_note = ""  # what batch mode does, beside the SQL it previews
    savepoints = False  # an upgrade is one transaction with a savepoint per revision
    statements_together = False  # several statements may go in one round trip
    file_based = False  # the database is a file, named relative to alembic.ini

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for name in cls.dialects:
            _REGISTRY[name] = cls()

    def prepare(self, engine: Engine) -> None:
        """Adjust a new Engine made by nbmigrate (nothing by default)."""

    def transactional_ddl(self, engine: Engine) -> bool:
        """Whether DDL on ``engine`` runs inside transactions that can roll back."""
        from alembic.ddl.impl import DefaultImpl

        return DefaultImpl.get_by_dialect(engine.dialect).transactional_ddl

    def environment_options(self, engine: Engine) -> dict[str, Any]:
        """Extra ``context.configure()`` options for migrations on ``engine``."""
        return {}

    @contextmanager
    def lock(self, conn: Connection, timeout: float,
             on_wait: Callable[[str], None] | None) -> Iterator[None]:
        """Hold the database's migration lock (none where the dialect has no way)."""
        yield

    def schema_signature(self, conn: Connection) -> tuple | None:
        """A value that changes whenever the schema ``conn`` reflects changes; None where
        there is none that is cheap and cannot miss a change (nothing may be kept)."""
        return None

    def lint(self, operation: Any) -> str:
        """A warning for an operation on a table already in use, or ""."""
        return common(operation)

    def revision_warning(self, operations: list[Any]) -> str:
        """A warning about a revision as a whole, or ""."""
        return ""

    def char_length(self, column: Any) -> Any:
        """SQL for the length in characters of ``column``'s values."""
        return sa.func.char_length(column)


class DefaultBackend(Backend):
    """Any dialect without a backend of its own."""


_DEFAULT = DefaultBackend()


def registered(name: str) -> Backend:
    """The backend registered for a dialect name (the default one if none is)."""
    return _REGISTRY.get(name, _DEFAULT)
