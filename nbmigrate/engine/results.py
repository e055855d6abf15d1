"""Plain result objects: what engine calls return and front-ends display."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..display.tables import html_block, html_table, text_table

_CREATE_DATE = re.compile(r"^Create Date:\s*(.+?)\s*$", re.MULTILINE)


def short(revision: str | None) -> str:
    return revision[:12] if revision else "base"


def clip(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with "..." if longer."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."


def heads_text(heads: Sequence[str]) -> str:
    return ", ".join(short(h) for h in heads) if heads else "base (no revision applied)"


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
            message=sc.doc or "",
            branch_labels=tuple(sorted(sc.branch_labels)),
            depends_on=tuple(sc._resolved_dependencies or ()),
            is_head=sc.is_head,
            is_branch_point=sc.is_branch_point,
            is_merge=sc.is_merge_point,
            path=sc.path,
            created=created,
            doc=longdoc,
        )

    def line(self) -> str:
        labels = f" ({', '.join(self.branch_labels)})" if self.branch_labels else ""
        head = " (head)" if self.is_head else ""
        return f"{self.revision}{labels}{head}: {self.message}"


class Result:
    """Shared display: a result is a table (``columns``/``rows``) with a title."""

    columns: tuple[str, ...] = ()
    marked_column: str | None = None

    def rows(self) -> list[tuple]:
        return []

    def title(self) -> str:
        return ""

    def note(self) -> str:
        return ""

    def to_frame(self):
        """The table as a pandas DataFrame."""
        from ..display.frames import make_frame

        return make_frame(
            self.columns, self.rows(), mark_column=self.marked_column,
            title=self.title(), note=self.note(),
        )

    def _marked(self, rows: list[tuple]) -> list[int]:
        if self.marked_column is None:
            return []
        i = self.columns.index(self.marked_column)
        return [n for n, row in enumerate(rows) if row[i] is True]

    def _repr_html_(self) -> str:
        rows = self.rows()
        if not self.columns or not rows:
            return html_table((), (), title=self.title(), note=self.note())
        return html_table(self.columns, rows, title=self.title(), note=self.note(),
                          marked=self._marked(rows))

    def __str__(self) -> str:
        rows = self.rows()
        parts = [self.title()]
        if self.columns and rows:
            parts.append(text_table(self.columns, rows, marked=self._marked(rows)))
        parts.append(self.note())
        return "\n".join(p for p in parts if p)

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

    marked_column = "current"

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

    def title(self) -> str:
        where = f" on {self.database}" if self.database else ""
        at = f", at {heads_text(self.current)}" if self.applied is not None else ""
        return f"history: {len(self.revisions)} revision(s){where}{at}"

    def note(self) -> str:
        return f"applied: unknown ({self.unreachable})" if self.unreachable else ""

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

    def title(self) -> str:
        return f"{self.database} ({self.url}) is at {heads_text(self.revisions)}"

    def note(self) -> str:
        if self.unknown:
            return (f"the database is at {', '.join(self.unknown)}, which no script here defines: "
                    "is this the right migration directory?")
        if self.pending:
            return f"{len(self.pending)} revision(s) pending: %migrate upgrade heads applies them"
        return "up to date" if self.current else "no revisions yet"


@dataclass(repr=False)
class Heads(Result):
    """The heads of the revision graph, and which the database is at."""

    heads: list[RevisionInfo]
    current: tuple[str, ...] | None = None

    columns = ("revision", "message", "branch_labels", "current")
    marked_column = "current"

    def rows(self) -> list[tuple]:
        cur = self.current or ()
        return [(h.revision, h.message, h.branch_labels, h.revision in cur) for h in self.heads]

    def title(self) -> str:
        return f"{len(self.heads)} head(s)"

    def note(self) -> str:
        if len(self.heads) > 1:
            return ("the history has branched into several heads: "
                    "%migrate merge -m 'merge heads' joins them into one; "
                    "%migrate upgrade heads applies every branch")
        return ""


@dataclass(repr=False)
class Branches(Result):
    """Branch points: revisions with more than one child."""

    points: list[tuple[RevisionInfo, list[RevisionInfo]]]

    columns = ("branch_point", "message", "children")

    def rows(self) -> list[tuple]:
        return [(p.revision, p.message, tuple(c.revision for c in kids)) for p, kids in self.points]

    def title(self) -> str:
        return f"{len(self.points)} branch point(s)"


@dataclass(repr=False)
class RevisionDetails(Result):
    """``show``: one or more revisions in full."""

    revisions: list[RevisionInfo]

    columns = ("revision", "parents", "message", "branch_labels", "depends_on", "head",
               "merge", "branch_point", "path")

    def rows(self) -> list[tuple]:
        return [(r.revision, r.parents, r.message, r.branch_labels, r.depends_on, r.is_head,
                 r.is_merge, r.is_branch_point, r.path) for r in self.revisions]

    def title(self) -> str:
        return "\n".join(r.line() for r in self.revisions)

    def note(self) -> str:
        return "\n\n".join(r.doc for r in self.revisions)


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

    def title(self) -> str:
        waited = (f" (after waiting {self.waited:.1f} s for another migration)"
                  if self.waited >= 0.5 else "")
        if not self.steps and self.before == self.after:
            return (f"{self.database} is already at {heads_text(self.after)}: "
                    f"nothing to do{waited}")
        verb = {"upgrade": "upgraded", "downgrade": "downgraded", "stamp": "stamped"}[self.action]
        return (f"{verb} {self.database} from {heads_text(self.before)} to "
                f"{heads_text(self.after)}: {len(self.steps)} revision(s) in "
                f"{self.seconds:.2f} s{waited}")


@dataclass(repr=False)
class SqlScript(Result):
    """``--sql``: the SQL a command would run, which nothing executed."""

    action: str
    dialect: str
    sql: str

    def title(self) -> str:
        return f"-- {self.action} SQL for {self.dialect} (not executed)"

    def _repr_html_(self) -> str:
        return html_block(self.title(), self.sql, language="sql")

    def __str__(self) -> str:
        return f"{self.title()}\n{self.sql}"


@dataclass(frozen=True)
class Operation:
    """One difference between model and database, as a row."""

    op: str
    table: str
    name: str
    detail: str
    destructive: bool


@dataclass(repr=False)
class Diff(Result):
    """Model against database: the operations a revision would need."""

    operations: list[Operation]
    code: str
    model: str
    database: str
    hints: list[str] = field(default_factory=list)  # possible renames
    migration_ops: list[Any] = field(default_factory=list)  # Alembic's, to render as SQL
    dialect: Any = None

    @property
    def sql(self) -> str:
        """What the operations would run on the database's dialect (rendered on demand)."""
        from .recorder import render_sql

        if not self.migration_ops or self.dialect is None:
            return ""
        return "\n".join(render_sql(self.migration_ops, self.dialect))

    columns = ("op", "table", "name", "detail", "destructive")

    @property
    def empty(self) -> bool:
        return not self.operations

    def __bool__(self) -> bool:
        return not self.empty

    def __len__(self) -> int:
        return len(self.operations)

    def rows(self) -> list[tuple]:
        return [(o.op, o.table, o.name, o.detail, o.destructive) for o in self.operations]

    def title(self) -> str:
        if self.empty:
            return f"model {self.model} and {self.database} match: no differences"
        return f"model {self.model} vs {self.database}: {len(self.operations)} difference(s)"

    def note(self) -> str:
        return "\n".join(self.hints)

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
    hints: list[str] = field(default_factory=list)  # possible renames written as drop + add

    columns = Diff.columns

    def rows(self) -> list[tuple]:
        return [(o.op, o.table, o.name, o.detail, o.destructive) for o in self.operations]

    @property
    def path(self) -> str:
        return self.revision.path

    def title(self) -> str:
        ops = f" with {len(self.operations)} operation(s)" if self.operations else ""
        model = f" from model {self.model}" if self.model else ""
        return f"wrote revision {self.revision.revision} {self.revision.message!r}{ops}{model}"

    def note(self) -> str:
        lines = [self.path, *self.hints, "review it, then: %migrate upgrade head"]
        return "\n".join(lines)

    @property
    def source(self) -> str:
        with open(self.path, encoding="utf-8") as f:
            return f.read()


@dataclass(repr=False)
class Note(Result):
    """A short report: what a command did, with optional details as rows."""

    text: str
    details: dict[str, Any] = field(default_factory=dict)

    def title(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return html_table(("", ""), list(self.details.items()), title=self.text, header=False)

    def __str__(self) -> str:
        width = max((len(k) for k in self.details), default=0)
        lines = [f"  {k.ljust(width)}  {v}" for k, v in self.details.items()]
        return "\n".join([self.text, *lines])

    def to_frame(self):
        from ..display.frames import make_frame

        return make_frame(("item", "value"), list(self.details.items()), title=self.text)


@dataclass(repr=False)
class TagList(Result):
    """Tags and the revisions they name."""

    tags: list[tuple[str, RevisionInfo]]
    applied: frozenset[str] | None = None

    columns = ("tag", "revision", "message", "applied")

    def rows(self) -> list[tuple]:
        return [(name, r.revision, r.message,
                 None if self.applied is None else r.revision in self.applied)
                for name, r in self.tags]

    def title(self) -> str:
        return f"{len(self.tags)} tag(s)" if self.tags else "no tags yet: %migrate tag NAME [REV]"


@dataclass(repr=False)
class Status(Result):
    """Every named connection at once: reachable, where it stands, drift."""

    entries: list[tuple]

    columns = ("name", "dialect", "url", "reachable", "current", "heads", "pending", "drift",
               "note")

    def rows(self) -> list[tuple]:
        return list(self.entries)

    def title(self) -> str:
        down = sum(1 for row in self.entries if not row[3])
        return (f"{len(self.entries)} database(s)"
                + (f", {down} unreachable" if down else ""))


@dataclass(repr=False)
class AuditLog(Result):
    """What was applied to a database, when, by whom, how long it took."""

    database: str
    entries: list[tuple]
    columns: tuple[str, ...] = ()

    def rows(self) -> list[tuple]:
        at = self.columns.index("seconds") if "seconds" in self.columns else None
        if at is None:
            return list(self.entries)
        return [row[:at] + (None if row[at] is None else round(row[at], 4),) + row[at + 1:]
                for row in self.entries]

    def title(self) -> str:
        if not self.entries:
            return f"{self.database}: nothing applied by nbmigrate yet"
        return f"{self.database}: the last {len(self.entries)} step(s), newest first"


@dataclass(repr=False)
class ConnectionList(Result):
    """The session's named connections, passwords masked."""

    entries: list[tuple[str, str, str, bool, str]]

    columns = ("name", "dialect", "url", "default", "source")
    marked_column = "default"

    def rows(self) -> list[tuple]:
        return list(self.entries)

    def title(self) -> str:
        return f"{len(self.entries)} connection(s)" if self.entries else "no connections yet"
