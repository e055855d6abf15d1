"""The benchmark runner keeps working (its timings are for people, not for asserts)."""

from __future__ import annotations

import re
import subprocess
import sys

from helpers import ROOT


def test_quick_benchmarks_run_every_scenario_and_print_ratios():
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--quick"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    table = out.stdout.split("\n\n")[-1]
    for scenario in ("1. current", "1. history", "1. heads", "2. upgrade head",
                     "3. autogenerate", "4. preview", "5. start-up",
                     "6. optuna: upgrade head from empty (sqlite)"):
        rows = [line for line in table.splitlines() if line.startswith(f"| {scenario}")]
        assert rows, f"scenario {scenario!r} did not run"
        assert any(re.search(r"\| \d+\.\d\dx \|", row) for row in rows), scenario
    assert "machine: " in out.stdout and "Alembic" in out.stdout
