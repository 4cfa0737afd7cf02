"""Every REST API handler, fuzzed with API Gateway REST (v1) proxy events on moto.

Whatever a client sends (any method and path, headers, query strings, path parameters, bodies of
any text, bytes or JSON nesting, base64 or not, with or without Cognito claims), the handler
answers: never a 5xx, never an exception out of the function, every 4xx a JSON body with a
message, every body JSON.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

REGION = "eu-west-1"
USERS = ["3f0c6a1e-7d6b-4c1a-9a55-0d6a1b2c3d4e", "b7e2d9f0-1a2b-4c3d-8e9f-a0b1c2d3e4f5"]
KEYS = ["key-1", "key-2", "retry/3=="]
# blog_api: CloudFront's origin header and the subscription links' key, as Secrets Manager holds them.
BLOG_ORIGIN_HEADER = "X-Origin-Verify"
BLOG_ORIGIN_SECRET = "fuzz-origin-" + "s" * 36
BLOG_TOKEN_KEY = "fuzz-token-" + "k" * 53
BLOG_EMAILS = ["a@example.com", "b@example.org"]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
HEADER_NAMES = [
    "Content-Type", "content-type", "Idempotency-Key", "idempotency-key", "Origin", "X-Correlation-Id",
    "Accept", "Cache-Control", "X-Id-Token", "Authorization", "Content-Encoding",
]


@dataclass
class LambdaContext:
    function_name: str = "fuzz"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:fuzz"
    aws_request_id: str = "0d6b4c1a-9a55-4c1a-8e9f-a0b1c2d3e4f5"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


# ---------------------------------------------------------------- AWS on moto, handlers loaded once


def _table(ddb: Any, name: str, keys: list[str], **extra: Any) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": k, "KeyType": kind} for k, kind in zip(keys, ["HASH", "RANGE"])],
        AttributeDefinitions=[
            {"AttributeName": k, "AttributeType": "S"} for k in [*keys, *extra.pop("more_attributes", [])]
        ],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def _load(module: str) -> ModuleType:
    # Each handler reads its environment at import: a fresh import sees this file's tables.
    sys.modules.pop(module, None)
    return importlib.import_module(module)


@pytest.fixture(scope="module")
def handlers() -> Iterator[dict[str, ModuleType]]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "POWERTOOLS_SERVICE_NAME": "fuzz",
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        # todo_api
        "TABLE_NAME": "fuzz-todos",
        "BUCKET_NAME": "fuzz-files",
        "DAX_ENDPOINT": "",
        "CORS_ALLOW_ORIGIN": "https://app.example.com",
        # order_service
        "ORDERS_TABLE": "fuzz-orders",
        "OUTBOX_TABLE": "fuzz-outbox",
        "IDEMPOTENCY_TABLE": "fuzz-idempotency",
    }
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in env.items():
            patch.setenv(name, value)
        ddb = boto3.client("dynamodb", region_name=REGION)
        _table(ddb, "fuzz-todos", ["userId", "todoId"])
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket="fuzz-files", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        _table(ddb, "fuzz-orders", ["orderId"])
        _table(ddb, "fuzz-outbox", ["eventId"])
        _table(ddb, "fuzz-idempotency", ["id"])
        _table(
            ddb,
            "fuzz-blog",
            ["pk", "sk"],
            more_attributes=["publishedFeed", "publishedAt"],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "published-posts",
                    "KeySchema": [
                        {"AttributeName": "publishedFeed", "KeyType": "HASH"},
                        {"AttributeName": "publishedAt", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        todo = _load("todo_api.handler")
        order = _load("order_service.handler")
        patch.setenv("TABLE_NAME", "fuzz-blog")
        patch.setenv("CORS_ALLOW_ORIGIN", "")
        secrets = boto3.client("secretsmanager", region_name=REGION)
        for variable, value in (("ORIGIN_SECRET_ARN", BLOG_ORIGIN_SECRET), ("TOKEN_SECRET_ARN", BLOG_TOKEN_KEY)):
            patch.setenv(variable, secrets.create_secret(Name=f"fuzz-{variable.lower()}", SecretString=value)["ARN"])
        blog = _load("blog_api.handler")
        import blog_posts

        ddb.put_item(
            TableName="fuzz-blog",
            Item=boto3.dynamodb.types.TypeSerializer().serialize(
                blog_posts.post_item(
                    slug="hello-world", title="Hello", summary="s", body="<p>b</p>", published_at="2024-05-01T09:00:00Z"
                )
            )["M"],
        )
        yield {"todo_api": todo, "blog_api": blog, "order_service": order}
    for module in ("todo_api.handler", "order_service.handler", "blog_api.handler"):
        sys.modules.pop(module, None)


# ---------------------------------------------------------------- event strategies

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
segment = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="/?#"), min_size=1, max_size=12)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4), max_leaves=12
)


@st.composite
def deeply_nested(draw: st.DrawFn) -> str:
    depth = draw(st.integers(1, 3000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"title":[', "]}")]))
    closed = draw(st.booleans())
    return opener * depth + ("1" + closer * depth if closed else "")


def bodies(shaped: st.SearchStrategy[dict]) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.just(""),
        text,
        st.binary(max_size=64).map(lambda raw: raw.decode("latin-1")),
        json_values.map(json.dumps),
        shaped.map(json.dumps),
        shaped.map(lambda value: json.dumps(value, indent=2)),
        deeply_nested(),
        st.sampled_from(['{"title": NaN}', '{"a": 1, "a": 2}', "\ufeff{}", "1" * 5000, "x" * 40_000]),
    )


@st.composite
def encoded_body(draw: st.DrawFn, shaped: st.SearchStrategy[dict]) -> tuple[str | None, bool]:
    body = draw(bodies(shaped))
    if not draw(st.booleans()):
        return body, False
    kind = draw(st.sampled_from(["valid", "bytes", "invalid"]))
    if kind == "valid" and body is not None:
        return base64.b64encode(body.encode("utf-8")).decode(), True
    if kind == "bytes":
        return base64.b64encode(draw(st.binary(max_size=128))).decode(), True
    return body, True  # usually not base64 at all


valid_claims = st.sampled_from(USERS).map(
    lambda sub: {"claims": {"sub": sub, "token_use": "id", "email": "a@example.com"}}
)
other_claims = st.one_of(
    st.none(),
    st.just({}),
    st.just({"claims": None}),
    st.dictionaries(st.sampled_from(["sub", "email", "cognito:username"]), text, max_size=3).map(
        lambda claims: {"claims": claims}
    ),
)
# Mostly a real caller: only then do the private APIs read the body at all.
claims_strategy = st.booleans().flatmap(lambda real: valid_claims if real else other_claims)


def rest_event(
    method: str,
    resource: str,
    *,
    path_parameters: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: str | None = None,
    is_base64: bool = False,
    authorizer: dict | None = None,
    request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
) -> dict[str, Any]:
    """A REST (v1) proxy event, as API Gateway sends it (after a Cognito authorizer, if `authorizer`)."""
    path = resource
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    headers = {
        "Host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        "X-Forwarded-Proto": "https",
        **(headers or {}),
    }
    request_context: dict[str, Any] = {
        "resourceId": "abc123",
        "resourcePath": resource,
        "httpMethod": method,
        "requestTime": "22/Nov/2026:16:05:00 +0000",
        "path": f"/prod{path}",
        "accountId": "123456789012",
        "protocol": "HTTP/1.1",
        "stage": "prod",
        "requestTimeEpoch": 1763827500000,
        "requestId": request_id,
        "identity": {"sourceIp": "203.0.113.10", "userAgent": "fuzz"},
        "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        "apiId": "a1b2c3d4e5",
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


@st.composite
def rest_events(draw: st.DrawFn, routes: list[tuple[str, str]], shaped: st.SearchStrategy[dict]) -> dict[str, Any]:
    """A known route (sometimes with another method) or any other path, with anything in it."""
    path_parameters = None
    if draw(st.integers(0, 3)):
        method, resource = draw(st.sampled_from(routes))
        if draw(st.integers(0, 5)) == 0:
            method = draw(st.sampled_from(METHODS))
        if "{" in resource:
            name = resource[resource.index("{") + 1 : resource.index("}")]
            path_parameters = {name: draw(st.one_of(st.uuids().map(str), segment, st.just("hello-world")))}
    else:
        method = draw(st.sampled_from(METHODS))
        resource = "/" + "/".join(draw(st.lists(segment, max_size=4)))
    headers = draw(
        st.dictionaries(st.sampled_from(HEADER_NAMES), text | st.sampled_from([*KEYS, "application/json"]), max_size=4)
    )
    if draw(st.integers(0, 2)):
        headers["Content-Type"] = "application/json"
    if draw(st.booleans()):
        headers["Idempotency-Key"] = draw(st.sampled_from(KEYS))
    query = draw(
        st.none()
        | st.dictionaries(st.sampled_from(["limit", "cursor", "key", "utm_source"]) | segment, text, max_size=3)
    )
    body, is_base64 = draw(encoded_body(shaped))
    return rest_event(
        method,
        resource,
        path_parameters=path_parameters,
        headers=headers,
        query=query or None,
        body=body,
        is_base64=is_base64,
        authorizer=draw(claims_strategy),
        request_id=str(draw(st.uuids())),
    )


# Bodies close to what each API accepts, so the fuzzer also reaches past validation into storage.
todo_bodies = st.fixed_dictionaries(
    {"title": text},
    optional={"done": st.booleans() | json_scalars, "notes": st.none() | text, "filename": text, "contentType": text},
)
order_lines = st.lists(
    st.fixed_dictionaries(
        {
            "sku": st.sampled_from(["BOOK-1", "PEN_9", "X"]),
            "quantity": st.integers(0, 3),
            "unitPrice": st.integers(0, 999),
        }
    ),
    min_size=1,
    max_size=3,
)
order_bodies = st.builds(
    lambda lines, currency, off: {
        "items": lines,
        "currency": currency,
        "amount": sum(line["quantity"] * line["unitPrice"] for line in lines) + off,
    },
    order_lines,
    st.sampled_from(["EUR", "USD", "eur"]),
    st.sampled_from([0, 0, 0, 1]),
)
subscribe_bodies = st.fixed_dictionaries(
    {"email": st.emails() | text}, optional={"name": text | json_scalars, "admin": st.booleans()}
)

TODO_ROUTES = [
    ("GET", "/todos"), ("POST", "/todos"), ("GET", "/todos/{todoId}"), ("PUT", "/todos/{todoId}"),
    ("DELETE", "/todos/{todoId}"), ("POST", "/files/upload-url"), ("GET", "/files/download-url"),
]
BLOG_ROUTES = [("GET", "/api/posts"), ("GET", "/api/posts/{slug}"), ("POST", "/api/subscribe"),
               ("GET", "/api/subscriptions/confirm"), ("GET", "/api/subscriptions/unsubscribe")]


def blog_token(action: str, email: str, expires_at: int = 0, key: str = BLOG_TOKEN_KEY) -> str:
    import subscription_tokens

    return subscription_tokens.sign(key.encode(), action, email, expires_at=expires_at)


signed_tokens = st.builds(
    blog_token, st.sampled_from(["confirm", "unsubscribe"]), st.sampled_from(BLOG_EMAILS) | text.filter(bool),
    st.sampled_from([0, 1, 4_102_444_800]), st.sampled_from([BLOG_TOKEN_KEY, "another-key-" + "x" * 40]),
)
link_tokens = st.one_of(
    signed_tokens,
    signed_tokens.flatmap(lambda token: st.integers(0, len(token) - 1).map(lambda i: token[:i] + "A" + token[i + 1 :])),
    text,
    st.binary(max_size=80).map(lambda raw: base64.urlsafe_b64encode(raw).decode() + "." + "A" * 43),
)


@st.composite
def blog_events(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly as CloudFront sends them (the origin header set), with signed, tampered or junk link tokens."""
    event = draw(rest_events(BLOG_ROUTES, subscribe_bodies))
    origin = draw(st.sampled_from(["secret", "secret", "secret", "wrong", "absent"]))
    if origin != "absent":
        value = BLOG_ORIGIN_SECRET if origin == "secret" else draw(text)
        name = draw(st.sampled_from([BLOG_ORIGIN_HEADER, BLOG_ORIGIN_HEADER.lower()]))
        event["headers"][name] = value
        event["multiValueHeaders"][name] = [value]
    if event["resource"].startswith("/api/subscriptions/") and draw(st.integers(0, 3)):
        query = {**(event["queryStringParameters"] or {}), "token": draw(link_tokens)}
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event
ORDER_ROUTES = [("POST", "/orders")]


# ---------------------------------------------------------------- the property


def answer(handler: Callable[[dict, Any], dict], event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    response = handler(event, LambdaContext())
    headers = {name.lower(): values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers.update({name.lower(): value for name, value in (response.get("headers") or {}).items()})
    body = response.get("body")
    return response["statusCode"], headers, body


def assert_answered_well(handler: Callable[[dict, Any], dict], event: dict[str, Any]) -> None:
    status, headers, body = answer(handler, event)

    assert 200 <= status < 500, (status, body)
    if body:
        assert headers.get("content-type", "").startswith("application/json"), (status, headers)
        parsed = json.loads(body)
    else:
        assert status in (202, 204), (status, body)  # only "nothing to say" answers may be empty
        parsed = None
    if status >= 400:
        assert isinstance(parsed, dict), (status, body)
        assert isinstance(parsed.get("message"), str) and parsed["message"], (status, body)
        assert set(parsed) <= {"message", "reason"}, parsed


@FUZZ
@given(event=rest_events(TODO_ROUTES, todo_bodies))
def test_todo_api_answers_any_request_without_a_5xx(handlers: dict[str, ModuleType], event: dict) -> None:
    assert_answered_well(handlers["todo_api"].handler, event)


@FUZZ
@given(event=blog_events())
def test_blog_api_answers_any_request_without_a_5xx(handlers: dict[str, ModuleType], event: dict) -> None:
    assert_answered_well(handlers["blog_api"].handler, event)


@FUZZ
@given(event=rest_events(ORDER_ROUTES, order_bodies))
def test_order_service_answers_any_request_without_a_5xx(handlers: dict[str, ModuleType], event: dict) -> None:
    assert_answered_well(handlers["order_service"].handler, event)


@pytest.mark.parametrize(
    "api,event,expected",
    [
        ("todo_api", rest_event("POST", "/todos", body='{"title": "x"}', headers={"Idempotency-Key": "ok-1"},
                                authorizer={"claims": {"sub": USERS[0]}}), 201),
        ("todo_api", rest_event("GET", "/todos", authorizer={"claims": {"sub": USERS[0]}}), 200),
        ("todo_api", rest_event("OPTIONS", "/todos", headers={"Origin": "https://app.example.com"}), 204),
        ("blog_api", rest_event("GET", "/api/posts/{slug}", path_parameters={"slug": "hello-world"},
                                headers={BLOG_ORIGIN_HEADER: BLOG_ORIGIN_SECRET}), 200),
        ("blog_api", rest_event("POST", "/api/subscribe", body=base64.b64encode(b'{"email": "a@example.com"}').decode(),
                                is_base64=True, headers={"Content-Type": "application/json",
                                                         BLOG_ORIGIN_HEADER: BLOG_ORIGIN_SECRET}), 202),
        ("blog_api", rest_event("GET", "/api/subscriptions/unsubscribe",
                                query={"token": blog_token("unsubscribe", "b@example.org")},
                                headers={BLOG_ORIGIN_HEADER: BLOG_ORIGIN_SECRET}), 200),
        ("blog_api", rest_event("GET", "/api/subscriptions/confirm",
                                query={"token": blog_token("confirm", "nobody@example.com", 4_102_444_800)},
                                headers={BLOG_ORIGIN_HEADER: BLOG_ORIGIN_SECRET}), 404),
        ("blog_api", rest_event("GET", "/api/posts/{slug}", path_parameters={"slug": "hello-world"}), 403),
        ("order_service", rest_event("POST", "/orders", headers={"Idempotency-Key": "ok-1"},
                                     body='{"items": [{"sku": "A", "quantity": 2, "unitPrice": 5}], '
                                          '"currency": "EUR", "amount": 10}',
                                     authorizer={"claims": {"sub": USERS[0]}}), 201),
    ],
    ids=["todo-create", "todo-list", "todo-preflight", "blog-post", "blog-subscribe", "blog-unsubscribe",
         "blog-confirm-unknown", "blog-without-origin-header", "order-create"],
)
def test_the_fuzzed_event_shape_reaches_success_paths(
    handlers: dict[str, ModuleType], api: str, event: dict, expected: int
) -> None:
    """Guards the property against vacuity: the same event shape, sent valid, succeeds."""
    assert answer(handlers[api].handler, event)[0] == expected
