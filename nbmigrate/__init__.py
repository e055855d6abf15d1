"""nbmigrate: database schema migrations from a notebook, over Alembic.

``%load_ext nbmigrate`` registers the ``%migrate`` / ``%%migrate`` magics.
The engine (``nbmigrate.engine``) works without IPython.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension", "Session"]


def load_ipython_extension(shell: Any) -> None:
    """Register ``%migrate`` and ``%%migrate`` (``%load_ext nbmigrate``)."""
    from .magics import load

    load(shell)


def unload_ipython_extension(shell: Any) -> None:
    """Forget the magics' configuration hook (``%reload_ext nbmigrate``)."""
    from .magics import unload

    unload(shell)


def __getattr__(name: str) -> Any:
    if name == "Session":
        from .engine.session import Session

        return Session
    raise AttributeError(name)
