"""The ``nbmigrate`` console command: the ``%migrate`` grammar in a terminal or CI."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .engine.errors import NbMigrateError, UsageProblem
from .grammar import HelpRequested, build_parser, run


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors are one line on stderr, exit 1 (failure) or 2 (usage)."""
    parser = build_parser("nbmigrate", cli=True)
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # --metadata models:Base finds ./models.py, as alembic does
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
        if args.command == "demo":
            result = run(None, args)
        else:
            from .engine.session import Session

            session = Session(args.config, metadata=getattr(args, "metadata", None))
            session.on_wait = lambda message: print(f"nbmigrate: {message}", file=sys.stderr)
            if args.database_url:
                session.connect(args.database_url)
            result = run(session, args)
    except HelpRequested as shown:
        print(shown.text, end="")
        return 0
    except UsageProblem as exc:  # argparse's message already names the program
        print(exc, file=sys.stderr)
        return exc.exit_code
    except NbMigrateError as exc:
        print(f"nbmigrate: error: {in_terminal_words(str(exc))}", file=sys.stderr)
        return exc.exit_code
    if result is not None:
        print(in_terminal_words(str(result)))
    return 0


def in_terminal_words(text: str) -> str:
    """Hints name the notebook's ``%migrate``; in a terminal the command is ``nbmigrate``."""
    text = text.replace(", or %config NbMigrate.confirm_destructive = False", "")
    return text.replace("%migrate ", "nbmigrate ")


if __name__ == "__main__":
    sys.exit(main())
