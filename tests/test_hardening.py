"""Input that tries to become code, a path, or a leaked password, in a notebook and in a
terminal: it stays text, writes nothing outside the project, and masks every password."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import (
    SCRIPT,
    alembic,
    everything_shown,
    nbmigrate,
    paths,
    server_url,
    snapshot,
    tables,
    terminal_environ,
)

PASSWORD = "S3cretQueryPw"

MESSAGES = [
    'x""";import os;open("pwned.txt","w").write("hi");"""',
    "\\N{BULLET} \\x41 \\u0041 \\U00000041 ends in a backslash \\",
    "it's a 'quoted' \"message\"",
]


@pytest.mark.parametrize("message", MESSAGES)
def test_a_message_is_only_ever_text(nb, workdir, message):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    made = nb.ok(f"%migrate revision -m {shlex.quote(message)} --rev-id m1")  # as typed
    assert made.revision.message == message
    assert not (workdir / "pwned.txt").exists()
    assert nb.ok("%migrate history")["message"].tolist() == [message]
    nb.ok("%migrate upgrade head")
    assert "m1" in alembic("history", cwd=workdir)  # plain alembic reads the file too
    assert not (workdir / "pwned.txt").exists()


def test_a_newline_in_a_terminal_message_is_a_space_not_code(workdir):
    assert nbmigrate("init", "migrations", "--url", "sqlite:///app.db", cwd=workdir
                     ).returncode == 0
    title = 'fix\n"""\nimport os; open("pwned.txt", "w")\n"""'  # a pull request's title in CI
    done = nbmigrate("revision", "-m", title, "--rev-id", "t1", cwd=workdir)
    assert done.returncode == 0, done.stderr
    listed = nbmigrate("history", cwd=workdir).stdout
    assert '""" import os; open("pwned.txt", "w") """' in listed
    assert nbmigrate("upgrade", "head", cwd=workdir).returncode == 0
    assert not (workdir / "pwned.txt").exists()


@pytest.mark.parametrize("rev_id", ["../../../evil_merge", "a/b", "..", "x y"])
def test_a_merge_id_that_is_not_a_name_writes_nothing_anywhere(nb, workdir, rev_id):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok("%migrate revision -m one --rev-id a1")
    nb.ok("%migrate revision -m two --rev-id b1 --head base --splice")
    before = paths(workdir.parent.parent)
    out = nb.run(f"%migrate merge heads -m join --rev-id '{rev_id}'")
    assert out.error is not None and "--rev-id" in out.error_line
    assert "\n" not in out.error_line
    assert paths(workdir.parent.parent) == before


@pytest.fixture
def pg_query_password():
    """The PostgreSQL test database by a URL whose password is in its query."""
    url = sa.make_url(server_url("postgresql")).update_query_dict({"password": PASSWORD})
    return url.render_as_string(hide_password=False)


def test_a_password_in_the_urls_query_is_masked_everywhere(nb, workdir, pg_query_password):
    shown = []
    for line in [f"init migrations --url {pg_query_password}", f"connect {pg_query_password}",
                 "connections", "status", "current", "revision -m one --rev-id q1",
                 "upgrade head", "log"]:
        out = nb.run(f"%migrate {line}")
        assert out.error is None, f"{line}: {out.error!r}"
        shown.append(everything_shown(out))
    assert "password=***" in shown[2]
    terminal = nbmigrate("--url", pg_query_password, "connections", cwd=workdir)
    shown += [terminal.stdout, terminal.stderr]
    assert all(PASSWORD not in text for text in shown)
    for path, content in snapshot(workdir).items():
        assert PASSWORD.encode() not in content, path


def test_a_failing_statement_s_password_is_masked_where_it_is_stored(nb, workdir):
    url = server_url("postgresql")
    nb.ok(f"%migrate init migrations --url {url}")
    nb.ok(f'''%%migrate revision -m role --rev-id p1
def upgrade():
    op.execute("ALTER ROLE no_such_role PASSWORD '{PASSWORD}'")

def downgrade():
    pass
''')
    out = nb.run("%migrate upgrade head")
    assert out.error is not None and "no_such_role" in out.error_line
    log = nb.ok("%migrate log")
    assert log["status"].tolist() == ["failed"]
    assert PASSWORD not in out.error_line and PASSWORD not in log["error"].iloc[0]
    with sa.create_engine(url).connect() as conn:
        stored = conn.exec_driver_sql("SELECT error FROM nbmigrate_log").scalar_one()
    assert "PASSWORD '***'" in stored and PASSWORD not in stored
    assert "no_such_role" in stored and tables(url) >= {"nbmigrate_log"}


# --- revision files that cannot be read: one line naming the file, the line, the error

BROKEN = {
    "a missing module": ("import no_such_module", "ModuleNotFoundError: No module named"),
    "a name error": ("undefined_name + 1", "NameError: name 'undefined_name'"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_a_revision_that_fails_to_import_is_one_line_naming_it(nb, workdir, case):
    line, error = BROKEN[case]
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    made = nb.ok("%migrate revision -m broken --rev-id b1")
    path = made.revision.path
    script = Path(path)
    script.write_text(script.read_text().replace("import sqlalchemy as sa\n",
                                                 f"import sqlalchemy as sa\n{line}\n"))
    for command in ("history", "current", "upgrade head"):
        out = nb.run(f"%migrate {command}")
        assert out.error is not None and "\n" not in out.error_line, command
        assert f"cannot import {path}, line " in out.error_line and error in out.error_line
        assert "Traceback" not in everything_shown(out)
    dashboard = nb.ok("%migrate ui")  # opens, and says in its place what is wrong
    shown = " ".join(str(getattr(w, "value", "")) for w in _widgets(dashboard))
    assert f"cannot import {path}, line " in shown and "Traceback" not in shown
    for command in (["history"], ["current"], ["upgrade", "head"]):
        done = nbmigrate(*command, cwd=workdir)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and error in done.stderr


def test_two_files_with_one_revision_id_are_both_named(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    made = nb.ok("%migrate revision -m one --rev-id d1")
    copy = made.revision.path.replace(".py", "_copy.py")
    Path(copy).write_text(Path(made.revision.path).read_text())
    out = nb.run("%migrate history")
    assert "revision d1 is in 2 files" in out.error_line
    assert made.revision.path in out.error_line and copy in out.error_line


def test_output_into_a_closed_pipe_ends_quietly(workdir):
    assert nbmigrate("init", "migrations", "--url", "sqlite:///app.db", cwd=workdir
                     ).returncode == 0
    reading = subprocess.Popen([str(SCRIPT), "history"], cwd=workdir, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=terminal_environ())
    reading.stdout.close()  # as `nbmigrate history | head -0` does before it is written to
    error = reading.stderr.read()
    reading.wait(timeout=60)
    assert error == "" and reading.returncode == 141


def _widgets(widget):
    """A widget and every widget inside it."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _widgets(child)


# --- a %%migrate revision cell: a valid script, or nothing written

FUTURE_CELL = '''%%migrate revision -m future --rev-id f1
from __future__ import annotations

def upgrade() -> None:
    op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

def downgrade() -> None:
    op.drop_table("t")
'''


def test_a_cell_starting_with_a_future_import_becomes_a_working_script(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    made = nb.ok(FUTURE_CELL)
    assert "from __future__ import annotations" in Path(made.revision.path).read_text()
    nb.ok("%migrate upgrade head")
    assert "t" in tables(f"sqlite:///{workdir / 'app.db'}")
    assert "f1" in alembic("history", cwd=workdir)


@pytest.mark.parametrize("assignment", ["revision = 'mine'", "down_revision = None",
                                        "branch_labels: tuple = ('x',)"])
def test_a_cell_that_sets_the_revision_identifiers_writes_nothing(nb, workdir, assignment):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    before = snapshot(workdir)
    out = nb.run(f"%%migrate revision -m ids\n{assignment}\n\ndef upgrade():\n    pass\n\n"
                 "def downgrade():\n    pass\n")
    assert out.error is not None and "nothing written" in out.error_line
    assert snapshot(workdir) == before
    assert nb.ok("%migrate history").empty  # and every later command still works


# --- init where the path is unusual

@pytest.mark.parametrize("folder", ["with space", "café déjà", "Ünïcode ★"])
def test_init_works_under_spaces_and_letters_beyond_ascii(nb, workdir, folder):
    place = workdir / folder
    place.mkdir()
    nb.ok(f"%cd {shlex.quote(str(place))}")
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok("%migrate revision -m one --rev-id u1")
    nb.ok("%migrate upgrade head")
    assert "u1" in alembic("history", cwd=place)


def test_init_under_a_percent_sign_refuses_before_writing(nb, workdir):
    place = workdir / "50%off"
    place.mkdir()
    nb.ok(f"%cd {shlex.quote(str(place))}")
    out = nb.run("%migrate init migrations --url sqlite:///app.db")
    assert "'%'" in out.error_line and "\n" not in out.error_line
    assert list(place.iterdir()) == []
    again = nbmigrate("init", "migrations", "--url", "sqlite:///app.db", cwd=place)
    assert again.returncode == 1 and "'%'" in again.stderr and list(place.iterdir()) == []


# --- files nbmigrate cannot use, and errors without words

@pytest.mark.parametrize("blocked", ["migrations/tags.json", "app.db.nbmigrate-lock",
                                     "migrations/versions"])
def test_a_file_nbmigrate_cannot_use_is_one_line_naming_it(nb, workdir, blocked):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    nb.ok("%migrate revision -m one --rev-id a1")
    path = workdir / blocked
    if path.is_dir():  # the versions folder becomes a file
        shutil.move(path, workdir / "kept")
        path.write_text("")
    else:  # the file becomes a folder
        path.mkdir()
    for command in ("tag v1 a1", "upgrade head", "revision -m two"):
        out = nb.run(f"%migrate {command}")
        if out.error is None:
            continue  # this command does not need that file
        assert str(path) in out.error_line and "\n" not in out.error_line, command
        assert "Traceback" not in everything_shown(out)
    assert nb.run("%migrate tag v1 a1").error is not None or blocked != "migrations/tags.json"


def test_a_bare_assert_in_a_revision_says_where_it_was_raised(nb, workdir):
    nb.ok("%migrate init migrations --url sqlite:///app.db")
    made = nb.ok("%%migrate revision -m bare --rev-id e1\ndef upgrade():\n    assert False\n\n"
                 "def downgrade():\n    pass\n")
    out = nb.run("%migrate upgrade head")
    line = Path(made.revision.path).read_text().splitlines().index("    assert False") + 1
    assert "AssertionError at " in out.error_line
    assert f"e1_bare.py, line {line};" in out.error_line


# --- the terminal keeps nothing between commands, and its help speaks of the terminal

def test_terminal_attach_and_connect_say_how_a_terminal_names_things(workdir):
    before = paths(workdir)
    attached = nbmigrate("attach", "elsewhere/alembic.ini", cwd=workdir)
    connected = nbmigrate("connect", f"sqlite:///{workdir / 'x.db'}", cwd=workdir)
    assert attached.returncode == connected.returncode == 2
    assert "nbmigrate -c elsewhere/alembic.ini SUBCOMMAND" in attached.stderr
    assert "--url" in connected.stderr and "NBMIGRATE_URL" in connected.stderr
    assert len(attached.stderr.strip().splitlines()) == 1 == len(
        connected.stderr.strip().splitlines())
    assert paths(workdir) == before  # no x.db
    missing = nbmigrate("current", cwd=workdir)
    assert "nbmigrate -c path/to/alembic.ini SUBCOMMAND" in missing.stderr
    assert "nbmigrate attach" not in missing.stderr  # no hint sends the user in a circle


@pytest.mark.parametrize("command", [[], ["revision"], ["connect"], ["attach"], ["upgrade"]])
def test_terminal_help_speaks_of_the_terminal(workdir, command):
    shown = nbmigrate(*command, "--help", cwd=workdir).stdout
    assert "%%migrate" not in shown and "notebook variable" not in shown
    assert "%migrate" not in shown.replace("the notebook", "")
