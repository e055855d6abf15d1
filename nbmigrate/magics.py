"""``%migrate`` and ``%%migrate``: parse with the shared grammar, call the engine, return
what a notebook shows (``display`` decides: the result, or its table as a DataFrame)."""

from __future__ import annotations

import re
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Bool, Float, Int, Unicode, observe

from .engine.errors import NbMigrateError
from .grammar import HelpRequested, build_parser, parse, run, subparsers
from .progress import form_for
from .progress import shown as progress_shown


@magics_class
class NbMigrate(Magics):
    """Schema migrations with Alembic: ``%migrate --help`` lists the sub-commands."""

    metadata = Unicode(
        "", help="the model used by diff/check/autogenerate: a notebook expression "
        "(Base, Base.metadata) or module:attr; empty means find the one in the notebook",
    ).tag(config=True)
    directory = Unicode("migrations", help="the directory `%migrate init` writes by default"
                        ).tag(config=True)
    confirm_destructive = Bool(True, help="refuse an upgrade or downgrade that would lose data "
                               "unless --yes is given").tag(config=True)
    lock_timeout = Float(None, allow_none=True, min=0, help="seconds a migration's statement "
                         "waits for a table another session holds, then its revision is "
                         "tried again (None: 5 on PostgreSQL and MySQL/MariaDB; 0: no "
                         "limit)").tag(config=True)
    lock_retries = Int(3, min=0, help="times a revision that could not lock a table is "
                       "tried again, after a growing pause").tag(config=True)

    def __init__(self, shell: Any, session: Any = None, **kwargs: Any) -> None:
        # set before traitlets applies %config values, which fire the observers below
        self._session = session
        self._parser: Any = None
        self._calls = (0, 0)  # (execution count, %migrate lines run in that cell so far)
        super().__init__(shell, **kwargs)

    @property
    def session(self) -> Any:
        """The engine Session, made on first use so that %load_ext stays quick."""
        if self._session is None:
            from .engine.session import Session

            self._session = Session(namespace=self.shell.user_ns, metadata=self.metadata or None)
            options = self._session.options
            options.on_wait = print  # the wait for another kernel shows in the cell
            options.confirm_destructive = self.confirm_destructive
            options.lock_timeout, options.lock_retries = self.lock_timeout, self.lock_retries
        return self._session

    @property
    def parser(self) -> Any:
        if self._parser is None:
            self._parser = build_parser()
            self._directory_changed({"new": self.directory})
        return self._parser

    @observe("directory")
    def _directory_changed(self, change: dict) -> None:
        if self._parser is not None:
            subparsers(self._parser)["init"].set_defaults(directory=change["new"] or "migrations")

    @observe("confirm_destructive")
    def _confirm_changed(self, change: dict) -> None:
        if self._session is not None:
            self._session.options.confirm_destructive = change["new"]

    @observe("lock_timeout", "lock_retries")
    def _lock_waits_changed(self, change: dict) -> None:
        if self._session is not None:
            setattr(self._session.options, change["name"], change["new"])

    @observe("metadata")
    def _metadata_changed(self, change: dict) -> None:
        if self._session is not None:
            self._session.options.metadata = change["new"] or None

    @line_cell_magic
    def migrate(self, line: str, cell: str | None = None) -> Any:
        """Alembic migrations from a notebook: ``%migrate --help``."""
        try:
            argv = shlex.split(without_comment(line))
        except ValueError as exc:
            raise UsageError(f"%migrate: cannot read the line: {exc}") from None
        try:
            args = parse(argv, self.parser)
        except HelpRequested as shown:
            print(shown.text)
            return None
        except NbMigrateError as exc:
            raise usage_error(exc) from None
        try:  # long work shows a bar: a widget in a notebook, stderr in a terminal IPython
            with progress_shown(args, form_for(self.shell)):
                result = run(self.session, args, cell, front_end={"ui": dashboard})
        except NbMigrateError as exc:
            raise usage_error(exc) from None
        value = notebook_value(result)
        failure = getattr(result, "failure", "")
        if failure:  # a check that failed: the report shows, Run All stops at this cell
            from IPython.display import display

            display(value)
            self.shell.user_ns["_"] = value
            raise UsageError(failure)
        if cell is None and value is not None and self._above_the_last_line():
            from IPython.display import display

            display(value)  # IPython shows only a cell's last value: each line shows its own
        return value

    def _above_the_last_line(self) -> bool:
        """Whether this call is a bare ``%migrate`` line with more of the cell below it."""
        count = self.shell.execution_count
        self._calls = (count, self._calls[1] + 1 if self._calls[0] == count else 1)
        history = getattr(self.shell, "history_manager", None)
        raw = history.input_hist_raw[-1] if history and history.input_hist_raw else ""
        lines = [text for text in raw.splitlines()
                 if text.strip() and not text.lstrip().startswith("#")]
        calls = [i for i, text in enumerate(lines) if _MAGIC_LINE.match(text)]
        if self._calls[1] > len(calls):
            return False  # not this cell's text (a loop, or history not kept)
        at = calls[self._calls[1] - 1]
        return lines[at].lstrip().startswith("%migrate") and at < len(lines) - 1


_MAGIC_LINE = re.compile(r"\s*(?:[\w.]+\s*=\s*)?%migrate\b")  # %migrate ..., x = %migrate ...


def usage_error(exc: NbMigrateError) -> UsageError:
    """The one line IPython shows (it stops Run All), advice spelled for a notebook; what
    a partly rendered ``--sql`` wrote is printed above it."""
    from .display.words import NOTEBOOK

    if getattr(exc, "rendered", ""):
        print(exc.rendered)
    return UsageError(exc.spell(NOTEBOOK))


def dashboard(session: Any, _args: Any, _cell: str | None) -> Any:
    """``%migrate ui``: the dashboard over this notebook's session."""
    from .widgets import Dashboard

    return Dashboard(session)


def notebook_value(result: Any) -> Any:
    """What the cell shows and binds: the result, or its table as a DataFrame."""
    from .display.views import notebook_value as value

    return value(result)


def without_comment(line: str) -> str:
    """``line`` up to a ``#`` that starts a word outside quotes, as a shell reads it.

    ``%migrate upgrade head  # alembic upgrade head`` is a natural cell; a ``#``
    inside a word (``p#w`` in a URL) or in quotes (``-m "fix #12"``) is kept.
    """
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def load(shell: Any) -> None:
    """Register the magics, keeping the session of a previous load (``%reload_ext``)."""
    previous = shell.magics_manager.registry.get("NbMigrate")
    shell.configurables[:] = [c for c in shell.configurables if c is not previous]
    magics = NbMigrate(shell, session=getattr(previous, "_session", None), parent=shell)
    shell.register_magics(magics)
    if magics not in shell.configurables:  # IPython 9 adds it itself; 8 does not
        shell.configurables.append(magics)  # %config NbMigrate.<option>


def unload(shell: Any) -> None:
    """Nothing to tear down: ``load`` replaces the magics and keeps their session."""
