"""The Workspace: what every command works on, and what commands need of it.

It holds the state (the project, found lazily; the named databases; the notebook's
namespace; the working directory; the options) and answers the questions each
command asks: open a database with its version table known, build an Environment
for env.py, find the model, resolve a target's tags, read a database if it can be
reached. Commands are functions of a Workspace; they call only what is public here.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Connection

from .advice import Command
from .connections import (
    DEFAULT,
    Database,
    Databases,
    VersionTable,
    anchored,
    engine_from_value,
    make_engine,
    parse_url,
)
from .errors import NbMigrateError
from .metadata import resolve_metadata
from .project import Project, find_project
from .secrets import redact
from .tags import load_tags
from .targets import resolve_tags

if TYPE_CHECKING:  # Alembic loads with the commands that run env.py, not with the workspace
    from alembic.script import ScriptDirectory

    from .runner import Environment

_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@dataclass
class Options:
    """Settings that hold for every command (a front end sets them from its config)."""

    metadata: str | None = None  # the model: a notebook expression or module:attr
    confirm_destructive: bool = True  # refuse upgrades/downgrades that lose data, bar --yes
    migration_wait: float = 600.0  # seconds to wait for another migration of the database
    lock_timeout: float | None = None  # seconds a statement waits for a table's lock (None:
    # 5 on PostgreSQL and MySQL/MariaDB, none on SQLite; 0: as long as the database says)
    lock_retries: int | None = None  # tries again after a lock timeout (None: 3)
    on_wait: Callable[[str], None] | None = None  # told of each wait, as it begins


class Workspace:
    """One migration project, its named databases, the notebook's namespace and options."""

    def __init__(self, *, namespace: Mapping[str, Any] | None = None,
                 workdir: str | Path | None = None, options: Options | None = None) -> None:
        self.databases = Databases()
        self.namespace = namespace
        self.workdir = Path(workdir) if workdir else None
        self.options = options or Options()
        self._project: Project | None = None

    # -------------------------------------------------------------- project

    @property
    def project(self) -> Project:
        """The migration project: set by init or attach, else ./alembic.ini."""
        if self._project is None:
            found = find_project(self.workdir or Path.cwd())
            if found is None:
                raise NbMigrateError("no migration directory yet: ", Command("init", "[DIR]"),
                                     ", or ", Command("attach", "path/to/alembic.ini"))
            self.use_project(found)
        assert self._project is not None
        return self._project

    def use_project(self, project: Project) -> None:
        """Work on ``project``; each ini section naming a database becomes a connection."""
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

    def forget_project(self) -> None:
        self._project = None

    def discover(self) -> None:
        """Load ./alembic.ini, if there is one, so that its connections exist."""
        if self._project is None:
            with contextlib.suppress(NbMigrateError):  # none yet: connect/init only
                _ = self.project

    def foreign(self) -> bool:
        """Whether the project's env.py is not nbmigrate's (a team's own, or Alembic's)."""
        return not self.project.env_is_ours()

    def path(self, path: str | Path) -> Path:
        """``path`` relative to the working directory."""
        path = Path(path).expanduser()
        return path if path.is_absolute() or self.workdir is None else self.workdir / path

    # ------------------------------------------------------------ databases

    def database(self, name: str | None = None) -> Database:
        """The named database (default: the default one)."""
        self.discover()
        return self.databases.get(name)

    def database_for(self, target: str, name: str) -> Database:
        """A Database from a URL, or from the Engine/Connection/URL a notebook variable holds."""
        target = target.strip()
        namespace = self.namespace or {}
        if _IDENTIFIER.fullmatch(target) and target in namespace:
            engine, source = engine_from_value(namespace[target], target)
            return Database(name, engine, source, owned=isinstance(namespace[target], str))
        if "://" in target or target.startswith("sqlite:"):
            url = anchored(parse_url(target), self.path(".").absolute())
            return Database(name, make_engine(url), "url")
        if _IDENTIFIER.fullmatch(target):
            raise NbMigrateError(f"{target!r} is neither a database URL nor a notebook variable")
        raise NbMigrateError(f"not a database URL: {redact(target)!r}")

    def connect(self, database: Database, *, create: bool = True) -> Connection:
        """A connection to ``database``, its version table known (to read or move heads);
        ``create=False`` to read: a database file not made yet reads as an empty database
        and is not made."""
        if not create and database.missing():
            return create_engine("sqlite://").connect()
        self.learn_version(database)
        return database.connect()

    def learn_version(self, database: Database) -> None:
        """Read, once, which version table the project's env.py uses for ``database``."""
        if database.version is not None or self._project is None:
            return
        if "version_table" not in self._project.env_source():
            database.version = VersionTable()  # it does not choose one
            return
        try:
            with database.connect() as conn, self.environment(database, connection=conn
                                                              ) as config:
                from .runner import configured_version_table

                database.version = configured_version_table(config, self._project.script)
        except Exception:  # noqa: BLE001 - an env.py that cannot run now: Alembic's default
            return  # for now; asked again next time

    def read_if_reachable(self, db: str | None, read: Callable[[Database, Connection], Any]
                          ) -> tuple[Any, str]:
        """``read(database, connection)``, or None and why when no database is connected
        or reachable (an error only when ``db`` names the database)."""
        if db is None and not len(self.databases):
            return None, "no database connected"
        database = self.database(db)
        try:
            with self.connect(database, create=False) as conn:
                return read(database, conn), ""
        except NbMigrateError as exc:
            if db is not None:
                raise
            return None, str(exc)

    def heads_if_reachable(self, db: str | None) -> tuple[tuple[str, ...] | None, str]:
        """The database's heads, or None and why it cannot be read."""
        return self.read_if_reachable(db, Database.heads)

    def environment(self, database: Database | None, *, connection: Connection | None = None,
                    metadata: MetaData | None = None, on_version_apply: Callable | None = None,
                    output_buffer: io.StringIO | None = None) -> Environment:
        """A Config that carries the connection and options into env.py."""
        from .runner import Environment

        return Environment(self.project, database, connection, metadata, on_version_apply,
                           output_buffer)

    # ---------------------------------------------------------------- model

    def model(self, spec: str | None = None) -> tuple[MetaData, str]:
        """The model's MetaData and the name it was found under: ``spec``, else the
        options' model, else the one in the namespace, else alembic.ini's."""
        spec = spec or self.options.metadata
        if spec or self.namespace is not None:
            try:
                return resolve_metadata(spec, self.namespace)
            except NbMigrateError:
                if spec or not self._ini_model():
                    raise
        named = self._ini_model()
        if not named:
            raise NbMigrateError(
                "no model given: pass --metadata module:attr "
                "(or set nbmigrate.metadata in alembic.ini)"
            )
        return resolve_metadata(named, None)

    def _ini_model(self) -> str:
        try:
            return self.project.option("nbmigrate.metadata")
        except NbMigrateError:
            return ""  # no project yet, so no ini file to name a model

    # -------------------------------------------------------------- targets

    def resolve(self, target: Any, script: ScriptDirectory) -> Any:
        """``target`` with tag names replaced by revisions (also in tuples and FROM:TO)."""
        return resolve_tags(target, load_tags(script))
