"""The main job, offline: `python -m offline [stack]` plans a stack without AWS or the Pulumi CLI.

It prints the tree of components → resources with the settings a reviewer checks, the policy
report (mandatory and advisory findings, suppressions with their reasons) and the limits report,
and exits non-zero when a mandatory rule or a limit fails, so CI can gate on it.

Exit codes: 0 plan OK; 1 a mandatory finding or a limit failure (or, with --check-docs, stale
diagrams); 2 the stack can't be evaluated (bad config or component args).

Change and cost: the plan ends with the stack's monthly cost estimate (offline/cost.py, usage
assumptions in offline/usage.py and usage.<stack>.yaml). --base REF also evaluates the stack as
committed at REF (a temporary git worktree, in a subprocess) and prints what the change does:
resources created, updated, replaced and deleted (stateful ones flagged with what they lose),
policy findings gained and lost, and the cost delta. --format markdown is what CI posts on a pull
request; --format json is for tools; --snapshot-out FILE writes the recorded stack as JSON.

Diagrams: --diagrams DIR writes the stack's Mermaid (Markdown) and Graphviz (.dot, .svg when `dot`
is installed) diagrams to DIR; --write-docs regenerates docs/diagrams/ and, for prod, the README's
diagram region (`make diagrams` does both stacks and installs Graphviz when missing).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from offline.harness import evaluate_stack
from offline.render import render_tree

FORMATS = ("text", "markdown", "json")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m offline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stack", nargs="?", default="dev", help="stack name (Pulumi.<stack>.yaml), default dev")
    parser.add_argument("--no-tree", action="store_true", help="print only the policy and limits reports")
    parser.add_argument("--base", metavar="REF",
                        help="also evaluate the stack at git REF and print the difference (e.g. origin/main)")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text (default), markdown (PR comment) or json")
    parser.add_argument("--snapshot-out", metavar="FILE", type=Path,
                        help="write the recorded stack as JSON (what --base reads from a base that has this)")
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

    from offline import base_ref, cost, diagram_docs, diff, report as reports, snapshot_runner, usage
    from offline.diagrams import architecture

    if args.snapshot_out:
        snapshot_runner.write_snapshot(snapshot, args.snapshot_out)
    report = reports.evaluate_snapshot(snapshot)
    try:
        estimate = cost.estimate_stack(snapshot)
        plan = None
        if args.base:
            head = base_ref.canonical_snapshot(snapshot)
            base = base_ref.evaluate_at_ref(args.stack, args.base)
            label = base.commit[:7] if base.commit.startswith(args.base) else f"{args.base} ({base.commit[:7]})"
            plan = diff.diff_snapshots(base.snapshot, head, label,
                                       base_absent=base.absent, cost_head=estimate)
    except (usage.UsageError, base_ref.BaseRefError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if args.format == "text":
        sections = [] if args.no_tree else [render_tree(snapshot)]
        sections += [reports.render_policy_report(report), reports.render_limits_report(snapshot, report),
                     cost.render_cost_table(estimate)]
        if plan is not None:
            sections.append(diff.render_text(plan, color=diff.use_color()))
        print("\n\n".join(sections))
    elif args.format == "markdown":
        print(_markdown(args.stack, report, estimate, plan, reports))
    else:
        print(json.dumps(_document(args.stack, snapshot, report, estimate, plan, reports), indent=1))

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
    if args.format == "text":
        print("\n" + verdict)
    if not report.ok:
        print(verdict, file=sys.stderr)
        return 1
    return exit_code


def _markdown(stack, report, estimate, plan, reports) -> str:
    from offline import cost, diff

    verdict = reports.render_verdict(report).replace("\n", "\n> ")
    parts = [diff.render_markdown(plan)] if plan is not None else [
        f"### `{stack}`: {len(report.mandatory)} mandatory, {len(report.advisory)} advisory findings", ""]
    parts += ["", f"<details><summary>Cost of <code>{stack}</code>: {cost.usd(estimate.total)} a month</summary>",
              "", cost.render_cost_markdown(estimate), "", "</details>", "", f"> {verdict}"]
    return "\n".join(parts)


def _document(stack, snapshot, report, estimate, plan, reports) -> dict:
    from offline import cost, diff

    return {
        "stack": stack,
        "ok": report.ok,
        "verdict": reports.render_verdict(report),
        "resources": sum(1 for r in snapshot.resources if r.custom),
        "findings": [{"rule_id": f.rule_id, "level": f.level, "type": f.resource_type, "name": f.name,
                      "message": f.message} for f in report.findings],
        "cost": cost.cost_document(estimate),
        "diff": diff.plan_document(plan) if plan is not None else None,
        "placeholders": diff.PLACEHOLDER_LEGEND,
    }


if __name__ == "__main__":
    sys.exit(main())
