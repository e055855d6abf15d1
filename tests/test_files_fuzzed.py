"""Fuzzing the files a project holds (Hypothesis): whatever they contain, every command
fails in one line or works, changes nothing when it fails, and shows no password.

Each example starts from a copy of one small valid project (made once per module):
``%migrate init migrations --url sqlite:///app.db``, revisions aaaa1111 (users) ->
bbbb2222 (orders) -> cccc3333 (items), the database at bbbb2222, tags.json naming
aaaa1111 ``v1``, and an extra alembic.ini section ``[other]`` whose URL holds the
password ``S3cretFuzz`` (a SQLite URL cannot hold one). The copy sits in a folder of
its own, so that a write beside the project is seen too; a fresh notebook session
works in it.

What is generated, one test each:

1. revision files dropped into migrations/versions: a valid script's ids, imports,
   top-level code and upgrade()/downgrade() drawn from odd values (syntax errors, bad
   imports, raising at import, ids '', '../x', 'a b', unicode, very long, non-strings,
   duplicates of an existing id, down_revision naming itself, a missing revision or
   the other generated file, so forming cycles), then maybe mutated as text or bytes;
2. tags.json: random bytes, random JSON, tag maps with odd names and values (revision
   ids, keywords like 'head', non-strings), very deep or very large documents;
3. alembic.ini: the project's own, mutated line by line (lines dropped, duplicated,
   garbage inserted, '%' interpolation broken, [alembic] renamed, odd values for
   script_location, sqlalchemy.url and Alembic's other options, bytes, BOM, CRLF);
4. ``%%migrate revision`` cell bodies, and ``-m`` messages in a cell and in a terminal
   (quotes, backslashes, triple quotes, newlines, ``from __future__``, assignments to
   the revision identifiers, random text).

After the files are written, the notebook runs ``%migrate`` history, current, heads,
upgrade head, downgrade -1, tags, graph and status; some examples also run ``nbmigrate
history`` and ``nbmigrate upgrade head`` in a terminal. Each command must work or fail
with exactly one line (an IPython UsageError; in a terminal one line on stderr and exit
1 or 2), show no traceback anywhere (text, error, rich outputs, value), and show the
password nowhere. A read-only command changes nothing; a failed upgrade or downgrade
changes nothing but may add rows to the audit log (principle 3: it tells the truth
about a failure). "Nothing" is: the database (schema, version table, rows), every file
and folder under the example's folder (the test's own writes are made before the
baseline is taken; SQLite journals aside). After each example no file the test did not
write, no table row and no log record holds the password.

A revision cell, or a message, gives either a script that Python and plain Alembic
import, with the id asked for and the message read back exactly as given (collapsed to
one line), or one line and nothing written.

Seeded (``derandomize``): a failure reproduces and Hypothesis shrinks it to a minimal
input, printed as the falsifying example.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import (
    CellResult,
    Notebook,
    Remember,
    everything_shown,
    nbmigrate,
    paths,
    restarted_notebook,
    snapshot,
)
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

PASSWORD = "S3cretFuzz"
OTHER_URL = f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:1/x"  # a closed port: fails fast
REVISIONS = ("aaaa1111", "bbbb2222", "cccc3333")  # a chain; the database is at the middle
TAG = "v1"  # names aaaa1111
NEW = "dddd4444"  # a free revision id

NOTEBOOK_COMMANDS = ("history", "current", "heads", "upgrade head", "downgrade -1", "tags",
                     "graph", "status")
TERMINAL_COMMANDS = (("history",), ("upgrade", "head"))
AUDIT = "nbmigrate_log"  # the audit log's table
MOVES = {"upgrade head", "downgrade -1", "nbmigrate upgrade head", f"upgrade {TAG}"}

# A line of a cell or a terminal word that IPython would split or expand: a message
# holding one of these can only be given in a terminal.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
IPYTHON_EXPANDS = "${}"


EXPLORE = int(os.environ.get("NBMIGRATE_FUZZ_EXAMPLES", "0"))


def fuzz(examples: int) -> settings:
    """Seeded (a failure reproduces), no deadline, no example database; the notebook
    fixture is reset by each example itself. NBMIGRATE_FUZZ_EXAMPLES=N runs N unseeded
    examples per test instead, to look further."""
    return settings(max_examples=EXPLORE or examples, deadline=None, derandomize=not EXPLORE,
                    database=None, suppress_health_check=[
                        HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                        HealthCheck.data_too_large])


# ============================================================== the base project


def table_cell(rev: str, table: str) -> str:
    return f'''%%migrate revision -m "create {table}" --rev-id {rev}
def upgrade():
    op.create_table("{table}", sa.Column("id", sa.Integer, primary_key=True))

def downgrade():
    op.drop_table("{table}")
'''


class Base:
    """The base project (``path``), and the database as each base revision leaves it."""

    def __init__(self, path: Path, states: dict[str, dict]) -> None:
        self.path = path
        self.states = states  # revision ("" for base) -> every table but the audit log

    def __repr__(self) -> str:
        return "Base(the base project)"


@contextmanager
def working_in(where: Path) -> Iterator[None]:
    back = Path.cwd()
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("NBMIGRATE_URL", raising=False)
        os.chdir(where)
        try:
            yield
        finally:
            os.chdir(back)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Base:
    """The base project, made once for the module by a notebook, and copies of it moved
    to each other revision to know what each leaves in the database."""
    folder = tmp_path_factory.mktemp("files_fuzzed_template")
    where = folder / "project"
    where.mkdir()
    with working_in(where):
        nb = restarted_notebook()
        nb.ok("%migrate init migrations --url sqlite:///app.db")
        for rev, table in zip(REVISIONS, ("users", "orders", "items"), strict=True):
            assert nb.ok(table_cell(rev, table)).revision.revision == rev
        nb.ok("%migrate upgrade bbbb2222")
        nb.ok(f"%migrate tag {TAG} aaaa1111")
    ini = where / "alembic.ini"
    ini.write_text(ini.read_text() + "\n[other]\nscript_location = %(here)s/migrations\n"
                   f"sqlalchemy.url = {OTHER_URL}\n")
    states = {"bbbb2222": tables_of(where / "app.db", but=AUDIT)}
    for rev, move in (("", "downgrade base"), ("aaaa1111", "downgrade aaaa1111"),
                      ("cccc3333", "upgrade cccc3333")):
        copy = folder / f"at_{rev or 'base'}"
        shutil.copytree(where, copy)
        with working_in(copy):
            restarted_notebook().ok(f"%migrate {move}")
        states[rev] = tables_of(copy / "app.db", but=AUDIT)
        assert states[rev]["alembic_version"][1] == ([f"('{rev}',)"] if rev else []), move
    return Base(where, states)


@pytest.fixture
def base(template: Base, nb, workdir: Path) -> Iterator[Base]:
    """The base project; the examples' folders go in this test's own directory (``nb``
    keeps the shell's set-up and clean-up)."""
    yield template


@dataclass
class Example:
    """One example's copy of the base project: ``work`` is the project (the current
    directory), ``place`` the folder holding it (a write beside the project shows)."""

    base: Base
    place: Path
    work: Path
    nb: Notebook
    written: set[str]  # files the test wrote, relative to ``place``
    logged: list[str]  # every log record's message

    @property
    def versions(self) -> Path:
        return self.work / "migrations" / "versions"

    def write(self, relative: str, data: bytes) -> None:
        """Write a file of the project as a user (or an editor, or git) would."""
        path = self.work / relative
        path.write_bytes(data)
        self.written.add(str(path.relative_to(self.place)))


@contextmanager
def project_copy(base: Base) -> Iterator[Example]:
    """A copy of the base project in a folder of its own, a new notebook session in it,
    and every log record kept."""
    root = Path.cwd()
    place = Path(tempfile.mkdtemp(dir=root))
    work = place / "project"
    shutil.copytree(base.path, work)
    os.chdir(work)
    logger, handler = logging.getLogger(), Remember()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield Example(base, place, work, restarted_notebook(), {"project/alembic.ini"},
                      handler.messages)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        os.chdir(root)
        shutil.rmtree(place, ignore_errors=True)


# ==================================================================== state


def tables_of(path: Path, *, but: str = "") -> dict[str, tuple[str, list[str]]]:
    """Every table, index and view of a SQLite file (but one): its SQL and its rows
    (read-only, so that reading makes no file)."""
    if not path.is_file():
        return {}
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        found = {}
        for kind, name, sql in conn.execute(
                "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"):
            rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{name}"')) \
                if kind == "table" else []
            found[name] = (sql or "", rows)
        found.pop(but, None)
        return found
    finally:
        conn.close()


def _not_journal(name: str) -> bool:
    return not name.endswith(("-journal", "-wal", "-shm"))


@dataclass(frozen=True)
class State:
    """What a failed command must leave as it was."""

    schema_and_data: dict  # every table but the audit log, with its rows
    audit: frozenset  # the audit log's rows
    files: dict  # every file under the example's folder but the database: its bytes
    paths: frozenset  # every file and folder there (an empty new folder is a change)

    @classmethod
    def of(cls, ex: Example) -> State:
        tables = tables_of(ex.work / "app.db")
        audit = frozenset(tables.pop(AUDIT, ("", []))[1])
        files = {name: data for name, data in snapshot(ex.place).items()
                 if name != "project/app.db" and _not_journal(name)}
        return cls(tables, audit, files, frozenset(p for p in paths(ex.place)
                                                    if _not_journal(p)))

    @property
    def version(self) -> str:
        """The revision(s) in the version table, "" for none."""
        rows = self.schema_and_data.get("alembic_version", ("", []))[1]
        return ",".join(sorted(re.sub(r"[(',)]", "", row) for row in rows))

    def database_changes(self, after: State) -> str:
        tables = sorted(t for t in self.schema_and_data.keys() | after.schema_and_data.keys()
                        if self.schema_and_data.get(t) != after.schema_and_data.get(t))
        return f"the database ({', '.join(tables)})" if tables else ""

    def other_changes(self, after: State, *, audit_may_grow: bool) -> list[str]:
        """What changed besides the tables: the audit log, files and folders."""
        what = []
        if not (self.audit <= after.audit if audit_may_grow else self.audit == after.audit):
            what.append("the audit log")
        changed = sorted(n for n in self.files.keys() | after.files.keys()
                         if self.files.get(n) != after.files.get(n))
        changed += sorted((after.paths ^ self.paths) - set(changed))
        if changed:
            what.append(f"files {changed[:5]}")
        return what


# ================================================================ the checks


@dataclass
class Shown:
    """What one command showed, from either front end."""

    command: str
    failed: bool
    error: str  # the error line (notebook) or stderr (terminal)
    everything: str  # all text a user could see
    wrong: list[str]  # what is wrong with how it failed or worked


# what the generated scripts print or warn themselves (not nbmigrate's to hide)
SELF_SHOWN = ("printed at import", "printed by the step", "printed as it is read",
              "imported with a warning", 'warnings.warn("imported with a warning")')


def not_self_shown(text: str) -> str:
    return "\n".join(line for line in text.splitlines()
                     if not any(mark in line for mark in SELF_SHOWN))


def in_notebook(nb: Notebook, command: str) -> Shown:
    """Run ``%migrate command`` in a cell; a cell that fails must show exactly one
    UsageError line and nothing else, and stop Run All."""
    out: CellResult = nb.run(command if command.startswith("%") else f"%migrate {command}")
    shown = everything_shown(out)
    wrong = []
    if out.error is not None:
        line = out.error_line
        if not isinstance(out.error, UsageError):
            wrong.append(f"raised {type(out.error).__name__}, not a UsageError")
        if not line.strip():
            wrong.append("an empty error")
        if any(c in line for c in LINE_BREAKS):
            wrong.append(f"an error of {len(line.splitlines())} lines")
        if not_self_shown(out.stdout).strip():
            wrong.append(f"printed {out.stdout[:300]!r} besides the error")
        if not_self_shown(out.stderr).strip() != f"UsageError: {line}".strip():
            wrong.append(f"stderr is not the one error line: {out.stderr[:300]!r}")
        if out.success:
            wrong.append("Run All would go on")
    return Shown(command, out.error is not None, out.error_line or out.stderr, shown, wrong)


def in_terminal(ex: Example, *args: str) -> Shown:
    """Run ``nbmigrate args`` in the project's folder; a failure is one line on stderr,
    exit status 1 (failed) or 2 (usage)."""
    done = nbmigrate(*args, cwd=ex.work)
    wrong = []
    failed = done.returncode != 0
    if failed:
        lines = [line for line in not_self_shown(done.stderr).splitlines() if line.strip()]
        if len(lines) != 1:
            wrong.append(f"stderr has {len(lines)} lines, not one")
        if done.returncode not in (1, 2):
            wrong.append(f"exit status {done.returncode}")
        if not_self_shown(done.stdout).strip():
            wrong.append(f"printed {done.stdout[:300]!r} besides the error")
    return Shown(f"nbmigrate {' '.join(args)}", failed, done.stderr.strip(),
                 f"{done.stdout}\n{done.stderr}", wrong)


def judged(shown: Shown) -> list[str]:
    """Everything wrong with what ``shown`` showed, as report lines."""
    wrong = list(shown.wrong)
    if "Traceback" in shown.everything:
        wrong.append("shows a traceback")
    if PASSWORD in shown.everything:
        wrong.append("shows the password")
    if not wrong:
        return []
    return [f"{shown.command}: {'; '.join(wrong)}; "
            f"{'error' if shown.failed else 'shown'}: {shown_text(shown)!r}"]


def shown_text(shown: Shown) -> str:
    text = shown.error if shown.failed else shown.everything.strip()
    return text if len(text) <= 600 else text[:300] + " ... " + text[-300:]


class Run:
    """Runs commands on an example, keeping every problem found: how each command
    failed, what a failed or read-only one changed, and where the password shows."""

    def __init__(self, ex: Example) -> None:
        self.ex = ex
        self.problems: list[str] = []
        self.state = State.of(ex)
        self.outcomes: dict[str, Shown] = {}
        self.versions: dict[str, tuple[str, str]] = {}  # command -> version before, after

    def command(self, command: str, *, terminal: Sequence[str] = (), label: str = "",
                writes: bool = False) -> Shown:
        """Run a command and judge it. Nothing may change but what a move does when it
        works (and the audit rows a failed move adds), or, with ``writes``, the files a
        command that works writes."""
        label = label or command
        shown = in_terminal(self.ex, *terminal) if terminal else in_notebook(self.ex.nb, command)
        shown.command = label
        self.outcomes[label] = shown
        self.problems += judged(shown)
        event(f"{label}: {'failed' if shown.failed else 'worked'}")  # --hypothesis-show-statistics
        before, after = self.state, State.of(self.ex)
        moves = label in MOVES
        changed = [] if (moves or writes) and not shown.failed else \
            before.other_changes(after, audit_may_grow=moves)
        if not moves or shown.failed:  # the database: only a move that works changes it
            changed += filter(None, [self.database_changes(shown, before, after)])
        if changed:
            how = "failed" if shown.failed else "worked"
            self.problems.append(f"{label} {how}, and changed {'; '.join(changed)}"
                                 + (f"; error: {shown.error[:300]!r}" if shown.failed else ""))
        self.versions[label] = (before.version, after.version)
        self.state = after
        return shown

    def database_changes(self, shown: Shown, before: State, after: State) -> str:
        """What a read-only or failed command changed in the database. A failed upgrade
        may stop at the last good revision (principle 3) if its error says where; when it
        started from a revision of the base project, the database must then be exactly as
        that revision leaves it (the failing step rolled back whole)."""
        changed = before.database_changes(after)
        if not changed or not shown.failed or after.version == before.version:
            return changed
        now = ", ".join(h[:12] for h in after.version.split(",")) if after.version \
            else "base (no revision applied)"
        if f"is now at {now}" not in shown.error:
            return f"{changed}, to {after.version or 'base'}, without saying so"
        started, stopped = (self.ex.base.states.get(s.version) for s in (before, after))
        if started == before.schema_and_data and stopped is not None \
                and after.schema_and_data != stopped:
            return (f"{changed}: it stopped at {after.version or 'base'}, but the database "
                    "is not as that revision leaves it")
        return ""

    def commands(self, *, notebook: bool = True, terminal: bool = False,
                 extra: Sequence[str] = ()) -> None:
        """The fixed list in the notebook (and ``extra``), or in a terminal."""
        for command in (*NOTEBOOK_COMMANDS, *extra) if notebook else ():
            self.command(command)
        if terminal:
            for args in TERMINAL_COMMANDS:
                self.command(" ".join(args), terminal=args, label=f"nbmigrate {' '.join(args)}")

    def no_password_left(self) -> None:
        """No file the test did not write, no table row, no log record holds it."""
        for name, data in snapshot(self.ex.place).items():
            if name not in self.ex.written and PASSWORD.encode() in data:
                self.problems.append(f"the file {name} holds the password")
        leaked = [m for m in self.ex.logged if PASSWORD in m]
        if leaked:
            self.problems.append(f"log records hold the password: {leaked[:2]!r}")

    def check(self) -> None:
        """Fail with every problem found; each kind of problem fails at its own line, so
        that Hypothesis tells them apart and shrinks an example for each."""
        self.no_password_left()
        if not self.problems:
            return
        report = "\n".join(["", *self.problems])
        found = " ".join(self.problems)
        if "password" in found:
            raise AssertionError(f"the password shows:{report}")
        if "traceback" in found or "not a UsageError" in found:
            raise AssertionError(f"a traceback:{report}")
        if "lines" in found or "besides the error" in found or "stderr is not" in found:
            raise AssertionError(f"not one line:{report}")
        if "changed" in found:
            raise AssertionError(f"a failure changed something:{report}")
        raise AssertionError(f"wrong result:{report}")


# ============================================================ 1. revision files


@dataclass(frozen=True)
class Code:
    """Python source written as it is (``repr`` gives it back), not a value."""

    text: str

    def __repr__(self) -> str:
        return self.text


ODD_IDS = ("", " ", "../x", "../../escaped", "a b", "a/b", "x.y", "ревизия", "🚀", "é",
           "head", "heads", "base", "current", TAG, "aaaa", "a:b", "a@b", "a@head", "-1",
           "+1", "a,b", "aaaa1111 ", "\taaaa1111", "%(here)s", "%", "None", 'q"""q', "a\nb",
           "a\x00b", "AAAA1111", "dddd4444_fuzz")
NON_STRING_IDS = (1, 0, -1, 1.5, float("nan"), None, True, (), ("aaaa1111",), ["dddd4444"],
                  {"a": 1}, b"dddd4444", Code("object()"), Code("...") )
revision_ids = st.one_of(
    st.just(NEW), st.just(NEW), st.just(NEW), st.sampled_from(REVISIONS),
    st.sampled_from(ODD_IDS), st.text(max_size=12), st.integers(200, 3000).map(lambda n: "x" * n),
    st.sampled_from(NON_STRING_IDS),
)  # a free id in 3 of 8

AT_IMPORT = (
    "", "import no_such_module", "from no_such_package.sub import thing",
    "from alembic import no_such_name", 'raise RuntimeError("raised at import")',
    f'raise RuntimeError("cannot reach " + {OTHER_URL!r})', "1 / 0", "undefined_name",
    'assert False, "at import"', 'raise ValueError("line one\\nline two")', 'raise KeyError("k")',
    'raise ImportError("half installed")', 'print("printed at import")',
    'import warnings; warnings.warn("imported with a warning")',
    'raise SystemExit("a revision that exits")',
    "revision = 12", "down_revision = undefined_name",
)
# SQL holding the [other] connection's password: shown masked, so stored masked too
PASSWORD_IN_SQL = f'op.execute("SELECT 1 FROM no_such_table WHERE password=\'{PASSWORD}\'")'
STEPS = (
    "pass",
    'op.create_table("fuzz_made", sa.Column("id", sa.Integer, primary_key=True))',
    'op.create_table("users", sa.Column("id", sa.Integer, primary_key=True))',
    'op.add_column("orders", sa.Column("note", sa.String(20)))',
    'op.execute("INSERT INTO orders (id) VALUES (7)")',
    'op.execute("THIS IS NOT SQL")',
    'op.execute("SELECT * FROM no_such_table")',
    'op.drop_table("fuzz_made")',
    'raise RuntimeError("failed half-way")',
    f'raise RuntimeError("cannot reach " + {OTHER_URL!r})',
    'raise ValueError("line one\\nline two")',
    f'op.execute("CREATE USER fz PASSWORD \'{PASSWORD}\'")',  # SQLite refuses it, quoting it
    f'op.execute("ALTER USER fz IDENTIFIED BY \'{PASSWORD}\'")',
    PASSWORD_IN_SQL,
    "undefined_name",
    "assert False",
    'print("printed by the step")',
    "return 1",
)
FUNCTION_HEADS = ("def {name}():", "def {name}() -> None:", "async def {name}():",
                  "def {name}(x):", "def {name}(*args, **kwargs):")


@st.composite
def functions(draw: st.DrawFn, name: str) -> str:
    """``upgrade`` or ``downgrade``: a few steps, or missing, or not a function."""
    form = draw(st.sampled_from(["def"] * 6 + ["missing", "not callable", "class"]))
    if form == "missing":
        return ""
    if form == "not callable":
        return f"{name} = 1\n"
    if form == "class":
        return f"class {name}:\n    pass\n"
    head = draw(st.sampled_from(FUNCTION_HEADS)).format(name=name)
    steps = draw(st.lists(st.sampled_from(STEPS), min_size=1, max_size=3))
    return head + "\n" + "".join(f"    {s}\n" for s in steps)


@dataclass(frozen=True)
class RevisionFile:
    """One generated revision script: ``name`` in versions/, its rendered ``data``."""

    name: str
    data: bytes


def render(revision: Any, down_revision: Any, branch_labels: Any, depends_on: Any,
           at_import: str, upgrade: str, downgrade: str) -> str:
    return f'''"""a fuzzed revision

Revision ID: {revision}
Revises: {down_revision}
Create Date: 2024-06-11 12:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
{at_import}

# revision identifiers, used by Alembic.
revision: str = {revision!r}
down_revision: Union[str, Sequence[str], None] = {down_revision!r}
branch_labels: Union[str, Sequence[str], None] = {branch_labels!r}
depends_on: Union[str, Sequence[str], None] = {depends_on!r}


{upgrade}

{downgrade}
'''


FILE_NAMES = ("fuzz.py", "ünïcödé_rev.py", "with space.py", "x.y.py", ".fuzz.py",
              "__init__.py", "fuzz.PY", "fuzz.pyc", "noext", "aaaa1111_create_users.py~")
OWN, OTHER = Code("<own revision>"), Code("<the other file's revision>")  # filled in later


@st.composite
def revision_file(draw: st.DrawFn) -> tuple:
    """One revision script's parts; its down_revision may be OWN or OTHER."""
    rev = draw(revision_ids)
    down = draw(st.one_of(
        st.just("cccc3333"), st.just("cccc3333"), st.sampled_from(REVISIONS), st.none(),
        st.just(OWN), st.just(OTHER),
        st.just("zzzz9999"), st.sampled_from([("aaaa1111", "cccc3333"), ("bbbb2222", "bbbb2222"),
                                              ("cccc3333", OWN), (OWN,), ()]),
        revision_ids))
    labels = draw(st.sampled_from([None] * 6 + ["fz", ("fz", "fz"), "aaaa1111", "head", "",
                                                1, ("a b",), TAG, ("x", "x@y")]))
    depends = draw(st.sampled_from([None] * 6 + ["aaaa1111", "zzzz9999", OWN,
                                                ("bbbb2222", "zzzz9999"), 1]))
    parts = (draw(st.sampled_from(AT_IMPORT[:1] * 10 + AT_IMPORT)), draw(functions("upgrade")),
             draw(functions("downgrade")))
    name = draw(st.sampled_from((f"{NEW}_fuzz.py", *FILE_NAMES)))
    return rev, down, labels, depends, parts, name, draw(mutations())


def mutations() -> st.SearchStrategy[tuple]:
    """How a careless edit, a merge conflict or a bad copy changes a file (see mutate)."""
    at = st.integers(0, 100_000)  # taken modulo the length
    return st.one_of(
        *[st.just(("none",))] * 7,  # as written, in about half the files
        st.tuples(st.just("delete"), at, st.integers(1, 40)),
        st.tuples(st.just("insert"), at, st.text(max_size=20)),
        st.tuples(st.just("insert"), at, st.sampled_from([
            "(", ")", '"""', "'", ":", "\n    ", "\t", "\x00", "\\", "def", "\n", "# ",
            "\ufeff", "<<<<<<< HEAD\n", "=======\n", "\n>>>>>>> theirs\n", "\n  x = 1\n"])),
        st.tuples(st.just("truncate"), at),
        st.tuples(st.just("tabs"), st.integers(1, 3)),
        st.tuples(st.sampled_from(["crlf", "bom", "latin-1"])),
        st.tuples(st.just("bytes"), at, st.binary(min_size=1, max_size=8)),
    )


def mutate(text: str, mutation: tuple) -> bytes:
    kind, *args = mutation
    at = args[0] % (len(text) + 1) if args and isinstance(args[0], int) else 0
    if kind == "delete":
        return (text[:at] + text[at + args[1]:]).encode()
    if kind == "insert":
        return (text[:at] + args[1] + text[at:]).encode("utf-8", "surrogatepass")
    if kind == "truncate":
        return text[:at].encode()
    if kind == "tabs":
        return text.replace("    ", "\t", args[0]).encode()
    if kind == "crlf":
        return text.replace("\n", "\r\n").encode()
    if kind == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if kind == "latin-1":
        return ("# café\n" + text).encode("latin-1", "replace")
    if kind == "bytes":
        data = text.encode()
        return data[:at] + args[1] + data[at:]
    return text.encode()


def revision_files() -> st.SearchStrategy[list[RevisionFile]]:
    """One generated revision script, sometimes two (so that they can name each other)."""
    def made(drawn: list[tuple]) -> list[RevisionFile]:
        ids = [d[0] for d in drawn]
        files: list[RevisionFile] = []
        for i, (rev, down, labels, depends, parts, name, mutation) in enumerate(drawn):
            other = ids[1 - i] if len(ids) == 2 else NEW

            def fill(value: Any, rev: Any = rev, other: Any = other) -> Any:
                if isinstance(value, tuple):
                    return tuple(fill(v) for v in value)
                return rev if value is OWN else other if value is OTHER else value

            text = render(rev, fill(down), labels, fill(depends), *parts)
            name = name if name not in {f.name for f in files} else f"second_{name}"
            files.append(RevisionFile(name, mutate(text, mutation)))
        return files

    return st.lists(revision_file(), min_size=1, max_size=2).map(made)


# ================================================================ 2. tags.json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
    | st.sampled_from(REVISIONS),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12)
TAG_NAMES = ("v1", "v2", "head", "heads", "base", "current", *REVISIONS, "aaaa", "zz", "",
             " ", "a b", "🚀", "-1", "+1", "v1+1", "v1-1", "x:y", "v1@head", "branch@head",
             "aaaa1111:cccc3333", "__proto__", "%(here)s", "../x")
TAG_VALUES = (*REVISIONS, "zzzz9999", "head", "heads", "base", "current", "", " ", "aaaa",
              TAG, "-1", "+1", "aaaa1111:bbbb2222", "aaaa1111@", "@", "cccc3333+5", "x" * 300)
tag_maps = st.dictionaries(st.sampled_from(TAG_NAMES) | st.text(max_size=8),
                           st.sampled_from(TAG_VALUES) | json_values, max_size=6)


@st.composite
def tags_files(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["map"] * 4 + ["json", "bytes", "text", "huge", "deep",
                                               "duplicate keys", "special", "indent"]))
    if kind == "map":
        return json.dumps(draw(tag_maps)).encode()
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "text":
        return draw(st.text(max_size=64)).encode("utf-8", "surrogatepass")
    if kind == "huge":
        n = draw(st.sampled_from([1_000, 5_000]))
        return json.dumps({f"t{i}": REVISIONS[i % 3] for i in range(n)}).encode()
    if kind == "deep":
        n = draw(st.sampled_from([50, 5_000, 100_000]))  # well clear of the recursion limit
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        inner = '"aaaa1111"'
        return (opener * n + inner + closer * n).encode()
    if kind == "duplicate keys":
        return b'{"v1": "aaaa1111", "v1": "cccc3333", "head": "aaaa1111"}'
    if kind == "special":
        return draw(st.sampled_from([b"", b"null", b"{}", b"[]", b'"aaaa1111"', b"NaN",
                                     b'{"v1": NaN}', b'{"v1": Infinity}', b"\xef\xbb\xbf{}",
                                     b'{"v1": "aaaa1111"} trailing', b'{"v1": "aaaa1111",}',
                                     b"{'v1': 'aaaa1111'}", b'{"v1": "\\ud800"}',
                                     b'{"v1": "aaaa1111"}\x00']))
    return json.dumps(draw(tag_maps), indent=draw(st.integers(0, 4))).encode()


# =============================================================== 3. alembic.ini

INI_LINES = (
    "garbage", "=", "[", "]", "[alembic", "key", "%", "%(", "%(nope)s", "  indented continuation",
    "[alembic]", "[other]", "[DEFAULT]", "script_location = %(nope)s",
    f"sqlalchemy.url = {OTHER_URL}", "sqlalchemy.url = notaurl",
    "sqlalchemy.url = sqlite:///%(here)s/other.db", "script_location = %(here)s/nowhere",
    "script_location =", "version_locations = %(here)s/nowhere", "path_separator = nonsense",
    "revision_environment = true", "sourceless = true", "recursive_version_locations = maybe",
    "file_template = %%(nope)s", "timezone = Not/AZone", "truncate_slug_length = x",
    "[loggers]", "keys = nope", "; a comment", "# a comment", "sqlalchemy.url",
    "script_location = %(here)s/migrations", "nbmigrate.metadata = no_such_module:Base",
)
INI_KEYS = ("script_location", "sqlalchemy.url", "prepend_sys_path", "path_separator",
            "version_locations", "nbmigrate.metadata", "file_template", "truncate_slug_length",
            "sourceless", "recursive_version_locations", "timezone", "output_encoding",
            "version_path_separator", "keys")
INI_VALUES = ("", "%", "%(nope)s", "%%(here)s", "%(here)s/nowhere", "%(here)s", "%(here)s/..",
              "%(here)s/migrations/versions", "notaurl", OTHER_URL,
              "sqlite:///%(here)s/other.db", "sqlite:///%(here)s/nodir/x.db", "sqlite://",
              "driver://user:pass@localhost/dbname", "true", "maybe", "x", "-1",
              "no_such_module:Base", ":", ";", "Not/AZone", "utf-99", "space", "newline",
              "🚀", "a\tb")
HEADERS = ("[Alembic]", "[alembic ]", "[ alembic]", "[alembic", "alembic]", "", "[other]",
           "[DEFAULT]", "[alembic]]", "[alembic][other]")
line_text = st.text(st.characters(blacklist_characters=LINE_BREAKS,
                                  blacklist_categories=("Cs",)), max_size=30)


def ini_mutations() -> st.SearchStrategy[tuple]:
    line = st.integers(0, 10_000)  # taken modulo the number of lines
    return st.one_of(
        st.tuples(st.just("delete"), line),
        st.tuples(st.just("duplicate"), line),
        st.tuples(st.just("insert"), line, st.sampled_from(INI_LINES) | line_text),
        st.tuples(st.just("set"), st.sampled_from(INI_KEYS), st.sampled_from(INI_VALUES)),
        st.tuples(st.just("percent"), line, st.integers(0, 100)),
        st.tuples(st.just("header"), st.sampled_from(HEADERS)),
        st.tuples(st.just("whole"), st.sampled_from(["crlf", "bom", "empty", "nul", "latin-1",
                                                     "cr", "no newline at end"])),
        st.tuples(st.just("bytes"), line, st.binary(min_size=1, max_size=6)),
    )


def apply_ini(text: str, mutations: Sequence[tuple]) -> bytes:
    """The ini text after ``mutations`` (see ini_mutations), as bytes."""
    lines = text.splitlines()
    tail: bytes | None = None
    for kind, *args in mutations:
        n = max(len(lines), 1)
        if kind == "delete" and lines:
            del lines[args[0] % n]
        elif kind == "duplicate" and lines:
            i = args[0] % n
            lines.insert(i, lines[i])
        elif kind == "insert":
            lines.insert(args[0] % (n + 1), args[1])
        elif kind == "set":
            key, value = args
            value = {"space": "a value with spaces", "newline": "first\n  second"}.get(value,
                                                                                     value)
            hit = next((i for i, line in enumerate(lines)
                        if re.match(rf"\s*{re.escape(key)}\s*=", line)), None)
            if hit is None:
                head = next((i for i, line in enumerate(lines) if line.strip() == "[alembic]"),
                            -1)
                lines.insert(head + 1, f"{key} = {value}")
            else:
                lines[hit] = f"{key} = {value}"
        elif kind == "percent" and lines:
            i = args[0] % n
            at = args[1] % (len(lines[i]) + 1)
            lines[i] = lines[i][:at] + "%" + lines[i][at:]
        elif kind == "header":
            lines = [args[0] if line.strip() == "[alembic]" else line for line in lines]
        elif kind == "bytes" and lines:
            i = args[0] % n
            tail = tail or b""
            lines[i] = lines[i] + "\x00MARK\x00"
            tail += args[1]
        elif kind == "whole":
            lines = {"empty": [], "nul": [*lines[:1], "\x00", *lines[1:]]}.get(args[0], lines)
    data = "\n".join(lines) + "\n"
    for kind, *args in mutations:
        if kind == "whole":
            data = {"crlf": data.replace("\n", "\r\n"), "cr": data.replace("\n", "\r"),
                    "no newline at end": data.rstrip("\n"),
                    "bom": "\ufeff" + data}.get(args[0], data)
    encoded = data.encode("latin-1", "replace") if any(
        m == ("whole", "latin-1") for m in mutations) else data.encode("utf-8", "surrogatepass")
    if tail is not None:  # raw bytes where the mark is
        encoded = encoded.replace(b"\x00MARK\x00", tail, 1).replace(b"\x00MARK\x00", b"")
    return encoded


# ====================================================== 4. cell bodies, messages

CELL_LINES = (
    "from __future__ import annotations", '"""A cell docstring with \\\\ and \'\'\' in it."""',
    "revision = 'mine'", "down_revision = None", "branch_labels = ('x',)",
    "depends_on: tuple = ()", "revision, other = 'mine', 1", "[revision] = ['mine']",
    "from os import sep as revision", "import os as revision",
    "globals()['revision'] = 'mine'", "def revision():\n    return 'mine'",
    "import os", "import no_such_module", "raise RuntimeError('raised as the script is read')",
    "# a comment with \"\"\" and ''' and \\", "x = '\"\"\"'", "TEXT = r'\\\\'", "'''", '"""',
    "\\", "def helper():\n    return 1", "if True:\n    pass", "from alembic import op",
    "import sqlalchemy as sa", "op = None", "sa = None", "upgrade = None",
    "# -*- coding: latin-1 -*-", "print('printed as it is read')",
)
CELL_STEPS = (
    *STEPS[:-1],
    'op.create_table("fuzz_cell", sa.Column("id", sa.Integer, primary_key=True))',
    'op.drop_table("fuzz_cell")', "revision = 'inner'", "global revision\n    revision = 'x'",
    "x = '''\"\"\"'''", 'op.execute("SELECT \'\\\\\'")', "yield",
)
FRAGMENTS = ('"""', "'''", "\\", "\\n", "\n", "\r\n", "'", '"', "%", "%%", "\\N{BULLET}",
             "\\x41", "\\u0041", "from __future__ import annotations", "revision = 'x'",
             "# comment", "\t", "\x00", "\x0b", "\u2028", "🚀", "é", " ", "Revision ID: zzz",
             "Revises: aaaa1111", "\n\n", "${message}", "<% x %>", "{", "}", "$HOME", "--rev-id",
             "-m", "--", "#", ";", "`", "|", "&&", "\\\n", "\x7f", "\x1b[31m", "\u200b", "\ufeff")


def messages(alphabet: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    piece = st.sampled_from(FRAGMENTS) | st.text(alphabet or st.characters(
        blacklist_categories=("Cs",)), max_size=8)
    return st.lists(piece, max_size=6).map("".join)


def typed_in_a_cell(message: str) -> bool:
    """Whether ``message`` can be typed on a magic's line: no line break, nothing IPython
    expands, no NUL (the shell's tokenizer)."""
    return not any(c in message for c in LINE_BREAKS + IPYTHON_EXPANDS + "\x00")


cell_messages = messages().map(lambda m: "".join(c for c in m if typed_in_a_cell(c)))
terminal_messages = messages().map(lambda m: m.replace("\x00", ""))


@st.composite
def cell_bodies(draw: st.DrawFn) -> str:
    """A ``%%migrate revision`` body: upgrade() and downgrade() among odd lines, maybe
    with random text inserted."""
    def block() -> list[str]:
        return draw(st.lists(st.sampled_from(CELL_LINES), max_size=2))

    def function(name: str) -> str:
        head = draw(st.sampled_from(FUNCTION_HEADS[:2] * 3 + FUNCTION_HEADS[2:]))
        steps = draw(st.lists(st.sampled_from(CELL_STEPS) | st.text(max_size=12).map(
            lambda t: f"op.execute({t!r})"), min_size=1, max_size=3))
        return head.format(name=name) + "\n" + "".join(f"    {s}\n" for s in steps)

    parts = [*block(), function("upgrade"), *block(), function("downgrade"), *block()]
    if draw(st.booleans()):
        draw(st.randoms(use_true_random=False)).shuffle(parts)
    body = "\n".join(parts)
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.sampled_from(FRAGMENTS) | st.text(max_size=10)) + body[at:]
    return body


VALID_CELL = "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n"


def one_line(message: str) -> str:
    """A message as it must read back: control characters as spaces, whitespace runs
    as one space, no space at either end."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", message).split())


def plain_alembic_script(work: Path, rev: str) -> Any:
    """The revision as plain Alembic reads it (no nbmigrate involved): its Script."""
    import io

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(work / "alembic.ini"), stdout=io.StringIO())
    return ScriptDirectory.from_config(config).get_revision(rev)


def check_written_revision(run: Run, made: Shown, before: set[str], rev: str,
                           message: str) -> None:
    """A revision command either wrote one script that Python and plain Alembic read, with
    the id and the message asked for, or failed in one line having written nothing (which
    ``Run.command`` checked)."""
    ex = run.ex
    if made.failed:
        return
    new = sorted(set(os.listdir(ex.versions)) - before - {"__pycache__"})
    if len(new) != 1:
        run.problems.append(f"{made.command} worked, and wrote {new}")
        return
    try:
        script = plain_alembic_script(ex.work, rev)
    except BaseException as exc:  # noqa: BLE001 - whatever Alembic raised is the finding
        run.problems.append(f"{made.command} wrote {new[0]}, which plain Alembic cannot read: "
                            f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        return
    if script is None or script.revision != rev or script.down_revision != "cccc3333":
        run.problems.append(f"{made.command} wrote {new[0]}, which Alembic reads as revision "
                            f"{getattr(script, 'revision', None)!r} on "
                            f"{getattr(script, 'down_revision', None)!r}")
        return
    expected = one_line(message)
    listed = ex.nb.run("%migrate history")
    if listed.error is not None:
        run.problems.append(f"history fails after {made.command}: {listed.error_line!r}")
        return
    read_back = {row["revision"]: row["message"]
                 for row in listed.result.to_dict("records")}.get(rev)
    if read_back != expected:
        run.problems.append(f"{made.command}: message {message!r} reads back as {read_back!r} "
                            f"in nbmigrate, not {expected!r}")
    if expected and script.doc != expected:
        run.problems.append(f"{made.command}: message {message!r} reads back as {script.doc!r} "
                            f"in plain Alembic, not {expected!r}")


# ================================================================== the tests


def write_files(ex: Example, files: Sequence[tuple[str, Any]]) -> None:
    """Write generated files into the example's project; alembic.ini is given as the
    mutations of the project's own."""
    for relative, content in files:
        if relative == "alembic.ini":
            content = apply_ini((ex.work / relative).read_text(), content)
        ex.write(relative, content)


def as_revisions(made: list[RevisionFile]) -> list[tuple[str, bytes]]:
    return [(f"migrations/versions/{f.name}", f.data) for f in made]


revisions_written = revision_files().map(as_revisions)


def one_revision(revision: Any = NEW, down_revision: Any = "cccc3333", *, at_import: str = "",
                 upgrade: str = "def upgrade():\n    pass\n",
                 downgrade: str = "def downgrade():\n    pass\n") -> list[tuple[str, bytes]]:
    """One revision script as the strategy writes it (for the pinned examples)."""
    text = render(revision, down_revision, None, None, at_import, upgrade, downgrade)
    return [(f"migrations/versions/{NEW}_fuzz.py", text.encode())]


def tags_json(data: Any) -> list[tuple[str, bytes]]:
    return [("migrations/tags.json",
             data if isinstance(data, bytes) else json.dumps(data).encode())]


def ini(*mutations: tuple) -> list[tuple[str, Any]]:
    return [("alembic.ini", list(mutations))]


def run_commands(base: Base, files: Sequence[tuple[str, Any]],
                 then: Callable[[Run], None] | None = None, **which: Any) -> None:
    """Write ``files`` into a copy of the base project, run the commands (``which``, see
    Run.commands) and fail with every problem found (and what ``then`` finds)."""
    with project_copy(base) as ex:
        write_files(ex, files)
        run = Run(ex)
        run.commands(**which)
        if then is not None:
            then(run)
        run.check()


# The minimal inputs of the failures these tests found, pinned with @example so that the
# seeded run always tries them (see each test).
NO_UPGRADE = one_revision(upgrade="")  # upgrade head: AttributeError, a traceback
tags_written = tags_files().map(lambda data: [("migrations/tags.json", data)])
ini_written = st.lists(ini_mutations(), min_size=1, max_size=4).map(
    lambda mutations: [("alembic.ini", mutations)])


@fuzz(60)
@given(files=revisions_written)
@example(files=one_revision(revision=()))  # a tuple as revision id: tracebacks (TypeError)
@example(files=NO_UPGRADE)
@example(files=one_revision(downgrade=""))  # downgrade -1 after upgrade head: AttributeError
@example(files=one_revision(at_import='raise SystemExit("a revision that exits")'))
@example(files=one_revision(upgrade=f"def upgrade():\n    {PASSWORD_IN_SQL}\n"))  # audit row
def test_generated_revision_files(base, files):
    run_commands(base, files)


@fuzz(40)
@given(files=tags_written)
@example(files=tags_json({"head": "aaaa1111"}))  # upgrade head: "already at bbbb2222"
@example(files=tags_json({"-1": "base"}))  # downgrade -1 goes to base
@example(files=tags_json({TAG: "base"}))  # tags: AttributeError, a traceback
@example(files=tags_json(b"[" * 5000 + b"]" * 5000))  # every tag reader: RecursionError
def test_generated_tags_files(base, files):
    def alembic_words_keep_their_meaning(run: Run) -> None:
        """Whatever the tags, the scripts are the base project's: head is cccc3333 and -1
        is one step down from where the database was."""
        for command, expected in (("upgrade head", lambda was: "cccc3333"),
                                  ("downgrade -1", PARENT.get)):
            if not run.outcomes[command].failed:
                was, now = run.versions[command]
                if now != (expected(was) or ""):
                    run.problems.append(f"{command} worked, and went from {was or 'base'} to "
                                        f"{now or 'base'}")

    run_commands(base, files, extra=(f"history -r {TAG}:", f"upgrade {TAG}"),
                 then=alembic_words_keep_their_meaning)


PARENT = {"cccc3333": "bbbb2222", "bbbb2222": "aaaa1111", "aaaa1111": ""}


@fuzz(60)
@given(files=ini_written)
@example(files=ini(("set", "script_location", "%(here)s")))  # no env.py: status ImportError
@example(files=ini(("set", "truncate_slug_length", "x")))  # every command: UnboundLocalError
@example(files=ini(("set", "script_location", "no_such_module:migrations")))  # the same
@example(files=ini(("bytes", 0, b"\x80")))  # not UTF-8: UnicodeDecodeError everywhere
@example(files=ini(("set", "nbmigrate.metadata", "%")))  # status: InterpolationSyntaxError
def test_generated_alembic_ini(base, files):
    run_commands(base, files)


@fuzz(10)
@given(files=st.one_of(revisions_written, tags_written, ini_written))
@example(files=NO_UPGRADE)  # nbmigrate upgrade head: a 46-line traceback
def test_generated_files_in_a_terminal(base, files):
    run_commands(base, files, notebook=False, terminal=True)


@fuzz(60)
@given(body=cell_bodies(), message=cell_messages)
@example(body=VALID_CELL + "revision, other = 'mine', 1\n", message="x")  # fails, file left
@example(body="import no_such_module\n" + VALID_CELL, message="x")  # fails, file left
def test_a_revision_cell_body_is_a_script_or_nothing(base, body, message):
    with project_copy(base) as ex:
        run = Run(ex)
        before = set(os.listdir(ex.versions))
        made = run.command(f"%%migrate revision -m {shlex.quote(message)} --rev-id fz1\n{body}",
                           label="%%migrate revision (the cell)", writes=True)
        if PASSWORD in body:  # the user's own code, written as typed
            ex.written |= {f"project/migrations/versions/{n}"
                           for n in set(os.listdir(ex.versions)) - before}
        check_written_revision(run, made, before, "fz1", message)
        if not made.failed:
            run.command("upgrade head")
            run.command("downgrade -1")
        run.check()


def check_message(base: Base, message: str, *, terminal: bool) -> None:
    """``revision -m message`` writes a script whose message reads back as given, or
    fails in one line having written nothing."""
    with project_copy(base) as ex:
        run = Run(ex)
        before = set(os.listdir(ex.versions))
        if terminal:
            made = run.command("revision", terminal=("revision", "-m", message, "--rev-id",
                                                     "fz1"),
                               label="nbmigrate revision -m MESSAGE --rev-id fz1", writes=True)
        else:
            made = run.command(f"%migrate revision -m {shlex.quote(message)} --rev-id fz1",
                               label="%migrate revision -m MESSAGE --rev-id fz1", writes=True)
        check_written_revision(run, made, before, "fz1", message)
        run.check()


@fuzz(60)
@given(message=cell_messages)
@example(message="")  # read back as the docstring's "Revision ID: ..." lines
def test_a_message_typed_in_a_cell_is_only_text(base, message):
    check_message(base, message, terminal=False)


@fuzz(5)
@given(message=terminal_messages)
@example(message="")
def test_a_message_given_in_a_terminal_is_only_text(base, message):
    check_message(base, message, terminal=True)
