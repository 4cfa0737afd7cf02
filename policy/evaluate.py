"""Run the pack over a list of resources, without the policy server.

    report = evaluate(resources, environment="prod")
    assert report.ok, report.summary()

The same `run_rule` backs the CrossGuard policies in `policy/__main__.py`, so the offline plan
and `pulumi preview --policy-pack policy` report the same findings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

from pulumi_policy.proxy import UnknownValueError

from .model import Provider, environment_of, normalize
from .registry import ADVISORY, LIMITS, MANDATORY, POLICY, RESOURCE_SCOPE, Rule, all_rules
from .stack import Stack
from .suppressions import SUPPRESSIONS, Suppression

DEFAULT_ENVIRONMENT = "prod"
"""Used when neither the provider's tags nor the caller name an environment: the stricter one."""


@dataclass(frozen=True)
class Finding:
    rule_id: str
    level: str
    category: str
    urn: str
    name: str
    resource_type: str
    message: str
    remediation: str
    description: str
    environment: Optional[str] = None

    def __str__(self) -> str:
        return f"[{self.level}] {self.rule_id} {self.resource_type} '{self.name}': {self.message}"


@dataclass(frozen=True)
class SuppressedFinding:
    finding: Finding
    reason: str


@dataclass
class Report:
    environment: Optional[str]
    findings: list = field(default_factory=list)
    suppressed: list = field(default_factory=list)
    unused_suppressions: list = field(default_factory=list)

    @property
    def mandatory(self) -> list:
        return [f for f in self.findings if f.level == MANDATORY]

    @property
    def advisory(self) -> list:
        return [f for f in self.findings if f.level == ADVISORY]

    @property
    def mandatory_count(self) -> int:
        return len(self.mandatory)

    @property
    def ok(self) -> bool:
        """No unsuppressed mandatory finding: the gate for CI and the stack tests."""
        return self.mandatory_count == 0

    @property
    def policy_findings(self) -> list:
        return [f for f in self.findings if f.category == POLICY]

    @property
    def limit_findings(self) -> list:
        return [f for f in self.findings if f.category == LIMITS]

    def for_rule(self, rule_id: str) -> list:
        return [f for f in self.findings if f.rule_id == rule_id]

    def summary(self) -> str:
        lines = [f"{self.mandatory_count} mandatory, {len(self.advisory)} advisory, "
                 f"{len(self.suppressed)} suppressed (environment: {self.environment or 'from tags'})"]
        lines += [f"  {f}\n      fix: {f.remediation}" for f in self.mandatory + self.advisory]
        lines += [f"  [suppressed] {s.finding.rule_id} '{s.finding.name}': {s.reason}" for s in self.suppressed]
        return "\n".join(lines)


def run_rule(rule: Rule, stack: Stack, environment: Optional[str]) -> list[Finding]:
    """Every violation of one rule in `stack`, before suppressions."""
    found = []
    try:
        if rule.scope == RESOURCE_SCOPE:
            pairs = [(r, message) for r in stack.of_type(*rule.resource_types) for message in rule.check(r)]
        else:
            pairs = list(rule.check(stack))
    except UnknownValueError:
        return []  # a value preview can't know: never a violation on its own
    for resource, message in pairs:
        env = environment_of(resource, environment)
        found.append(Finding(
            rule_id=rule.id,
            level=rule.level_for(env),
            category=rule.category,
            urn=resource.urn,
            name=resource.name,
            resource_type=resource.resource_type,
            message=message,
            remediation=rule.remediation,
            description=rule.description,
            environment=env,
        ))
    return found


def suppression_for(finding: Finding, suppressions: Iterable[Suppression]) -> Optional[Suppression]:
    for suppression in suppressions:
        if suppression.matches(finding.rule_id, finding.name, finding.urn, finding.environment, finding.message):
            return suppression
    return None


def evaluate(resources: Sequence[Any], environment: Optional[str] = None, *,
             rules: Optional[Iterable[str]] = None,
             suppressions: Optional[Sequence[Suppression]] = None,
             default_provider: Optional[Provider] = None) -> Report:
    """Evaluate the whole pack (or the `rules` ids given) against one stack's resources.

    resources: `policy.Resource`s, CrossGuard PolicyResources, or offline records with the same
        attributes (props = camelCase inputs; optional `outputs` = the mock's state; parent,
        dependencies, property_dependencies and provider as objects or URNs).
    environment: "dev" or "prod" for resources whose AWS provider has no `environment` default
        tag (the tag wins when present); unset means "prod".
    suppressions: defaults to `policy.suppressions.SUPPRESSIONS`.
    default_provider: the stack's default AWS provider (config region and default tags), for
        resources registered without an explicit provider.
    """
    fallback = environment or DEFAULT_ENVIRONMENT
    selected = all_rules() if rules is None else tuple(r for r in all_rules() if r.id in set(rules))
    if rules is not None and len(selected) != len(set(rules)):
        unknown = set(rules) - {r.id for r in selected}
        raise KeyError(f"unknown rule ids: {sorted(unknown)}")
    active = SUPPRESSIONS if suppressions is None else tuple(suppressions)
    stack = Stack(normalize(list(resources), default_provider))
    report = Report(environment=environment)
    used = set()
    for rule in selected:
        for finding in run_rule(rule, stack, fallback):
            suppression = suppression_for(finding, active)
            if suppression is None:
                report.findings.append(finding)
            else:
                used.add(suppression)
                report.suppressed.append(SuppressedFinding(finding, suppression.reason))
    report.unused_suppressions = [s for s in active if s not in used]
    return report

