"""Resources as the rules see them, built from CrossGuard objects or by the offline harness.

`Resource` mirrors `pulumi_policy.PolicyResource` attribute for attribute (resource_type, props,
urn, name, opts, provider, parent, dependencies, property_dependencies), so a rule never knows
which of the two it was given. Props are the engine's camelCase names.

Unknowns: during `pulumi preview` CrossGuard wraps props in a proxy that raises
`UnknownValueError` when a not-yet-computed value is read. `plain()` copies props into ordinary
dicts and lists and keeps each unknown as the engine's sentinel string, so rules can ask
`is_unknown(value)` instead of catching exceptions halfway through a check. The offline harness
can put `UNKNOWN` in props to model a preview value.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

UNKNOWN = UNKNOWN_STRING_VALUE
"""Put this in offline props for a value preview can't know yet (it is the engine's own sentinel)."""

_UNKNOWN_SENTINELS = frozenset({
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
})

PROJECT = "serverless-blueprints"


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in _UNKNOWN_SENTINELS


def is_known(value: Any) -> bool:
    """Set, and computed: a value a rule may judge."""
    return value is not None and not is_unknown(value)


def plain(value: Any) -> Any:
    """A plain copy of props (dicts, lists, scalars) with unknowns kept as sentinel strings."""
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Mapping):
        out = {}
        for key in list(value):
            try:
                out[key] = plain(value[key])
            except UnknownValueError as unknown:
                out[key] = unknown.unknown_type_sentinel
        return out
    if isinstance(value, Sequence):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError as unknown:
                items.append(unknown.unknown_type_sentinel)
        return items
    return value


def get(data: Any, *path: Any) -> Any:
    """The value at `path`, None when absent, UNKNOWN when any step is unknown.

    A one-element list met on a string key is looked through, since some producers keep
    Terraform's single-block lists.
    """
    current = data
    for key in path:
        if is_unknown(current):
            return UNKNOWN
        if isinstance(key, int):
            if not isinstance(current, list) or not -len(current) <= key < len(current):
                return None
            current = current[key]
        else:
            if isinstance(current, list) and len(current) == 1:
                current = current[0]
            if not isinstance(current, Mapping):
                return None
            current = current.get(key)
        if current is None:
            return None
    return current


def as_list(value: Any) -> list:
    """A prop that may be a scalar, a list, or absent, as a list (unknown stays [UNKNOWN])."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def parse_json(value: Any) -> Any:
    """A JSON-string prop (policies, redrive policies, provider objects) as data.

    Returns None when absent, UNKNOWN when unknown or not parseable (a string that mixes in an
    unknown can't be judged), and dicts as they are.
    """
    if value is None or value == "":
        return None
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return UNKNOWN
    return value


@dataclass(eq=False)
class Provider:
    """Mirror of `pulumi_policy.PolicyProviderResource`; props carry "region" and "defaultTags"."""

    resource_type: str = "pulumi:providers:aws"
    props: dict = field(default_factory=dict)
    urn: str = ""
    name: str = "default"


@dataclass(eq=False)
class Resource:
    """Mirror of `pulumi_policy.PolicyResource`, for tests and the offline harness.

    Only resource_type and props are required; urn and name are derived from each other.
    `dependencies` and `property_dependencies` values may be Resources or URN strings, and
    `provider` a Provider or a provider reference ("<urn>::<id>") to a resource in the same list.
    For the linking rules, give the mock's computed outputs (id, arn, url, ...) in `outputs`.
    """

    resource_type: str
    props: dict = field(default_factory=dict)
    urn: str = ""
    name: str = ""
    opts: Any = None
    provider: Union[Provider, str, None] = None
    parent: Optional["Resource"] = None
    dependencies: list = field(default_factory=list)
    property_dependencies: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    """Offline only: the mock's returned state, when props hold just the inputs. CrossGuard's
    stack view already gives outputs as props. Read through `attribute()`."""

    def __post_init__(self) -> None:
        if not self.urn and not self.name:
            raise ValueError("a Resource needs a urn or a name")
        if not self.urn:
            self.urn = f"urn:pulumi:offline::{PROJECT}::{self.resource_type}::{self.name}"
        if not self.name:
            self.name = self.urn.rsplit("::", 1)[-1]

    def __repr__(self) -> str:
        return f"Resource({self.resource_type!r}, name={self.name!r})"


def attribute(resource: Resource, key: str) -> Any:
    """A top-level prop, or the recorded output when the input doesn't have it (offline)."""
    found = resource.props.get(key)
    return found if found is not None else resource.outputs.get(key)


def _convert_provider(obj: Any, by_urn: dict, default: Optional[Provider]) -> Optional[Provider]:
    if obj is None:
        return default
    if isinstance(obj, str):
        obj = by_urn.get(obj) or by_urn.get(obj.rsplit("::", 1)[0])
        if obj is None:
            return default
    return Provider(
        resource_type=getattr(obj, "resource_type", "pulumi:providers:aws"),
        props=plain(getattr(obj, "props", None) or {}),
        urn=getattr(obj, "urn", "") or "",
        name=getattr(obj, "name", "") or "",
    )


def normalize(objects: Sequence[Any], default_provider: Optional[Provider] = None) -> list[Resource]:
    """Fresh `Resource`s with plain props and links, from PolicyResources or Resources.

    Reads only the PolicyResource interface (plus an optional `outputs`), so
    ResourceValidationArgs (no parent, no dependencies) and offline records work too. URN strings
    in parent/dependencies/provider are resolved against the given objects; links to objects
    outside the list are kept. `default_provider` stands for the engine's default AWS provider
    (stack config region and default tags) for resources registered without one.
    """
    converted: dict[int, Resource] = {}
    objects_by_urn = {getattr(obj, "urn", None): obj for obj in objects}

    def shell(obj: Any) -> Resource:
        key = id(obj)
        if key not in converted:
            converted[key] = Resource(
                resource_type=obj.resource_type,
                props=plain(obj.props or {}),
                urn=getattr(obj, "urn", "") or "",
                name=getattr(obj, "name", "") or "",
                opts=getattr(obj, "opts", None),
                provider=_convert_provider(getattr(obj, "provider", None), objects_by_urn, default_provider),
                outputs=plain(getattr(obj, "outputs", None) or {}),
            )
            pending.append(obj)
        return converted[key]

    pending: list[Any] = []
    shells = [shell(obj) for obj in objects]
    by_urn = {r.urn: r for r in shells}

    def link(target: Any) -> Optional[Resource]:
        if target is None:
            return None
        if isinstance(target, str):
            return by_urn.get(target)
        return shell(target)

    while pending:
        obj = pending.pop()
        resource = converted[id(obj)]
        resource.parent = link(getattr(obj, "parent", None))
        resource.dependencies = [
            d for d in (link(t) for t in getattr(obj, "dependencies", None) or []) if d is not None
        ]
        resource.property_dependencies = {
            key: [d for d in (link(t) for t in targets or []) if d is not None]
            for key, targets in (getattr(obj, "property_dependencies", None) or {}).items()
        }
    return shells


def default_tags(resource: Resource) -> dict:
    """The AWS provider's default tags (the engine hands provider objects over as JSON strings)."""
    if resource.provider is None:
        return {}
    tags = get(parse_json(get(resource.provider.props, "defaultTags")), "tags")
    return tags if isinstance(tags, Mapping) else {}


def environment_of(resource: Resource, fallback: Optional[str]) -> Optional[str]:
    """"dev" or "prod" from the provider's default tags, else the resource's own tags, else fallback."""
    for tags in (default_tags(resource), get(resource.props, "tags"), get(resource.props, "tagsAll")):
        value = get(tags, "environment")
        if is_known(value) and isinstance(value, str):
            return value
    return fallback


def region_of(resource: Resource) -> Optional[str]:
    """The region a resource is created in: v7's per-resource `region`, else its provider's."""
    for value in (get(resource.props, "region"),
                  get(resource.provider.props, "region") if resource.provider else None):
        if is_known(value):
            return value
        if is_unknown(value):
            return None
    return None
