"""Stack evaluation time under mocks, and each Lambda handler's cold import time.

(a) Each stack's `__main__.py` evaluated under Pulumi mocks (layers already cached),
    against a one-bucket program run the same way: the harness's own floor.
    Target: every stack under 3 s.
(b) Each handler module imported in a fresh interpreter, as a ratio to a bare
    `import boto3` timed just before it in the same round (median of N rounds). Target: <= 1.5x.
    Handlers create AWS clients on first use, so this is the import; the first request pays
    for client creation (about 50-120 ms measured here).
Both sides of (b) import with warm bytecode caches (boto3 ships compiled in the Lambda runtime).
Numbers come from this machine, which is shared and noisy: read the ratios.
--tiny (or BENCH_TINY=1): one round, the dev stack only, targets reported but not enforced.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import tiny_mode  # noqa: E402

STACK_TARGET_SECONDS = 3.0
IMPORT_TARGET_RATIO = 1.5
# Dummy configuration so every handler module can be imported outside Lambda: every variable a
# function reads as os.environ["NAME"] or env["NAME"] (found in its source, so a new handler needs no edit here),
# plus those that settings modules validate and the AWS region and credentials.
_REQUIRED_BY_SOURCE = sorted(
    {
        name
        for path in (ROOT / "functions").glob("*/*.py")
        for name in re.findall(r'(?:os\.environ|\benv)\["(\w+)"\]', path.read_text())
    }
)
HANDLER_ENV = {name: "bench" for name in (
    *_REQUIRED_BY_SOURCE, "BUCKET_NAME", "THUMBNAIL_BUCKET", "SES_CONFIGURATION_SET",
    "DATABASE", "TABLE", "WORKGROUP", "REPORT_BUCKET", "SOURCES")} | {
    "HOME_REGION": "eu-west-1", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_SERVICE_NAME": "bench"}


def _import_seconds(statement: str) -> float:
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    env = {**os.environ, **HANDLER_ENV, "PYTHONPATH": str(ROOT / "functions")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise ImportFailed(f"`{statement}` failed outside Lambda: {last}")
    return float(result.stdout.strip().splitlines()[-1])


class ImportFailed(RuntimeError):
    """A handler cannot be imported with HANDLER_ENV: the benchmark, not the timing, is broken."""


def bench_imports(runs: int, warm: bool = True, paired: bool = True) -> tuple[bool, list[str]]:
    """Whether every handler met the target, and the handlers that could not be imported at all.
    Unpaired (tiny mode), one baseline per round serves every handler."""
    handlers = sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))
    broken: dict[str, str] = {}
    for statement in ["import boto3", *[f"import {h}.handler" for h in handlers]] if warm else []:
        try:
            _import_seconds(statement)  # populate the bytecode cache the real runtime also ships with
        except ImportFailed as exc:
            broken[statement.split()[1].split(".")[0]] = str(exc)
    # Each round times the baseline right before each handler, so load drift hits both sides of a ratio.
    ratios: dict[str, list[float]] = {h: [] for h in handlers}
    baselines = []
    for _ in range(runs):
        baseline = None
        for name in handlers:
            if name in broken:
                continue
            if paired or baseline is None:
                baseline = _import_seconds("import boto3")
                baselines.append(baseline)
            try:
                ratios[name].append(_import_seconds(f"import {name}.handler") / baseline)
            except ImportFailed as exc:
                broken[name] = str(exc)
    print(f"(b) cold import, median of {runs} paired rounds; baseline `import boto3` ~ "
          f"{statistics.median(baselines) * 1000:.0f} ms")
    ok = True
    for name in handlers:
        if name in broken:
            print(f"    {name + '.handler':32s} BROKEN: {broken[name]}")
            continue
        ratio = statistics.median(ratios[name])
        ok &= ratio <= IMPORT_TARGET_RATIO
        print(f"    {name + '.handler':32s} {ratio:4.2f}x boto3  "
              f"{'ok' if ratio <= IMPORT_TARGET_RATIO else 'MISSED'} (target <= {IMPORT_TARGET_RATIO}x)")
    return ok, sorted(broken)


def bench_stacks(runs: int, only: str | None = None, warm: bool = True) -> bool:
    from serverless_blueprints.secure_bucket import SecureBucket
    from offline.harness import evaluate_program, evaluate_stack

    stacks = sorted(p.stem.split(".", 1)[1] for p in ROOT.glob("Pulumi.*.yaml"))
    if only:
        stacks = [only]
    for stack in stacks if warm else []:
        evaluate_stack(stack)  # warm: builds or loads cached layers, imports modules
    floor = statistics.median(_timed(lambda: evaluate_program(lambda: SecureBucket("b"))) for _ in range(runs))
    print(f"(a) stack evaluation under mocks, median of {runs}; floor (one SecureBucket) = {floor:.2f} s")
    ok = True
    for stack in stacks:
        seconds = statistics.median(_timed(lambda: evaluate_stack(stack)) for _ in range(runs))
        ok &= seconds < STACK_TARGET_SECONDS
        print(f"    {stack:8s} {seconds:5.2f} s  {seconds / floor:5.1f}x floor  "
              f"{'ok' if seconds < STACK_TARGET_SECONDS else 'MISSED'} (target < {STACK_TARGET_SECONDS} s)")
    return ok


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--tiny", action="store_true", help="one round, dev stack only (a smoke test)")
    args = parser.parse_args()
    tiny = tiny_mode(args.tiny)
    runs = 1 if tiny else 3 if args.quick else 7
    # Tiny mode skips the warm-up passes too: its numbers are not compared with anything.
    ok = bench_stacks(runs, only="dev" if tiny else None, warm=not tiny)
    imports_ok, broken = bench_imports(runs, warm=not tiny, paired=not tiny)
    ok &= imports_ok
    if broken:
        # Not a timing miss: the benchmark itself cannot run these, in any mode.
        print(f"cannot import outside Lambda: {', '.join(broken)} (a new required variable? see HANDLER_ENV)")
        return 1
    if tiny:
        print(f"tiny mode: one round, targets not enforced ({'met' if ok else 'missed'} this time)")
        return 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
