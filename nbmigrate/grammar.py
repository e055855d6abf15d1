"""The ``%migrate`` grammar: one argparse parser for the magics and the command line.

A sub-command calls the ``Session`` method of its name with the parsed names that
method accepts, as Alembic's ``CommandLine`` maps them onto ``alembic.command``
functions; a handler exists only where arguments must be reshaped. ``ui`` (the
magics') and ``demo`` (the command line's) are run by their front end, which
passes its handlers to ``run``.
"""

from __future__ import annotations

import argparse
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .engine.errors import NbMigrateError, UsageProblem

Handler = Callable[[Any, argparse.Namespace, "str | None"], Any]

# the console command's sub-commands, as build_parser(cli=True) makes them
COMMANDS = frozenset({
    "init", "attach", "connect", "connections", "revision", "diff", "check", "upgrade",
    "downgrade", "history", "current", "heads", "branches", "show", "stamp", "tag", "tags",
    "status", "log", "validate", "lint", "graph", "test", "merge", "demo"})


class HelpRequested(Exception):
    """``--help`` was asked for; ``text`` is what to show."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing and exiting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        from .engine.secrets import redact  # argparse quotes the words it did not expect

        message = _suggested(message, self)
        raise UsageProblem(redact(f"{self.prog}: {message} (see {self.prog} --help)"))

    def print_help(self, file: Any = None) -> None:
        raise HelpRequested(self.format_help())

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageProblem(message or f"{self.prog}: stopped")


_INVALID_CHOICE = re.compile(r"argument (?P<what>[^:]+): invalid choice: '(?P<given>[^']*)' "
                             r"\(choose from (?P<choices>.*)\)$")
_UNRECOGNIZED = re.compile(r"unrecognized arguments: (?P<given>.*)$")


def _suggested(message: str, parser: argparse.ArgumentParser) -> str:
    """argparse's complaint, shorter and with a "did you mean" for a near miss."""
    import difflib

    choice = _INVALID_CHOICE.match(message)
    if choice:
        choices = re.findall(r"'([^']*)'", choice["choices"])
        given = choice["given"]
        near = difflib.get_close_matches(given, choices, n=1, cutoff=0.6)
        what = "sub-command" if choice["what"] == "SUBCOMMAND" else choice["what"]
        return f"unknown {what} {given!r}" + (f": did you mean {near[0]}?" if near else "")
    unknown = _UNRECOGNIZED.match(message)
    if unknown:
        options = sorted(_option_strings(parser))
        for word in unknown["given"].split():
            near = difflib.get_close_matches(word, options, n=1, cutoff=0.7) \
                if word.startswith("-") else []
            if near:
                return f"{message}: did you mean {near[0]}?"
    return message


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every option of ``parser`` and of its sub-commands."""
    found = set(parser._option_string_actions)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _option_strings(sub)
    return found


def _db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="NAME", help="the named connection to use (default: default)")


def _metadata(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metadata", metavar="EXPR",
                   help="the model: a notebook expression (Base, Base.metadata) or module:attr")


def _number(convert: Callable[[str], Any], low: float, high: float, what: str,
            unit: str = "") -> Callable[[str], Any]:
    """An argparse type: ``convert``ed text between ``low`` and ``high``."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not between {low} and {high}{unit}")
        return value

    return parse


_count = _number(int, 1, 1_000_000, "a number")  # rows to show
_seconds = _number(float, 0, 86_400, "a number of seconds", " seconds")
_tries = _number(int, 0, 100, "a whole number")


class _Unbuilt:
    """A sub-command's parser left unbuilt (see ``build_parser``'s ``only``)."""

    def add_argument(self, *_: Any, **__: Any) -> None:
        pass


def build_parser(prog: str = "%migrate", *, cli: bool = False, only: str | None = None
                 ) -> Parser:
    """The whole grammar; ``cli`` adds the console command's own options and ``demo``.
    ``only`` builds that sub-command alone, quicker, for a command line known to name it:
    what it parses, the whole grammar parses alike."""
    parser = Parser(
        prog=prog,
        description=("Alembic migrations from a terminal or CI, guarded and logged as in the "
                     "notebook." if cli else "Alembic migrations from a notebook.")
        + " Targets are Alembic's: head, heads, base, +2, -1, a revision prefix, branch@head,"
        " and FROM:TO ranges with --sql.",
    )
    if cli:
        parser.add_argument("-c", "--config", metavar="ALEMBIC_INI",
                            help="the project's alembic.ini (default: ./alembic.ini)")
        parser.add_argument("--url", dest="database_url", metavar="URL",
                            help="the database (default: NBMIGRATE_URL, then sqlalchemy.url "
                            "in alembic.ini)")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=Parser)
    sub.required = True

    def command(name: str, help: str, handler: Handler | None = None, **kw: Any
                ) -> argparse.ArgumentParser:
        if only is not None and name != only:
            return _Unbuilt()  # type: ignore[return-value]
        # help goes through %-formatting, a description does not
        p = sub.add_parser(name, help=help, description=help.replace("%%", "%"), **kw)
        p.set_defaults(handler=handler or call)
        return p

    p = command("init", "write a new Alembic environment (alembic init)")
    p.add_argument("directory", nargs="?", default="migrations", metavar="DIR",
                   help="where the scripts go "
                   "(default: migrations; alembic.ini is written beside it)")
    p.add_argument("--url", help="the database to connect to (its password is not written)")
    _metadata(p)
    p.add_argument("--template", metavar="NAME", help="nbmigrate (default), generic, async, "
                   "multidb, pyproject, or a path to a custom template directory")

    # a terminal keeps nothing between commands: there, -c and --url say what these would
    p = command("attach", "in a terminal: say how -c names the project" if cli else
                "drive an existing Alembic project", _front_end if cli else None)
    p.add_argument("path", metavar="PATH_TO_ALEMBIC_INI")

    p = command("connect", "in a terminal: say how --url names the database" if cli else
                "connect to a database by URL or notebook variable",
                _front_end if cli else None)
    p.add_argument("target", metavar="URL" if cli else "URL_OR_VARIABLE",
                   help="a SQLAlchemy URL" if cli else
                   "a SQLAlchemy URL, or a variable holding an Engine, Connection or URL")
    p.add_argument("--name", help="name of this connection (default: default)")

    command("connections", "the named connections, passwords masked")

    p = command("revision", "write a new revision script (alembic revision)" + (
                "" if cli else "; with %%%%migrate, the cell's upgrade() and downgrade() are "
                "its body"), _revision)
    p.add_argument("-m", "--message", required=True, metavar="MSG")
    p.add_argument("--autogenerate", action="store_true",
                   help="compare the model with the database (Django: makemigrations)")
    p.add_argument("--rev-id", metavar="ID")
    p.add_argument("--head", default="head", metavar="H", help="parent revision (default: head)")
    p.add_argument("--branch-label", metavar="L")
    p.add_argument("--depends-on", metavar="R")
    p.add_argument("--splice", action="store_true", help="allow --head to be a non-head")
    p.add_argument("--rename", dest="renames", action="append", default=[], metavar="OLD=NEW",
                   help="with --autogenerate: write a rename, keeping the data, where the "
                   "model drops one column or table and adds another (table.old=new, old=new)")
    _metadata(p)
    _db(p)

    p = command("diff", "model against database, nothing written")
    _metadata(p)
    _db(p)

    p = command("check", "fail if model and database differ (Django: makemigrations "
                "--check)")
    _metadata(p)
    _db(p)

    for name, verb, default in (("upgrade", "apply revisions up to TARGET (Liquibase: "
                                 "update)", "heads"),
                                ("downgrade", "revert revisions down to TARGET (Liquibase: "
                                 "rollback)", None)):
        p = command(name, verb, _move)
        p.add_argument("target", metavar="TARGET", nargs="?" if default else None,
                       default=default,
                       help="an Alembic target" + (" (default: heads)" if default else ""))
        p.add_argument("--sql", action="store_true", help="print the SQL, change nothing "
                       "(Django: sqlmigrate; Liquibase: update-sql)")
        p.add_argument("--dry-run", action="store_true", help="show the plan: each step's "
                       "operations, SQL, rows and values affected, warnings; change nothing")
        p.add_argument("--yes", action="store_true", help="go ahead even where data would be "
                       "lost (dropped tables or columns, narrowed types)")
        p.add_argument("--lock-timeout", type=_seconds, metavar="SECONDS",
                       help="how long a statement waits for a table another session holds "
                       "(default 5 on PostgreSQL and MySQL/MariaDB; 0: no limit)")
        p.add_argument("--lock-retries", type=_tries, metavar="N",
                       help="times a revision that could not lock a table is tried again, "
                       "after a growing pause (default 3)")
        _db(p)

    p = command("history", "revisions, newest first, as a table (Flyway: info; Django: "
                "showmigrations)")
    p.add_argument("-r", "--rev-range", metavar="RANGE", help="START:END, START: or :END")
    p.add_argument("-v", "--verbose", action="store_true")
    _db(p)

    p = command("current", "the revision the database is at")
    _db(p)
    p = command("heads", "the heads of the revision graph")
    _db(p)
    command("branches", "branch points of the revision graph")

    p = command("show", "one revision in full")
    p.add_argument("revision", metavar="REV")
    _db(p)

    p = command("stamp", "record revisions as applied without running them (Flyway: "
                "baseline)")
    p.add_argument("revisions", nargs="+", metavar="REV")
    p.add_argument("--sql", action="store_true", help="print the SQL, change nothing")
    p.add_argument("--purge", action="store_true", help="empty the version table first")
    _db(p)

    p = command("tag", "name a revision, to use as a target (Liquibase: tag)", _tag)
    p.add_argument("name", metavar="NAME")
    p.add_argument("revision", nargs="?", metavar="REV",
                   help="the revision to tag (default: the database's current one)")
    p.add_argument("--delete", action="store_true", help="delete the tag NAME")
    _db(p)
    p = command("tags", "the tags and the revisions they name")
    _db(p)

    command("status", "every connected database at once: reachable, current, pending, "
            "drift (Flyway: info)")

    p = command("log", "what was applied, when, by whom, how long it took (Flyway: the "
                "schema history table)")
    p.add_argument("-n", "--limit", type=_count, default=200, metavar="N",
                   help="the newest N steps (default: 200)")
    _db(p)

    p = command("validate", "fail if an applied revision's file was edited since, or is gone "
                "(Flyway: validate)")
    p.add_argument("--accept", metavar="REV", help="record REV's file as it is now as the "
                   "one applied (Flyway: repair), in the audit log")
    _db(p)

    p = command("lint", "warn about operations that lock or rewrite big tables, and safer "
                "patterns (squawk, strong_migrations)")
    p.add_argument("rev_range", nargs="?", metavar="RANGE",
                   help="START:END (default: the revisions not yet applied)")
    _db(p)

    p = command("graph", "the revision graph: branches, merges, current revision, tags")
    _db(p)

    p = command("test", "try the migrations on a scratch database: one head, each revision "
                "upgraded, downgraded and upgraded again leaving nothing behind, the models "
                "against the head (pytest-alembic)")
    p.add_argument("rev_range", nargs="?", metavar="RANGE",
                   help="START:END, START:, :END or one revision (default: every revision)")
    p.add_argument("--db", metavar="NAME", help="an empty database to test on (default: a "
                   "scratch one on the connected database's server, or a temporary file)")
    p.add_argument("--from", dest="start", metavar="REV", help="test downgrades from REV "
                   "up only (the revisions below it are only upgraded)")
    p.add_argument("--data", action="store_true", help="put a few rows in the tables before "
                   "each downgrade, and show what it would lose")
    p.add_argument("--keep", action="store_true", help="keep the scratch database, and say "
                   "where it is")
    _metadata(p)

    if not cli:
        command("ui", "a dashboard to preview, apply and roll back revisions", _front_end)

    p = command("merge", "write a merge revision joining heads")
    p.add_argument("revisions", nargs="*", metavar="REV", help="default: heads")
    p.add_argument("-m", "--message", metavar="MSG")
    p.add_argument("--branch-label", metavar="L")
    p.add_argument("--rev-id", metavar="ID")

    if cli:
        p = command("demo", "a first run on SQLite: init, autogenerate, upgrade, history, "
                    "downgrade", _front_end)
        p.add_argument("directory", nargs="?", metavar="DIR",
                       help="where to create the demo project (default: a temporary folder)")
    return parser


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Each sub-command's parser, by name."""
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def parse(argv: Sequence[str], parser: argparse.ArgumentParser | None = None) -> argparse.Namespace:
    """Parse one command line; raises UsageProblem or HelpRequested."""
    return (parser or build_parser()).parse_args(list(argv))


def run(session: Any, args: argparse.Namespace, cell: str | None = None,
        front_end: Mapping[str, Handler] | None = None) -> Any:
    """Call the engine for parsed ``args``; ``cell`` is the ``%%migrate`` body and
    ``front_end`` the handlers of the sub-commands a front end runs itself."""
    if cell is not None and cell.strip() and args.command != "revision":
        raise UsageProblem(f"%%migrate takes a cell body only with revision, not {args.command}")
    if args.handler is _front_end:
        return (front_end or {})[args.command](session, args, cell)
    return args.handler(session, args, cell)


def call(session: Any, args: argparse.Namespace, _: str | None = None) -> Any:
    """The Session method named by the sub-command, given the parsed names it accepts."""
    method = getattr(session, args.command)
    accepted = inspect.signature(method).parameters
    return method(**{name: value for name, value in vars(args).items() if name in accepted})


def _front_end(session: Any, args: argparse.Namespace, _: str | None) -> Any:
    """A sub-command its front end runs (``ui``, ``demo``): see ``run``."""
    raise UsageProblem(f"{args.command} is not available here")


# --------------------------------------------------------------- handlers


def _revision(s: Any, a: argparse.Namespace, cell: str | None) -> Any:
    a.body = cell if cell is not None and cell.strip() else None
    return call(s, a)


def _move(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    if a.sql and a.dry_run:
        raise UsageProblem(f"{a.command}: give --sql or --dry-run, not both")
    return call(s, a)


def _tag(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    if a.delete:
        if a.revision:
            raise UsageProblem("tag --delete takes only the tag NAME")
        return s.untag(a.name)
    return s.tag(a.name, a.revision, db=a.db)


__all__ = ["COMMANDS", "HelpRequested", "NbMigrateError", "Parser", "build_parser", "call",
           "parse", "run", "subparsers"]
