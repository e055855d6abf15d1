"""The dashboard: database selector, header, status line, and tabs over one engine Session."""

from __future__ import annotations

import contextlib
from typing import Any

import ipywidgets as w

from ..display.dashboard import header_error_html, header_html
from ..engine.errors import NbMigrateError
from .authoring import NewRevisionPanel
from .history import HistoryView
from .status import StatusLine, Worker
from .upgrade import UpgradePanel

TABS = ("History", "Graph", "New revision", "Upgrade / downgrade")
# tab titles in full (ipywidgets cuts them at 144px); the style applies to this widget only
STYLE = "<style>.nbm-dashboard .lm-TabBar-tab{flex:0 1 auto !important;min-width:110px}</style>"


class Dashboard(w.VBox):
    """``ui = %migrate ui``: preview, apply and roll back revisions; all work goes to ``session``.

    The widget holds no migration logic: each button calls one Session method
    and shows what it returns; every error lands in the status line as one line.
    """

    def __init__(self, session: Any) -> None:
        self.session = session
        self.status = StatusLine()
        self.worker = Worker(self.status, self._sync)
        self.database = w.Dropdown(description="Database", layout=w.Layout(width="420px"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh",
                                       tooltip="read the connections, scripts and database again")
        self.header = w.HTML()
        self.history = HistoryView()
        self.graph = w.HTML()
        self.authoring = NewRevisionPanel(self)
        self.upgrade = UpgradePanel(self)
        self.tabs = w.Tab(children=[self.history, self.graph, self.authoring, self.upgrade],
                          titles=TABS)
        self._filling = False
        self.refresh_button.on_click(self.worker.callback("reading", self._reload))
        self.database.observe(
            lambda _: self._filling or self.worker.run("reading the database", self._switched),
            names="value")
        super().__init__([
            w.HTML(STYLE), w.HBox([self.database, self.refresh_button]), self.header,
            self.status, self.tabs,
        ])
        self.add_class("nbm-dashboard")
        self.worker.run("reading", self._reload)

    @property
    def db(self) -> str | None:
        """The selected connection's name (None: the session's default)."""
        return self.database.value

    @property
    def buttons(self) -> list[w.Button]:
        return [self.refresh_button, *self.authoring.buttons, *self.upgrade.buttons]

    def _sync(self, busy: bool) -> None:
        self.refresh_button.disabled = self.database.disabled = busy
        self.authoring.sync(busy)
        self.upgrade.sync(busy)

    def _reload(self) -> str:
        """Connections, then everything else."""
        entries = self.session.connections().entries
        options = [(f"{name}: {url}" + (" (default)" if default else ""), name)
                   for name, _dialect, url, default, _source in entries]
        keep = self.database.value
        names = [name for _, name in options]
        default = next((name for name, *_, is_default, _ in entries if is_default), None)
        self._filling = True  # new options, not a new choice
        try:
            self.database.options = options
            self.database.value = keep if keep in names else default
        finally:
            self._filling = False
        self.refresh()
        return self._ready()

    def _switched(self) -> str:
        self.authoring.clear()
        self.upgrade.forget()
        self.refresh()
        return self._ready()

    def _ready(self) -> str:
        return f"ready: {self.db}" if self.db else "ready"

    def refresh(self) -> None:
        """Read the header, history, graph and targets again; raise the first error after all."""
        errors: list[NbMigrateError] = []
        session, db = self.session, self.db
        try:
            self.header.value = header_html(session.current(db=db))
        except NbMigrateError as exc:
            errors.append(exc)
            self.header.value = header_error_html(str(exc))
        try:
            history, tags = session.history(db=db), session.tags(db=db)
            self.history.show(history, tags)
            self.upgrade.show_choices(history, tags)
            self.graph.value = session.graph(db=db)._repr_html_()
        except NbMigrateError as exc:
            errors.append(exc)
            self.history.value = self.graph.value = ""
        if errors:
            raise errors[0]

    def refresh_quietly(self) -> None:
        """Refresh after a failure, keeping that failure as the status."""
        with contextlib.suppress(NbMigrateError):
            self.refresh()
