"""The breaking-change guard: each committed document against its last released copy
(docs/openapi/released/<api>-v<major>.json). A breaking change (a removed path, method or required field,
a new required request field or parameter, a changed type, changed auth) needs a new major version: bump
info.version to the next major and serve it as the next stage (v2) beside v1. Each kind of breaking change
has a fixture below that makes the guard fire; the compatible changes don't."""
from __future__ import annotations

import copy
import json
import re
from typing import Any, Callable

import pytest

from offline.openapi_docs import STACKS
from services.openapi_contracts import DOCS

from .breaking_changes import breaking_changes_of, major, unreleased_breaks
from .documents import committed

RELEASED = DOCS / "released"
RELEASE = re.compile(r"^(?P<name>.+)-v(?P<major>\d+)\.json$")


def _released() -> list[tuple[str, int]]:
    return sorted((m["name"], int(m["major"])) for p in RELEASED.glob("*.json") for m in [RELEASE.match(p.name)] if m)


def test_every_document_has_a_released_copy_of_its_major():
    documents = {p.stem for p in DOCS.glob("*.json")}
    released = {(name, version) for name, version in _released()}
    assert {(name, major(committed(name))) for name in documents} <= released


def _released_pair(name: str, version: int) -> tuple[dict[str, Any], dict[str, Any]]:
    return json.loads((RELEASED / f"{name}-v{version}.json").read_text()), committed(name)


@pytest.mark.parametrize("name, version", _released(), ids=[f"{n}-v{v}" for n, v in _released()])
def test_no_breaking_change_since_the_release_without_a_new_major(findings, name, version):
    released, current = _released_pair(name, version)
    assert unreleased_breaks(released, current, findings[f"{name}-v{version}"]) == [], (
        f"docs/openapi/{name}.json breaks v{version}: bump info.version to {version + 1}.0.0 and serve it as "
        f"stage v{version + 1} beside v{version}, or make the change compatible")


@pytest.mark.parametrize("stack", STACKS)
def test_each_rest_api_is_served_at_its_documents_major_version(built, stack):
    snapshot = built[stack].snapshot
    for api, (name, document) in built[stack].items():
        stages = [s.props["stageName"] for s in snapshot.descendants_of(snapshot.component(api).urn)
                  if s.resource_type == "aws:apigateway/stage:Stage"]
        # The document's major is the API's stage; another major may be served beside it during a migration.
        assert f"v{major(document)}" in stages and all(re.fullmatch(r"v\d+", stage) for stage in stages), api
        assert document["servers"][0]["url"].endswith(f"/v{major(document)}")


# --- the guard fires on each kind of breaking change ------------------------------------------------

BASE: dict[str, Any] = {
    "openapi": "3.0.3", "info": {"title": "shop", "version": "1.2.0"},
    "security": [{"CognitoUserPool": []}],
    "paths": {
        "/items": {
            "get": {"parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {
                        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}}}},
            "post": {"requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/NewItem"}}}},
                "responses": {"201": {"description": "made", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Item"}}}}}},
        },
        "/items/{itemId}": {"delete": {"parameters": [{"name": "itemId", "in": "path", "required": True,
                                                       "schema": {"type": "string"}}],
                                       "responses": {"204": {"description": "gone"}}}},
    },
    "components": {
        "securitySchemes": {"CognitoUserPool": {"type": "apiKey", "in": "header", "name": "Authorization"}},
        "schemas": {
            "Item": {"type": "object", "required": ["id", "name", "price"], "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "price": {"type": "integer"}}},
            "NewItem": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
                "name": {"type": "string"}, "price": {"type": "integer"}}},
        },
    },
}


def _changed(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    change(document)
    return document


def _schemas(d: dict[str, Any]) -> dict[str, Any]:
    return d["components"]["schemas"]


BREAKING = {
    "a removed path": (lambda d: d["paths"].pop("/items/{itemId}"), "path.remove"),
    "a removed method": (lambda d: d["paths"]["/items"].pop("post"), "method.remove"),
    "a removed required response field": (
        lambda d: (_schemas(d)["Item"]["required"].remove("price"), _schemas(d)["Item"]["properties"].pop("price")),
        "response.body.scope.add"),
    "a new required request field": (lambda d: _schemas(d)["NewItem"]["required"].append("price"),
                                     "request.body.scope.remove"),
    "a changed request field type": (lambda d: _schemas(d)["NewItem"]["properties"].__setitem__(
        "price", {"type": "string"}), "request.body.scope.remove"),
    "a changed response field type": (lambda d: _schemas(d)["Item"]["properties"].__setitem__(
        "price", {"type": "number"}), "response.body.scope.add"),
    "a new required parameter": (lambda d: d["paths"]["/items"]["get"]["parameters"].append(
        {"name": "shop", "in": "query", "required": True, "schema": {"type": "string"}}), "parameter.required.add"),
    "an optional parameter made required": (lambda d: d["paths"]["/items"]["get"]["parameters"][0].__setitem__(
        "required", True), "parameter.required.change"),
    "a changed parameter type": (lambda d: d["paths"]["/items"]["get"]["parameters"][0].__setitem__(
        "schema", {"type": "string"}), "parameter.type.change"),
    "a changed auth": (lambda d: d["paths"]["/items"]["get"].__setitem__("security", []), "security.change"),
}
COMPATIBLE = {
    "a new path": lambda d: d["paths"].__setitem__("/health", {"get": {"responses": {"200": {"description": "ok"}}}}),
    "a new optional request field": lambda d: _schemas(d)["NewItem"]["properties"].__setitem__(
        "colour", {"type": "string"}),
    "a new response field": lambda d: _schemas(d)["Item"]["properties"].__setitem__("colour", {"type": "string"}),
    "a new optional parameter": lambda d: d["paths"]["/items"]["get"]["parameters"].append(
        {"name": "cursor", "in": "query", "schema": {"type": "string"}}),
    "a minor version": lambda d: d["info"].__setitem__("version", "1.3.0"),
}


def _v2(d: dict[str, Any]) -> None:
    d["paths"].pop("/items/{itemId}")
    d["info"]["version"] = "2.0.0"


@pytest.fixture(scope="module")
def findings() -> dict[str, list[str]]:
    """Every pair this module compares, diffed in one batch: the released documents, then the fixtures."""
    pairs = {f"{name}-v{version}": _released_pair(name, version) for name, version in _released()}
    pairs.update({f"breaking: {change}": (BASE, _changed(edit)) for change, (edit, _) in BREAKING.items()})
    pairs.update({f"compatible: {change}": (BASE, _changed(edit)) for change, edit in COMPATIBLE.items()})
    pairs["v2"] = (BASE, _changed(_v2))
    return dict(zip(pairs, breaking_changes_of(list(pairs.values()))))


@pytest.mark.parametrize("change", sorted(BREAKING))
def test_guard_fires_on(findings, change):
    found = unreleased_breaks(BASE, _changed(BREAKING[change][0]), findings[f"breaking: {change}"])
    assert any(line.startswith(BREAKING[change][1]) for line in found), found


@pytest.mark.parametrize("change", sorted(COMPATIBLE))
def test_guard_lets_through(findings, change):
    assert findings[f"compatible: {change}"] == []


def test_a_new_major_version_may_break(findings):
    assert findings["v2"] != [] and unreleased_breaks(BASE, _changed(_v2), findings["v2"]) == []
