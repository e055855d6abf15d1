"""Authoring: compare the model with a database, and write revision and merge scripts."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import RevisionContext, render_python_code
from alembic.operations.ops import ModifyTableOps
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from . import autogen
from .advice import Command
from .connections import Database
from .errors import DriftDetected, NbMigrateError
from .recorder import render_sql
from .renames import apply as apply_renames
from .renames import diffs as rename_safe_diffs
from .renames import hints as rename_hints
from .renames import parse as parse_renames
from .renames import rows as rename_rows
from .results import Diff, Note, Operation, RevisionCreated, RevisionInfo
from .revision_body import check_body, write_body
from .runner import preserve_logging, run_env
from .text import script_text
from .workspace import Workspace

ENV_MODEL = "of the project's env.py"  # how a diff names the model an attached env.py imports


def diff(ws: Workspace, *, db: str | None = None, metadata: str | None = None,
         on_progress: autogen.TableProgress | None = None) -> Diff:
    """Model against database; nothing is written. An attached project's env.py that
    imports its own models is asked when the notebook names no model (it chooses its own
    autogenerate options, so ``on_progress``, told of each table compared, is not)."""
    try:
        model, label = ws.model(metadata)
    except NbMigrateError:
        try:
            foreign = ws.foreign()
        except NbMigrateError:  # no project either: the missing model is the news
            foreign = False
        if not foreign:
            raise
        database = ws.database(db)
        return _diff_through_env(ws, database)
    database = ws.database(db)
    with ws.connect(database, create=False) as conn:
        ops, code, renames, migration_ops = autogen.compare(conn, model,
                                                            on_progress=on_progress)
        dialect = conn.dialect
    return Diff(ops, code, label, database.name, renames,
                _sql_later(migration_ops, dialect))


def _sql_later(operations: list[Any], dialect: Any) -> Any:
    """The operations' SQL for ``dialect``, rendered when first asked for (most diffs are
    read as a table, and rendering a big one costs time)."""

    @functools.cache
    def render() -> str:
        return "\n".join(render_sql(operations, dialect)) if operations else ""

    return render


def _diff_through_env(ws: Workspace, database: Database) -> Diff:
    """The differences the project's own env.py finds between its models and ``database``
    (as ``alembic check`` does), writing nothing."""
    script = ws.project.script
    with ws.environment(database) as config:
        context = RevisionContext(config, script, {
            "message": None, "autogenerate": True, "sql": False, "head": "head",
            "splice": False, "branch_label": None, "version_path": None, "rev_id": None,
            "depends_on": None,
        })

        def compare(rev: Any, migration_context: Any) -> list:
            context.run_autogenerate(rev, migration_context)
            return []

        run_env(config, script, compare, guard_logging=True, as_sql=False,
                template_args=context.template_args, revision_context=context)
    generated = context.generated_revisions[-1]
    autogen.drop_own_tables(generated)
    upgrade = generated.upgrade_ops
    rows = autogen.operations(rename_safe_diffs(upgrade))
    code = render_python_code(upgrade) if rows else ""
    flat = [o for top in upgrade.ops
            for o in (top.ops if isinstance(top, ModifyTableOps) else [top])]
    return Diff(rows, code, ENV_MODEL, database.name, rename_hints(upgrade) if rows else [],
                _sql_later(flat, database.engine.dialect))


def check(ws: Workspace, *, db: str | None = None, metadata: str | None = None,
          on_progress: autogen.TableProgress | None = None) -> Diff:
    """Like diff, but raises DriftDetected when model and database differ."""
    result = diff(ws, db=db, metadata=metadata, on_progress=on_progress)
    if not result.empty:
        raise DriftDetected(
            f"model {result.model} and {result.database} differ: {result.summary()} (",
            Command("diff"), " shows them; ", Command("revision", "--autogenerate", "-m", "MSG"),
            " writes them)")
    return result


def revision(ws: Workspace, message: str, *, autogenerate: bool = False,
             rev_id: str | None = None, head: str = "head", splice: bool = False,
             branch_label: str | None = None, depends_on: str | None = None,
             body: str | None = None, renames: Sequence[str] = (),
             matching: Sequence[Operation] | None = None, db: str | None = None,
             metadata: str | None = None, on_progress: autogen.TableProgress | None = None
             ) -> RevisionCreated | Note:
    """Write a revision script: empty, autogenerated, or with ``body``'s functions.
    ``on_progress`` is told of each table autogenerate compares (where nbmigrate's env.py
    runs it; an attached project's own env.py chooses its options)."""
    if autogenerate and body is not None:
        raise NbMigrateError("a cell body and --autogenerate cannot be used together")
    wanted = parse_renames(list(renames))
    if wanted and not autogenerate:
        raise NbMigrateError("--rename rewrites what autogenerate finds: add --autogenerate")
    if body is not None:
        check_body(body)
    _check_rev_id(rev_id)
    message = script_text(message)
    project = ws.project
    script = project.script
    foreign = not project.env_is_ours()
    _refuse_reuse(script, rev_id, branch_label)
    captured: dict[str, Any] = {}
    label = database = model = None
    counter: autogen.TableCounter | None = None  # counts the tables compared, for on_progress
    kwargs: dict[str, Any] = {}
    if autogenerate:
        database = ws.database(db)
        try:
            model, label = ws.model(metadata)
        except NbMigrateError:
            if not foreign:
                raise
            model = None  # the project's own env.py imports its models

        def keep_if_changed(context: Any, revision: Any, directives: list) -> None:
            for generated in directives:
                autogen.drop_own_tables(generated)
                apply_renames(generated, wanted)
                captured.setdefault("renames", []).extend(rename_hints(generated.upgrade_ops))
            ops = [op for s in directives for op in s.upgrade_ops_list]
            captured["operations"] = autogen.operations(
                [d for op in ops for d in rename_safe_diffs(op)]
            ) + [row for op in ops for row in rename_rows(op)]
            # an attached project's env.py chooses its own compare options, so its
            # result may differ from diff()'s without anything having changed
            if matching is not None and not foreign and list(matching) != captured["operations"]:
                raise NbMigrateError(
                    "the model or the database changed since the preview: nothing "
                    "written; autogenerate again to see what would be written now"
                )
            if all(op.is_empty() for op in ops):
                directives[:] = []  # Alembic would write an empty script

        kwargs["process_revision_directives"] = keep_if_changed
    with ws.environment(database, metadata=model) as config, \
            _remove_new_files_on_error(script), \
            preserve_logging() if foreign else contextlib.nullcontext(), \
            autogen.gc_paused() if autogenerate else contextlib.nullcontext():
        if autogenerate:  # reuse the last diff's reflection (an attached env.py ignores it)
            from .reflection import configure_options

            options, counter = autogen.counting(configure_options(), on_progress)
            config.attributes["nbmigrate.configure"].update(options)
        try:
            created = command.revision(
                config, message, autogenerate=autogenerate, head=head, splice=splice,
                branch_label=branch_label, rev_id=rev_id, depends_on=depends_on, **kwargs,
            )
        except CommandError as exc:
            if "not up to date" in str(exc):
                raise NbMigrateError(
                    f"{database.name if database else 'the database'} is not at head: run ",
                    Command("upgrade", "heads" if len(script.get_heads()) > 1 else "head"),
                    " before autogenerating") from None
            raise
        if counter is not None:
            counter.finish()
        if body is not None and created:  # inside: a body that fails leaves no file
            assert not isinstance(created, list)
            try:
                write_body(Path(created.path), body)
            except SyntaxError as exc:
                raise NbMigrateError(f"the cell cannot become a revision script: {exc.msg} "
                                     f"at line {exc.lineno}; nothing written") from None
        project.invalidate()
        if created:  # a script every later command could not read is not kept
            try:
                made = project.script.get_revision(created.revision)
            except NbMigrateError as exc:
                raise NbMigrateError(f"{exc}; nothing written") from None
            except (CommandError, RevisionError):
                made = None
            if made is None or Path(made.path) != Path(created.path):
                raise NbMigrateError(f"the new script does not read as revision "
                                     f"{created.revision}: nothing written")
    if not created:
        return Note(
            f"no changes: model {label or ''} and {database.name if database else ''} "
            "match; no revision written".replace("  ", " ")
        )
    assert not isinstance(created, list)
    info = RevisionInfo.from_script(project.script.get_revision(created.revision))
    return RevisionCreated(info, captured.get("operations", []), label,
                           captured.get("renames", []))


def merge(ws: Workspace, revisions: Sequence[str] = ("heads",), *, message: str | None = None,
          branch_label: str | None = None, rev_id: str | None = None) -> RevisionCreated:
    """Write a merge revision joining ``revisions`` (default: every head)."""
    _check_rev_id(rev_id)
    message = script_text(message)
    project = ws.project
    revisions = list(revisions) or ["heads"]
    if revisions == ["heads"] and len(project.script.get_heads()) < 2:
        raise NbMigrateError("nothing to merge: the history has a single head")
    with ws.environment(None) as config:
        created = command.merge(
            config, revisions, message=message, branch_label=branch_label, rev_id=rev_id
        )
    project.invalidate()
    merged = project.script.get_revision(created.revision)
    return RevisionCreated(RevisionInfo.from_script(merged))


def _check_rev_id(rev_id: str | None) -> None:
    """A revision id becomes a file name: letters, digits, - and _ only."""
    if rev_id is not None and not re.fullmatch(r"[\w\-]+", rev_id):
        raise NbMigrateError(f"--rev-id {rev_id!r}: use letters, digits, - and _ only")


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (RevisionError, CommandError):
        return False


def _refuse_reuse(script: ScriptDirectory, rev_id: str | None, branch_label: str | None) -> None:
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


def _version_files(script: ScriptDirectory) -> set[Path]:
    return {p for loc in (script.version_locations or [script.versions])
            for p in Path(loc).rglob("*.py")}


@contextlib.contextmanager
def _remove_new_files_on_error(script: ScriptDirectory) -> Iterator[None]:
    """If writing a revision fails half-way, leave no new script behind."""
    before = _version_files(script)
    try:
        yield
    except BaseException:
        for path in _version_files(script) - before:
            path.unlink()
        raise
