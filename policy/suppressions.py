"""Findings we accept on purpose: the one place to look, each with its reason.

An entry names a rule id and a resource pattern (shell-style, matched against the resource's
logical name and its URN). Keep the reason specific enough that a reviewer can disagree with it.
Add `environments=("dev",)` to accept a finding in one environment only.
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

    def __post_init__(self) -> None:
        if not self.reason or not self.reason.strip():
            raise ValueError(f"suppression of {self.rule_id} for {self.resource} needs a reason")

    def matches(self, rule_id: str, name: str, urn: str, environment: Optional[str]) -> bool:
        if rule_id != self.rule_id:
            return False
        if self.environments is not None and environment not in self.environments:
            return False
        return fnmatchcase(name, self.resource) or fnmatchcase(urn, self.resource)


SUPPRESSIONS: tuple[Suppression, ...] = ()
