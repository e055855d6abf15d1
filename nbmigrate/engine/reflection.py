"""Reflection kept between autogenerate runs while the database schema stays the same.

A notebook re-runs ``diff`` often, and most of a diff on a big schema is
reading the schema back. SQLAlchemy's ``Inspector`` already caches every reflection
call in its ``info_cache`` (Alembic's bulk ``get_multi_*`` results included), so
reuse is a matter of handing the next run's Inspector the last one's ``info_cache``
when nothing has changed in between.

"Nothing has changed" is a *schema signature* (each backend's ``schema_signature``),
read with one query at the start of every run. The kept ``info_cache`` is used only
when the signature is equal to the one read when that cache was started. Each
signature is monotonic: once any change is committed it never again equals a signature
read before that change. So a cache that has read anything newer than its signature
can never be used again, and a cache that is used holds exactly the schema its
signature names.

- SQLite: ``PRAGMA schema_version`` of every attached database (bumped by every
  schema change, from any connection or process) and a hash of every ``sqlite_master``
  row (the schema itself: SQLite's reflection is parsed from these statements), so a
  file replaced by another is seen too.
- PostgreSQL: a hash of the ``xmin`` (the transaction that wrote the row) of every
  row of every catalog reflection reads, or that the deparsed definitions it reads
  name. DDL writes catalog rows: a new or updated row carries a new transaction id,
  and a deleted row is missing, so the hash moves and never comes back.
- Other dialects (MySQL/MariaDB): no signature that is cheap and cannot miss a
  change (``information_schema`` has no row versions and ``SHOW CREATE TABLE`` is the
  reflection itself), so nothing is kept: every run reflects afresh.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Inspector

from .backends import backend_for

PLUGIN = "nbmigrate.reflection"  # the Alembic autogenerate plugin below

class ReflectionCache:
    """Inspectors whose ``info_cache`` outlives one autogenerate run, per database.

    Keyed by the database URL (password left out: the signature names the user), the
    ``limit`` most recently used databases kept.
    """

    def __init__(self, limit: int = 8) -> None:
        self.limit = limit
        self._kept: OrderedDict[str, tuple[tuple, dict]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0  # runs that reused reflection (for tests and benchmarks)

    def inspector(self, connection: Connection) -> Inspector:
        """An Inspector on ``connection``; it starts from what the last run on this
        database reflected when the schema signature is unchanged since."""
        inspector = inspect(connection)
        signature = backend_for(connection).schema_signature(connection)
        if signature is None:
            return inspector
        key = connection.engine.url.render_as_string(hide_password=True)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == signature:
                inspector.info_cache = kept[1]
                self.hits += 1
            else:
                # filled as this run reflects: everything it reads is at least as new as
                # ``signature``, and is used again only while the signature is unchanged
                self._kept[key] = (signature, inspector.info_cache)
            self._kept.move_to_end(key)
            while len(self._kept) > self.limit:
                self._kept.popitem(last=False)
        return inspector

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


# One per process, like a functools.lru_cache: what it holds depends only on the
# database, and each entry is checked against the database before every use.
KEPT = ReflectionCache()


def _use_kept_reflection(autogen_context: Any, upgrade_ops: Any, schemas: Any) -> Any:
    """First "schema" comparator: give the run an Inspector from the cache named by the
    ``nbmigrate_reflection`` option (absent: this run reflects afresh)."""
    from alembic.util import PriorityDispatchResult

    cache = autogen_context.opts.get("nbmigrate_reflection")
    if cache is not None and autogen_context.connection is not None:
        # The one private seam: AutogenContext.inspector is a memoized property that
        # always calls inspect(connection); setting it is how a run gets our Inspector.
        autogen_context.inspector = cache.inspector(autogen_context.connection)
    return PriorityDispatchResult.CONTINUE


def setup(plugin: Any) -> None:
    from alembic.util import DispatchPriority

    plugin.add_autogenerate_comparator(_use_kept_reflection, "schema",
                                       priority=DispatchPriority.FIRST)


_registered = threading.Lock()


def register() -> None:
    """Make the ``nbmigrate.reflection`` plugin known to Alembic (once per process)."""
    from alembic.runtime.plugins import Plugin

    with _registered, contextlib.suppress(ValueError):  # ValueError: already registered
        Plugin.setup_plugin_from_module(sys.modules[__name__], PLUGIN)


def configure_options(cache: ReflectionCache | None = None) -> dict[str, Any]:
    """``context.configure()`` options that make an autogenerate run reuse reflection."""
    register()
    return {"autogenerate_plugins": ["alembic.autogenerate.*", PLUGIN],
            "nbmigrate_reflection": KEPT if cache is None else cache}
