"""The walk ``test`` makes through the history, one env.py run at a time.

Its steps function (the ``fn`` Alembic asks for steps, as ``applying`` hands it) yields
each revision's upgrade and, where downgrades are tested, its downgrade and its upgrade
again (the stairway); between two steps it reads the schema (``shapes``: one catalog
query, for only the relations the steps' statements named) to see what a downgrade
left. Where DDL is transactional each revision is one transaction with a savepoint per
step (``scratch.Marks``): a failing step is undone alone, a failed stairway goes back
to the schema the revision's upgrade made, and the walk goes on.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from alembic.runtime.migration import RevisionStep, StampStep
from alembic.script import Script, ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from . import autogen, samples, shapes
from .connections import Database, VersionTable, current_heads
from .errors import NbMigrateError
from .guard import Guard
from .reflection import ReflectionCache
from .results import message_of
from .runner import failed_statement
from .scratch import Marks
from .shapes import ShapeReader
from .stops import error_line
from .text import clip, heads_text, short
from .trial_report import (
    AGAIN,
    DOWN,
    FAILED,
    IRREVERSIBLE,
    LOSES,
    OK,
    SKIPPED,
    UP,
    Progress,
    TrialRow,
)
from .undone import plain_revision, undone
from .workspace import Workspace


def reason(exc: BaseException, database: Database) -> str:
    """An error in one line, naming the statement that failed, without passwords."""
    if isinstance(exc, SQLAlchemyError):
        return error_line(exc, database) + failed_statement(exc, [])
    return clip(error_line(exc, database), 300)


@dataclass
class Walk:
    """The walk's queue of steps, what it found, and where the database is."""

    ws: Workspace
    script: ScriptDirectory
    database: Database  # the scratch database
    plan: list[Script]
    tested: set[str]
    stair: set[str]
    data: bool
    model: Any
    model_skip: str
    on_progress: Progress | None
    reader: ShapeReader  # the scratch database's schema, as its backend reads it
    rows: list[TrialRow] = field(default_factory=list)
    queue: deque = field(default_factory=deque)
    applied: set[str] = field(default_factory=set)
    marks: Marks | None = None
    version: VersionTable | None = None
    running: tuple[str, Script] | None = None
    finished: bool = False
    reached: bool = True  # every upgrade ran
    done: int = 0
    _shape: shapes.Shape | None = None  # as last read (None: read all of it next)
    _since: list[str] = field(default_factory=list)  # statements the steps sent since
    _capturing: bool = False
    _before: shapes.Shape = field(default_factory=dict)
    _left: str = ""  # what the last downgrade left
    _lazy: bool = False  # the running revision's schema before it is not read (yet)
    _mark: int = 0  # where its statements begin in _since
    _down: int = 0  # where its downgrade's statements begin in _since
    _proven: bool = False  # its downgrade undid exactly what its upgrade made
    _replayed: set[str] = field(default_factory=set)
    _pending: list[TrialRow] = field(default_factory=list)
    _watch: ExitStack | None = None
    _guard: Guard | None = None
    _hidden: set[str] = field(default_factory=set)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))  # row values

    def __post_init__(self) -> None:
        for sc in self.plan:
            self.queue.append((UP, sc))
            if sc.revision in self.stair:
                self.queue.extend([(DOWN, sc), (AGAIN, sc)])

    # ---------------------------------------------------------- the env.py fn

    def steps(self, _heads: Any, context: Any) -> Iterator[RevisionStep]:
        """Alembic's steps, one at a time, each checked before the next is handed out."""
        conn = context.connection
        self.version = VersionTable(context.version_table, context.version_table_schema)
        self.database.version = self.version
        self._hidden = {context.version_table, *autogen.NBMIGRATE_TABLES}
        while self.queue:
            action, sc = self.queue[0]
            self._before_step(conn, action, sc)
            self.running, self._capturing = (action, sc), True
            yield self._step(action, sc)
            self.running, self._capturing = None, False
            self.queue.popleft()
            self._after_step(conn, action, sc)
        self.models(context)
        self.finished = True

    def _step(self, action: str, sc: Script) -> Any:
        """Alembic's step for ``action``. A stairway's second upgrade of a revision whose
        downgrade undid exactly what its upgrade made (``undone``) runs the same
        statements on the same schema: the schema that upgrade made is a savepoint away,
        so only the version row moves (``_after_step`` goes back to the savepoint)."""
        if action == AGAIN and self._proven:
            return StampStep(sc._normalized_down_revisions, sc.revision, True, False,
                             self.script.revision_map)
        return RevisionStep(self.script.revision_map, sc, action != DOWN)

    def own_connection(self, _theirs: Connection) -> None:
        """env.py set up a connection of its own: the walk cannot be our transaction."""
        if self.marks is None:
            return
        if self.rows or self.applied:
            raise NbMigrateError("test stopped: the project's env.py changed connections "
                                 "between two runs")
        self.marks.end(keep=False)  # the first run's start: nothing ran yet
        self.marks = None

    def _read(self, conn: Connection) -> shapes.Shape:
        """The schema now: what the statements sent since the last reading touched, read
        again (all of it the first time, or after a rollback)."""
        if self._shape is None or self._since:
            self._shape = shapes.update(self.reader, conn, self._shape,
                                         self._hidden, self._since)
            self._since = []
        return self._shape

    def capture(self, conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        """Engine event: keep each statement a step sends to the scratch database."""
        if self._capturing and conn.engine.url == self.database.url:
            self._since.append(statement)

    def _before_step(self, conn: Connection, action: str, sc: Script) -> None:
        if action == UP:
            if self.marks is not None:
                self.marks.revision()
            if sc.revision in self.stair:
                # a revision that only makes tables, indexes or columns and its downgrade
                # drops them is checked from its statements (read if they say otherwise)
                self._lazy = self.marks is not None and not self.data and \
                    sc.revision not in self._replayed and plain_revision(sc.path)
                self._mark = len(self._since)
                if not self._lazy:
                    self._before = self._read(conn)
        elif action == DOWN:
            self._down, self._proven = len(self._since), False
            if self.data:
                changed = shapes.tables_changed(self._before, self._read(conn))
                problems = samples.fill(conn, changed, self._counter)
                self._pending.extend(self._row(sc, "data", SKIPPED, p) for p in problems)
                self._guard = Guard(self.database, measure=True, confirmed=True)
                self._watch = ExitStack()
                self._watch.enter_context(self._guard.watching())
                self._guard.start(sc.revision)
            if self.marks is not None:
                self.marks.upgraded()  # with its rows: where a failed stairway goes back to

    def _after_step(self, conn: Connection, action: str, sc: Script) -> None:
        rev = sc.revision
        if action == DOWN:
            self.applied.discard(rev)
            self._losses(sc)
            if self._lazy and not undone(self._since[self._mark:],
                                                  self.database.dialect):
                self._replay(sc)  # it did more: again, reading the schema before it
                return
            if self._lazy:
                self._left = ""
                self._proven = len(sc._normalized_down_revisions) == 1  # a stamp moves one row
                # they cancel out; where the upgrade's schema comes back, its statements stay
                del self._since[self._down if self._proven else self._mark:]
            else:
                self._left = shapes.differences(self._before, self._read(conn))
            self._pending.insert(0, self._row(sc, "no trace", FAILED if self._left else OK,
                                              self._left))
            return
        self.applied.add(rev)
        if action == UP and rev in self.tested and rev not in self._replayed:
            self.rows.append(self._row(sc, "upgrade", OK, ""))
        if action == AGAIN and self._proven:
            assert self.marks is not None
            self._proven = False
            self.marks.back_to_upgraded()  # the schema the upgrade made, and its version row
            self._stairway(self._row(sc, "stairway", OK, "the downgrade undid exactly what "
                                     "the upgrade made: the upgrade's schema restored"))
        elif action == AGAIN:
            self._stairway(self._row(sc, "stairway", OK, ""))
            if self.marks is not None and self._left:
                self.marks.back_to_upgraded()  # without what the downgrade left
                self._shape = None
        if action == AGAIN or rev not in self.stair:
            self._revision_done()

    def _stairway(self, row: TrialRow) -> None:
        """The stairway's row, after the downgrade's "no trace" (as they ran)."""
        first = bool(self._pending) and self._pending[0].check == "no trace"
        self._pending.insert(1 if first else 0, row)

    def _replay(self, sc: Script) -> None:
        """Undo a revision's upgrade and downgrade, to run them again after reading the
        schema before them."""
        assert self.marks is not None
        self.marks.back_to_start()
        del self._since[self._mark:]
        self._pending = []
        self._replayed.add(sc.revision)
        self.queue.extendleft([(DOWN, sc), (UP, sc)])

    def _losses(self, sc: Script) -> None:
        guard, self._guard = self._guard, None
        self.unwatch()
        if guard is None:
            return
        lost = [str(loss) for loss in guard.losses if loss.impact.count]
        self._pending.append(self._row(sc, "data", LOSES if lost else OK,
                                       "; ".join(lost) or "nothing lost"))

    def unwatch(self) -> None:
        """Stop the guard that counts what the running downgrade would lose."""
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    def _revision_done(self, count: int = 1) -> None:
        if self.marks is not None:
            self.marks.done()
        self.rows.extend(self._pending)
        self._pending = []
        self.done += count
        if self.on_progress is not None and self.rows:
            self.on_progress(self.rows[-1], self.done, len(self.plan))

    def _row(self, sc: Script, check: str, status: str, detail: str) -> TrialRow:
        return TrialRow(sc.revision, message_of(sc.module.__doc__), check, status, detail)

    # ------------------------------------------------------------- failures

    def failed(self, exc: BaseException, conn: Connection) -> None:
        """The running step raised: undo it, say so, and go on where the walk can (in a
        transaction, from the schema the revision's upgrade made; else without the
        revisions that need a revision that is not applied)."""
        assert self.running is not None
        action, sc = self.running
        self.running, self._capturing = None, False
        self.queue.popleft()
        self.unwatch()
        self._guard, self._shape = None, None  # rolled back: read all of it again
        self._proven = False
        if self.marks is not None:
            if action == UP:
                self.marks.back_to_start()
            else:
                self.marks.back_to_upgraded()
                self.applied.add(sc.revision)
        elif conn.in_transaction():
            conn.rollback()
        why = reason(exc, self.database)
        if action == DOWN:
            self._pending = [r for r in self._pending if r.check != "data"]
            irreversible = isinstance(exc, NotImplementedError)
            self.rows.append(self._row(
                sc, "stairway", IRREVERSIBLE if irreversible else FAILED,
                f"downgrade() raises {why}" if irreversible else f"the downgrade failed: {why}"))
            self.queue.popleft()  # its upgrade again: it is still applied
        elif action == UP:
            self.rows.append(self._row(sc, "upgrade", FAILED, why))
        else:
            self._stairway(self._row(sc, "stairway", FAILED,
                                     f"the upgrade after the downgrade failed: {why}"))
        if action == UP or (action == AGAIN and self.marks is None):
            self.reached = False
            self._revision_done()
            self._skip_after(sc)
        else:
            self._revision_done()
        self._check_heads(conn, sc)

    def _skip_after(self, failed: Script) -> None:
        """Drop the steps of the revisions that need ``failed``, a row for each."""
        applied = self.ws.project.applied
        kept: deque = deque()
        skipped = 0
        for action, sc in self.queue:
            if failed.revision not in applied((sc.revision,)):
                kept.append((action, sc))
            elif action == UP:
                skipped += 1
                if sc.revision in self.tested:
                    self.rows.append(self._row(sc, "upgrade", SKIPPED,
                                               f"not run: {short(failed.revision)} failed"))
        self.queue = kept
        if skipped:
            self.done += skipped

    def _check_heads(self, conn: Connection, sc: Script) -> None:
        """After a failure the database must be where the walk thinks it is."""
        heads = current_heads(conn, self.version, within=self.marks is not None)
        if set(self.ws.project.applied(heads)) != self.applied:
            raise NbMigrateError(
                f"test stopped after {short(sc.revision)} failed: the scratch database is at "
                f"{heads_text(heads)}, not where the walk left it (the project's env.py ran "
                "the revisions in one transaction, which rolled back whole)")

    # -------------------------------------------------------------- the model

    def models(self, context: Any) -> None:
        """The model against the head schema: autogenerate must find nothing."""
        head = ", ".join(short(h) for h in self.script.get_heads())
        if not self.reached:
            self.rows.append(TrialRow(head, "", "models", SKIPPED,
                                      "not compared: the upgrade did not reach the head"))
            return
        if self.model_skip:
            self.rows.append(TrialRow(head, "", "models", SKIPPED, self.model_skip))
            return
        try:
            found = self._compare(context)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a model that cannot be compared
            self.rows.append(TrialRow(head, "", "models", SKIPPED,
                                      f"not compared: {reason(exc, self.database)}"))
            return
        if found is None:
            self.rows.append(TrialRow(head, "", "models", SKIPPED,
                                      "no model: pass --metadata EXPR, or name it in "
                                      "alembic.ini as nbmigrate.metadata"))
            return
        parts = [f"{o.op} {'.'.join(filter(None, (o.table, o.name)))}" for o in found]
        self.rows.append(TrialRow(head, "", "models", FAILED if parts else OK,
                                  "autogenerate finds: " + "; ".join(parts) if parts
                                  else "autogenerate finds nothing"))

    def _compare(self, context: Any) -> list | None:
        if self.model is not None:
            return autogen.compare(context.connection, self.model,
                                   reflection=ReflectionCache(limit=1))[0]
        metadata = context.opts.get("target_metadata")  # a foreign env.py's own model
        if metadata is None:
            return None
        from alembic.autogenerate import produce_migrations

        migration = produce_migrations(context, metadata)
        autogen.drop_own_tables(migration)
        return autogen.operations(migration.upgrade_ops.as_diffs())
