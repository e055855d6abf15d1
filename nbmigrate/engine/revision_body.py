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


def write_body(path: Path, body: str) -> None:
    """Replace the template's upgrade()/downgrade() with the cell's own."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    first = min(n.lineno - len(getattr(n, "decorator_list", ())) for n in tree.body
                if isinstance(n, ast.FunctionDef) and n.name in ("upgrade", "downgrade"))
    header = source.splitlines(keepends=True)[: first - 1]
    path.write_text("".join(header).rstrip() + "\n\n\n" + body.strip() + "\n", encoding="utf-8")
