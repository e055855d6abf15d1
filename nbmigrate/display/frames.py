"""DataFrames that render as nbmigrate tables (pandas is imported only here)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from . import auditlog
from .tables import LOSSY_COLUMN, html_table


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
            note=getattr(self, "note", ""), marked=marked, lossy=mark == LOSSY_COLUMN,
        )


class AuditLogFrame(MarkedFrame):
    """The whole audit log; its HTML view shows what a user reads first (``auditlog``)."""

    _metadata = [*MarkedFrame._metadata, "messages"]

    def _repr_html_(self) -> str:
        if not set(auditlog.FIELDS) <= set(self.columns):  # columns deleted in place
            return super()._repr_html_()
        return auditlog.html(self[list(auditlog.FIELDS)].itertuples(index=False),
                             title=getattr(self, "title", ""), note=getattr(self, "note", ""),
                             messages=getattr(self, "messages", None) or {})


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


def make_log_frame(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str = "",
    note: str = "",
    messages: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The audit log's every column, shown as ``auditlog.html`` (``messages``: each
    revision's message, where known)."""
    frame = AuditLogFrame([list(r) for r in rows], columns=list(columns))
    frame.mark_column = None
    frame.title = title
    frame.note = note
    frame.messages = dict(messages or {})
    return frame
