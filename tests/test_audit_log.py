"""The audit log: every step recorded in the database, shown by %migrate log."""

from __future__ import annotations

import getpass

from helpers import table_revision, tables, team_project

import nbmigrate


def test_every_step_is_logged_with_who_when_and_how_it_ended(nb, db_url):
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok(table_revision("a1", "ta"))
    nb.ok(table_revision("b2", "tb"))
    nb.ok("%migrate upgrade head")
    nb.ok("%migrate downgrade -1")
    nb.ok("%migrate stamp b2")
    nb.ok(table_revision("c3", "tc", 'raise RuntimeError("broken")'))
    assert nb.run("%migrate upgrade head").error is not None
    log = nb.ok("%migrate log")
    steps = list(zip(log["action"], log["revision"], log["direction"], log["success"],
                     strict=True))
    assert steps == [("upgrade", "c3", "up", False), ("stamp", "b2", "stamp", True),
                     ("downgrade", "b2", "down", True), ("upgrade", "b2", "up", True),
                     ("upgrade", "a1", "up", True)]
    assert "broken" in log["error"].iloc[0] and log["error"].iloc[1:].isna().all()
    assert (log["os_user"] == getpass.getuser()).all()
    assert (log["nbmigrate_version"] == nbmigrate.__version__).all()
    assert list(log["from_revision"].iloc[1:]) == ["a1", "b2", "a1", ""]
    assert log["started_at"].is_monotonic_decreasing

    history = nb.ok("%migrate history")
    applied_at = dict(zip(history["revision"], history["applied_at"], strict=True))
    assert applied_at["a1"] == log["started_at"].iloc[-1]
    assert applied_at["c3"] is None or str(applied_at["c3"]) == "NaT"


def test_autogenerate_never_proposes_to_drop_the_log(nb, db_url, model_cell, workdir):
    nb.ok(model_cell)
    nb.ok(f"%migrate init migrations --url {db_url}")
    nb.ok("%migrate revision --autogenerate -m users")
    nb.ok("%migrate upgrade head")
    assert "nbmigrate_log" in tables(db_url)
    assert nb.ok("%migrate diff").empty
    assert "no changes" in str(nb.ok("%migrate revision --autogenerate -m again"))


def test_a_team_env_py_does_not_drop_the_log_either(nb, workdir, models):
    team_project(workdir, f"sqlite:///{workdir / 'team.db'}")
    env = workdir / "alembic" / "env.py"  # the team's env.py imports its models
    models.write_text("from sqlalchemy import MetaData\nmetadata = MetaData()\n")
    env.write_text(env.read_text().replace("target_metadata = None",
                                           "from models import metadata as target_metadata"))
    nb.ok("%migrate attach alembic.ini")
    nb.ok("%migrate stamp base")  # creates the log table in team.db
    assert "nbmigrate_log" in tables(f"sqlite:///{workdir / 'team.db'}")
    result = nb.ok("%migrate revision --autogenerate -m nothing")
    assert "no changes" in str(result)
    assert not list((workdir / "alembic" / "versions").glob("*.py"))
