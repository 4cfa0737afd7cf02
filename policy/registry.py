"""The rule type and the decorators the rule modules register with.

A resource rule is `check(resource) -> Iterable[str]` (one message per violation) and applies to
the listed resource types. A stack rule is `check(stack) -> Iterable[(resource, message)]`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Optional

MANDATORY = "mandatory"
ADVISORY = "advisory"
MANDATORY_IN_PROD = "mandatory-in-prod"
"""Mandatory when the resource's environment is "prod", advisory otherwise."""

RESOURCE_SCOPE = "resource"
STACK_SCOPE = "stack"

POLICY = "policy"
LIMITS = "limits"

# Every module that registers rules; all_rules() imports them.
RULE_MODULES = (
    "lambda_rules",
    "event_source_rules",
    "messaging_rules",
    "dynamodb_rules",
    "s3_rules",
    "s3_trigger_rules",
    "cloudfront_rules",
    "cloudfront_signed_rules",
    "apigateway_rules",
    "apigateway_hardening_rules",
    "cognito_rules",
    "iam_rules",
    "analytics_rules",
    "hardening_rules",
    "microservice_rules",
    "monitoring_rules",
    "limits",
)


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    remediation: str
    level: str
    scope: str
    check: Callable
    resource_types: tuple = ()
    category: str = POLICY

    def level_for(self, environment: Optional[str]) -> str:
        if self.level == MANDATORY_IN_PROD:
            return MANDATORY if environment == "prod" else ADVISORY
        return self.level


_RULES: dict[str, Rule] = {}


def _register(rule: Rule) -> None:
    existing = _RULES.get(rule.id)
    if existing is not None and (existing.check.__module__, existing.check.__qualname__) != (
            rule.check.__module__, rule.check.__qualname__):
        raise ValueError(f"rule id {rule.id} is used twice")
    _RULES[rule.id] = rule


def resource_rule(rule_id: str, *resource_types: str, description: str, remediation: str,
                  level: str = MANDATORY, category: str = POLICY):
    flat = tuple(t for token in resource_types for t in (token if isinstance(token, tuple) else (token,)))

    def decorate(check: Callable) -> Callable:
        _register(Rule(rule_id, description, remediation, level, RESOURCE_SCOPE, check, flat, category))
        return check
    return decorate


def stack_rule(rule_id: str, *, description: str, remediation: str,
               level: str = MANDATORY, category: str = POLICY):
    def decorate(check: Callable) -> Callable:
        _register(Rule(rule_id, description, remediation, level, STACK_SCOPE, check, (), category))
        return check
    return decorate


def all_rules() -> tuple[Rule, ...]:
    """Every rule of the pack, sorted by id."""
    for module in RULE_MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return tuple(sorted(_RULES.values(), key=lambda rule: rule.id))


def rule_by_id(rule_id: str) -> Rule:
    rules = {rule.id: rule for rule in all_rules()}
    if rule_id not in rules:
        raise KeyError(f"no rule {rule_id}; known: {', '.join(sorted(rules))}")
    return rules[rule_id]
