"""Every bench/bench_*.py runs in tiny mode, exits 0 and prints its ratio lines: benchmarks can't rot.

Nothing here is timed: tiny mode is one round on the smallest inputs, and its timing targets
are reported, never enforced. Engines a benchmark compares against but that are not installed
(sharp, pyvips) are skipped by the benchmark itself, with a line saying so.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted((ROOT / "bench").glob("bench_*.py"))

# What each benchmark's ratio lines look like; a new benchmark must print at least one "<n>x".
RATIO_LINES = {
    "bench_outbox_relay": [r"ratio \d+\.\d+x", r"relay makes \d+\.\dx fewer calls"],
    "bench_stacks": [r"\d+\.\d+x floor", r"thumbnailer\.handler +\d+\.\d+x boto3 median, \d+\.\d+x p90",
                     r"heaviest beyond boto3's"],
    "bench_thumbnails": [r"throughput \d+\.\dx baseline"],
    "bench_thumbnail_leaders": [
        r"(?m)^ +[\d.]+ ms +ratio thumbnailer +median +\d+\.\d+x +\(range",
        # Each engine either ran (its versions) or was skipped (and why), on a line of its own.
        *(rf"(?m)^  {engine}: " for engine in ("thumbnailer", "naive-pillow", "sharp", "sharp-chain", "pyvips")),
    ],
}
GENERIC_RATIO = r"\d+(\.\d+)?x\b"


def run_tiny(script: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BENCH_TINY": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        # bench_stacks starts about 40 interpreters: minutes of wall time when the shared machine is loaded.
        [sys.executable, str(script), "--tiny"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_every_benchmark_is_covered():
    assert SCRIPTS, "no bench/bench_*.py found"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_benchmark_runs_in_tiny_mode_and_prints_its_ratios(script):
    result = run_tiny(script)

    assert result.returncode == 0, f"{script.name} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    for pattern in RATIO_LINES.get(script.stem, [GENERIC_RATIO]):
        assert re.search(pattern, result.stdout), f"{script.name}: no line matching {pattern!r}\n{result.stdout}"

