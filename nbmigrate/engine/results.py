"""Plain results: what engine calls return. Each is data (a table is ``columns`` and
``rows()``); how it shows is ``display``'s business, asked for by the object itself
because IPython and ``print`` ask the object."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

_CREATE_DATE = re.compile(r"^Create Date:\s*(.+?)\s*$", re.MULTILINE)


def message_of(docstring: str | None) -> str:
    """A revision's message: its docstring's first paragraph ("" when the docstring starts
    with the blank line an empty message leaves; Alembic's ``doc`` then reads the next)."""
    first = (docstring or "").lstrip(" \t").split("\n\n", 1)[0]
    return " ".join(first.split())


@dataclass(frozen=True)
class RevisionInfo:
    """One revision script, as the tables show it."""

    revision: str
    parents: tuple[str, ...]
    message: str
    branch_labels: tuple[str, ...]
    depends_on: tuple[str, ...]
    is_head: bool
    is_branch_point: bool
    is_merge: bool
    path: str
    created: datetime | None
    doc: str

    @classmethod
    def from_script(cls, sc: Any) -> RevisionInfo:
        """From an Alembic ``Script``."""
        longdoc = (sc.module.__doc__ or "").strip()
        match = _CREATE_DATE.search(longdoc)
        created = None
        if match:
            try:
                created = datetime.fromisoformat(match.group(1))
            except ValueError:
                created = None
        return cls(
            revision=sc.revision,
            parents=tuple(sc._versioned_down_revisions),
            message=message_of(sc.module.__doc__),
            branch_labels=tuple(sorted(sc.branch_labels)),
            depends_on=tuple(sc._resolved_dependencies or ()),
            is_head=sc.is_head,
            is_branch_point=sc.is_branch_point,
            is_merge=sc.is_merge_point,
            path=sc.path,
            created=created,
            doc=longdoc,
        )


def _views() -> Any:
    from ..display import views  # the one upward link: IPython asks the object itself

    return views


class Result:
    """A result: a table (``columns``/``rows()``) or a report; ``display`` shows it."""

    columns: tuple[str, ...] = ()

    def rows(self) -> list[tuple]:
        return []

    def title(self) -> str:
        return _views().title(self)

    def note(self) -> str:
        return _views().note(self)

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame."""
        return _views().frame(self)

    def _repr_html_(self) -> str:
        return _views().html(self)

    def __str__(self) -> str:
        return _views().text(self)

    def __repr__(self) -> str:
        return str(self)


@dataclass(repr=False)
class History(Result):
    """Revisions newest first, with which of them the database has applied."""

    revisions: list[RevisionInfo]
    database: str | None = None
    current: tuple[str, ...] = ()
    applied: frozenset[str] | None = None
    verbose: bool = False
    unreachable: str = ""  # why "applied" is unknown, when it is
    applied_at: dict[str, datetime] = field(default_factory=dict)  # from the audit log

    @property
    def columns(self) -> tuple[str, ...]:  # type: ignore[override]
        base = ("revision", "parents", "message", "branch_labels", "head", "applied",
                "applied_at", "current", "created")
        return base + (("depends_on", "merge", "branch_point", "path", "doc")
                       if self.verbose else ())

    def rows(self) -> list[tuple]:
        out = []
        for r in self.revisions:
            applied = None if self.applied is None else r.revision in self.applied
            row = (r.revision, r.parents, r.message, r.branch_labels, r.is_head, applied,
                   self.applied_at.get(r.revision) if applied else None,
                   r.revision in self.current, r.created)
            if self.verbose:
                row += (r.depends_on, r.is_merge, r.is_branch_point, r.path, r.doc)
            out.append(row)
        return out

    def __len__(self) -> int:
        return len(self.revisions)


@dataclass(repr=False)
class CurrentState(Result):
    """Where one database stands against the scripts."""

    database: str
    url: str
    current: tuple[RevisionInfo, ...]
    script_heads: tuple[str, ...]
    pending: tuple[str, ...]
    unknown: tuple[str, ...] = ()  # in the version table but not in the scripts

    columns = ("revision", "message", "head")

    @property
    def revisions(self) -> tuple[str, ...]:
        return tuple(r.revision for r in self.current) + self.unknown

    @property
    def up_to_date(self) -> bool:
        at_heads = bool(self.script_heads) == bool(self.current)
        return not self.pending and not self.unknown and at_heads

    def rows(self) -> list[tuple]:
        return [(r.revision, r.message, r.is_head) for r in self.current]


@dataclass(repr=False)
class Heads(Result):
    """The heads of the revision graph, and which the database is at."""

    heads: list[RevisionInfo]
    current: tuple[str, ...] | None = None

    columns = ("revision", "message", "branch_labels", "current")

    def rows(self) -> list[tuple]:
        cur = self.current or ()
        return [(h.revision, h.message, h.branch_labels, h.revision in cur) for h in self.heads]


class BranchPoint(NamedTuple):
    """A revision with more than one child."""

    revision: RevisionInfo
    children: list[RevisionInfo]


@dataclass(repr=False)
class Branches(Result):
    """Branch points: revisions with more than one child."""

    points: list[BranchPoint]

    columns = ("branch_point", "message", "children")

    def rows(self) -> list[tuple]:
        return [(p.revision, p.message, tuple(c.revision for c in kids)) for p, kids in self.points]


@dataclass(repr=False)
class RevisionDetails(Result):
    """``show``: one or more revisions in full."""

    revisions: list[RevisionInfo]

    columns = ("revision", "parents", "message", "branch_labels", "depends_on", "head",
               "merge", "branch_point", "path")

    def rows(self) -> list[tuple]:
        return [(r.revision, r.parents, r.message, r.branch_labels, r.depends_on, r.is_head,
                 r.is_merge, r.is_branch_point, r.path) for r in self.revisions]


@dataclass
class Step:
    """One revision applied (or un-applied) by an upgrade, downgrade or stamp."""

    revision: str
    message: str
    direction: str
    seconds: float | None = None
    started_at: datetime | None = None  # UTC
    from_revision: str = ""
    to_revision: str = ""
    checksum: str = ""  # of the revision file applied (see checksums.py); "" going down


@dataclass(repr=False)
class ApplyResult(Result):
    """What an upgrade, downgrade or stamp did."""

    action: str
    database: str
    target: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    steps: list[Step]
    seconds: float
    waited: float = 0.0  # for another migration of the same database to finish

    columns = ("revision", "message", "direction", "seconds")

    def rows(self) -> list[tuple]:
        return [(s.revision, s.message, s.direction,
                 None if s.seconds is None else round(s.seconds, 4)) for s in self.steps]


@dataclass(repr=False)
class SqlScript(Result):
    """``--sql``: the SQL a command would run, which nothing executed."""

    action: str
    dialect: str
    sql: str
    nothing: str = ""  # why there is no SQL: the database is already at the target


@dataclass(frozen=True)
class Operation:
    """One difference between model and database, as a row."""

    op: str
    table: str
    name: str
    detail: str
    destructive: bool


@dataclass(frozen=True)
class Rename:
    """A rename the user names or autogenerate suggests; ``table`` is set for a column
    rename, empty for a table rename."""

    table: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.table}.{self.old}={self.new}" if self.table else f"{self.old}={self.new}"

    @property
    def arrow(self) -> str:
        if self.table:
            return f"{self.table}.{self.old} -> {self.table}.{self.new}"
        return f"table {self.old} -> {self.new}"


def _no_sql() -> str:
    return ""


@dataclass(repr=False)
class Diff(Result):
    """Model against database: the operations a revision would need."""

    operations: list[Operation]
    code: str
    model: str
    database: str
    renames: list[Rename] = field(default_factory=list)  # drop-and-add pairs, maybe renames
    render_sql: Callable[[], str] = _no_sql  # the SQL for the database, made when asked for

    columns = ("op", "table", "name", "detail", "destructive")

    @property
    def sql(self) -> str:
        """What the operations would run on the database's dialect."""
        return self.render_sql()

    @property
    def empty(self) -> bool:
        return not self.operations

    def __bool__(self) -> bool:
        return not self.empty

    def __len__(self) -> int:
        return len(self.operations)

    def rows(self) -> list[tuple]:
        return [(o.op, o.table, o.name, o.detail, o.destructive) for o in self.operations]

    def summary(self, limit: int = 3) -> str:
        parts = [f"{o.op} {'.'.join(filter(None, (o.table, o.name)))}" for o in self.operations]
        more = f", and {len(parts) - limit} more" if len(parts) > limit else ""
        return ", ".join(parts[:limit]) + more


@dataclass(repr=False)
class RevisionCreated(Result):
    """A revision script nbmigrate wrote."""

    revision: RevisionInfo
    operations: list[Operation] = field(default_factory=list)
    model: str | None = None
    renames: list[Rename] = field(default_factory=list)  # possible renames written as drop + add

    columns = Diff.columns

    def rows(self) -> list[tuple]:
        return [(o.op, o.table, o.name, o.detail, o.destructive) for o in self.operations]

    @property
    def path(self) -> str:
        return self.revision.path

    @property
    def source(self) -> str:
        with open(self.path, encoding="utf-8") as f:
            return f.read()


@dataclass(repr=False)
class Note(Result):
    """A short report: what a command did, with optional details as rows."""

    text: str
    details: dict[str, Any] = field(default_factory=dict)

    columns = ("item", "value")

    def rows(self) -> list[tuple]:
        return list(self.details.items())


class Tag(NamedTuple):
    name: str
    revision: RevisionInfo


@dataclass(repr=False)
class TagList(Result):
    """Tags and the revisions they name."""

    tags: list[Tag]
    applied: frozenset[str] | None = None

    columns = ("tag", "revision", "message", "applied")

    def rows(self) -> list[tuple]:
        return [(name, r.revision, r.message,
                 None if self.applied is None else r.revision in self.applied)
                for name, r in self.tags]


class DatabaseStatus(NamedTuple):
    """One named connection in ``status``."""

    name: str
    dialect: str
    url: str
    reachable: bool
    current: str | None
    heads: str
    pending: int | None
    drift: int | None
    note: str


@dataclass(repr=False)
class Status(Result):
    """Every named connection at once: reachable, where it stands, drift."""

    entries: list[DatabaseStatus]

    columns = DatabaseStatus._fields

    def rows(self) -> list[tuple]:
        return list(self.entries)


class NamedConnection(NamedTuple):
    """One named connection, its password masked."""

    name: str
    dialect: str
    url: str
    default: bool
    source: str


@dataclass(repr=False)
class ConnectionList(Result):
    """The session's named connections, passwords masked."""

    entries: list[NamedConnection]

    columns = NamedConnection._fields

    def rows(self) -> list[tuple]:
        return list(self.entries)
