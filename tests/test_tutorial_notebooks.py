"""The tutorial notebooks run top to bottom in a fresh kernel, and the README lists them.

A cell that fails on purpose, to teach what a failing check looks like, carries the
cell tag ``raises-exception``: Jupyter (nbclient, JupyterLab) shows its error and goes
on. Any other cell must not fail, and a tagged cell must fail as nbmigrate fails: one
UsageError line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import nbformat
import pytest
from helpers import ROOT
from nbclient import NotebookClient

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
FAILS_ON_PURPOSE = "raises-exception"


class Run(NamedTuple):
    """A notebook run top to bottom: its cells with their outputs, how long it took, and
    the indexes of the cells that failed."""

    nb: nbformat.NotebookNode
    seconds: float
    failed: set[int]


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Run]:
    """Runs a notebook in a fresh kernel as Run All does (a cell that fails stops it,
    unless tagged raises-exception), once for all the tests here."""
    done: dict[Path, Run] = {}

    def run(path: Path) -> Run:
        if path not in done:
            nb = nbformat.read(path, as_version=4)
            failed: set[int] = set()
            started = time.perf_counter()
            NotebookClient(nb, timeout=60, kernel_name="python3",
                           resources={"metadata": {"path": str(tmp_path_factory.mktemp(
                               path.stem))}},
                           on_cell_error=lambda cell_index, **_: failed.add(cell_index)
                           ).execute()
            done[path] = Run(nb, time.perf_counter() - started, failed)
        return done[path]

    return run


def shown(cell: nbformat.NotebookNode) -> str:
    """What a reader sees under a cell: printed text (IPython prints a UsageError's one
    line to stderr), each output's text, an error's line."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
        else:
            parts.append(out.data.get("text/plain", ""))
    return "\n".join(parts)


def usage_error(cell: nbformat.NotebookNode) -> str:
    """The one UsageError line a failed cell shows ("" if none)."""
    lines = [line for line in shown(cell).splitlines() if line.startswith("UsageError: ")]
    return lines[-1].removeprefix("UsageError: ") if lines else ""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_and_fast(path, executed):
    committed = nbformat.read(path, as_version=4)
    assert not any(c.get("outputs") for c in committed.cells if c.cell_type == "code"), \
        "commit notebooks without outputs"
    run = executed(path)
    assert run.seconds < 30
    for index, cell in enumerate(run.nb.cells):
        if FAILS_ON_PURPOSE in cell.metadata.get("tags", []):  # a check failing, as taught
            assert index in run.failed and usage_error(cell), \
                f"a cell tagged {FAILS_ON_PURPOSE} must fail with one line:\n{cell.source}"
        else:  # Run All would have stopped here
            assert index not in run.failed, f"{cell.source}\n{shown(cell)}"
            assert not any(o.output_type == "error" for o in cell.get("outputs", []))


def test_testing_and_validating_finds_the_leak_and_the_edit(executed):
    """Notebook 06 shows what a reader is told to look for: ``test`` names the leaky
    revision, the check and the column, then passes once the downgrade is fixed;
    ``validate`` and ``status`` name the edited revision; after ``--accept`` it passes."""
    run = executed(ROOT / "notebooks" / "06-testing-and-validating.ipynb")
    cells = {c.get("id"): c for c in run.nb.cells}
    failed = {run.nb.cells[i].get("id") for i in run.failed}
    assert failed == {"test-leaky", "validate-edited"}

    assert "every check passed" in shown(cells["test-passes"])
    leak = usage_error(cells["test-leaky"])
    assert leak.startswith("test failed: contact03 no trace:") and "users.country" in leak
    report = shown(cells["test-leaky"])  # the table shows above the line
    assert re.search(r"contact03 +contact details +no trace +failed +the downgrade left "
                     r"column users\.country", report), report
    assert re.search(r"contact03 +contact details +stairway +failed", report), report
    assert "every check passed" in shown(cells["test-fixed"])

    assert "3 applied revision(s) match their files" in shown(cells["validate-passes"])
    edit = usage_error(cells["validate-edited"])
    assert "contact03 (edited)" in edit and "--accept" in edit
    status = cells["status-edited"].outputs[0].data["text/html"]
    assert "applied revision(s) changed since: contact03" in status
    assert "accepted contact03's file as applied" in shown(cells["validate-accept"])
    after = shown(cells["validate-after"])
    assert "3 applied revision(s) match their files" in after and "edited" not in after
    assert "all good" in shown(cells["check"])


def test_readme_and_notebooks_name_each_other():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"notebooks/([\w-]+\.ipynb)", readme))
    assert named == {p.name for p in NOTEBOOKS}
