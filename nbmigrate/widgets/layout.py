"""Layouts every panel uses, so that the dashboard reads at 900 px: rows wrap, buttons keep
their labels, fields shrink down to a readable width."""

from __future__ import annotations

from typing import Any

import ipywidgets as w


def row(*children: Any) -> w.HBox:
    """A row that wraps onto a second line rather than squeezing what it holds."""
    return w.HBox(list(children), layout=w.Layout(flex_flow="row wrap", align_items="center"))


def button_layout() -> w.Layout:
    """A button as wide as its label, never narrower."""
    return w.Layout(width="auto", flex="0 0 auto")


def field_layout(widest: str) -> w.Layout:
    """A text field or drop-down up to ``widest``, narrower when the row is."""
    return w.Layout(width=widest, max_width="100%", flex="0 1 auto", min_width="220px")
