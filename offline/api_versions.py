"""The next major version's OpenAPI document, as its changes over the version it is served beside.

During a migration an API serves two majors from one deployment (stage v1 and stage v2 of the same RestApi,
`LambdaRestApi.migration_stages`); the function tells them apart by the stage variable `apiVersion`. The v1
document stays what the route table builds (docs/openapi/<api>.json); the v2 document is that one with the
changes listed here, written to docs/openapi/v2/<api>.json. One place names what v2 changed, so the v2
document can't drift from v1 where nothing changed.

While a version is served beside its successor it is deprecated: docs/openapi/<old>/<api>.json is the old
version's document as served then, every operation `deprecated: true` and every answer of the function declaring
the Deprecation (RFC 9745), Sunset (RFC 8594) and Link headers a stack's `deprecation` arg makes it send. The
top-level document stays the old version alone (prod serves v1 only, undeprecated).

`.venv/bin/python -m offline.api_versions` rewrites the v2 documents and the deprecated ones;
tests/components/test_api_versions.py fails when a committed one is not what this would write.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from services.openapi_contracts import DOCS

PRIORITY = {"type": "string", "enum": ["low", "normal", "high"],
            "description": "How urgent the to-do is (v2); a to-do created through v1 reads as normal"}


@dataclass(frozen=True)
class VersionChange:
    document: str
    """The API's document name under docs/openapi/ (the version it changes)."""
    version: str
    """The new major: its stage name."""
    info_version: str
    summary: str
    """What changed, for the document's description."""
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Schema name -> properties the new version adds to it."""
    required: dict[str, list[str]] = field(default_factory=dict)
    """Schema name -> properties the new version always returns."""
    previous: str = "v1"
    """The version it is served beside, deprecated while both are served."""


CHANGES = (
    VersionChange(
        document="todo-api", version="v2", info_version="2.0.0",
        summary="v2 adds a to-do's `priority` (low, normal or high). v1 is served beside it, unchanged, until "
                "it is retired (docs/components/serverless-rest-api.md, \"Versions side by side\").",
        properties={"Todo": {"priority": PRIORITY}, "NewTodo": {"priority": PRIORITY},
                    "TodoChanges": {"priority": PRIORITY}},
        required={"Todo": ["priority"]}),
)


def versioned_document(previous: dict[str, Any], change: VersionChange) -> dict[str, Any]:
    """`previous` with `change` applied: the new version's servers, info and schemas."""
    document = copy.deepcopy(previous)
    document["info"]["version"] = change.info_version
    document["info"]["description"] = f"{change.summary} {document['info'].get('description', '')}".strip()
    for server in document.get("servers", []):
        server["url"] = re.sub(r"/v\d+$", f"/{change.version}", server["url"])
    schemas = document["components"]["schemas"]
    for name, added in change.properties.items():
        if name not in schemas:
            raise KeyError(f"{change.document} {change.version}: no schema {name!r} to add {sorted(added)} to")
        schemas[name]["properties"].update(copy.deepcopy(added))
    for name, required in change.required.items():
        schemas[name]["required"] = [*schemas[name].get("required", []), *required]
    return document


DEPRECATION_HEADERS: dict[str, dict[str, Any]] = {
    "Deprecation": {"description": "RFC 9745: when this version was (or will be) deprecated, `@` and Unix seconds",
                    "schema": {"type": "string", "pattern": "^@-?[0-9]+$", "example": "@1796083200"}},
    "Sunset": {"description": "RFC 8594: the HTTP-date from which this version may stop answering",
               "schema": {"type": "string", "example": "Wed, 30 Jun 2027 00:00:00 GMT"}},
    "Link": {"description": 'RFC 8288: the migration guide, rel="deprecation" (RFC 9745)',
             "schema": {"type": "string",
                        "example": '<https://example.com/todo-api/migrate-to-v2>; rel="deprecation"; type="text/html"'}},
}
# API Gateway answers these itself (authorizer, WAF, throttling) without calling the function: no such headers.
GATEWAY_ONLY_STATUSES = ("401", "403", "429")


def deprecated_document(previous: dict[str, Any], change: VersionChange) -> dict[str, Any]:
    """`previous` as served beside `change.version`: every operation deprecated, the function's answers with
    the Deprecation, Sunset and Link headers."""
    document = copy.deepcopy(previous)
    document["info"]["description"] = (
        f"Deprecated: {change.previous} as served beside its successor, {change.version} (docs/openapi/"
        f"{change.version}/{change.document}.json). Every answer of the function carries "
        "Deprecation, Sunset and Link headers (the stack's `deprecation` arg sets the dates and the guide); "
        f"the gateway's own {', '.join(GATEWAY_ONLY_STATUSES)} answers don't. "
        f"{document['info'].get('description', '')}").strip()
    for item in document["paths"].values():
        for method, operation in item.items():
            if method == "options" or not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["deprecated"] = True
            for status, response in operation["responses"].items():
                if status not in GATEWAY_ONLY_STATUSES:
                    response["headers"] = {**response.get("headers", {}), **copy.deepcopy(DEPRECATION_HEADERS)}
    return document


def path_of(change: VersionChange) -> Any:
    return DOCS / change.version / f"{change.document}.json"


def deprecated_path_of(change: VersionChange) -> Any:
    return DOCS / change.previous / f"{change.document}.json"


def rendered(change: VersionChange) -> str:
    previous = json.loads((DOCS / f"{change.document}.json").read_text())
    return json.dumps(versioned_document(previous, change), indent=2) + "\n"


def rendered_deprecated(change: VersionChange) -> str:
    previous = json.loads((DOCS / f"{change.document}.json").read_text())
    return json.dumps(deprecated_document(previous, change), indent=2) + "\n"


def main() -> None:
    for change in CHANGES:
        for path, text in ((path_of(change), rendered(change)), (deprecated_path_of(change), rendered_deprecated(change))):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
