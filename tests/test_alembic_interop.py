"""Alembic interoperability: the plain `alembic` command and `%migrate` share projects.

nbmigrate writes ordinary Alembic environments that the `alembic` command runs,
runs revisions that `alembic revision` wrote, and drives a team's own
`alembic init` project without rewriting it (DESIGN.md, principle 1).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from helpers import (
    MODEL_CELL,
    MODELS_PY,
    alembic,
    restarted_notebook,
    snapshot,
    tables,
    team_project,
    version,
)
from IPython.core.error import UsageError

TEAM_REVISION = '''%%migrate revision -m "t"
def upgrade():
    op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

def downgrade():
    op.drop_table("t")
'''


def fill_in(script: Path, upgrade: str, downgrade: str) -> None:
    """Edit a revision script's empty upgrade()/downgrade(), as a user does."""
    text = script.read_text()
    text = text.replace('    """Upgrade schema."""\n    pass', f"    {upgrade}")
    text = text.replace('    """Downgrade schema."""\n    pass', f"    {downgrade}")
    assert upgrade in text and downgrade in text
    script.write_text(text)


# --- the plain alembic command on an environment nbmigrate wrote

def test_alembic_command_runs_an_environment_nbmigrate_wrote(nb, db_url, workdir):
    nb.ok(MODEL_CELL)
    nb.ok(f"%migrate init migrations --url {db_url}")
    rev = nb.ok("%migrate revision --autogenerate -m 'create users'").revision.revision
    assert version(db_url) == set()

    alembic("upgrade", "head", cwd=workdir, url=db_url)
    assert version(db_url) == {rev}
    assert "users" in tables(db_url)

    current = alembic("current", cwd=workdir, url=db_url)
    assert f"{rev} (head)" in current
    assert nb.ok("%migrate current").revisions == (rev,)
    history = alembic("history", cwd=workdir, url=db_url)
    assert f"<base> -> {rev} (head), create users" in history
    assert version(db_url) == {rev}  # reading changes nothing

    alembic("downgrade", "-1", cwd=workdir, url=db_url)
    assert version(db_url) == set()
    assert "users" not in tables(db_url)
    assert rev not in alembic("current", cwd=workdir, url=db_url)


# --- revisions alembic wrote, run from the notebook

def test_revisions_written_by_alembic_run_from_the_notebook(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    alembic("revision", "-m", "create t", "--rev-id", "hand1", cwd=workdir)
    alembic("revision", "-m", "create u", "--rev-id", "hand2", cwd=workdir)
    versions = workdir / "migrations" / "versions"
    fill_in(next(versions.glob("hand1_*.py")),
            'op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))',
            'op.drop_table("t")')
    fill_in(next(versions.glob("hand2_*.py")),
            'op.create_table("u", sa.Column("id", sa.Integer, primary_key=True))',
            'op.drop_table("u")')

    nb.ok("%migrate upgrade head")
    db = f"sqlite:///{workdir / 'app.db'}"
    assert version(db) == {"hand2"}
    assert {"t", "u"} <= tables(db)

    history = nb.ok("%migrate history")
    assert list(history["revision"]) == ["hand2", "hand1"]
    assert list(history["message"]) == ["create u", "create t"]
    assert list(history["applied"]) == [True, True]


# --- autogenerate from a terminal

def test_terminal_autogenerate_imports_the_model_named_in_alembic_ini(nb, workdir, models):
    nb.ok("%migrate init migrations --url sqlite:///x.db --metadata models:metadata")
    assert "nbmigrate.metadata = models:metadata" in (workdir / "alembic.ini").read_text()

    out = alembic("revision", "--autogenerate", "-m", "x", cwd=workdir)
    script = next((workdir / "migrations" / "versions").glob("*_x.py"))
    assert "op.create_table('things'" in script.read_text()
    assert script.name in out


def test_terminal_autogenerate_leaves_nbmigrates_audit_table_alone(nb, workdir, models):
    nb.ok("%migrate init migrations --url sqlite:///x.db --metadata models:metadata")
    nb.ok("%migrate revision --autogenerate -m things")
    nb.ok("%migrate upgrade head")  # the notebook's upgrade writes the nbmigrate_log table
    assert "nbmigrate_log" in tables(f"sqlite:///{workdir / 'x.db'}")

    models.write_text(MODELS_PY
                      + "Table('more', metadata, Column('id', Integer, primary_key=True))\n")
    alembic("revision", "--autogenerate", "-m", "more", cwd=workdir)
    script = next((workdir / "migrations" / "versions").glob("*_more.py")).read_text()
    assert "op.create_table('more'" in script
    assert "nbmigrate_log" not in script


# --- attach: a team's `alembic init` project, rewritten in nothing

def test_attach_drives_an_alembic_init_project_without_rewriting_it(nb, db_url, workdir):
    ini = team_project(workdir, db_url)
    env_py = workdir / "alembic" / "env.py"
    env_before = env_py.read_bytes()
    ini_before = ini.read_bytes()

    nb.ok("%migrate attach alembic.ini")
    rev = nb.ok(TEAM_REVISION).revision.revision
    assert version(db_url) == set()

    nb.ok("%migrate upgrade head")
    assert version(db_url) == {rev}
    assert "t" in tables(db_url)

    current = nb.ok("%migrate current")
    assert current.revisions == (rev,)
    assert current.pending == ()

    nb.ok("%migrate downgrade base")
    assert version(db_url) == set()
    assert "t" not in tables(db_url)

    assert env_py.read_bytes() == env_before
    assert ini.read_bytes() == ini_before


def test_an_attached_project_keeps_its_own_version_table(nb, db_url, workdir):
    team_project(workdir, db_url)
    env_py = workdir / "alembic" / "env.py"
    env_py.write_text(env_py.read_text().replace(
        "connection=connection, target_metadata=target_metadata",
        "connection=connection, target_metadata=target_metadata, "
        "version_table='team_versions'"))
    nb.ok("%migrate attach alembic.ini")
    rev = nb.ok(TEAM_REVISION).revision.revision
    assert nb.ok("%migrate current").revisions == ()
    nb.ok("%migrate upgrade head")
    assert "team_versions" in tables(db_url) and "alembic_version" not in tables(db_url)
    assert nb.ok("%migrate current").revisions == (rev,)
    history = nb.ok("%migrate history")
    assert list(history["current"]) == [True]
    assert rev in alembic("current", cwd=workdir)  # the plain command agrees
    nb.ok("%migrate downgrade base")
    assert nb.ok("%migrate current").revisions == ()


# --- alembic.ini sections as named connections

def test_ini_sections_with_a_url_become_named_connections(nb, workdir):
    team = f"sqlite:///{workdir / 'team.db'}"
    staging = f"sqlite:///{workdir / 'staging.db'}"
    team_project(workdir, team, staging=staging)
    nb.ok("%migrate attach alembic.ini")
    rev = nb.ok(TEAM_REVISION).revision.revision

    connections = nb.ok("%migrate connections")
    assert list(connections["name"]) == ["default", "staging"]

    nb.ok("%migrate upgrade head --db staging")
    assert version(staging) == {rev}
    assert "t" in tables(staging)
    assert version(team) == set()
    assert "t" not in tables(team)
    assert nb.ok("%migrate current --db staging").revisions == (rev,)
    assert nb.ok("%migrate current").revisions == ()
    assert rev in alembic("--name", "staging", "current", cwd=workdir)
    assert rev not in alembic("current", cwd=workdir)


def test_nbmigrate_url_is_the_database_an_attached_project_migrates(nb, workdir, monkeypatch):
    in_ini = f"sqlite:///{workdir / 'team.db'}"
    from_env = f"sqlite:///{workdir / 'ci.db'}"
    team_project(workdir, in_ini)
    monkeypatch.setenv("NBMIGRATE_URL", from_env)
    nb.ok("%migrate attach alembic.ini")
    assert list(nb.ok("%migrate connections")["url"]) == [from_env]
    rev = nb.ok(TEAM_REVISION).revision.revision

    nb.ok("%migrate upgrade head")
    assert nb.ok("%migrate current").revisions == (rev,)
    assert version(from_env) == {rev}
    assert version(in_ini) == set()


# --- the notebook's logging

@pytest.fixture
def notebook_logger() -> Any:
    """A logger the notebook configured; all logging is put back as it was afterwards."""
    manager = logging.Logger.manager
    existed = "mynotebook" in manager.loggerDict
    everyone = [logging.getLogger(), *(lg for lg in manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    saved = [(lg, lg.level, list(lg.handlers), lg.disabled) for lg in everyone]
    mine = logging.getLogger("mynotebook")
    mine.disabled = False
    mine.addHandler(logging.StreamHandler())
    mine.setLevel(logging.DEBUG)
    yield mine
    mine.handlers.clear()
    for lg, level, handlers, disabled in saved:  # undo whatever an env.py did
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.disabled = disabled
    if not existed:  # a later test's getLogger("mynotebook") gets a fresh logger
        manager.loggerDict.pop("mynotebook", None)


def logging_state(mine: logging.Logger) -> tuple:
    """What a user would check: their logger works as configured, the root is unchanged."""
    root = logging.getLogger()
    return mine.disabled, mine.level, list(mine.handlers), root.level, list(root.handlers)


@pytest.mark.parametrize("project", ["alembic init", "nbmigrate template"])
def test_notebook_logging_is_not_clobbered(nb, workdir, notebook_logger, project):
    before = logging_state(notebook_logger)
    if project == "alembic init":
        team_project(workdir, f"sqlite:///{workdir / 'team.db'}")
        nb.ok("%migrate attach alembic.ini")
    else:
        nb.ok("%migrate init migrations --url sqlite:///own.db")
    nb.ok(TEAM_REVISION)
    nb.ok("%migrate upgrade head")
    assert logging_state(notebook_logger) == before


@pytest.mark.parametrize("project", ["alembic init", "nbmigrate template"])
def test_notebook_logging_survives_autogenerate(nb, workdir, models, notebook_logger, project):
    before = logging_state(notebook_logger)
    if project == "alembic init":
        team_project(workdir, f"sqlite:///{workdir / 'team.db'}")
        env_py = workdir / "alembic" / "env.py"  # the team imports its model in env.py
        env_py.write_text(env_py.read_text().replace(
            "target_metadata = None", "from models import metadata as target_metadata"))
        nb.ok("%migrate attach alembic.ini")
    else:
        nb.ok("%migrate init migrations --url sqlite:///own.db --metadata models:metadata")
    made = nb.run("%migrate revision --autogenerate -m things")
    assert made.error is None and "op.create_table('things'" in made.result.source
    assert "INFO" not in made.stdout + made.stderr  # env.py's fileConfig printed nothing
    applied = nb.run("%migrate upgrade head")
    assert applied.error is None and "INFO" not in applied.stdout + applied.stderr
    assert logging_state(notebook_logger) == before


def test_diff_and_check_ask_an_attached_projects_own_env_py(nb, workdir, models):
    db = f"sqlite:///{workdir / 'team.db'}"
    team_project(workdir, db)
    env_py = workdir / "alembic" / "env.py"  # the team imports its model in env.py
    env_py.write_text(env_py.read_text().replace(
        "target_metadata = None", "from models import metadata as target_metadata"))
    nb.ok("%migrate attach alembic.ini")  # and the notebook defines no model at all
    diff = nb.ok("%migrate diff")
    assert [(o.op, o.table) for o in diff.operations] == [("add_table", "things")]
    assert "CREATE TABLE things" in diff.sql and "env.py" in diff.title()
    out = nb.run("%migrate check")
    assert "differ: add_table things" in out.error_line
    nb.ok("%migrate revision --autogenerate -m things")
    nb.ok("%migrate upgrade head")
    assert nb.ok("%migrate diff").empty and nb.run("%migrate check").error is None
    assert "things" in tables(db)


# --- init --template

def test_init_with_alembics_generic_template(nb, workdir):
    nb.ok("%migrate init mig --template generic --url sqlite:///g.db")
    env_py = (workdir / "mig" / "env.py").read_text()
    assert "fileConfig(config.config_file_name)" in env_py
    assert "target_metadata = None" in env_py

    rev = nb.ok(TEAM_REVISION).revision.revision
    nb.ok("%migrate upgrade head")
    db = f"sqlite:///{workdir / 'g.db'}"
    assert version(db) == {rev}
    assert "t" in tables(db)


def test_init_with_a_custom_template_directory(nb, workdir):
    custom = workdir / "team_template"
    shutil.copytree(Path(Config().get_template_directory()) / "generic", custom,
                    ignore=shutil.ignore_patterns("__pycache__"))
    mako = custom / "script.py.mako"
    mako.write_text("# made from the team template\n" + mako.read_text())

    nb.ok(f"%migrate init mig --template {custom} --url sqlite:///c.db")
    made = nb.ok("%migrate revision -m x")
    assert Path(made.path).read_text().startswith("# made from the team template\n")
    nb.ok("%migrate upgrade head")
    assert version(f"sqlite:///{workdir / 'c.db'}") == {made.revision.revision}


def test_init_with_an_unknown_template_names_the_choices_and_writes_nothing(nb, workdir):
    before = snapshot(workdir)
    out = nb.run("%migrate init mig --template nonsense --url sqlite:///n.db")
    assert isinstance(out.error, UsageError)
    assert "\n" not in out.error_line
    assert "nonsense" in out.error_line
    for choice in ("nbmigrate", "generic", "async", "multidb"):
        assert choice in out.error_line
    assert snapshot(workdir) == before
    assert not (workdir / "mig").exists()


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


# --- init never overwrites

@pytest.mark.parametrize("existing", ["migrations/env.py", "alembic.ini"])
def test_init_refuses_to_overwrite_an_existing_project(nb, workdir, existing):
    (workdir / existing).parent.mkdir(exist_ok=True)
    (workdir / existing).write_text("# the team's own file\n")
    before = snapshot(workdir)

    out = nb.run("%migrate init migrations --url sqlite:///a.db")
    assert isinstance(out.error, UsageError)
    assert "\n" not in out.error_line
    assert "already exists" in out.error_line
    assert snapshot(workdir) == before


def test_init_refuses_an_existing_directory(nb, workdir):
    (workdir / "migrations").mkdir()
    (workdir / "migrations" / "notes.txt").write_text("mine")
    before = snapshot(workdir)
    out = nb.run("%migrate init migrations --url sqlite:///a.db")
    assert "already exists" in out.error_line and "\n" not in out.error_line
    assert snapshot(workdir) == before


def test_init_run_again_uses_the_environment_it_made(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok('%%migrate revision -m one --rev-id r1\ndef upgrade():\n    pass\n\n'
          'def downgrade():\n    pass\n')
    assert "sqlite:///%(here)s/app.db" in (workdir / "alembic.ini").read_text()  # can move
    before = snapshot(workdir)
    shown_before = str(nb.ok("%migrate connections"))

    again = restarted_notebook()  # Run All after a kernel restart
    note = again.ok("%migrate init migrations --url sqlite:///app.db")
    assert "using the Alembic environment" in str(note)
    assert snapshot(workdir) == before
    assert str(again.ok("%migrate connections")) == shown_before  # the URL reads the same
    assert again.ok("%migrate upgrade head").steps[-1].revision == "r1"


def test_init_run_again_with_other_options_says_what_differs(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    before = snapshot(workdir)
    out = nb.run("%migrate init migrations --url sqlite:///other.db")
    assert isinstance(out.error, UsageError) and "\n" not in out.error_line
    assert "its database is" in out.error_line and "other.db" in out.error_line
    assert "nothing changed" in out.error_line
    out = nb.run("%migrate init migrations --url sqlite:///app.db --template generic")
    assert "made with the nbmigrate template, not generic" in out.error_line
    assert snapshot(workdir) == before
