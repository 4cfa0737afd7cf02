"""One OpenAPI document per API, current and valid: each LambdaRestApi's document is what its route table
builds (the same in dev and prod), every document under docs/openapi/ is valid OpenAPI, the documentation
parts publish its words, and every generated Python client is what the generator makes of its document.
Fix a stale file with `make openapi`."""
from __future__ import annotations

import dataclasses
import json

import pytest
from openapi_spec_validator import validate

from offline.openapi_docs import CLIENTS, documents, generated_here
from serverless_blueprints import openapi
from serverless_blueprints.api_contracts import TODO, CONTRACTS
from serverless_blueprints.rest_api import ResolvedLambdaRestApi, ResolvedRoute, ResolvedThrottle
from services import openapi_contracts
from services.openapi_contracts import DOCS

from .documents import committed

REGENERATE = "run `make openapi` and commit the result"


def _route_documents(built) -> dict[str, dict]:
    return documents(built)


def test_every_rest_api_of_both_stacks_has_a_contract(built):
    documented = {c.document for c in CONTRACTS}
    for stack, apis in built.items():
        assert {api: name for api, (name, _) in apis.items() if name not in documented} == {}, stack


def test_committed_documents_are_what_the_route_tables_build(built):
    for name, document in _route_documents(built).items():
        if generated_here(name):
            assert (DOCS / f"{name}.json").read_text() == openapi.render(document), (
                f"docs/openapi/{name}.json is stale: {REGENERATE}")


def test_a_document_generated_from_a_handler_lists_exactly_the_routes_the_gateway_serves(built):
    for name, document in _route_documents(built).items():
        if not generated_here(name):
            served = {(m, p) for p, item in document["paths"].items() for m in item}
            listed = {(m, p) for p, item in committed(name)["paths"].items() for m in item}
            assert served == listed, name


def test_no_document_without_an_api(built):
    expected = set(_route_documents(built)) | {n.removesuffix(".json") for n in openapi_contracts.DOCUMENTS}
    assert {p.stem for p in DOCS.glob("*.json")} == expected


@pytest.mark.parametrize("path", sorted(DOCS.glob("**/*.json")), ids=lambda p: str(p.relative_to(DOCS)))
def test_document_is_valid_openapi(path):
    validate(json.loads(path.read_text()))


def test_documentation_parts_publish_the_documents_words(built):
    snapshot = built["prod"].snapshot
    api, document = next((api, d) for api, (name, d) in built["prod"].items() if name == TODO.document)
    parts = {(json.dumps(p.props["location"], sort_keys=True)): json.loads(p.props["properties"])
             for p in snapshot.descendants_of(snapshot.component(api).urn)
             if p.resource_type == "aws:apigateway/documentationPart:DocumentationPart"}
    method = {"method": "GET", "path": "/todos", "type": "METHOD"}
    assert parts[json.dumps(method, sort_keys=True)]["summary"] == "List the caller's to-dos, a page at a time"
    assert parts[json.dumps({"type": "API"})]["info"] == document["info"]
    response = {"method": "POST", "path": "/todos", "statusCode": "409", "type": "RESPONSE"}
    assert parts[json.dumps(response, sort_keys=True)]["description"].startswith("The Idempotency-Key was used")
    version = next(v for v in snapshot.descendants_of(snapshot.component(api).urn)
                   if v.resource_type == "aws:apigateway/documentationVersion:DocumentationVersion")
    assert version.props["version"] == openapi.documentation_version(document, "v1")


@pytest.mark.parametrize("client", CLIENTS, ids=lambda c: c.package)
def test_committed_client_is_what_the_generator_makes(client, tmp_path):
    from tests.services.test_contracts import _tree_differences

    generated = tmp_path / client.package
    openapi_contracts.generate_client(client, generated)
    assert _tree_differences(client.target, generated) == [], f"{client.target} is stale: {REGENERATE}"


# --- the guards of the document builder --------------------------------------------------------------

def _api(*routes: ResolvedRoute) -> ResolvedLambdaRestApi:
    return ResolvedLambdaRestApi(
        routes=list(routes), cognito_user_pool_arns=["arn"], public=False, cors_allow_origin="*", stage_name="v1",
        throttle=ResolvedThrottle(50, 100), cache=None, log_retention_days=30, cloudwatch_account=None,
        token_header="Authorization", binary_media_types=[])


def _route(method: str, path: str, query: tuple[str, ...] = ()) -> ResolvedRoute:
    return ResolvedRoute(method=method, path=path, function=None, cached=False,  # type: ignore[arg-type]
                         query_parameters=list(query), request_schema={"type": "object"}, throttle=None)


def test_a_contract_naming_a_query_string_the_route_does_not_pass_is_refused():
    contract = dataclasses.replace(TODO, operations={"GET /todos": {"parameters": [
        {"name": "sort", "in": "query", "schema": {"type": "string"}}]}})
    with pytest.raises(openapi.ContractError, match=r"GET /todos: query parameter 'sort' is not in the route table"):
        openapi.api_document("todo", _api(_route("GET", "/todos", ("limit",))), contract)


def test_a_contract_giving_a_get_a_body_is_refused():
    contract = dataclasses.replace(TODO, operations={"GET /todos": {"requestBody": {"content": {}}}})
    with pytest.raises(openapi.ContractError, match="a GET takes no body"):
        openapi.api_document("todo", _api(_route("GET", "/todos")), contract)


def test_an_api_without_a_contract_still_gets_a_document_of_its_routes():
    document = openapi.api_document("mine", _api(_route("GET", "/things/{thingId}", ("view",))))
    operation = document["paths"]["/things/{thingId}"]["get"]
    assert [(p["in"], p["name"], p["required"]) for p in operation["parameters"]] == [
        ("path", "thingId", True), ("query", "view", False)]
    assert operation["security"] == [{"CognitoUserPool": []}] and document["info"]["title"] == "mine"


def test_a_stack_building_another_document_for_the_same_api_is_refused():
    one = openapi.api_document("todo", _api(_route("GET", "/todos")))
    other = {**one, "info": {**one["info"], "version": "2.0.0"}}
    with pytest.raises(ValueError, match="prod builds a different docs/openapi/todo.json"):
        documents({"dev": {"todo-api": ("todo", one)}, "prod": {"todo-api": ("todo", other)}})
