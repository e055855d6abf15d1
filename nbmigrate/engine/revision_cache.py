"""Where the cached revision graph lives, and how to tell it is still the scripts' own.

One JSON file per project, named after its versions folder, in ``$XDG_CACHE_HOME/nbmigrate``
(else ``~/.cache/nbmigrate``), never in the repository. A graph is served only while
alembic.ini's [alembic] section reads as it did and every version file keeps the name, size,
mtime, ctime and inode it had when the graph was read (one stat per file): an added,
removed, renamed or edited file means reading the scripts again. A graph read while a
file was changing is not kept; a corrupt or unreadable cache file is ignored; a cache
folder that cannot be written means no cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from collections.abc import Iterable
from configparser import ConfigParser
from pathlib import Path
from typing import Any

FORMAT = 1
# the files Alembic reads as revision scripts (its _only_source_rev_file)
_SCRIPT_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
_SECOND = 1_000_000_000
KEPT_DAYS = 30  # a graph not read for this long is deleted when another is written

Stamp = list[int]  # size, mtime_ns, ctime_ns, inode
Listing = dict[str, "dict[str, Stamp] | None"]  # folder -> its scripts (None: no folder)


def settings(ini: ConfigParser) -> dict[str, str]:
    """alembic.ini's [alembic] section, where Alembic finds the scripts and how to read
    them (script_location, version_locations, sourceless...): a graph read with other
    settings is not this project's ({} without the section)."""
    return dict(ini.items("alembic")) if ini.has_section("alembic") else {}


def is_resource(location: str) -> bool:
    """Whether Alembic reads ``location`` as a package resource (``package:folder``)."""
    return not os.path.isabs(location) and ":" in location


def cache_file(script_location: str) -> Path | None:
    """The cache file of the project whose scripts are in ``script_location``: named after
    its versions folder's absolute path (None without a home or XDG_CACHE_HOME)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative: the XDG spec says to ignore it
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    versions = os.path.abspath(os.path.join(script_location, "versions"))
    digest = hashlib.blake2b(versions.encode("utf-8", "surrogateescape"),
                             digest_size=10).hexdigest()
    label = re.sub(r"[^\w.-]", "_", Path(versions).parent.name)[:40] or "project"
    return Path(base) / "nbmigrate" / f"{label}-{digest}.json"


def listing(folders: Iterable[str], recursive: bool) -> Listing:
    """Each versions folder's revision scripts (in sub-folders too when ``recursive``) with
    their stamps: one stat per file. Raises OSError when one vanishes as it is listed."""
    return {folder: _scripts_in(folder, recursive) for folder in folders}


def _scripts_in(folder: str, recursive: bool) -> dict[str, Stamp] | None:
    found: dict[str, Stamp] = {}
    todo = [("", folder)]
    while todo:
        prefix, path = todo.pop()
        try:
            entries = os.scandir(path)
        except (FileNotFoundError, NotADirectoryError):
            if not prefix:
                return None  # Alembic skips a versions folder that is not there
            raise
        with entries:
            for entry in entries:
                if _SCRIPT_FILE.match(entry.name):
                    st = entry.stat()
                    found[prefix + entry.name] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                                  st.st_ino]
                elif recursive and entry.is_dir():
                    todo.append((f"{prefix}{entry.name}/", entry.path))
    return found


def settled(files: Listing, started_ns: int, recursive: bool) -> bool:
    """Whether no script and no versions folder changed since a moment before
    ``started_ns``: a change in the same tick of the file system's clock as the one
    recorded would keep the stamp, so a graph read then is not kept."""
    stamps = [stamp for scripts in files.values() for stamp in (scripts or {}).values()]
    for folder, scripts in files.items():
        if scripts is not None:  # a file added or removed since changes its folder's stamp
            for path in _folders(folder, recursive):
                st = os.stat(path)
                stamps.append([0, st.st_mtime_ns, st.st_ctime_ns, 0])
    # file systems that keep whole seconds (ext3, HFS+; FAT keeps two) need a wider margin
    coarse = all(s[1] % _SECOND == 0 and s[2] % _SECOND == 0 for s in stamps)
    margin = 3 * _SECOND if coarse else _SECOND // 10
    return all(max(s[1], s[2]) < started_ns - margin for s in stamps)


def _folders(folder: str, recursive: bool) -> list[str]:
    """``folder``, and the folders under it when ``recursive``."""
    found, todo = [], [folder]
    while todo:
        found.append(todo.pop())
        if recursive:
            with os.scandir(found[-1]) as entries:
                todo.extend(entry.path for entry in entries if entry.is_dir())
    return found


def read(path: Path) -> dict[str, Any] | None:
    """The cached graph in ``path``; None when there is none or it cannot be used."""
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except (OSError, ValueError, RecursionError):  # missing, unreadable, corrupt
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def write(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` with ``data`` at once (a reader sees the old file or the new one);
    where the cache folder cannot be written, nothing is kept."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "w", encoding="utf-8") as file:
            json.dump(data, file, separators=(",", ":"))
        os.replace(temp, path)
    except (OSError, ValueError):  # read-only, full, or a path JSON cannot hold
        with contextlib.suppress(OSError):
            temp.unlink()
        return
    _forget_old(path.parent)


def _forget_old(folder: Path) -> None:
    """Delete the graphs of projects not read for KEPT_DAYS (moved, deleted, tests')."""
    oldest = time.time() - KEPT_DAYS * 86_400
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.endswith(".json"):
                with contextlib.suppress(OSError):
                    if entry.stat().st_atime < oldest and entry.stat().st_mtime < oldest:
                        os.unlink(entry.path)
