"""serverless-blueprints guardrails: one rule set for CrossGuard and for offline tests.

    from policy import Resource, Provider, evaluate
    report = evaluate(resources, environment="dev")
    assert report.ok, report.summary()

`pulumi preview --policy-pack policy` runs the same rules through `policy/__main__.py`.
"""
from .evaluate import Finding, Report, SuppressedFinding, evaluate
from .model import UNKNOWN, Provider, Resource, is_unknown, normalize
from .registry import ADVISORY, MANDATORY, MANDATORY_IN_PROD, Rule, all_rules, rule_by_id
from .suppressions import SUPPRESSIONS, Suppression

__all__ = [
    "ADVISORY",
    "MANDATORY",
    "MANDATORY_IN_PROD",
    "SUPPRESSIONS",
    "UNKNOWN",
    "Finding",
    "Provider",
    "Report",
    "Resource",
    "Rule",
    "SuppressedFinding",
    "Suppression",
    "all_rules",
    "evaluate",
    "is_unknown",
    "normalize",
    "rule_by_id",
]
