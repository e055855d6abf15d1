"""The words of the checks that fail a cell: ``validate`` and ``test``."""

from __future__ import annotations

from collections.abc import Sequence

from ..engine.advice import Command, Part
from ..engine.checksums import Validation
from ..engine.trial_report import TrialReport
from .words import lines

Words = str | Sequence[Part]


def validation_title(r: Validation) -> Words:
    accepted = f"accepted {r.accepted}'s file as applied; " if r.accepted else ""
    if not r.checked:
        return f"{accepted}{r.database}: no revision applied, nothing to validate"
    if r.problems:
        return f"{accepted}{r.database}: {len(r.problems)} applied revision(s) differ"
    unknown = sum(c.state == "unknown" for c in r.checked)
    later = f", {unknown} applied before checksums were kept" if unknown else ""
    return (f"{accepted}{r.database}: {len(r.checked) - unknown} applied revision(s) match "
            f"their files{later}")


def validation_note(r: Validation) -> Words:
    if not r.problems:
        return ""
    return ("an applied revision was edited or removed: the database did what the old file "
            "said; if the change is intended, ", Command("validate", "--accept", "REV"),
            " records the file as it is now")


def trial_title(r: TrialReport) -> Words:
    where = f"on {r.on}" if r.on else f"on a scratch {r.dialect} database"
    failed = len(r.failures)
    verdict = f"{failed} check(s) failed" if failed else "every check passed"
    return f"test: {r.revisions} revision(s) {where}: {verdict} ({r.seconds:.2f} s)"


def trial_note(r: TrialReport) -> Words:
    merge = ("several heads: ", Command("merge"), " joins them into one") \
        if len(r.heads) > 1 else ""
    kept = f"the scratch database is kept at {r.kept}" if r.kept else ""
    return lines(merge, kept, r.remark)
