"""The journey in a real Jupyter kernel, executed with nbclient as "Run All" does."""

from __future__ import annotations

import pytest
from helpers import MODEL_CELL, MODEL_WITH_EMAIL_CELL, columns, notebook, run_all, version
from nbclient.exceptions import CellExecutionError


def html_of(cell) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs)


def test_journey_in_a_real_kernel(workdir):
    nb = run_all(notebook(
        "%load_ext nbmigrate",
        MODEL_CELL,
        "%migrate init migrations --url sqlite:///app.db",
        "%migrate revision --autogenerate -m 'create users'",
        "%migrate upgrade head",
        MODEL_WITH_EMAIL_CELL,
        "%migrate revision --autogenerate -m 'add email'",
        "%migrate upgrade head",
        "h = %migrate history\nh",
        "%migrate downgrade -1",
        "%migrate current",
    ), workdir)
    url = f"sqlite:///{workdir / 'app.db'}"
    first = nb.cells[3].outputs[0]["data"]["text/plain"].split()[2]
    assert version(url) == {first}
    assert "email" not in columns(url, "users")
    history = html_of(nb.cells[8])
    assert "<table class=nbm-table>" in history and history.count("<tr class=nbm-mark>") == 1
    assert "is at " + first in nb.cells[10].outputs[0]["data"]["text/plain"]
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.outputs)


def test_a_mistake_stops_run_all_with_one_line(workdir):
    nb = notebook(
        "%load_ext nbmigrate",
        "%migrate init migrations --url sqlite:///app.db",
        "%migrate upgrade no_such_revision",
        "ran_after_the_error = True",
    )
    with pytest.raises(CellExecutionError) as failure:
        run_all(nb, workdir)
    shown = nb.cells[2].outputs
    assert [o["output_type"] for o in shown] == ["stream"]  # no traceback output at all
    text = shown[0]["text"].strip()
    assert text.startswith("UsageError: ") and "no_such_revision" in text and "\n" not in text
    assert nb.cells[3].outputs == []  # "Run All" stopped at the failing cell
    assert "UsageError" in str(failure.value)
