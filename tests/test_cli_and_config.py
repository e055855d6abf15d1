"""The `nbmigrate` console command, `nbmigrate demo`, help everywhere, %reload_ext and %config."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    MODEL_CELL,
    OTHER_BASE_CELL,
    ROOT,
    added_tables,
    nbmigrate,
    snapshot,
    tables,
    version,
)

from nbmigrate import cli
from nbmigrate.cli import main
from nbmigrate.engine.errors import UsageProblem
from nbmigrate.grammar import COMMANDS, build_parser, subparsers

README = ROOT / "README.md"
MAGIC_COMMANDS = sorted(subparsers(build_parser()))
CLI_COMMANDS = sorted(subparsers(build_parser("nbmigrate", cli=True)))

MODELS = """
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
items = Table("items", metadata,
              Column("id", Integer, primary_key=True),
              Column("name", String(40)))
"""
MODELS_WITH_PRICE = MODELS + 'items.append_column(Column("price", Integer))\n'


def one_line(stderr: str) -> str:
    """The single line of an error on stderr."""
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert "Traceback" not in stderr
    return stderr.strip()


@pytest.fixture
def project(workdir):
    """A folder with a models.py module, as in a repository."""
    (workdir / "models.py").write_text(MODELS)
    return workdir


def test_console_command_journey_and_exit_codes(project):
    url = f"sqlite:///{project / 'app.db'}"
    run = lambda *args: nbmigrate(*args, cwd=project, pythonpath=project)  # noqa: E731

    init = run("init", "migrations", "--url", "sqlite:///app.db")
    assert init.returncode == 0, init.stderr
    assert "created an Alembic environment" in init.stdout
    assert (project / "alembic.ini").is_file() and (project / "migrations" / "env.py").is_file()

    made = run("revision", "-m", "create items", "--autogenerate", "--metadata", "models:metadata")
    assert made.returncode == 0, made.stderr
    assert "add_table" in made.stdout and "items" in made.stdout
    scripts = list((project / "migrations" / "versions").glob("*.py"))
    assert len(scripts) == 1
    rev = scripts[0].name.split("_")[0]
    assert rev in made.stdout

    up = run("upgrade", "head")
    assert up.returncode == 0, up.stderr
    assert version(url) == {rev} and "items" in tables(url)

    current = run("current")
    assert current.returncode == 0 and rev in current.stdout
    history = run("history")
    assert history.returncode == 0 and rev in history.stdout and "create items" in history.stdout

    in_sync = run("check", "--metadata", "models:metadata")
    assert in_sync.returncode == 0, in_sync.stderr
    assert in_sync.stderr == ""

    (project / "models.py").write_text(MODELS_WITH_PRICE)
    before = snapshot(project)
    drift = run("check", "--metadata", "models:metadata")
    assert drift.returncode == 1
    assert "items.price" in one_line(drift.stderr)
    assert snapshot(project) == before  # check writes nothing

    usage = run("bogus")
    assert usage.returncode == 2
    assert "bogus" in one_line(usage.stderr)
    nothing = run()
    assert nothing.returncode == 2
    assert "SUBCOMMAND" in one_line(nothing.stderr)
    missing = run("downgrade")
    assert missing.returncode == 2
    assert "TARGET" in one_line(missing.stderr)

    unknown = run("upgrade", "zzz")
    assert unknown.returncode == 1
    assert "zzz" in one_line(unknown.stderr)
    assert version(url) == {rev}

    down = run("downgrade", "-1")
    assert down.returncode == 0, down.stderr
    assert version(url) == set()


def test_check_uses_the_model_named_at_init(project):
    run = lambda *args: nbmigrate(*args, cwd=project, pythonpath=project)  # noqa: E731
    init = run("init", "migrations", "--url", "sqlite:///app.db", "--metadata", "models:metadata")
    assert init.returncode == 0, init.stderr
    assert run("revision", "-m", "items", "--autogenerate").returncode == 0
    assert run("upgrade", "head").returncode == 0
    assert run("check").returncode == 0
    (project / "models.py").write_text(MODELS_WITH_PRICE)
    drift = run("check")
    assert drift.returncode == 1
    assert "items.price" in one_line(drift.stderr)


def test_the_terminal_knows_each_subcommand_by_name():
    # a command line is parsed by its sub-command's grammar alone where COMMANDS names it
    assert set(subparsers(build_parser("nbmigrate", cli=True))) == COMMANDS
    for argv in (["-c", "check", "upgrade"], ["--url", "sqlite://", "-c", "heads", "current"],
                 ["revision", "-m", "upgrade"], ["upgrade", "--bogus"]):
        try:
            whole = vars(build_parser("nbmigrate", cli=True).parse_args(argv))
        except UsageProblem as exc:
            whole = str(exc)
        try:
            ours = vars(cli._parsed(argv))
        except UsageProblem as exc:
            ours = str(exc)
        assert ours == whole, argv


def test_help_lists_every_subcommand(workdir):
    shown = nbmigrate("--help", cwd=workdir)
    assert shown.returncode == 0 and shown.stderr == ""
    assert shown.stdout.startswith("usage: nbmigrate")
    for name in CLI_COMMANDS:
        assert re.search(rf"^\s+{name}\s", shown.stdout, re.M), name
    assert set(MAGIC_COMMANDS) | {"demo"} == set(CLI_COMMANDS) | {"ui"}  # ui: notebook only


@pytest.mark.parametrize("name", CLI_COMMANDS)
def test_each_subcommand_has_help_in_the_terminal(name, capsys):
    assert main([name, "--help"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith(f"usage: nbmigrate {name}") and out.err == ""


def test_url_option_and_env_var_choose_the_database(project):
    run = lambda *args, **env: nbmigrate(*args, cwd=project, pythonpath=project, **env)  # noqa: E731
    in_ini = f"sqlite:///{project / 'ini.db'}"
    from_env = f"sqlite:///{project / 'env.db'}"
    from_option = f"sqlite:///{project / 'option.db'}"
    assert run("init", "migrations", "--url", in_ini).returncode == 0
    made = run("revision", "-m", "items", "--autogenerate", "--metadata", "models:metadata",
               NBMIGRATE_URL=from_env)
    assert made.returncode == 0, made.stderr

    assert run("upgrade", "head", NBMIGRATE_URL=from_env).returncode == 0
    assert "items" in tables(from_env)
    assert not (project / "ini.db").exists() or "items" not in tables(in_ini)
    assert "env.db" in run("current", NBMIGRATE_URL=from_env).stdout

    # --url wins over NBMIGRATE_URL, which wins over alembic.ini
    assert run("--url", from_option, "upgrade", "head", NBMIGRATE_URL=from_env).returncode == 0
    assert "items" in tables(from_option)
    assert version(from_option) == version(from_env) != set()
    assert run("--url", from_option, "downgrade", "base", NBMIGRATE_URL=from_env).returncode == 0
    assert version(from_option) == set() and version(from_env) != set()

    assert run("upgrade", "head").returncode == 0  # neither: the ini's database
    assert "items" in tables(in_ini)


def test_config_option_from_another_directory(project, tmp_path):
    db = project / "app.db"
    run = lambda *args, cwd=project: nbmigrate(*args, cwd=cwd, pythonpath=project)  # noqa: E731
    assert run("init", "migrations", "--url", f"sqlite:///{db}").returncode == 0
    assert run("revision", "-m", "items", "--autogenerate", "--metadata",
               "models:metadata").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ini = os.path.relpath(project / "alembic.ini", elsewhere)

    up = run("-c", ini, "upgrade", "head", cwd=elsewhere)
    assert up.returncode == 0, up.stderr
    assert "items" in tables(f"sqlite:///{db}")
    rev = next(iter(version(f"sqlite:///{db}")))
    assert rev in run("-c", ini, "current", cwd=elsewhere).stdout
    assert rev in run("-c", ini, "history", cwd=elsewhere).stdout
    assert run("-c", ini, "check", "--metadata", "models:metadata", cwd=elsewhere).returncode == 0
    assert list(elsewhere.iterdir()) == []

    missing = run("-c", "no/such/alembic.ini", "current", cwd=elsewhere)
    assert missing.returncode == 1
    assert "alembic.ini" in one_line(missing.stderr)


def test_relative_sqlite_url_follows_the_project_from_another_directory(project, tmp_path):
    # `init --url sqlite:///app.db` as in the README, then CI runs from the repository root
    run = lambda *args, cwd=project: nbmigrate(*args, cwd=cwd, pythonpath=project)  # noqa: E731
    assert run("init", "migrations", "--url", "sqlite:///app.db").returncode == 0
    assert run("revision", "-m", "items", "--autogenerate", "--metadata",
               "models:metadata").returncode == 0
    assert run("upgrade", "head").returncode == 0
    rev = next(iter(version(f"sqlite:///{project / 'app.db'}")))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    current = run("-c", str(project / "alembic.ini"), "current", cwd=elsewhere)
    assert current.returncode == 0, current.stderr
    assert rev in current.stdout, current.stdout  # the project's database, not a new one
    assert list(elsewhere.iterdir()) == []


# ------------------------------------------------------------------------ demo


def test_demo_runs_to_completion(tmp_path):
    demo = tmp_path / "demo"
    out = nbmigrate("demo", "demo", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    for step in ("init migrations", "revision --autogenerate", "upgrade head",
                 "diff", "upgrade head --sql", "history", "downgrade -1", "current"):
        assert f"%migrate {step}" in out.stdout, step
    assert "demo finished" in out.stdout

    assert (demo / "alembic.ini").is_file()
    scripts = list((demo / "migrations" / "versions").glob("*.py"))
    assert len(scripts) == 2
    dbs = list(demo.glob("*.db"))
    assert len(dbs) == 1
    first = next(p.name.split("_")[0] for p in scripts if "create_users" in p.name)
    assert version(f"sqlite:///{dbs[0]}") == {first}
    assert first in out.stdout

    again = nbmigrate("demo", "demo", cwd=tmp_path)
    assert again.returncode == 1
    assert "exists" in one_line(again.stderr)


def test_demo_project_works_with_plain_alembic_from_its_folder(tmp_path):
    assert nbmigrate("demo", "demo", cwd=tmp_path).returncode == 0
    demo = tmp_path / "demo"
    first = next(p.name.split("_")[0] for p in (demo / "migrations" / "versions").glob("*.py")
                 if "create_users" in p.name)
    # the demo ends with: cd DIR && alembic history (the plain alembic command works too)
    alembic = subprocess.run([str(Path(sys.executable).with_name("alembic")), "current"],
                             cwd=demo, capture_output=True, text=True, timeout=120)
    assert alembic.returncode == 0, alembic.stderr.strip().splitlines()[-1]
    assert first in alembic.stdout
    assert [p.name for p in demo.rglob("*.db")] == ["demo.db"]


def test_demo_without_a_directory_uses_a_new_temporary_one(tmp_path, workdir):
    out = nbmigrate("demo", cwd=workdir, TMPDIR=str(tmp_path))
    assert out.returncode == 0, out.stderr
    made = [p for p in tmp_path.iterdir() if p.name.startswith("nbmigrate-demo")]
    assert len(made) == 1 and str(made[0]) in out.stdout
    assert len(list((made[0] / "migrations" / "versions").glob("*.py"))) == 2


# ------------------------------------------------------------ help in a notebook


def test_every_subcommand_is_in_the_magic_help_and_the_readme(nb):
    shown = nb.run("%migrate --help")
    assert shown.error is None and shown.result is None
    assert shown.stdout.startswith("usage: %migrate")
    readme = README.read_text(encoding="utf-8")
    for name in MAGIC_COMMANDS:
        assert re.search(rf"^\s+{name}\s", shown.stdout, re.M), f"{name} not in %migrate --help"
        assert re.search(rf"%%?migrate {name}\b", readme), f"%migrate {name} not in README.md"


@pytest.mark.parametrize("name", MAGIC_COMMANDS)
def test_each_subcommand_has_working_help(nb, workdir, name):
    shown = nb.run(f"%migrate {name} --help")
    assert shown.error is None, shown.error
    assert shown.result is None and shown.stderr == ""
    assert shown.stdout.startswith(f"usage: %migrate {name}")
    assert list(workdir.iterdir()) == []  # --help runs nothing
    assert nb.run(f"%migrate {name} -h").stdout == shown.stdout


# ------------------------------------------------------ %reload_ext and %config

def config_classes(nb) -> list[str]:
    """The names `%config` lists as configurable."""
    out = nb.run("%config")
    return [line.strip() for line in out.stdout.splitlines()[1:] if line.strip()]


def test_reload_ext_keeps_working(nb, workdir):
    nb.ok(MODEL_CELL)
    nb.ok(OTHER_BASE_CELL)
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok("%migrate connect --name second sqlite:///second.db")
    rev = nb.ok("%migrate revision --autogenerate -m users --metadata Base").revision.revision
    nb.ok("%migrate upgrade head")

    nb.ok("%reload_ext nbmigrate")

    current = nb.ok("%migrate current")
    assert current.database == "default"
    assert current.revisions == (rev,)
    assert list(nb.ok("%migrate connections")["name"]) == ["default", "second"]
    assert "Base2" in nb.run("%migrate diff").error_line  # still asks which model

    nb.ok("%config NbMigrate.metadata = 'Base'")
    assert nb.ok("%migrate diff").empty
    nb.ok("%config NbMigrate.metadata = 'Base2'")
    assert added_tables(nb.ok("%migrate diff")) == ["orders"]

    nb.ok("%reload_ext nbmigrate")  # twice is as fine as once
    assert nb.ok("%config NbMigrate.metadata") == "Base2"
    assert added_tables(nb.ok("%migrate diff")) == ["orders"]
    nb.ok("%config NbMigrate.metadata = ''")  # back to finding the one model
    assert "Base2" in nb.run("%migrate diff").error_line
    assert nb.ok("%migrate current").revisions == (rev,)


def test_config_lists_nbmigrate_once(nb):
    assert config_classes(nb).count("NbMigrate") == 1
    nb.ok("%reload_ext nbmigrate")
    nb.ok("%reload_ext nbmigrate")
    assert config_classes(nb).count("NbMigrate") == 1


def test_config_directory_is_the_default_for_init(nb, workdir):
    nb.ok("%config NbMigrate.directory = 'db'")
    nb.ok("%migrate init --url sqlite:///app.db")
    assert (workdir / "db" / "env.py").is_file()
    assert not (workdir / "migrations").exists()


def test_terminal_hints_name_the_terminal_command(workdir):
    missing = nbmigrate("upgrade", cwd=workdir)
    assert missing.returncode == 1
    assert "nbmigrate init" in missing.stderr and "%migrate" not in missing.stderr
    nbmigrate("init", "--url", "sqlite:///app.db", cwd=workdir)
    made = nbmigrate("revision", "-m", "first", cwd=workdir)
    assert "then: nbmigrate upgrade head" in made.stdout and "%migrate" not in made.stdout
