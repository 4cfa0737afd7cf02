"""The policy report and the limits report of a recorded stack, and the gate CI runs on.

    report = evaluate_snapshot(snapshot)          # the whole pack, suppressions applied
    print(render_policy_report(report))           # mandatory / advisory findings, suppressions
    print(render_limits_report(snapshot, report)) # name lengths, regions, creation order
    exit_code = 0 if report.ok else 1

A limit is a rule of the pack in the `limits` category (SB-LIMIT-*, SB-ORDER-*), so both reports
come from one evaluation and one suppression list (policy/suppressions.py).
"""
from __future__ import annotations

from typing import Optional

import policy
from offline.harness import StackSnapshot
from policy.limits import NAME_LIMITS, TERRAFORM_PREFIX_SUFFIX_LENGTH, planned_name
from policy.registry import LIMITS, POLICY

ENVIRONMENTS = ("dev", "prod")
TIGHTEST_NAMES = 5
INDENT = "    "


def stack_environment(snapshot: StackSnapshot) -> Optional[str]:
    """The `environment` default tag of the stack's providers, else the stack name if it is one."""
    for provider in snapshot.providers.values():
        tags = (provider.props.get("defaultTags") or {}).get("tags") or {}
        if tags.get("environment"):
            return tags["environment"]
    return snapshot.stack if snapshot.stack in ENVIRONMENTS else None


def evaluate_snapshot(snapshot: StackSnapshot, suppressions=None) -> policy.Report:
    """The whole pack over the recorded resources, as `pulumi preview --policy-pack policy` would run it."""
    return policy.evaluate(snapshot.resources, stack_environment(snapshot), suppressions=suppressions)


def stale_suppressions(report: policy.Report) -> list:
    """Suppressions meant for this environment that matched nothing: the finding they accepted is gone."""
    return [s for s in report.unused_suppressions
            if s.environments is None or report.environment in s.environments]


def _finding_lines(finding: policy.Finding, extra: str, value: str) -> list[str]:
    return [f"{INDENT}{finding.rule_id}  {finding.resource_type} '{finding.name}': {finding.message}",
            f"{INDENT}{' ' * len(finding.rule_id)}  {extra}: {value}"]


def _section(title: str, findings: list, extra: str = "fix") -> list[str]:
    if not findings:
        return [f"  {title}: none"]
    lines = [f"  {title} ({len(findings)}):"]
    for finding in findings:
        lines += _finding_lines(finding, extra, finding.remediation)
    return lines


def render_policy_report(report: policy.Report) -> str:
    """Mandatory and advisory policy findings with their fixes, then suppressions with their reasons."""
    findings = report.policy_findings
    mandatory = [f for f in findings if f.level == policy.MANDATORY]
    advisory = [f for f in findings if f.level == policy.ADVISORY]
    rules = sum(1 for r in policy.all_rules() if r.category == POLICY)
    lines = [f"policy report (environment {report.environment or 'prod'}, {rules} rules): "
             f"{len(mandatory)} mandatory, {len(advisory)} advisory, {len(report.suppressed)} suppressed"]
    lines += _section("mandatory", mandatory)
    lines += _section("advisory", advisory)
    if report.suppressed:
        lines.append(f"  suppressed ({len(report.suppressed)}, accepted in policy/suppressions.py):")
        for item in report.suppressed:
            lines += _finding_lines(item.finding, "reason", item.reason)
    else:
        lines.append("  suppressed: none")
    for suppression in stale_suppressions(report):
        lines.append(f"  stale suppression: {suppression.rule_id} '{suppression.resource}' matched nothing; "
                     f"remove it from policy/suppressions.py")
    return "\n".join(lines)


def tightest_names(snapshot: StackSnapshot, count: int = TIGHTEST_NAMES) -> list[tuple]:
    """(resource, planned name, length, limit, how) of the names closest to their AWS limit."""
    rows = []
    for resource in policy.normalize(snapshot.resources):
        limit = NAME_LIMITS.get(resource.resource_type)
        if limit is None:
            continue
        name, how = planned_name(resource, limit)
        if not isinstance(name, str):
            continue
        if how == "prefix" and limit.prefix_max is not None:
            length, maximum = len(name) - TERRAFORM_PREFIX_SUFFIX_LENGTH, limit.prefix_max
        else:
            length, maximum = len(name), limit.max_length
        rows.append((resource, name, length, maximum, how))
    rows.sort(key=lambda row: (-row[2] / row[3], row[0].resource_type, row[0].name))
    return rows[:count]


def render_limits_report(snapshot: StackSnapshot, report: policy.Report) -> str:
    """Each deploy-time limit with its result, the failures named, and the names with the least room."""
    limit_rules = [r for r in policy.all_rules() if r.category == LIMITS]
    failures = report.limit_findings
    failing = [f for f in failures if f.level == policy.MANDATORY]
    lines = [f"limits report ({len(limit_rules)} checks): "
             + (f"{len(failing)} failing" if failing else "all within limits")
             + (f", {len(failures) - len(failing)} advisory" if len(failures) > len(failing) else "")]
    width = max(len(r.id) for r in limit_rules)
    for rule in limit_rules:
        found = [f for f in failures if f.rule_id == rule.id]
        status = "ok" if not found else f"{len(found)} FAILING" if any(
            f.level == policy.MANDATORY for f in found) else f"{len(found)} advisory"
        lines.append(f"  {rule.id.ljust(width)}  {status.ljust(10)}  {rule.description}")
        for finding in found:
            lines.append(f"  {' ' * width}  - {finding.resource_type} '{finding.name}': {finding.message}")
            lines.append(f"  {' ' * width}    fix: {finding.remediation}")
    rows = tightest_names(snapshot)
    if rows:
        lines.append("  names with the least room (planned physical name length / AWS limit):")
        for resource, name, length, maximum, how in rows:
            shown = name if how == "name" else f"{resource.name} + 8 (auto-name)" if how == "auto-name" \
                else f"{name[:-TERRAFORM_PREFIX_SUFFIX_LENGTH]} + {TERRAFORM_PREFIX_SUFFIX_LENGTH} (prefix)"
            kind = resource.resource_type.rsplit(":", 1)[-1]
            lines.append(f"    {length:>3}/{maximum:<3} {kind} '{resource.name}': {shown}")
    return "\n".join(lines)


def render_verdict(report: policy.Report) -> str:
    """What CI shows last: OK, or what failed, one line per resource with its rule or limit."""
    mandatory = report.mandatory
    if not mandatory:
        return "plan: OK (no mandatory finding, every limit met)"
    policy_count = sum(1 for f in mandatory if f.category == POLICY)
    limit_count = len(mandatory) - policy_count
    lines = [f"plan: FAILED ({policy_count} mandatory policy finding{'s' if policy_count != 1 else ''}, "
             f"{limit_count} limit failure{'s' if limit_count != 1 else ''}):"]
    lines += [f"  {f.rule_id} {f.resource_type} '{f.name}': {f.message}" for f in mandatory]
    return "\n".join(lines)
