"""Public blog API on moto: published posts (cacheable) and subscriptions (validated, stored once)."""

from __future__ import annotations

import base64
import importlib
import json
import sys
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

import blog_posts
import subscription_tokens as tokens
from api_common import http
from blog_api import posts, subscriptions

REGION = "eu-west-1"
TABLE = "blog"
API_ID = "a1b2c3d4e5"
ORIGIN_HEADER = "X-Origin-Verify"
ORIGIN_SECRET = "cloudfront-only-" + "o" * 32
TOKEN_KEY = "k" * 64


@dataclass
class LambdaContext:
    function_name: str = "blog-api"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:blog-api"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def table(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "publishedFeed", "AttributeType": "S"},
                {"AttributeName": "publishedAt", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": blog_posts.PUBLISHED_INDEX,
                    "KeySchema": [
                        {"AttributeName": "publishedFeed", "KeyType": "HASH"},
                        {"AttributeName": "publishedAt", "KeyType": "RANGE"},
                    ],
                    "Projection": {
                        "ProjectionType": "INCLUDE",
                        "NonKeyAttributes": ["slug", "title", "summary", "tags", "status"],
                    },
                }
            ],
        )
        secrets = boto3.client("secretsmanager")
        for name, value in (("origin", ORIGIN_SECRET), ("token-key", TOKEN_KEY)):
            monkeypatch.setenv(f"_ARN_{name}", secrets.create_secret(Name=f"blog-{name}", SecretString=value)["ARN"])
        yield boto3.resource("dynamodb").Table(TABLE)


def load_handler(monkeypatch, **env: str):
    import os

    settings = {
        "TABLE_NAME": TABLE,
        "ORIGIN_HEADER_NAME": ORIGIN_HEADER,
        "ORIGIN_SECRET_ARN": os.environ["_ARN_origin"],
        "TOKEN_SECRET_ARN": os.environ["_ARN_token-key"],
        "POSTS_MAX_AGE": "60",
        "CORS_ALLOW_ORIGIN": "",
        "POWERTOOLS_SERVICE_NAME": "blog-api",
        **env,
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    if "blog_api.handler" in sys.modules:
        return importlib.reload(sys.modules["blog_api.handler"])
    return importlib.import_module("blog_api.handler")


@pytest.fixture
def api(table, monkeypatch):
    return load_handler(monkeypatch)


def rest_event(
    method: str,
    path: str,
    resource: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: str | None = None,
    headers: dict[str, str | None] | None = None,
    is_base64_encoded: bool = False,
) -> dict[str, Any]:
    """A REST API (v1) Lambda proxy event as CloudFront's /api/* behaviour delivers it (public: no authorizer)."""
    all_headers = {
        "Accept": "application/json",
        "Accept-Encoding": "gzip",
        "CloudFront-Forwarded-Proto": "https",
        "CloudFront-Viewer-Country": "DE",
        "Host": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
        "User-Agent": "Amazon CloudFront",
        "Via": "2.0 7c5f3e2f1b0a4f2e9d1c2b3a4f5e6d7c.cloudfront.net (CloudFront)",
        "X-Amz-Cf-Id": "kHqAc3pUFfWl5Iq8DrJ0aG5mJ0nS2lEuYyQb9bq8CkPpu9fS8l3kIA==",
        "X-Amzn-Trace-Id": "Root=1-66335f3c-3b0a7c2e5d6f4a1b2c3d4e5f",
        "X-Forwarded-For": "203.0.113.10, 130.176.1.1",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        # CloudFront's origin custom header: only the distribution knows it.
        ORIGIN_HEADER: ORIGIN_SECRET,
        **(headers or {}),
    }
    all_headers = {name: value for name, value in all_headers.items() if value is not None}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "k3x9q2",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": "XyZ1aGhjoAMFkQA=",
            "requestTime": "02/May/2024:09:15:24 +0000",
            "path": f"/prod{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": API_ID,
            "requestTimeEpoch": 1714641324123,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": "130.176.1.1",
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": "Amazon CloudFront",
                "user": None,
            },
            "domainName": f"{API_ID}.execute-api.{REGION}.amazonaws.com",
            "apiId": API_ID,
        },
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    }


def list_event(query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    return rest_event("GET", "/api/posts", "/api/posts", query=query, headers=headers)


def get_event(slug: str) -> dict[str, Any]:
    return rest_event("GET", f"/api/posts/{slug}", "/api/posts/{slug}", path_parameters={"slug": slug})


def subscribe_event(
    body: Any = None,
    *,
    raw: str | None = None,
    content_type: str | None = "application/json",
    is_base64_encoded: bool = False,
) -> dict[str, Any]:
    headers = {"Content-Type": content_type} if content_type else {}
    payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
    return rest_event(
        "POST",
        "/api/subscribe",
        "/api/subscribe",
        body=payload,
        headers=headers,
        is_base64_encoded=is_base64_encoded,
    )


def call(api, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    response = api.handler(event, LambdaContext())
    # REST (v1) proxy responses carry headers as multiValueHeaders.
    headers = {name: ", ".join(values) for name, values in response["multiValueHeaders"].items()}
    return response["statusCode"], headers, json.loads(response["body"])


def put_post(table, slug: str, published_at: str, status: str = blog_posts.PUBLISHED, **extra: Any) -> None:
    table.put_item(
        Item={
            **blog_posts.post_item(
                slug=slug,
                title=slug.replace("-", " ").title(),
                summary=f"Summary of {slug}",
                body=f"<p>Body of {slug}</p>",
                published_at=published_at,
                status=status,
                tags=["aws"],
            ),
            **extra,
        }
    )


def subscriber_items(table) -> list[dict[str, Any]]:
    return [item for item in table.scan()["Items"] if item["pk"].startswith("SUBSCRIBER#")]


# --- GET /api/posts ---------------------------------------------------------


def test_list_returns_published_posts_only_newest_first(api, table):
    put_post(table, "older-post", "2024-04-01T09:00:00Z")
    put_post(table, "newer-post", "2024-05-01T09:00:00Z")
    put_post(table, "unfinished-draft", "2024-05-02T09:00:00Z", status=blog_posts.DRAFT)

    status, _, body = call(api, list_event())

    assert status == 200
    assert [post["slug"] for post in body["posts"]] == ["newer-post", "older-post"]
    assert body["nextCursor"] is None


def test_list_shows_summaries_without_internal_attributes(api, table):
    put_post(table, "hello-world", "2024-05-01T09:00:00Z")

    _, _, body = call(api, list_event())

    assert body["posts"] == [
        {
            "slug": "hello-world",
            "title": "Hello World",
            "summary": "Summary of hello-world",
            "publishedAt": "2024-05-01T09:00:00Z",
            "tags": ["aws"],
        }
    ]


def test_list_skips_a_draft_that_still_carries_the_feed_marker(api, table):
    put_post(table, "live-post", "2024-05-01T09:00:00Z")
    put_post(table, "pulled-post", "2024-05-02T09:00:00Z", status=blog_posts.DRAFT,
             publishedFeed=blog_posts.PUBLISHED_FEED)

    _, _, body = call(api, list_event())

    assert [post["slug"] for post in body["posts"]] == ["live-post"]


def test_list_is_cacheable_for_the_default_sixty_seconds(api, table):
    _, headers, _ = call(api, list_event())

    assert headers["Cache-Control"] == "public, max-age=60"


def test_posts_max_age_sets_the_cache_lifetime(table, monkeypatch):
    api = load_handler(monkeypatch, POSTS_MAX_AGE="300")
    put_post(table, "hello-world", "2024-05-01T09:00:00Z")

    _, list_headers, _ = call(api, list_event())
    _, get_headers, _ = call(api, get_event("hello-world"))

    assert list_headers["Cache-Control"] == "public, max-age=300"
    assert get_headers["Cache-Control"] == "public, max-age=300"


@pytest.mark.parametrize("max_age", ["-1", "sixty", "1.5", "86401"])
def test_invalid_posts_max_age_fails_at_cold_start(table, monkeypatch, max_age):
    with pytest.raises(ValueError, match="POSTS_MAX_AGE"):
        load_handler(monkeypatch, POSTS_MAX_AGE=max_age)


def test_list_pages_through_posts_with_limit_and_cursor(api, table):
    for day in range(1, 6):
        put_post(table, f"post-{day}", f"2024-05-0{day}T09:00:00Z")

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, _, body = call(api, list_event(query))
        assert status == 200
        assert len(body["posts"]) <= 2
        seen += [post["slug"] for post in body["posts"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert seen == ["post-5", "post-4", "post-3", "post-2", "post-1"]


def test_list_ignores_query_strings_outside_the_cache_key(api, table):
    put_post(table, "hello-world", "2024-05-01T09:00:00Z")

    plain = call(api, list_event())
    tracked = call(api, list_event({"utm_source": "newsletter", "tag": "aws"}))

    assert tracked == plain


def test_list_rejects_a_limit_outside_1_to_50(api, table):
    status, headers, body = call(api, list_event({"limit": "51"}))

    assert status == 400
    assert body == {"message": "limit must be an integer from 1 to 50"}
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("limit", ["0", "51", "-1", "ten", "1e1", "", " 5", "٣"])
def test_limit_parser_refuses_anything_but_1_to_50(limit):
    with pytest.raises(posts.PostQueryError, match="limit must be an integer from 1 to 50"):
        posts.parse_limit(limit)


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


GOOD_CURSOR_KEY = {
    "pk": "POST#hello-world",
    "sk": "POST",
    "publishedFeed": "POSTS",
    "publishedAt": "2024-05-01T09:00:00Z",
}


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 !",
        "x" * 513,
        _cursor(["not", "an", "object"]),
        _cursor({**GOOD_CURSOR_KEY, "extra": "key"}),
        _cursor({k: v for k, v in GOOD_CURSOR_KEY.items() if k != "sk"}),
        _cursor({**GOOD_CURSOR_KEY, "pk": "SUBSCRIBER#ada@example.com"}),
        _cursor({**GOOD_CURSOR_KEY, "publishedFeed": "DRAFTS"}),
        _cursor({**GOOD_CURSOR_KEY, "sk": "PROFILE"}),
        _cursor({**GOOD_CURSOR_KEY, "publishedAt": 1714640400}),
    ],
)
def test_cursor_decoder_refuses_a_cursor_it_did_not_issue(cursor):
    with pytest.raises(posts.PostQueryError, match="cursor is invalid"):
        posts.decode_cursor(cursor)


def test_list_rejects_a_forged_cursor(api, table):
    forged = _cursor({**GOOD_CURSOR_KEY, "pk": "SUBSCRIBER#ada@example.com"})

    status, headers, body = call(api, list_event({"cursor": forged}))

    assert status == 400
    assert body == {"message": "cursor is invalid"}
    assert headers["Cache-Control"] == "no-store"


def test_issued_cursor_round_trips():
    key = {name: {"S": value} for name, value in GOOD_CURSOR_KEY.items()}

    assert posts.decode_cursor(posts.encode_cursor(key)) == key


# --- GET /api/posts/{slug} --------------------------------------------------


def test_get_returns_the_published_post_with_its_body(api, table):
    put_post(table, "hello-world", "2024-05-01T09:00:00Z")

    status, headers, body = call(api, get_event("hello-world"))

    assert status == 200
    assert body == {
        "slug": "hello-world",
        "title": "Hello World",
        "summary": "Summary of hello-world",
        "publishedAt": "2024-05-01T09:00:00Z",
        "tags": ["aws"],
        "body": "<p>Body of hello-world</p>",
    }
    assert headers["Cache-Control"] == "public, max-age=60"


def test_get_draft_returns_404(api, table):
    put_post(table, "secret-draft", "2024-05-01T09:00:00Z", status=blog_posts.DRAFT)

    status, headers, body = call(api, get_event("secret-draft"))

    assert status == 404
    assert body == {"message": "post not found"}
    assert headers["Cache-Control"] == "no-store"


def test_get_missing_slug_returns_404(api, table):
    status, _, body = call(api, get_event("no-such-post"))

    assert status == 404
    assert body == {"message": "post not found"}


@pytest.mark.parametrize("slug", ["Hello-World", "hello_world", "-hello", "hello--world", "a" * 101])
def test_get_malformed_slug_returns_400(api, table, slug):
    status, _, body = call(api, get_event(slug))

    assert status == 400
    assert body == {"message": "slug must be lower-case letters, digits and single hyphens"}


# --- POST /api/subscribe ----------------------------------------------------


def test_subscribe_stores_a_pending_subscriber_with_its_origin_region(api, table):
    status, headers, body = call(api, subscribe_event({"email": "  Ada.Lovelace@Example.COM ", "name": " Ada "}))

    assert status == 202
    assert body == {"message": "Thanks! Please check your inbox for a link to confirm your subscription."}
    assert headers["Cache-Control"] == "no-store"
    [item] = subscriber_items(table)
    assert item["pk"] == "SUBSCRIBER#ada.lovelace@example.com"
    assert item["sk"] == "PROFILE"
    assert item["type"] == "subscriber"
    assert item["email"] == "ada.lovelace@example.com"
    assert item["name"] == "Ada"
    assert item["status"] == "pending"
    assert item["originRegion"] == REGION
    assert item["subscribedAt"].endswith("Z") and item["subscribedAt"].startswith("20")


def test_subscribe_without_name_stores_no_name(api, table):
    status, _, _ = call(api, subscribe_event({"email": "grace@example.com"}))

    assert status == 202
    [item] = subscriber_items(table)
    assert "name" not in item


def test_subscribing_twice_keeps_the_first_subscriber_and_answers_the_same(api, table):
    first = call(api, subscribe_event({"email": "ada@example.com", "name": "Ada"}))
    [stored] = subscriber_items(table)

    second = call(api, subscribe_event({"email": "ADA@example.com", "name": "Someone Else"}))

    assert second == first
    assert subscriber_items(table) == [stored]


def test_a_pending_subscription_whose_link_expired_may_be_asked_for_again(api, table):
    call(api, subscribe_event({"email": "ada@example.com"}))
    stale = "2020-01-01T00:00:00.000Z"
    table.update_item(Key={"pk": "SUBSCRIBER#ada@example.com", "sk": "PROFILE"},
                      UpdateExpression="SET subscribedAt = :old", ExpressionAttributeValues={":old": stale})

    status, _, _ = call(api, subscribe_event({"email": "ada@example.com"}))

    assert status == 202
    [item] = subscriber_items(table)
    assert item["status"] == "pending" and item["subscribedAt"] > stale


def test_subscribing_a_confirmed_address_again_changes_nothing(api, table):
    call(api, subscribe_event({"email": "ada@example.com"}))
    assert call(api, confirm_event(link_token(tokens.CONFIRM, "ada@example.com")))[0] == 200
    [confirmed] = subscriber_items(table)
    table.update_item(Key={"pk": "SUBSCRIBER#ada@example.com", "sk": "PROFILE"},
                      UpdateExpression="SET subscribedAt = :old", ExpressionAttributeValues={":old": "2020-01-01"})
    [confirmed] = subscriber_items(table)

    status, _, _ = call(api, subscribe_event({"email": "ada@example.com"}))

    assert status == 202
    assert subscriber_items(table) == [confirmed]


# --- signed links: confirm and unsubscribe ------------------------------------


def link_token(action: str, email: str, *, expires_at: int | None = None, key: str = TOKEN_KEY) -> str:
    if expires_at is None:
        expires_at = 0 if action == tokens.UNSUBSCRIBE else int(__import__("time").time()) + 3600
    return tokens.sign(key.encode(), action, email, expires_at=expires_at)


def confirm_event(token: str | None, **kwargs: Any) -> dict[str, Any]:
    query = None if token is None else {"token": token}
    return rest_event("GET", "/api/subscriptions/confirm", "/api/subscriptions/confirm", query=query, **kwargs)


def unsubscribe_event(token: str | None) -> dict[str, Any]:
    query = None if token is None else {"token": token}
    return rest_event("GET", "/api/subscriptions/unsubscribe", "/api/subscriptions/unsubscribe", query=query)


def test_confirm_makes_the_pending_subscriber_confirmed(api, table):
    call(api, subscribe_event({"email": "ada@example.com", "name": "Ada"}))

    status, headers, body = call(api, confirm_event(link_token(tokens.CONFIRM, "ada@example.com")))

    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert "confirmed" in body["message"]
    [item] = subscriber_items(table)
    assert item["status"] == "confirmed"
    assert item["confirmedAt"].endswith("Z") and item["originRegion"] == REGION


def test_confirming_twice_is_harmless(api, table):
    call(api, subscribe_event({"email": "ada@example.com"}))
    call(api, confirm_event(link_token(tokens.CONFIRM, "ada@example.com")))
    [first] = subscriber_items(table)

    status, _, body = call(api, confirm_event(link_token(tokens.CONFIRM, "ada@example.com")))

    assert status == 200 and body == {"message": "Your subscription was already confirmed."}
    assert subscriber_items(table) == [first]


def test_confirm_of_an_address_never_subscribed_is_a_404(api, table):
    status, _, body = call(api, confirm_event(link_token(tokens.CONFIRM, "nobody@example.com")))

    assert status == 404 and body["reason"] == "subscription_not_found"
    assert subscriber_items(table) == []


def test_expired_confirmation_link_is_refused_with_410(api, table):
    call(api, subscribe_event({"email": "ada@example.com"}))

    status, headers, body = call(api, confirm_event(link_token(tokens.CONFIRM, "ada@example.com", expires_at=1)))

    assert status == 410 and body["reason"] == "token_expired"
    assert headers["Content-Type"] == "application/json"
    assert subscriber_items(table)[0]["status"] == "pending"


@pytest.mark.parametrize("token", [
    None, "", "not-a-token", "a.b.c", "x" * 700,
    link_token(tokens.CONFIRM, "ada@example.com", key="f" * 64),  # signed with another key
    link_token(tokens.UNSUBSCRIBE, "ada@example.com"),  # the wrong action
    link_token(tokens.CONFIRM, "ada@example.com")[:-2] + "AA",  # tampered signature
], ids=["missing", "empty", "garbage", "three-parts", "huge", "forged-key", "unsubscribe-token", "tampered"])
def test_forged_or_malformed_confirmation_link_is_refused_with_400(api, table, token):
    call(api, subscribe_event({"email": "ada@example.com"}))

    status, _, body = call(api, confirm_event(token))

    assert status == 400 and body["reason"] == "token_invalid"
    assert subscriber_items(table)[0]["status"] == "pending"


def test_a_payload_swapped_into_a_valid_signature_is_refused(api, table):
    mine = link_token(tokens.CONFIRM, "mallory@example.com")
    theirs = link_token(tokens.CONFIRM, "ada@example.com")
    spliced = theirs.split(".")[0] + "." + mine.split(".")[1]

    assert call(api, confirm_event(spliced))[0] == 400


def test_unsubscribe_link_forgets_the_subscriber(api, table):
    call(api, subscribe_event({"email": "ada@example.com"}))
    call(api, confirm_event(link_token(tokens.CONFIRM, "ada@example.com")))

    status, headers, body = call(api, unsubscribe_event(link_token(tokens.UNSUBSCRIBE, "ada@example.com")))

    assert status == 200 and headers["Cache-Control"] == "no-store"
    assert "unsubscribed" in body["message"]
    assert subscriber_items(table) == []
    # Idempotent: the same link again is fine.
    assert call(api, unsubscribe_event(link_token(tokens.UNSUBSCRIBE, "ada@example.com")))[0] == 200


def test_unsubscribe_refuses_a_confirmation_token_or_a_forged_one(api, table):
    call(api, subscribe_event({"email": "ada@example.com"}))

    for token in (link_token(tokens.CONFIRM, "ada@example.com"),
                  link_token(tokens.UNSUBSCRIBE, "ada@example.com", key="e" * 64)):
        status, _, body = call(api, unsubscribe_event(token))
        assert status == 400 and body["reason"] == "token_invalid"
    assert len(subscriber_items(table)) == 1


# --- CloudFront's origin header -----------------------------------------------


@pytest.mark.parametrize("value", [None, "", "wrong", ORIGIN_SECRET[:-1], ORIGIN_SECRET + "x", "é" + ORIGIN_SECRET[1:]],
                         ids=["absent", "empty", "wrong", "prefix", "longer", "non-ascii"])
def test_a_call_without_cloudfronts_origin_header_is_refused_with_403(api, table, value):
    for event in (list_event(headers={ORIGIN_HEADER: value}),
                  rest_event("POST", "/api/subscribe", "/api/subscribe", body='{"email": "a@example.com"}',
                             headers={ORIGIN_HEADER: value, "Content-Type": "application/json"}),
                  confirm_event(link_token(tokens.CONFIRM, "a@example.com"), headers={ORIGIN_HEADER: value})):
        status, headers, body = call(api, event)

        assert status == 403
        assert body == {"message": "forbidden: call this API through the site", "reason": "origin_not_allowed"}
        assert headers["Cache-Control"] == "no-store"
    assert subscriber_items(table) == []


def test_the_origin_header_name_is_case_insensitive(api, table):
    event = list_event(headers={ORIGIN_HEADER: None, ORIGIN_HEADER.lower(): ORIGIN_SECRET})

    assert call(api, event)[0] == 200


def test_the_origin_secret_is_read_once_and_cached(api, table, monkeypatch):
    calls = []
    real = api.client("secretsmanager").get_secret_value
    monkeypatch.setattr(api.client("secretsmanager"), "get_secret_value",
                        lambda **kw: calls.append(kw["SecretId"]) or real(**kw))
    for _ in range(3):
        assert call(api, list_event())[0] == 200

    assert calls.count(api.ORIGIN_SECRET_ARN) <= 1


def test_the_secrets_are_not_in_the_environment(api, table):
    import os

    assert ORIGIN_SECRET not in os.environ.values() and TOKEN_KEY not in os.environ.values()


def test_subscribe_accepts_a_base64_encoded_body(api, table):
    raw = base64.b64encode(json.dumps({"email": "linus@example.com"}).encode()).decode()

    status, _, _ = call(api, subscribe_event(raw=raw, is_base64_encoded=True))

    assert status == 202
    assert [item["email"] for item in subscriber_items(table)] == ["linus@example.com"]


@pytest.mark.parametrize(
    "email",
    [
        "first.last+news@mail.example.co.uk",
        "o'brien@example.ie",
        "x@xn--bcher-kva.example",
        "a" * 64 + "@example.com",
        "user@" + "d" * 63 + "." + "e" * 63 + "." + "f" * 63 + "." + "g" * 47 + ".com",
    ],
)
def test_email_check_accepts_plausible_addresses(email):
    assert len(email) <= 254

    assert subscriptions.normalise_email(email) == email


@pytest.mark.parametrize("name", ["Z", "Zoë Ångström", "李小龙", "x" * 100])
def test_subscribe_accepts_names_of_1_to_100_characters(api, table, name):
    status, _, _ = call(api, subscribe_event({"email": "reader@example.com", "name": name}))

    assert status == 202
    assert subscriber_items(table)[0]["name"] == name


REJECTIONS = [
    # (event kwargs, status, message, reason code or None)
    pytest.param({"body": {"email": "a@example.com"}, "content_type": None}, 415, "Content-Type must be application/json", "unsupported_media_type", id="no-content-type"),
    pytest.param({"body": {"email": "a@example.com"}, "content_type": "text/plain"}, 415, "Content-Type must be application/json", "unsupported_media_type", id="text-plain"),
    pytest.param({"body": {"email": "a@example.com"}, "content_type": "application/x-www-form-urlencoded"}, 415, "Content-Type must be application/json", "unsupported_media_type", id="form"),
    pytest.param({"raw": ""}, 400, "request body is required", "body_required", id="empty-body"),
    pytest.param({"body": None}, 400, "request body is required", "body_required", id="no-body"),
    pytest.param({"body": {"email": "a@example.com", "name": "x" * 100, "pad": "y" * 2000}}, 413, "request body is larger than 2048 bytes", "body_too_large", id="oversized"),
    pytest.param({"raw": '{"email": "a@example.com"'}, 400, "request body is not valid JSON", "body_not_json", id="broken-json"),
    pytest.param({"raw": '["a@example.com"]'}, 400, "request body must be a JSON object", "body_not_object", id="json-array"),
    pytest.param({"raw": '"a@example.com"'}, 400, "request body must be a JSON object", "body_not_object", id="json-string"),
    pytest.param({"raw": "[" * 2000}, 400, "request body nests more than 32 levels deep", "body_too_deep", id="deeply-nested"),
    pytest.param({"raw": base64.b64encode(b'{"email": "\xff@example.com"}').decode(), "is_base64_encoded": True}, 400, "request body is not valid UTF-8", "body_not_utf8", id="base64-not-utf8"),
    pytest.param({"raw": "bm90IGpzb24=", "is_base64_encoded": True}, 400, "request body is not valid JSON", "body_not_json", id="base64-not-json"),
    pytest.param({"raw": "%%%not-base64%%%", "is_base64_encoded": True}, 400, "request body is not valid base64", "body_not_base64", id="bad-base64"),
    pytest.param({"body": {"email": "a@example.com", "admin": True}}, 400, "unknown field(s): admin", None, id="unknown-field"),
    pytest.param({"body": {"email": "a@example.com", "pk": "x", "type": "post"}}, 400, "unknown field(s): pk, type", None, id="unknown-fields"),
    pytest.param({"raw": '{"email": "a@example.com", "email": "b@example.com"}'}, 400, "duplicate field: email", "body_duplicate_field", id="duplicate-field"),
    pytest.param({"body": {"name": "Ada"}}, 400, "email is required", None, id="no-email"),
    pytest.param({"body": {"email": "   "}}, 400, "email is required", None, id="blank-email"),
    pytest.param({"body": {"email": 42}}, 400, "email must be a string", None, id="email-number"),
    pytest.param({"body": {"email": ["a@example.com"]}}, 400, "email must be a string", None, id="email-list"),
    pytest.param({"body": {"email": None}}, 400, "email must be a string", None, id="email-null"),
    pytest.param({"body": {"email": "a" * 243 + "@example.com"}}, 400, "email must be at most 254 characters", None, id="email-too-long"),
    pytest.param({"body": {"email": "a" * 65 + "@example.com"}}, 400, "email is not a valid address", None, id="local-part-too-long"),
    pytest.param({"body": {"name": 7, "email": "a@example.com"}}, 400, "name must be a string", None, id="name-number"),
    pytest.param({"body": {"name": None, "email": "a@example.com"}}, 400, "name must be a string", None, id="name-null"),
    pytest.param({"body": {"name": "", "email": "a@example.com"}}, 400, "name must be 1 to 100 characters", None, id="name-empty"),
    pytest.param({"body": {"name": "   ", "email": "a@example.com"}}, 400, "name must be 1 to 100 characters", None, id="name-blank"),
    pytest.param({"body": {"name": "x" * 101, "email": "a@example.com"}}, 400, "name must be 1 to 100 characters", None, id="name-too-long"),
    pytest.param({"body": {"name": "Ada\nBcc: x@evil.example", "email": "a@example.com"}}, 400, "name contains characters that are not allowed", None, id="name-newline"),
    pytest.param({"body": {"name": "Ada\u0000", "email": "a@example.com"}}, 400, "name contains characters that are not allowed", None, id="name-nul"),
    pytest.param({"body": {"name": "Ada\u202egnp.exe", "email": "a@example.com"}}, 400, "name contains characters that are not allowed", None, id="name-bidi-override"),
    pytest.param({"body": {"name": "A\u200bda", "email": "a@example.com"}}, 400, "name contains characters that are not allowed", None, id="name-zero-width"),
]


@pytest.mark.parametrize(("kwargs", "status", "message", "reason"), REJECTIONS)
def test_subscribe_rejects_bad_input_and_stores_nothing(api, table, kwargs, status, message, reason):
    got_status, headers, body = call(api, subscribe_event(**kwargs))

    assert (got_status, body) == (status, {"message": message, **({"reason": reason} if reason else {})})
    assert headers["Cache-Control"] == "no-store"
    assert subscriber_items(table) == []


@pytest.mark.parametrize(
    "email",
    [
        "plainaddress",
        "@example.com",
        "ada@",
        "ada@example",
        "ada@@example.com",
        "ada@b@example.com",
        "ada..lovelace@example.com",
        ".ada@example.com",
        "ada.@example.com",
        "ada lovelace@example.com",
        "ada@exa mple.com",
        "ada@exa_mple.com",
        "ada@-example.com",
        "ada@example-.com",
        "ada@example..com",
        "ada@example.c",
        "ada@example.123",
        '"ada"@example.com',
        "ada@[192.0.2.1]",
        "(comment)ada@example.com",
        "Ada <ada@example.com>",
        "ada@example.com, bob@example.com",
        "ada@exa\nmple.com",
        "ädä@example.com",
        "ada@bücher.example",
        "\u212aelvin@example.com",  # KELVIN SIGN lower-cases to an ASCII "k"
        "ada@" + "x" * 64 + ".com",
    ],
)
def test_email_check_refuses_malformed_addresses(email):
    with pytest.raises(subscriptions.SubscriptionError, match="email is not a valid address"):
        subscriptions.normalise_email(email)


def test_subscribe_rejects_a_malformed_address_and_stores_nothing(api, table):
    status, headers, body = call(api, subscribe_event({"email": "ada..lovelace@example.com"}))

    assert status == 400
    assert body == {"message": "email is not a valid address"}
    assert headers["Cache-Control"] == "no-store"
    assert subscriber_items(table) == []


# --- routing, failures, CORS ------------------------------------------------


def test_unknown_route_returns_404_json(api, table):
    status, headers, body = call(api, rest_event("GET", "/api/admin", "/api/{proxy+}"))

    assert status == 404
    assert body == {"message": "not found", "reason": "not_found"}
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "resource", "allowed"),
    [("POST", "/api/posts", "/api/posts", "GET"), ("GET", "/api/subscribe", "/api/subscribe", "POST"),
     ("DELETE", "/api/posts/hello-world", "/api/posts/{slug}", "GET")],
)
def test_wrong_method_returns_405_json_with_allow(api, table, method, path, resource, allowed):
    status, headers, body = call(api, rest_event(method, path, resource))

    assert status == 405
    assert body["reason"] == "method_not_allowed"
    assert headers["Allow"] == allowed
    assert headers["Cache-Control"] == "no-store"


def test_unexpected_failure_returns_json_500_without_internals(api, table, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(api.posts, "get_published_post", broken)

    status, headers, body = call(api, get_event("hello-world"))

    assert (status, body) == (500, {"message": "internal server error", "reason": "internal_error"})
    assert headers["Cache-Control"] == "no-store"


def test_table_failure_returns_503_not_a_crash(table, monkeypatch):
    api = load_handler(monkeypatch, TABLE_NAME="no-such-table")

    status, headers, body = call(api, subscribe_event({"email": "ada@example.com"}))

    assert status == 503
    assert body == {"message": "service temporarily unavailable, please retry", "reason": "service_unavailable"}
    assert headers["Cache-Control"] == "no-store"


def test_no_cors_headers_when_no_origin_is_configured(api, table):
    _, headers, _ = call(api, list_event(headers={"Origin": "https://evil.example"}))

    assert "Access-Control-Allow-Origin" not in headers


def test_cors_headers_for_the_configured_origin_only(table, monkeypatch):
    api = load_handler(monkeypatch, CORS_ALLOW_ORIGIN="http://localhost:8000")
    _, allowed_headers, _ = call(api, list_event(headers={"Origin": "http://localhost:8000"}))
    _, other_headers, _ = call(api, list_event(headers={"Origin": "https://evil.example"}))

    assert allowed_headers["Access-Control-Allow-Origin"] == "http://localhost:8000"
    assert "Access-Control-Allow-Origin" not in other_headers


# --- domain functions without AWS -------------------------------------------


def test_post_item_marks_only_published_posts_for_the_listing_index():
    published = blog_posts.post_item(slug="a", title="A", summary="", body="", published_at="2024-01-01T00:00:00Z")
    draft = blog_posts.post_item(
        slug="b", title="B", summary="", body="", published_at="2024-01-01T00:00:00Z", status=blog_posts.DRAFT
    )

    assert published["publishedFeed"] == blog_posts.PUBLISHED_FEED
    assert "publishedFeed" not in draft


@pytest.mark.parametrize(("slug", "status"), [("Bad Slug", blog_posts.PUBLISHED), ("ok", "archived")])
def test_post_item_refuses_bad_slug_or_status(slug, status):
    with pytest.raises(ValueError):
        blog_posts.post_item(slug=slug, title="t", summary="", body="", published_at="2024-01-01T00:00:00Z", status=status)


def test_subscriber_item_records_the_writer_region():
    item = subscriptions.subscriber_item(
        subscriptions.Subscription(email="ada@example.com", name=None),
        subscribed_at="2024-05-02T09:00:00.000Z",
        origin_region="us-east-1",
    )

    assert item["originRegion"] == {"S": "us-east-1"}
    assert item["pk"] == {"S": "SUBSCRIBER#ada@example.com"}


json_fields = st.dictionaries(
    st.sampled_from(["email", "name", "other"]),
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=300), st.emails()),
    max_size=3,
)


@given(
    body=st.one_of(st.none(), st.text(max_size=3000), json_fields.map(json.dumps)),
    is_base64_encoded=st.booleans(),
    content_type=st.sampled_from([None, "application/json", "application/json; charset=utf-8", "text/plain"]),
)
def test_any_subscribe_request_is_accepted_or_refused_with_a_4xx(body, is_base64_encoded, content_type):
    try:
        http.check_json_content_type(content_type)
        fields = http.parse_json_object(
            body, is_base64_encoded=is_base64_encoded, max_bytes=subscriptions.MAX_BODY_BYTES
        )
        subscription = subscriptions.validate_subscription(fields)
    except http.ApiError as error:
        assert 400 <= error.status_code < 500
    else:
        assert subscription.email == subscription.email.lower()
        assert subscriptions.normalise_email(subscription.email) == subscription.email


@given(st.text(max_size=700))
def test_any_cursor_is_decoded_or_refused_with_a_4xx(cursor):
    try:
        posts.decode_cursor(cursor)
    except posts.PostQueryError:
        pass


@given(st.one_of(st.none(), st.text(max_size=10)))
def test_any_limit_is_parsed_or_refused_with_a_4xx(raw):
    try:
        assert 1 <= posts.parse_limit(raw) <= posts.MAX_LIMIT
    except posts.PostQueryError:
        pass
