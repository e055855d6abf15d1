"""DataFrames that render as nbmigrate tables (pandas is imported only here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .tables import html_table


class MarkedFrame(pd.DataFrame):
    """A DataFrame whose HTML view highlights the rows where ``mark_column`` is true."""

    _metadata = ["mark_column", "title", "note"]

    @property
    def _constructor(self):
        return pd.DataFrame  # a slice or a computation is an ordinary DataFrame

    def _repr_html_(self) -> str:
        mark = getattr(self, "mark_column", None)
        flags = self[mark].tolist() if mark in self.columns else []
        marked = [i for i, v in enumerate(flags) if v is True]
        rows = self.astype(object).where(self.notna(), None).itertuples(index=False)
        return html_table(
            list(self.columns), [tuple(r) for r in rows], title=getattr(self, "title", ""),
            note=getattr(self, "note", ""), marked=marked,
        )


def make_frame(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    mark_column: str | None = None,
    title: str = "",
    note: str = "",
) -> pd.DataFrame:
    """A MarkedFrame of ``rows``; plain values, one row per item."""
    frame = MarkedFrame([list(r) for r in rows], columns=list(columns))
    frame.mark_column = mark_column
    frame.title = title
    frame.note = note
    return frame
