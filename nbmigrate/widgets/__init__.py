"""The ipywidgets dashboard (``%migrate ui``): a thin view over the engine's Session."""

from .dashboard import Dashboard

__all__ = ["Dashboard"]
