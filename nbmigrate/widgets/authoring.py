"""The "new revision" panel: autogenerate a preview, then save it as a script or discard it."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..display.dashboard import operations_html
from ..display.tables import html_block
from ..engine.errors import NbMigrateError
from ..engine.results import Diff
from .layout import button_layout, field_layout, row


class NewRevisionPanel(w.VBox):
    """Message, Autogenerate -> preview (operations, Python, SQL), Save or Discard."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner  # the Dashboard: session, selected database, worker, refresh
        self.diff: Diff | None = None
        self.message = w.Text(placeholder="what the revision does, e.g. add users.email",
                              description="Message", layout=field_layout("420px"))
        self.autogenerate = w.Button(description="Autogenerate", icon="magic",
                                     layout=button_layout(),
                                     tooltip="compare the model with the database; "
                                     "nothing is written")
        self.save = w.Button(description="Save", button_style="success", icon="save",
                             layout=button_layout(),
                             tooltip="write the revision script")
        self.discard = w.Button(description="Discard", layout=button_layout(), icon="times",
                                tooltip="forget the preview; nothing is written")
        self.operations = w.HTML()
        self.python = w.HTML()
        self.sql = w.HTML()
        self.preview = w.Tab(children=[self.operations, self.python, self.sql],
                             titles=("Operations", "Python", "SQL"))
        self.preview.layout.display = "none"
        work = owner.worker.callback
        self.autogenerate.on_click(work("comparing the model with the database", self.generate))
        self.save.on_click(work("writing the revision script", self.write))
        self.discard.on_click(work("discarding the preview", self.forget))
        super().__init__([row(self.message, self.autogenerate, self.save, self.discard),
                          self.preview])

    @property
    def buttons(self) -> list[w.Button]:
        return [self.autogenerate, self.save, self.discard]

    def sync(self, busy: bool) -> None:
        """Buttons on or off: off while work runs; Save and Discard need a preview."""
        self.autogenerate.disabled = busy
        self.save.disabled = busy or not self.diff
        self.discard.disabled = busy or self.diff is None

    def generate(self) -> str:
        diff = self.owner.session.diff(db=self.owner.db)
        self.diff = diff
        self.operations.value = operations_html(diff)
        self.python.value = html_block("upgrade operations (Python)", diff.code,
                                       language="python")
        self.sql.value = html_block(f"SQL for {diff.database} (not executed)",
                                    diff.sql or "-- no SQL", language="sql")
        self.preview.selected_index = 0
        self.preview.layout.display = ""
        if diff.empty:
            return f"{diff.title()}: nothing to save"
        return f"{diff.title()}: Save writes the script, Discard writes nothing"

    def write(self) -> str:
        message = self.message.value.strip()
        if not message:
            raise NbMigrateError("give the revision a message first")
        if self.diff is None:
            raise NbMigrateError("Autogenerate first: Save writes what the preview shows")
        created = self.owner.session.revision(message, autogenerate=True, db=self.owner.db,
                                              matching=self.diff.operations)
        self.clear()
        self.message.value = ""
        self.owner.refresh()
        return created.title()

    def forget(self) -> str:
        self.clear()
        return "preview discarded: nothing written"

    def clear(self) -> None:
        """Drop the preview (also when the selected database changes)."""
        self.diff = None
        for part in (self.operations, self.python, self.sql):
            part.value = ""
        self.preview.layout.display = "none"
