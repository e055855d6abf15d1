"""nbmigrate and the plain alembic command work on the same projects, both ways."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from helpers import MODEL_CELL, snapshot, table_revision, tables, version


def alembic(*args: str, cwd: Path, url: str | None = None) -> str:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    env.pop("NBMIGRATE_URL", None)
    if url:
        env["NBMIGRATE_URL"] = url
    out = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=cwd, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_plain_alembic_drives_an_nbmigrate_project(nb, db_url, workdir):
    nb.ok(MODEL_CELL)
    nb.ok(f"%migrate init migrations --url {db_url}")
    rev = nb.ok("%migrate revision --autogenerate -m users").revision.revision
    alembic("upgrade", "head", cwd=workdir, url=db_url)
    assert version(db_url) == {rev} and "users" in tables(db_url)
    assert rev in alembic("current", cwd=workdir, url=db_url)
    assert "users" in alembic("history", cwd=workdir, url=db_url)
    alembic("downgrade", "-1", cwd=workdir, url=db_url)
    assert version(db_url) == set() and "users" not in tables(db_url)


def test_alembic_revisions_run_in_the_notebook(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    alembic("revision", "-m", "by hand", "--rev-id", "hand1", cwd=workdir)
    script = next((workdir / "migrations" / "versions").glob("hand1_*.py"))
    script.write_text(script.read_text()
                      .replace('    """Upgrade schema."""\n    pass',
                               '    op.create_table("t", sa.Column("id", sa.Integer))')
                      .replace('    """Downgrade schema."""\n    pass', '    op.drop_table("t")'))
    nb.ok("%migrate upgrade head")
    assert version(f"sqlite:///{workdir / 'app.db'}") == {"hand1"}
    assert list(nb.ok("%migrate history")["message"]) == ["by hand"]


def test_terminal_autogenerate_uses_the_model_named_at_init(nb, workdir, monkeypatch):
    monkeypatch.syspath_prepend(str(workdir))  # as in a kernel started in this folder
    (workdir / "models.py").write_text(
        "from sqlalchemy import Column, Integer, MetaData, Table\nmetadata = MetaData()\n"
        "Table('things', metadata, Column('id', Integer, primary_key=True))\n")
    nb.ok("%migrate init migrations --url sqlite:///x.db --metadata models:metadata")
    alembic("revision", "--autogenerate", "-m", "things", cwd=workdir)
    script = next((workdir / "migrations" / "versions").glob("*_things.py")).read_text()
    assert "op.create_table('things'" in script


@pytest.fixture
def team_project(workdir):
    """A project made by `alembic init alembic`, on a SQLite file, plus a [staging] db."""
    alembic("init", "alembic", cwd=workdir)
    ini = workdir / "alembic.ini"
    text = ini.read_text().replace("driver://user:pass@localhost/dbname",
                                   f"sqlite:///{workdir / 'team.db'}")
    ini.write_text(text + f"\n[staging]\nscript_location = %(here)s/alembic\n"
                   f"sqlalchemy.url = sqlite:///{workdir / 'staging.db'}\n")
    return workdir


BODY = table_revision("t1", "t")


def test_attach_drives_a_team_project_without_rewriting_it(nb, team_project):
    env_py = (team_project / "alembic" / "env.py").read_bytes()
    ini = (team_project / "alembic.ini").read_bytes()
    nb.ok("%migrate attach alembic.ini")
    nb.ok(BODY)
    team = f"sqlite:///{team_project / 'team.db'}"
    nb.ok("%migrate upgrade head")
    assert version(team) == {"t1"} and "t" in tables(team)
    assert nb.ok("%migrate current").revisions == ("t1",)
    nb.ok("%migrate downgrade base")
    assert version(team) == set()
    assert (team_project / "alembic" / "env.py").read_bytes() == env_py
    assert (team_project / "alembic.ini").read_bytes() == ini


def test_ini_sections_become_named_connections(nb, team_project):
    nb.ok("%migrate attach alembic.ini")
    nb.ok(BODY)
    names = list(nb.ok("%migrate connections")["name"])
    assert names == ["default", "staging"]
    nb.ok("%migrate upgrade head --db staging")
    assert version(f"sqlite:///{team_project / 'staging.db'}") == {"t1"}
    assert version(f"sqlite:///{team_project / 'team.db'}") == set()


@pytest.mark.parametrize("attach", [True, False])
def test_notebook_logging_survives(nb, team_project, attach):
    mine = logging.getLogger("mynotebook")
    handler = logging.StreamHandler()
    mine.addHandler(handler)
    mine.setLevel(logging.DEBUG)
    root_handlers = list(logging.getLogger().handlers)
    try:
        if attach:
            nb.ok("%migrate attach alembic.ini")
        else:
            nb.ok("%migrate init own/migrations --url sqlite:///own.db")
        nb.ok(BODY)
        nb.ok("%migrate upgrade head")
        assert not mine.disabled and mine.level == logging.DEBUG and mine.handlers == [handler]
        assert logging.getLogger().handlers == root_handlers
    finally:
        mine.removeHandler(handler)


def test_alembic_and_custom_templates(nb, workdir):
    nb.ok("%migrate init generic_mig --template generic --url sqlite:///g.db")
    assert "fileConfig(config.config_file_name)" in (workdir / "generic_mig" / "env.py").read_text()
    custom = workdir / "custom_template"
    shutil.copytree(Path(Config().get_template_directory()) / "generic", custom)
    mako = custom / "script.py.mako"
    mako.write_text("# made from our team template\n" + mako.read_text())
    (workdir / "alembic.ini").unlink()  # one alembic.ini per folder: start another project
    nb.ok(f"%migrate init custom_mig --template {custom} --url sqlite:///c.db")
    made = nb.ok("%migrate revision -m first")
    assert Path(made.path).read_text().startswith("# made from our team template")
    (workdir / "alembic.ini").unlink()
    before = snapshot(workdir)
    out = nb.run("%migrate init other --template nonsense")
    assert "generic" in out.error_line and "\n" not in out.error_line
    assert snapshot(workdir) == before


def test_init_refuses_an_existing_directory(nb, workdir):
    (workdir / "migrations").mkdir()
    (workdir / "migrations" / "notes.txt").write_text("mine")
    before = snapshot(workdir)
    out = nb.run("%migrate init migrations --url sqlite:///a.db")
    assert "already exists" in out.error_line and "\n" not in out.error_line
    assert snapshot(workdir) == before
