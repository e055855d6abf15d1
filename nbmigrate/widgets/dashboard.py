"""The dashboard: database selector, header, status line, and tabs over one engine Session."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import ipywidgets as w

from ..display.dashboard import findings_html, header_error_html, header_html
from ..engine.errors import NbMigrateError
from ..engine.events import Change, Fingerprint
from .authoring import NewRevisionPanel
from .history import HistoryView
from .layout import button_layout, field_layout, row
from .status import StatusLine, Worker
from .upgrade import UpgradePanel

TABS = ("History", "Graph", "New revision", "Upgrade / downgrade")
# tab titles in full (ipywidgets cuts them at 144px); a stale preview greyed out; the
# style applies to this widget only
STYLE = ("<style>.nbm-dashboard .lm-TabBar-tab{flex:0 1 auto !important;min-width:110px}"
         ".nbm-dashboard .nbm-stale-plan{opacity:.55}</style>")


class Dashboard(w.VBox):
    """``ui = %migrate ui``: preview, apply and roll back revisions; all work goes to ``session``.

    The widget holds no migration logic: each button calls one Session method
    and shows what it returns; every error lands in the status line as one line.
    It follows the session: what a command in another cell changes is shown at once
    (the session tells its listeners), and what another process changed is noticed
    before the next action (a cheap look at the scripts, tags and version table).
    A dashboard no front end shows any more (its cell was run again or cleared, where
    the front end counts its views, as JupyterLab does) reads nothing until it is shown
    again, and then reads what it missed.
    """

    def __init__(self, session: Any) -> None:
        self.session = session
        self.status = StatusLine()
        self.worker = Worker(self.status, self._sync, before=self.catch_up, after=self._settle)
        self.seen: Fingerprint | None = None  # the look the views were last read with
        self._behind = False  # a change arrived while the dashboard's own work ran
        self.database = w.Dropdown(description="Database", layout=field_layout("420px"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh",
                                       layout=button_layout(),
                                       tooltip="read the connections, scripts and database again")
        self.header = w.HTML()
        self.findings = w.HTML()  # applied revisions edited since: what status notes
        self.findings.layout.display = "none"
        self.history = HistoryView()
        self.graph = w.HTML()
        self.authoring = NewRevisionPanel(self)
        self.upgrade = UpgradePanel(self)
        self.tabs = w.Tab(children=[self.history, self.graph, self.authoring, self.upgrade],
                          titles=TABS)
        self._filling = False
        self.refresh_button.on_click(self.worker.callback("reading", self._reload, check=False))
        self.database.observe(
            lambda _: self._filling or self.worker.run("reading the database", self._switched,
                                                       check=False),
            names="value")
        super().__init__([
            w.HTML(STYLE), row(self.database, self.refresh_button), self.header,
            self.findings, self.status, self.tabs,
        ])
        self.add_class("nbm-dashboard")
        self._shown = False  # the front end counted a view: it counts them
        self._missed = False  # a change came while no view showed it
        for part in self._followed:  # ipywidgets: the front end keeps the count of views
            part._view_count = 0
            part.observe(self._views_changed, names="_view_count")
        self._unsubscribe = session.subscribe(self._changed)  # held weakly by the session
        self.worker.run("reading", self._reload, check=False)

    @property
    def db(self) -> str | None:
        """The selected connection's name (None: the session's default)."""
        return self.database.value

    @property
    def buttons(self) -> list[w.Button]:
        return [self.refresh_button, *self.authoring.buttons, *self.upgrade.buttons]

    def close(self) -> None:
        """Close the dashboard and every widget in it; the session stops telling it."""
        self._unsubscribe()
        for widget in _inside(self):
            widget.close()
        super().close()

    def _sync(self, busy: bool) -> None:
        self.refresh_button.disabled = self.database.disabled = busy
        self.authoring.sync(busy)
        self.upgrade.sync(busy)

    # ------------------------------------------------------- following changes

    @property
    def _followed(self) -> tuple[w.Widget, ...]:
        """The dashboard and the parts that follow the session, each of which a user may
        show in a cell of its own (``ui.history``)."""
        return self, self.header, self.findings, self.history, self.graph, self.upgrade

    @property
    def hidden(self) -> bool:
        """Shown once, by a front end that counts views, and now in none, nor any part
        that follows the session."""
        return self._shown and not any(part._view_count for part in self._followed)

    def _changed(self, change: Change) -> None:
        """The session changed something: show it now (the session's listener)."""
        if self.worker.busy:  # this dashboard's own work: read again when it is done
            self._behind = True
            return
        if change.connections or change.scripts or change.tags or self.db in change.databases:
            if self.hidden:  # nobody would see it: read when shown again
                self._missed = True
                return
            self.worker.run(f"reading what {change.command} changed",
                            lambda: self._follow(change), check=False)

    def _views_changed(self, change: dict) -> None:
        """The front end showed or removed a view; one shown again reads what it missed."""
        if not change["new"]:
            return
        self._shown = True
        if self._missed:
            self._missed = False
            if self.worker.busy:  # read once that work is done
                self._behind = True
            else:
                self.worker.run("reading what changed while hidden", self._reload, check=False)

    def _follow(self, change: Change) -> str:
        if change.connections:
            self._reload()
        else:
            self.refresh()
        what = f"a failed {change.command}" if change.failed else change.command
        stale = "; the open preview is stale: Preview again" if self.upgrade.stale else ""
        return f"updated after {what}{stale}"

    def catch_up(self) -> None:
        """Before an action: read everything again (connections too: a project found only
        now brings its own) if the scripts, tags or this database changed since they were
        last read, by another process say; errors show in the views."""
        with contextlib.suppress(NbMigrateError):
            now = self.session.fingerprint(db=self.db)
            if now != self.seen:
                self._reload(now)

    def _settle(self) -> None:
        """After the dashboard's own work: read again if it changed what no view re-read."""
        if self._behind:
            self.refresh_quietly()

    # ---------------------------------------------------------------- reading

    def _reload(self, seen: Fingerprint | None = None) -> str:
        """Connections, then everything else (``seen``: as for ``refresh``)."""
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
        self.refresh(seen if self.database.value == keep else None)
        return self._ready()

    def _switched(self) -> str:
        self.authoring.clear()
        self.upgrade.forget()
        self.refresh()
        return self._ready()

    def _ready(self) -> str:
        return f"ready: {self.db}" if self.db else "ready"

    def refresh(self, seen: Fingerprint | None = None) -> None:
        """Read the header, the applied revisions edited since, the history, graph and
        targets again, and mark an open preview that no longer matches stale; raise the
        first error after all. ``seen``: the look just taken (else one is taken first, so
        that a later change is noticed)."""
        errors: list[NbMigrateError] = []
        session, db = self.session, self.db
        self._behind = False
        try:
            seen = seen or session.fingerprint(db=db)
        except NbMigrateError as exc:
            errors.append(exc)
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
        try:
            self.findings.value = findings_html(session.validate(db=db))
        except NbMigrateError as exc:
            errors.append(exc)
            self.findings.value = ""
        self.findings.layout.display = "" if self.findings.value else "none"
        self.seen = seen
        if seen is not None:
            self.upgrade.check(seen)
        if errors:
            raise errors[0]

    def refresh_quietly(self) -> None:
        """Refresh, keeping the status as it is (a failure shows in the views)."""
        with contextlib.suppress(NbMigrateError):
            self.refresh()


def _inside(widget: Any) -> Iterator[w.Widget]:
    """Every widget inside ``widget``, innermost first."""
    for child in getattr(widget, "children", ()) or ():
        yield from _inside(child)
        yield child
