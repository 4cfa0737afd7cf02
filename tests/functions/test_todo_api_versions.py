"""todo_api v1 and v2 side by side: one function behind both stages; v2 adds `priority`, v1 is unchanged."""
from __future__ import annotations

import json

import pytest

from tests.functions.test_todo_api import ALICE, Api, LambdaContext, aws, api, claims_for, rest_event  # noqa: F401
from todo_api import todos


def call(api: Api, version: str, method: str, path: str, body: object = None) -> tuple[int, dict | None]:
    event = rest_event(method, path, authorizer={"claims": claims_for(ALICE)},
                       body=None if body is None else json.dumps(body))
    event["stageVariables"] = {"apiVersion": version}
    event["requestContext"]["stage"] = version
    result = api.module.handler(event, LambdaContext())
    return result["statusCode"], json.loads(result["body"]) if result.get("body") else None


def test_v2_creates_with_a_priority_and_v1_reads_the_same_todo_without_it(api: Api) -> None:
    status, created = call(api, "v2", "POST", "/todos", {"title": "Pay rent", "priority": "high"})
    assert status == 201 and created["priority"] == "high"

    status, through_v1 = call(api, "v1", "GET", f"/todos/{created['todoId']}")
    assert status == 200 and "priority" not in through_v1
    assert through_v1 == {k: v for k, v in created.items() if k != "priority"}


def test_a_todo_created_through_v1_has_the_default_priority_in_v2(api: Api) -> None:
    created = api.create("Buy milk")
    assert "priority" not in created
    status, listed = call(api, "v2", "GET", "/todos")
    assert status == 200 and [t["priority"] for t in listed["items"]] == ["normal"]


def test_v1_keeps_refusing_the_v2_field(api: Api) -> None:
    status, body = call(api, "v1", "POST", "/todos", {"title": "Pay rent", "priority": "high"})
    assert status == 400 and "'priority'" in body["message"] and "allowed: title, done, notes" in body["message"]


def test_a_v1_update_leaves_the_v2_priority_alone(api: Api) -> None:
    _, created = call(api, "v2", "POST", "/todos", {"title": "Pay rent", "priority": "low"})
    status, _ = call(api, "v1", "PUT", f"/todos/{created['todoId']}", {"done": True})
    assert status == 200
    _, read = call(api, "v2", "GET", f"/todos/{created['todoId']}")
    assert (read["done"], read["priority"]) == (True, "low")


@pytest.mark.parametrize("priority", ["urgent", 1, None, ""])
def test_v2_refuses_a_priority_it_does_not_know(api: Api, priority: object) -> None:
    status, body = call(api, "v2", "POST", "/todos", {"title": "Pay rent", "priority": priority})
    assert status == 400 and body["message"] == "priority must be one of low, normal, high"


def test_without_a_stage_variable_the_request_is_v1() -> None:
    assert todos.api_version(None) == todos.api_version({}) == "v1"


def test_a_stage_this_code_does_not_serve_is_a_deployment_error_not_a_client_error() -> None:
    with pytest.raises(ValueError, match="apiVersion='v3'"):
        todos.api_version({"apiVersion": "v3"})


def _schema(document: str, name: str):
    from openapi_schema_validator import OAS30Validator

    from offline.api_versions import DOCS
    return OAS30Validator(json.loads((DOCS / document).read_text())["components"]["schemas"][name])


def test_each_version_answers_as_its_own_document_says(api: Api) -> None:
    _, created = call(api, "v2", "POST", "/todos", {"title": "Pay rent", "priority": "high", "notes": "by Friday"})
    _schema("v2/todo-api.json", "Todo").validate(created)
    _, through_v1 = call(api, "v1", "GET", f"/todos/{created['todoId']}")
    _schema("todo-api.json", "Todo").validate(through_v1)  # additionalProperties: false, so no priority leaks
    assert not _schema("todo-api.json", "Todo").is_valid(created)


def test_the_documented_priorities_are_the_ones_the_function_accepts() -> None:
    from offline.api_versions import PRIORITY
    assert tuple(PRIORITY["enum"]) == todos.PRIORITIES


# ---------------------------------------------------------------- v1 deprecated: Deprecation, Sunset, Link


V1_DEPRECATED = {"Deprecation": "@1796083200", "Sunset": "Wed, 30 Jun 2027 00:00:00 GMT",
                 "Link": '<https://example.com/todo-api/migrate>; rel="deprecation"; type="text/html"'}


@pytest.fixture
def deprecated_v1(aws, monkeypatch: pytest.MonkeyPatch) -> Api:  # noqa: F811 (the aws fixture)
    from tests.functions.test_todo_api import load_handler
    return Api(load_handler(monkeypatch, DEPRECATED_VERSIONS=json.dumps({"v1": V1_DEPRECATED})))


def answer(api: Api, version: str, method: str, path: str, body: object = None, **headers: str) -> dict:
    event = rest_event(method, path, authorizer={"claims": claims_for(ALICE)},
                       body=None if body is None else json.dumps(body), extra_headers=headers or None)
    event["stageVariables"] = {"apiVersion": version}
    return api.module.handler(event, LambdaContext())


def headers_of(result: dict) -> dict[str, str]:
    """The headers as API Gateway sends them: multiValueHeaders' last value, then headers over them."""
    merged = {k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
    return {**merged, **(result.get("headers") or {})}


@pytest.mark.parametrize("method, path, body, status", [
    ("POST", "/todos", {"title": "Pay rent"}, 201),
    ("GET", "/todos", None, 200),
    ("GET", "/todos/00000000-0000-4000-8000-000000000000", None, 404),
    ("POST", "/todos", {"title": "Pay rent", "priority": "high"}, 400),
    ("PATCH", "/todos", None, 405),
])
def test_every_answer_of_a_deprecated_v1_carries_deprecation_sunset_and_link(
        deprecated_v1: Api, method: str, path: str, body: object, status: int) -> None:
    result = answer(deprecated_v1, "v1", method, path, body)
    assert result["statusCode"] == status
    assert {k: headers_of(result).get(k) for k in V1_DEPRECATED} == V1_DEPRECATED


def test_v2_answers_carry_no_deprecation_headers(deprecated_v1: Api) -> None:
    for method, path, body in [("POST", "/todos", {"title": "Pay rent"}), ("GET", "/todos/nope", None)]:
        assert not set(V1_DEPRECATED) & set(headers_of(answer(deprecated_v1, "v2", method, path, body)))


def test_without_a_deprecation_v1_answers_carry_none(api: Api) -> None:
    assert not set(V1_DEPRECATED) & set(headers_of(answer(api, "v1", "GET", "/todos")))


def test_a_browser_client_may_read_the_deprecation_headers(deprecated_v1: Api) -> None:
    result = answer(deprecated_v1, "v1", "GET", "/todos", Origin="https://app.example.com")
    exposed = {h.strip() for h in headers_of(result)["Access-Control-Expose-Headers"].split(",")}
    assert set(V1_DEPRECATED) <= exposed


@pytest.mark.parametrize("raw", ["not json", '["v1"]', '{"v1": {"Deprecation": 1}}', '{"v1": {"X-Other": "a"}}',
                                 '{"v1": {"Sunset": "a\\r\\nSet-Cookie: x"}}'])
def test_a_malformed_deprecated_versions_variable_fails_at_cold_start_naming_it(raw: str) -> None:
    from todo_api.settings import SettingsError, load_settings
    with pytest.raises(SettingsError, match="DEPRECATED_VERSIONS"):
        load_settings({"TABLE_NAME": "t", "BUCKET_NAME": "b", "DEPRECATED_VERSIONS": raw})
