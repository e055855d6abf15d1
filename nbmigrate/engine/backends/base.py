"""The backend every dialect starts from, and the registry its subclasses join."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.engine import Connection, Engine

from ..lint import common
from ..statements import Effect

if TYPE_CHECKING:
    from ..shapes import ShapeReader
    from .pipelined import Pipeline

_REGISTRY: dict[str, Backend] = {}


class Backend:
    """What a dialect does by default; subclasses override where theirs differs."""

    dialects: ClassVar[tuple[str, ...]] = ()
    batch = False  # Alembic's batch mode makes column changes work (SQLite)
    batch_note = ""  # what batch mode does, beside the SQL it previews
    savepoints = False  # an upgrade is one transaction with a savepoint per revision
    statements_together = False  # several statements may go in one round trip
    file_based = False  # the database is a file, named relative to alembic.ini
    bounds_lock_waits = False  # a statement's wait for a lock can be bounded (lock_timeout)

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for name in cls.dialects:
            _REGISTRY[name] = cls()

    def prepare(self, engine: Engine) -> None:
        """Adjust a new Engine made by nbmigrate (nothing by default)."""

    def adopt(self, conn: Connection) -> None:
        """Make a connection an env.py opened itself behave as nbmigrate's own (nothing
        by default)."""

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

    def migration_running(self, conn: Connection) -> bool:
        """Whether a migration holds this database's lock now (where that can be asked)."""
        return False

    def schema_signature(self, conn: Connection) -> tuple | None:
        """A value that changes whenever the schema ``conn`` reflects changes; None where
        there is none that is cheap and cannot miss a change (nothing may be kept)."""
        return None

    noop = "SELECT 1 WHERE 1 = 0"  # sent in place of a statement a read-only plan records
    text_type = "TEXT"  # what any value can be cast to, to compare as text

    def temporary_table(self, name: str, columns: str) -> str:
        """SQL for a table only this session sees, gone with it."""
        return f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({columns})"

    @contextmanager
    def measuring(self, conn: Connection) -> Iterator[None]:
        """Around one of the guard's counting queries: a failed count must not spoil the
        migration's transaction (nothing to do where an error does not)."""
        yield

    def rehearse(self, conn: Connection, lock_timeout: float) -> None:
        """Ready a transaction that will be rolled back for a dry run: its statements wait
        at most ``lock_timeout`` seconds for a lock held by live traffic."""

    def pipeline(self, conn: Connection) -> Pipeline | None:
        """What sends the statements of a run that is one transaction on ``conn`` without
        waiting for answers nobody reads; None where each is sent and waited for."""
        return None

    def lock_wait_seconds(self, seconds: float) -> float:
        """The lock timeout the database will keep, asked for ``seconds``."""
        return seconds

    def bound_lock_waits(self, conn: Connection, seconds: float) -> bool:
        """Make each statement on ``conn`` wait at most ``seconds`` for a lock another
        session holds; True if a statement that timed out did nothing and may be sent
        again on its own."""
        return False

    def unbound_lock_waits(self, conn: Connection) -> None:
        """Put back the lock wait ``bound_lock_waits`` changed."""

    def lock_not_available(self, exc: BaseException) -> bool:
        """Whether ``exc`` (SQLAlchemy's or the driver's) is a lock wait that timed out."""
        return False

    def lock_holder(self, conn: Connection, table: str) -> str:
        """Who holds a lock on ``table``, in a few words ("" where the database cannot
        tell)."""
        return ""

    def referencing(self, conn: Connection, table: str, schema: str | None
                    ) -> list[tuple[str | None, str]]:
        """(schema, table) of the tables whose foreign keys point at ``table``, at any depth
        (what ``TRUNCATE ... CASCADE`` empties too)."""
        return []

    def columns_of_type(self, conn: Connection, name: str, schema: str | None
                        ) -> list[tuple[str | None, str, str]]:
        """(schema, table, column) of the columns of a user-defined type (what
        ``DROP TYPE ... CASCADE`` drops)."""
        return []

    def lint(self, effect: Effect) -> str:
        """A warning for what a statement does to a table already in use, or ""."""
        return common(effect)

    def revision_warning(self, changes: list[Effect]) -> str:
        """A warning about a revision's DDL on existing tables as a whole, or ""."""
        return ""

    def rewrites(self, old: str, new: str) -> bool:
        """Whether changing a column's type from ``old`` to ``new`` rewrites the table."""
        return old.upper() != new.upper()

    def enum_labels(self, conn: Connection, name: str) -> list[str] | None:
        """The values of a user-defined enum type; None if ``name`` is not one."""
        return None

    def index_table(self, conn: Connection, name: str, schema: str | None) -> str:
        """The table an index is on ("" if unknown)."""
        return ""

    def schema_reader(self) -> ShapeReader | None:
        """The schema as ``test`` reads it, items in one catalog query (None: it cannot)."""
        return None

    scratch_settings: tuple[str, ...] = ()  # a scratch session need not survive a crash

    def quicken(self, conn: Connection) -> None:
        """Make commits cheap on a scratch session: nothing in it needs to survive a crash."""
        if conn.in_transaction():
            conn.commit()
        dbapi = conn.connection.dbapi_connection  # below SQLAlchemy's BEGIN (SQLite refuses
        cursor = dbapi.cursor()  # to change its safety level inside a transaction)
        try:
            for statement in self.scratch_settings:
                cursor.execute(statement)
        finally:
            cursor.close()
        dbapi.commit()


class DefaultBackend(Backend):
    """Any dialect without a backend of its own."""


_DEFAULT = DefaultBackend()


def registered(name: str) -> Backend:
    """The backend registered for a dialect name (the default one if none is)."""
    return _REGISTRY.get(name, _DEFAULT)
