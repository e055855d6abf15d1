"""The ``nbmigrate`` console command: the ``%migrate`` grammar in a terminal or CI."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from .display.words import TERMINAL
from .engine.cached_reading import READS
from .engine.errors import NbMigrateError, UsageProblem
from .grammar import COMMANDS, HelpRequested, build_parser, run


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors are one line on stderr, exit 1 (failure) or 2 (usage)."""
    collecting = gc.isenabled()
    gc.disable()  # loading the code makes many objects and no garbage: collect after (_run)
    try:
        return _main(argv)
    except BrokenPipeError:  # the reader went away (nbmigrate graph | head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports SIGPIPE
    finally:
        if collecting:  # as the caller had it
            _collect_from_now()
        else:
            gc.disable()


def _main(argv: Sequence[str] | None) -> int:
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # --metadata models:Base finds ./models.py, as alembic does
    try:
        args = _parsed(list(sys.argv[1:] if argv is None else argv))
        if args.command in TERMINAL_ONLY:
            _collect_from_now()  # as in _run
            result = run(None, args, front_end=TERMINAL_ONLY)
        elif args.command in READS:  # from the cached revision graph, else as any command
            result = _read_cached(args)
            if result is None:
                result = _run(args)
        else:
            result = _run(args)
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
        print(_shown(result))
    failure = getattr(result, "failure", "")
    if failure:  # a check that failed (validate): its report above, exit 1 for CI
        print(f"nbmigrate: error: {failure}", file=sys.stderr)
        return 1
    return 0


def _collect_from_now() -> None:
    """Turn the garbage collector on without a first pass over all that loaded while it
    was off: that pass would walk every object of the code and find no garbage. (Frozen
    and unfrozen, the objects go to the oldest generation, collected as usual.)"""
    gc.freeze()
    gc.unfreeze()
    gc.enable()


def _parsed(argv: list[str]) -> Any:
    """The command line parsed by the grammar of the sub-command it names alone, which
    builds quicker, and by the whole grammar where that fails (the whole grammar's help
    and error messages). The first word that names a sub-command is the sub-command, or
    the value of -c or --url before it: then the one-command grammar refuses the line."""
    named = next((word for word in argv if word in COMMANDS), None)
    if named is not None:
        with contextlib.suppress(UsageProblem, HelpRequested):
            return build_parser("nbmigrate", cli=True, only=named).parse_args(argv)
    return build_parser("nbmigrate", cli=True).parse_args(argv)


def _run(args: Any) -> Any:
    """The command, run by a Session; a read command keeps the revision graph it read in
    the user's cache for the next one."""
    from .engine.session import Session
    from .progress import form_for
    from .progress import shown as progress_shown

    _collect_from_now()  # the code is loaded: a long run collects its garbage
    started = time.time_ns()  # before the scripts are read: see revision_cache.settled
    session = Session(args.config, metadata=getattr(args, "metadata", None))
    session.options.on_wait = lambda message: print(f"nbmigrate: {message}", file=sys.stderr)
    if args.database_url:
        session.connect(args.database_url)
    with progress_shown(args, form_for()):  # on stderr, if a terminal
        result = run(session, args)
    if args.command in READS:
        from .engine.cached_project import remember

        remember(session.project, started)
    return result


def _read_cached(args: Any) -> Any:
    """current, heads or history from the cached revision graph, without loading Alembic;
    None when the cache cannot serve it."""
    from .engine.cached_reading import read_cached

    return read_cached(args.command, config=args.config, url=args.database_url, db=args.db,
                       verbose=getattr(args, "verbose", False),
                       rev_range=getattr(args, "rev_range", None))


def _shown(result: Any) -> str:
    """The result as text; the read commands' without loading every other view."""
    from .display import reading_views

    if type(result) in reading_views.TITLES:
        return reading_views.text(result, TERMINAL)
    from .display.views import text

    return text(result, TERMINAL)


def attach(_session: None, args: Any, _cell: str | None) -> Any:
    """``nbmigrate attach``: a terminal keeps no project between commands; say how it names one."""
    raise UsageProblem("nbmigrate attach: a terminal keeps nothing between commands: name the "
                       f"project in each one, nbmigrate -c {args.path} SUBCOMMAND (default: "
                       "./alembic.ini)")


def connect(_session: None, args: Any, _cell: str | None) -> Any:
    """``nbmigrate connect``: say how the terminal names a database; connect to nothing."""
    raise UsageProblem("nbmigrate connect: a terminal keeps nothing between commands: name the "
                       f"database in each one, nbmigrate --url {_redacted(args.target)} "
                       "SUBCOMMAND, or set NBMIGRATE_URL (default: sqlalchemy.url in alembic.ini)")


def _redacted(url: str) -> str:
    from .engine.secrets import redact

    return redact(url)


def demo(_session: None, args: Any, _cell: str | None) -> Any:
    """``nbmigrate demo``: a first run on SQLite, printed step by step."""
    from .demo import run_demo

    return run_demo(args.directory)


TERMINAL_ONLY = {"attach": attach, "connect": connect, "demo": demo}

if __name__ == "__main__":
    sys.exit(main())
