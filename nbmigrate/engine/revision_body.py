"""A hand-written revision from a notebook cell: its upgrade() and downgrade()."""

from __future__ import annotations

import ast
from pathlib import Path

from .errors import NbMigrateError


def check_body(body: str) -> None:
    """Refuse, in one line, a cell that is not valid Python or lacks either function."""
    try:
        tree = ast.parse(body)
    except SyntaxError as exc:
        raise NbMigrateError(
            f"the cell has a syntax error at line {exc.lineno}: {exc.msg}"
        ) from None
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    missing = [f"{name}()" for name in ("upgrade", "downgrade") if name not in defined]
    if missing:
        raise NbMigrateError(
            f"the cell must define upgrade() and downgrade(); missing {', '.join(missing)}"
        )
    assigned = sorted(_module_names(tree) & set(IDENTIFIERS))
    if assigned:
        raise NbMigrateError(
            f"the cell sets {', '.join(assigned)}, which nbmigrate writes itself: use "
            "--rev-id, --head, --branch-label or --depends-on instead; nothing written")


IDENTIFIERS = ("revision", "down_revision", "branch_labels", "depends_on")


def _module_names(tree: ast.Module) -> set[str]:
    """The names a script binds at module level: assigned, imported, defined, or declared
    ``global`` in a function."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            found.update(node.names)
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(statement.name)
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                found.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update((a.asname or a.name).split(".")[0] for a in node.names)
    return found


def write_body(path: Path, body: str) -> None:
    """Replace the template's upgrade()/downgrade() with the cell's own (its
    ``from __future__`` imports go first, after the docstring, where Python wants them)."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    first = min(n.lineno - len(getattr(n, "decorator_list", ())) for n in tree.body
                if isinstance(n, ast.FunctionDef) and n.name in ("upgrade", "downgrade"))
    lines = source.splitlines(keepends=True)
    docstring = tree.body[0].end_lineno if tree.body and isinstance(tree.body[0], ast.Expr) \
        else 0
    body_lines = body.strip().splitlines(keepends=True)
    cell = ast.parse(body)
    future = {n.lineno for n in cell.body
              if isinstance(n, ast.ImportFrom) and n.module == "__future__"}
    hoisted = [line for i, line in enumerate(body_lines, 1) if i in future]
    rest = [line for i, line in enumerate(body_lines, 1) if i not in future]
    header = lines[:docstring] + [line.rstrip("\n") + "\n" for line in hoisted] + \
        lines[docstring:first - 1]
    text = "".join(header).rstrip() + "\n\n\n" + "".join(rest).strip() + "\n"
    compile(text, str(path), "exec")  # the script Python will read: refuse it here if not
    path.write_text(text, encoding="utf-8")
