"""The Session: nbmigrate's public API, one method per command over one Workspace."""

from __future__ import annotations

import configparser
import functools
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import SQLAlchemyError

from .checksums import Validation
from .connections import Databases, short_error
from .errors import NbMigrateError
from .events import Change, Fingerprint, Listeners, announces, fingerprint
from .results import ApplyResult, RevisionCreated
from .script_checks import one_reading
from .secrets import redact
from .workspace import Options, Workspace

if TYPE_CHECKING:  # each command imports the modules it runs, when it runs
    from sqlalchemy import MetaData

    from . import trial
    from .audit import AuditLog
    from .autogen import TableProgress
    from .graph import RevisionGraph
    from .plans import LintReport, Plan
    from .project import Project
    from .reading import DatabaseProgress
    from .results import (
        Branches,
        ConnectionList,
        CurrentState,
        Diff,
        Heads,
        History,
        Note,
        Operation,
        RevisionDetails,
        SqlScript,
        Status,
        TagList,
    )
    from .stepping import Progress

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(method: F) -> F:
    """Turn Alembic and database errors into one NbMigrateError line, passwords masked;
    the method is one command (``one_reading``)."""

    @functools.wraps(method)
    def wrapper(self: Session, *args: Any, **kwargs: Any) -> Any:
        try:
            with one_reading():  # the scripts on disk looked at once per command
                return method(self, *args, **kwargs)
        except NbMigrateError as exc:
            passwords = self.databases.passwords()
            raise exc.redacted(lambda text: redact(text, passwords)) from None
        except _alembic_errors() as exc:  # evaluated as the error passes: () matches none
            raise NbMigrateError(redact(str(exc), self.databases.passwords())) from None
        except configparser.Error as exc:  # alembic.ini, read by Alembic or env.py
            raise NbMigrateError(redact(f"alembic.ini: {' '.join(str(exc).split())}",
                                        self.databases.passwords())) from None
        except SQLAlchemyError as exc:
            raise NbMigrateError(short_error(exc)) from None
        except OSError as exc:  # a file or folder nbmigrate could not write or read
            where = f" {exc.filename}" if exc.filename else ""
            raise NbMigrateError(
                f"{method.__name__}: cannot use{where}: {exc.strerror or exc}") from None
        except AssertionError as exc:  # an Alembic internal check on a malformed target
            if exc.__traceback__ is None or "alembic" not in _last_module(exc):
                raise
            raise NbMigrateError(
                f"{method.__name__}: Alembic cannot read that revision or range") from None

    return wrapper  # type: ignore[return-value]


def _alembic_errors() -> tuple[type[Exception], ...]:
    """Alembic's errors where Alembic is loaded; none where it is not (nothing raised them)."""
    if "alembic" not in sys.modules:
        return ()
    from alembic.script.revision import RevisionError
    from alembic.util import CommandError

    return CommandError, RevisionError


def _last_module(exc: BaseException) -> str:
    """The module where ``exc`` was raised."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals.get("__name__", "") if tb is not None else ""


class Session:
    """Holds the migration project, the named connections and how to find the model.

    ``namespace`` is where model objects and connection variables are looked up
    (a notebook's user namespace); ``metadata`` is an expression or ``module:attr``.
    """

    def __init__(self, project: str | Path | None = None, *, url: str | None = None,
                 metadata: str | None = None, namespace: Mapping[str, Any] | None = None,
                 workdir: str | Path | None = None) -> None:
        self.listeners = Listeners()  # told what each command changed: see subscribe
        self.workspace = Workspace(namespace=namespace, workdir=workdir,
                                   options=Options(metadata=metadata))
        if project is not None:
            self.attach(project)
        if url is not None:
            self.connect(url)

    @property
    def options(self) -> Options:
        """Settings for every command: the model, confirm_destructive, the lock waits."""
        return self.workspace.options

    @property
    def databases(self) -> Databases:
        return self.workspace.databases

    @property
    def project(self) -> Project:
        """The migration project: set by init or attach, else ./alembic.ini."""
        return self.workspace.project

    def metadata(self) -> tuple[MetaData, str]:
        """The model's MetaData and the name it was found under."""
        return self.workspace.model()

    # -------------------------------------------------------------- listeners

    def subscribe(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``listener(change)`` after every command that changes a database, the
        scripts, the tags or the connections (also after a move that failed part-way);
        returns the function that unsubscribes it. A bound method is held weakly."""
        return self.listeners.subscribe(listener)

    @user_errors
    def fingerprint(self, *, db: str | None = None) -> Fingerprint:
        """A cheap look at the scripts, the tags and database ``db``'s heads: a different
        one means something (perhaps another process) changed them."""
        return fingerprint(self.workspace, db)

    # ----------------------------------------------------------------- set-up

    @announces(scripts=True, tags=True, connections=True)
    @user_errors
    def init(self, directory: str | Path = "migrations", *, url: str | None = None,
             metadata: str | None = None, template: str | None = None) -> Note:
        """Write a new Alembic environment (``alembic init``) and connect to ``url``."""
        from . import setting_up

        return setting_up.init(self.workspace, directory, url=url, metadata=metadata,
                               template=template)

    @announces(scripts=True, tags=True, connections=True)
    @user_errors
    def attach(self, path: str | Path) -> Note:
        """Drive an existing Alembic project, found by its alembic.ini."""
        from . import setting_up

        return setting_up.attach(self.workspace, path)

    @announces(database="name", connections=True)
    @user_errors
    def connect(self, target: str, *, name: str | None = None) -> Note:
        """Connect to a URL, or to the Engine / Connection / URL held in a notebook variable."""
        from . import setting_up

        return setting_up.connect(self.workspace, target, name=name)

    def connections(self) -> ConnectionList:
        """The named connections, passwords masked."""
        from . import setting_up

        return setting_up.connections(self.workspace)

    # ------------------------------------------------------------ authoring

    @user_errors
    def diff(self, *, db: str | None = None, metadata: str | None = None,
             on_progress: TableProgress | None = None) -> Diff:
        """Model against database; nothing is written. An attached project's env.py that
        imports its own models is asked when the notebook names no model."""
        from . import authoring

        return authoring.diff(self.workspace, db=db, metadata=metadata,
                              on_progress=on_progress)

    @user_errors
    def check(self, *, db: str | None = None, metadata: str | None = None,
              on_progress: TableProgress | None = None) -> Diff:
        """Like diff, but raises DriftDetected when model and database differ."""
        from . import authoring

        return authoring.check(self.workspace, db=db, metadata=metadata,
                               on_progress=on_progress)

    @announces(scripts=True, written=RevisionCreated)
    @user_errors
    def revision(self, message: str, *, autogenerate: bool = False, rev_id: str | None = None,
                 head: str = "head", splice: bool = False, branch_label: str | None = None,
                 depends_on: str | None = None, body: str | None = None,
                 renames: Sequence[str] = (), matching: Sequence[Operation] | None = None,
                 db: str | None = None, metadata: str | None = None,
                 on_progress: TableProgress | None = None) -> RevisionCreated | Note:
        """Write a revision script: empty, autogenerated, or with ``body``'s functions.

        ``renames`` (``table.old=new``, ``old_table=new_table``) turn autogenerate's
        drop-and-add pairs into renames that keep the data. ``matching`` (a previewed
        diff's operations) writes nothing unless autogenerate finds exactly those.
        """
        from . import authoring

        return authoring.revision(
            self.workspace, message, autogenerate=autogenerate, rev_id=rev_id, head=head,
            splice=splice, branch_label=branch_label, depends_on=depends_on, body=body,
            renames=renames, matching=matching, db=db, metadata=metadata,
            on_progress=on_progress)

    @announces(scripts=True)
    @user_errors
    def merge(self, revisions: Sequence[str] = ("heads",), *, message: str | None = None,
              branch_label: str | None = None, rev_id: str | None = None) -> RevisionCreated:
        """Write a merge revision joining ``revisions`` (default: every head)."""
        from . import authoring

        return authoring.merge(self.workspace, revisions, message=message,
                               branch_label=branch_label, rev_id=rev_id)

    # ------------------------------------------------------------- applying

    @announces(database="db", written=ApplyResult, moves=True)
    @user_errors
    def upgrade(self, target: str = "heads", *, sql: bool = False, dry_run: bool = False,
                yes: bool = False, db: str | None = None, on_progress: Progress | None = None,
                previewed: Plan | None = None, lock_timeout: float | None = None,
                lock_retries: int | None = None) -> ApplyResult | SqlScript | Plan:
        """Apply revisions up to ``target`` (any Alembic target, or a tag).

        ``sql`` shows the SQL and ``dry_run`` the plan, changing nothing. A plan that
        would lose data is refused (DestructiveChange) unless ``yes`` or
        ``confirm_destructive`` is off. Each statement waits at most ``lock_timeout``
        seconds for a lock, tried again ``lock_retries`` times (None: the options').
        """
        from . import applying

        return applying.move(self.workspace, "upgrade", target, sql=sql, dry_run=dry_run,
                             yes=yes, db=db, on_progress=on_progress, previewed=previewed,
                             lock_timeout=lock_timeout, lock_retries=lock_retries)

    @announces(database="db", written=ApplyResult, moves=True)
    @user_errors
    def downgrade(self, target: str, *, sql: bool = False, dry_run: bool = False,
                  yes: bool = False, db: str | None = None, on_progress: Progress | None = None,
                  previewed: Plan | None = None, lock_timeout: float | None = None,
                  lock_retries: int | None = None) -> ApplyResult | SqlScript | Plan:
        """Revert revisions down to ``target``; the rest as for upgrade."""
        from . import applying

        return applying.move(self.workspace, "downgrade", target, sql=sql, dry_run=dry_run,
                             yes=yes, db=db, on_progress=on_progress, previewed=previewed,
                             lock_timeout=lock_timeout, lock_retries=lock_retries)

    @user_errors
    def plan(self, action: str, target: str, *, db: str | None = None) -> Plan:
        """What ``upgrade`` or ``downgrade`` to ``target`` would do, with data impact."""
        from . import applying

        return applying.plan(self.workspace, action, target, db=db)

    @announces(database="db", written=ApplyResult, moves=True)
    @user_errors
    def stamp(self, revisions: str | Sequence[str], *, sql: bool = False, purge: bool = False,
              db: str | None = None, on_progress: Progress | None = None
              ) -> ApplyResult | SqlScript:
        """Record ``revisions`` in the version table without running any migration."""
        targets = (revisions,) if isinstance(revisions, str) else tuple(revisions)
        from . import applying

        return applying.move(self.workspace, "stamp", targets, sql=sql, db=db, purge=purge,
                             on_progress=on_progress)

    # -------------------------------------------------------------- reading

    @user_errors
    def history(self, rev_range: str | None = None, *, verbose: bool = False,
                db: str | None = None) -> History:
        """Revisions newest first, marking which the database has applied."""
        from . import reading

        return reading.history(self.workspace, rev_range, verbose=verbose, db=db)

    @user_errors
    def current(self, *, db: str | None = None) -> CurrentState:
        """Which revision(s) the database is at, and what is pending."""
        from . import reading

        return reading.current(self.workspace, db=db)

    @user_errors
    def heads(self, *, db: str | None = None) -> Heads:
        """The heads of the revision graph (and which one the database is at)."""
        from . import reading

        return reading.heads(self.workspace, db=db)

    @user_errors
    def branches(self) -> Branches:
        """Branch points and the revisions that branch from them."""
        from . import reading

        return reading.branches(self.workspace)

    @user_errors
    def show(self, revision: str, *, db: str | None = None) -> RevisionDetails:
        """One revision (or ``heads``, ``current``, a branch label...) in full."""
        from . import reading

        return reading.show(self.workspace, revision, db=db)

    @user_errors
    def graph(self, *, db: str | None = None) -> RevisionGraph:
        """The revision graph: branches, merges, the database's current revision, tags."""
        from . import reading

        return reading.graph(self.workspace, db=db)

    @user_errors
    def status(self, *, metadata: str | None = None,
               on_progress: DatabaseProgress | None = None) -> Status:
        """Every named connection: reachable, current revision, pending, drift from the model."""
        from . import reading

        return reading.status(self.workspace, metadata=metadata, on_progress=on_progress)

    @announces(database="db", written=Validation)
    @user_errors
    def validate(self, *, db: str | None = None, accept: str | None = None) -> Validation:
        """Each revision database ``db`` applied, against its file now (edited since?);
        ``accept`` records a revision's file as it is now as the applied one."""
        from . import checksums

        return checksums.validate(self.workspace, db=db, accept=accept)

    @user_errors
    def log(self, *, db: str | None = None, limit: int | None = 200) -> AuditLog:
        """What nbmigrate applied to the database, newest first (the audit log)."""
        from . import reading

        return reading.log(self.workspace, db=db, limit=limit)

    @user_errors
    def lint(self, rev_range: str | None = None, *, db: str | None = None) -> LintReport:
        """Warnings for operations that lock or rewrite big tables on the database's dialect:
        the revisions not yet applied, or ``rev_range`` (START:END)."""
        from . import reading

        return reading.lint(self.workspace, rev_range, db=db)

    @user_errors
    def test(self, rev_range: str | None = None, *, db: str | None = None, keep: bool = False,
             start: str | None = None, data: bool = False, metadata: str | None = None,
             on_progress: trial.Progress | None = None) -> trial.TrialReport:
        """Try the migrations on a scratch database of the connected one's dialect (or on
        ``db``, an empty database), never touching the connected one: one head; each
        revision of ``rev_range`` upgraded, downgraded (from ``start`` up) and upgraded
        again, the downgrade leaving nothing behind; with ``data``, what each downgrade
        would lose; the model against the head. ``keep`` keeps the scratch database."""
        from . import trial

        return trial.run_trial(self.workspace, rev_range, db=db, keep=keep, start=start,
                               data=data, metadata=metadata, on_progress=on_progress)

    # ----------------------------------------------------------------- tags

    @announces(tags=True)
    @user_errors
    def tag(self, name: str, revision: str | None = None, *, db: str | None = None) -> Note:
        """Name a revision (default: the database's current one); kept in tags.json."""
        from . import tagging

        return tagging.tag(self.workspace, name, revision, db=db)

    @announces(tags=True)
    @user_errors
    def untag(self, name: str) -> Note:
        """Delete a tag."""
        from . import tagging

        return tagging.untag(self.workspace, name)

    @user_errors
    def tags(self, *, db: str | None = None) -> TagList:
        """Every tag with its revision, and whether the database has applied it."""
        from . import tagging

        return tagging.tags(self.workspace, db=db)
