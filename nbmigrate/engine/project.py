"""An Alembic environment on disk: alembic.ini, env.py and the revision scripts."""

from __future__ import annotations

import argparse
import configparser
import contextlib
import io
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .advice import Command
from .errors import NbMigrateError
from .results import RevisionInfo
from .script_checks import (
    command_under_way,
    import_failure,
    one_line,
    refuse_duplicates,
    refuse_odd_identifiers,
)

if TYPE_CHECKING:  # Alembic and SQLAlchemy are imported where used: not by cached reads
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import URL

NBMIGRATE_TEMPLATE = Path(__file__).parent / "templates" / "nbmigrate"
ALEMBIC_TEMPLATES = ("generic", "async", "multidb", "pyproject", "pyproject_async")


def quiet_config(ini: Path, toml: Path | None = None, section: str = "alembic", **kw) -> Config:
    """An Alembic Config that writes nothing to the notebook's stdout."""
    from alembic.config import Config

    return Config(
        file_=str(ini),
        toml_file=str(toml) if toml else None,
        ini_section=section,
        stdout=io.StringIO(),
        cmd_opts=argparse.Namespace(quiet=True, x=None),
        **kw,
    )


class Project:
    """An Alembic project found by its alembic.ini (and pyproject.toml, when it has one)."""

    def __init__(self, ini: Path, toml: Path | None = None) -> None:
        self.ini = ini.resolve()
        self.toml = toml.resolve() if toml else None
        self._script: ScriptDirectory | None = None
        self._signature: tuple | None = None
        self._infos: dict[str, Any] = {}  # revision -> RevisionInfo, for this parse
        self._ancestry: dict[tuple[str, ...], frozenset[str]] = {}
        self._walk: tuple[str, ...] | None = None
        self._env_source: str | None = None
        self._checked_in: object | None = None  # the command that last checked the disk

    def __repr__(self) -> str:
        return f"Project({str(self.ini)!r})"

    def config(self, section: str = "alembic", **kw) -> Config:
        return quiet_config(self.ini, self.toml, section, **kw)

    @property
    def location(self) -> Path:
        return Path(self.script.dir)

    def ini_file(self) -> configparser.ConfigParser:
        """alembic.ini read as Alembic reads it (``%(here)s`` is its folder), without
        importing Alembic."""
        parser = configparser.ConfigParser({"here": self.ini.parent.as_posix()})
        parser.read([self.ini], encoding="locale")
        return parser

    @property
    def script(self) -> ScriptDirectory:
        """The parsed scripts, re-read only when a version file or the config changed
        (looked at once per command: see ``one_reading``)."""
        reading = command_under_way()
        if self._script is not None and (
                (reading is not None and self._checked_in is reading)
                or self._signature == self._disk_signature(self._script)):
            self._checked_in = reading
            return self._script
        from alembic.script import ScriptDirectory
        from alembic.util import CommandError

        try:
            script = ScriptDirectory.from_config(self.config())
        except (CommandError, configparser.Error, KeyError, ValueError, ImportError) as exc:
            raise NbMigrateError(f"cannot read the Alembic project {self.ini}: "
                                 f"{one_line(exc)}") from None
        try:
            signature = self._disk_signature(script)
            with warnings.catch_warnings(record=True) as warned:
                warnings.simplefilter("always")
                _ = script.revision_map.heads  # parse every revision now: errors surface here
            refuse_duplicates(script, warned)
            refuse_odd_identifiers(script)
        except (CommandError, configparser.Error, KeyError) as exc:
            raise NbMigrateError(f"cannot read the Alembic project {self.ini}: "
                                 f"{one_line(exc)}") from None
        except SyntaxError as exc:
            raise NbMigrateError(
                f"revision script {exc.filename} has a syntax error at line {exc.lineno}: {exc.msg}"
            ) from None
        except NbMigrateError:
            raise
        except OSError as exc:
            raise NbMigrateError(f"cannot read the revision scripts: {exc.filename}: "
                                 f"{exc.strerror or exc}") from None
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a script that fails as it is imported
            raise NbMigrateError(import_failure(exc, script.dir)) from None
        self._script, self._signature, self._checked_in = script, signature, reading
        self._infos, self._ancestry, self._walk, self._env_source = {}, {}, None, None
        return script

    def revisions(self) -> tuple[str, ...]:
        """Every revision id, newest first (Alembic's walk order), once per parse."""
        script = self._script or self.script
        if self._walk is None:
            self._walk = tuple(sc.revision for sc in script.walk_revisions())
        return self._walk

    def heads(self) -> tuple[str, ...]:
        """The heads of the revision graph, in Alembic's order, as last read."""
        return tuple((self._script or self.script).get_heads())

    def info(self, revision: str) -> Any:
        """The RevisionInfo of a revision, built once per parse of the scripts.

        Uses the scripts as last read: the command asked for ``script`` first.
        """
        script = self._script or self.script
        if revision not in self._infos:
            self._infos[revision] = RevisionInfo.from_script(script.get_revision(revision))
        return self._infos[revision]

    def signature(self) -> str:
        """A short fingerprint of the config and every revision file as last read: a new,
        removed or edited file changes it."""
        import hashlib

        if self._script is None:
            _ = self.script
        return hashlib.sha1(repr(self._signature).encode()).hexdigest()[:12]

    def pending(self, heads: tuple[str, ...]) -> tuple[str, ...]:
        """The revisions a database at ``heads`` has not applied, newest first."""
        applied = self.applied(heads)
        return tuple(rev for rev in self.revisions() if rev not in applied)

    def env_source(self) -> str:
        """The text of env.py ("" if there is none), read once per parse of the scripts."""
        folder = self.scripts_folder()
        if self._env_source is None:
            env = folder / "env.py"
            self._env_source = env.read_text(encoding="utf-8") if env.is_file() else ""
        return self._env_source

    def scripts_folder(self) -> Path:
        """The folder of env.py and the scripts (Alembic's script_location), as last read."""
        return Path((self._script or self.script).dir)

    def env_is_ours(self) -> bool:
        """Whether env.py is nbmigrate's own template (it takes nbmigrate's options), rather
        than a project's or Alembic's."""
        return "nbmigrate.configure" in self.env_source()

    def applied(self, heads: tuple[str, ...]) -> frozenset[str]:
        """Every revision at or below ``heads``: what a database at ``heads`` has applied."""
        script = self._script or self.script
        key = tuple(sorted(heads))
        if key not in self._ancestry:
            self._ancestry[key] = frozenset(
                r.revision for r in script.revision_map.iterate_revisions(key, "base",
                                                                          inclusive=True)
                if r is not None
            ) if key else frozenset()
        return self._ancestry[key]

    def _disk_signature(self, script: ScriptDirectory) -> tuple:
        """Size and mtime of the config and of every version file: any edit changes it."""
        stamps: list[tuple[str, int, int]] = []
        for path in (self.ini, self.toml):
            if path is not None and path.is_file():
                st = path.stat()
                stamps.append((str(path), st.st_mtime_ns, st.st_size))
        folders = [str(p) for p in script.version_locations or [script.versions]]
        while folders:
            folder = folders.pop()
            try:
                entries = list(os.scandir(folder))
            except FileNotFoundError:
                continue
            st = os.stat(folder)
            stamps.append((folder, st.st_mtime_ns, 0))
            for entry in entries:
                if entry.name.endswith(".py") and entry.is_file():
                    st = entry.stat()
                    stamps.append((entry.path, st.st_mtime_ns, st.st_size))
                elif script.recursive_version_locations and entry.is_dir():
                    folders.append(entry.path)
        return tuple(stamps)

    def invalidate(self) -> None:
        """Forget the parsed scripts (after nbmigrate itself wrote one)."""
        self._script = self._signature = self._env_source = None

    def url_sections(self) -> dict[str, str]:
        """Each ini section that names a database, with its (unmasked) sqlalchemy.url."""
        parser = self.ini_file()
        found = {}
        for section in parser.sections():
            try:
                url = parser.get(section, "sqlalchemy.url", fallback="").strip()
            except configparser.Error:
                continue
            if url and "driver://" not in url:
                found[section] = url
        return found

    def option(self, name: str, section: str = "alembic") -> str:
        """An option of alembic.ini, "" when it is not there."""
        parser = self.ini_file()
        try:
            return parser.get(section, name, fallback="").strip() \
                if parser.has_section(section) else ""
        except configparser.Error as exc:
            raise NbMigrateError(f"{self.ini}: [{section}] {name}: {one_line(exc)}") from None


def ini_path(path: str | Path) -> Path:
    """The alembic.ini that ``path`` names: the file, or the one in the folder."""
    path = Path(path).expanduser()
    return path / "alembic.ini" if path.is_dir() else path


def unread_project(ini: Path) -> Project:
    """The project of ``ini`` (and of its pyproject.toml, when that has a [tool.alembic]
    section), its scripts not read yet."""
    toml = ini.parent / "pyproject.toml"
    has_toml = toml.is_file() and "[tool.alembic]" in toml.read_text(encoding="utf-8")
    return Project(ini, toml if has_toml else None)


def find_project(directory: Path) -> Project | None:
    """The project whose alembic.ini is in ``directory``, if there is one."""
    ini = directory / "alembic.ini"
    return attach_project(ini) if ini.is_file() else None


def attach_project(path: str | Path) -> Project:
    """The existing project at ``path`` (its alembic.ini or the folder holding it)."""
    ini = ini_path(path)
    if not ini.is_file():
        raise NbMigrateError(f"no alembic.ini at {Path(path).expanduser()}")
    project = unread_project(ini)
    try:
        has_location = project.option("script_location") or project.toml is not None
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise NbMigrateError(f"{ini} is not a readable ini file: {one_line(exc)}") from None
    if not has_location:
        raise NbMigrateError(f"{ini} has no script_location in [alembic]: not an Alembic project")
    project.script  # noqa: B018 - fail now, in one line, if the scripts do not load
    return project


def resolve_template(name: str | None) -> Path:
    """The template directory for ``--template``: nbmigrate's, Alembic's, or a path."""
    if not name or name == "nbmigrate":
        return NBMIGRATE_TEMPLATE
    if name in ALEMBIC_TEMPLATES:
        from alembic.config import Config

        return Path(Config().get_template_directory()) / name
    path = Path(name).expanduser()
    if path.is_dir() and (path / "env.py").is_file() and (path / "script.py.mako").is_file():
        return path.resolve()
    choices = ", ".join(("nbmigrate",) + ALEMBIC_TEMPLATES)
    raise NbMigrateError(
        f"unknown template {name!r}: use one of {choices}, "
        "or a directory holding env.py and script.py.mako"
    )


def made_before(directory: str | Path, *, template: str | None = None, url: URL | None = None,
                metadata_spec: str | None = None) -> Project | None:
    """The environment an earlier ``init`` with these options wrote at ``directory`` (a
    notebook run again), or None when there is none; one line saying what differs when
    one is there with other options."""
    from .secrets import without_passwords

    target = Path(directory).expanduser().absolute()
    ini = target.parent / "alembic.ini"
    if not (ini.is_file() and (target / "env.py").is_file()):
        return None
    project = attach_project(ini)
    if project.location.resolve() != target.resolve():
        return None  # another project's alembic.ini: init_project says so
    differs = []
    written = _written_url(project.option("sqlalchemy.url"), ini.parent)
    asked = without_passwords(url) if url is not None else None
    if written != asked:
        shown, wanted = (u.render_as_string() if u is not None else "none"
                         for u in (written, asked))
        differs.append(f"its database is {shown}, not {wanted}")
    spec = metadata_spec if metadata_spec and ":" in metadata_spec else ""
    if spec and project.option("nbmigrate.metadata") != spec:
        differs.append(f"its model is {project.option('nbmigrate.metadata') or 'not set'}, "
                       f"not {spec}")
    made_with = _template_of(target)
    if made_with is not None and made_with != (template or "nbmigrate"):
        differs.append(f"it was made with the {made_with} template, not "
                       f"{template or 'nbmigrate'}")
    if differs:
        raise NbMigrateError(f"{target} already holds an Alembic environment, but "
                             f"{'; '.join(differs)}: nothing changed; use ",
                             Command("attach", str(ini)), " to drive it as it is, or init "
                             "another directory")
    return project


def _written_url(text: str, here: Path) -> URL | None:
    """The URL alembic.ini holds, as a URL a connection would use (None if none)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from .connections import anchored

    if not text or "driver://" in text:  # the templates' placeholder: no database
        return None
    try:
        return anchored(make_url(text), here)
    except (ArgumentError, ValueError):
        return None


def _template_of(target: Path) -> str | None:
    """The template whose env.py ``target`` still holds unchanged (None once edited)."""
    env = (target / "env.py").read_bytes()
    for name in ("nbmigrate", *ALEMBIC_TEMPLATES):
        source = resolve_template(name) / "env.py"
        if source.is_file() and source.read_bytes() == env:
            return name
    return None


def init_project(
    directory: str | Path,
    *,
    template: str | None = None,
    url: URL | None = None,
    metadata_spec: str | None = None,
) -> Project:
    """Write a new Alembic environment: ``directory`` plus an alembic.ini beside it."""
    target = Path(directory).expanduser().absolute()
    ini = target.parent / "alembic.ini"
    if "%" in str(target.parent):
        raise NbMigrateError(
            f"cannot init in {target.parent}: Alembic reads a '%' in alembic.ini's folder "
            "as interpolation, so no Alembic tool could read the project there; use a "
            "folder whose path has no '%'")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise NbMigrateError(f"{target} already exists: init writes only into a new directory")
    if ini.exists():
        raise NbMigrateError(f"{ini} already exists: use ", Command("attach", str(ini)),
                             " to drive that project")
    template_dir = resolve_template(template)
    has_toml = (template_dir / "pyproject.toml.mako").is_file()
    toml = target.parent / "pyproject.toml" if has_toml else None
    if toml is not None and toml.is_file() and "[tool.alembic]" in toml.read_text("utf-8"):
        raise NbMigrateError(f"{toml} already has a [tool.alembic] section")
    from alembic import command
    from alembic.util import CommandError

    config = quiet_config(ini, toml)
    try:
        # Alembic's init reports each file it copies on stdout, whatever cmd_opts say
        with contextlib.redirect_stdout(io.StringIO()):
            command.init(config, str(target), template=str(template_dir))
    except (CommandError, OSError) as exc:
        raise NbMigrateError(f"init failed: {exc}") from None
    for written in (ini, toml):  # relocatable: the scripts sit beside the config
        if written is not None and written.is_file():
            text = written.read_text(encoding="utf-8")
            written.write_text(text.replace(target.as_posix(), f"%(here)s/{target.name}"),
                               encoding="utf-8")
    if url is not None:
        set_ini_option(ini, "alembic", "sqlalchemy.url", ini_url(url, ini.parent), raw=True)
    if metadata_spec and ":" in metadata_spec:
        set_ini_option(ini, "alembic", "nbmigrate.metadata", metadata_spec)
    return Project(ini, toml)


def ini_url(url: URL, here: Path) -> str:
    """``url`` as alembic.ini should hold it: no password, and a SQLite file in the ini's
    folder (or below it) named from there (``%(here)s``), so that the project can move."""
    from .backends import backend_for
    from .secrets import without_passwords

    url = without_passwords(url)  # wherever the URL held one
    text = url.render_as_string(hide_password=False).replace("%", "%%")
    database = url.database
    if backend_for(url).file_based and database and database != ":memory:" \
            and not database.startswith("file:"):
        path, folder = Path(database).resolve(), here.resolve()
        if not Path(database).is_absolute() or path.is_relative_to(folder):
            relative = os.path.relpath(path, folder)
            text = text.replace(database, f"%(here)s/{Path(relative).as_posix()}", 1)
    return text


def set_ini_option(ini: Path, section: str, key: str, value: str, *, raw: bool = False) -> None:
    """Set ``key = value`` in one section of an ini file, keeping its comments.

    ``raw`` values are written as given (with any ``%(here)s`` interpolation intact).
    """
    value = value if raw else value.replace("%", "%%")
    lines = ini.read_text(encoding="utf-8").splitlines(keepends=True)
    current, insert_at = None, None
    for i, line in enumerate(lines):
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
            if current == section:
                insert_at = i + 1
            continue
        if current == section and re.match(rf"\s*{re.escape(key)}\s*[=:]", line):
            lines[i] = f"{key} = {value}\n"
            break
    else:
        if insert_at is None:
            lines.append(f"\n[{section}]\n")
            insert_at = len(lines)
        lines.insert(insert_at, f"{key} = {value}\n")
    ini.write_text("".join(lines), encoding="utf-8")
