"""The history table of the selected database."""

from __future__ import annotations

import ipywidgets as w

from ..display.dashboard import history_html
from ..engine.results import History, TagList


class HistoryView(w.HTML):
    """The history table of the selected database."""

    def show(self, history: History, tags: TagList) -> None:
        self.value = history_html(history, tags)
