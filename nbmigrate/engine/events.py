"""What a command changed, told to the Session's listeners; and the cheap look that notices
what other processes changed (the scripts' signature, the tags, one database's heads).

A front end that shows the project or a database (the dashboard) subscribes to the
Session and reads again what a Change names; before acting it compares a Fingerprint
with the last one it read, for the changes no listener heard of.
"""

from __future__ import annotations

import functools
import inspect
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .checksums import Validation
from .errors import DestructiveChange, NbMigrateError
from .results import ApplyResult
from .secrets import redact
from .tags import tags_path
from .workspace import Workspace

log = logging.getLogger("nbmigrate")
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Change:
    """What one command changed; after a failure, what it may have changed part-way."""

    command: str  # the Session method: "upgrade", "revision", "tag", ...
    databases: frozenset[str] = frozenset()  # connections whose version table moved, or
    # whose audit log accepted an applied revision's file (validate --accept)
    scripts: bool = False  # revision files, alembic.ini, or which project it is
    tags: bool = False  # tags.json
    connections: bool = False  # a named connection was added or replaced
    failed: bool = False  # the command failed after it began changing things


Listener = Callable[[Change], None]


class Listeners:
    """The callables told of each Change, in the order they subscribed.

    A bound method is held weakly: once its object is garbage-collected it is dropped,
    so a closed view is neither kept alive nor called. Any other callable is held until
    the function ``subscribe`` returned is called. A listener that raises is logged
    (one line) and the others are still told; the command is not affected.
    """

    def __init__(self) -> None:
        self._held: dict[int, Callable[[], Listener | None]] = {}
        self._count = 0

    def __len__(self) -> int:
        return sum(1 for ref in list(self._held.values()) if ref() is not None)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Tell ``listener`` of every Change from now on; returns the unsubscribe function."""
        key = self._count = self._count + 1
        held = self._held
        if inspect.ismethod(listener):
            self._held[key] = weakref.WeakMethod(listener, lambda _: held.pop(key, None))
        else:
            self._held[key] = lambda: listener

        def unsubscribe() -> None:
            held.pop(key, None)

        return unsubscribe

    def notify(self, change: Change, mask: Callable[[str], str] = str) -> None:
        """Call every listener with ``change``; ``mask`` hides passwords in a failure's line."""
        for key, ref in list(self._held.items()):
            listener = ref()
            if listener is None:
                self._held.pop(key, None)
                continue
            try:
                listener(change)
            except Exception as exc:  # noqa: BLE001 - a view's failure never breaks a command
                text = " ".join(f"{type(exc).__name__}: {exc}".split())
                log.warning("nbmigrate: a listener failed after %s: %s", change.command,
                            mask(text))


def announces(*, database: str | None = None, scripts: bool = False, tags: bool = False,
              connections: bool = False, written: type = object, moves: bool = False
              ) -> Callable[[F], F]:
    """Tell the Session's listeners what the decorated command changed once it returns a
    ``written`` result that did something. ``database`` names the parameter holding the
    connection it changes (unset: the result's, else the default one). A command that
    ``moves`` a database is told of also when it fails, as ``failed``: it may have
    stopped part-way."""

    def decorate(method: F) -> F:
        signature = inspect.signature(method)

        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            arguments = signature.bind(self, *args, **kwargs).arguments

            def tell(result: Any, failed: bool = False) -> None:
                names: frozenset[str] = frozenset()
                if database is not None:
                    name = (arguments.get(database) or getattr(result, "database", None)
                            or self.databases.default_name)
                    names = frozenset({name} if name else ())
                passwords = self.databases.passwords()
                self.listeners.notify(
                    Change(method.__name__, names, scripts, tags, connections, failed),
                    lambda text: redact(text, passwords))

            try:
                result = method(self, *args, **kwargs)
            except BaseException as exc:
                if moves and self.listeners and _may_have_moved(exc, arguments):
                    tell(None, failed=True)
                raise
            if self.listeners and isinstance(result, written) and not _nothing_done(result):
                tell(result)
            return result

        return wrapper  # type: ignore[return-value]

    return decorate


def _may_have_moved(exc: BaseException, arguments: dict[str, Any]) -> bool:
    """Whether a failed move may have changed the database (what the engine says changed
    nothing, and ``--sql`` and ``--dry-run``, did not)."""
    if arguments.get("sql") or arguments.get("dry_run"):
        return False
    return not (isinstance(exc, DestructiveChange) and not exc.stopped)


def _nothing_done(result: Any) -> bool:
    """An upgrade, downgrade or stamp that found nothing to do; a validate that accepted
    nothing."""
    if isinstance(result, Validation):
        return not result.accepted
    return isinstance(result, ApplyResult) and not result.steps and \
        set(result.before) == set(result.after)


@dataclass(frozen=True)
class Fingerprint:
    """A cheap look at the project and one database: equal looks, nothing changed."""

    scripts: str  # the scripts' signature, or why they cannot be read
    tags: str  # the text of tags.json ("" without one)
    heads: tuple[str, ...] | None  # the database's heads, sorted (None: it cannot be read)


def fingerprint(ws: Workspace, db: str | None = None) -> Fingerprint:
    """Read the scripts' signature (file sizes and times, parsed again only if they
    changed), tags.json and the version table of database ``db``; never raises for a
    project or database that cannot be read."""
    try:
        project = ws.project
        path = tags_path(project.script)
        scripts = project.signature()
        tags = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
    except (NbMigrateError, OSError) as exc:
        scripts, tags = f"cannot be read: {exc}", ""
    try:
        heads, _ = ws.heads_if_reachable(db)
    except NbMigrateError:
        heads = None
    return Fingerprint(scripts, tags, None if heads is None else tuple(sorted(heads)))
