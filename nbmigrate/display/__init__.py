"""Views of engine results: HTML, text and DataFrames, and how each front end spells
advice (no IPython imports)."""

from .tables import html_table, text_table

__all__ = ["html_table", "text_table"]
