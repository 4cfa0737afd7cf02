"""The whole stack, and how one resource's prop is matched to the resource it points at.

Many AWS settings live in their own resource and point back by name, id, ARN or URL (a
BucketPublicAccessBlock's `bucket`, an EventSourceMapping's `eventSourceArn`...). A reference
is matched to a target in this order:

1. by value, when the value is known: equal to one of the target's identifiers (`id`, `arn`,
   `name`, `bucket`, `url`, `streamArn`, domain names...), or naming it: the resource part of an
   ARN of the target's service, the last segment of a queue URL, the bucket of an S3 domain name.
   A name is compared to the target's physical name and, when that isn't in props (mocks don't
   auto-name), to its logical name, bare or with Pulumi's "-" + 7-character suffix;
2. by the engine's property dependencies, when the value is unknown (preview: ids and ARNs of
   new resources aren't computed yet) and the prop was computed from exactly one resource of the
   target's type; also when a known value matches nothing only because the target's outputs
   weren't recorded (no id/arn in its props);
3. a known value that matches nothing, with no such dependency, points outside the stack ([]);
   anything else is unknown (None) and rules stay silent.

Offline, give each Resource its mock outputs (id, arn, name, url...) merged over its inputs, and
the engine's dependencies and property dependencies (the mock monitor's RegisterResource request
carries both), so links resolve as they do under CrossGuard.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Iterable, Optional

from . import tokens
from .model import Resource, attribute, get, is_known

IDENTIFIER_PROPS = (
    "id", "arn", "name", "bucket", "url", "invokeArn", "qualifiedArn", "qualifiedInvokeArn",
    "streamArn", "bucketDomainName", "bucketRegionalDomainName", "clusterName", "domainName",
)

# The prop that holds a resource's physical name, where it isn't `name`.
NAME_PROPS = {
    tokens.BUCKET: "bucket",
    tokens.DAX_CLUSTER: "clusterName",
    tokens.IDENTITY_POOL: "identityPoolName",
    tokens.USER_POOL_DOMAIN: "domain",
}

_S3_DOMAIN = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*?)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")
_QUEUE_URL = re.compile(r"^https://sqs\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/\d+/(?P<name>[^/]+)$")
_AUTONAME_SUFFIX = r"-[a-z0-9]{7}"


def physical_name(resource: Resource) -> Any:
    return attribute(resource, NAME_PROPS.get(resource.resource_type, "name"))


def referenced_names(value: str) -> tuple[Optional[str], set[str]]:
    """(service, names) a reference string can denote: "arn:aws:sqs:r:a:orders" -> ("sqs", {"orders"})."""
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) < 6:
            return None, set()
        service, resource_part = parts[2], parts[5]
        segments = [s for s in re.split(r"[/:]", resource_part) if s]
        if service == "dynamodb" and "/stream/" in resource_part:
            segments = resource_part.split("/")[1:2]  # table/NAME/stream/LABEL names the table
        elif service == "lambda" and segments[:1] == ["function"]:
            segments = segments[1:2]  # function:NAME[:qualifier]
        elif service == "logs" and segments[:1] == ["log-group"]:
            segments = [resource_part.split(":", 1)[1].removesuffix(":*")]
        return service, set(segments)
    match = _QUEUE_URL.match(value)
    if match:
        return "sqs", {match.group("name")}
    match = _S3_DOMAIN.match(value)
    if match:
        return "s3", {match.group("bucket")}
    return None, {value}


def _names_target(names: set[str], target: Resource) -> bool:
    name = physical_name(target)
    if is_known(name):
        return name in names or (isinstance(name, str) and name.removesuffix(".fifo") in names)
    pattern = re.compile(re.escape(target.name) + f"(?:{_AUTONAME_SUFFIX})?(?:\\.fifo)?")
    return any(pattern.fullmatch(n) for n in names)


def identifies(value: Any, target: Resource) -> bool:
    """Whether a known reference value denotes `target` (see the module docstring)."""
    if not isinstance(value, str) or not is_known(value):
        return False
    for prop in IDENTIFIER_PROPS:
        if attribute(target, prop) == value:
            return True
    service, names = referenced_names(value)
    if service is not None and service != tokens.service_of(target.resource_type):
        return False
    if attribute(target, "id") in names:
        return True
    return _names_target(names, target)


def _has_identifiers(resource: Resource) -> bool:
    return any(is_known(attribute(resource, prop)) for prop in IDENTIFIER_PROPS if prop != "name")


class Stack:
    """All resources of one stack, indexed for the stack-level rules."""

    def __init__(self, resources: Iterable[Resource]):
        self.resources = list(resources)
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        self._children: dict[str, list[Resource]] = defaultdict(list)
        for resource in self.resources:
            self._by_type[resource.resource_type].append(resource)
            if resource.parent is not None:
                self._children[resource.parent.urn].append(resource)

    def of_type(self, *types: Any) -> list[Resource]:
        found: list[Resource] = []
        for token in types:
            for t in (token if isinstance(token, tuple) else (token,)):
                found.extend(self._by_type.get(t, ()))
        return found

    def resolve(self, source: Resource, prop: str, value: Any, candidates: list[Resource]) -> Optional[list[Resource]]:
        """The candidates `value` (read from `source`'s top-level `prop`) points at.

        [] means it points outside the candidates; None means it can't be told.
        """
        types = {c.resource_type for c in candidates}
        dependencies = [d for d in source.property_dependencies.get(prop, ()) if d.resource_type in types]
        single = ([c for c in candidates if c is dependencies[0] or c.urn == dependencies[0].urn]
                  if len(dependencies) == 1 else None)
        if value is None:
            return []
        if is_known(value) and isinstance(value, str):
            matches = [c for c in candidates if identifies(value, c)]
            if matches:
                return matches
            if single is not None and not _has_identifiers(dependencies[0]):
                return single  # the target's outputs weren't recorded; trust the engine's link
            return None if dependencies else []
        return single

    def resolve_one(self, source: Resource, prop: str, value: Any, *types: Any) -> Optional[Resource]:
        """The single resource of `types` that `value` points at, or None."""
        found = self.resolve(source, prop, value, self.of_type(*types))
        return found[0] if found and len(found) == 1 else None

    def referrers(self, target: Resource, types: Any, prop: str, *path: Any) -> tuple[list[Resource], bool]:
        """Resources of `types` whose `prop` (value at `path`, default `prop`) points at `target`.

        Returns (matches, undetermined): undetermined is True when some resource of those types
        has a link that can't be told yet, so "no match" must not be reported.
        """
        candidates = self.of_type(target.resource_type)
        matches, undetermined = [], False
        for source in self.of_type(*(types if isinstance(types, tuple) else (types,))):
            value = get(source.props, *(path or (prop,)))
            found = self.resolve(source, prop, value, candidates)
            if found is None:
                undetermined = True
            elif target in found:
                matches.append(source)
        return matches, undetermined

    def children(self, resource: Resource) -> list[Resource]:
        return list(self._children.get(resource.urn, ()))

    def descendants(self, resource: Resource) -> list[Resource]:
        found, todo = [], list(self._children.get(resource.urn, ()))
        while todo:
            child = todo.pop()
            found.append(child)
            todo.extend(self._children.get(child.urn, ()))
        return found

    def direct_dependencies(self, resource: Resource) -> list[Resource]:
        """What the engine waits for before creating `resource`: depends_on and every prop's inputs.

        Depending on a component waits for all its children, as in Pulumi.
        """
        found = list(resource.dependencies)
        for targets in resource.property_dependencies.values():
            found.extend(targets)
        expanded = []
        for dependency in found:
            expanded.append(dependency)
            if not dependency.resource_type.startswith("aws:"):
                expanded.extend(self.descendants(dependency))
        return expanded

    def depends_on(self, source: Resource, target: Resource) -> bool:
        """Whether `source` is created after `target`, directly or through other resources."""
        seen, todo = set(), [source]
        while todo:
            current = todo.pop()
            for dependency in self.direct_dependencies(current):
                if dependency is target or dependency.urn == target.urn:
                    return True
                if dependency.urn not in seen:
                    seen.add(dependency.urn)
                    todo.append(dependency)
        return False
