"""The main job, offline: `python -m offline [stack]` renders a stack without AWS or the Pulumi CLI."""
from __future__ import annotations

import argparse
import sys

from offline.harness import evaluate_stack
from offline.render import render_tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline", description=__doc__)
    parser.add_argument("stack", nargs="?", default="dev", help="stack name (Pulumi.<stack>.yaml), default dev")
    args = parser.parse_args(argv)
    try:
        snapshot = evaluate_stack(args.stack)
    except Exception as error:  # a bad config or component arg: say what and where, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(render_tree(snapshot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
