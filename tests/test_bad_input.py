"""Mistakes in a notebook: one line, nothing changed, Run All stops, no password shown.

Also: how the model is found in the notebook, and that the engine stays free of
IPython and ipywidgets.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import (
    MODEL_CELL,
    MODEL_WITH_EMAIL_CELL,
    OTHER_BASE_CELL,
    ROOT,
    RUN_DATABASE,
    added_tables,
    columns,
    empty_schema,
    everything_shown,
    nbmigrate,
    paths,
    server_url,
    snapshot,
    version,
    with_password,
)
from IPython.core.error import UsageError

PACKAGE = ROOT / "nbmigrate"


@pytest.fixture
def project(nb, workdir):
    """A SQLite project at its first revision, with a second one written but not applied."""
    nb.ok(MODEL_CELL)
    nb.ok("an_int = 42")
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    first = nb.ok("%migrate revision --autogenerate -m 'create users'").revision.revision
    nb.ok("%migrate upgrade head")
    nb.ok(MODEL_WITH_EMAIL_CELL)
    nb.ok("%migrate revision --autogenerate -m 'add email'")
    url = f"sqlite:///{workdir / 'app.db'}"
    assert version(url) == {first}
    return url


BAD_LINES = {
    "unknown sub-command": ("%migrate bogus", "bogus"),
    "unknown upgrade target": ("%migrate upgrade zzz", "zzz"),
    "unknown downgrade target": ("%migrate downgrade nope", "nope"),
    "downgrade without a target": ("%migrate downgrade", "TARGET"),
    "revision without -m": ("%migrate revision", "-m"),
    "autogenerate without -m": ("%migrate revision --autogenerate", "-m"),
    "connect without a target": ("%migrate connect", "URL_OR_VARIABLE"),
    "url with no dialect": ("%migrate connect notaurl://", "notaurl"),
    "url with a space": ("%migrate connect 'foo bar'", "foo bar"),
    "unknown dialect": ("%migrate connect nosuchdialect://x/y", "nosuchdialect"),
    "refused login": ("%migrate connect mysql+pymysql://root:WrongPassw0rd@127.0.0.1:3306/test",
                      "cannot connect"),
    "refused port": ("%migrate connect postgresql+psycopg://postgres@127.0.0.1:1/test",
                     "cannot connect"),
    "name that is no variable": ("%migrate connect no_such_variable", "no_such_variable"),
    "variable holding an int": ("%migrate connect an_int", "an_int"),
    "init over the existing dir": ("%migrate init migrations", "already holds"),
    "init with the default dir": ("%migrate init", "already holds"),
    "init beside an alembic.ini": ("%migrate init elsewhere", "alembic.ini"),
    "unbalanced quotes": ("%migrate upgrade 'head", "quot"),
    "history range without a colon": ("%migrate history -r x", "START:END"),
    "unknown connection name": ("%migrate upgrade head --db nowhere", "nowhere"),
    "show without a revision": ("%migrate show", "REV"),
    "stamp an unknown revision": ("%migrate stamp nope", "nope"),
    "stamp --purge a target Alembic cannot place": ("%migrate stamp head +0 --purge", "+0"),
    "upgrade with a cell body": ("%%migrate upgrade\nprint('not a revision')", "revision"),
    "upgrade head with a cell body": ("%%migrate upgrade head\nx = 1", "revision"),
    "downgrade with a cell body": ("%%migrate downgrade -1\nx = 1", "revision"),
}


@pytest.mark.parametrize("line, named", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_bad_input_is_one_line_and_changes_nothing(nb, workdir, project, line, named):
    files, folders = snapshot(workdir), paths(workdir)
    at = version(project)
    connections = nb.ok("%migrate connections").to_string()

    out = nb.run(line)

    assert isinstance(out.error, UsageError), f"{line!r}: {out.error!r}"
    assert out.error_line and "\n" not in out.error_line
    assert named in out.error_line, out.error_line
    assert out.stdout == ""
    assert out.stderr.strip() == f"UsageError: {out.error_line}"  # all that is shown: one line
    assert "Traceback" not in out.shown
    assert snapshot(workdir) == files
    assert paths(workdir) == folders
    assert version(project) == at
    assert "email" not in columns(project, "users")
    assert nb.ok("%migrate connections").to_string() == connections


@pytest.mark.parametrize("cell", [
    "%migrate upgrade zzz",
    "%migrate bogus",
    "%migrate connect no_such_variable",
    "%migrate upgrade zzz\nafter_the_magic = True",
])
def test_a_failing_magic_stops_run_all(nb, project, cell):
    result = nb.shell.run_cell(cell, store_history=True)
    assert result.success is False
    assert isinstance(result.error_in_exec, UsageError)
    assert "after_the_magic" not in nb.ns  # the rest of the cell did not run either


@pytest.mark.parametrize("typed, meant", [("upgrde", "upgrade"), ("histroy", "history"),
                                          ("upgrade head --sqll", "--sql")])
def test_a_near_miss_is_named(nb, workdir, typed, meant):
    out = nb.run(f"%migrate {typed}")
    assert isinstance(out.error, UsageError)
    assert out.error_line.count("did you mean") == 1 and f"did you mean {meant}?" in out.error_line
    assert "choose from" not in out.error_line  # not the list of every sub-command
    done = nbmigrate(*typed.split(), cwd=workdir)
    assert done.returncode == 2 and f"did you mean {meant}?" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ passwords

PASSWORD = "S3cretPassw0rd"
WRONG_PASSWORD = "WrongPassw0rd"
PG_REFUSED_PORT = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test"
MARIADB_WRONG_PASSWORD = f"mysql+pymysql://root:{WRONG_PASSWORD}@127.0.0.1:3306/test"


@pytest.fixture
def pg_with_password():
    """The PostgreSQL test database, empty, by a URL holding a password (trust auth takes it)."""
    url = with_password(server_url("postgresql"), PASSWORD)
    yield url
    empty_schema(url)


def test_password_never_shown(nb, workdir, pg_with_password, log_messages):
    nb.ok(MODEL_CELL)
    ran = {}

    def cell(code: str):
        ran[code] = nb.run(code)
        return ran[code]

    assert cell(f"%migrate connect {pg_with_password}").error is None
    assert cell(f"%migrate init migrations --url {pg_with_password}").error is None
    for line in ["connections", "revision --autogenerate -m 'create users'", "current",
                 "history", "heads", "upgrade head --sql", "upgrade head", "current",
                 "history", "diff", "check", "downgrade -1", "upgrade head"]:
        out = cell(f"%migrate {line}")
        assert out.error is None, f"{line}: {out.error!r}"
    cell("h = %migrate history")
    cell("h")
    cell("%migrate connections")

    # failures carry the URL in their message: the password must still be masked
    for line in ["upgrade zzz", f"connect {MARIADB_WRONG_PASSWORD}",
                 f"connect --name down {PG_REFUSED_PORT}", "show nope"]:
        out = cell(f"%migrate {line}")
        assert isinstance(out.error, UsageError), f"{line}: {out.error!r}"
        assert "\n" not in out.error_line
    assert "Access denied" in ran[f"%migrate connect {MARIADB_WRONG_PASSWORD}"].error_line
    assert "***" in ran[f"%migrate connect --name down {PG_REFUSED_PORT}"].error_line

    # an Engine the user made, password and all
    nb.ok(f"import sqlalchemy\neng = sqlalchemy.create_engine({pg_with_password!r})")
    try:
        assert cell("%migrate connect eng").error is None
        for line in ["connections", "current", "history", "heads", "diff",
                     "downgrade -1", "upgrade head --sql", "upgrade head"]:
            out = cell(f"%migrate {line}")
            assert out.error is None, f"{line}: {out.error!r}"
        cell("%migrate connect --name again eng")
        cell("%migrate connections")
    finally:
        nb.ns["eng"].dispose()

    masked = ran["%migrate connections"]
    assert f"postgres:***@127.0.0.1:5432/{RUN_DATABASE}" in everything_shown(masked)
    for code, out in ran.items():
        seen = everything_shown(out)
        assert PASSWORD not in seen, code
        assert WRONG_PASSWORD not in seen, code
        assert "Traceback" not in seen, code
    assert log_messages  # Alembic did log
    for message in log_messages:
        assert PASSWORD not in message and WRONG_PASSWORD not in message, message

    written = [p for p in workdir.rglob("*") if p.is_file()]
    assert workdir / "alembic.ini" in written
    for path in written:
        assert PASSWORD.encode() not in path.read_bytes(), path
        assert WRONG_PASSWORD.encode() not in path.read_bytes(), path


def test_alembic_ini_names_the_database_without_a_password(nb, workdir, pg_with_password):
    out = nb.run(f"%migrate init migrations --url {pg_with_password}")
    assert out.error is None, out.error
    assert "password is not written" in str(out.result)
    urls = [line for line in (workdir / "alembic.ini").read_text().splitlines()
            if line.startswith("sqlalchemy.url")]
    # no password at all (the plain alembic command then uses PGPASSWORD or .pgpass),
    # not a masked one that it would send as the password "***"
    assert urls == [f"sqlalchemy.url = postgresql+psycopg://postgres@127.0.0.1:5432/{RUN_DATABASE}"]


# ------------------------------------------------------------ finding the model

@pytest.fixture
def connected(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")


def test_two_bases_are_named_and_one_is_picked(nb, connected):
    nb.ok(MODEL_CELL)
    nb.ok(OTHER_BASE_CELL)

    out = nb.run("%migrate diff")
    assert isinstance(out.error, UsageError)
    assert "\n" not in out.error_line
    assert "Base" in out.error_line and "Base2" in out.error_line
    assert "--metadata" in out.error_line

    assert added_tables(nb.ok("%migrate diff --metadata Base2")) == ["orders"]
    assert added_tables(nb.ok("%migrate diff --metadata Base")) == ["users"]
    assert nb.run("%migrate diff").error is not None  # --metadata was for one command only

    nb.ok("%config NbMigrate.metadata = 'Base'")
    assert added_tables(nb.ok("%migrate diff")) == ["users"]
    assert added_tables(nb.ok("%migrate diff --metadata Base2")) == ["orders"]
    nb.ok("%config NbMigrate.metadata = 'Base2'")
    made = nb.ok("%migrate revision --autogenerate -m orders")
    assert [(o.op, o.table) for o in made.operations] == [("add_table", "orders")]


def test_a_base_and_its_metadata_are_one_model(nb, connected):
    nb.ok(MODEL_CELL)
    nb.ok("meta = Base.metadata\nalso_meta = meta")
    diff = nb.ok("%migrate diff")
    assert added_tables(diff) == ["users"]


def test_rerunning_the_model_cell_uses_the_newest_base(nb, connected, workdir):
    url = f"sqlite:///{workdir / 'app.db'}"
    nb.ok(MODEL_CELL)
    nb.ok("%migrate revision --autogenerate -m 'create users'")
    nb.ok("%migrate upgrade head")
    assert nb.ok("%migrate diff").empty

    nb.ok(MODEL_WITH_EMAIL_CELL)  # same cell, run again with one more column
    diff = nb.ok("%migrate diff")
    assert [(o.op, o.table, o.name) for o in diff.operations] == [("add_column", "users", "email")]
    nb.ok("%migrate revision --autogenerate -m 'add email'")
    nb.ok("%migrate upgrade head")
    assert "email" in columns(url, "users")
    nb.ok(MODEL_WITH_EMAIL_CELL)  # and once more, unchanged
    assert nb.ok("%migrate diff").empty


@pytest.mark.parametrize("spec, named", [
    ("nonexistent_name", ["nonexistent_name"]),
    ("42", ["42", "not a MetaData"]),
    ("an_int", ["an_int", "not a MetaData"]),
    ("User", ["User", "not a MetaData"]),  # a mapped class, not the base
    ("no_such_module:metadata", ["no_such_module"]),
])
def test_bad_metadata_is_one_line(nb, connected, workdir, spec, named):
    nb.ok(MODEL_CELL)
    nb.ok("an_int = 42")
    before = snapshot(workdir)
    for command in ("diff", "check", "revision --autogenerate -m x"):
        out = nb.run(f"%migrate {command} --metadata {spec}")
        assert isinstance(out.error, UsageError), f"{command}: {out.error!r}"
        assert "\n" not in out.error_line, out.error_line
        assert all(word in out.error_line for word in named), out.error_line
        assert "Traceback" not in out.shown
    assert snapshot(workdir) == before


def test_no_model_at_all_is_one_line(nb, connected):
    out = nb.run("%migrate diff")
    assert isinstance(out.error, UsageError)
    assert "\n" not in out.error_line and "--metadata" in out.error_line


# ------------------------------------------------------- the engine is IPython-free

FRONT_END_IMPORT = re.compile(
    r"^\s*(from\s+(IPython|ipywidgets)\b"
    r"|import\s+[\w., ]*\b(IPython|ipywidgets)\b)"
    r"|(import_module|__import__)\(\s*['\"](IPython|ipywidgets)",
    re.M,
)


def test_engine_source_never_imports_a_front_end():
    sources = [p for p in (PACKAGE / "engine").rglob("*") if p.is_file()
               and "__pycache__" not in p.parts]
    assert any(p.name == "session.py" for p in sources)
    for source in sources:
        found = FRONT_END_IMPORT.findall(source.read_text(encoding="utf-8", errors="replace"))
        assert not found, f"{source} imports a front-end: {found}"


def run_python(code: str, cwd: Path) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_engine_journey_loads_no_ipython_or_widgets(tmp_path):
    loaded = run_python(f"""
        import sys
        import nbmigrate.engine, nbmigrate.engine.session, nbmigrate.grammar, nbmigrate.cli
        from sqlalchemy import Column, Integer, MetaData, String, Table

        md = MetaData()
        Table("items", md, Column("id", Integer, primary_key=True), Column("name", String(20)))
        s = nbmigrate.engine.session.Session(namespace={{"md": md}}, workdir={str(tmp_path)!r})
        s.init("migrations", url="sqlite:///{tmp_path / 'engine.db'}")
        made = s.revision("items", autogenerate=True)
        s.upgrade("head")
        h = s.history()
        assert [r.revision for r in h.revisions] == [made.revision.revision], h
        print(sorted(m for m in ("IPython", "ipywidgets") if m in sys.modules))
    """, tmp_path)
    assert loaded == "[]"


def test_importing_nbmigrate_is_light(tmp_path):
    loaded = run_python("""
        import sys
        import nbmigrate
        heavy = ("pandas", "alembic.autogenerate", "ipywidgets")
        print(sorted(m for m in heavy if m in sys.modules))
    """, tmp_path)
    assert loaded == "[]"
