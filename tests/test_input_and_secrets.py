"""Mistakes give one line and change nothing; passwords are never shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import server_url
from helpers import MODEL_CELL, snapshot, version
from IPython.core.error import UsageError

BAD_LINES = [
    "%migrate bogus",
    "%migrate upgrade zzz",
    "%migrate downgrade nope",
    "%migrate downgrade",
    "%migrate revision",
    "%migrate connect",
    "%migrate connect notaurl://",
    "%migrate connect 'foo bar'",
    "%migrate connect nosuchdialect://x/y",
    "%migrate connect undefined_variable",
    "%migrate connect an_int",
    "%migrate init migrations",
    "%migrate upgrade 'unbalanced",
    "%migrate history -r x",
    "%migrate show",
    "%migrate stamp nope",
    "%migrate upgrade head --db nowhere",
    "%migrate diff --metadata no_such_name",
    "%migrate diff --metadata an_int",
    "%%migrate upgrade head\nprint('a cell body')",
]


@pytest.fixture
def applied(nb, workdir):
    """A project with one applied revision, so that "changes nothing" means something."""
    nb.ok(MODEL_CELL)
    nb.ok("an_int = 42")
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    rev = nb.ok("%migrate revision --autogenerate -m users").revision.revision
    nb.ok("%migrate upgrade head")
    return rev


@pytest.mark.parametrize("line", BAD_LINES)
def test_bad_input_is_one_line_and_changes_nothing(nb, workdir, applied, line):
    before = snapshot(workdir)
    out = nb.run(line)
    assert isinstance(out.error, UsageError), out.error
    assert out.error_line and "\n" not in out.error_line
    assert "Traceback" not in out.shown
    assert snapshot(workdir) == before
    assert version(f"sqlite:///{workdir / 'app.db'}") == {applied}


def test_a_failing_magic_stops_run_all(nb, applied):
    result = nb.shell.run_cell("%migrate upgrade zzz")
    assert result.success is False


PASSWORD = "S3cretPassw0rd"


def test_password_never_shown(nb, workdir):
    url = server_url("postgresql").replace("postgres@", f"postgres:{PASSWORD}@")
    nb.ok(MODEL_CELL)
    shown = [nb.run(f"%migrate init migrations --url {url}")]
    for line in ["connections", "revision --autogenerate -m users", "upgrade head --sql",
                 "upgrade head", "current", "history", "heads", "diff", "downgrade -1",
                 "upgrade zzz", f"connect --name down {url.replace('5432', '1')}",
                 f"connect --name bad mysql+pymysql://root:{PASSWORD}@127.0.0.1:3306/test"]:
        shown.append(nb.run(f"%migrate {line}"))
    nb.ok(f"import sqlalchemy\neng = sqlalchemy.create_engine({url!r})")
    shown += [nb.run("%migrate connect --name eng eng"), nb.run("%migrate connections")]
    for out in shown:
        assert PASSWORD not in out.shown
        if out.result is not None and hasattr(out.result, "_repr_html_"):
            assert PASSWORD not in out.result._repr_html_()
    assert "***" in shown[-1].result._repr_html_()
    assert shown[-2].error is None and shown[-3].error is not None  # refused login
    for path in workdir.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_engine_imports_no_front_end(tmp_path):
    engine_dir = Path(__file__).resolve().parent.parent / "nbmigrate" / "engine"
    for source in engine_dir.rglob("*.py"):
        for line in source.read_text().splitlines():
            assert not line.strip().startswith(("import IPython", "from IPython",
                                                "import ipywidgets", "from ipywidgets")), source
    code = f"""
import sys
from nbmigrate.engine import Session
from sqlalchemy import Column, Integer, MetaData, Table
md = MetaData(); Table("t", md, Column("id", Integer, primary_key=True))
s = Session(namespace={{"md": md}}, workdir={str(tmp_path)!r})
s.init("migrations", url="sqlite:///{tmp_path}/x.db")
s.revision("t", autogenerate=True); s.upgrade("head"); s.history(); s.current()
print(sorted(m for m in ("IPython", "ipywidgets") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_import_is_light():
    code = ("import sys, nbmigrate, nbmigrate.magics; print(sorted(m for m in "
            "('pandas', 'alembic.autogenerate', 'alembic', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_several_models_are_named_and_one_can_be_picked(nb, workdir):
    nb.ok(MODEL_CELL)
    nb.ok(MODEL_CELL.replace("class Base(", "class Other(").replace("(Base)", "(Other)")
          .replace('"users"', '"people"').replace("class User(", "class Person("))
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    out = nb.run("%migrate diff")
    assert "Base" in out.error_line and "Other" in out.error_line
    assert [o.table for o in nb.ok("%migrate diff --metadata Other").operations] == ["people"]
    nb.ok("%config NbMigrate.metadata = 'Base'")
    assert [o.table for o in nb.ok("%migrate diff").operations] == ["users"]


def test_base_and_its_metadata_are_one_model_and_rerun_uses_newest(nb, workdir):
    nb.ok(MODEL_CELL)
    nb.ok("meta = Base.metadata")
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok("%migrate revision --autogenerate -m users")
    nb.ok("%migrate upgrade head")
    assert nb.ok("%migrate diff").empty
    nb.ok(MODEL_CELL + "    email: Mapped[str] = mapped_column(String(80))\n")
    nb.ok("meta = Base.metadata")
    assert [(o.op, o.name) for o in nb.ok("%migrate diff").operations] == [
        ("add_column", "email")
    ]
