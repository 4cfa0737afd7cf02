"""The main job, offline: `python -m offline [stack]` plans a stack without AWS or the Pulumi CLI.

It prints the tree of components → resources with the settings a reviewer checks, the policy
report (mandatory and advisory findings, suppressions with their reasons) and the limits report,
and exits non-zero when a mandatory rule or a limit fails, so CI can gate on it.

Exit codes: 0 plan OK; 1 a mandatory finding or a limit failure (or, with --check-docs, stale
diagrams); 2 the stack can't be evaluated (bad config or component args).

Diagrams: --diagrams DIR writes the stack's Mermaid (Markdown) and Graphviz (.dot, .svg when `dot`
is installed) diagrams to DIR; --write-docs regenerates docs/diagrams/ and, for prod, the README's
diagram region (`make diagrams` does both stacks and installs Graphviz when missing).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from offline.harness import evaluate_stack
from offline.render import render_tree


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m offline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", nargs="?", default="dev", help="stack name (Pulumi.<stack>.yaml), default dev")
    parser.add_argument("--no-tree", action="store_true", help="print only the policy and limits reports")
    parser.add_argument("--diagrams", metavar="DIR", type=Path,
                        help="write the stack's diagrams (Mermaid .md, Graphviz .dot, .svg if `dot` is installed) to DIR")
    parser.add_argument("--write-docs", action="store_true",
                        help="regenerate docs/diagrams/ for the stack (and the README region for prod)")
    parser.add_argument("--check-docs", action="store_true",
                        help="fail (exit 1) if docs/diagrams/ or the README region are not what --write-docs would write")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        snapshot = evaluate_stack(args.stack)
    except Exception as error:  # a bad config or component arg: say what and where, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2

    from offline import diagram_docs, report as reports
    from offline.diagrams import architecture

    report = reports.evaluate_snapshot(snapshot)
    sections = [] if args.no_tree else [render_tree(snapshot)]
    sections += [reports.render_policy_report(report), reports.render_limits_report(snapshot, report)]
    print("\n\n".join(sections))

    exit_code = 0
    if args.diagrams or args.write_docs or args.check_docs:
        arch = architecture(snapshot)
        images = shutil.which("dot") is not None
        written = []
        if args.diagrams:
            written += diagram_docs.write_diagrams(arch, args.diagrams, images)
        if args.write_docs:
            written += diagram_docs.write_docs(arch, images)
        if written:
            print("\ndiagrams written: " + ", ".join(diagram_docs.display_path(p) for p in written))
        if (args.diagrams or args.write_docs) and not images:
            print("warning: Graphviz `dot` not found, SVG images not rendered; `make diagrams` installs it",
                  file=sys.stderr)
        if args.check_docs:
            stale = diagram_docs.stale_docs(arch)
            for problem in stale:
                print(f"stale diagrams: {problem}", file=sys.stderr)
            exit_code = 1 if stale else 0

    verdict = reports.render_verdict(report)
    print("\n" + verdict)
    if not report.ok:
        print(verdict, file=sys.stderr)
        return 1
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
