"""The migration engine: Alembic and SQLAlchemy, no IPython or ipywidgets.

Everything here returns plain result objects and never prints. ``Session`` is
imported on first use, so that loading the magics stays quick.
"""

from typing import Any

from .errors import NbMigrateError

__all__ = ["NbMigrateError", "Session"]


def __getattr__(name: str) -> Any:
    if name == "Session":
        from .session import Session

        return Session
    raise AttributeError(name)
