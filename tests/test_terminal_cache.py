"""The terminal's current / heads / history from the cached revision graph (issue 17).

The cache lives in XDG_CACHE_HOME (a folder of each test here). Whatever it holds, a
command prints what it printed without it; a project whose scripts changed in any way is
never served from it; the read commands served from it import no Alembic.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import alembic, nbmigrate, paths, terminal_environ
from sqlalchemy.engine import make_url

from nbmigrate.engine import revision_cache
from nbmigrate.engine.cached_project import remember
from nbmigrate.engine.project import Project, init_project
from nbmigrate.engine.session import Session
from nbmigrate.grammar import build_parser

SCRIPT = '''"""{message}

Revision ID: {rev}
Revises: {revises}
Create Date: 2026-01-02 03:04:05

"""
revision = {rev!r}
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = {depends!r}


def upgrade():
    pass


def downgrade():
    pass
'''

# revision, down_revision, branch_labels, depends_on: two roots, a labelled branch that
# merges back, a dependency across roots, and two heads (m2 and s2)
BRANCHED = [("a1", None, None, None), ("a2", "a1", None, None),
            ("b1", "a2", ("feature",), None), ("b2", "b1", None, None),
            ("c1", "a2", None, None), ("m1", ("b2", "c1"), None, None),
            ("m2", "m1", None, None), ("s1", None, ("side",), None),
            ("s2", "s1", None, "b1")]
LINEAR = [(f"r{i}", f"r{i - 1}" if i > 1 else None, None, None) for i in range(1, 6)]
READS = [("current",), ("heads",), ("history",), ("history", "--verbose")]
PROBE = ("import sys\nfrom nbmigrate.cli import main\ncode = main(sys.argv[1:])\n"
         "heavy = [m for m in ('alembic', 'pandas', 'IPython', 'ipywidgets', 'mako') "
         "if m in sys.modules]\nsys.stderr.write('imported: ' + ','.join(heavy) + '\\n')\n"
         "sys.exit(code)\n")


# ---------------------------------------------------------------- fixtures


def write_script(versions: Path, rev: str, down, labels=None, depends=None,
                 message: str | None = None) -> Path:
    revises = ", ".join(down) if isinstance(down, tuple) else (down or "")
    path = versions / f"{rev}_step.py"
    path.write_text(SCRIPT.format(message=message or f"step {rev}", rev=rev, revises=revises,
                                  down=down, labels=labels, depends=depends))
    return path


def make_project(where: Path, graph: list) -> Path:
    """A project in ``where`` with the scripts of ``graph``; returns its versions folder."""
    init_project(where / "migrations", url=make_url(f"sqlite:///{where / 'app.db'}"))
    versions = where / "migrations" / "versions"
    for rev, down, labels, depends in graph:
        write_script(versions, rev, down, labels, depends)
    return versions


def settle(versions: Path) -> None:
    """Wait until the scripts are older than a read would trust (a tenth of a second on
    this file system): a graph read as they are written is not kept."""
    for _ in range(100):
        if revision_cache.settled(revision_cache.listing([str(versions)], False),
                                  time.time_ns(), False):
            return
        time.sleep(0.05)
    raise AssertionError("the scripts did not settle")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


class Terminal:
    """The console command in a project folder, with a cache folder of its own."""

    def __init__(self, where: Path, cache: Path) -> None:
        self.where, self.cache = where, cache

    def run(self, *args: str, cache: Path | None = None, **env: str) -> tuple[str, str, int,
                                                                              bool]:
        """stdout, stderr, exit code, and whether Alembic was imported."""
        environ = terminal_environ(XDG_CACHE_HOME=str(cache or self.cache), **env)
        done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=self.where,
                              capture_output=True, text=True, env=environ, timeout=120)
        stderr, _, imported = done.stderr.rpartition("imported: ")
        return done.stdout, stderr, done.returncode, "alembic" in imported

    def uncached(self, *args: str, **env: str) -> tuple[str, str, int]:
        """As without any cache: the cache folder cannot be made (its parent is a file)."""
        blocker = self.where.parent / "not-a-folder"
        blocker.touch()
        out, err, code, _ = self.run(*args, cache=blocker / "cache", **env)
        return out, err, code

    def warm(self, *args: str, **env: str) -> tuple[str, str, int]:
        """Run once to fill the cache, then again from it (no Alembic imported)."""
        self.run(*args, **env)
        out, err, code, imported = self.run(*args, **env)
        assert not imported, f"nbmigrate {' '.join(args)} imported Alembic: {err}"
        return out, err, code

    def cache_files(self) -> list[Path]:
        return sorted((self.cache / "nbmigrate").glob("*.json"))


@pytest.fixture
def terminal(tmp_path: Path, cache: Path) -> Terminal:
    where = tmp_path / "project"
    where.mkdir()
    return Terminal(where, cache)


def at(where: Path, *targets: str) -> None:
    """Bring the project's database to ``targets`` (upgrade, with the audit log)."""
    session = Session(where / "alembic.ini")
    for target in targets:
        session.upgrade(target)
    for database in session.databases:
        database.engine.dispose()


# ------------------------------------------------ the same output, from the cache


@pytest.mark.parametrize("shape", ["linear", "branched", "at-base", "part-way", "empty",
                                   "unknown-revision", "tags"])
def test_cached_output_is_the_uncached_output(terminal: Terminal, shape: str) -> None:
    where = terminal.where
    graph = {"branched": BRANCHED, "part-way": BRANCHED, "empty": []}.get(shape, LINEAR)
    versions = make_project(where, graph)
    if shape in ("linear", "branched", "tags", "unknown-revision"):
        at(where, "heads")
    elif shape == "part-way":
        at(where, "c1", "side@s1")  # two heads applied, neither a head of the scripts
    if shape == "unknown-revision":
        with sqlite3.connect(where / "app.db") as conn:
            conn.execute("INSERT INTO alembic_version VALUES ('gone1')")
    if shape == "tags":
        (versions.parent / "tags.json").write_text(json.dumps({"first": "r1"}))
    settle(versions)
    for args in READS:
        expected = terminal.uncached(*args)
        assert expected[2] == 0 or shape == "unknown-revision", expected
        if shape == "unknown-revision" and args[0] == "history":
            # Alembic cannot walk from a revision it does not know: the cache says so as
            # the Session does (it asks Alembic)
            terminal.run(*args)
            out, err, code, _ = terminal.run(*args)
            assert (out, err, code) == expected and code == 1
            continue
        assert terminal.warm(*args) == expected, args


def test_named_database_and_url_read_from_the_cache(terminal: Terminal) -> None:
    where = terminal.where
    settle(make_project(where, LINEAR))
    at(where, "r3")
    url = f"sqlite:///{where / 'app.db'}"
    for args in (("--url", url, "current"), ("--url", url, "history"),
                 ("current", "--db", "default"), ("heads", "--db", "default")):
        assert terminal.warm(*args) == terminal.uncached(*args), args
    out, err, code = terminal.warm("--url", url, "current")
    assert "is at r3" in out and "2 revision(s) pending" in out
    # a database nobody named: one line, the same from the cache
    assert terminal.warm("current", "--db", "nosuch") == terminal.uncached("current", "--db",
                                                                          "nosuch")
    _, err, code = terminal.uncached("current", "--db", "nosuch")
    assert code == 1 and err.count("\n") == 1 and "nosuch" in err


def test_outputs_name_what_plain_alembic_names(terminal: Terminal) -> None:
    where = terminal.where
    settle(make_project(where, BRANCHED))
    at(where, "heads")
    known = {rev for rev, *_ in BRANCHED}

    def ids(text: str) -> list[str]:
        return [word for line in text.splitlines() for word in re.findall(r"[a-z]\d", line)
                if word in known]

    def table_ids(text: str) -> list[str]:  # the revision column of nbmigrate's table
        rows = text.splitlines()[2:]
        return [row[2:].split()[0] for row in rows if row[2:].split()
                and row[2:].split()[0] in known]

    heads, _, _ = terminal.warm("heads")
    assert set(table_ids(heads)) == set(ids(alembic("heads", cwd=where))) == {"m2", "s2"}
    current, _, _ = terminal.warm("current")
    assert set(table_ids(current)) == set(ids(alembic("current", cwd=where)))
    history, _, _ = terminal.warm("history")
    # alembic prints "down -> rev (head), message": the revision after the arrow, in order
    theirs = [re.search(r"-> (\w+)", line)[1] for line in
              alembic("history", cwd=where).splitlines() if "->" in line]
    assert table_ids(history) == theirs


# ------------------------------------------------------------ never stale


def test_an_edited_file_of_the_same_size_is_read_again(terminal: Terminal) -> None:
    versions = make_project(terminal.where, LINEAR)
    settle(versions)
    terminal.warm("history")
    script = versions / "r3_step.py"
    before = script.stat()
    script.write_text(script.read_text().replace("step r3", "STEP R3"))
    assert script.stat().st_size == before.st_size and script.stat().st_mtime_ns != \
        before.st_mtime_ns
    out, _, _, _ = terminal.run("history")
    assert "STEP R3" in out and "step r3" not in out
    settle(versions)
    assert "STEP R3" in terminal.warm("history")[0]


def test_a_changed_down_revision_is_read_again(terminal: Terminal) -> None:
    versions = make_project(terminal.where, LINEAR)
    settle(versions)
    assert "1 head(s)" in terminal.warm("heads")[0]
    script = versions / "r4_step.py"
    size = script.stat().st_size
    script.write_text(script.read_text().replace("'r3'", "'r2'").replace("Revises: r3",
                                                                       "Revises: r2"))
    assert script.stat().st_size == size
    out, _, _, _ = terminal.run("heads")
    assert "2 head(s)" in out and "r3" in out and "r5" in out
    settle(versions)
    assert terminal.warm("heads") == terminal.uncached("heads")


def test_an_added_a_removed_and_a_renamed_file_are_read_again(terminal: Terminal) -> None:
    versions = make_project(terminal.where, LINEAR)
    settle(versions)
    assert "r6" not in terminal.warm("heads")[0]

    write_script(versions, "r6", "r5")
    assert "r6" in terminal.run("heads")[0]

    (versions / "r6_step.py").unlink()
    out = terminal.run("heads")[0]
    assert "r6" not in out and "r5" in out

    settle(versions)
    terminal.warm("history", "--verbose")
    (versions / "r5_step.py").rename(versions / "r5_renamed.py")
    out = terminal.run("history", "--verbose")[0]
    assert "r5_renamed.py" in out and "r5_step.py" not in out
    settle(versions)
    assert terminal.warm("history", "--verbose") == terminal.uncached("history", "--verbose")


def test_a_changed_alembic_ini_is_read_again(terminal: Terminal) -> None:
    where = terminal.where
    versions = make_project(where, LINEAR)
    other = where / "more"  # a second versions folder, then a bad setting
    other.mkdir()
    write_script(other, "x1", "r5")
    settle(versions)
    assert "x1" not in terminal.warm("heads")[0]
    ini = where / "alembic.ini"
    folders = f"{versions}{os.pathsep}{other}"
    ini.write_text(ini.read_text().replace("[alembic]\n", f"[alembic]\nversion_locations = "
                                           f"{folders}\n", 1))
    assert "x1" in terminal.run("heads")[0]
    settle(versions)
    settle(other)
    assert "x1" in terminal.warm("heads")[0]
    write_script(other, "x2", "x1")  # a file added in the second folder
    assert "x2" in terminal.run("heads")[0]
    ini.write_text(ini.read_text().replace("[alembic]\n", "[alembic]\ntruncate_slug_length "
                                           "= many\n", 1))
    expected = terminal.uncached("heads")
    assert expected[2] == 1 and "many" in expected[1]
    assert terminal.run("heads")[:3] == expected


def test_a_corrupt_cache_file_is_rebuilt(terminal: Terminal) -> None:
    settle(make_project(terminal.where, LINEAR))
    expected = terminal.uncached("history")
    terminal.warm("history")
    [kept] = terminal.cache_files()
    shaped = {**json.loads(kept.read_text()), "revisions": [[1]], "heads": [None]}
    for junk in ("{not json", "", '{"format": 1, "key": 3}', "[1, 2]", json.dumps(shaped)):
        kept.write_text(junk)
        assert terminal.run("history")[:3] == expected
        assert json.loads(kept.read_text())["format"] == revision_cache.FORMAT
        assert terminal.warm("history") == expected


def test_the_cache_lives_outside_the_project(terminal: Terminal) -> None:
    where = terminal.where
    settle(make_project(where, LINEAR))
    at(where, "heads")
    before = paths(where)
    for args in READS:
        terminal.warm(*args)
    assert paths(where) == before
    [kept] = terminal.cache_files()
    assert kept.is_relative_to(terminal.cache) and not kept.is_relative_to(where)
    assert kept.name.startswith("migrations-")


def test_without_a_cache_folder_the_commands_still_work(terminal: Terminal) -> None:
    settle(make_project(terminal.where, LINEAR))
    out, err, code = terminal.uncached("heads")
    assert code == 0 and "r5" in out and err == ""


def test_a_graph_read_while_a_script_changed_is_not_kept(tmp_path: Path, cache: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    versions = make_project(tmp_path, LINEAR)
    project = Project(tmp_path / "alembic.ini")
    project.script  # noqa: B018 - read as a command reads it
    changed = (versions / "r5_step.py").stat().st_mtime_ns
    remember(project, started_ns=changed)  # the command started as the file was written
    assert not (cache / "nbmigrate").exists() or not list((cache / "nbmigrate").iterdir())
    settle(versions)
    remember(project, started_ns=time.time_ns())
    assert len(list((cache / "nbmigrate").glob("*.json"))) == 1


# ----------------------------------------------------------------- the grammar


@pytest.mark.parametrize("argv", [
    ["current"], ["heads", "--db", "x"], ["-c", "a.ini", "history", "-v"],
    ["--url", "sqlite://", "history", "--verbose", "--db", "d"], ["history", "-r", "a:b"],
])
def test_a_read_command_parses_alike_by_its_own_grammar(argv: list[str]) -> None:
    whole = vars(build_parser("nbmigrate", cli=True).parse_args(argv))
    alone = build_parser("nbmigrate", cli=True, only=whole["command"])
    assert vars(alone.parse_args(argv)) == whole


def test_mistakes_in_a_read_command_are_said_by_the_whole_grammar(terminal: Terminal) -> None:
    out, err, code, _ = terminal.run("current", "--verbos")
    assert code == 2 and "unrecognized arguments" in err
    out, err, code, _ = terminal.run("histroy")
    assert code == 2 and "did you mean history" in err
    out, _, code, _ = terminal.run("--help", "current")
    assert code == 0 and "upgrade" in out  # the whole grammar's help
    out, err, code, _ = terminal.run("-c", "current", "history")  # -c names a file "current"
    assert code == 1 and "no alembic.ini at current" in err


def test_read_commands_served_from_the_cache_import_no_alembic(terminal: Terminal) -> None:
    settle(make_project(terminal.where, LINEAR))
    for args in READS:
        terminal.run(*args)
        *_, imported = terminal.run(*args)
        assert not imported, args
    *_, imported = terminal.run("history", "-r", "r1:r3")  # a range: Alembic walks it
    assert imported


def test_an_env_py_with_its_own_version_table_reads_alike(terminal: Terminal) -> None:
    where = terminal.where
    versions = make_project(where, LINEAR)
    env = versions.parent / "env.py"
    env.write_text(env.read_text().replace('"compare_type": True,',
                                           '"compare_type": True, "version_table": "ours",'))
    at(where, "r2")
    settle(versions)
    for args in READS:  # env.py runs to say which table: the graph still comes from the cache
        expected = terminal.uncached(*args)
        terminal.run(*args)
        assert terminal.run(*args)[:3] == expected, args
    assert "is at r2" in terminal.run("current")[0]


def test_a_database_that_cannot_be_reached_is_said_alike(terminal: Terminal) -> None:
    settle(make_project(terminal.where, LINEAR))
    url = "postgresql+psycopg://someone:s3cret@127.0.0.1:1/nowhere"
    for args in (("--url", url, "current"), ("--url", url, "heads")):
        expected = terminal.uncached(*args)
        terminal.run(*args)
        assert terminal.run(*args)[:3] == expected, args
        assert expected[2] == 1 and "s3cret" not in expected[0] + expected[1]


def test_the_console_command_prints_it_all_from_the_cache(terminal: Terminal) -> None:
    where = terminal.where
    settle(make_project(where, BRANCHED))
    at(where, "heads")
    for args in READS:  # the installed command, as a user runs it, prints what main() does
        out, err, code = terminal.uncached(*args)
        for _ in range(2):
            done = nbmigrate(*args, cwd=where, XDG_CACHE_HOME=str(terminal.cache))
            assert (done.stdout, done.stderr, done.returncode) == (out, err, code), args
    done = nbmigrate("current", "--db", "nosuch", cwd=where, XDG_CACHE_HOME=str(terminal.cache))
    assert done.returncode == 1 and done.stderr.startswith("nbmigrate: error: no connection")


def test_a_plain_sqlite_file_is_read_without_sqlalchemy(terminal: Terminal) -> None:
    where = terminal.where
    settle(make_project(where, BRANCHED))
    at(where, "c1")
    probe = PROBE.replace("('alembic', ", "('sqlalchemy', 'alembic', ")
    for args in READS:
        expected = terminal.uncached(*args)
        terminal.run(*args)
        done = subprocess.run([sys.executable, "-c", probe, *args], cwd=where,
                              capture_output=True, text=True, timeout=120,
                              env=terminal_environ(XDG_CACHE_HOME=str(terminal.cache)))
        err, _, imported = done.stderr.rpartition("imported: ")
        assert (done.stdout, err, done.returncode) == expected, args
        assert imported.strip() == "", args
    # a URL with more than a file in it is read through SQLAlchemy, alike
    ini = where / "alembic.ini"
    text = ini.read_text()
    assert "/app.db\n" in text
    ini.write_text(text.replace("/app.db\n", "/app.db?timeout=5\n"))
    for args in READS:
        expected = terminal.uncached(*args)
        assert terminal.warm(*args) == expected, args
    assert "is at c1" in terminal.warm("current")[0]


def test_a_command_looks_at_the_version_files_once(tmp_path: Path, monkeypatch) -> None:
    versions = make_project(tmp_path, LINEAR)
    at(tmp_path, "r4")
    session = Session(tmp_path / "alembic.ini")
    looked: list[Path] = []
    signature = Project._disk_signature
    monkeypatch.setattr(Project, "_disk_signature",
                        lambda self, script: looked.append(self.ini) or signature(self, script))
    session.upgrade("heads")
    assert len(looked) == 1  # read before, looked at once in this command
    session.current()
    assert len(looked) == 2  # each command looks again
    write_script(versions, "r6", "r5")  # and sees what changed between commands
    assert session.heads().rows()[0][0] == "r6"
    for database in session.databases:
        database.engine.dispose()
