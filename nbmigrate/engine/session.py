"""The Session: one migration project, its named databases and the model."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from . import audit, autogen
from . import enums as _enums  # noqa: F401 - registers PostgreSQL enum comparison
from .applying import check_target, move
from .connections import (
    DEFAULT,
    Database,
    Databases,
    engine_from_value,
    make_engine,
    parse_url,
    short_error,
)
from .errors import NbMigrateError
from .metadata import resolve_metadata
from .plans import LintReport, Plan, build_plan
from .project import Project, attach_project, find_project, init_project
from .renames import apply as apply_renames
from .renames import diffs as rename_safe_diffs
from .renames import hints as rename_hints
from .renames import parse as parse_renames
from .renames import rows as rename_rows
from .results import (
    ApplyResult,
    AuditLog,
    Branches,
    ConnectionList,
    CurrentState,
    Diff,
    Heads,
    History,
    Note,
    Operation,
    RevisionCreated,
    RevisionDetails,
    RevisionInfo,
    SqlScript,
    Status,
    Step,
    TagList,
    heads_text,
    short,
)
from .revision_body import check_body, write_body
from .runner import Environment, preserve_logging, version_table
from .secrets import redact
from .tags import check_name, load_tags, resolve_tag, save_tags

F = TypeVar("F", bound=Callable[..., Any])
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def user_errors(method: F) -> F:
    """Turn Alembic and database errors into one NbMigrateError line, passwords masked."""

    @functools.wraps(method)
    def wrapper(self: Session, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except NbMigrateError as exc:
            raise type(exc)(redact(str(exc), self.databases.passwords())) from None
        except (CommandError, RevisionError) as exc:
            raise NbMigrateError(redact(str(exc), self.databases.passwords())) from None
        except SQLAlchemyError as exc:
            raise NbMigrateError(short_error(exc)) from None
        except AssertionError as exc:  # an Alembic internal check on a malformed target
            if exc.__traceback__ is None or "alembic" not in _last_module(exc):
                raise
            raise NbMigrateError(
                f"{method.__name__}: Alembic cannot read that revision or range"
            ) from None

    return wrapper  # type: ignore[return-value]


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

    def __init__(
        self,
        project: str | Path | None = None,
        *,
        url: str | None = None,
        metadata: str | None = None,
        namespace: Mapping[str, Any] | None = None,
        workdir: str | Path | None = None,
    ) -> None:
        self.databases = Databases()
        self.namespace = namespace
        self.metadata_spec = metadata
        self.workdir = Path(workdir) if workdir else None
        self.lock_timeout = 600.0  # seconds to wait for another migration of the same database
        self.on_wait: Callable[[str], None] | None = None  # told when that wait begins
        self.confirm_destructive = True  # refuse upgrades/downgrades that lose data, bar --yes
        self.on_progress: Callable[[Step, int, int], None] | None = None  # (step, done, total)
        self._project: Project | None = None
        if project is not None:
            self.attach(project)
        if url is not None:
            self.connect(url)

    # ----------------------------------------------------------------- set-up

    @property
    def project(self) -> Project:
        """The migration project: set by init or attach, else ./alembic.ini."""
        if self._project is None:
            found = find_project(self.workdir or Path.cwd())
            if found is None:
                raise NbMigrateError(
                    "no migration directory yet: %migrate init [DIR], "
                    "or %migrate attach path/to/alembic.ini"
                )
            self._use_project(found)
        assert self._project is not None
        return self._project

    def _use_project(self, project: Project) -> None:
        self._project = project
        for database in self.databases:
            database.version = None  # the new project's env.py may keep another table
        env_url = os.environ.get("NBMIGRATE_URL")
        for section, url in project.url_sections().items():
            name = DEFAULT if section == "alembic" else section
            if name in self.databases:
                continue  # what the user connected to wins over the ini file
            source = f"alembic.ini [{section}]"
            if section == "alembic" and env_url:
                url, source = env_url, "NBMIGRATE_URL"
            try:
                engine = make_engine(parse_url(url))
            except NbMigrateError:
                continue  # a placeholder URL in an ini section is not a database
            self.databases.add(Database(name, engine, source, section))
        if env_url and DEFAULT not in self.databases:
            self.databases.add(Database(DEFAULT, make_engine(parse_url(env_url)), "NBMIGRATE_URL"))

    @user_errors
    def init(
        self,
        directory: str | Path = "migrations",
        *,
        url: str | None = None,
        metadata: str | None = None,
        template: str | None = None,
    ) -> Note:
        """Write a new Alembic environment (``alembic init``) and connect to ``url``."""
        database = self._database_for(url, DEFAULT) if url else None
        if metadata:
            resolve_metadata(metadata, self.namespace)  # refuse a bad expression before writing
        project = init_project(
            self._path(directory), template=template,
            url=database.url if database else None, metadata_spec=metadata,
        )
        if database is not None:
            self.databases.add(database, make_default=True)
        if metadata:
            self.metadata_spec = metadata
        self._use_project(project)
        details = {"scripts": str(project.location), "config": str(project.ini),
                   "template": template or "nbmigrate"}
        if database is not None:
            details["database"] = database.masked_url
            if database.url.password:
                details["note"] = "the password is not written to alembic.ini"
        return Note(f"created an Alembic environment in {project.location}", details)

    @user_errors
    def attach(self, path: str | Path) -> Note:
        """Drive an existing Alembic project, found by its alembic.ini."""
        project = attach_project(self._path(path))
        self._project = None
        self._use_project(project)
        script = project.script
        revisions = sum(1 for _ in script.walk_revisions())
        details: dict[str, Any] = {
            "scripts": str(project.location),
            "revisions": revisions,
            "heads": heads_text(script.get_heads()),
        }
        for db in self.databases:
            details[f"connection {db.name}"] = db.masked_url
        return Note(f"attached {project.ini}", details)

    @user_errors
    def connect(self, target: str, *, name: str | None = None) -> Note:
        """Connect to a URL, or to the Engine / Connection / URL held in a notebook variable."""
        name = name or DEFAULT
        database = self._database_for(target, name)
        try:
            with database.engine.connect():
                pass
        except SQLAlchemyError as exc:
            if database.owned:
                database.engine.dispose()
            raise NbMigrateError(
                f"cannot connect to {database.masked_url}: {short_error(exc, database.url)}"
            ) from None
        self.databases.add(database, make_default=name == DEFAULT)
        return Note(f"connected {name}: {database.masked_url} ({database.dialect})")

    def _database_for(self, target: str, name: str) -> Database:
        target = target.strip()
        namespace = self.namespace or {}
        if _IDENTIFIER.fullmatch(target) and target in namespace:
            engine, source = engine_from_value(namespace[target], target)
            return Database(name, engine, source, owned=isinstance(namespace[target], str))
        if "://" in target or target.startswith("sqlite:"):
            return Database(name, make_engine(parse_url(target)), "url")
        if _IDENTIFIER.fullmatch(target):
            raise NbMigrateError(f"{target!r} is neither a database URL nor a notebook variable")
        raise NbMigrateError(f"not a database URL: {redact(target)!r}")

    def _discover(self) -> None:
        """Load ./alembic.ini, if there is one, so that its connections exist."""
        if self._project is None:
            with contextlib.suppress(NbMigrateError):  # none yet: connect/init only
                _ = self.project

    def _database(self, name: str | None = None) -> Database:
        self._discover()
        return self.databases.get(name)

    def _connect(self, database: Database) -> Connection:
        """A connection to ``database``, its version table known (to read or move heads)."""
        self._learn_version(database)
        return database.connect()

    def _learn_version(self, database: Database) -> None:
        """Read, once, which version table the project's env.py uses for ``database``
        (before reading or moving its heads)."""
        if database.version is not None or self._project is None:
            return
        env_py = self._project.location / "env.py"
        if env_py.is_file() and "version_table" not in env_py.read_text(encoding="utf-8"):
            database.version = ("alembic_version", None)  # it does not choose one
            return
        try:
            with database.connect() as conn, self._environment(database, connection=conn
                                                               ) as config:
                database.version = version_table(config, self._project.script)
        except Exception:  # noqa: BLE001 - an env.py that cannot run now: Alembic's default
            return  # for now; asked again next time

    def connections(self) -> ConnectionList:
        """The named connections, passwords masked."""
        self._discover()
        return ConnectionList([
            (db.name, db.dialect, db.masked_url, db.name == self.databases.default_name, db.source)
            for db in self.databases
        ])

    def _path(self, path: str | Path) -> Path:
        path = Path(path).expanduser()
        return path if path.is_absolute() or self.workdir is None else self.workdir / path

    # ---------------------------------------------------------------- model

    def metadata(self) -> tuple[MetaData, str]:
        """The model's MetaData and the name it was found under."""
        if self.metadata_spec or self.namespace is not None:
            try:
                return resolve_metadata(self.metadata_spec, self.namespace)
            except NbMigrateError:
                if self.metadata_spec or not self._ini_metadata():
                    raise
        spec = self._ini_metadata()
        if not spec:
            raise NbMigrateError(
                "no model given: pass --metadata module:attr "
                "(or set nbmigrate.metadata in alembic.ini)"
            )
        return resolve_metadata(spec, None)

    def _ini_metadata(self) -> str:
        try:
            return self.project.option("nbmigrate.metadata")
        except NbMigrateError:
            return ""  # no project yet, so no ini file to name a model

    # ------------------------------------------------------------ authoring

    @user_errors
    def diff(self, *, db: str | None = None) -> Diff:
        """Model against database; nothing is written. An attached project's env.py that
        imports its own models is asked when the notebook names no model."""
        try:
            metadata, label = self.metadata()
        except NbMigrateError:
            try:
                foreign = self._foreign()
            except NbMigrateError:  # no project either: the missing model is the news
                foreign = False
            if not foreign:
                raise
            from .env_diff import diff_through_env

            database = self._database(db)
            with self._environment(database) as config:
                return diff_through_env(config, self.project.script, database)
        database = self._database(db)
        with database.connect() as conn:
            ops, code, hints, migration_ops = autogen.compare(conn, metadata)
            dialect = conn.dialect
        return Diff(ops, code, label, database.name, hints, migration_ops, dialect)

    @user_errors
    def check(self, *, db: str | None = None) -> Diff:
        """Like diff, but raises DriftDetected when model and database differ."""
        from .errors import DriftDetected

        result = self.diff(db=db)
        if not result.empty:
            raise DriftDetected(
                f"model {result.model} and {result.database} differ: {result.summary()} "
                "(%migrate diff shows them; %migrate revision --autogenerate -m MSG writes them)"
            )
        return result

    @user_errors
    def revision(
        self,
        message: str,
        *,
        autogenerate: bool = False,
        rev_id: str | None = None,
        head: str = "head",
        splice: bool = False,
        branch_label: str | None = None,
        depends_on: str | None = None,
        body: str | None = None,
        renames: Sequence[str] = (),
        matching: Sequence[Operation] | None = None,
        db: str | None = None,
    ) -> RevisionCreated | Note:
        """Write a revision script: empty, autogenerated, or with ``body``'s functions.

        ``renames`` (``table.old=new``, ``old_table=new_table``) turn autogenerate's
        drop-and-add pairs into renames that keep the data. ``matching`` (a previewed
        diff's operations) writes nothing unless autogenerate finds exactly those.
        """
        if autogenerate and body is not None:
            raise NbMigrateError("a cell body and --autogenerate cannot be used together")
        wanted = parse_renames(list(renames))
        if wanted and not autogenerate:
            raise NbMigrateError("--rename rewrites what autogenerate finds: add --autogenerate")
        if body is not None:
            check_body(body)
        if rev_id is not None and not re.fullmatch(r"[\w\-]+", rev_id):
            raise NbMigrateError(f"--rev-id {rev_id!r}: use letters, digits, - and _ only")
        project = self.project
        _refuse_reuse(project.script, rev_id, branch_label)
        config_kw: dict[str, Any] = {}
        captured: dict[str, Any] = {}
        label = None
        database = None
        if autogenerate:
            database = self._database(db)
            try:
                metadata, label = self.metadata()
            except NbMigrateError:
                if project.written_by_nbmigrate:
                    raise
                metadata = None  # the project's own env.py imports its models
            config_kw["metadata"] = metadata

            def keep_if_changed(context: Any, revision: Any, directives: list) -> None:
                for script in directives:
                    autogen.drop_own_tables(script)
                    apply_renames(script, wanted)
                    captured.setdefault("hints", []).extend(rename_hints(script.upgrade_ops))
                ops = [op for s in directives for op in s.upgrade_ops_list]
                captured["operations"] = autogen.operations(
                    [d for op in ops for d in rename_safe_diffs(op)]
                ) + [row for op in ops for row in rename_rows(op)]
                # an attached project's env.py chooses its own compare options, so its
                # result may differ from diff()'s without anything having changed
                if (matching is not None and not self._foreign()
                        and list(matching) != captured["operations"]):
                    raise NbMigrateError(
                        "the model or the database changed since the preview: nothing "
                        "written; autogenerate again to see what would be written now"
                    )
                if all(op.is_empty() for op in ops):
                    directives[:] = []  # Alembic would write an empty script

            kwargs: dict[str, Any] = {"process_revision_directives": keep_if_changed}
        else:
            kwargs = {}
        with self._environment(database, **config_kw) as config, \
                _remove_new_files_on_error(project.script), \
                preserve_logging() if self._foreign() else contextlib.nullcontext(), \
                autogen.gc_paused() if autogenerate else contextlib.nullcontext():
            if autogenerate:  # reuse the last diff's reflection (an attached env.py ignores it)
                from .reflection import configure_options

                config.attributes["nbmigrate.configure"].update(configure_options())
            try:
                created = command.revision(
                    config, message, autogenerate=autogenerate, head=head, splice=splice,
                    branch_label=branch_label, rev_id=rev_id, depends_on=depends_on, **kwargs,
                )
            except CommandError as exc:
                if "not up to date" in str(exc):
                    raise NbMigrateError(
                        f"{database.name if database else 'the database'} is not at head: "
                        "run %migrate upgrade heads before autogenerating"
                    ) from None
                raise
        project.invalidate()
        if not created:
            return Note(
                f"no changes: model {label or ''} and {database.name if database else ''} "
                "match; no revision written".replace("  ", " ")
            )
        assert not isinstance(created, list)
        if body is not None:
            write_body(Path(created.path), body)
        info = RevisionInfo.from_script(project.script.get_revision(created.revision))
        return RevisionCreated(info, captured.get("operations", []), label,
                               captured.get("hints", []))

    @user_errors
    def merge(
        self,
        revisions: Sequence[str] = ("heads",),
        *,
        message: str | None = None,
        branch_label: str | None = None,
        rev_id: str | None = None,
    ) -> RevisionCreated:
        """Write a merge revision joining ``revisions`` (default: every head)."""
        project = self.project
        revisions = list(revisions) or ["heads"]
        if revisions == ["heads"] and len(project.script.get_heads()) < 2:
            raise NbMigrateError("nothing to merge: the history has a single head")
        with self._environment(None) as config:
            created = command.merge(
                config, revisions, message=message, branch_label=branch_label, rev_id=rev_id
            )
        project.invalidate()
        merged = project.script.get_revision(created.revision)
        return RevisionCreated(RevisionInfo.from_script(merged))

    # ------------------------------------------------------------- applying

    @user_errors
    def upgrade(self, target: str = "heads", *, sql: bool = False, dry_run: bool = False,
                yes: bool = False, db: str | None = None) -> ApplyResult | SqlScript | Plan:
        """Apply revisions up to ``target`` (any Alembic target, or a tag).

        ``sql`` shows the SQL and ``dry_run`` the plan, changing nothing. A plan that
        would lose data is refused (DestructiveChange) unless ``yes`` or
        ``confirm_destructive`` is off.
        """
        return move(self, "upgrade", target, sql=sql, dry_run=dry_run, yes=yes, db=db)

    @user_errors
    def downgrade(self, target: str, *, sql: bool = False, dry_run: bool = False,
                  yes: bool = False, db: str | None = None) -> ApplyResult | SqlScript | Plan:
        """Revert revisions down to ``target``; ``sql``, ``dry_run`` and ``yes`` as for upgrade."""
        return move(self, "downgrade", target, sql=sql, dry_run=dry_run, yes=yes, db=db)

    @user_errors
    def plan(self, action: str, target: str, *, db: str | None = None) -> Plan:
        """What ``upgrade`` or ``downgrade`` to ``target`` would do, with data impact."""
        if action not in ("upgrade", "downgrade"):
            raise NbMigrateError(f"a plan is for upgrade or downgrade, not {action!r}")
        return move(self, action, target, sql=False, dry_run=True, yes=False, db=db)

    @user_errors
    def stamp(self, revisions: str | Sequence[str], *, sql: bool = False, purge: bool = False,
              db: str | None = None) -> ApplyResult | SqlScript:
        """Record ``revisions`` in the version table without running any migration."""
        targets = [revisions] if isinstance(revisions, str) else list(revisions)
        return move(self, "stamp", tuple(targets), sql=sql, db=db, purge=purge)

    @user_errors
    def lint(self, rev_range: str | None = None, *, db: str | None = None) -> LintReport:
        """Warnings for operations that lock or rewrite big tables on the database's dialect:
        the revisions not yet applied, or ``rev_range`` (START:END)."""
        from alembic.runtime.migration import RevisionStep

        script = self.project.script
        database = self._database(db)
        if rev_range is None:
            plan = self.plan("upgrade", "heads", db=db)
            return LintReport(plan, database.dialect)
        if ":" not in rev_range:
            raise NbMigrateError(f"lint range {rev_range!r}: use START:END, START: or :END")
        low, high = (self._resolve_tags(part.strip()) or None for part in rev_range.split(":", 1))
        revisions = list(script.walk_revisions(base=low or "base", head=high or "heads"))
        steps = [RevisionStep(script.revision_map, sc, True) for sc in reversed(revisions)]
        with database.connect() as conn:
            try:
                plan = build_plan("upgrade", database.name, rev_range, (), steps, conn,
                                  with_sql=False, linting=True)
            finally:
                conn.rollback()
        return LintReport(plan, database.dialect)

    @user_errors
    def status(self) -> Status:
        """Every named connection: reachable, current revision, pending, drift from the model."""
        self._discover()
        script = self.project.script
        heads = heads_text(script.get_heads())
        try:
            metadata, label = self.metadata()
        except NbMigrateError:
            metadata, label = None, ""
        rows = []
        for db in self.databases:
            try:
                self._learn_version(db)
                with db.engine.connect() as conn:
                    current = db.heads(conn)
                    drift = None if metadata is None else len(autogen.compare(conn, metadata)[0])
            except SQLAlchemyError as exc:  # a row that says why, never a traceback
                rows.append((db.name, db.dialect, db.masked_url, False, None, heads, None, None,
                             short_error(exc, db.url)))
                continue
            applied = self.project.applied(tuple(h for h in current if _known(script, h)))
            pending = sum(1 for rev in self.project.revisions() if rev not in applied)
            note = f"model {label}" if metadata is not None else "no model to compare"
            rows.append((db.name, db.dialect, db.masked_url, True, heads_text(current), heads,
                         pending, drift, note))
        return Status(rows)

    @user_errors
    def log(self, *, db: str | None = None, limit: int | None = 200) -> AuditLog:
        """What nbmigrate applied to the database, newest first (the audit log)."""
        database = self._database(db)
        with database.connect() as conn:
            rows = audit.read_log(conn, limit)
        return AuditLog(database.name, rows, audit.COLUMNS)

    def _foreign(self) -> bool:
        return not self.project.written_by_nbmigrate

    # -------------------------------------------------------------- reading

    @user_errors
    def history(self, rev_range: str | None = None, *, verbose: bool = False,
                db: str | None = None) -> History:
        """Revisions newest first, marking which the database has applied."""
        script = self.project.script
        read, note = self._read_if_reachable(
            db, lambda database, conn: (database.heads(conn), audit.applied_at(conn)))
        current, applied_at = read or (None, {})  # one connection for both
        base = head = None
        if rev_range:
            if ":" not in rev_range:
                raise NbMigrateError(
                    f"history range {rev_range!r}: use START:END, START: or :END"
                )
            base, head = (self._resolve_tags(part.strip()) or None
                          for part in rev_range.split(":", 1))
            if "current" in (base, head) and current is None:
                raise NbMigrateError("'current' in a range needs a connected database")
        pairs = [(base, head)]
        if current and "current" in (base, head):  # one walk per current head, as alembic does
            pairs = [(h if base == "current" else base, h if head == "current" else head)
                     for h in current]
        elif "current" in (base, head):
            pairs = [(None if base == "current" else base, "base" if head == "current" else head)]
        seen: dict[str, RevisionInfo] = {}
        for low, high in pairs:
            for sc in script.walk_revisions(base=low or "base", head=high or "heads"):
                seen.setdefault(sc.revision, self.project.info(sc.revision))
        revisions = list(seen.values())
        applied = None if current is None else self.project.applied(current)
        return History(revisions, self.databases.default_name if db is None else db,
                       current or (), applied, verbose, unreachable=note,
                       applied_at=applied_at)

    def _heads_if_reachable(self, db: str | None) -> tuple[tuple[str, ...] | None, str]:
        return self._read_if_reachable(db, Database.heads)

    def _read_if_reachable(self, db: str | None, read: Callable[[Database, Connection], Any]
                           ) -> tuple[Any, str]:
        """``read(database, connection)``, or None and why when no database is connected
        or reachable (an error only when ``db`` names the database)."""
        if db is None and not len(self.databases):
            return None, "no database connected"
        database = self._database(db)
        try:
            with self._connect(database) as conn:
                return read(database, conn), ""
        except NbMigrateError as exc:
            if db is not None:
                raise
            return None, str(exc)

    @user_errors
    def current(self, *, db: str | None = None) -> CurrentState:
        """Which revision(s) the database is at, and what is pending."""
        script = self.project.script
        database = self._database(db)
        with self._connect(database) as conn:
            heads = database.heads(conn)
        known = [h for h in heads if _known(script, h)]
        unknown = tuple(h for h in heads if h not in known)
        applied = self.project.applied(tuple(known))
        pending = tuple(rev for rev in self.project.revisions() if rev not in applied)
        return CurrentState(
            database.name, database.masked_url,
            tuple(self.project.info(h) for h in known),
            tuple(script.get_heads()), pending, unknown,
        )

    @user_errors
    def heads(self, *, db: str | None = None) -> Heads:
        """The heads of the revision graph (and which one the database is at)."""
        script = self.project.script
        current, _ = self._heads_if_reachable(db)
        return Heads([self.project.info(h)
                      for h in script.get_heads()], current)

    @user_errors
    def branches(self) -> Branches:
        """Branch points and the revisions that branch from them."""
        script = self.project.script
        return Branches([
            (RevisionInfo.from_script(sc),
             [RevisionInfo.from_script(script.get_revision(n)) for n in sorted(sc.nextrev)])
            for sc in script.walk_revisions() if sc.is_branch_point
        ])

    @user_errors
    def show(self, revision: str, *, db: str | None = None) -> RevisionDetails:
        """One revision (or ``heads``, ``current``, a branch label...) in full."""
        script = self.project.script
        check_target(revision, "show")
        ids: Iterable[str] = [self._resolve_tags(revision)]
        if revision == "current":
            current, note = self._heads_if_reachable(db)
            if current is None:
                raise NbMigrateError(f"'current' needs a reachable database: {note}")
            ids = current
        found = [sc for rev in ids for sc in script.get_revisions(rev) if sc is not None]
        if not found:
            raise NbMigrateError(f"no revision {revision!r} in {self.project.location}")
        return RevisionDetails([RevisionInfo.from_script(sc) for sc in found])

    @user_errors
    def graph(self, *, db: str | None = None) -> Any:
        """The revision graph: branches, merges, the database's current revision, tags."""
        from .graph import build_graph

        script = self.project.script
        current, note = self._heads_if_reachable(db)
        return build_graph(script, current=current, tags=load_tags(script), note=note)

    # ----------------------------------------------------------------- tags

    @user_errors
    def tag(self, name: str, revision: str | None = None, *, db: str | None = None) -> Note:
        """Name a revision (default: the database's current one); kept in tags.json."""
        script = self.project.script
        tags = load_tags(script)
        if name in tags:
            raise NbMigrateError(
                f"tag {name!r} already names {short(tags[name])}: %migrate tag --delete {name}"
            )
        check_name(script, name)
        if revision is not None:
            check_target(revision, "tag")
        if revision is None:
            database = self._database(db)
            with self._connect(database) as conn:
                current = database.heads(conn)
            if len(current) != 1:
                raise NbMigrateError(
                    f"the database is at {heads_text(current)}: give the revision to tag"
                )
            revision = current[0]
        found = [sc for sc in script.get_revisions(resolve_tag(revision, tags)) if sc]
        if len(found) != 1:
            raise NbMigrateError(f"tag {name!r}: {revision!r} is not one revision")
        tags[name] = found[0].revision
        save_tags(script, tags)
        return Note(f"tagged {found[0].revision} ({found[0].doc}) as {name}",
                    {"file": str(Path(script.dir) / "tags.json")})

    @user_errors
    def untag(self, name: str) -> Note:
        """Delete a tag."""
        script = self.project.script
        tags = load_tags(script)
        if name not in tags:
            known = ", ".join(sorted(tags)) or "none"
            raise NbMigrateError(f"no tag {name!r} (tags: {known})")
        revision = tags.pop(name)
        save_tags(script, tags)
        return Note(f"deleted tag {name} (it named {short(revision)})")

    @user_errors
    def tags(self, *, db: str | None = None) -> TagList:
        """Every tag with its revision, and whether the database has applied it."""
        script = self.project.script
        current, _ = self._heads_if_reachable(db)
        named = [(name, self.project.info(rev))
                 for name, rev in sorted(load_tags(script).items())]
        return TagList(named, None if current is None else self.project.applied(current))

    def _resolve_tags(self, target: Any) -> Any:
        """Targets with tag names replaced by revisions (also in tuples and FROM:TO)."""
        tags = load_tags(self.project.script)
        if not tags or target is None:
            return target
        if isinstance(target, tuple):
            return tuple(resolve_tag(t, tags) for t in target)
        if ":" in target:
            return ":".join(resolve_tag(part, tags) for part in target.split(":", 1))
        return resolve_tag(target, tags)

    # ------------------------------------------------------------- plumbing

    def _environment(self, database: Database | None, *, connection: Connection | None = None,
                     metadata: MetaData | None = None, on_version_apply: Callable | None = None,
                     output_buffer: io.StringIO | None = None) -> Environment:
        return Environment(self.project, database, connection, metadata, on_version_apply,
                            output_buffer)


def _known(script: Any, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (RevisionError, CommandError):
        return False


def _refuse_reuse(script: Any, rev_id: str | None, branch_label: str | None) -> None:
    """A re-run revision cell must not overwrite its script or reuse a label."""
    existing = script.get_revision(rev_id) if rev_id and _known(script, rev_id) else None
    if existing is not None and existing.revision == rev_id:
        raise NbMigrateError(
            f"revision {rev_id} already exists ({existing.path}): "
            "nothing written; give another --rev-id, or edit that script"
        )
    if branch_label is not None and not re.fullmatch(r"[\w.\-]+", branch_label):
        raise NbMigrateError(f"--branch-label {branch_label!r}: use letters, digits, ., - "
                             "and _ only")
    labels = {label for sc in script.walk_revisions() for label in sc.branch_labels}
    if branch_label is not None and branch_label in labels:
        raise NbMigrateError(f"branch label {branch_label!r} is already used: nothing written")


def _version_files(script: Any) -> set[Path]:
    return {p for loc in (script.version_locations or [script.versions])
            for p in Path(loc).rglob("*.py")}


@contextlib.contextmanager
def _remove_new_files_on_error(script: Any):
    """If writing a revision fails half-way, leave no new script behind."""
    before = _version_files(script)
    try:
        yield
    except BaseException:
        for path in _version_files(script) - before:
            path.unlink()
        raise
