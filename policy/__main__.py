"""The CrossGuard pack: `pulumi preview --policy-pack policy`.

Pulumi runs this file by path, so the package's parent directory goes on sys.path before the
package is imported. Importing `policy.__main__` (as the tests do) builds nothing; `main()`
starts the policy server and never returns.

The environment of a resource comes from its AWS provider's default tag `environment`; when a
provider has none, the per-policy config key `environment` ("dev"/"prod", default "prod")
decides. A rule that is mandatory only in prod becomes two policies: `<id>` (mandatory, prod
resources) and `<id>-advisory` (other environments).
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import (  # noqa: E402
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from policy.evaluate import DEFAULT_ENVIRONMENT, Finding, run_rule, suppression_for  # noqa: E402
from policy.model import normalize  # noqa: E402
from policy.registry import ADVISORY, MANDATORY, MANDATORY_IN_PROD, RESOURCE_SCOPE, Rule, all_rules  # noqa: E402
from policy.stack import Stack  # noqa: E402
from policy.suppressions import SUPPRESSIONS  # noqa: E402

PACK_NAME = "serverless-blueprints"

ENVIRONMENT_CONFIG = PolicyConfigSchema(
    properties={"environment": {"type": "string", "enum": ["dev", "prod"], "default": DEFAULT_ENVIRONMENT}},
)

_ENFORCEMENT = {MANDATORY: EnforcementLevel.MANDATORY, ADVISORY: EnforcementLevel.ADVISORY}


def _message(finding: Finding) -> str:
    return f"{finding.resource_type} '{finding.name}': {finding.message}.\nFix: {finding.remediation}"


def _validator(rule: Rule, level: str):
    """A CrossGuard validate callback reporting the rule's unsuppressed findings at `level`."""

    def findings(resources, config) -> list:
        fallback = (config or {}).get("environment") or DEFAULT_ENVIRONMENT
        found = run_rule(rule, Stack(normalize(resources)), fallback)
        return [f for f in found if f.level == level and suppression_for(f, SUPPRESSIONS) is None]

    if rule.scope == RESOURCE_SCOPE:
        def validate_resource(args, report_violation) -> None:
            if args.resource_type not in rule.resource_types:
                return
            for finding in findings([args], args.get_config()):
                report_violation(_message(finding), None)
        return validate_resource

    def validate_stack(args, report_violation) -> None:
        for finding in findings(args.resources, args.get_config()):
            report_violation(_message(finding), finding.urn)
    return validate_stack


def build_policies() -> list[Policy]:
    """One CrossGuard policy per rule (two for rules that are mandatory only in prod)."""
    policies: list[Policy] = []
    for rule in all_rules():
        variants = ([(rule.id, MANDATORY), (f"{rule.id}-advisory", ADVISORY)] if rule.level == MANDATORY_IN_PROD
                    else [(rule.id, rule.level)])
        for name, level in variants:
            kind = ResourceValidationPolicy if rule.scope == RESOURCE_SCOPE else StackValidationPolicy
            policies.append(kind(
                name=name,
                description=rule.description,
                validate=_validator(rule, level),
                enforcement_level=_ENFORCEMENT[level],
                config_schema=ENVIRONMENT_CONFIG,
                remediation_steps=rule.remediation,
                tags=[rule.category],
            ))
    return policies


def main() -> None:
    PolicyPack(
        name=PACK_NAME,
        policies=build_policies(),
        enforcement_level=EnforcementLevel.MANDATORY,
        description="serverless-blueprints guardrails: secure defaults and deploy-time limits for AWS serverless stacks.",
    )


if __name__ == "__main__":
    main()
