"""The package's layers: imports point down, never in a circle, and dialects stay in backends.

``engine`` knows nothing of the notebook, ``display`` turns engine results into
views, ``widgets`` and ``grammar`` sit on both, and the front ends (magics, the
command line, the demo) on top. A module-level import that points up the layers,
or a circle of imports, is what makes a layer impossible to use or test alone.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import ROOT

PACKAGE = ROOT / "nbmigrate"
LAYERS = {"engine": 0, "display": 1, "widgets": 2, "grammar": 2, "progress": 2, "magics": 3,
          "cli": 3,
          "demo": 3}
# dialect == "sqlite", dialect.name in ("mysql", ...), url.get_backend_name() != "..."
DIALECT_CHECK = re.compile(r"""(dialect(\.name)?|get_backend_name\(\))\s*"""
                           r"""(==|!=|(not\s+)?in)\s*[(\[{]?\s*["']""")


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "templates" in path.parts:  # env.py templates run without nbmigrate
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def module_level_imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``name`` imports when it is imported (not inside functions,
    not only for type checkers)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found |= {t for t in [base] + [f"{base}.{a.name}" for a in node.names] if t in known}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
    return found - {name}


def layer(name: str) -> int:
    parts = name.split(".")
    return LAYERS.get(parts[1], 4) if len(parts) > 1 else 4


def test_imports_point_down_the_layers():
    known = modules()
    upward = [(name, target) for name, path in known.items()
              for target in module_level_imports(name, path, set(known))
              if layer(target) > layer(name)]
    assert upward == []


def test_no_module_imports_itself_in_a_circle():
    known = modules()
    graph = {name: module_level_imports(name, path, set(known)) for name, path in known.items()}

    def reaches(start: str) -> set[str]:
        seen, todo = set(), list(graph[start])
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(graph[current])
        return seen

    circles = sorted(name for name in graph if name in reaches(name))
    assert circles == []


def test_dialect_differences_live_in_the_backends():
    engine = PACKAGE / "engine"
    checks = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
              for path in engine.rglob("*.py")
              if "backends" not in path.parts and "templates" not in path.parts
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if DIALECT_CHECK.search(line)]
    assert checks == []
