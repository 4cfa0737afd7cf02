"""MyTodoList REST API on moto, driven with real API Gateway REST proxy events (Cognito authorizer claims).

moto 5.2.5 stores whatever a browser-form POST sends: it checks neither the POST policy's signature
nor its conditions (key, Content-Type, content-length-range, expiry), in-process or as moto.server.
So uploads here go through `S3PostPolicy`, which applies S3's documented POST-policy rules (signature
over the policy, every condition, every form field covered) before handing the form to moto.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import importlib
import json
import os
import sys
import time
import types
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto import mock_aws

from api_common.http import ApiError, IdempotencyKeyInProgress
from todo_api import files, todos
from todo_api.settings import SettingsError, load_settings
from todo_api.todo_store import TodoStore

REGION = "eu-west-1"
TABLE = "todos-test"
BUCKET = "todo-files-test"
UPLOAD_MAX_BYTES = 1024
ALICE = "3f0c6a1e-7d6b-4c1a-9a55-0d6a1b2c3d4e"
BOB = "b7e2d9f0-1a2b-4c3d-8e9f-a0b1c2d3e4f5"
SOME_TODO_ID = "0b9d4c1e-2f3a-4b5c-8d6e-7f8091a2b3c4"  # fixed, so parametrised test ids are stable (xdist)
DAX_URL = "daxs://todo-dax.abc123.dax-clusters.eu-west-1.amazonaws.com"

# ---------------------------------------------------------------- events and harness


def claims_for(sub: str) -> dict[str, str]:
    # What a COGNITO_USER_POOLS authorizer puts in requestContext for an ID token (all values strings).
    return {
        "sub": sub,
        "email_verified": "true",
        "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_AbCdEfGhI",
        "cognito:username": sub,
        "origin_jti": str(uuid.uuid4()),
        "aud": "4k1s2m3n4o5p6q7r8s9t0u1v2w",
        "event_id": str(uuid.uuid4()),
        "token_use": "id",
        "auth_time": "1763820000",
        "exp": "Sat Nov 22 17:00:00 UTC 2026",
        "iat": "Sat Nov 22 16:00:00 UTC 2026",
        "jti": str(uuid.uuid4()),
        "email": f"{sub[:8]}@example.com",
    }


def rest_event(
    method: str,
    path: str,
    *,
    authorizer: dict | None,
    body: str | None = None,
    query: dict[str, str] | None = None,
    is_base64: bool = False,
    origin: str = "https://app.example.com",
    extra_headers: dict[str, str] | None = None,
) -> dict:
    if path.startswith("/todos/"):
        resource, path_params = "/todos/{todoId}", {"todoId": path[len("/todos/"):]}
    else:
        resource, path_params = path, None
    headers = {
        "Accept": "application/json",
        "X-Id-Token": "eyJraWQiOi...redacted",  # the Cognito authorizer reads the ID token from here
        "Content-Type": "application/json",
        "Host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        "Origin": origin,
        "User-Agent": "MyTodoList/1.0 (iOS)",
        "X-Amzn-Trace-Id": "Root=1-6741a1b2-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **(extra_headers or {}),
    }
    request_context = {
        "resourceId": "abc123",
        "resourcePath": resource,
        "httpMethod": method,
        "extendedRequestId": "Bq1ZsFZ2DoEFtKw=",
        "requestTime": "22/Nov/2026:16:05:00 +0000",
        "path": f"/prod{path}",
        "accountId": "123456789012",
        "protocol": "HTTP/1.1",
        "stage": "prod",
        "domainPrefix": "a1b2c3d4e5",
        "requestTimeEpoch": 1763827500000,
        "requestId": str(uuid.uuid4()),
        "identity": {"sourceIp": "203.0.113.10", "userAgent": "MyTodoList/1.0 (iOS)"},
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
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


class LambdaContext:
    function_name = "todo-api"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:todo-api"
    memory_limit_in_mb = 512
    aws_request_id = "6f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f"
    log_group_name = "/aws/lambda/todo-api"
    log_stream_name = "2026/11/22/[$LATEST]0123456789abcdef"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


class Reply(SimpleNamespace):
    status: int
    json: dict | None
    headers: dict[str, str]


class Api:
    """Calls the Lambda handler the way API Gateway does, as a given user."""

    def __init__(self, module: types.ModuleType) -> None:
        self.module = module

    def call(
        self,
        method: str,
        path: str,
        *,
        user: str | None = ALICE,
        json_body: object = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
        authorizer: dict | None = None,
        is_base64: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if raw_body is None and json_body is not None:
            raw_body = json.dumps(json_body)
        if authorizer is None and user is not None:
            authorizer = {"claims": claims_for(user)}
        event = rest_event(
            method, path, authorizer=authorizer, body=raw_body, query=query, is_base64=is_base64, extra_headers=headers
        )
        result = self.module.handler(event, LambdaContext())
        headers = {k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()}
        headers.update(result.get("headers") or {})
        body = result.get("body")
        return Reply(status=result["statusCode"], json=json.loads(body) if body else None, headers=headers)

    def create(self, title: str = "Buy milk", user: str = ALICE, **fields: object) -> dict:
        reply = self.call("POST", "/todos", user=user, json_body={"title": title, **fields})
        assert reply.status == 201, reply.json
        return reply.json


def load_handler(monkeypatch: pytest.MonkeyPatch, **env: str | None) -> types.ModuleType:
    settings = {
        "TABLE_NAME": TABLE,
        "BUCKET_NAME": BUCKET,
        "UPLOAD_MAX_BYTES": str(UPLOAD_MAX_BYTES),
        "POWERTOOLS_SERVICE_NAME": "todo-api",
        "DAX_ENDPOINT": None,
        **env,
    }
    for name, value in settings.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    sys.modules.pop("todo_api.handler", None)
    return importlib.import_module("todo_api.handler")


@functools.cache
def fixture_clients() -> tuple:
    # Made once: client creation dominates setup time, and moto intercepts any client made after it was imported.
    return boto3.client("dynamodb", region_name=REGION), boto3.client("s3", region_name=REGION)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch):
    # The same kind of credentials a Lambda gets: temporary, with a session token.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIATESTINGTESTING00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing-session-token")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        ddb, s3 = fixture_clients()
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "userId", "KeyType": "HASH"},
                {"AttributeName": "todoId", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "userId", "AttributeType": "S"},
                {"AttributeName": "todoId", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield SimpleNamespace(ddb=ddb, s3=s3)


@pytest.fixture
def api(aws, monkeypatch: pytest.MonkeyPatch) -> Api:
    return Api(load_handler(monkeypatch))


def stored_keys(s3) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


# ---------------------------------------------------------------- S3 POST policy, as S3 applies it


class S3PostPolicy:
    """S3's checks on a browser-based POST upload (SigV4), which moto skips.

    Rules from the S3 docs "Creating a POST policy" / "Authenticating requests in browser-based uploads":
    the signature is HMAC-SHA256 of the base64 policy under the SigV4 signing key; the policy must not
    have expired; every condition must hold; every form field other than policy, x-amz-signature, file
    and x-ignore-* must be covered by a condition.
    """

    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key

    def refusal(self, bucket: str, fields: dict[str, str], size: int, now: datetime | None = None) -> str | None:
        now = now or datetime.now(timezone.utc)
        form = {name.lower(): value for name, value in fields.items()}
        if form.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
            return "InvalidRequest: only AWS4-HMAC-SHA256 is accepted"
        access_key, date, region, service, terminator = form["x-amz-credential"].split("/")
        key = self._signing_key(date, region, service)
        expected = hmac.new(key, form["policy"].encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, form.get("x-amz-signature", "")):
            return "SignatureDoesNotMatch"
        policy = json.loads(base64.b64decode(form["policy"]))
        expiration = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        if now > expiration:
            return "AccessDenied: Invalid according to Policy: Policy expired."
        values = {**form, "bucket": bucket}
        covered = set()
        for condition in policy["conditions"]:
            if isinstance(condition, dict):
                ((name, expected_value),) = condition.items()
                op = "eq"
            elif condition[0] == "content-length-range":
                low, high = condition[1], condition[2]
                if size < low:
                    return "EntityTooSmall"
                if size > high:
                    return "EntityTooLarge"
                continue
            else:
                op, name, expected_value = condition
                name = name.lstrip("$")
            name = name.lower()
            covered.add(name)
            actual = values.get(name)
            ok = actual == expected_value if op == "eq" else actual is not None and actual.startswith(expected_value)
            if not ok:
                return f"AccessDenied: Invalid according to Policy: Policy Condition failed: {condition}"
        extra = [
            name
            for name in form
            if name not in covered | {"policy", "x-amz-signature", "file"} and not name.startswith("x-ignore-")
        ]
        if extra:
            return f"AccessDenied: Invalid according to Policy: Extra input fields: {extra}"
        return None

    def _signing_key(self, date: str, region: str, service: str) -> bytes:
        key = ("AWS4" + self.secret_key).encode()
        for part in (date, region, service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return key


def upload(post: dict, content: bytes, *, now: datetime | None = None, **overrides: str) -> tuple[int, str]:
    """Submit the presigned form like a browser/app would; S3's refusals come back as (4xx, reason)."""
    fields = {**post["fields"], **overrides}
    bucket = urlparse(post["url"]).hostname.split(".s3.")[0]
    # mock_aws swaps in its own fake key pair; the URL was signed with whatever is in the environment now.
    refusal = S3PostPolicy(os.environ["AWS_SECRET_ACCESS_KEY"]).refusal(bucket, fields, len(content), now=now)
    if refusal:
        return (400 if refusal.startswith("Entity") else 403), refusal
    response = requests.post(post["url"], data=fields, files={"file": ("upload", content)}, timeout=10)
    return response.status_code, response.text


def upload_url(api: Api, filename: str, content_type: str = "image/png", user: str = ALICE) -> dict:
    body = {"filename": filename, "contentType": content_type}
    reply = api.call("POST", "/files/upload-url", user=user, json_body=body)
    assert reply.status == 200, reply.json
    return reply.json


def signed_policy(post: dict) -> dict:
    return json.loads(base64.b64decode(post["fields"]["policy"]))


def policy_expiration(post: dict) -> datetime:
    return datetime.strptime(signed_policy(post)["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------- CRUD


def test_created_todo_has_server_generated_id_and_timestamps(api: Api) -> None:
    reply = api.call("POST", "/todos", json_body={"title": "  Buy milk  ", "notes": "2 litres"})

    assert reply.status == 201
    todo = reply.json
    assert str(uuid.UUID(todo["todoId"], version=4)) == todo["todoId"]
    assert todo["title"] == "Buy milk"
    assert todo["done"] is False
    assert todo["notes"] == "2 litres"
    assert todo["createdAt"] == todo["updatedAt"]
    assert todo["createdAt"].endswith("Z")
    assert "userId" not in todo


def test_created_todo_can_be_read_back(api: Api) -> None:
    created = api.create("Call mum", done=True)

    reply = api.call("GET", f"/todos/{created['todoId']}")

    assert reply.status == 200
    assert reply.json == created


def test_todo_is_stored_in_the_callers_partition(api: Api, aws) -> None:
    created = api.create()

    item = aws.ddb.get_item(TableName=TABLE, Key={"userId": {"S": ALICE}, "todoId": {"S": created["todoId"]}})

    assert item["Item"]["title"] == {"S": "Buy milk"}


def test_update_changes_only_the_fields_sent(api: Api) -> None:
    created = api.create("Buy milk", notes="2 litres")

    reply = api.call("PUT", f"/todos/{created['todoId']}", json_body={"done": True})

    assert reply.status == 200
    assert reply.json["done"] is True
    assert reply.json["title"] == "Buy milk"
    assert reply.json["notes"] == "2 litres"
    assert reply.json["createdAt"] == created["createdAt"]
    assert reply.json["updatedAt"] >= created["updatedAt"]
    assert api.call("GET", f"/todos/{created['todoId']}").json == reply.json


def test_update_with_null_notes_removes_the_notes(api: Api) -> None:
    created = api.create(notes="old")

    reply = api.call("PUT", f"/todos/{created['todoId']}", json_body={"notes": None, "title": "New"})

    assert reply.status == 200
    assert "notes" not in reply.json
    assert reply.json["title"] == "New"


def test_deleted_todo_is_gone(api: Api) -> None:
    created = api.create()

    deleted = api.call("DELETE", f"/todos/{created['todoId']}")

    assert deleted.status == 204
    assert deleted.json is None
    assert api.call("GET", f"/todos/{created['todoId']}").status == 404
    assert api.call("DELETE", f"/todos/{created['todoId']}").status == 404


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_missing_todo_returns_404(api: Api, method: str) -> None:
    reply = api.call(method, f"/todos/{uuid.uuid4()}", json_body={"done": True} if method == "PUT" else None)

    assert reply.status == 404
    assert reply.json == {"message": "to-do not found"}


def test_update_of_a_missing_todo_does_not_create_it(api: Api, aws) -> None:
    api.call("PUT", f"/todos/{uuid.uuid4()}", json_body={"title": "ghost"})

    assert aws.ddb.scan(TableName=TABLE)["Count"] == 0


# ---------------------------------------------------------------- listing and pagination


def test_list_pages_through_every_todo_exactly_once(api: Api) -> None:
    mine = {api.create(f"todo {i}")["todoId"] for i in range(7)}
    api.create("not mine", user=BOB)

    seen, pages, cursor = [], [], None
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        reply = api.call("GET", "/todos", query=query)
        assert reply.status == 200
        pages.append(len(reply.json["items"]))
        seen += [item["todoId"] for item in reply.json["items"]]
        cursor = reply.json["nextCursor"]
        if cursor is None:
            break

    assert pages == [3, 3, 1]
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == mine


def test_list_returns_25_items_by_default(api: Api) -> None:
    for i in range(26):
        api.create(f"todo {i}")

    reply = api.call("GET", "/todos")

    assert len(reply.json["items"]) == 25
    assert reply.json["nextCursor"]


def test_list_items_have_the_public_shape(api: Api) -> None:
    created = api.create(notes="n")

    reply = api.call("GET", "/todos")

    assert reply.json == {"items": [created], "nextCursor": None}


def test_list_accepts_limit_100(api: Api) -> None:
    assert api.call("GET", "/todos", query={"limit": "100"}).status == 200


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", "1e2", "0x10"])
def test_limit_outside_1_to_100_returns_400(api: Api, limit: str) -> None:
    reply = api.call("GET", "/todos", query={"limit": limit})

    assert reply.status == 400
    assert "limit" in reply.json["message"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!not-base64!!!",
        _b64url(b"not json"),
        _b64url(b"[1,2]"),
        _b64url(json.dumps({"u": ALICE}).encode()),
        _b64url(json.dumps({"u": ALICE, "t": 5}).encode()),
        _b64url(json.dumps({"u": ALICE, "t": "not-a-uuid"}).encode()),
        _b64url(json.dumps({"u": ALICE, "t": SOME_TODO_ID, "x": 1}).encode()),
        "A" * 600,
    ],
    ids=[
        "empty", "not-base64", "not-json", "not-object", "no-todo",
        "todo-not-string", "todo-not-uuid", "extra-key", "too-long",
    ],
)
def test_malformed_cursor_returns_400(api: Api, cursor: str) -> None:
    reply = api.call("GET", "/todos", query={"cursor": cursor})

    assert reply.status == 400
    assert "cursor" in reply.json["message"]


def test_cursor_issued_to_another_user_returns_400(api: Api) -> None:
    for i in range(3):
        api.create(f"bob {i}", user=BOB)
    bobs_cursor = api.call("GET", "/todos", user=BOB, query={"limit": "1"}).json["nextCursor"]

    reply = api.call("GET", "/todos", user=ALICE, query={"cursor": bobs_cursor})

    assert reply.status == 400
    assert reply.json == {"message": "cursor was issued to a different caller"}


# ---------------------------------------------------------------- isolation between users


def test_list_returns_only_the_callers_todos(api: Api) -> None:
    alices = api.create("alice's")
    api.create("bob's", user=BOB)

    assert api.call("GET", "/todos").json["items"] == [alices]


def test_other_users_todo_returns_404_on_get(api: Api) -> None:
    bobs = api.create("bob's", user=BOB)

    reply = api.call("GET", f"/todos/{bobs['todoId']}", user=ALICE)

    assert reply.status == 404
    assert reply.json == {"message": "to-do not found"}


def test_other_users_todo_cannot_be_updated(api: Api) -> None:
    bobs = api.create("bob's", user=BOB)

    reply = api.call("PUT", f"/todos/{bobs['todoId']}", user=ALICE, json_body={"title": "hijacked"})

    assert reply.status == 404
    assert api.call("GET", f"/todos/{bobs['todoId']}", user=BOB).json == bobs


def test_other_users_todo_cannot_be_deleted(api: Api) -> None:
    bobs = api.create("bob's", user=BOB)

    reply = api.call("DELETE", f"/todos/{bobs['todoId']}", user=ALICE)

    assert reply.status == 404
    assert api.call("GET", f"/todos/{bobs['todoId']}", user=BOB).status == 200


@pytest.mark.parametrize("field", ["userId", "todoId", "createdAt", "updatedAt"])
def test_server_owned_fields_in_the_body_are_refused(api: Api, field: str) -> None:
    reply = api.call("POST", "/todos", json_body={"title": "x", field: BOB})

    assert reply.status == 400
    assert field in reply.json["message"]


def test_user_id_in_the_query_string_does_not_change_whose_todos_are_listed(api: Api) -> None:
    api.create("bob's", user=BOB)

    reply = api.call("GET", "/todos", user=ALICE, query={"userId": BOB})

    assert reply.json["items"] == []


# ---------------------------------------------------------------- identity


@pytest.mark.parametrize(
    "authorizer",
    [
        None,
        {},
        {"claims": None},
        {"claims": {"email": "a@example.com"}},
        {"claims": {"sub": ""}},
        {"claims": {"sub": f"{ALICE}/../{BOB}"}},
        {"claims": {"sub": "*"}},
    ],
    ids=["no-authorizer", "empty-authorizer", "null-claims", "no-sub", "empty-sub", "sub-with-slash", "sub-wildcard"],
)
@pytest.mark.parametrize("method,path", [("GET", "/todos"), ("POST", "/files/upload-url")])
def test_request_without_a_valid_sub_claim_returns_401(api: Api, authorizer, method: str, path: str) -> None:
    reply = api.call(method, path, user=None, authorizer=authorizer, json_body={"title": "x"})

    assert reply.status == 401
    assert "identity" in reply.json["message"]


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "body,reason",
    [
        ({}, "'title' is required"),
        ({"done": True}, "'title' is required"),
        ({"title": ""}, "'title' must be 1 to 200"),
        ({"title": "   "}, "'title' must be 1 to 200"),
        ({"title": "x" * 201}, "'title' must be 1 to 200"),
        ({"title": 42}, "'title' must be a string"),
        ({"title": None}, "'title' must be a string"),
        ({"title": "a\x00b"}, "control characters"),
        ({"title": "line\nbreak"}, "control characters"),
        ({"title": "x", "done": "true"}, "'done' must be true or false"),
        ({"title": "x", "done": 1}, "'done' must be true or false"),
        ({"title": "x", "notes": "n" * 2001}, "at most 2000"),
        ({"title": "x", "notes": 7}, "'notes' must be a string"),
        ({"title": "x", "notes": "bell\x07"}, "control characters"),
        ({"title": "x", "priority": "high"}, "unknown field(s) 'priority'"),
    ],
)
def test_invalid_new_todo_returns_400_with_reason(api: Api, aws, body: dict, reason: str) -> None:
    reply = api.call("POST", "/todos", json_body=body)

    assert reply.status == 400
    assert reason in reply.json["message"]
    assert aws.ddb.scan(TableName=TABLE)["Count"] == 0


def test_lone_surrogate_in_title_returns_400(api: Api) -> None:
    reply = api.call("POST", "/todos", raw_body='{"title": "\\ud800"}')

    assert reply.status == 400
    assert "Unicode" in reply.json["message"]


def test_title_of_exactly_200_characters_is_accepted(api: Api) -> None:
    assert api.call("POST", "/todos", json_body={"title": "x" * 200}).status == 201


def test_notes_may_hold_tabs_and_line_breaks(api: Api) -> None:
    assert api.call("POST", "/todos", json_body={"title": "x", "notes": "a\tb\r\nc"}).status == 201


@pytest.mark.parametrize(
    "raw_body,message,reason",
    [
        (None, "request body is required", "body_required"),
        ("", "request body is required", "body_required"),
        ("{not json", "not valid JSON", "body_not_json"),
        ("[1, 2]", "must be a JSON object", "body_not_object"),
        ('"title"', "must be a JSON object", "body_not_object"),
        ("null", "must be a JSON object", "body_not_object"),
    ],
)
def test_body_that_is_not_a_json_object_returns_400(api: Api, raw_body: str | None, message: str, reason: str) -> None:
    reply = api.call("POST", "/todos", raw_body=raw_body)

    assert reply.status == 400
    assert message in reply.json["message"]
    assert reply.json["reason"] == reason


def test_base64_encoded_body_is_accepted(api: Api) -> None:
    body = base64.b64encode(json.dumps({"title": "from base64"}).encode()).decode()

    reply = api.call("POST", "/todos", raw_body=body, is_base64=True)

    assert reply.status == 201
    assert reply.json["title"] == "from base64"


def test_invalid_base64_body_returns_400(api: Api) -> None:
    reply = api.call("POST", "/todos", raw_body="***", is_base64=True)

    assert reply.status == 400
    assert "base64" in reply.json["message"]


def test_body_over_16_kib_returns_413(api: Api) -> None:
    reply = api.call("POST", "/todos", raw_body=json.dumps({"title": "x", "notes": "n" * 16_400}))

    assert reply.status == 413
    assert "16384 bytes" in reply.json["message"]


def test_base64_body_over_16_kib_returns_413(api: Api) -> None:
    body = base64.b64encode(json.dumps({"title": "x", "notes": "n" * 16_400}).encode()).decode()

    reply = api.call("POST", "/todos", raw_body=body, is_base64=True)

    assert reply.status == 413


@pytest.mark.parametrize(
    "body,reason",
    [
        ({}, "nothing to update"),
        ({"title": ""}, "'title' must be 1 to 200"),
        ({"done": "yes"}, "'done' must be true or false"),
        ({"notes": ["a"]}, "'notes' must be a string or null"),
        ({"colour": "red"}, "unknown field(s) 'colour'"),
        ({"userId": BOB}, "'userId' cannot be sent"),
    ],
)
def test_invalid_update_returns_400_and_leaves_the_todo_unchanged(api: Api, body: dict, reason: str) -> None:
    created = api.create()

    reply = api.call("PUT", f"/todos/{created['todoId']}", json_body=body)

    assert reply.status == 400
    assert reason in reply.json["message"]
    assert api.call("GET", f"/todos/{created['todoId']}").json == created


def test_update_body_over_16_kib_returns_413(api: Api) -> None:
    created = api.create()

    reply = api.call("PUT", f"/todos/{created['todoId']}", raw_body=json.dumps({"notes": "n" * 17_000}))

    assert reply.status == 413


@pytest.mark.parametrize("todo_id", ["not-a-uuid", "123", SOME_TODO_ID.upper(), "{" + SOME_TODO_ID + "}"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_malformed_todo_id_returns_400(api: Api, method: str, todo_id: str) -> None:
    reply = api.call(method, f"/todos/{todo_id}", json_body={"done": True} if method == "PUT" else None)

    assert reply.status == 400
    assert "todoId" in reply.json["message"]


# ---------------------------------------------------------------- Idempotency-Key on POST /todos


def create_with_key(api: Api, key: str, body: object, user: str = ALICE) -> Reply:
    return api.call("POST", "/todos", user=user, json_body=body, headers={"Idempotency-Key": key})


def table_items(aws) -> list[dict]:
    return aws.ddb.scan(TableName=TABLE, ConsistentRead=True)["Items"]


def todo_items(aws) -> list[dict]:
    return [item for item in table_items(aws) if not item["userId"]["S"].startswith("idempotency#")]


def marker_items(aws) -> list[dict]:
    return [item for item in table_items(aws) if item["userId"]["S"].startswith("idempotency#")]


def test_retried_create_with_the_same_key_returns_the_first_todo_and_stores_one(api: Api, aws) -> None:
    first = create_with_key(api, "create-1", {"title": "Buy milk", "notes": "2 litres"})

    retry = create_with_key(api, "create-1", {"title": "Buy milk", "notes": "2 litres"})

    assert first.status == retry.status == 201
    assert retry.json == first.json
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(todo_items(aws)) == 1
    assert api.call("GET", "/todos").json["items"] == [first.json]


def test_retry_with_a_reformatted_but_equal_body_is_the_same_request(api: Api, aws) -> None:
    first = api.call("POST", "/todos", raw_body='{"title": "Buy milk"}', headers={"Idempotency-Key": "create-2"})

    reformatted = '{ "done": false,\n  "title": "  Buy milk " }'
    retry = api.call("POST", "/todos", raw_body=reformatted, headers={"Idempotency-Key": "create-2"})

    assert retry.status == 201
    assert retry.json == first.json
    assert len(todo_items(aws)) == 1


def test_retry_returns_the_todo_as_first_created_even_after_it_changed(api: Api) -> None:
    first = create_with_key(api, "create-3", {"title": "Buy milk"})
    api.call("PUT", f"/todos/{first.json['todoId']}", json_body={"done": True})

    retry = create_with_key(api, "create-3", {"title": "Buy milk"})

    assert retry.json == first.json
    assert retry.json["done"] is False


@pytest.mark.parametrize(
    "second_body", [{"title": "Buy bread"}, {"title": "Buy milk", "done": True}, {"title": "Buy milk", "notes": "n"}]
)
def test_same_key_with_a_different_body_returns_409_and_creates_nothing(api: Api, aws, second_body: dict) -> None:
    first = create_with_key(api, "create-4", {"title": "Buy milk"})

    reply = create_with_key(api, "create-4", second_body)

    assert reply.status == 409
    assert reply.json == {
        "message": "Idempotency-Key was already used with a different request body",
        "reason": "idempotency_key_reused",
    }
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    assert [item["todoId"]["S"] for item in todo_items(aws)] == [first.json["todoId"]]


def test_same_key_from_another_user_creates_an_independent_todo(api: Api, aws) -> None:
    alices = create_with_key(api, "shared-key", {"title": "Buy milk"}, user=ALICE)
    bobs = create_with_key(api, "shared-key", {"title": "Buy milk"}, user=BOB)
    bobs_retry = create_with_key(api, "shared-key", {"title": "Buy milk"}, user=BOB)

    assert alices.status == bobs.status == 201
    assert alices.json["todoId"] != bobs.json["todoId"]
    assert bobs_retry.json == bobs.json
    assert {item["userId"]["S"] for item in todo_items(aws)} == {ALICE, BOB}
    assert api.call("GET", "/todos", user=BOB).json["items"] == [bobs.json]


def test_another_users_key_with_a_different_body_is_not_a_reuse(api: Api) -> None:
    create_with_key(api, "shared-key", {"title": "Alice's"}, user=ALICE)

    assert create_with_key(api, "shared-key", {"title": "Bob's"}, user=BOB).status == 201


def test_idempotency_marker_expires_24_hours_after_the_create(api: Api, aws) -> None:
    before = int(time.time())
    created = create_with_key(api, "create-5", {"title": "Buy milk"}).json

    [marker] = marker_items(aws)
    assert marker["userId"] == {"S": f"idempotency#{ALICE}"}
    assert marker["todoId"] == {"S": "create-5"}
    assert before + 86400 <= int(marker["expiresAt"]["N"]) <= int(time.time()) + 86400
    assert json.loads(marker["todo"]["S"])["todoId"] == created["todoId"]


def test_an_expired_marker_no_longer_replays(api: Api, aws) -> None:
    first = create_with_key(api, "create-6", {"title": "Buy milk"}).json
    # DynamoDB's TTL sweep can lag by days: an expired marker must already count as gone.
    aws.ddb.update_item(
        TableName=TABLE,
        Key={"userId": {"S": f"idempotency#{ALICE}"}, "todoId": {"S": "create-6"}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )

    again = create_with_key(api, "create-6", {"title": "Buy bread"})

    assert again.status == 201
    assert again.json["todoId"] != first["todoId"]
    assert len(todo_items(aws)) == 2
    assert create_with_key(api, "create-6", {"title": "Buy bread"}).json == again.json


def test_markers_never_show_up_in_a_list(api: Api) -> None:
    created = create_with_key(api, "create-7", {"title": "Buy milk"}).json

    assert api.call("GET", "/todos").json == {"items": [created], "nextCursor": None}


def test_refused_create_does_not_consume_its_key(api: Api, aws) -> None:
    assert create_with_key(api, "create-8", {"title": ""}).status == 400
    assert marker_items(aws) == []

    assert create_with_key(api, "create-8", {"title": "Buy milk"}).status == 201


def test_create_without_a_key_writes_no_marker(api: Api, aws) -> None:
    api.create()
    api.create()

    assert len(todo_items(aws)) == 2
    assert marker_items(aws) == []


@pytest.mark.parametrize("key", ["", "has space", "x" * 129, "ключ", "a\nb"])
def test_malformed_idempotency_key_returns_400_and_writes_nothing(api: Api, aws, key: str) -> None:
    reply = create_with_key(api, key, {"title": "Buy milk"})

    assert reply.status == 400
    assert reply.json["reason"] == "idempotency_key_invalid"
    assert table_items(aws) == []


def test_todo_and_marker_are_written_by_one_transaction(aws) -> None:
    calls: list[tuple[str, dict]] = []

    class RecordingDb:
        def __getattr__(self, operation: str):
            def call(**params: object):
                calls.append((operation, params))
                return getattr(aws.ddb, operation)(**params)

            return call

    store = TodoStore(RecordingDb(), TABLE)

    store.create_once(ALICE, {"title": "Buy milk", "done": False}, "create-9", "hash-1")

    [(operation, params)] = calls
    assert operation == "transact_write_items"
    puts = [item["Put"] for item in params["TransactItems"]]
    assert [(p["Item"]["userId"]["S"], p["ConditionExpression"]) for p in puts] == [
        (ALICE, "attribute_not_exists(todoId)"),
        (f"idempotency#{ALICE}", "attribute_not_exists(todoId) OR expiresAt <= :now"),
    ]
    assert {p["TableName"] for p in puts} == {TABLE}


def _transaction_cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": code} for code in codes],
        },
        "TransactWriteItems",
    )


class CancellingDb:
    """A table whose transactions are cancelled for `codes`, and which holds no marker."""

    def __init__(self, *codes: str) -> None:
        self.codes = codes

    def transact_write_items(self, **_: object):
        raise _transaction_cancelled(*self.codes)

    def get_item(self, **_: object):
        return {}


def test_a_concurrent_create_with_the_same_key_returns_409_retry_later() -> None:
    store = TodoStore(CancellingDb("None", "TransactionConflict"), TABLE)

    with pytest.raises(IdempotencyKeyInProgress) as refused:
        store.create_once(ALICE, {"title": "x", "done": False}, "create-10", "hash-1")

    assert refused.value.status_code == 409
    assert refused.value.headers == {"Retry-After": "1"}


def test_a_transaction_refused_for_another_reason_is_not_mistaken_for_a_key_conflict() -> None:
    store = TodoStore(CancellingDb("ValidationError", "None"), TABLE)

    with pytest.raises(ClientError):
        store.create_once(ALICE, {"title": "x", "done": False}, "create-11", "hash-1")


def test_request_fingerprint_ignores_field_order_but_not_values() -> None:
    same = todos.request_fingerprint({"title": "a", "done": False})

    assert todos.request_fingerprint({"done": False, "title": "a"}) == same
    assert todos.request_fingerprint({"title": "a", "done": True}) != same
    assert todos.request_fingerprint({"title": "a", "done": False, "notes": "n"}) != same



# ---------------------------------------------------------------- presigned upload (POST)


def test_upload_url_targets_the_callers_folder(api: Api) -> None:
    post = upload_url(api, "photos/cat.png")

    assert post["key"] == f"users/{ALICE}/photos/cat.png"
    assert post["fields"]["key"] == post["key"]
    assert post["fields"]["Content-Type"] == "image/png"
    assert post["contentType"] == "image/png"
    assert post["maxBytes"] == UPLOAD_MAX_BYTES
    assert post["expiresIn"] == 300
    assert urlparse(post["url"]).hostname == f"{BUCKET}.s3.{REGION}.amazonaws.com"


def test_upload_policy_pins_exact_key_content_type_size_and_expiry(api: Api) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    post = upload_url(api, "photos/cat.png")
    after = datetime.now(timezone.utc)
    policy = signed_policy(post)

    conditions = policy["conditions"]
    assert {"bucket": BUCKET} in conditions
    assert {"key": f"users/{ALICE}/photos/cat.png"} in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, UPLOAD_MAX_BYTES] in conditions
    assert {"x-amz-algorithm": "AWS4-HMAC-SHA256"} in conditions
    assert {"x-amz-security-token": "testing-session-token"} in conditions
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
    assert before + timedelta(seconds=300) <= policy_expiration(post) <= after + timedelta(seconds=300)


def test_upload_url_expiry_follows_url_expiry_seconds(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(load_handler(monkeypatch, URL_EXPIRY_SECONDS="900"))
    before = datetime.now(timezone.utc).replace(microsecond=0)

    post = upload_url(api, "a.png")

    after = datetime.now(timezone.utc)
    assert post["expiresIn"] == 900
    assert before + timedelta(seconds=900) <= policy_expiration(post) <= after + timedelta(seconds=900)


def test_allowed_upload_succeeds_and_can_be_downloaded(api: Api, aws) -> None:
    content = b"\x89PNG\r\n\x1a\n" + b"p" * 100
    post = upload_url(api, "photos/cat.png")

    status, reason = upload(post, content)

    assert status == 204, reason
    stored = aws.s3.get_object(Bucket=BUCKET, Key=f"users/{ALICE}/photos/cat.png")
    assert stored["ContentType"] == "image/png"
    download = api.call("GET", "/files/download-url", query={"key": "photos/cat.png"})
    assert download.status == 200
    fetched = requests.get(download.json["url"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == content


def test_upload_of_exactly_the_maximum_size_is_accepted(api: Api) -> None:
    status, reason = upload(upload_url(api, "max.txt", "text/plain"), b"m" * UPLOAD_MAX_BYTES)

    assert status == 204, reason


def test_upload_larger_than_the_maximum_is_refused(api: Api, aws) -> None:
    status, reason = upload(upload_url(api, "big.txt", "text/plain"), b"b" * (UPLOAD_MAX_BYTES + 1))

    assert (status, reason) == (400, "EntityTooLarge")
    assert stored_keys(aws.s3) == []


def test_empty_upload_is_refused(api: Api, aws) -> None:
    status, reason = upload(upload_url(api, "empty.txt", "text/plain"), b"")

    assert (status, reason) == (400, "EntityTooSmall")
    assert stored_keys(aws.s3) == []


@pytest.mark.parametrize(
    "other_key", [f"users/{BOB}/cat.png", f"users/{ALICE}/../{BOB}/cat.png", f"users/{ALICE}/other.png"]
)
def test_upload_to_a_key_other_than_the_signed_one_is_refused(api: Api, aws, other_key: str) -> None:
    post = upload_url(api, "cat.png")

    status, reason = upload(post, b"png", key=other_key)

    assert status == 403
    assert "Policy Condition failed" in reason and "'key'" in reason
    assert stored_keys(aws.s3) == []


def test_upload_with_a_different_content_type_is_refused(api: Api, aws) -> None:
    post = upload_url(api, "cat.png", "image/png")

    status, reason = upload(post, b"<script>", **{"Content-Type": "text/html"})

    assert status == 403
    assert "Content-Type" in reason
    assert stored_keys(aws.s3) == []


def test_upload_with_a_rewritten_policy_is_refused(api: Api, aws) -> None:
    post = upload_url(api, "cat.png")
    policy = signed_policy(post)
    policy["conditions"] = [c for c in policy["conditions"] if not isinstance(c, list)]
    policy["conditions"].append(["content-length-range", 1, 10**9])
    forged = base64.b64encode(json.dumps(policy).encode()).decode()

    status, reason = upload(post, b"b" * (UPLOAD_MAX_BYTES + 1), policy=forged)

    assert (status, reason) == (403, "SignatureDoesNotMatch")
    assert stored_keys(aws.s3) == []


def test_upload_after_the_url_expired_is_refused(api: Api, aws) -> None:
    post = upload_url(api, "cat.png")
    later = datetime.now(timezone.utc) + timedelta(seconds=301)

    status, reason = upload(post, b"png", now=later)

    assert status == 403
    assert "Policy expired" in reason


def test_upload_with_an_extra_unsigned_field_is_refused(api: Api) -> None:
    post = upload_url(api, "cat.png")

    status, reason = upload(post, b"png", **{"x-amz-meta-owner": BOB})

    assert status == 403
    assert "Extra input fields" in reason


def test_upload_url_accepts_a_full_key_inside_the_callers_folder(api: Api) -> None:
    post = upload_url(api, f"users/{ALICE}/docs/cv.pdf", "application/pdf")

    assert post["key"] == f"users/{ALICE}/docs/cv.pdf"


def test_upload_url_normalises_the_content_type_case(api: Api) -> None:
    assert upload_url(api, "a.jpg", "Image/JPEG")["fields"]["Content-Type"] == "image/jpeg"


@pytest.mark.parametrize(
    "filename,status,reason",
    [
        ("../cat.png", 400, "'..'"),
        ("photos/../../cat.png", 400, "'..'"),
        ("./cat.png", 400, "'.'"),
        (f"users/{ALICE}/../{BOB}/cat.png", 400, "'..'"),
        ("/etc/passwd", 400, "absolute"),
        (f"/users/{BOB}/cat.png", 400, "absolute"),
        ("photos\\cat.png", 400, "'\\'"),
        ("photos//cat.png", 400, "empty segments"),
        ("photos/", 400, "empty segments"),
        ("cat\x00.png", 400, "control characters"),
        ("cat\n.png", 400, "control characters"),
        ("cat\x85.png", 400, "control characters"),
        ("", 400, "a file path is required"),
        (None, 400, "a file path is required"),
        (42, 400, "a file path is required"),
        ("x" * 513, 400, "at most 512 bytes"),
        ("\ud800.png", 400, "Unicode"),
        (f"users/{BOB}/cat.png", 403, "outside your folder"),
        (f"users/{ALICE}x/cat.png", 403, "outside your folder"),
        ("users/", 403, "outside your folder"),
        (f"users/{ALICE}", 400, "must name a file"),
        (f"users/{ALICE}/", 400, "must name a file"),
    ],
)
def test_upload_url_refuses_unsafe_filenames(api: Api, filename, status: int, reason: str) -> None:
    reply = api.call("POST", "/files/upload-url", json_body={"filename": filename, "contentType": "image/png"})

    assert reply.status == status
    assert reason in reply.json["message"]


@pytest.mark.parametrize(
    "content_type", ["text/html", "image/svg+xml", "application/octet-stream", "image/png; x=y", "", None, 5]
)
def test_upload_url_refuses_content_types_not_allowed(api: Api, content_type) -> None:
    reply = api.call("POST", "/files/upload-url", json_body={"filename": "a.png", "contentType": content_type})

    assert reply.status == 400
    assert "contentType" in reply.json["message"]
    assert "image/png" in reply.json["message"]


def test_allowed_content_types_come_from_the_environment(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    api = Api(load_handler(monkeypatch, ALLOWED_CONTENT_TYPES="video/mp4"))

    video = api.call("POST", "/files/upload-url", json_body={"filename": "a.mp4", "contentType": "video/mp4"})
    image = api.call("POST", "/files/upload-url", json_body={"filename": "a.png", "contentType": "image/png"})

    assert (video.status, image.status) == (200, 400)


@pytest.mark.parametrize(
    "body,reason",
    [
        ({"contentType": "image/png"}, "'filename' is required"),
        ({"filename": "a.png", "contentType": "image/png", "key": f"users/{BOB}/a.png"}, "unknown field(s) 'key'"),
        ({"filename": "a.png", "contentType": "image/png", "bucket": "other"}, "unknown field(s) 'bucket'"),
    ],
)
def test_upload_url_refuses_missing_or_unknown_fields(api: Api, body: dict, reason: str) -> None:
    reply = api.call("POST", "/files/upload-url", json_body=body)

    assert reply.status == 400
    assert reason in reply.json["message"]


def test_upload_url_refuses_a_body_that_is_not_json(api: Api) -> None:
    reply = api.call("POST", "/files/upload-url", raw_body="filename=a.png")

    assert reply.status == 400
    assert "not valid JSON" in reply.json["message"]


def test_upload_url_refuses_a_body_over_16_kib(api: Api) -> None:
    body = json.dumps({"filename": "a" * 17_000, "contentType": "image/png"})

    reply = api.call("POST", "/files/upload-url", raw_body=body)

    assert reply.status == 413


# ---------------------------------------------------------------- presigned download (GET)


def test_download_url_accepts_a_key_relative_to_the_callers_folder(api: Api) -> None:
    reply = api.call("GET", "/files/download-url", query={"key": "photos/cat.png"})

    assert reply.status == 200
    assert reply.json["key"] == f"users/{ALICE}/photos/cat.png"
    assert urlparse(reply.json["url"]).path == f"/users/{ALICE}/photos/cat.png"


def test_download_url_accepts_a_full_key_inside_the_callers_folder(api: Api) -> None:
    reply = api.call("GET", "/files/download-url", query={"key": f"users/{ALICE}/photos/cat.png"})

    assert reply.status == 200
    assert reply.json["key"] == f"users/{ALICE}/photos/cat.png"


def test_download_url_is_sigv4_and_expires_within_15_minutes(api: Api) -> None:
    reply = api.call("GET", "/files/download-url", query={"key": "cat.png"})

    url = urlparse(reply.json["url"])
    query = parse_qs(url.query)
    assert url.hostname == f"{BUCKET}.s3.{REGION}.amazonaws.com"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["300"]
    assert query["X-Amz-SignedHeaders"] == ["host"]
    assert reply.json["expiresIn"] == 300


def test_download_of_another_users_file_is_refused(api: Api, aws) -> None:
    aws.s3.put_object(Bucket=BUCKET, Key=f"users/{BOB}/secret.txt", Body=b"bob only")

    reply = api.call("GET", "/files/download-url", user=ALICE, query={"key": f"users/{BOB}/secret.txt"})

    assert reply.status == 403
    assert reply.json == {"message": "the key is outside your folder"}


@pytest.mark.parametrize(
    "key,reason",
    [
        (f"../{BOB}/secret.txt", "'..'"),
        (f"users/{ALICE}/../{BOB}/secret.txt", "'..'"),
        (f"/users/{BOB}/secret.txt", "absolute"),
        (f"a\\..\\{BOB}", "'\\'"),
        ("a//b", "empty segments"),
        ("a\rb", "control characters"),
    ],
)
def test_download_url_refuses_unsafe_keys(api: Api, key: str, reason: str) -> None:
    reply = api.call("GET", "/files/download-url", query={"key": key})

    assert reply.status == 400
    assert reason in reply.json["message"]


def test_download_url_without_a_key_returns_400(api: Api) -> None:
    reply = api.call("GET", "/files/download-url")

    assert reply.status == 400
    assert "a file path is required" in reply.json["message"]


# ---------------------------------------------------------------- DAX or DynamoDB


class RecordingDaxClient:
    """Stands in for amazondax.AmazonDaxClient: records how it was built and which calls it served."""

    instances: list[RecordingDaxClient] = []

    def __init__(self, **kwargs: object) -> None:
        self.kwargs = kwargs
        self.calls: list[str] = []
        self._ddb = boto3.client("dynamodb", region_name=REGION)
        RecordingDaxClient.instances.append(self)

    def __getattr__(self, operation: str):
        def call(**params: object):
            self.calls.append(operation)
            return getattr(self._ddb, operation)(**params)

        return call


def test_dax_endpoint_sends_reads_and_writes_through_the_dax_client(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    RecordingDaxClient.instances = []
    monkeypatch.setitem(sys.modules, "amazondax", types.SimpleNamespace(AmazonDaxClient=RecordingDaxClient))
    api = Api(load_handler(monkeypatch, DAX_ENDPOINT=DAX_URL))

    created = api.create()
    api.call("GET", f"/todos/{created['todoId']}")
    api.call("GET", "/todos")
    api.call("PUT", f"/todos/{created['todoId']}", json_body={"done": True})
    api.call("DELETE", f"/todos/{created['todoId']}")

    (dax,) = RecordingDaxClient.instances
    assert dax.kwargs == {"endpoint_url": DAX_URL, "region_name": REGION}
    assert dax.calls == ["put_item", "get_item", "query", "update_item", "delete_item"]


def test_keyed_create_and_its_replay_go_through_the_dax_client(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    RecordingDaxClient.instances = []
    monkeypatch.setitem(sys.modules, "amazondax", types.SimpleNamespace(AmazonDaxClient=RecordingDaxClient))
    api = Api(load_handler(monkeypatch, DAX_ENDPOINT=DAX_URL))

    first = create_with_key(api, "via-dax", {"title": "Buy milk"})
    retry = create_with_key(api, "via-dax", {"title": "Buy milk"})

    (dax,) = RecordingDaxClient.instances
    assert dax.calls == ["transact_write_items", "transact_write_items", "get_item"]
    assert retry.json == first.json


def test_without_dax_endpoint_the_dax_client_is_never_imported(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "amazondax", None)  # any import of it now raises ImportError
    api = Api(load_handler(monkeypatch, DAX_ENDPOINT=""))

    created = api.create()

    assert api.call("GET", f"/todos/{created['todoId']}").status == 200


def test_dax_conditional_check_failure_maps_to_not_found() -> None:
    from amazondax.DaxError import DaxClientError

    class FailingDax:
        def update_item(self, **_: object):
            raise DaxClientError("The conditional request failed", "ConditionalCheckFailedException")

        delete_item = update_item

    store = TodoStore(FailingDax(), TABLE)

    assert store.update(ALICE, str(uuid.uuid4()), {"done": True}) is None
    assert store.delete(ALICE, str(uuid.uuid4())) is False


def test_other_dax_errors_are_not_mistaken_for_not_found() -> None:
    from amazondax.DaxError import DaxClientError

    class ThrottledDax:
        def delete_item(self, **_: object):
            raise DaxClientError("slow down", "ThrottlingException")

    with pytest.raises(DaxClientError):
        TodoStore(ThrottledDax(), TABLE).delete(ALICE, str(uuid.uuid4()))


# ---------------------------------------------------------------- configuration


BASE_ENV = {"TABLE_NAME": TABLE, "BUCKET_NAME": BUCKET}


def test_settings_defaults() -> None:
    settings = load_settings(BASE_ENV)

    assert settings.dax_endpoint is None
    assert settings.upload_max_bytes == 10_485_760
    assert settings.allowed_content_types == ("image/jpeg", "image/png", "application/pdf", "text/plain")
    assert settings.url_expiry_seconds == 300
    assert settings.cors_allow_origin == "*"


@pytest.mark.parametrize(
    "env,variable",
    [
        ({"TABLE_NAME": ""}, "TABLE_NAME"),
        ({"BUCKET_NAME": " "}, "BUCKET_NAME"),
        ({"URL_EXPIRY_SECONDS": "901"}, "URL_EXPIRY_SECONDS"),
        ({"URL_EXPIRY_SECONDS": "0"}, "URL_EXPIRY_SECONDS"),
        ({"URL_EXPIRY_SECONDS": "5m"}, "URL_EXPIRY_SECONDS"),
        ({"UPLOAD_MAX_BYTES": "0"}, "UPLOAD_MAX_BYTES"),
        ({"UPLOAD_MAX_BYTES": "10MB"}, "UPLOAD_MAX_BYTES"),
        ({"ALLOWED_CONTENT_TYPES": " , "}, "ALLOWED_CONTENT_TYPES"),
        ({"ALLOWED_CONTENT_TYPES": "image/png,pdf"}, "ALLOWED_CONTENT_TYPES"),
        ({"DAX_ENDPOINT": "https://todo-dax.abc123.dax-clusters.eu-west-1.amazonaws.com"}, "DAX_ENDPOINT"),
    ],
)
def test_bad_configuration_is_refused_at_startup_naming_the_variable(env: dict, variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings({**BASE_ENV, **env})


def test_handler_refuses_to_start_with_url_expiry_over_15_minutes(aws, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="URL_EXPIRY_SECONDS"):
        load_handler(monkeypatch, URL_EXPIRY_SECONDS="3600")


# ---------------------------------------------------------------- CORS and errors


@pytest.fixture
def api_with_origin(aws, monkeypatch: pytest.MonkeyPatch) -> Api:
    return Api(load_handler(monkeypatch, CORS_ALLOW_ORIGIN="https://app.example.com"))


@pytest.mark.parametrize(
    "method,path,expected_status",
    [("GET", "/todos", 200), ("GET", "/todos/nope", 400), ("GET", f"/todos/{SOME_TODO_ID}", 404)],
)
def test_responses_carry_the_configured_cors_origin(
    api_with_origin: Api, method: str, path: str, expected_status: int
) -> None:
    reply = api_with_origin.call(method, path)

    assert reply.status == expected_status
    assert reply.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_401_carries_cors_headers(api_with_origin: Api) -> None:
    reply = api_with_origin.call("GET", "/todos", user=None, authorizer={})

    assert reply.status == 401
    assert reply.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


def test_cors_preflight_is_answered_without_identity(api_with_origin: Api) -> None:
    reply = api_with_origin.call("OPTIONS", "/todos", user=None)

    assert reply.status == 204
    assert reply.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert {"Cache-Control", "X-Id-Token"} <= set(reply.headers["Access-Control-Allow-Headers"].split(","))


def test_server_fault_returns_json_500_without_internals(api: Api, aws) -> None:
    aws.ddb.delete_table(TableName=TABLE)

    reply = api.call("GET", "/todos")

    assert reply.status == 500
    assert reply.json == {"message": "internal server error", "reason": "internal_error"}
    assert reply.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "raw_body,is_base64,reason",
    [
        ("[" * 5000, False, "body_too_deep"),
        ('{"title": ' + "[" * 40 + "]" * 40 + "}", False, "body_too_deep"),
        ('{"title": "x", "notes": ' + '{"a": ' * 2000 + "1" + "}" * 2000 + "}", False, "body_too_deep"),
        (base64.b64encode(b'{"title": "\xff"}').decode(), True, "body_not_utf8"),
        ("eyJ0aXRsZSI6IC*=", True, "body_not_base64"),
        ("e30", True, "body_not_base64"),
        ("\u00e9", True, "body_not_base64"),
        ('{"title": "a", "title": "b"}', False, "body_duplicate_field"),
        ('{"title": NaN}', False, "body_not_json"),
        ('{"title": "x", "notes": ' + "9" * 5000 + "}", False, "body_not_json"),
    ],
    ids=[
        "unclosed-nesting", "nested-41", "nested-object-2000", "base64-not-utf8", "base64-bad-char",
        "base64-bad-padding", "base64-not-ascii", "duplicate-field", "nan", "huge-integer",
    ],
)
def test_bad_request_bodies_are_400_with_a_reason_never_500(
    api: Api, aws, raw_body: str, is_base64: bool, reason: str
) -> None:
    reply = api.call("POST", "/todos", raw_body=raw_body, is_base64=is_base64)

    assert reply.status == 400
    assert reply.json["reason"] == reason
    assert reply.json["message"]
    assert reply.headers["Content-Type"] == "application/json"
    assert table_items(aws) == []


@pytest.mark.parametrize("method,path", [("GET", "/nope"), ("POST", "/todos/x/y"), ("GET", "/files"), ("GET", "/")])
def test_unrouted_path_returns_404_json_with_cors(api_with_origin: Api, method: str, path: str) -> None:
    reply = api_with_origin.call(method, path)

    assert reply.status == 404
    assert reply.json == {"message": "not found", "reason": "not_found"}
    assert reply.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


@pytest.mark.parametrize(
    "method,path,allowed",
    [
        ("PATCH", "/todos", "GET, POST"),
        ("DELETE", "/todos", "GET, POST"),
        ("POST", f"/todos/{SOME_TODO_ID}", "DELETE, GET, PUT"),
        ("HEAD", f"/todos/{SOME_TODO_ID}", "DELETE, GET, PUT"),
        ("GET", "/files/upload-url", "POST"),
        ("PUT", "/files/download-url", "GET"),
    ],
)
def test_unrouted_method_returns_405_with_allow(api_with_origin: Api, method: str, path: str, allowed: str) -> None:
    reply = api_with_origin.call(method, path, json_body={"title": "x"})

    assert reply.status == 405
    assert reply.json["reason"] == "method_not_allowed"
    assert reply.headers["Allow"] == allowed
    assert reply.headers["Access-Control-Allow-Origin"] == "https://app.example.com"


# ---------------------------------------------------------------- domain functions without AWS


def test_cursor_round_trips_for_its_owner() -> None:
    todo_id = str(uuid.uuid4())

    assert todos.decode_cursor(todos.encode_cursor(ALICE, todo_id), ALICE) == todo_id


def test_cursor_is_url_safe_without_padding() -> None:
    cursor = todos.encode_cursor(ALICE, str(uuid.uuid4()))

    assert cursor.replace("-", "").replace("_", "").isalnum()


def test_user_folder_matches_the_identity_pool_principal_tag_layout() -> None:
    # The identity-pool role allows users/${aws:PrincipalTag/userSub}/*, userSub being this same claim.
    assert files.user_folder(ALICE) == f"users/{ALICE}/"


def test_resolve_user_key_never_leaves_the_callers_folder() -> None:
    for candidate in ["a", "a/b.txt", f"users/{ALICE}/x", "users-not-root/x", "Users/other/x"]:
        assert files.resolve_user_key(ALICE, candidate).startswith(f"users/{ALICE}/")
    with pytest.raises(ApiError):
        files.resolve_user_key(ALICE, f"users/{BOB}/x")
