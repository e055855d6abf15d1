"""Autogenerate through a project's own env.py, for an attached project whose env.py
imports its models itself (as ``alembic check`` does), writing nothing."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import RevisionContext, render_python_code
from alembic.config import Config
from alembic.operations.ops import ModifyTableOps
from alembic.script import ScriptDirectory

from . import autogen
from .connections import Database
from .renames import diffs, hints
from .results import Diff
from .runner import run_env

LABEL = "of the project's env.py"


def diff_through_env(config: Config, script: ScriptDirectory, database: Database) -> Diff:
    """The differences the project's env.py finds between its models and ``database``."""
    context = RevisionContext(config, script, {
        "message": None, "autogenerate": True, "sql": False, "head": "head", "splice": False,
        "branch_label": None, "version_path": None, "rev_id": None, "depends_on": None,
    })

    def compare(rev: Any, migration_context: Any) -> list:
        context.run_autogenerate(rev, migration_context)
        return []

    run_env(config, script, compare, guard_logging=True, as_sql=False,
            template_args=context.template_args, revision_context=context)
    generated = context.generated_revisions[-1]
    autogen.drop_own_tables(generated)
    upgrade = generated.upgrade_ops
    rows = autogen.operations(diffs(upgrade))
    code = render_python_code(upgrade) if rows else ""
    flat = [o for top in upgrade.ops
            for o in (top.ops if isinstance(top, ModifyTableOps) else [top])]
    return Diff(rows, code, LABEL, database.name, hints(upgrade) if rows else [], flat,
                database.engine.dialect)
