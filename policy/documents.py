"""IAM policy documents (identity, trust and resource policies) as the rules read them.

Documents arrive as JSON strings (the usual case: `Output.json_dumps` or
`get_policy_document_output(...).json`) or as dicts. `Statement` may be one dict or a list;
`Action`, `Resource` and principal values may be one string or a list.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional

from .model import UNKNOWN, as_list, is_known, is_unknown, parse_json


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple = ()
    not_actions: Optional[tuple] = None
    resources: Optional[tuple] = None
    not_resources: Optional[tuple] = None
    principal: Any = None
    not_principal: Any = None
    condition: Mapping = field(default_factory=dict)
    sid: str = ""

    @property
    def allows(self) -> bool:
        return self.effect == "Allow"

    @property
    def denies(self) -> bool:
        return self.effect == "Deny"


def parse_document(value: Any) -> Any:
    """A policy document as a dict; None when absent; UNKNOWN when it can't be known yet."""
    doc = parse_json(value)
    if doc is None or is_unknown(doc):
        return doc
    return doc if isinstance(doc, Mapping) else UNKNOWN


def statements(value: Any) -> Optional[list[Statement]]:
    """The statements of a document, or None when the document is unknown."""
    doc = parse_document(value)
    if doc is None:
        return []
    if is_unknown(doc):
        return None
    raw = doc.get("Statement")
    if is_unknown(raw):
        return None
    result = []
    for item in as_list(raw):
        if not isinstance(item, Mapping):
            return None
        result.append(Statement(
            effect=item.get("Effect", "Allow") if is_known(item.get("Effect")) else "",
            actions=tuple(as_list(item.get("Action"))),
            not_actions=tuple(as_list(item["NotAction"])) if "NotAction" in item else None,
            resources=tuple(as_list(item["Resource"])) if "Resource" in item else None,
            not_resources=tuple(as_list(item["NotResource"])) if "NotResource" in item else None,
            principal=item.get("Principal"),
            not_principal=item.get("NotPrincipal"),
            condition=item.get("Condition") if isinstance(item.get("Condition"), Mapping) else {},
            sid=item.get("Sid", "") if isinstance(item.get("Sid"), str) else "",
        ))
    return result


@lru_cache(maxsize=2048)
def _glob(pattern: str) -> re.Pattern:
    """IAM wildcards: `*` any run, `?` one character; everything else literal; case-insensitive."""
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body + r"\Z", re.IGNORECASE | re.DOTALL)


def wildcard_match(pattern: str, text: str) -> bool:
    return bool(_glob(pattern).match(text))


def could_match_prefix(pattern: str, prefix: str) -> bool:
    """Whether some string that starts with `prefix` matches the IAM `pattern`.

    Used to ask "can this Resource pattern reach any object under bucket/prefix?": walk the
    pattern over the prefix; any pattern state left after the whole prefix is consumed can still
    be completed, since the rest of the object key is free.
    """
    states = {0}
    for char in prefix.lower():
        nxt = set()
        for i in _closure(pattern, states):
            if i < len(pattern):
                p = pattern[i]
                if p == "*":
                    nxt.add(i)
                elif p == "?" or p.lower() == char:
                    nxt.add(i + 1)
        states = nxt
        if not states:
            return False
    return True


def _closure(pattern: str, states: set) -> set:
    result = set(states)
    for i in sorted(states):
        j = i
        while j < len(pattern) and pattern[j] == "*":
            j += 1
            result.add(j)
    return result


def grants(statement: Statement, action: str) -> Optional[bool]:
    """Whether an Allow statement grants `action` (None when its action list is unknown)."""
    if not statement.allows:
        return False
    if statement.not_actions is not None:
        if any(is_unknown(a) for a in statement.not_actions):
            return None
        return not any(wildcard_match(a, action) for a in statement.not_actions if isinstance(a, str))
    if any(isinstance(a, str) and not is_unknown(a) and wildcard_match(a, action)
           for a in statement.actions):
        return True
    return None if any(is_unknown(a) for a in statement.actions) else False


def principal_values(principal: Any, kind: str) -> list:
    """Values of one principal kind ("AWS", "Service", "Federated"); "*" counts as AWS "*"."""
    if principal == "*":
        return ["*"] if kind == "AWS" else []
    if isinstance(principal, Mapping):
        return as_list(principal.get(kind))
    return []


def is_public_principal(principal: Any) -> bool:
    return "*" in principal_values(principal, "AWS")


def condition_values(condition: Mapping, key: str, operators: Optional[tuple] = None) -> list:
    """Values of a condition key (IAM keys are case-insensitive) under any, or the given, operators."""
    found = []
    for operator, clauses in condition.items():
        if operators is not None and operator not in operators:
            continue
        if not isinstance(clauses, Mapping):
            continue
        for name, value in clauses.items():
            if isinstance(name, str) and name.lower() == key.lower():
                found.extend(as_list(value))
    return found


def is_tls_only_deny(statement: Statement) -> bool:
    """A Deny for everyone whenever the request isn't over TLS (aws:SecureTransport = false)."""
    if not statement.denies:
        return False
    if statement.principal != "*" and not is_public_principal(statement.principal):
        return False
    values = condition_values(statement.condition, "aws:SecureTransport", ("Bool",))
    return any(v is False or (isinstance(v, str) and v.lower() == "false") for v in values)


def has_tls_only_deny(value: Any) -> Optional[bool]:
    """Whether a resource policy carries a TLS-only deny; None when the policy is unknown."""
    found = statements(value)
    if found is None:
        return None
    return any(is_tls_only_deny(s) for s in found)
