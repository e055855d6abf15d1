"""What ``test`` found: one row per revision and check, and the report that holds them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from .results import Result
from .text import clip

OK, FAILED, IRREVERSIBLE, SKIPPED, LOSES = "ok", "failed", "irreversible", "skipped", \
    "loses data"
UP, DOWN, AGAIN = "upgrade", "downgrade", "upgrade again"


class TrialRow(NamedTuple):
    """One check of one revision (the first row, ``heads``, and the last, ``models``,
    are of the whole history)."""

    revision: str
    message: str
    check: str  # heads, upgrade, stairway, no trace, data, models
    status: str  # ok, failed, irreversible, skipped, loses data
    detail: str


@dataclass(repr=False)
class TrialReport(Result):
    """What ``test`` found, one row per revision and check."""

    database: str  # the connected database whose dialect was tested
    dialect: str
    scratch: str  # where the test ran
    checks: list[TrialRow]
    revisions: int  # revisions upgraded
    seconds: float
    kept: str = ""  # where the scratch database is, kept (--keep)
    remark: str = ""  # what could not be cleaned up
    on: str = ""  # the --db database it ran on ("": a scratch database the test made)
    heads: tuple[str, ...] = ()  # the scripts' heads (several: a merge is advised)

    columns = TrialRow._fields

    def rows(self) -> list[tuple]:
        return list(self.checks)

    @property
    def failures(self) -> list[TrialRow]:
        return [r for r in self.checks if r.status == FAILED]

    @property
    def failed(self) -> bool:
        return bool(self.failures)

    @property
    def failure(self) -> str:
        """One line when a check failed ("" when all passed): front ends show the report,
        then fail with it (the magic stops Run All, the command line exits 1)."""
        if not self.failures:
            return ""
        first = self.failures[0]
        more = f" (and {len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        return (f"test failed: {first.revision} {first.check}: {clip(first.detail, 120)}"
                f"{more}")


Progress = Callable[[TrialRow, int, int], None]  # (a revision's last row, done, planned)
