"""Fuzzing the ``%migrate`` grammar: malformed lines fail in one line and change nothing.

A seeded generator (``SEED``: a failure reproduces, and each failure names its line)
writes ~200 malformed ``%migrate`` lines and ``%%migrate`` cells: unknown and
misspelt sub-commands, real sub-commands with unknown, misspelt or value-less
flags, unbalanced quotes, stray ``#`` and ``;``, unicode, very long tokens,
revisions and ranges that do not exist, URLs that are malformed or lead nowhere
(some carrying the password ``Fuzz3dSecret``), notebook variables that do not
exist, and revision cells with bad Python. A few read-only commands run among
them as controls.

Every line is invalid or harmless *by construction*: a line that could change the
database or the migration directory (upgrade, downgrade, stamp, tag, revision,
merge, init, attach, connect) always carries at least one element that makes it
fail before anything is done: a target that does not exist, an unknown flag
(never a prefix of a real one, which argparse would accept as an abbreviation),
a flag without its value, a missing required argument, an unreadable line; or
``--sql`` / ``--dry-run`` / ``--help``, which change nothing. Each generator says
how it keeps to that rule.

Each line must: fail with an IPython ``UsageError`` whose message is one
non-empty line without "Traceback" (and show nothing else), stop Run All, and
show no password anywhere (text, error, rich output, value, log records). After
each line and after the batch: the database (version table, tables, columns,
every row, the audit table ``nbmigrate_log``), the migration directory (every
file's bytes, tags.json and alembic.ini included) and the working directory (no
stray file or folder) are as they were.

The full set runs on SQLite; a stratified sample of ``SERVER_SAMPLE`` lines runs
on PostgreSQL and MariaDB. The inputs of the bugs this test found stay pinned,
by name, in the tests at the end.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import (
    MODEL_CELL,
    CellResult,
    everything_shown,
    paths,
    snapshot,
    table_revision,
    with_password,
)
from IPython.core.error import UsageError
from sqlalchemy.pool import NullPool

from nbmigrate.grammar import build_parser, subparsers

SEED = 20240611
SERVER_SAMPLE = 40
PASSWORD = "Fuzz3dSecret"
REVISIONS = ("aaaa1111", "bbbb2222", "cccc3333")  # the database sits at the middle one
TAG = "v1"  # names bbbb2222

# the grammar, read from the parser itself so that new flags are known at once
_PARSERS = subparsers(build_parser())
SUBCOMMANDS = tuple(_PARSERS)
OPTIONS = {name: {opt for action in p._actions for opt in action.option_strings}
           for name, p in _PARSERS.items()}
TOP_OPTIONS = {"-h", "--help"}

# URLs with the password that lead nowhere: closed ports, unknown drivers, no such
# database. Never the trust-auth PostgreSQL test database itself (any password works
# there) and never a SQLite file that could be created.
PASSWORD_URLS = (
    f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test",
    f"mysql+pymysql://root:{PASSWORD}@127.0.0.1:1/test",
    f"mysql+pymysql://root:{PASSWORD}@127.0.0.1:3306/test",  # wrong password for root
    f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:5432/no_such_database_fz",
    f"postgresql+nosuchdriver://u:{PASSWORD}@127.0.0.1/db",
    f"nosuchdialect://u:{PASSWORD}@127.0.0.1/db",
    f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:notaport/db",
    f"postgresql+psycopg://u:{PASSWORD}@[::1/db",
    f"postgresql+psycopg://postgres@127.0.0.1:1/test?password={PASSWORD}",
    f"mysql+pymysql://root:{PASSWORD}@127.0.0.1:1/test?charset=utf8mb4",
)
# Without a host or port a driver tries its local default, which might answer: none
# here leaves them out, and no host needs a DNS look-up.
PLAIN_BAD_URLS = (
    "notaurl", "notaurl://", "://", "sqlite:", "sqlite:////no/such/dir/x.db",
    "sqlite:///no_such_dir_fz/x.db", "http://example.com", "file:///etc/passwd",
    "postgresql+psycopg://127.0.0.1:1/test", "mysql+pymysql://root@127.0.0.1:1/test",
    "oracle+cx_oracle://u@127.0.0.1:1/db", "mssql+pyodbc://u@127.0.0.1:1/db",
    "jdbc:postgresql://127.0.0.1:1/db", "postgresql+psycopg://postgres@127.0.0.1:99999/test",
)

# Revision targets that name nothing: no such id, no such tag or branch, relative
# steps out of range, ranges where one target is wanted, broken syntax. Partial hex
# starts with d-f or a digit, never a prefix of aaaa/bbbb/cccc. No empty string, no
# REV@ and no empty range start (see test_an_empty_revision_is_one_line). No "-1 " with
# a trailing space either: Alembic reads it as -1 (int() strips), so it is a real step.
BAD_REVISIONS = (
    "zzz", "-0", "+0", "+999", "-999", "head@", "heads:", "::", "a:b:c", "dead", "beef",
    "f00d", "0", "9", "branch@+99", "branch@head", "head+x", "head-", "@",
    "@head", "heads@base", "v1+99", "v1-99", "v2", "current", "HEAD", "Head", "base+99",
    "head~1", "HEAD^", "aaaa1111..cccc3333", "aaaa1111,bbbb2222", "'bbbb2222 cccc3333'",
    "' head'", "hëad", "ＨＥＡＤ", "head\u200b", "头", "🚀", "1e3", "+1.5", "-1.5", "0x1f",
    "None", "null", "%s", "\"'; DROP TABLE users; --\"", "../../etc/passwd", "'$HOME'",
    "'*'", "''", "aaaa1111@", "aaaa1111+99", "cccc3333+1", "aaaa1111-5", "base-1", "v1@head",
    "tags", "v1:",
)
# History/lint ranges and --sql ranges that cannot be walked.
BAD_RANGES = ("x", "zzz:", ":zzz", "a:b:c", "::", "cccc3333:aaaa1111", "head@:", "aaaa1111:zzz",
              "v2:", "base:head@", "zzz:zzz", "1:2", "aaaa1111;bbbb2222", "v1:v2",
              "dead:beef", "heads:aaaa1111", "current:zzz")
# --sql ranges that cannot be walked, empty starts included
BAD_SQL_RANGES = ("':'", ":head", "::", "zzz:head", "head@:aaaa1111", "a:b:c", "cccc3333:zzz",
                  "dead:beef", "aaaa1111:v2", "1:2", "v2:cccc3333", "zzz:")
MISSING_NAMES = ("no_such_variable", "engine", "Engine", "db", "conn", "url", "DATABASE_URL",
                 "Base2", "undefined_fz", "_private_fz")
HARMLESS_WORDS = ("extra", "now", "please", "x", "1", "--", "head", "users", "again")

VALID_BODY = """def upgrade():
    op.create_table("fuzz_never", sa.Column("id", sa.Integer, primary_key=True))

def downgrade():
    op.drop_table("fuzz_never")
"""
BAD_BODIES = (
    "def upgrade(:\n    pass\n\ndef downgrade():\n    pass\n",
    "def upgrade():\n    pass\n",
    "def downgrade():\n    pass\n",
    "# only a comment\n",
    "  def upgrade():\npass\n",
    "upgrade = 1\ndowngrade = 2\n",
    "async def upgrade():\n    pass\n\nasync def downgrade():\n    pass\n",
    "class upgrade:\n    pass\n\ndef downgrade():\n    pass\n",
    "def upgrade():\n    op.create_table(\n\ndef downgrade():\n    pass\n",
    "def upgrade():\n\treturn 1\n        return 2\n",
    "lambda: None\n",
    "def upgrade():\n    pass\ndef downgrade()\n    pass\n",
    "import os\nos.remove('alembic.ini')\n",  # never runs: check_body only parses
    "def upgrade():\n    '''unterminated\n\ndef downgrade():\n    pass\n",
    "def ûpgrade():\n    pass\n\ndef downgrade():\n    pass\n",
)
# revision headers that fail whatever the body (a valid body is then never written)
BAD_REVISION_HEADERS = (
    "revision -m fuzz --autogenerate",  # a body and --autogenerate
    "revision -m fuzz --rev-id aaaa1111",  # exists
    "revision -m fuzz --rev-id 'a b'",
    "revision -m fuzz --rev-id 'dd/ee'",
    "revision --rev-id dddd4444",  # no -m
    "revision -m 'unterminated --rev-id dddd4444",
    "revision -m fuzz --head zzz",
    "revision -m fuzz --depends-on zzz",
    "revision -m fuzz --rename a=b",  # --rename without --autogenerate
    "revision -m fuzz --branch-label",
    "revision -m fuzz --bogus",
    "revision -m fuzz --splice --head nope",
    "revision -m fuzz --db nowhere --autogenerate",
    "upgrade head",  # a cell body with anything but revision
    "downgrade -1",
    "stamp base",
    "tag fuzz_never",
    "bogus",
    "",
)


@dataclass(frozen=True)
class Case:
    """One cell: ``bad`` must fail with a one-line UsageError; ``control`` must succeed;
    ``either`` is harmless and may do either (commands still being wired up)."""

    code: str
    family: str
    expect: str = "bad"


def line(*words: str) -> str:
    return "%migrate " + " ".join(w for w in words if w != "")


def not_an_abbreviation(flag: str, command: str | None) -> bool:
    """True if argparse cannot read ``flag`` as (a prefix of) a real option of ``command``."""
    real = OPTIONS.get(command, set()) | TOP_OPTIONS if command else TOP_OPTIONS
    head = flag.split("=", 1)[0]
    if head.startswith("--"):
        return not any(opt.startswith(head) for opt in real if opt.startswith("--"))
    if head.startswith("-") and len(head) > 1:
        return head[:2] not in real  # -mfoo is -m foo
    return True


def unknown_flag(rng: random.Random, command: str | None) -> str:
    """A flag ``command`` does not have, nor has as a prefix: typos of real ones or inventions."""
    real = sorted(o for o in OPTIONS.get(command, set()) if o.startswith("--")) or ["--sql"]
    while True:
        base = rng.choice(real)[2:]
        candidate = rng.choice([
            "--" + base.replace("-", "_"), "--" + base + rng.choice("sxz"),
            "--" + base.upper(), "--no-" + base, "---" + base, "--" + base[::-1],
            "--" + base[:1] + base, rng.choice(["--force", "--all", "--url", "--verbose",
                                                "--yes-i-am-sure", "--dryrun", "--quiet",
                                                "--drop", "--version", "--revision", "-x",
                                                "-q", "-f", "-Z", "--🚀", "--sql=yes",
                                                "--yes=no", "--dry-run=1", "--name"]),
        ])
        if not_an_abbreviation(candidate, command):
            return candidate


# ------------------------------------------------------------------ the generators
# Each returns Cases; the comment says why no line can change anything.


def unknown_subcommands(rng: random.Random) -> list[Case]:
    """Sub-commands that do not exist: other tools' verbs, junk, prefixes refused.

    Safe: argparse refuses an unknown sub-command before anything runs; names that
    are prefixes of real ones are skipped in case a Python's argparse abbreviates."""
    words = ["migrate", "makemigrations", "rollback", "update", "info", "edit", "list",
             "ensure_version", "init-db", "apply", "undo", "reset", "drop", "sql", "help",
             "version", "cd", "rm", "ls", "exit", "revisions", "histories", "tagging"]
    cases = []
    for _ in range(14):
        word = rng.choice(words + ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                                           for _ in range(rng.randint(1, 12)))])
        if word in SUBCOMMANDS or any(s.startswith(word) for s in SUBCOMMANDS):
            continue
        extra = rng.choice(["", "head", "-1", "--sql", "--yes", "-m x", "base"])
        cases.append(Case(line(word, extra), "unknown sub-command"))
    return cases


def typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(len(word))
    return rng.choice([
        word[:i] + word[i + 1:] + "x",  # drop one, keep the length
        word[:i] + word[i] * 2 + word[i + 1:],  # double one
        word[:i] + word[i + 1:i + 2] + word[i:i + 1] + word[i + 2:],  # swap two
        word.upper(), word.capitalize(), word + "s", "-" + word, "--" + word,
        word.replace("e", "3"), word + "_", word[:i] + "-" + word[i:],
    ])


def misspelt_subcommands(rng: random.Random) -> list[Case]:
    """Typos of real sub-commands, sometimes with the arguments they would take.

    Safe: a typo that is a real sub-command or a prefix of one is skipped; the
    rest are refused by argparse."""
    cases = []
    while len(cases) < 20:
        real = rng.choice(SUBCOMMANDS)
        word = typo(rng, real)
        if word in SUBCOMMANDS or any(s.startswith(word) for s in SUBCOMMANDS) \
                or word.startswith("-h") or word.startswith("--h"):
            continue
        args = rng.choice(["", "head", "base", "-1", "+1", "-m 'msg'", "v1", "--yes"])
        cases.append(Case(line(word, args), "misspelt sub-command"))
    return cases


def value_flags() -> dict[str, list[str]]:
    """Each sub-command's options that take a value."""
    return {name: sorted(opt for action in p._actions for opt in action.option_strings
                         if action.nargs != 0 and opt not in TOP_OPTIONS)
            for name, p in _PARSERS.items()}


def bad_flags(rng: random.Random) -> list[Case]:
    """Real sub-commands with unknown flags, flags missing their value, values of the
    wrong type, arguments too many or missing, and --sql with --dry-run.

    Safe: each line holds an unknown flag (not an abbreviation of a real one), or ends
    with a value-taking flag (argparse: expected one argument), or holds a positional
    the sub-command does not take, or lacks a required argument; argparse refuses them
    all before anything runs. --sql with --dry-run is refused before the engine moves."""
    cases = []
    mutating = {"upgrade": "head", "downgrade": "base", "stamp": "head", "tag": "fuzz_new",
                "revision": "-m fuzz", "merge": "-m fuzz", "init": "fuzzdir",
                "connect": "'sqlite:///fuzz.db'", "attach": "alembic.ini"}
    for _ in range(16):  # a real, even destructive, line plus an unknown flag
        command = rng.choice(SUBCOMMANDS)
        args = mutating.get(command, rng.choice(["", "head", "-r aaaa1111:", "--db default"]))
        if command in ("show",):
            args = "head"
        flag = unknown_flag(rng, command)
        where = rng.random()
        words = [command, flag, args] if where < 0.3 else [command, args, flag]
        cases.append(Case(line(*words), "unknown flag"))
    takes_value = {name: flags for name, flags in value_flags().items() if flags}
    for _ in range(14):  # a value-taking flag at the very end, its value missing
        command = rng.choice(sorted(takes_value))
        flag = rng.choice(takes_value[command])
        args = mutating.get(command, "")
        cases.append(Case(line(command, args, flag), "flag without its value"))
    no_args = [c for c in ("current", "heads", "branches", "tags", "status", "graph",
                           "connections", "diff", "check", "log", "ui") if c in SUBCOMMANDS]
    for _ in range(8):  # a positional argument where none is taken
        command = rng.choice(no_args)
        cases.append(Case(line(command, rng.choice(HARMLESS_WORDS[:-2] + ("'a b'", "🚀"))),
                          "extra argument"))
    fixed = [
        line("downgrade"), line("downgrade", "--yes"), line("downgrade", "--dry-run"),
        line("show"), line("stamp"), line("stamp", "--purge"), line("tag"),
        line("tag", "--delete"), line("tag", "--delete", TAG, "aaaa1111"),
        line("revision"), line("revision", "--autogenerate"), line("connect"),
        line("attach"), line("upgrade", "head", "head"), line("downgrade", "-1", "-1"),
        line("downgrade", "base", "extra"), line("upgrade", "--sql", "--dry-run"),
        line("downgrade", "base", "--sql", "--dry-run"), line("upgrade", "head", "--db"),
        line("log", "-n", "abc"), line("log", "-n", "1.5"), line("log", "--limit", "🚀"),
        line("history", "-r"), line("history", "--rev-range"), line("revision", "-m"),
        line("revision", "-m", "--autogenerate"), line("merge", "-m"), line("init", "--url"),
        line("connect", "--name"), line("connect", "--name", "x"),
        line("revision", "-m", "fuzz", "--rename"),
        line("revision", "-m", "fuzz", "--autogenerate", "--rename", "bad"),
        line("revision", "-m", "fuzz", "--autogenerate", "--rename", "a.b.c=d"),
        line("revision", "-m", "fuzz", "--autogenerate", "--rename", "=x"),
        line("revision", "-m", "fuzz", "--autogenerate", "--rename", "users.name="),
        line("revision", "-m", "fuzz", "--autogenerate", "--rename", "'a b=c'"),
        line("revision", "-m", "fuzz", "--rev-id", "''"),
        line("revision", "-m", "fuzz", "--rev-id", "'../x'"),
        line("revision", "-m", "fuzz", "--rev-id", "aaaa1111"),
        line("tag", "--delete", "nope"), line("tag", "'bad name'"), line("tag", "head"),
        line("tag", "aaaa1111"), line("tag", TAG), line("tag", "标签"), line("tag", "1v"),
        line("tag", "v-1"), line("merge"), line("merge", "-m", "fuzz"),
        line("init"), line("init", "migrations"), line("init", "elsewhere_fz"),
        line("init", "elsewhere_fz", "--template", "nosuch"), line("init", "x", "y"),
        line("attach", "no_such.ini"), line("attach", "migrations"),
        line("attach", "migrations/env.py"), line("attach", "alembic.ini", "extra"),
        line("upgrade", "head", "--db", "nowhere"), line("upgrade", "head", "--db", "''"),
        line("downgrade", "base", "--db", "'default '"), line("current", "--db", "DEFAULT"),
        line("stamp", "base", "--db", "nowhere"), line("history", "--db", "nowhere"),
    ]
    cases += [Case(c, "flags and arguments") for c in fixed]
    return cases


def bad_revisions(rng: random.Random) -> list[Case]:
    """Targets that do not exist, for every command that takes a revision.

    Safe: every line names at least one revision from BAD_REVISIONS where one is
    wanted, so the engine refuses it before it connects to change anything; stamp's
    other revisions may be real, the bad one still stops it."""
    cases = []
    for _ in range(45):
        rev = rng.choice(BAD_REVISIONS)
        command = rng.choice(["upgrade", "downgrade", "show", "stamp", "tag", "merge",
                              "upgrade", "downgrade"])
        flags = rng.choice(["", "", "--yes", "--dry-run", "--db default", "--yes --dry-run"])
        if command == "stamp":
            others = rng.sample(REVISIONS + ("base", "head"), rng.randint(0, 2))
            words = others + [rev]
            rng.shuffle(words)
            flags = rng.choice(["", "--purge", "--purge --db default"])
            cases.append(Case(line("stamp", *words, flags), "bad revision"))
        elif command == "tag":
            cases.append(Case(line("tag", f"fuzz{rng.randint(0, 99)}", rev), "bad revision"))
        elif command == "merge":
            cases.append(Case(line("merge", "-m", "fuzz", rng.choice(REVISIONS), rev),
                              "bad revision"))
        elif command == "show":
            cases.append(Case(line("show", rev), "bad revision"))
        else:
            cases.append(Case(line(command, rev, flags), "bad revision"))
    return cases


def bad_ranges(rng: random.Random) -> list[Case]:
    """Ranges that cannot be walked: history -r, lint, upgrade/downgrade/stamp --sql,
    and ranges where one target is wanted.

    Safe: history and lint only read; --sql runs offline and writes nothing; a range
    without --sql is refused by the engine."""
    cases = []
    for _ in range(22):
        kind = rng.choice(["history", "lint", "sql", "nosql", "history"])
        if kind == "history":
            cases.append(Case(line("history", "-r", rng.choice(BAD_RANGES),
                                   rng.choice(["", "--verbose"])), "bad range"))
        elif kind == "lint":
            cases.append(Case(line("lint", rng.choice(BAD_RANGES)), "bad range"))
        elif kind == "sql":
            cases.append(Case(line(rng.choice(["upgrade", "downgrade", "stamp"]),
                                   rng.choice(BAD_SQL_RANGES), "--sql"), "bad range"))
        else:
            good = f"{rng.choice(REVISIONS)}:{rng.choice(REVISIONS + ('head', 'base'))}"
            cases.append(Case(line(rng.choice(["upgrade", "downgrade"]), good,
                                   rng.choice(["", "--yes"])), "range without --sql"))
    return cases


def bad_urls(rng: random.Random) -> list[Case]:
    """connect and init --url with URLs that are malformed or lead nowhere, half of
    them with the password.

    Safe: connect keeps a connection only once it has connected, and none of these
    can (closed ports, unknown drivers, no such database, wrong password, a SQLite
    path in a folder that does not exist); init refuses because the project exists."""
    cases = []
    for _ in range(24):
        url = rng.choice(PASSWORD_URLS if rng.random() < 0.6 else PLAIN_BAD_URLS)
        quoted = f"'{url}'" if not url.startswith("'") else url
        form = rng.choice(["connect", "connect-named", "init", "init-dir"])
        if form == "connect":
            cases.append(Case(line("connect", quoted), "bad URL"))
        elif form == "connect-named":
            cases.append(Case(line("connect", "--name", rng.choice(["other", "default", "x"]),
                                   quoted), "bad URL"))
        elif form == "init":
            cases.append(Case(line("init", "--url", quoted), "bad URL"))
        else:
            cases.append(Case(line("init", "fuzz_dir", "--url", quoted), "bad URL"))
    return cases


def bad_variables(rng: random.Random) -> list[Case]:
    """Notebook names that do not exist or hold the wrong thing, as connections and models.

    Safe: connect to a missing name or a non-URL value fails before anything is kept;
    the variables holding URLs and an Engine with the password lead to closed ports;
    diff/check only read and revision --autogenerate fails (bad model, or the
    database is not at head) before writing."""
    cases = []
    held = ["an_int", "some_text", "a_list", "fuzz_url", "fuzz_engine", "none_value", "User"]
    for _ in range(8):
        cases.append(Case(line("connect", rng.choice(MISSING_NAMES + tuple(held))),
                          "missing variable"))
    specs = ["no_such_variable", "42", "an_int", "User", "no_such_module:metadata",
             "os:path", "1/0", "Base.", "Base.metadata.tables", "'Base'", "some_text",
             "sqlalchemy:nothing_here", "fuzz_engine", "[Base]", "Base.nope"]
    for _ in range(10):
        command = rng.choice(["diff", "check", "revision -m fuzz --autogenerate"])
        cases.append(Case(line(command, "--metadata", f'"{rng.choice(specs)}"'),
                          "bad --metadata"))
    return cases


def noisy_lines(rng: random.Random) -> list[Case]:
    """Unbalanced quotes, a lone backslash, stray # and ;, unicode, very long tokens.

    ``%migrate -- upgrade head`` is left out: argparse reads ``--`` as the end of the
    options, so that is a real upgrade.

    Safe: shlex refuses unbalanced quotes and a trailing backslash before parsing; a
    ``#`` starting a word comments out the rest, so it is only placed where what is
    left is still invalid (``downgrade #-1`` is a downgrade without a target, never
    ``upgrade #...``, which would be a plain upgrade); ``;`` is only a word inside
    the line, which argparse refuses as an extra argument or an unknown target."""
    cases = [Case(c, "noise") for c in (
        "%migrate upgrade 'head", '%migrate upgrade "head', "%migrate downgrade 'base",
        "%migrate revision -m 'unterminated", '%migrate history -r "a:b',
        "%migrate connect 'sqlite:///x.db", "%migrate upgrade head\\",
        "%migrate 'upgrade head'", "%migrate \"\"", "%migrate ''", "%migrate",
        "%migrate # just a comment", "%migrate downgrade #-1", "%migrate stamp # head",
        "%migrate show #head", "%migrate tag # v9", "%migrate revision # -m x",
        "%migrate ;", "%migrate ; upgrade head", "%migrate upgrade head; downgrade base",
        "%migrate upgrade head ;", "%migrate downgrade -1;", "%migrate upgrade zzz ; ls",
        "%migrate upgrade head && rm -rf migrations", "%migrate upgrade $(echo head)",
        "%migrate upgrade `head`", "%migrate upgrade head#", "%migrate upgrade zzz # head",
        "%migrate upgrade\u00a0head", "%migrate upgrade\u3000head", "%migrate ｕｐｇｒａｄｅ head",
        "%migrate υpgrade head", "%migrate upgrade\ttoo\tmany", "%migrate --",
        "%migrate -- upgrade head", "%migrate upgrade -- head --", "%migrate -",
        "%migrate --db default upgrade head", "%migrate upgrade head head@",
        "%migrate downgrade ' -1'", "%migrate upgrade +1 +1",
    )]
    for _ in range(10):
        n = rng.choice([300, 2000, 10_000])
        token = rng.choice(["z", "é", "🚀", "a:", "-", "x" + "\u0301"]) * n
        command = rng.choice(["upgrade", "downgrade", "show", "stamp", "tag fuzz",
                              "history -r", "lint", ""])
        if token.startswith("-") and command in ("upgrade", "downgrade", "stamp", "show",
                                                 "tag fuzz"):
            token = "z" + token  # a run of dashes would read as an (unknown) option
        cases.append(Case(line(command, f"'{token}'"), "very long token"))
    return cases


def bad_cells(rng: random.Random) -> list[Case]:
    """%%migrate cells: revision bodies with bad Python, and headers that fail.

    Safe: a bad body is refused before the script is written (the header is a good
    revision header); a good body only ever comes with a header that fails."""
    cases = []
    for body in BAD_BODIES:
        header = rng.choice(["revision -m fuzz", "revision -m fuzz --rev-id dddd4444",
                             'revision -m "bad python"'])
        cases.append(Case(f"%%migrate {header}\n{body}", "bad cell body"))
    for header in BAD_REVISION_HEADERS:
        body = VALID_BODY if rng.random() < 0.7 else rng.choice(BAD_BODIES)
        cases.append(Case(f"%%migrate {header}\n{body}".replace("%%migrate \n", "%%migrate\n"),
                          "bad cell header"))
    return cases


def controls(rng: random.Random) -> list[Case]:
    """Read-only lines that work: a fuzz set that only fails could hide a broken shell."""
    ok = ["history", "history -r aaaa1111:", "history --verbose", f"history -r {TAG}:",
          "current", "heads", "branches", "tags", "show head", f"show {TAG}", "connections",
          "diff", "log", "upgrade head --sql", "upgrade cccc3333 --dry-run", "downgrade -1 --sql",
          "downgrade base --dry-run", "upgrade zzz --help", "--help", "downgrade base --help",
          "stamp base --sql", "history -r ''", "status"]
    cases = [Case(f"%migrate {c}", "control", "control") for c in ok]
    either = ["lint", "graph", f"lint aaaa1111:{TAG}", "log -n 0", "graph --db default"]
    cases += [Case(f"%migrate {c}", "control (lint, graph, log -n)", "either") for c in either]
    return cases


GENERATORS: tuple[Callable[[random.Random], list[Case]], ...] = (
    unknown_subcommands, misspelt_subcommands, bad_flags, bad_revisions, bad_ranges,
    bad_urls, bad_variables, noisy_lines, bad_cells, controls,
)


def fuzz_cases(seed: int = SEED) -> list[Case]:
    """Every generated cell, in a seeded shuffled order, without duplicates."""
    rng = random.Random(seed)
    cases = [case for generate in GENERATORS for case in generate(rng)]
    unique = list({case.code: case for case in cases}.values())
    rng.shuffle(unique)
    return unique


def server_sample(cases: list[Case], n: int = SERVER_SAMPLE, seed: int = SEED) -> list[Case]:
    """About ``n`` bad lines drawn from every family in proportion, plus a few controls."""
    rng = random.Random(seed + 1)
    bad = [c for c in cases if c.expect == "bad"]
    families = sorted({c.family for c in bad})
    picked: list[Case] = []
    for family in families:
        members = [c for c in bad if c.family == family]
        share = max(1, round(n * len(members) / len(bad)))
        picked += rng.sample(members, min(share, len(members)))
    picked += rng.sample([c for c in cases if c.expect != "bad"], 4)
    rng.shuffle(picked)
    return picked


# ----------------------------------------------------------------------- the checks


AFTER = "fuzz_ran_after_the_magic"


def run_cell(nb, case: Case) -> tuple[CellResult, bool]:
    """Run ``case`` as Run All would; a line magic gets a statement after it, which must
    not run when the magic fails. Returns the cell's result and whether that statement ran."""
    code = case.code
    if case.expect == "bad" and not code.startswith("%%"):
        code += f"\n{AFTER} = True"
    nb.ns.pop(AFTER, None)
    out = nb.run(code)
    return out, nb.ns.pop(AFTER, False)


def problems(case: Case, out: CellResult, ran_after: bool) -> list[str]:
    """What is wrong with how ``case`` went; empty if all is well."""
    found = []
    shown = everything_shown(out)
    if PASSWORD in shown:
        found.append("shows the password")
    if "Traceback" in shown:
        found.append("shows a traceback")
    failed = out.error is not None
    if case.expect == "control" and failed:
        found.append(f"a control line failed: {out.error!r}")
    if case.expect == "bad" and not failed:
        found.append("succeeded, where it should have failed")
    if case.expect == "bad" and "it would lose data" in out.error_line:
        found.append("a valid line that only the data-loss guard stopped (a generator bug)")
    if not failed:
        return found
    if not isinstance(out.error, UsageError):
        found.append(f"raised {type(out.error).__name__}, not UsageError: {out.error_line[:300]!r}")
    message = out.error_line
    if not message.strip():
        found.append("an empty error message")
    if "\n" in message or "\r" in message:
        found.append(f"an error of {message.count(chr(10)) + 1} lines")
    if "Traceback" in message:
        found.append("the error holds a traceback")
    if out.stdout:
        found.append(f"printed {out.stdout[:200]!r} besides the error")
    if out.stderr.strip() != f"UsageError: {message}":
        found.append(f"stderr is not the one error line: {out.stderr[:300]!r}")
    if out.success:
        found.append("Run All would go on (result.success is True)")
    if ran_after:
        found.append("the rest of the cell ran after the failing magic")
    return found


# ------------------------------------------------------------------ state to protect


def database_state(url: str) -> dict:
    """Every table with its columns, indexes and rows, as comparable text."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            quote = conn.dialect.identifier_preparer.quote
            state = {}
            for table in sorted(inspector.get_table_names()):
                cols = [(c["name"], str(c["type"]), c["nullable"])
                        for c in inspector.get_columns(table)]
                indexes = sorted((i["name"] or "", tuple(i["column_names"]))
                                 for i in inspector.get_indexes(table))
                rows = sorted(repr(tuple(r)) for r in
                              conn.exec_driver_sql(f"SELECT * FROM {quote(table)}"))
                state[table] = {"columns": cols, "indexes": indexes, "rows": rows}
            return state
    finally:
        engine.dispose()


def quick_state(url: str, workdir: Path) -> tuple:
    """What is cheap to compare after every line: version rows, log rows, files, paths."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            versions = sorted(r[0] for r in conn.exec_driver_sql(
                "SELECT version_num FROM alembic_version"))
            logged = conn.exec_driver_sql("SELECT count(*) FROM nbmigrate_log").scalar()
            tables = sorted(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
    return versions, logged, tables, files(workdir), paths(workdir)


def files(directory: Path) -> dict[str, bytes]:
    """Every file's bytes but the SQLite database's, which database_state compares."""
    return {name: data for name, data in snapshot(directory).items()
            if not name.endswith(".db")}


def kind_of(url: str) -> str:
    return sa.make_url(url).get_backend_name()


VARIABLES_CELL = f"""
import sqlalchemy
an_int = 42
some_text = "hello"
a_list = [1, 2]
none_value = None
fuzz_url = "postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test"
fuzz_engine = sqlalchemy.create_engine("mysql+pymysql://root:{PASSWORD}@127.0.0.1:1/test")
"""


def build_project(nb, db_url: str) -> None:
    """Revisions aaaa1111 (users) -> bbbb2222 (orders) -> cccc3333 (items); the database at
    bbbb2222, tagged v1, with rows in users and orders."""
    nb.ok(MODEL_CELL)
    nb.ok(VARIABLES_CELL)
    nb.ok(f"%migrate init migrations --url {with_password(db_url, PASSWORD)}")
    nb.ok("%migrate revision --autogenerate -m 'create users' --rev-id aaaa1111")
    nb.ok(table_revision("bbbb2222", "orders"))
    nb.ok(table_revision("cccc3333", "items"))
    nb.ok("%migrate upgrade bbbb2222")
    nb.ok(f"%migrate tag {TAG}")
    engine = sa.create_engine(db_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO users (id, name) VALUES (1, 'Ann'), (2, 'Bo')")
            conn.exec_driver_sql("INSERT INTO orders (id) VALUES (10), (11), (12)")
    finally:
        engine.dispose()


# ------------------------------------------------------------------------- the tests


def test_the_generator_is_seeded_large_and_invalid_by_construction():
    cases = fuzz_cases()
    assert cases == fuzz_cases(), "the same seed must give the same lines"
    bad = [c for c in cases if c.expect == "bad"]
    assert len(bad) >= 150, len(bad)
    assert sum(c.code.startswith("%%migrate") for c in bad) >= 10
    assert sum(PASSWORD in c.code for c in bad) >= 10
    sample = server_sample(cases)
    assert SERVER_SAMPLE <= len(sample) <= SERVER_SAMPLE + 20
    for case in bad:  # the rules the generators promise
        for flag in re.findall(r"(?<!\S)--?[\w-]+", case.code):
            assert flag not in {"-h", "--help", "--he", "--hel"}, case.code


def test_malformed_lines_fail_in_one_line_and_change_nothing(nb, workdir, db_url,
                                                             log_messages):
    build_project(nb, db_url)
    cases = fuzz_cases()
    if kind_of(db_url) != "sqlite":
        cases = server_sample(cases)
    connections = nb.ok("%migrate connections").to_string()
    database = database_state(db_url)
    before = quick_state(db_url, workdir)
    assert before[0] == ["bbbb2222"] and before[1] > 0

    failures = []
    for number, case in enumerate(cases):
        out, ran_after = run_cell(nb, case)
        found = problems(case, out, ran_after)
        now = quick_state(db_url, workdir)
        if now != before:
            what = [name for name, a, b in zip(
                ("version table", "audit log rows", "tables", "files", "paths"), before, now,
                strict=True) if a != b]
            found.append(f"changed the {', '.join(what)}")
            before = now  # report the next culprit, not this one again
        if found:
            failures.append(f"#{number} [{case.family}] {case.code!r}: {'; '.join(found)}"
                            f"\n      error: {out.error_line[:300]!r}")
    assert not failures, (f"{len(failures)} of {len(cases)} fuzz lines (seed {SEED}) went "
                          "wrong:\n" + "\n".join(failures))

    assert database_state(db_url) == database, "the database changed"
    assert quick_state(db_url, workdir)[0] == ["bbbb2222"]
    assert nb.ok("%migrate connections").to_string() == connections
    assert nb.ok("%migrate current").revisions == ("bbbb2222",)
    assert PASSWORD not in repr(database_state(db_url)), "a table holds the password"
    for name, data in files(workdir).items():
        assert PASSWORD.encode() not in data, f"{name} holds the password"
    leaked = [m for m in log_messages if PASSWORD in m]
    assert not leaked, f"log records hold the password: {leaked[:3]}"


# ------------------------------------------------------------ bugs this test found
# Each was a traceback or a leaked password; fixed, they stay pinned here by name.


@pytest.fixture
def sqlite_project(nb, workdir):
    url = f"sqlite:///{workdir / 'test.db'}"
    build_project(nb, url)
    return url


def assert_clean(nb, workdir, url: str, code: str) -> None:
    before, database = quick_state(url, workdir), database_state(url)
    out, ran_after = run_cell(nb, Case(code, "regression"))
    found = problems(Case(code, "regression"), out, ran_after)
    assert not found, f"{code!r}: {'; '.join(found)}; error: {out.error_line[:300]!r}"
    assert quick_state(url, workdir) == before and database_state(url) == database, code


@pytest.mark.parametrize("code", [
    "%migrate upgrade ''", "%migrate downgrade ''", "%migrate stamp ''",
    "%migrate tag fuzz ''", "%migrate upgrade aaaa1111@", "%migrate downgrade aaaa1111@ --yes",
    "%migrate show aaaa1111@", "%migrate stamp aaaa1111@", "%migrate upgrade ':' --sql",
    "%migrate upgrade :head --sql", "%migrate downgrade :: --sql",
])
def test_an_empty_revision_is_one_line(nb, workdir, sqlite_project, code):
    assert_clean(nb, workdir, sqlite_project, code)


@pytest.mark.parametrize("code", [
    f"%migrate upgrade head --url postgresql+psycopg://u:{PASSWORD}@127.0.0.1:1/db",
    f"%migrate connect --nmae x postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test",
    f"%migrate postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test",
    f"%migrate current mysql+pymysql://root:{PASSWORD}@127.0.0.1:1/test",
])
def test_a_password_in_a_refused_argument_is_masked(nb, workdir, sqlite_project, code):
    assert_clean(nb, workdir, sqlite_project, code)


@pytest.mark.parametrize("code", [
    f"%migrate connect 'postgres:{PASSWORD}@127.0.0.1:1/test'",
    f"%migrate init --url 'root:{PASSWORD}@127.0.0.1/db'",
    f"%migrate connect '//postgres:{PASSWORD}@127.0.0.1:1/test'",
])
def test_a_url_without_a_scheme_is_masked(nb, workdir, sqlite_project, code):
    assert_clean(nb, workdir, sqlite_project, code)


@pytest.mark.parametrize("code", [
    f"%migrate show postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test",
    f"%migrate tag fuzz postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test",
    f"%migrate history -r postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test",
    f"%migrate lint postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test",
])
def test_a_url_as_a_revision_is_masked(nb, workdir, sqlite_project, code):
    assert_clean(nb, workdir, sqlite_project, code)


def test_a_huge_log_limit_is_one_line(nb, workdir, sqlite_project):
    assert_clean(nb, workdir, sqlite_project, "%migrate log -n 99999999999999999999")


def test_an_empty_branch_label_is_refused(nb, workdir, sqlite_project):
    assert_clean(nb, workdir, sqlite_project, "%migrate revision -m fuzz --branch-label ''")


def test_a_negative_log_limit_is_refused(nb, workdir, sqlite_project):
    assert_clean(nb, workdir, sqlite_project, "%migrate log -n -5")
