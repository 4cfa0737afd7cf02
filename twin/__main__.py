"""`python -m twin dev|prod|all`: run each stack's twin and print its report; non-zero on any failure."""
from __future__ import annotations

import argparse
import sys

from twin.scenarios import run_stack

STACKS = ("dev", "prod")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin", description=__doc__)
    parser.add_argument("stack", choices=[*STACKS, "all"], help="the stack to twin, or all of them")
    args = parser.parse_args(argv)
    status = 0
    for stack in STACKS if args.stack == "all" else (args.stack,):
        report = run_stack(stack)
        print(report.render(), flush=True)
        print()
        status = status or (0 if report.ok else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
