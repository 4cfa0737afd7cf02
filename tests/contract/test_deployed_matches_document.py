"""Each LambdaRestApi of both stacks, under mocks, serves exactly what its committed document says: the methods
and paths, each method's authorization, request validators and body models, the stage cache's keys, and the
CORS preflight. A change to a route table that isn't regenerated into the document fails here (and in
test_documents), and so does a hand edit of the document."""
from __future__ import annotations

import json
from typing import Any

import pytest

from offline.openapi_docs import STACKS, generated_here
from serverless_blueprints.testing import RecordedResource, StackSnapshot

from .documents import committed

AUTHORIZATION = {"CognitoUserPool": "COGNITO_USER_POOLS", "SigV4": "AWS_IAM"}


def _api_resources(snapshot: StackSnapshot, api: str) -> dict[str, list[RecordedResource]]:
    by_type: dict[str, list[RecordedResource]] = {}
    for resource in snapshot.descendants_of(snapshot.component(api).urn):
        by_type.setdefault(resource.resource_type.rsplit(":", 1)[-1], []).append(resource)
    return by_type


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), path): operation for path, item in document["paths"].items()
            for method, operation in item.items()}


def differences(snapshot: StackSnapshot, api: str, document: dict[str, Any]) -> list[str]:
    """What API `api` of the mocked stack serves that `document` doesn't say, or the other way round."""
    found: list[str] = []
    resources = _api_resources(snapshot, api)
    paths = {r.outputs.get("id"): r.outputs["path"] for r in resources.get("Resource", [])}
    methods = {(m.props["httpMethod"], paths[m.props["resourceId"]]): m for m in resources.get("Method", [])}
    integrations = {(i.props["httpMethod"], paths[i.props["resourceId"]]): i for i in resources.get("Integration", [])}
    models = {m.props["name"]: json.loads(m.props["schema"]) for m in resources.get("Model", [])}
    documented = _operations(document)
    served = {key for key in methods if key[0] != "OPTIONS"}
    found += [f"{m} {p}: served, not documented" for m, p in sorted(served - set(documented))]
    found += [f"{m} {p}: documented, not served" for m, p in sorted(set(documented) - served)]
    stage = resources["Stage"][0]
    cached_methods = {s.props["methodPath"] for s in resources.get("MethodSettings", [])
                      if s.props["settings"].get("cachingEnabled")}
    for key in sorted(served & set(documented)):
        found += [f"{key[0]} {key[1]}: {problem}" for problem in _method_differences(
            document, documented[key], methods[key], integrations[key], models,
            bool(stage.props.get("cacheClusterEnabled")), f"{key[1].lstrip('/')}/{key[0]}" in cached_methods)]
    found += _cors_differences(document, resources, paths)
    return found


def _method_differences(document: dict[str, Any], operation: dict[str, Any], method: RecordedResource,
                        integration: RecordedResource, models: dict[str, Any], stage_cache: bool,
                        cached: bool) -> list[str]:
    found = []
    security = operation.get("security", document.get("security", []))
    wanted = AUTHORIZATION[next(iter(security[0]))] if security else "NONE"
    if method.props.get("authorization") != wanted:
        found.append(f"authorization {method.props.get('authorization')}, documented {wanted}")
    # Request parameters: the path's and the query strings', plus the caller's token when it keys the cache.
    parameters = method.props.get("requestParameters") or {}
    served = {(k.split(".")[2], k.split(".", 3)[3]): required for k, required in parameters.items()}
    documented = {({"query": "querystring"}.get(p["in"], p["in"]), p["name"]): bool(p.get("required"))
                  for p in operation.get("parameters", []) if p["in"] in ("path", "query")}
    token_keys = {k: v for k, v in served.items() if k[0] == "header"}
    if {k: v for k, v in served.items() if k[0] != "header"} != {
            k: (v if k[0] == "path" else False) for k, v in documented.items()}:
        found.append(f"request parameters {sorted(served)}, documented {sorted(documented)}")
    validated = method.props.get("requestValidatorId") is not None
    # A caller's token keying the stage cache is a request parameter too, so it turns the validator on.
    if validated != ("x-amazon-apigateway-request-validator" in operation or bool(token_keys)):
        found.append(f"request validator {'on' if validated else 'off'}, documented the other way")
    model_names = list((method.props.get("requestModels") or {}).values())
    model = models[model_names[0]] if model_names else None
    if model != operation.get("x-gateway-request-model"):
        found.append(f"body model {model}, documented {operation.get('x-gateway-request-model')}")
    documented_key = operation["x-amazon-apigateway-integration"].get("cacheKeyParameters")
    served_key = integration.props.get("cacheKeyParameters")
    if stage_cache and documented_key is not None:
        if not cached or (served_key or []) != documented_key:
            found.append(f"cache key {served_key} (caching {'on' if cached else 'off'}), documented {documented_key}")
    elif cached or served_key:
        found.append(f"cached with key {served_key}, documented as not cached"
                     if documented_key is None else "cached, but the stage has no cache")
    # The caller's token is a required header exactly when it keys the cache.
    tokens = [p.split(".", 3)[3] for p in (documented_key or []) if p.startswith("method.request.header.")]
    if sorted(name for _, name in token_keys) != (sorted(tokens) if stage_cache else []):
        found.append(f"token header parameters {sorted(token_keys)}, documented cache key {documented_key}")
    return found


def _cors_differences(document: dict[str, Any], resources: dict[str, list[RecordedResource]],
                      paths: dict[Any, str]) -> list[str]:
    found = []
    preflight = {paths[r.props["resourceId"]]: r.props["responseParameters"]
                 for r in resources.get("IntegrationResponse", []) if r.props["httpMethod"] == "OPTIONS"}
    cors = document["x-gateway-cors"]
    for path, item in document["paths"].items():
        answer = preflight.get(path)
        if answer is None:
            found.append(f"OPTIONS {path}: no preflight answer")
            continue
        methods = sorted({m.upper() for m in item} | {"OPTIONS"})
        if answer["method.response.header.Access-Control-Allow-Methods"].strip("'").split(",") != methods:
            found.append(f"OPTIONS {path}: allows {answer['method.response.header.Access-Control-Allow-Methods']}, "
                         f"documented {methods}")
        if answer["method.response.header.Access-Control-Allow-Headers"].strip("'").split(",") != cors["allowHeaders"]:
            found.append(f"OPTIONS {path}: allows headers "
                         f"{answer['method.response.header.Access-Control-Allow-Headers']}")
        if answer["method.response.header.Access-Control-Max-Age"].strip("'") != str(cors["maxAge"]):
            found.append(f"OPTIONS {path}: max age differs")
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_rest_api_of_the_stack_serves_exactly_its_committed_document(built, stack):
    snapshot = built[stack].snapshot
    apis = {r.name for r in snapshot.of_type("serverless-blueprints:index:LambdaRestApi")}
    assert apis == set(built[stack]), "every LambdaRestApi builds a document"
    # A document generated from a handler (cart's) is checked against its route table's in test_documents.
    report = {api: differences(snapshot, api, committed(name) if generated_here(name) else document)
              for api, (name, document) in built[stack].items()}
    assert report == {api: [] for api in report}


def _mutated(document: dict[str, Any], change) -> dict[str, Any]:
    copy = json.loads(json.dumps(document))
    change(copy)
    return copy


MUTATIONS = {
    "a documented method the API doesn't serve": (
        "todo-api", lambda d: d["paths"]["/todos"].__setitem__("patch", d["paths"]["/todos"]["post"]),
        "PATCH /todos: documented, not served"),
    "a served method the document leaves out": (
        "todo-api", lambda d: d["paths"]["/todos/{todoId}"].pop("delete"),
        "DELETE /todos/{todoId}: served, not documented"),
    "another auth mode": (
        "orders-api", lambda d: d["paths"]["/orders"]["post"].__setitem__("security", []),
        "POST /orders: authorization COGNITO_USER_POOLS, documented NONE"),
    "another body model": (
        "blog-api", lambda d: d["paths"]["/api/subscribe"]["post"]["x-gateway-request-model"].__setitem__(
            "required", ["email", "name"]), "POST /api/subscribe: body model"),
    "no request validator": (
        "orders-api", lambda d: d["paths"]["/orders"]["post"].pop("x-amazon-apigateway-request-validator"),
        "POST /orders: request validator on"),
    "a query string the route doesn't pass on": (
        "todo-api", lambda d: d["paths"]["/todos"]["get"]["parameters"].append(
            {"name": "sort", "in": "query", "schema": {"type": "string"}}), "GET /todos: request parameters"),
    "another cache key": (
        "todo-api",
        lambda d: d["paths"]["/todos"]["get"]["x-amazon-apigateway-integration"]["cacheKeyParameters"].pop(),
        "GET /todos: cache key"),
    "CORS allowing another header": (
        "todo-api", lambda d: d["x-gateway-cors"]["allowHeaders"].append("X-Api-Key"),
        "OPTIONS /todos: allows headers"),
}


@pytest.mark.parametrize("change", sorted(MUTATIONS))
def test_each_drift_between_document_and_api_is_reported(built, change):
    name, mutate, expected = MUTATIONS[change]
    api = next(api for api, (doc, _) in built["prod"].items() if doc == name)
    found = differences(built["prod"].snapshot, api, _mutated(committed(name), mutate))
    assert any(line.startswith(expected) for line in found), found
