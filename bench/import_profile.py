"""Where each Lambda handler's cold import time goes, from `python -X importtime`.

    .venv/bin/python bench/import_profile.py --python bench/.py313/bin/python   # the Lambda's 3.13
    .venv/bin/python bench/import_profile.py --rounds 3 --top 5

Each handler (and a bare `import boto3`, for scale) is imported in a fresh interpreter with
warm bytecode caches, `rounds` times; per top-level package, the median of the summed
self-times is reported, largest first. A 3.13 environment with the functions' pinned
requirements can be made with:

    ~/.pyenv/versions/3.13.0/bin/python -m venv bench/.py313    # gitignored
    bench/.py313/bin/pip install boto3==1.44.5 -r functions/<name>/requirements.txt ...  # each function

Not a bench_*.py: it has no target and no ratio, so `python -m bench` does not run it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_stacks import HANDLER_ENV  # noqa: E402


def importtime(python: str, statement: str) -> dict[str, int]:
    """Self time in microseconds per imported module."""
    env = {**os.environ, **HANDLER_ENV, "PYTHONPATH": str(ROOT / "functions")}
    result = subprocess.run(
        [python, "-X", "importtime", "-c", statement], capture_output=True, text=True, env=env, check=True
    )  # CalledProcessError carries stderr, the reason
    times = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line[len("import time:") :].split("|")
        times[name.strip()] = int(self_us)
    return times


def import_cpu_seconds(python: str, statement: str) -> float:
    """CPU time (user + system) of a fresh interpreter running `statement`: unlike -X importtime's
    wall clock, it does not count time spent waiting for a core on a busy machine."""
    env = {**os.environ, **HANDLER_ENV, "PYTHONPATH": str(ROOT / "functions")}
    process = subprocess.Popen([python, "-c", statement], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, statement, stderr="")
    return usage.ru_utime + usage.ru_stime


def group(module: str, handler: str) -> str:
    top = module.split(".")[0]
    if top == handler and handler != "boto3":
        return f"{handler} (own code)"
    if top in sys.stdlib_module_names or top.startswith("_"):
        return "stdlib"
    return top


def profile(python: str, statement: str, handler: str, rounds: int) -> tuple[dict[str, float], list, float]:
    """Median self-time per package (-X importtime, wall clock), the heaviest modules, and the
    median ratio of the import's CPU time to a bare `import boto3`'s in the same round (each less
    an empty interpreter's), which load on a shared machine distorts far less."""
    importtime(python, statement)  # warm the bytecode cache, as the runtime ships it
    totals: dict[str, list[int]] = defaultdict(list)
    modules: dict[str, list[int]] = defaultdict(list)
    ratios = []
    for _ in range(rounds):
        empty = import_cpu_seconds(python, "pass")
        baseline = import_cpu_seconds(python, "import boto3") - empty
        ratios.append((import_cpu_seconds(python, statement) - empty) / baseline)
        per_group: dict[str, int] = defaultdict(int)
        for module, us in importtime(python, statement).items():
            per_group[group(module, handler)] += us
            modules[module].append(us)
        for name, us in per_group.items():
            totals[name].append(us)
    medians = {name: statistics.median(v) / 1000 for name, v in totals.items()}
    heaviest = sorted(((statistics.median(v) / 1000, m) for m, v in modules.items()), reverse=True)
    return medians, heaviest, statistics.median(ratios)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable, help="interpreter to profile under")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--top", type=int, default=4, help="heaviest single modules to list per handler")
    args = parser.parse_args()
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True
    )
    print(f"import cost by package, median of {args.rounds}, Python {version.stdout.strip()}, warm bytecode")
    handlers = sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))
    for handler, statement in [("boto3", "import boto3"), *((h, f"import {h}.handler") for h in handlers)]:
        try:
            medians, heaviest, ratio = profile(args.python, statement, handler, args.rounds)
        except subprocess.CalledProcessError as exc:
            print(f"\n{statement}: cannot be imported outside Lambda: {(exc.stderr or '').strip().splitlines()[-1:]}")
            continue
        total = sum(medians.values())
        shares = sorted(medians.items(), key=lambda kv: -kv[1])
        parts = ", ".join(f"{name} {100 * ms / total:.0f}%" for name, ms in shares if ms / total >= 0.01)
        print(f"\n{statement}: {ratio:.2f}x boto3 in CPU time; self-time shares: {parts}")
        print("  heaviest modules: " + ", ".join(f"{m} {ms:.1f}" for ms, m in heaviest[: args.top]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
