"""A project whose revision graph comes from the user's cache, not from importing its scripts.

``remember`` keeps the graph of a project Alembic has just read; ``cached_project`` gives
it back, without importing Alembic, while ``revision_cache`` finds it current. A
CachedProject answers what the read commands ask (``revisions``, ``heads``, ``info``,
``applied``, ``pending``, env.py) from the cache; anything else reads the scripts as a
Project does.
"""

from __future__ import annotations

import configparser
import contextlib
import dataclasses
import importlib.util
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from . import results
from .errors import NbMigrateError
from .project import Project, unread_project
from .results import RevisionInfo
from .revision_cache import (
    FORMAT,
    cache_file,
    is_resource,
    listing,
    read,
    settings,
    settled,
    write,
)

_FIELDS = tuple(field.name for field in dataclasses.fields(RevisionInfo))
_TUPLES = {"parents", "branch_labels", "depends_on"}
_CREATED = _FIELDS.index("created")
_TUPLE_AT = [_FIELDS.index(name) for name in _TUPLES]


class CacheCannotServe(Exception):
    """The cached graph cannot answer this as Alembic would: ask Alembic."""


class CachedProject(Project):
    """A Project that reads its revision graph from the cache (see ``cached_project``)."""

    def __init__(self, ini: Path, graph: dict[str, Any]) -> None:
        """Raises ValueError when ``graph`` is not in the shape ``remember`` writes."""
        super().__init__(ini)
        rows = graph["revisions"]
        _check_shape(rows, graph["heads"], graph["script_dir"])
        self._rows = {row[0]: row for row in rows}
        self._order = tuple(row[0] for row in rows)
        self._down = {row[0]: row[-1] for row in rows}  # parents and dependencies
        self._graph_heads = tuple(graph["heads"])
        self._folder = Path(graph["script_dir"])

    @property
    def location(self) -> Path:
        return self._folder

    def scripts_folder(self) -> Path:
        return self._folder

    def revisions(self) -> tuple[str, ...]:
        return self._order

    def heads(self) -> tuple[str, ...]:
        return self._graph_heads

    def info(self, revision: str) -> RevisionInfo:
        if revision not in self._infos:
            values = self._rows[revision][:-1]  # the fields, in order
            for i in _TUPLE_AT:
                values[i] = tuple(values[i])
            created = values[_CREATED]
            values[_CREATED] = datetime.fromisoformat(created) if created else None
            self._infos[revision] = RevisionInfo(*values)
        return self._infos[revision]

    def applied(self, heads: tuple[str, ...]) -> frozenset[str]:
        key = tuple(sorted(heads))
        if key not in self._ancestry:
            self._ancestry[key] = self._at_or_below(key)
        return self._ancestry[key]

    def _at_or_below(self, heads: tuple[str, ...]) -> frozenset[str]:
        """``heads`` and every revision below them, through down revisions and
        dependencies, as Alembic's walk from heads to base finds them."""
        found: set[str] = set()
        for head in heads:
            if head not in self._down:  # a prefix or a label: Alembic resolves it, or says why
                raise CacheCannotServe(head)
            below: set[str] = set()
            todo = list(self._down[head])
            while todo:
                rev = todo.pop()
                if rev not in below:
                    below.add(rev)
                    todo.extend(self._down[rev])
            if below.intersection(heads):  # one head below another: Alembic refuses it
                raise CacheCannotServe(head)
            found |= below
            found.add(head)
        return frozenset(found)


def _kind(field: str) -> type | tuple[type, ...]:
    """What JSON holds for a field of RevisionInfo."""
    if field.startswith("is_"):
        return bool
    if field in _TUPLES:
        return list
    return (str, type(None)) if field == "created" else str


_KINDS = (*map(_kind, _FIELDS), list)  # a row: the fields, then the revisions below
_LISTS = [i for i, kind in enumerate(_KINDS) if kind is list]


def _check_shape(rows: Any, heads: Any, folder: Any) -> None:
    """Raise ValueError unless the graph is in the shape ``remember`` writes: a cache file
    edited or damaged is read again from the scripts, not trusted."""
    if not isinstance(rows, list) or not isinstance(heads, list) \
            or not isinstance(folder, str):
        raise ValueError("not a cached graph")
    width = len(_KINDS)
    for row in rows:
        if not (isinstance(row, list) and len(row) == width
                and all(map(isinstance, row, _KINDS))
                and all(isinstance(item, str) for i in _LISTS for item in row[i])):
            raise ValueError("not a cached graph")
    ids = {row[0] for row in rows}
    if len(ids) != len(rows) or not ids.issuperset(heads) \
            or not all(ids.issuperset(row[-1]) for row in rows):
        raise ValueError("not a cached graph")
    for row in rows:
        if row[_CREATED] is not None:
            datetime.fromisoformat(row[_CREATED])


def cached_project(ini: Path) -> CachedProject | None:
    """The project of ``ini`` with its graph from the cache, or None when the cache holds
    no current graph of it (or cannot hold one: a pyproject.toml or package project)."""
    project = unread_project(ini)
    if project.toml is not None:
        return None
    values = settings(project.ini_file())
    location = values.get("script_location")
    if not location or is_resource(location):
        return None
    path = cache_file(location)
    return _current(project, values, read(path)) if path is not None else None


def _current(project: Project, values: dict[str, str], graph: dict[str, Any] | None
             ) -> CachedProject | None:
    """``project`` served from ``graph``, if that is a current graph of it."""
    if graph is None:
        return None
    try:
        if graph["key"] != _key(project, values) \
                or graph["cwd"] not in ("", os.getcwd()) \
                or graph["files"] != listing(graph["files"], graph["recursive"]):
            return None
        return CachedProject(project.ini, graph)
    except (KeyError, TypeError, IndexError, AttributeError, ValueError, OSError):
        return None  # a cache file in another shape, or a folder changing as it is listed


def remember(project: Project, started_ns: int) -> None:
    """Keep the graph of ``project``, its scripts read by Alembic after ``started_ns``, in
    the cache, unless a current one is there or a script changed as it was read. Nothing
    fails for want of a cache."""
    with contextlib.suppress(OSError, NbMigrateError, configparser.Error, UnicodeError):
        _remember(project, started_ns)


def _remember(project: Project, started_ns: int) -> None:
    if isinstance(project, CachedProject) or project.toml is not None:
        return
    script = project.script
    values = settings(project.ini_file())
    location = values.get("script_location")
    places = [script.dir, *script.version_locations]
    if not location or script.sourceless or any(is_resource(str(p)) for p in places):
        return
    path = cache_file(location)
    if path is None:
        return
    folders = [os.path.abspath(p) for p in script.version_locations] \
        or [os.path.abspath(os.path.join(script.dir, "versions"))]
    recursive = bool(script.recursive_version_locations)
    if _current(project, values, read(path)) is not None:
        return  # current already
    files = listing(folders, recursive)
    if not settled(files, started_ns, recursive):
        return
    key = _key(project, values)
    cwd = "" if all(os.path.isabs(str(p)) for p in places) else os.getcwd()
    revisions = script.revision_map
    write(path, {
        "format": FORMAT, "key": key, "cwd": cwd, "recursive": recursive, "files": files,
        "script_dir": str(project.scripts_folder()), "heads": list(project.heads()),
        "revisions": [[*_row(project.info(rev)),
                       list(revisions.get_revision(rev)._normalized_down_revisions)]
                      for rev in project.revisions()],
    })


def _row(info: RevisionInfo) -> list[Any]:
    """A RevisionInfo as JSON holds it: its fields in order, the date as ISO text."""
    values = [getattr(info, name) for name in _FIELDS]
    values[_CREATED] = info.created.isoformat() if info.created else None
    return values


def _key(project: Project, values: dict[str, str]) -> list[Any]:
    """What the graph was read from, bar the scripts: alembic.ini's [alembic] section,
    and the code that read them (Alembic's, and nbmigrate's RevisionInfo)."""
    spec = importlib.util.find_spec("alembic")
    code = [spec.origin if spec is not None and spec.origin else "", results.__file__]
    stamps = []
    for path in code:
        try:
            st = os.stat(path)
            stamps.append([path, st.st_size, st.st_mtime_ns])
        except OSError:
            stamps.append([path])
    return [str(project.ini), [list(item) for item in sorted(values.items())], list(_FIELDS),
            stamps]
