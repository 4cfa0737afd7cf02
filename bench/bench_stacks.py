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
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STACK_TARGET_SECONDS = 3.0
IMPORT_TARGET_RATIO = 1.5
# Dummy configuration so every handler module can be imported outside Lambda.
HANDLER_ENV = {name: "bench" for name in (
    "TABLE_NAME", "BUCKET_NAME", "THUMBNAIL_BUCKET", "ORDERS_TABLE", "OUTBOX_TABLE", "IDEMPOTENCY_TABLE",
    "EVENT_BUS_NAME", "EVENT_SOURCE", "SHIPMENTS_TABLE", "SENDER_ADDRESS", "SES_TEMPLATE_NAME",
    "SES_CONFIGURATION_SET")} | {"HOME_REGION": "eu-west-1", "AWS_REGION": "eu-west-1",
                                 "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "bench",
                                 "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_SERVICE_NAME": "bench"}


def _import_seconds(statement: str) -> float:
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    env = {**os.environ, **HANDLER_ENV, "PYTHONPATH": str(ROOT / "functions")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def bench_imports(runs: int) -> bool:
    handlers = sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))
    for warm in ["import boto3", *[f"import {h}.handler" for h in handlers]]:
        _import_seconds(warm)  # populate the bytecode cache the real runtime also ships with
    # Each round times the baseline right before each handler, so load drift hits both sides of a ratio.
    ratios: dict[str, list[float]] = {h: [] for h in handlers}
    baselines = []
    for _ in range(runs):
        for name in handlers:
            baseline = _import_seconds("import boto3")
            baselines.append(baseline)
            ratios[name].append(_import_seconds(f"import {name}.handler") / baseline)
    print(f"(b) cold import, median of {runs} paired rounds; baseline `import boto3` ~ "
          f"{statistics.median(baselines) * 1000:.0f} ms")
    ok = True
    for name in handlers:
        ratio = statistics.median(ratios[name])
        ok &= ratio <= IMPORT_TARGET_RATIO
        print(f"    {name + '.handler':32s} {ratio:4.2f}x boto3  "
              f"{'ok' if ratio <= IMPORT_TARGET_RATIO else 'MISSED'} (target <= {IMPORT_TARGET_RATIO}x)")
    return ok


def bench_stacks(runs: int) -> bool:
    from serverless_blueprints.secure_bucket import SecureBucket
    from offline.harness import evaluate_program, evaluate_stack

    stacks = sorted(p.stem.split(".", 1)[1] for p in ROOT.glob("Pulumi.*.yaml"))
    for stack in stacks:
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
    args = parser.parse_args()
    runs = 3 if args.quick else 7
    ok = bench_stacks(runs)
    ok &= bench_imports(runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
