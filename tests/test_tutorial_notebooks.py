"""The tutorial notebooks run top to bottom in a fresh kernel, and the README lists them."""

from __future__ import annotations

import re
import time

import nbformat
import pytest
from helpers import ROOT, run_all

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_and_fast(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit notebooks without outputs"
    started = time.perf_counter()
    run_all(nb, tmp_path, timeout=60)
    assert time.perf_counter() - started < 30
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors


def test_readme_and_notebooks_name_each_other():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"notebooks/([\w-]+\.ipynb)", readme))
    assert named == {p.name for p in NOTEBOOKS}
