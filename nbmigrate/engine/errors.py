"""The one exception family front-ends turn into a single line."""

from __future__ import annotations


class NbMigrateError(Exception):
    """A user-facing failure: the message is one line and holds no password."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class DriftDetected(NbMigrateError):
    """``check`` found differences between the model and the database."""

    exit_code = 1


class UsageProblem(NbMigrateError):
    """The command line itself is wrong (unknown sub-command, missing argument)."""

    exit_code = 2


class DestructiveChange(NbMigrateError):
    """An upgrade or downgrade would lose data and was not confirmed; nothing changed."""

    exit_code = 1
