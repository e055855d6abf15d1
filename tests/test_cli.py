"""The nbmigrate command: the same grammar in a terminal, exit codes for CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import tables, version

from nbmigrate.grammar import build_parser, subparsers

MODELS = """
from sqlalchemy import Column, Integer, MetaData, String, Table
metadata = MetaData()
Table("items", metadata, Column("id", Integer, primary_key=True), Column("name", String(40)))
"""


def nbmigrate(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(cwd), **env}
    environ.pop("NBMIGRATE_URL", None) if "NBMIGRATE_URL" not in env else None
    return subprocess.run([sys.executable, "-m", "nbmigrate.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=environ)


def test_cli_journey_and_check_exit_codes(workdir):
    (workdir / "models.py").write_text(MODELS)
    url = f"sqlite:///{workdir / 'app.db'}"
    assert nbmigrate("init", "migrations", "--url", url, cwd=workdir).returncode == 0
    made = nbmigrate("revision", "-m", "items", "--autogenerate", "--metadata",
                     "models:metadata", cwd=workdir)
    assert made.returncode == 0 and "add_table" in made.stdout
    assert nbmigrate("upgrade", "head", cwd=workdir).returncode == 0
    assert "items" in tables(url)
    assert "is at" in nbmigrate("current", cwd=workdir).stdout
    assert "items" in nbmigrate("history", cwd=workdir).stdout
    assert nbmigrate("check", "--metadata", "models:metadata", cwd=workdir).returncode == 0

    (workdir / "models.py").write_text(MODELS.replace(
        'Column("name", String(40))', 'Column("name", String(40)), Column("price", Integer)'))
    drift = nbmigrate("check", "--metadata", "models:metadata", cwd=workdir)
    assert drift.returncode == 1
    assert drift.stderr.count("\n") == 1 and "items.price" in drift.stderr

    usage = nbmigrate("bogus", cwd=workdir)
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1
    unknown = nbmigrate("upgrade", "zzz", cwd=workdir)
    assert unknown.returncode == 1 and unknown.stderr.count("\n") == 1
    assert "Traceback" not in usage.stderr + unknown.stderr


def test_cli_database_from_env_and_config_from_elsewhere(workdir):
    project = workdir / "project"
    project.mkdir()
    (project / "models.py").write_text(MODELS)
    assert nbmigrate("init", "migrations", cwd=project).returncode == 0
    other = f"sqlite:///{workdir / 'other.db'}"
    made = nbmigrate("--url", other, "revision", "-m", "items", "--autogenerate",
                     "--metadata", "models:metadata", cwd=project)
    assert made.returncode == 0, made.stderr
    ini = str(project / "alembic.ini")
    assert nbmigrate("-c", ini, "upgrade", "head", cwd=workdir, NBMIGRATE_URL=other,
                     PYTHONPATH=str(project)).returncode == 0
    assert "items" in tables(other)
    third = f"sqlite:///{workdir / 'third.db'}"
    assert nbmigrate("-c", ini, "--url", third, "upgrade", "head", cwd=workdir).returncode == 0
    assert version(third) == version(other) != set()


def test_demo_runs_a_first_migration(tmp_path):
    out = subprocess.run([sys.executable, "-m", "nbmigrate.cli", "demo", str(tmp_path / "d")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for step in ("init", "revision --autogenerate", "upgrade head", "history", "downgrade -1"):
        assert f"%migrate {step}" in out.stdout
    demo = tmp_path / "d"
    assert (demo / "alembic.ini").is_file()
    scripts = sorted((demo / "migrations" / "versions").glob("*.py"))
    assert len(scripts) == 2
    assert len(version(f"sqlite:///{demo / 'demo.db'}")) == 1


def test_every_subcommand_has_help_everywhere(nb):
    names = subparsers(build_parser())
    main_help = nb.run("%migrate --help").stdout
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for name in names:
        assert name in main_help
        assert f"%migrate {name}" in readme, name
        shown = nb.run(f"%migrate {name} --help")
        assert shown.error is None and f"usage: %migrate {name}" in shown.stdout
    cli_help = subprocess.run([sys.executable, "-m", "nbmigrate.cli", "--help"],
                              capture_output=True, text=True).stdout
    assert all(name in cli_help for name in names) and "demo" in cli_help


def test_reload_ext_keeps_the_session(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok("%reload_ext nbmigrate")
    assert nb.ok("%migrate current").database == "default"
    nb.ok("%config NbMigrate.metadata = 'nothing_here'")
    assert "nothing_here" in nb.run("%migrate diff").error_line
