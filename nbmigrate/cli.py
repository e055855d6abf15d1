"""The ``nbmigrate`` console command: the ``%migrate`` grammar in a terminal or CI."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from .display.words import TERMINAL
from .engine.errors import NbMigrateError, UsageProblem
from .engine.secrets import redact
from .grammar import HelpRequested, build_parser, run
from .progress import form_for
from .progress import shown as progress_shown


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors are one line on stderr, exit 1 (failure) or 2 (usage)."""
    try:
        return _main(argv)
    except BrokenPipeError:  # the reader went away (nbmigrate graph | head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports SIGPIPE


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser("nbmigrate", cli=True)
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # --metadata models:Base finds ./models.py, as alembic does
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        if args.command in TERMINAL_ONLY:
            result = run(None, args, front_end=TERMINAL_ONLY)
        else:
            from .engine.session import Session

            session = Session(args.config, metadata=getattr(args, "metadata", None))
            session.options.on_wait = lambda message: print(f"nbmigrate: {message}",
                                                            file=sys.stderr)
            if args.database_url:
                session.connect(args.database_url)
            with progress_shown(args, form_for()):  # on stderr, if a terminal
                result = run(session, args)
    except HelpRequested as shown:
        print(shown.text, end="")
        return 0
    except UsageProblem as exc:  # argparse's message already names the program
        print(exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # Ctrl-C outside a run: a migration run says where it stopped
        print("nbmigrate: interrupted", file=sys.stderr)
        return 130
    except NbMigrateError as exc:
        if getattr(exc, "rendered", ""):
            print(exc.rendered)  # what a partly rendered --sql wrote, then why it stopped
        print(f"nbmigrate: error: {exc.spell(TERMINAL)}", file=sys.stderr)
        return exc.exit_code
    if result is not None:
        from .display.views import text

        print(text(result, TERMINAL))
    failure = getattr(result, "failure", "")
    if failure:  # a check that failed (validate): its report above, exit 1 for CI
        print(f"nbmigrate: error: {failure}", file=sys.stderr)
        return 1
    return 0


def attach(_session: None, args: Any, _cell: str | None) -> Any:
    """``nbmigrate attach``: a terminal keeps no project between commands; say how it names one."""
    raise UsageProblem("nbmigrate attach: a terminal keeps nothing between commands: name the "
                       f"project in each one, nbmigrate -c {args.path} SUBCOMMAND (default: "
                       "./alembic.ini)")


def connect(_session: None, args: Any, _cell: str | None) -> Any:
    """``nbmigrate connect``: say how the terminal names a database; connect to nothing."""
    raise UsageProblem("nbmigrate connect: a terminal keeps nothing between commands: name the "
                       f"database in each one, nbmigrate --url {redact(args.target)} "
                       "SUBCOMMAND, or set NBMIGRATE_URL (default: sqlalchemy.url in alembic.ini)")


def demo(_session: None, args: Any, _cell: str | None) -> Any:
    """``nbmigrate demo``: a first run on SQLite, printed step by step."""
    from .demo import run_demo

    return run_demo(args.directory)


TERMINAL_ONLY = {"attach": attach, "connect": connect, "demo": demo}

if __name__ == "__main__":
    sys.exit(main())
