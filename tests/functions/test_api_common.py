"""api_common.http: the request-body reader and the error answers every REST API function shares."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig
from aws_lambda_powertools.event_handler.exceptions import BadRequestError, NotFoundError

from api_common import http

# ---------------------------------------------------------------- request body (no AWS)


def parse(body: str | None, *, is_base64_encoded: bool = False, **limits: int) -> dict[str, Any]:
    return http.parse_json_object(body, is_base64_encoded=is_base64_encoded, **limits)


def refusal(body: str | None, *, is_base64_encoded: bool = False, **limits: int) -> http.ApiError:
    with pytest.raises(http.ApiError) as refused:
        parse(body, is_base64_encoded=is_base64_encoded, **limits)
    return refused.value


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_a_json_object_is_returned_as_a_dict() -> None:
    assert parse('{"title": "x", "items": [{"n": 1}]}') == {"title": "x", "items": [{"n": 1}]}


def test_a_base64_body_is_decoded_as_utf8_json() -> None:
    assert parse(b64('{"title": "Zoë"}'.encode()), is_base64_encoded=True) == {"title": "Zoë"}


@pytest.mark.parametrize(
    "body,is_base64_encoded,status,reason",
    [
        (None, False, 400, "body_required"),
        ("", False, 400, "body_required"),
        ("", True, 400, "body_required"),
        ("{", False, 400, "body_not_json"),
        ("\ufeff{}", False, 400, "body_not_json"),
        ("[1]", False, 400, "body_not_object"),
        ("null", False, 400, "body_not_object"),
        ('{"a": NaN}', False, 400, "body_not_json"),
        ('{"a": -Infinity}', False, 400, "body_not_json"),
        ('{"a": 1, "a": 2}', False, 400, "body_duplicate_field"),
        ('{"a": {"b": 1, "b": 1}}', False, 400, "body_duplicate_field"),
        ('{"a": "\ud800"}', False, 400, "body_not_utf8"),
        ("not base64!", True, 400, "body_not_base64"),
        ("e30", True, 400, "body_not_base64"),
        ("ZX=l", True, 400, "body_not_base64"),
        ("é===", True, 400, "body_not_base64"),
        (b64(b"\xff\xfe{}"), True, 400, "body_not_utf8"),
        (b64(b'{"a": "\xed\xa0\x80"}'), True, 400, "body_not_utf8"),
        ("[" * 100_000, False, 413, "body_too_large"),
        ("[" * 10_000, False, 400, "body_too_deep"),
        ("[" * 33 + "]" * 33, False, 400, "body_too_deep"),
        ('{"a": ' * 33 + "1" + "}" * 33, False, 400, "body_too_deep"),
        ("1" * 5000, False, 400, "body_not_json"),
    ],
    ids=lambda value: value if isinstance(value, (int, bool)) else None,
)
def test_bad_bodies_are_refused_with_a_4xx_and_a_reason(
    body: str | None, is_base64_encoded: bool, status: int, reason: str
) -> None:
    refused = refusal(body, is_base64_encoded=is_base64_encoded)

    assert (refused.status_code, refused.reason) == (status, reason)
    assert refused.message


def test_nesting_up_to_the_bound_is_accepted() -> None:
    body = '{"a": ' * 31 + "[1]" + "}" * 31

    assert parse(body, max_depth=32)


def test_the_size_bound_counts_utf8_bytes() -> None:
    body = json.dumps({"t": "é" * 10}, ensure_ascii=False)  # 20 bytes of é in 10 characters

    assert parse(body, max_bytes=len(body.encode())) == {"t": "é" * 10}
    assert refusal(body, max_bytes=len(body)).status_code == 413


def test_the_size_bound_applies_to_the_decoded_base64_body() -> None:
    raw = json.dumps({"t": "x" * 100}).encode()

    assert parse(b64(raw), is_base64_encoded=True, max_bytes=len(raw))
    refused = refusal(b64(raw), is_base64_encoded=True, max_bytes=len(raw) - 1)
    assert (refused.status_code, refused.message) == (413, f"request body is larger than {len(raw) - 1} bytes")


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON; charset=utf-8", " application/json ;x=y"]
)
def test_json_content_types_are_accepted(content_type: str) -> None:
    http.check_json_content_type(content_type)


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "application/jsonp", "application/x-www-form-urlencoded"]
)
def test_other_content_types_are_415(content_type: str | None) -> None:
    with pytest.raises(http.ApiError) as refused:
        http.check_json_content_type(content_type)

    assert (refused.value.status_code, refused.value.reason) == (415, "unsupported_media_type")


# ---------------------------------------------------------------- Idempotency-Key


def test_a_well_formed_key_is_returned() -> None:
    assert http.read_idempotency_key("order-2024:ab/c+d=", required=True) == "order-2024:ab/c+d="


def test_an_absent_optional_key_is_none() -> None:
    assert http.read_idempotency_key(None, required=False) is None


@pytest.mark.parametrize("value", [None, ""])
def test_an_absent_required_key_is_400(value: str | None) -> None:
    with pytest.raises(http.ApiError) as refused:
        http.read_idempotency_key(value, required=True)

    assert (refused.value.status_code, refused.value.message) == (400, "Idempotency-Key header is required")


@pytest.mark.parametrize("value", ["", " ", "a b", "x" * 129, "ключ", "a\x00"])
def test_a_malformed_optional_key_is_400(value: str) -> None:
    with pytest.raises(http.ApiError) as refused:
        http.read_idempotency_key(value, required=False)

    assert refused.value.reason == "idempotency_key_invalid"


# ---------------------------------------------------------------- error answers on a resolver


class Context:
    function_name = "api-common-test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:api-common-test"
    aws_request_id = "00000000-0000-4000-8000-000000000000"


def rest_event(method: str, path: str, *, body: str | None = None, origin: str | None = None) -> dict[str, Any]:
    headers = {"Host": "abc.execute-api.eu-west-1.amazonaws.com", **({"Origin": origin} if origin else {})}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"requestId": "r-1", "stage": "prod", "httpMethod": method, "path": f"/prod{path}"},
        "body": body,
        "isBase64Encoded": False,
    }


def make_app(**error_headers: str) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(cors=CORSConfig(allow_origin="https://app.example.com"))
    http.handle_errors(app, Logger(service="api-common-test"), error_headers=error_headers or None)

    @app.get("/things")
    def list_things() -> dict:
        return {"things": []}

    @app.post("/things")
    def create_thing() -> dict:
        return http.read_json_object(app.current_event, max_bytes=256)

    @app.get("/things/<thing_id>")
    def get_thing(thing_id: str) -> dict:
        if thing_id == "missing":
            raise NotFoundError("thing not found")
        if thing_id == "bad":
            raise BadRequestError("thing id is bad")
        if thing_id == "teapot":
            raise http.ApiError(418, "short and stout", reason="teapot", headers={"X-Tea": "earl-grey"})
        raise RuntimeError("database password is hunter2")

    return app


def answer(app: APIGatewayRestResolver, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    response = http.resolve(app, event, Context(), Logger(service="api-common-test"))
    headers = {name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    return response["statusCode"], headers, json.loads(response["body"]) if response.get("body") else None


def test_unknown_path_is_404_json_with_cors() -> None:
    status, headers, body = answer(make_app(), rest_event("GET", "/elsewhere", origin="https://app.example.com"))

    assert (status, body) == (404, {"message": "not found", "reason": "not_found"})
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"


@pytest.mark.parametrize(
    "method,path,allowed",
    [("DELETE", "/things", "GET, POST"), ("PUT", "/things/1", "GET"), ("HEAD", "/things", "GET, POST")],
)
def test_known_path_with_another_method_is_405_with_allow(method: str, path: str, allowed: str) -> None:
    status, headers, body = answer(make_app(), rest_event(method, path))

    assert status == 405
    assert body["reason"] == "method_not_allowed"
    assert headers["Allow"] == allowed


def test_cors_preflight_is_still_answered_by_powertools() -> None:
    status, headers, _ = answer(make_app(), rest_event("OPTIONS", "/things", origin="https://app.example.com"))

    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_not_found_raised_by_a_route_keeps_its_message() -> None:
    status, _, body = answer(make_app(), rest_event("GET", "/things/missing"))

    assert (status, body) == (404, {"message": "thing not found"})


def test_powertools_service_errors_use_the_shared_shape() -> None:
    status, headers, body = answer(make_app(), rest_event("GET", "/things/bad"))

    assert (status, body) == (400, {"message": "thing id is bad"})
    assert headers["Content-Type"] == "application/json"


def test_api_error_carries_its_reason_and_headers() -> None:
    status, headers, body = answer(make_app(), rest_event("GET", "/things/teapot"))

    assert (status, body) == (418, {"message": "short and stout", "reason": "teapot"})
    assert headers["X-Tea"] == "earl-grey"


def test_body_errors_from_a_route_are_4xx() -> None:
    status, _, body = answer(make_app(), rest_event("POST", "/things", body="[" * 50 + "]" * 50))

    assert (status, body["reason"]) == (400, "body_too_deep")


def test_unexpected_error_is_a_logged_500_without_internals(caplog: pytest.LogCaptureFixture) -> None:
    status, headers, body = answer(make_app(), rest_event("GET", "/things/boom", origin="https://app.example.com"))

    assert (status, body) == (500, {"message": "internal server error", "reason": "internal_error"})
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "hunter2" not in json.dumps(body)
    assert "unhandled error" in caplog.messages


def test_error_headers_go_on_every_error_and_only_on_errors() -> None:
    app = make_app(**{"Cache-Control": "no-store"})

    for event in [rest_event("GET", "/nope"), rest_event("PUT", "/things"), rest_event("GET", "/things/bad"),
                  rest_event("GET", "/things/boom")]:
        assert answer(app, event)[1]["Cache-Control"] == "no-store"
    assert "Cache-Control" not in answer(app, rest_event("GET", "/things"))[1]


def test_a_failure_outside_any_route_is_still_a_json_500(caplog: pytest.LogCaptureFixture) -> None:
    event = rest_event("GET", "/things")
    event["httpMethod"] = None  # no route can even be looked up

    status, headers, body = answer(make_app(), event)

    assert (status, body) == (500, {"message": "internal server error", "reason": "internal_error"})
    assert headers["Content-Type"] == "application/json"
    assert "request could not be resolved" in caplog.messages


def test_allowed_methods_reads_the_resolvers_route_table() -> None:
    app = make_app()

    assert http.allowed_methods(app, "/things") == ["GET", "POST"]
    assert http.allowed_methods(app, "/things/42") == ["GET"]
    assert http.allowed_methods(app, "/other") == []
