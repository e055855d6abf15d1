"""Timing: variants in alternating rounds, per-round ratios with their spread, goals,
and the rows a report prints."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Ratio:
    """The median of per-round ratios, and the lowest and highest of them."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, ratios: Sequence[float]) -> Ratio:
        """The median and the spread of ``ratios``."""
        return cls(statistics.median(ratios), min(ratios), max(ratios))

    def __str__(self) -> str:
        return f"{self.median:.2f}x ({self.low:.2f}-{self.high:.2f})"


@dataclass
class Row:
    """One line of the report: a variant's median time, and its ratio to a baseline."""

    scenario: str
    variant: str
    seconds: float | None  # None: the variant did not run (the note says why)
    baseline: str = ""
    ratio: Ratio | None = None
    note: str = ""


@dataclass
class Variant:
    """What one variant runs, untimed ``setup`` before it, and how many calls make one
    timing (``repeat``: a call of a few milliseconds is timed as the mean of several)."""

    fn: Callable[[], object]
    setup: Callable[[], object] | None = None
    repeat: int = 1


@dataclass
class Rounds:
    """The times of every variant in every round (per call, seconds)."""

    times: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        """The median time of one variant."""
        return statistics.median(self.times[name])

    def ratio(self, top: str, bottom: str) -> Ratio:
        """``top / bottom``: the median of the per-round ratios, and their spread."""
        return Ratio.of([a / b for a, b in zip(self.times[top], self.times[bottom],
                                                strict=True)])

    def against(self, name: str, seconds: float) -> Ratio:
        """One variant's times over a fixed time (a goal in seconds)."""
        return Ratio.of([t / seconds for t in self.times[name]])

    def per_unit_over(self, top: str, bottom: str, units: int) -> tuple[float, float, float]:
        """``(top - bottom) / units`` per round, in milliseconds: median, lowest, highest."""
        diffs = [(a - b) / units * 1000 for a, b in zip(self.times[top], self.times[bottom],
                                                        strict=True)]
        return statistics.median(diffs), min(diffs), max(diffs)


def alternating(variants: dict[str, Variant | Callable[[], object]], runs: int,
                setup: Callable[[], object] | None = None) -> Rounds:
    """Each variant once per round, for ``runs`` rounds, each round started by the next
    variant so that none always goes first. ``setup`` (untimed) runs before each variant
    that has no setup of its own. Per-round ratios are what the report prints: the drift
    of the machine or a database between rounds moves them far less than it moves
    ratios of medians."""
    named = {name: v if isinstance(v, Variant) else Variant(v) for name, v in variants.items()}
    rounds = Rounds({name: [] for name in named})
    names = list(named)
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            variant = named[name]
            prepare = variant.setup or setup
            if prepare is not None:
                prepare()
            start = time.perf_counter()
            for _ in range(variant.repeat):
                variant.fn()
            rounds.times[name].append((time.perf_counter() - start) / variant.repeat)
    return rounds


def goal(ratio: Ratio, op: str, limit: float) -> str:
    """Whether the median meets ``op limit`` (``<=``, ``<`` or ``>=``), said plainly, and
    whether every round did."""
    def meets(value: float) -> bool:
        return {"<=": value <= limit, "<": value < limit, ">=": value >= limit}[op]

    text = f"goal {op} {limit:g}x"
    if not meets(ratio.median):
        return f"{text}: NOT met"
    if meets(ratio.low) and meets(ratio.high):
        return f"{text}: met"
    return f"{text}: met by the median, not in every round"
