"""The upgrade / downgrade panel: choose a target, preview the plan, apply it."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..display.dashboard import plan_html, stale_html
from ..engine.errors import DestructiveChange, NbMigrateError
from ..engine.events import Fingerprint
from ..engine.results import History, TagList
from ..engine.text import short
from .layout import button_layout, field_layout, row
from .targets import target_options


class UpgradePanel(w.VBox):
    """Action, target, Preview -> the plan, Apply (and a confirmation for data loss)."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner  # the Dashboard: session, selected database, worker, refresh
        self.planned: tuple[str, str, str | None, Any] | None = None  # action, target, db, plan
        self.choices: tuple[History, TagList] | None = None
        self.stale = ""  # why the open preview no longer matches ("" while it does)
        self.tagged: str | None = None  # the revision a tag target named when previewed
        self.action = w.ToggleButtons(options=["upgrade", "downgrade"], value="upgrade",
                                      style={"button_width": "100px"},
                                      layout=button_layout())
        self.target = w.Dropdown(description="Target", layout=field_layout("360px"))
        self.preview = w.Button(description="Preview", layout=button_layout(), icon="search",
                                tooltip="the plan: operations, data impact, warnings, SQL")
        self.apply = w.Button(description="Apply", button_style="primary", icon="play",
                              layout=button_layout(),
                              tooltip="run the previewed plan")
        self.confirm = w.Button(description="Apply, losing data", button_style="danger",
                                icon="exclamation-triangle",
                                layout=button_layout(),
                                tooltip="I have read the plan: run it although data is lost")
        self.confirm.layout.display = "none"
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress",
                                      layout=field_layout("360px"))
        self.step = w.Label()
        self.progress_row = row(self.progress, self.step)
        self.progress_row.layout.display = "none"
        self.plan = w.HTML()
        self.stale_note = w.HTML()  # says why the preview below is stale
        self.stale_note.layout.display = "none"
        work = owner.worker.callback
        self.preview.on_click(work("planning", self.show_plan))
        self.apply.on_click(work("applying", lambda: self.run(confirmed=False)))
        self.confirm.on_click(work("applying (data loss confirmed)",
                                   lambda: self.run(confirmed=True)))
        self.action.observe(work("choosing targets", self.action_changed), names="value")
        self._filling = False
        self.target.observe(lambda _: self._filling or self.forget(), names="value")
        super().__init__([
            row(self.action, self.target, self.preview, self.apply, self.confirm),
            self.progress_row, self.stale_note, self.plan,
        ])

    @property
    def buttons(self) -> list[w.Button]:
        return [self.preview, self.apply, self.confirm]

    def sync(self, busy: bool) -> None:
        """Off while work runs; Apply needs a preview of the chosen target."""
        self.preview.disabled = busy or self.target.value is None
        self.apply.disabled = busy or not self._fresh() or bool(self.stale)
        self.confirm.disabled = busy or not self._fresh() or bool(self.stale)
        self.action.disabled = self.target.disabled = busy

    def show_choices(self, history: History, tags: TagList) -> None:
        """Fill the target chooser from the history and tags (keeping the choice if it exists)."""
        self.choices = (history, tags)
        options = target_options(self.action.value, history, tags)
        keep = self.target.value
        values = [v for _, v in options]
        self._filling = True  # new options, not a new choice: keep the preview
        try:
            self.target.options = options
            self.target.value = keep if keep in values else values[0]
        finally:
            self._filling = False
        if self.target.value != keep:
            self.forget()

    def action_changed(self) -> str:
        self.forget()
        if self.choices is not None:
            self.show_choices(*self.choices)
        return f"{self.action.value}: choose a target, then Preview"

    def _fresh(self) -> bool:
        return self.planned is not None and self.planned[:3] == (
            self.action.value, self.target.value, self.owner.db)

    def show_plan(self) -> str:
        action, target, db = self.action.value, self.target.value, self.owner.db
        if target is None:
            raise NbMigrateError("choose a target first")
        plan = self.owner.session.plan(action, target, db=db)
        self.planned = (action, target, db, plan)
        self.tagged = self._tag_names().get(target)
        self.mark_stale("")
        self.plan.value = plan_html(plan)
        self.confirm.layout.display = "" if plan.destructive else "none"
        self.progress_row.layout.display = "none"
        if not plan.steps:
            return plan.title()
        if plan.destructive:
            return (f"{len(plan.steps)} revision(s) to {action}; {len(plan.destructive)} "
                    "operation(s) would lose data: Apply refuses, 'Apply, losing data' goes ahead")
        return f"{len(plan.steps)} revision(s) to {action}: Apply runs them"

    def run(self, *, confirmed: bool) -> str:
        """Apply the previewed plan; ``confirmed`` only from the data-loss button."""
        if not self._fresh():
            raise NbMigrateError("Preview the plan first")
        assert self.planned is not None
        action, target, db, plan = self.planned
        session = self.owner.session
        self.progress.max, self.progress.value = max(len(plan.steps), 1), 0
        self.progress.bar_style = ""
        self.step.value = f"{action} {target}: starting"
        self.progress_row.layout.display = ""
        try:
            result = getattr(session, action)(target, yes=confirmed, db=db,
                                              on_progress=self.advance, previewed=plan)
        except DestructiveChange as exc:
            self.confirm.layout.display = ""
            self.step.value = "refused: nothing changed"
            raise NbMigrateError(f"{exc.action} refused, it would lose data: {exc.loss}. "
                                 f"{exc.stopped or 'Nothing changed'}. 'Apply, losing data' "
                                 "goes ahead") from None
        except BaseException:
            self.progress.bar_style = "danger"
            self.owner.refresh_quietly()  # show where the database stopped
            raise
        self.progress.bar_style = "success"
        self.progress.value = self.progress.max
        self.step.value = f"{action} {target}: done"
        self.planned = None
        self.confirm.layout.display = "none"
        self.mark_stale("")
        self.plan.value = result._repr_html_()
        self.owner.refresh()
        return result.title()

    def advance(self, step: Any, done: int, total: int) -> None:
        """Alembic applied one more revision (the ``on_progress`` hook of upgrade/downgrade)."""
        self.progress.max = max(total, 1)
        self.progress.value = done
        self.step.value = f"{done}/{total}: {step.direction} {short(step.revision)} {step.message}"

    def forget(self) -> None:
        """Drop the preview: the choice changed, so Apply needs a new one."""
        if self.planned is not None:  # else keep showing what the last Apply did
            self.planned = None
            self.plan.value = ""
            self.confirm.layout.display = "none"
        self.mark_stale("")

    # ------------------------------------------------------------ staleness

    def check(self, seen: Fingerprint) -> None:
        """Mark the open preview stale if the database, the scripts or its target's tag
        are no longer what it was made from (``seen``: a look just taken)."""
        if self.planned is None or self.stale or self.planned[2] != self.owner.db:
            return
        _, target, _, plan = self.planned
        # only a run knows the revisions it would take; the look knows heads and scripts
        why = plan.differs(plan.current if seen.heads is None else seen.heads,
                           [s.revision for s in plan.steps], seen.scripts)
        if not why and self.tagged != self._tag_names().get(target):
            why = f"tag {target} was moved"
        self.mark_stale(why)

    def mark_stale(self, why: str) -> None:
        """Show the preview as stale because ``why`` (Apply off), or as current ("")."""
        self.stale = why
        if why:
            self.stale_note.value = stale_html(why)
            self.plan.add_class("nbm-stale-plan")
        else:
            self.stale_note.value = ""
            self.plan.remove_class("nbm-stale-plan")
        self.stale_note.layout.display = "" if why else "none"
        self.sync(self.owner.worker.busy)

    def _tag_names(self) -> dict[str, str]:
        """Each tag the target chooser offers, with the revision it names."""
        tags = self.choices[1].tags if self.choices is not None else []
        return {name: info.revision for name, info in tags}
