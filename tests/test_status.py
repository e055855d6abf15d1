"""%migrate status: every named connection at once, unreachable ones included."""

from __future__ import annotations

from helpers import MODEL_CELL, server_url, with_password

PASSWORD = "Stat0sSecret"


def test_status_shows_every_database_and_never_a_traceback(nb, workdir):
    nb.ok(MODEL_CELL)
    nb.ok("%migrate init migrations --url sqlite:///main.db")
    nb.ok("%migrate revision --autogenerate -m users")
    nb.ok("%migrate upgrade head")
    nb.ok("%migrate connect --name behind sqlite:///behind.db")
    pg = with_password(server_url("postgresql"), PASSWORD)
    nb.ok(f"%migrate connect --name pg {pg}")
    with open(workdir / "alembic.ini", "a") as ini:  # a section whose server is down
        ini.write(f"\n[gone]\nsqlalchemy.url = postgresql+psycopg://u:{PASSWORD}@127.0.0.1:1/x\n")
    nb.ok("%migrate attach alembic.ini")
    out = nb.run("%migrate status")
    assert out.error is None
    status = out.result.set_index("name")
    assert list(status.index) == ["default", "behind", "pg", "gone"]
    assert status.loc["default", "pending"] == 0 and status.loc["default", "drift"] == 0
    assert status.loc["behind", "pending"] == 1 and status.loc["behind", "drift"] == 1
    assert status.loc["pg", "reachable"] and status.loc["pg", "current"].startswith("base")
    assert not status.loc["gone", "reachable"]
    assert "refused" in status.loc["gone", "note"] and "\n" not in status.loc["gone", "note"]
    assert PASSWORD not in out.shown and PASSWORD not in out.result._repr_html_()
    assert "Traceback" not in out.shown
