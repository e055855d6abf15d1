"""The ``%migrate`` grammar: one argparse parser for the magics and the command line.

Each sub-command's handler takes the Session, the parsed arguments and the cell
body (``%%migrate``), and returns an engine result.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from .engine.errors import NbMigrateError, UsageProblem

Handler = Callable[[Any, argparse.Namespace, "str | None"], Any]


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

        raise UsageProblem(redact(f"{self.prog}: {message} (see {self.prog} --help)"))

    def print_help(self, file: Any = None) -> None:
        raise HelpRequested(self.format_help())

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageProblem(message or f"{self.prog}: stopped")


def _db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="NAME", help="the named connection to use (default: default)")


def _metadata(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metadata", metavar="EXPR",
                   help="the model: a notebook expression (Base, Base.metadata) or module:attr")


def _count(text: str) -> int:
    """A number of rows to show: 1 to a million."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{text} is not between 1 and 1000000")
    return value


def build_parser(prog: str = "%migrate", *, cli: bool = False) -> Parser:
    """The whole grammar; ``cli`` adds the console command's own options and ``demo``."""
    parser = Parser(
        prog=prog,
        description="Alembic migrations from a notebook. Targets are Alembic's: head, heads, "
        "base, +2, -1, a revision prefix, branch@head, and FROM:TO ranges with --sql.",
    )
    if cli:
        parser.add_argument("-c", "--config", metavar="ALEMBIC_INI",
                            help="the project's alembic.ini (default: ./alembic.ini)")
        parser.add_argument("--url", dest="database_url", metavar="URL",
                            help="the database (default: NBMIGRATE_URL, then sqlalchemy.url "
                            "in alembic.ini)")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=Parser)
    sub.required = True

    def command(name: str, help: str, handler: Handler, **kw: Any) -> argparse.ArgumentParser:
        # help goes through %-formatting, a description does not
        p = sub.add_parser(name, help=help, description=help.replace("%%", "%"), **kw)
        p.set_defaults(handler=handler)
        return p

    p = command("init", "write a new Alembic environment (alembic init)", _init)
    p.add_argument("directory", nargs="?", metavar="DIR", help="where the scripts go "
                   "(default: migrations; alembic.ini is written beside it)")
    p.add_argument("--url", help="the database to connect to (its password is not written)")
    _metadata(p)
    p.add_argument("--template", metavar="NAME", help="nbmigrate (default), generic, async, "
                   "multidb, pyproject, or a path to a custom template directory")

    p = command("attach", "drive an existing Alembic project", _attach)
    p.add_argument("path", metavar="PATH_TO_ALEMBIC_INI")

    p = command("connect", "connect to a database by URL or notebook variable", _connect)
    p.add_argument("target", metavar="URL_OR_VARIABLE",
                   help="a SQLAlchemy URL, or a variable holding an Engine, Connection or URL")
    p.add_argument("--name", help="name of this connection (default: default)")

    command("connections", "the named connections, passwords masked", _connections)

    p = command("revision", "write a new revision script (alembic revision); with %%%%migrate, "
                "the cell's upgrade() and downgrade() are its body", _revision)
    p.add_argument("-m", "--message", required=True, metavar="MSG")
    p.add_argument("--autogenerate", action="store_true",
                   help="compare the model with the database (Django: makemigrations)")
    p.add_argument("--rev-id", metavar="ID")
    p.add_argument("--head", default="head", metavar="H", help="parent revision (default: head)")
    p.add_argument("--branch-label", metavar="L")
    p.add_argument("--depends-on", metavar="R")
    p.add_argument("--splice", action="store_true", help="allow --head to be a non-head")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW",
                   help="with --autogenerate: write a rename, keeping the data, where the "
                   "model drops one column or table and adds another (table.old=new, old=new)")
    _metadata(p)
    _db(p)

    p = command("diff", "model against database, nothing written", _diff)
    _metadata(p)
    _db(p)

    p = command("check", "fail if model and database differ (Django: makemigrations "
                "--check)", _check)
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
        _db(p)

    p = command("history", "revisions, newest first, as a table (Flyway: info; Django: "
                "showmigrations)", _history)
    p.add_argument("-r", "--rev-range", metavar="RANGE", help="START:END, START: or :END")
    p.add_argument("-v", "--verbose", action="store_true")
    _db(p)

    p = command("current", "the revision the database is at", _current)
    _db(p)
    p = command("heads", "the heads of the revision graph", _heads)
    _db(p)
    command("branches", "branch points of the revision graph", _branches)

    p = command("show", "one revision in full", _show)
    p.add_argument("revision", metavar="REV")
    _db(p)

    p = command("stamp", "record revisions as applied without running them (Flyway: "
                "baseline)", _stamp)
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
    p = command("tags", "the tags and the revisions they name", _tags)
    _db(p)

    command("status", "every connected database at once: reachable, current, pending, "
            "drift (Flyway: info)", _status)

    p = command("log", "what was applied, when, by whom, how long it took (Flyway: the "
                "schema history table)", _log)
    p.add_argument("-n", "--limit", type=_count, default=200, metavar="N",
                   help="the newest N steps (default: 200)")
    _db(p)

    p = command("lint", "warn about operations that lock or rewrite big tables, and safer "
                "patterns (squawk, strong_migrations)", _lint)
    p.add_argument("rev_range", nargs="?", metavar="RANGE",
                   help="START:END (default: the revisions not yet applied)")
    _db(p)

    p = command("graph", "the revision graph: branches, merges, current revision, tags", _graph)
    _db(p)

    if not cli:
        command("ui", "a dashboard to preview, apply and roll back revisions", _ui)

    p = command("merge", "write a merge revision joining heads", _merge)
    p.add_argument("revisions", nargs="*", metavar="REV", help="default: heads")
    p.add_argument("-m", "--message", metavar="MSG")
    p.add_argument("--branch-label", metavar="L")
    p.add_argument("--rev-id", metavar="ID")

    if cli:
        p = command("demo", "a first run on SQLite: init, autogenerate, upgrade, history, "
                    "downgrade", _demo)
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


def run(session: Any, args: argparse.Namespace, cell: str | None = None) -> Any:
    """Call the engine for parsed ``args``; ``cell`` is the ``%%migrate`` body."""
    if cell is not None and cell.strip() and args.command != "revision":
        raise UsageProblem(f"%%migrate takes a cell body only with revision, not {args.command}")
    metadata = getattr(args, "metadata", None)
    if metadata and args.command != "init":
        previous, session.metadata_spec = session.metadata_spec, metadata
        try:
            return args.handler(session, args, cell)
        finally:
            session.metadata_spec = previous
    return args.handler(session, args, cell)


# --------------------------------------------------------------- handlers


def _init(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.init(a.directory or "migrations", url=a.url, metadata=a.metadata,
                  template=a.template)


def _attach(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.attach(a.path)


def _connect(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.connect(a.target, name=a.name)


def _connections(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.connections()


def _revision(s: Any, a: argparse.Namespace, cell: str | None) -> Any:
    body = cell if cell is not None and cell.strip() else None
    return s.revision(a.message, autogenerate=a.autogenerate, rev_id=a.rev_id, head=a.head,
                      splice=a.splice, branch_label=a.branch_label, depends_on=a.depends_on,
                      body=body, renames=a.rename, db=a.db)


def _diff(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.diff(db=a.db)


def _check(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.check(db=a.db)


def _move(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    if a.sql and a.dry_run:
        raise UsageProblem(f"{a.command}: give --sql or --dry-run, not both")
    return getattr(s, a.command)(a.target, sql=a.sql, dry_run=a.dry_run, yes=a.yes, db=a.db)


def _lint(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.lint(a.rev_range, db=a.db)


def _graph(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.graph(db=a.db)


def _ui(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    from .widgets import Dashboard

    return Dashboard(s)


def _history(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.history(a.rev_range, verbose=a.verbose, db=a.db)


def _current(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.current(db=a.db)


def _heads(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.heads(db=a.db)


def _branches(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.branches()


def _show(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.show(a.revision, db=a.db)


def _stamp(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.stamp(a.revisions, sql=a.sql, purge=a.purge, db=a.db)


def _merge(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.merge(a.revisions or ["heads"], message=a.message, branch_label=a.branch_label,
                   rev_id=a.rev_id)


def _tag(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    if a.delete:
        if a.revision:
            raise UsageProblem("tag --delete takes only the tag NAME")
        return s.untag(a.name)
    return s.tag(a.name, a.revision, db=a.db)


def _tags(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.tags(db=a.db)


def _status(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.status()


def _log(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    return s.log(db=a.db, limit=a.limit)


def _demo(s: Any, a: argparse.Namespace, _: str | None) -> Any:
    from .demo import run_demo

    return run_demo(a.directory)


__all__ = ["HelpRequested", "NbMigrateError", "Parser", "build_parser", "parse", "run",
           "subparsers"]
