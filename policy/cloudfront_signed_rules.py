"""Signed (premium) CloudFront behaviours: trusted key groups only, and no unsigned way to the same objects."""
from __future__ import annotations

from . import tokens
from .cloudfront_rules import behaviors, origins
from .model import Resource, as_list, get, is_known
from .registry import resource_rule


def _signed(behavior: dict) -> bool:
    groups = get(behavior, "trustedKeyGroups")
    if groups is None:
        return False
    return not is_known(groups) or bool(as_list(groups))  # unknown at preview: given the benefit of the doubt


def _literal_prefix(pattern: str) -> str:
    """The part of a path pattern before its first wildcard: every path it matches starts with this."""
    cut = min((i for i in (pattern.find("*"), pattern.find("?")) if i >= 0), default=len(pattern))
    return pattern[:cut]


def patterns_may_overlap(a: str, b: str) -> bool:
    """Whether some path could match both patterns (conservative: compares the literal prefixes)."""
    pa, pb = _literal_prefix(a), _literal_prefix(b)
    return pa.startswith(pb) or pb.startswith(pa)


@resource_rule(
    "SB-CF-020", tokens.DISTRIBUTION,
    description="A behavior with trusted key groups has no trusted signers: only the rotating key group may sign.",
    remediation="Remove trusted_signers from the behavior; sign with a key in its trusted key group.",
)
def key_group_behaviors_have_no_trusted_signers(distribution: Resource):
    for label, behavior in behaviors(distribution):
        groups, signers = get(behavior, "trustedKeyGroups"), get(behavior, "trustedSigners")
        if is_known(groups) and as_list(groups) and is_known(signers) and as_list(signers):
            yield f"{label} trusts both key groups and trustedSigners (root-account keys would sign it too)"


@resource_rule(
    "SB-CF-021", tokens.DISTRIBUTION,
    description="Premium (key-group) behaviors never have a public twin: no unsigned behavior matched first on an "
                "overlapping path, and no unsigned origin onto the same bucket.",
    remediation="Order signed behaviors before any unsigned pattern that overlaps them (e.g. *.mp4), and serve "
                "the bucket through one origin only.",
)
def premium_behaviors_have_no_public_twin(distribution: Resource):
    all_origins = {get(o, "originId"): o for o in origins(distribution)}
    ordered = [b for b in as_list(get(distribution.props, "orderedCacheBehaviors")) if isinstance(b, dict)]
    every = list(behaviors(distribution))
    for index, premium in enumerate(ordered):
        pattern = get(premium, "pathPattern")
        if not _signed(premium) or not is_known(pattern):
            continue
        for earlier in ordered[:index]:
            other = get(earlier, "pathPattern")
            if not _signed(earlier) and is_known(other) and patterns_may_overlap(pattern, other):
                yield (f"behavior '{pattern}' is signed, but the unsigned behavior '{other}' comes first and may "
                       f"match the same paths")
        origin = all_origins.get(get(premium, "targetOriginId"))
        domain = get(origin, "domainName") if origin else None
        if not is_known(domain) or domain is None:
            continue
        for label, behavior in every:
            target = get(behavior, "targetOriginId")
            twin = all_origins.get(target)
            if (not _signed(behavior) and twin is not None and target != get(premium, "targetOriginId")
                    and get(twin, "domainName") == domain):
                yield (f"behavior '{pattern}' is signed, but the unsigned {label} reaches the same bucket through "
                       f"origin '{target}'")
