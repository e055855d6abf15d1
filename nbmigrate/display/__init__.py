"""Turning engine results into HTML, text and DataFrames (no IPython imports)."""

from .tables import html_table, text_table

__all__ = ["html_table", "text_table"]
