"""Findings we accept on purpose: the one place to look, each with its reason.

An entry names a rule id and a resource pattern (shell-style, matched against the resource's
logical name and its URN). Keep the reason specific enough that a reviewer can disagree with it.
Add `environments=("dev",)` to accept a finding in one environment only, and `message=` (a
shell-style pattern of the finding's message) to accept one finding of a rule that can report a
resource several times (one origin of a distribution, one statement of a policy).

Scope each entry as narrowly as that: rule id + exact logical name + environment (+ message).
An entry that no longer matches anything is reported by the offline plan and fails the stack
tests, so the list can't silently outlive the finding it was written for.
"""
from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Optional


@dataclass(frozen=True)
class Suppression:
    rule_id: str
    resource: str
    reason: str
    environments: Optional[tuple] = None
    message: Optional[str] = None

    def __post_init__(self) -> None:
        if not self.reason or not self.reason.strip():
            raise ValueError(f"suppression of {self.rule_id} for {self.resource} needs a reason")

    def matches(self, rule_id: str, name: str, urn: str, environment: Optional[str],
                message: Optional[str] = None) -> bool:
        if rule_id != self.rule_id:
            return False
        if self.environments is not None and environment not in self.environments:
            return False
        if self.message is not None and (message is None or not fnmatchcase(message, self.message)):
            return False
        return fnmatchcase(name, self.resource) or fnmatchcase(urn, self.resource)


SUPPRESSIONS: tuple[Suppression, ...] = ()
"""Empty: the dev demo origin's HTTP finding (SB-CF-005) is gone, as the demo is a CloudFront VPC origin to a
private ALB. Add an entry only with a reason a reviewer can disagree with."""
