"""The migration engine: Alembic and SQLAlchemy, no IPython or ipywidgets.

Everything here returns plain result objects and never prints.
"""

from .errors import NbMigrateError
from .session import Session

__all__ = ["NbMigrateError", "Session"]
