"""Benchmarks: `python -m bench [--quick | --tiny]` runs every bench/bench_*.py in its own process."""

from __future__ import annotations

import os

TINY_ENV = "BENCH_TINY"


def tiny_mode(flag: bool) -> bool:
    """--tiny or BENCH_TINY=1: one round on the smallest inputs. A smoke test that keeps the
    benchmarks from rotting (tests/bench runs it); its timings mean nothing and its timing
    targets are reported, never enforced."""
    return flag or os.environ.get(TINY_ENV) == "1"
