"""End-to-end scenarios against a stack's twin, and the run that reports on them.

Each scenario drives a component's real entry point (its REST API, its upload bucket) and asserts
the real outcome in the twin (items, objects, emails, shipments). It finds everything it touches
through the recorded graph, starting from the component instance it is given: which API, which
user pool client, which table the function writes, which mapping reads its stream. So a scenario
runs for every instance of its component, in any stack, and a component change reaches it.

    python -m twin dev|prod|all
"""
from __future__ import annotations

import contextlib
import io
import json
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import requests
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from offline.harness import RecordedResource, StackSnapshot, evaluate_stack
from twin.lambda_service import ESM, TWIN_JUDGE, LambdaService, RestApiGateway, gateways
from twin.report import FAIL, NO_FUNCTIONS, PASS, XFAIL, XPASS, Check, MappingRow, ScenarioResult, TwinReport
from twin.stack import (BUCKET_NOTIFICATION, LAMBDA_FUNCTION, QUEUE, USER_POOL, USER_POOL_CLIENT, DataPlane,
                        build_data_plane, moto_server)

COMPONENT_PREFIX = "serverless-blueprints:index:"
REST_API = "aws:apigateway/restApi:RestApi"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
PASSWORD = "Twin-Passw0rd!2026"


class ScenarioAborted(Exception):
    """A required step failed; the rest of the scenario can't run."""


# ----------------------------------------------------------------------------------------------------
# The twin a scenario runs against

@dataclass
class TwinUser:
    email: str
    sub: str
    id_token: str


@dataclass
class Twin:
    stack: str
    snapshot: StackSnapshot
    plane: DataPlane
    service: LambdaService
    apis: dict[str, RestApiGateway]

    # -- the graph --------------------------------------------------------------------------------
    def under(self, component: RecordedResource, resource_type: str) -> list[RecordedResource]:
        return [r for r in self.snapshot.descendants_of(component.urn) if r.resource_type == resource_type]

    def one_under(self, component: RecordedResource, resource_type: str) -> RecordedResource:
        found = self.under(component, resource_type)
        if len(found) != 1:
            raise ScenarioAborted(f"{component.name} has {len(found)} {resource_type}, expected one")
        return found[0]

    def api_under(self, component: RecordedResource) -> RestApiGateway:
        return self.apis[self.one_under(component, REST_API).name]

    def function(self, reference: str) -> RecordedResource:
        return self.service.functions[self.service.function_name(reference)]

    @staticmethod
    def env(function: RecordedResource) -> dict[str, str]:
        return dict((function.props.get("environment") or {}).get("variables") or {})

    def mappings_from(self, source_arn_fragment: str) -> list[RecordedResource]:
        return [m for m in self.snapshot.of_type(ESM) if source_arn_fragment in m.props["eventSourceArn"]]

    # -- data plane helpers -------------------------------------------------------------------------
    def user(self, client: RecordedResource, email: str) -> TwinUser:
        """A confirmed user of the client's pool, signed in with SRP (the flow the client allows)."""
        cognito = self.plane.client("cognito-idp", client.region)
        pool = next(p for p in self.snapshot.of_type(USER_POOL) if p.outputs["id"] == client.props["userPoolId"])
        pool_id, client_id = self.plane.names.twin(pool.outputs["id"]), self.plane.names.twin(client.outputs["id"])
        attributes = [{"Name": "email", "Value": email}]
        if (pool.props.get("adminCreateUserConfig") or {}).get("allowAdminCreateUserOnly"):
            cognito.admin_create_user(UserPoolId=pool_id, Username=email, UserAttributes=attributes,
                                      MessageAction="SUPPRESS")
            cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
        else:
            cognito.sign_up(ClientId=client_id, Username=email, Password=PASSWORD, UserAttributes=attributes)
            cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username=email)
        tokens = srp_sign_in(cognito, client_id, email)["AuthenticationResult"]
        sub = cognito.get_user(AccessToken=tokens["AccessToken"])["UserAttributes"]
        return TwinUser(email, next(a["Value"] for a in sub if a["Name"] == "sub"), tokens["IdToken"])

    def table_items(self, table: str) -> list[dict[str, Any]]:
        pages = self.plane.client("dynamodb").get_paginator("scan").paginate(TableName=table)
        deserializer = TypeDeserializer()
        return [{k: deserializer.deserialize(v) for k, v in item.items()} for page in pages for item in page["Items"]]

    def put_item(self, table: str, item: dict[str, Any]) -> None:
        serializer = TypeSerializer()
        self.plane.client("dynamodb").put_item(TableName=table, Item={k: serializer.serialize(v)
                                                                      for k, v in item.items()})


def srp_sign_in(cognito: Any, client_id: str, username: str) -> dict[str, Any]:
    """Cognito's answer to an SRP sign-in (the flow every app client here allows): its tokens, or the next
    challenge (MFA). moto doesn't check the SRP proof itself, only that the challenge is answered."""
    challenge = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH",
                                      AuthParameters={"USERNAME": username, "SRP_A": uuid.uuid4().hex})
    return cognito.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", Session=challenge["Session"],
        ChallengeResponses={"USERNAME": challenge["ChallengeParameters"]["USERNAME"],
                            "PASSWORD_CLAIM_SIGNATURE": uuid.uuid4().hex,
                            "PASSWORD_CLAIM_SECRET_BLOCK": challenge["ChallengeParameters"]["SECRET_BLOCK"],
                            "TIMESTAMP": time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime())})


def token_headers(api: RestApiGateway, user: TwinUser) -> dict[str, str]:
    headers = {route.authorizer.identity_header for route in api.routes if route.authorizer is not None}
    return {header: user.id_token for header in headers}


class ScenarioRun:
    """What a scenario function gets: the twin, its component, and a place to put its checks."""

    def __init__(self, twin: Twin, component: RecordedResource):
        self.twin, self.component = twin, component
        self.checks: list[Check] = []

    def check(self, name: str, ok: Any, detail: Any = "") -> bool:
        self.checks.append(Check(name, bool(ok), "" if ok else str(detail)[:300]))
        return bool(ok)

    def require(self, name: str, ok: Any, detail: Any = "") -> None:
        if not self.check(name, ok, detail):
            raise ScenarioAborted(f"required step failed: {name}")

    def ledger_mark(self) -> int:
        return len(self.twin.service.ledger)

    def invoked_since(self, mark: int, function: Optional[str] = None) -> list:
        return [i for i in self.twin.service.ledger[mark:] if function is None or i.function == function]


# ----------------------------------------------------------------------------------------------------
# Scenarios

def todo_scenario(run: ScenarioRun) -> None:
    twin, component = run.twin, run.component
    api = twin.api_under(component)
    client = twin.one_under(component, USER_POOL_CLIENT)
    # Hosted sign-in (code grant + PKCE) can't run here: moto has no /oauth2/authorize or /oauth2/token. The
    # same client also allows SRP, whose ID token is what the code exchange returns too, so users sign in with SRP.
    tag = uuid.uuid4().hex[:6]
    alice = twin.user(client, f"alice-{tag}@example.com")
    bob = twin.user(client, f"bob-{tag}@example.com")
    as_alice, as_bob = token_headers(api, alice), token_headers(api, bob)

    mark = run.ledger_mark()
    refused = api.request("GET", "/todos")
    run.check("no ID token: 401 from the authorizer, function not invoked",
              refused.status == 401 and not run.invoked_since(mark), refused.describe())
    forged = api.request("GET", "/todos", headers={h: alice.id_token[:-4] + "AAAA" for h in as_alice})
    run.check("tampered ID token: 401", forged.status == 401, forged.describe())

    created = api.request("POST", "/todos", headers=as_alice, body={"title": "Buy milk", "notes": "semi-skimmed"})
    run.require("create a to-do: 201", created.status == 201, created.describe())
    todo = created.json()
    todo_id = todo["todoId"]
    listed = api.request("GET", "/todos", headers=as_alice)
    run.require("list: 200", listed.status == 200, listed.describe())
    run.check("list holds the new to-do", [t["todoId"] for t in listed.json()["items"]] == [todo_id], listed.body)
    got = api.request("GET", f"/todos/{todo_id}", headers=as_alice)
    run.check("get: 200 with the title", got.status == 200 and got.json().get("title") == "Buy milk", got.describe())
    updated = api.request("PUT", f"/todos/{todo_id}", headers=as_alice, body={"done": True})
    run.check("update: done is true", updated.status == 200 and updated.json().get("done") is True, updated.describe())
    stored = [i for i in twin.table_items(twin.env(twin.function(api_function(api)))["TABLE_NAME"])
              if i.get("todoId") == todo_id]
    run.check("the table holds the update, in the caller's partition",
              len(stored) == 1 and stored[0]["done"] is True and stored[0]["userId"] == alice.sub, stored)
    others = api.request("GET", f"/todos/{todo_id}", headers=as_bob)
    run.check("another user can't read it: 404", others.status == 404, others.describe())
    not_an_object = api.request("POST", "/todos", headers=as_alice, body=["Buy milk"])
    run.check("a body that isn't a JSON object: 400 from the request validator",
              not_an_object.status == 400 and not_an_object.invocation is None, not_an_object.describe())
    unknown = api.request("POST", "/todos", headers=as_alice, body={"title": "x", "owner": bob.sub})
    run.check("an unknown field: 400 from the function", unknown.status == 400, unknown.describe())
    _todo_pages(run, api, alice)

    _todo_files(run, api, alice, bob)
    _todo_cache(run, api, alice, bob)

    deleted = api.request("DELETE", f"/todos/{todo_id}", headers=as_alice)
    run.check("delete: 204", deleted.status == 204, deleted.describe())
    table = twin.env(twin.function(api_function(api)))["TABLE_NAME"]
    run.check("deleted from the table", not [i for i in twin.table_items(table) if i.get("todoId") == todo_id])
    gone = api.request("GET", f"/todos/{todo_id}", headers=as_alice)
    if gone.cached:
        # A cached stage answers from its cache until the TTL: a deleted to-do is still served (AWS does too).
        run.check("deleted to-do: the stage cache still serves it until its TTL", gone.status == 200, gone.describe())
    else:
        run.check("deleted to-do: 404", gone.status == 404, gone.describe())


def _todo_pages(run: ScenarioRun, api: RestApiGateway, user: TwinUser) -> None:
    for title in ("page one", "page two"):
        made = api.request("POST", "/todos", headers=token_headers(api, user), body={"title": title})
        run.require(f"create '{title}': 201", made.status == 201, made.describe())
    first = api.request("GET", "/todos", headers=token_headers(api, user), query={"limit": "2"})
    run.require("first page: 200", first.status == 200, first.describe())
    cursor = first.json().get("nextCursor")
    run.check("a page of 2 of 3 to-dos has a next cursor", len(first.json()["items"]) == 2 and cursor, first.body)
    if cursor:
        rest = api.request("GET", "/todos", headers=token_headers(api, user), query={"limit": "2", "cursor": cursor})
        seen = [t["todoId"] for t in first.json()["items"]] + [t["todoId"] for t in (rest.json() or {}).get("items", [])]
        run.check("the next page holds the rest, no repeats", rest.status == 200 and len(set(seen)) == len(seen) == 3,
                  rest.describe())
        tampered = api.request("GET", "/todos", headers=token_headers(api, user),
                               query={"limit": "2", "cursor": cursor[::-1]})
        run.check("a tampered cursor: 400", tampered.status == 400, tampered.describe())


def api_function(api: RestApiGateway) -> str:
    return next(r.function_arn for r in api.routes if r.function_arn)


def _todo_files(run: ScenarioRun, api: RestApiGateway, alice: TwinUser, bob: TwinUser) -> None:
    content = f"hello from {alice.email}\n".encode()
    upload = api.request("POST", "/files/upload-url", headers=token_headers(api, alice),
                         body={"filename": "notes/hello.txt", "contentType": "text/plain"})
    run.require("presigned upload: 200", upload.status == 200, upload.describe())
    presigned = upload.json()
    run.check("upload key is in the caller's folder", presigned["key"] == f"users/{alice.sub}/notes/hello.txt",
              presigned.get("key"))
    posted = requests.post(presigned["url"], data=presigned["fields"],
                           files={"file": ("hello.txt", content, "text/plain")}, timeout=10)
    run.require("the presigned POST is accepted by the twin's S3", posted.status_code in (200, 201, 204),
                f"{posted.status_code} {posted.text[:200]} {presigned['url']}")
    download = api.request("GET", "/files/download-url", headers=token_headers(api, alice),
                           query={"key": "notes/hello.txt"})
    run.require("presigned download: 200", download.status == 200, download.describe())
    fetched = requests.get(download.json()["url"], timeout=10)
    run.check("the presigned GET returns the uploaded bytes", fetched.status_code == 200 and fetched.content == content,
              f"{fetched.status_code} {fetched.content[:100]!r}")
    for method, path, kwargs in (("GET", "/files/download-url", {"query": {"key": f"users/{alice.sub}/notes/hello.txt"}}),
                                 ("POST", "/files/upload-url", {"body": {"filename": f"users/{alice.sub}/x.txt",
                                                                         "contentType": "text/plain"}})):
        refused = api.request(method, path, headers=token_headers(api, bob), **kwargs)
        run.check(f"another user's folder is refused ({method} {path}): 403", refused.status == 403, refused.describe())


def _todo_cache(run: ScenarioRun, api: RestApiGateway, alice: TwinUser, bob: TwinUser) -> None:
    """Two users, two answers; where the stage caches GET /todos, a repeat is served from the cache."""
    bobs = api.request("POST", "/todos", headers=token_headers(api, bob), body={"title": f"Bob's {uuid.uuid4().hex[:4]}"})
    run.require("a second user's to-do: 201", bobs.status == 201, bobs.describe())
    first_alice = api.request("GET", "/todos", headers=token_headers(api, alice))
    first_bob = api.request("GET", "/todos", headers=token_headers(api, bob))
    run.check("two users, two answers", first_alice.status == first_bob.status == 200 and
              {t["todoId"] for t in first_alice.json()["items"]}.isdisjoint(
                  {t["todoId"] for t in first_bob.json()["items"]}), f"{first_alice.body} | {first_bob.body}")
    route = next(r for r in api.routes if r.method == "GET" and r.resource_path == "/todos")
    if route.cache_ttl is None:
        return
    mark = run.ledger_mark()
    again = api.request("GET", "/todos", headers=token_headers(api, alice))
    run.check("cached GET: the repeat is served by the stage cache", again.cached and not run.invoked_since(mark)
              and again.body == first_alice.body, again)
    run.check("the cache key holds the caller's identity header",
              any(p.startswith("method.request.header.") for p in route.cache_key_parameters),
              route.cache_key_parameters)


def post_item(slug: str, title: str, published_at: str, *, status: str = "published",
              tags: Optional[list[str]] = None) -> dict[str, Any]:
    """A post in the blog table's layout (functions/blog_posts): `publishedFeed` only while
    published, which keeps drafts out of the sparse published-posts index."""
    item = {"pk": f"POST#{slug}", "sk": "POST", "type": "post", "slug": slug, "title": title,
            "summary": f"About {title}", "body": f"<p>{title}</p>", "tags": list(tags or []), "status": status,
            "publishedAt": published_at}
    if status == "published":
        item["publishedFeed"] = "POSTS"
    return item


def blog_scenario(run: ScenarioRun) -> None:
    """The blog API as CloudFront calls it (with the origin header), refused without it, and the double
    opt-in: subscribe -> one confirmation mail -> confirm via its link -> one welcome -> unsubscribe."""
    twin, component = run.twin, run.component
    api = twin.api_under(component)
    table = twin.env(twin.function(api_function(api)))["TABLE_NAME"]
    cloudfront = _cloudfront_origin_headers(run, api)
    posts = [post_item("hello-world", "Hello, world", "2026-01-02T09:00:00Z", tags=["news"]),
             post_item("second-post", "Second", "2026-02-03T09:00:00Z"),
             post_item("unfinished", "Draft", "2026-03-01T09:00:00Z", status="draft")]
    for post in posts:
        twin.put_item(table, post)
    listed = api.request("GET", "/api/posts", headers=cloudfront)
    run.require("list posts: 200", listed.status == 200, listed.describe())
    run.check("published posts only, newest first",
              [p["slug"] for p in listed.json()["posts"]] == ["second-post", "hello-world"], listed.body)
    read = api.request("GET", "/api/posts/hello-world", headers=cloudfront)
    run.check("read a post: its body", read.status == 200 and read.json().get("body") == "<p>Hello, world</p>",
              read.describe())
    draft = api.request("GET", "/api/posts/unfinished", headers=cloudfront)
    run.check("a draft is not served: 404", draft.status == 404, draft.describe())

    address = f"reader-{uuid.uuid4().hex[:6]}@example.com"
    _blog_direct_calls(run, api, table, address)

    stream_mappings = twin.mappings_from(f"table/{table}/stream")
    run.require("a mapping reads the blog table's stream", stream_mappings, table)
    welcome = twin.service.function_name(stream_mappings[0].props["functionName"])
    settings = twin.env(twin.function(welcome))
    destination = (stream_mappings[0].props.get("destinationConfig") or {}).get("onFailure", {}).get("destinationArn")
    sent_before = len(twin.plane.ses_sent_messages())

    def mails(template: str | None = None) -> list:
        return [m for m in twin.plane.ses_sent_messages()[sent_before:] if address in json.dumps(m.destinations)
                and (template is None or getattr(m, "template", None) == template)]

    mark = run.ledger_mark()
    for attempt, email in enumerate((address, address.upper())):
        subscribed = api.request("POST", "/api/subscribe", body={"email": email, "name": "Reader"},
                                 headers={"Content-Type": "application/json", **cloudfront})
        run.require(f"subscribe (attempt {attempt + 1}): 202", subscribed.status == 202, subscribed.describe())
        twin.service.pump()
    run.check("the stream record reached the mail function", run.invoked_since(mark, welcome), welcome)
    stored = [i for i in twin.table_items(table) if i.get("email") == address]
    run.check("the subscriber is stored pending", [i.get("status") for i in stored] == ["pending"], stored)
    confirmations = mails(settings["CONFIRMATION_TEMPLATE_NAME"])
    run.check("exactly one confirmation email (SES), even for two subscribes", len(confirmations) == 1,
              f"{len(confirmations)} sent")
    run.check("no welcome before the confirmation", len(mails()) == len(confirmations), f"{len(mails())} sent")
    run.require("a confirmation to follow", confirmations)
    link = json.loads(getattr(confirmations[0], "template_data", "{}") or "{}").get("confirmUrl", "")
    run.check("sent from the configured sender", confirmations[0].source == settings["SENDER_ADDRESS"],
              vars(confirmations[0]))
    run.check("the link points at the site's /api/subscriptions/confirm",
              link.startswith(settings["SITE_URL"] + "/api/subscriptions/confirm?token="), link)
    token = _link_token(link)

    forged = api.request("GET", "/api/subscriptions/confirm", headers=cloudfront,
                         query={"token": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")})
    run.check("a forged confirmation link: 400 JSON", forged.status == 400 and
              (forged.json() or {}).get("reason") == "token_invalid", forged.describe())
    confirmed = api.request("GET", "/api/subscriptions/confirm", headers=cloudfront, query={"token": token})
    run.require("confirm via the link: 200", confirmed.status == 200, confirmed.describe())
    twin.service.pump()
    welcomes = mails(settings["SES_TEMPLATE_NAME"])
    run.check("exactly one welcome email (SES) after the confirmation", len(welcomes) == 1, f"{len(welcomes)} sent")
    if welcomes:
        data = json.loads(getattr(welcomes[0], "template_data", "{}") or "{}")
        run.check("the welcome greets the subscriber by name", data.get("name") == "Reader", data)
        run.check("the welcome carries a signed unsubscribe link",
                  data.get("unsubscribeUrl", "").startswith(settings["SITE_URL"] + "/api/subscriptions/unsubscribe?"),
                  data)

    before = len(mails())
    again = api.request("POST", "/api/subscribe", body={"email": address.upper(), "name": "Reader"},
                        headers={"Content-Type": "application/json", **cloudfront})
    run.check("subscribe of a confirmed address: same 202", again.status == 202, again.describe())
    twice = api.request("GET", "/api/subscriptions/confirm", headers=cloudfront, query={"token": token})
    run.check("the confirmation link again: 200, already confirmed", twice.status == 200, twice.describe())
    twin.service.pump()
    run.check("a second subscribe or confirmation sends nothing more", len(mails()) == before == 2,
              f"{len(mails())} sent in all")

    if welcomes:
        unsubscribe = _link_token(json.loads(welcomes[0].template_data)["unsubscribeUrl"])
        gone = api.request("GET", "/api/subscriptions/unsubscribe", headers=cloudfront, query={"token": unsubscribe})
        run.check("unsubscribe via the welcome's link: 200", gone.status == 200, gone.describe())
        twin.service.pump()
        run.check("unsubscribed: the address is forgotten",
                  not [i for i in twin.table_items(table) if i.get("email") == address])
        run.check("unsubscribing sends nothing", len(mails()) == 2, f"{len(mails())} sent in all")
    if destination:
        run.check("nothing in the mail mapping's on-failure destination",
                  twin.plane.queue_depth(destination) == 0, destination)


def _cloudfront_origin_headers(run: ScenarioRun, api: RestApiGateway) -> dict[str, str]:
    """The custom headers the distribution in front of this API sends it: what CloudFront adds to every call."""
    rest_api = run.twin.one_under(run.component, REST_API)
    fronting = [origin for distribution in run.twin.snapshot.of_type(DISTRIBUTION)
                for origin in distribution.props.get("origins") or []
                if rest_api.outputs["id"] in str(origin.get("domainName"))]
    run.require("a CloudFront distribution fronts the API", fronting)
    headers = {h["name"]: h["value"] for origin in fronting for h in origin.get("customHeaders") or []}
    settings = run.twin.env(run.twin.function(api_function(api)))
    run.require("CloudFront sends the origin header the function checks",
                settings.get("ORIGIN_HEADER_NAME") in headers, sorted(headers))
    return headers


def _blog_direct_calls(run: ScenarioRun, api: RestApiGateway, table: str, address: str) -> None:
    """Around CloudFront (and its WAF), straight to the execute-api URL: refused, nothing stored."""
    direct = api.request("POST", "/api/subscribe", body={"email": address, "name": "Direct"},
                         headers={"Content-Type": "application/json"})
    run.check("a direct subscribe without CloudFront's header: 403", direct.status == 403 and
              (direct.json() or {}).get("reason") == "origin_not_allowed", direct.describe())
    wrong = api.request("GET", "/api/posts/direct-call", headers={"X-Origin-Verify": "guessed-" + "x" * 40})
    run.check("a direct read with a guessed header: 403", wrong.status == 403, wrong.describe())
    run.check("a refused call stores nothing", not [i for i in run.twin.table_items(table) if i.get("email") == address])


def _link_token(link: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return (parse_qs(urlsplit(link).query).get("token") or [""])[0]


def thumbnails_scenario(run: ScenarioRun) -> None:
    from PIL import Image

    twin, component = run.twin, run.component
    notification = twin.one_under(component, BUCKET_NOTIFICATION)
    target = notification.props["queues"][0]
    bucket, prefix, queue_arn = notification.props["bucket"], target.get("filterPrefix", ""), target["queueArn"]
    mappings = twin.mappings_from(queue_arn)
    run.require("a mapping reads the notification queue", mappings, queue_arn)
    worker = twin.function(mappings[0].props["functionName"])
    settings = twin.env(worker)
    thumbnails, sizes = settings["THUMBNAIL_BUCKET"], [int(s) for s in settings["SIZES"].split(",")]
    queue = next(q for q in twin.snapshot.of_type(QUEUE) if q.outputs["arn"] == queue_arn)
    dlq = json.loads(queue.props["redrivePolicy"])["deadLetterTargetArn"] if queue.props.get("redrivePolicy") else None
    s3 = twin.plane.client("s3")

    def jpeg(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=90)
        return out.getvalue()

    probe = _probe_topic(twin, settings.get("TOPIC_ARN"))
    key = f"{prefix}holiday/beach.jpg"
    mark = run.ledger_mark()
    s3.put_object(Bucket=bucket, Key=key, Body=jpeg(1600, 1200, (20, 120, 200)), ContentType="image/jpeg")
    twin.service.pump()
    run.check("the upload notification reached the worker", run.invoked_since(mark, worker.outputs["name"]))
    first = {}
    for size in sizes:
        try:
            found = s3.get_object(Bucket=thumbnails, Key=f"{size}/{key}")
        except s3.exceptions.NoSuchKey:
            run.check(f"thumbnail {size}/{key} written", False, "missing")
            continue
        image = Image.open(io.BytesIO(found["Body"].read()))
        first[size] = found["ETag"]
        run.check(f"thumbnail {size}/{key} is a JPEG within {size}px",
                  image.format == "JPEG" and max(image.size) <= size, f"{image.format} {image.size}")

    if probe is not None:
        announced = [json.loads(m["Body"]) for m in twin.plane.drain_queue(probe)]
        run.check("the thumbnail set is announced once on the topic",
                  [a.get("sourceKey") for a in announced] == [key] and
                  sorted(t["size"] for t in announced[0]["thumbnails"]) == sorted(sizes), announced)
    if settings.get("ANALYSIS_ENABLED") == "true":
        _thumbnail_analysis(run, worker, bucket, prefix, key, sizes, settings, probe,
                            announced if probe is not None else None, jpeg(800, 600, (255, 0, 0)))

    poison = f"{prefix}broken/not-a-photo.jpg"
    mark = run.ledger_mark()
    s3.put_object(Bucket=bucket, Key=poison, Body=b"this is not a JPEG at all" * 40, ContentType="image/jpeg")
    twin.service.pump()
    attempts = run.invoked_since(mark, worker.outputs["name"])
    run.check("poison file: handled once, no retry loop", len(attempts) == 1, f"{len(attempts)} invocations")
    failure_key = f"{settings.get('FAILURE_PREFIX', '_failures/')}{poison}.json"
    try:
        record = json.loads(s3.get_object(Bucket=thumbnails, Key=failure_key)["Body"].read())
        run.check("poison file: a failure record names it", record.get("sourceKey") == poison, record)
    except s3.exceptions.NoSuchKey:
        run.check("poison file: a failure record names it", False, f"no {failure_key}")
    run.check("poison file: no thumbnails", not s3.list_objects_v2(Bucket=thumbnails, Prefix=f"{sizes[0]}/{prefix}broken/")
              .get("KeyCount"))
    run.check("the queue is drained", twin.plane.queue_depth(queue_arn) == 0)
    if dlq:
        run.check("nothing in the DLQ", twin.plane.queue_depth(dlq) == 0, dlq)

    s3.put_object(Bucket=bucket, Key=key, Body=jpeg(900, 1400, (200, 60, 20)), ContentType="image/jpeg")
    twin.service.pump()
    after = s3.list_objects_v2(Bucket=thumbnails).get("Contents", [])
    keys = sorted(o["Key"] for o in after if o["Key"].endswith(key))
    run.check("same key again: the same thumbnail keys", keys == sorted(f"{s}/{key}" for s in sizes), keys)
    changed = {s: o["ETag"] for s in sizes for o in after if o["Key"] == f"{s}/{key}"}
    run.check("same key again: every thumbnail overwritten", all(changed.get(s) != first.get(s) for s in sizes),
              f"{first} -> {changed}")


def _thumbnail_analysis(run: ScenarioRun, worker: RecordedResource, bucket: str, prefix: str, key: str,
                        sizes: list[int], settings: dict[str, str], probe: Optional[str],
                        announced: Optional[list[dict]], red: bytes) -> None:
    """Rekognition on: labels on the accepted set (moto's DetectLabels), and a flagged image (the twin's
    DetectModerationLabels calls a pure red image violent) gets a failure record and no thumbnails."""
    twin, s3, thumbnails = run.twin, run.twin.plane.client("s3"), settings["THUMBNAIL_BUCKET"]
    labels = {size: s3.head_object(Bucket=thumbnails, Key=f"{size}/{key}")["Metadata"].get("labels") for size in sizes}
    run.check("analysis: every thumbnail carries the image's labels",
              all(value and "Mobile Phone" in json.loads(value) for value in labels.values()), labels)
    if announced:
        run.check("analysis: the announced set names its labels",
                  [label.get("name") for label in announced[0].get("labels", [])] == ["Mobile Phone"], announced[0])

    flagged = f"{prefix}flagged/red.jpg"
    mark = run.ledger_mark()
    s3.put_object(Bucket=bucket, Key=flagged, Body=red, ContentType="image/jpeg")
    twin.service.pump()
    run.check("flagged image: handled once, no retry", len(run.invoked_since(mark, worker.outputs["name"])) == 1)
    record_key = f"{settings.get('FAILURE_PREFIX', '_failures/')}{flagged}.json"
    try:
        record = json.loads(s3.get_object(Bucket=thumbnails, Key=record_key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        record = {}
    run.check("flagged image: a failure record with its moderation labels",
              record.get("reason") == "flagged" and
              [label.get("name") for label in record.get("moderationLabels", [])] == ["Violence", "Graphic Violence"],
              record or f"no {record_key}")
    written = [size for size in sizes if s3.list_objects_v2(Bucket=thumbnails, Prefix=f"{size}/{flagged}").get("KeyCount")]
    run.check("flagged image: no thumbnails", not written, written)
    if probe is not None:
        run.check("flagged image: nothing announced", not twin.plane.drain_queue(probe))


def _probe_topic(twin: Twin, topic_arn: Optional[str]) -> Optional[str]:
    """A private queue subscribed (raw) to the topic, to see what is published; None without a topic."""
    if not topic_arn:
        return None
    region = topic_arn.split(":")[3]
    name = f"twin-probe-{uuid.uuid4().hex[:8]}"
    twin.plane.client("sqs", region).create_queue(QueueName=name)
    arn = f"arn:aws:sqs:{region}:{topic_arn.split(':')[4]}:{name}"
    twin.plane.client("sns", region).subscribe(TopicArn=twin.plane.names.twin(topic_arn), Protocol="sqs", Endpoint=arn,
                                               Attributes={"RawMessageDelivery": "true"})
    return arn


def outbox_scenario(run: ScenarioRun) -> None:
    twin, component = run.twin, run.component
    api = twin.api_under(component)
    client = twin.one_under(component, USER_POOL_CLIENT)
    buyer = twin.user(client, f"buyer-{uuid.uuid4().hex[:6]}@example.com")
    order_function = twin.function(api_function(api))
    orders_table = twin.env(order_function)["ORDERS_TABLE"]
    consumers = [twin.function(m.props["functionName"]) for m in twin.snapshot.of_type(ESM)
                 if m in twin.snapshot.descendants_of(component.urn) and ":sqs:" in m.props["eventSourceArn"]]
    run.require("a consumer reads the shipping queue", consumers)
    shipments_table = twin.env(consumers[0])["SHIPMENTS_TABLE"]
    body = {"items": [{"sku": "BOOK-1", "quantity": 2, "unitPrice": 1250}], "currency": "EUR", "amount": 2500}
    headers = {**token_headers(api, buyer), "Idempotency-Key": f"order-{uuid.uuid4().hex}",
               "Content-Type": "application/json"}

    unauthenticated = api.request("POST", "/orders", body=body, headers={"Idempotency-Key": "x"})
    run.check("no token: 401", unauthenticated.status == 401, unauthenticated.describe())
    placed = api.request("POST", "/orders", headers=headers, body=body)
    run.require("place an order: 201", placed.status == 201, placed.describe())
    order_id = placed.json()["orderId"]
    mark = run.ledger_mark()
    twin.service.pump()
    invoked = {i.function for i in run.invoked_since(mark)}
    run.check("outbox stream -> relay -> bus -> rule -> queue -> consumer",
              {c.outputs["name"] for c in consumers} <= invoked, sorted(invoked))
    shipments = [s for s in twin.table_items(shipments_table) if s.get("orderId") == order_id]
    run.check("exactly one shipment for the order", len(shipments) == 1, shipments)

    other = {"items": [{"sku": "BOOK-1", "quantity": 3, "unitPrice": 1250}], "currency": "EUR", "amount": 3750}
    reused = api.request("POST", "/orders", headers=headers, body=other)
    run.check("the same Idempotency-Key with another body: 409", reused.status == 409, reused.describe())
    replay = api.request("POST", "/orders", headers=headers, body=body)
    run.check("replay with the same Idempotency-Key: the same order",
              replay.status in (200, 201) and replay.json().get("orderId") == order_id, replay.describe())
    twin.service.pump()
    shipments = [s for s in twin.table_items(shipments_table) if s.get("orderId") == order_id]
    orders = [o for o in twin.table_items(orders_table) if o.get("orderId") == order_id]
    run.check("replay creates nothing new: one order, one shipment", len(orders) == 1 and len(shipments) == 1,
              f"{len(orders)} orders, {len(shipments)} shipments")
    for queue in twin.under(component, QUEUE):
        if queue.outputs["arn"] in {m.props["eventSourceArn"] for m in twin.snapshot.of_type(ESM)}:
            continue
        run.check(f"nothing in {queue.name}", twin.plane.queue_depth(queue.outputs["arn"]) == 0)


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    component_type: str
    run: Callable[[ScenarioRun], None]
    xfail: Optional[str] = None
    """A known bug in a function or component (file, line, fix) that makes this scenario fail for now."""


from twin.scenarios_paid import paid_content_scenario  # noqa: E402  (its module imports this one lazily)
from twin.scenarios_ingestion import ingestion_scenario  # noqa: E402  (likewise)
from twin.scenarios_site import static_site_scenario  # noqa: E402  (likewise)
from twin.scenarios_blog import blog_authoring_scenario  # noqa: E402  (likewise)
from twin.scenarios_shop import cart_scenario  # noqa: E402  (likewise)
from twin.scenarios_health import shop_health_scenario  # noqa: E402  (likewise)
from twin.shop_processes import shop_processes  # noqa: E402

SCENARIOS = (
    ScenarioSpec("todo", COMPONENT_PREFIX + "ServerlessRestApi", todo_scenario),
    ScenarioSpec("blog", COMPONENT_PREFIX + "BlogApi", blog_scenario),
    ScenarioSpec("blog authoring", COMPONENT_PREFIX + "BlogAuthoring", blog_authoring_scenario),
    ScenarioSpec("thumbnails", COMPONENT_PREFIX + "ThumbnailPipeline", thumbnails_scenario),
    ScenarioSpec("outbox", COMPONENT_PREFIX + "OutboxRelay", outbox_scenario),
    ScenarioSpec("paid content", COMPONENT_PREFIX + "PaidContent", paid_content_scenario),
    ScenarioSpec("ingestion", COMPONENT_PREFIX + "IngestionPipeline", ingestion_scenario),
    ScenarioSpec("site invalidations", COMPONENT_PREFIX + "StaticSite", static_site_scenario),
    ScenarioSpec("shop cart", COMPONENT_PREFIX + "CartService", cart_scenario),
    ScenarioSpec("shop health", COMPONENT_PREFIX + "ShopHealth", shop_health_scenario),
)


# ----------------------------------------------------------------------------------------------------
# The run

def top_level_components(snapshot: StackSnapshot) -> list[RecordedResource]:
    return [r for r in snapshot.resources if not r.custom and r.resource_type.startswith(COMPONENT_PREFIX)
            and (r.parent or "").split("::")[-2:-1] == ["pulumi:pulumi:Stack"]]


def run_scenario(twin: Twin, spec: ScenarioSpec, component: RecordedResource) -> ScenarioResult:
    run = ScenarioRun(twin, component)
    mark, started, error = run.ledger_mark(), time.monotonic(), None
    refused = len(twin.service.refused)  # AWS_IAM requests whose signing role was denied
    try:
        spec.run(run)
    except ScenarioAborted as aborted:
        error = str(aborted)
    except Exception as exc:  # the scenario itself broke: report it, keep running the others
        error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=4))
    invocations = run.invoked_since(mark)
    failed = error is not None or any(not c.ok for c in run.checks)
    status = (XFAIL if failed else XPASS) if spec.xfail else (FAIL if failed else PASS)
    return ScenarioResult(
        name=spec.name, component=component.name, status=status, checks=run.checks,
        functions=list(dict.fromkeys(i.function for i in invocations)), invocations=len(invocations),
        calls=sum(len(i.result.calls) for i in invocations),
        denied=[str(d) for i in invocations for d in i.denied] + [str(r) for r in twin.service.refused[refused:]],
        unjudged=[f"{i.function}: {u}" for i in invocations for u in i.unjudged],
        error=error.splitlines()[0] if error else None, xfail_reason=spec.xfail,
        seconds=time.monotonic() - started)


def run_twin(twin: Twin, scenarios: tuple[ScenarioSpec, ...] = SCENARIOS) -> TwinReport:
    report = TwinReport(stack=twin.stack, functions=sorted(twin.service.functions),
                        judged=twin.service.judge is not None)
    for component in top_level_components(twin.snapshot):
        specs = [s for s in scenarios if s.component_type == component.resource_type]
        for spec in specs:
            report.scenarios.append(run_scenario(twin, spec, component))
        has_functions = any(r.resource_type == LAMBDA_FUNCTION for r in twin.snapshot.descendants_of(component.urn))
        if not specs and not has_functions:
            report.scenarios.append(ScenarioResult(name=component.resource_type.rsplit(":", 1)[1],
                                                   component=component.name, status=NO_FUNCTIONS))
    report.invoked = {i.function for i in twin.service.ledger}
    for mapping in twin.service.mappings:
        stats = mapping.stats
        report.mappings.append(MappingRow(mapping.name, mapping.function, stats.received, stats.filtered_out,
                                          stats.invocations, stats.retries, stats.sent_to_destination))
    report.notes += [f"{n.resource}: {n.text}" for n in twin.plane.notes]
    for function in report.invoked:
        granted_unused = [set(i.unused_actions) for i in twin.service.ledger if i.function == function]
        report.unused_grants[function] = sorted(set.intersection(*granted_unused)) if granted_unused else []
    for invocation in twin.service.ledger:
        if invocation.failed and invocation.source.startswith("apigateway"):
            report.notes.append(f"{invocation.function} raised on {invocation.source}: "
                                f"{invocation.result.error.get('errorMessage', '')[:200]}")
    return report


def run_stack(stack: str, *, snapshot: Optional[StackSnapshot] = None, runner: Optional[Callable] = None,
              artifact_for: Optional[Callable] = None, judge: Any = TWIN_JUDGE,
              scenarios: tuple[ScenarioSpec, ...] = SCENARIOS) -> TwinReport:
    """Build the stack's twin on a fresh moto server, run every scenario that applies, and report."""
    timings: dict[str, float] = {}
    clock = [time.monotonic()]

    def lap(step: str) -> None:
        now = time.monotonic()
        timings[step], clock[0] = now - clock[0], now

    started = clock[0]
    snapshot = snapshot or evaluate_stack(stack)
    lap("evaluate")
    with moto_server() as endpoint, contextlib.ExitStack() as processes:
        plane = build_data_plane(snapshot, endpoint)
        # Before the sandboxes start: they read where Redis and the catalog answer (plane.overrides).
        processes.enter_context(shop_processes(plane))
        lap("data plane")
        service = LambdaService(plane, runner=runner, artifact_for=artifact_for, judge=judge)
        try:
            service.warm()
            lap("warm sandboxes")
            twin = Twin(stack, snapshot, plane, service, gateways(service))
            report = run_twin(twin, scenarios)
            lap("scenarios")
        finally:
            service.close()
    report.seconds = time.monotonic() - started
    report.timings = timings
    return report
