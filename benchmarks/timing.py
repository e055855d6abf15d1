"""Timing: medians, variants in alternating rounds, and the rows a report prints."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Row:
    scenario: str
    variant: str
    seconds: float
    baseline: str = ""
    ratio: float | None = None
    note: str = ""


def median_time(fn: Callable[[], object], runs: int, setup: Callable[[], object] | None = None
                ) -> float:
    """The median wall time of ``fn`` over ``runs`` runs (``setup`` untimed before each)."""
    times = []
    for _ in range(runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def alternating(fns: dict[str, Callable[[], object]], runs: int, setup: Callable[[], object]
                ) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Each of ``fns`` once per round, in turn first, for ``runs`` rounds (``setup`` untimed
    before each call): the median times, and the times of every round (to take
    per-round ratios, which the drift of a database between rounds does not move)."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for round_ in range(runs):  # each round starts with the next variant: no one goes first
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            fn = fns[name]
            setup()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, times


def ratio(times: dict[str, list[float]], top: str, bottom: str) -> float:
    """The median of the per-round ratios ``top / bottom``."""
    return statistics.median(a / b for a, b in zip(times[top], times[bottom], strict=True))
