"""One backend per dialect: everything that differs between databases, in one place.

As Alembic keeps dialect differences in ``DefaultImpl`` subclasses registered by
``__dialect__``, each ``Backend`` subclass names the dialects it serves and holds
what nbmigrate does differently there: transactional DDL, the migration lock,
savepoints, lint rules, the reflection signature, the queries that measure impact.
``backend_for`` finds it from a dialect name, Dialect, Engine, Connection or URL.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from . import mysql, postgresql, sqlite  # noqa: F401 - each registers its backend
from .base import Backend, registered

__all__ = ["Backend", "backend_for"]


def backend_for(what: str | sa.engine.Dialect | Engine | Connection | URL) -> Backend:
    """The backend of a dialect name, Dialect, Engine, Connection or URL."""
    if isinstance(what, URL):
        name = what.get_backend_name()
    elif isinstance(what, str):
        name = what
    else:
        name = (what if isinstance(what, sa.engine.Dialect) else what.dialect).name
    return registered(name)
