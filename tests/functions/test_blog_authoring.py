"""blog_authoring on moto: authors create, update and unpublish posts; writes are idempotent; CloudFront is asked
to drop exactly the changed paths, once per change; what is written is what the public blog API reads."""

from __future__ import annotations

import importlib
import json
import sys

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from boto3.dynamodb.types import TypeSerializer
from botocore.stub import Stubber
from moto import mock_aws

import blog_posts
from blog_api import posts as public_posts
from blog_authoring import authoring
from tests.functions.paid_content_events import REGION, call, rest_event
from tests.functions.test_api_fuzz import assert_answered_well, rest_events

TABLE = "blog"
GROUP = "authors"
AUTHOR = {"sub": "0f8fad5b-d9cb-469f-a165-70867728950e", "cognito:groups": GROUP}
READER = {"sub": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "cognito:groups": "editors"}
TEMPLATES = ["/api/posts*", "/posts/{slug}/*"]
POST = {"slug": "hello-world", "title": "Hello, world", "summary": "The first one", "body": "<p>Hi</p>",
        "tags": ["news"]}


def _create_table(dynamodb) -> None:
    dynamodb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"}
                              for name in ("pk", "sk", "publishedFeed", "publishedAt")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": blog_posts.PUBLISHED_INDEX,
            "KeySchema": [{"AttributeName": "publishedFeed", "KeyType": "HASH"},
                          {"AttributeName": "publishedAt", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE",
                           "NonKeyAttributes": ["slug", "title", "summary", "tags", "status"]}}])


def _distribution(cloudfront) -> str:
    return cloudfront.create_distribution(DistributionConfig={
        "CallerReference": "site", "Comment": "blog", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "site", "DomainName": "site.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})["Distribution"]["Id"]


class Blog:
    def __init__(self, module, distribution_id: str):
        self.module, self.distribution_id = module, distribution_id
        self.dynamodb, self.cloudfront = boto3.client("dynamodb"), boto3.client("cloudfront")

    def invalidations(self) -> list[list[str]]:
        listed = self.cloudfront.list_invalidations(DistributionId=self.distribution_id)["InvalidationList"]
        ids = [i["Id"] for i in listed.get("Items", [])]
        return [self.cloudfront.get_invalidation(DistributionId=self.distribution_id, Id=i)
                ["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] for i in ids]

    def public(self, slug: str):
        return public_posts.get_published_post(self.dynamodb, TABLE, slug)

    def listed(self) -> list[str]:
        page = public_posts.list_published_posts(self.dynamodb, TABLE, limit=10, cursor=None)
        return [p["slug"] for p in page.posts]

    def stored(self, slug: str) -> dict:
        return authoring.read_post(self.dynamodb, TABLE, slug) or {}


@pytest.fixture
def blog(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
                        "TABLE_NAME": TABLE, "AUTHORS_GROUP": GROUP, "INVALIDATION_PATHS": json.dumps(TEMPLATES),
                        "POWERTOOLS_SERVICE_NAME": "blog-authoring"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        _create_table(boto3.client("dynamodb"))
        distribution_id = _distribution(boto3.client("cloudfront"))
        monkeypatch.setenv("DISTRIBUTION_ID", distribution_id)
        if "blog_authoring.handler" in sys.modules:
            module = importlib.reload(sys.modules["blog_authoring.handler"])
        else:
            module = importlib.import_module("blog_authoring.handler")
        module.client.cache_clear()
        yield Blog(module, distribution_id)


def create(body, claims=AUTHOR, raw=None):
    return rest_event("POST", "/posts", "/posts", claims=claims, body=body, raw_body=raw)


def update(slug, body, claims=AUTHOR):
    return rest_event("PUT", f"/posts/{slug}", "/posts/{slug}", claims=claims, path_parameters={"slug": slug},
                      body=body)


def unpublish(slug, version, claims=AUTHOR):
    return rest_event("POST", f"/posts/{slug}/unpublish", "/posts/{slug}/unpublish", claims=claims,
                      path_parameters={"slug": slug}, body={"version": version})


def read(slug, claims=AUTHOR):
    return rest_event("GET", f"/posts/{slug}", "/posts/{slug}", claims=claims, path_parameters={"slug": slug})


# --- create -----------------------------------------------------------------------------------------

def test_publishing_a_post_makes_it_public_and_invalidates_the_api_and_its_page(blog):
    status, headers, body = call(blog.module, create({**POST, "status": "published"}))
    assert status == 201 and body["version"] == 1 and body["status"] == "published" and not body["replayed"]
    assert body["invalidation"]["paths"] == ["/api/posts*", "/posts/hello-world/*"]
    assert blog.invalidations() == [["/api/posts*", "/posts/hello-world/*"]]
    assert blog.listed() == ["hello-world"]
    assert blog.public("hello-world") == {"slug": "hello-world", "title": "Hello, world", "summary": "The first one",
                                          "body": "<p>Hi</p>", "tags": ["news"],
                                          "publishedAt": body["publishedAt"]}
    assert headers["Cache-Control"] == ["no-store"]
    assert "invalidationPending" not in blog.stored("hello-world")


def test_a_draft_is_stored_unseen_and_invalidates_nothing(blog):
    status, _, body = call(blog.module, create(POST))
    assert status == 201 and body["status"] == "draft" and body["invalidation"] is None
    assert "publishedAt" not in body
    assert blog.public("hello-world") is None and blog.listed() == []
    assert blog.invalidations() == []


def test_a_replayed_create_answers_the_same_and_writes_and_invalidates_once(blog):
    first = call(blog.module, create({**POST, "status": "published"}))
    again = call(blog.module, create({**POST, "status": "published"}))
    assert again[0] == 201 and again[2]["replayed"] is True
    assert {k: v for k, v in again[2].items() if k != "replayed"} == \
        {k: v for k, v in first[2].items() if k != "replayed"}
    assert blog.stored("hello-world")["version"] == 1
    assert len(blog.invalidations()) == 1


def test_creating_an_existing_slug_with_another_body_is_a_conflict(blog):
    call(blog.module, create(POST))
    status, _, body = call(blog.module, create({**POST, "title": "Another"}))
    assert status == 409 and body["reason"] == "post_exists"
    assert blog.stored("hello-world")["title"] == "Hello, world"


# --- update and unpublish ---------------------------------------------------------------------------

def test_an_update_names_its_version_and_a_stale_one_is_refused(blog):
    call(blog.module, create({**POST, "status": "published"}))
    status, _, body = call(blog.module, update("hello-world", {"version": 1, "title": "Hello again",
                                                                 "summary": "", "body": "<p>Edited</p>"}))
    assert status == 200 and body["version"] == 2 and body["status"] == "published"
    assert blog.public("hello-world")["body"] == "<p>Edited</p>"
    assert len(blog.invalidations()) == 2
    stale = call(blog.module, update("hello-world", {"version": 1, "title": "Lost", "body": "<p>x</p>"}))
    assert stale[0] == 409 and stale[2]["reason"] == "version_conflict" and "version is now 2" in stale[2]["message"]
    assert blog.stored("hello-world")["title"] == "Hello again"


def test_publishing_a_draft_keeps_the_first_publication_date_across_unpublish(blog):
    call(blog.module, create(POST))
    published = call(blog.module, update("hello-world", {"version": 1, "status": "published", **_content()}))[2]
    call(blog.module, unpublish("hello-world", 2))
    again = call(blog.module, update("hello-world", {"version": 3, "status": "published", **_content()}))[2]
    assert again["publishedAt"] == published["publishedAt"] and again["version"] == 4


def test_editing_a_never_published_draft_invalidates_nothing(blog):
    call(blog.module, create(POST))
    status, _, body = call(blog.module, update("hello-world", {"version": 1, **_content()}))
    assert status == 200 and body["status"] == "draft" and body["invalidation"] is None
    assert blog.invalidations() == []


def test_unpublish_takes_the_post_out_of_the_api_once(blog):
    call(blog.module, create({**POST, "status": "published"}))
    status, _, body = call(blog.module, unpublish("hello-world", 1))
    assert status == 200 and body["status"] == "draft" and body["version"] == 2
    assert blog.public("hello-world") is None and blog.listed() == []
    replay = call(blog.module, unpublish("hello-world", 1))
    assert replay[0] == 200 and replay[2]["replayed"] is True
    assert blog.invalidations() == [["/api/posts*", "/posts/hello-world/*"]] * 2  # publish, unpublish: no third


def test_unpublishing_a_draft_changes_nothing(blog):
    call(blog.module, create(POST))
    status, _, body = call(blog.module, unpublish("hello-world", 1))
    assert status == 200 and body["version"] == 1 and body["invalidation"] is None
    assert blog.invalidations() == []


def test_a_post_written_before_authoring_is_version_1(blog):
    seeded = blog_posts.post_item(slug="old-post", title="Old", summary="", body="<p>old</p>",
                                    published_at="2024-05-01T08:00:00Z")
    blog.dynamodb.put_item(TableName=TABLE, Item={k: TypeSerializer().serialize(v) for k, v in seeded.items()})
    assert call(blog.module, read("old-post"))[2]["version"] == 1
    stale = call(blog.module, update("old-post", {"version": 2, **_content()}))
    assert stale[0] == 409 and stale[2]["reason"] == "version_conflict"
    status, _, body = call(blog.module, update("old-post", {"version": 1, **_content()}))
    assert status == 200 and body["version"] == 2 and body["publishedAt"] == "2024-05-01T08:00:00Z"
    assert body["invalidation"]["paths"] == ["/api/posts*", "/posts/old-post/*"]


def test_writes_to_a_missing_post_are_404(blog):
    assert call(blog.module, update("nope", {"version": 1, **_content()}))[0] == 404
    assert call(blog.module, unpublish("nope", 1))[0] == 404
    assert call(blog.module, read("nope"))[0] == 404


def test_authors_read_drafts_with_their_version(blog):
    call(blog.module, create(POST))
    status, _, body = call(blog.module, read("hello-world"))
    assert status == 200 and body["status"] == "draft" and body["version"] == 1
    assert "lastWrite" not in body and "pk" not in body


# --- the cache refresh --------------------------------------------------------------------------------

def test_a_failed_invalidation_is_finished_by_retrying_the_same_request(blog, monkeypatch):
    monkeypatch.setattr(blog.module, "DISTRIBUTION_ID", "EDOESNOTEXIST")
    status, headers, body = call(blog.module, create({**POST, "status": "published"}))
    assert status == 503 and body["reason"] == "invalidation_pending" and headers["Retry-After"] == ["5"]
    assert blog.stored("hello-world")["invalidationPending"] is True
    monkeypatch.setattr(blog.module, "DISTRIBUTION_ID", blog.distribution_id)
    status, _, body = call(blog.module, create({**POST, "status": "published"}))
    assert status == 201 and body["replayed"] is True and body["invalidation"]["id"]
    assert blog.invalidations() == [["/api/posts*", "/posts/hello-world/*"]]
    assert "invalidationPending" not in blog.stored("hello-world")


def test_a_pending_refresh_is_not_lost_by_a_later_draft_edit(blog, monkeypatch):
    call(blog.module, create({**POST, "status": "published"}))
    monkeypatch.setattr(blog.module, "DISTRIBUTION_ID", "EDOESNOTEXIST")
    assert call(blog.module, unpublish("hello-world", 1))[0] == 503
    monkeypatch.setattr(blog.module, "DISTRIBUTION_ID", blog.distribution_id)
    status, _, body = call(blog.module, update("hello-world", {"version": 2, **_content()}))
    assert status == 200 and body["invalidation"] is not None and len(blog.invalidations()) == 2


# moto 5.2.5 has no FlushStageCache (no route for DELETE .../cache/data): botocore's Stubber answers it.
API_ID, STAGE = "a1b2c3d4e5", "v1"


@pytest.fixture
def stage_cache(blog, monkeypatch):
    """The public API's stage has a cache: its id and stage are set, and its FlushStageCache calls are stubbed;
    `calls` lists the flush and invalidation requests in the order made."""
    monkeypatch.setattr(blog.module, "PUBLIC_API_ID", API_ID)
    monkeypatch.setattr(blog.module, "PUBLIC_API_STAGE", STAGE)
    apigateway = blog.module.client("apigateway")
    calls: list[str] = []
    for service in ("apigateway", "cloudfront"):
        blog.module.client(service).meta.events.register(
            "provide-client-params", lambda model, **_: calls.append(model.name))
    with Stubber(apigateway) as stubber:
        yield stubber, calls
        stubber.assert_no_pending_responses()


FLUSH = {"restApiId": API_ID, "stageName": STAGE}


def test_a_publish_flushes_the_public_api_stage_cache_before_invalidating_cloudfront(blog, stage_cache):
    stubber, calls = stage_cache
    stubber.add_response("flush_stage_cache", {}, FLUSH)
    status, _, body = call(blog.module, create({**POST, "status": "published"}))
    assert status == 201 and body["invalidation"]["paths"] == ["/api/posts*", "/posts/hello-world/*"]
    # CloudFront refetches from the API: were the stage cache flushed second, it could refill from the old answer.
    assert calls == ["FlushStageCache", "CreateInvalidation"]


def test_a_draft_flushes_nothing(blog, stage_cache):
    _, calls = stage_cache  # no stubbed response: a flush would fail the request
    assert call(blog.module, create(POST))[0] == 201 and calls == []


def test_without_a_stage_cache_nothing_is_flushed(blog):
    apigateway = blog.module.client("apigateway")
    with Stubber(apigateway) as stubber:  # any call would be unstubbed and fail the request
        status, _, _ = call(blog.module, create({**POST, "status": "published"}))
        stubber.assert_no_pending_responses()
    assert blog.module.PUBLIC_API_ID is None and status == 201 and len(blog.invalidations()) == 1


def test_a_failed_flush_is_503_and_the_retry_flushes_and_invalidates_once(blog, stage_cache):
    stubber, calls = stage_cache
    stubber.add_client_error("flush_stage_cache", "TooManyRequestsException", http_status_code=429,
                             expected_params=FLUSH)
    stubber.add_response("flush_stage_cache", {}, FLUSH)
    status, headers, body = call(blog.module, create({**POST, "status": "published"}))
    assert status == 503 and body["reason"] == "invalidation_pending" and headers["Retry-After"] == ["5"]
    assert blog.invalidations() == [] and blog.stored("hello-world")["invalidationPending"] is True
    status, _, body = call(blog.module, create({**POST, "status": "published"}))
    assert status == 201 and body["replayed"] is True and body["invalidation"]["id"]
    assert blog.invalidations() == [["/api/posts*", "/posts/hello-world/*"]]
    assert "invalidationPending" not in blog.stored("hello-world")
    assert calls == ["FlushStageCache", "FlushStageCache", "CreateInvalidation"]


def test_the_caller_reference_is_one_per_version():
    item = {"slug": "a", "version": 3, "lastWrite": "f" * 64}
    assert authoring.caller_reference(item) == authoring.caller_reference(dict(item))
    assert authoring.caller_reference(item) != authoring.caller_reference({**item, "version": 4})


def test_page_paths_follow_the_templates():
    assert authoring.invalidation_paths(["/api/posts*", "/en/posts/{slug}/*", "/fr/posts/{slug}/*"], "x") == \
        ["/api/posts*", "/en/posts/x/*", "/fr/posts/x/*"]


# --- who may write ----------------------------------------------------------------------------------

def test_a_signed_in_user_outside_the_authors_group_gets_403(blog):
    status, _, body = call(blog.module, create(POST, claims=READER))
    assert status == 403 and body["reason"] == "not_author"
    assert call(blog.module, read("hello-world", claims=READER))[0] == 403
    assert blog.stored("hello-world") == {}


def test_no_claims_is_401(blog):
    status, _, body = call(blog.module, create(POST, claims={}))
    assert status == 401 and body["reason"] == "unauthenticated"


@pytest.mark.parametrize("groups", ["editors,authors", "[editors authors]", "authors"])
def test_the_group_claim_is_read_in_every_shape_api_gateway_sends(blog, groups):
    assert call(blog.module, create(POST, claims={**AUTHOR, "cognito:groups": groups}))[0] == 201


def test_a_group_whose_name_contains_authors_is_not_authors(blog):
    assert call(blog.module, create(POST, claims={**AUTHOR, "cognito:groups": "co-authors"}))[0] == 403


# --- validation -------------------------------------------------------------------------------------

def _content() -> dict:
    return {k: POST[k] for k in ("title", "summary", "body", "tags")}


@pytest.mark.parametrize("body, message", [
    ({**POST, "slug": "Hello World"}, "slug must be"),
    ({k: v for k, v in POST.items() if k != "slug"}, "slug is required"),
    ({**POST, "title": ""}, "title must be 1 to 200"),
    ({**POST, "title": 7}, "title is required"),
    ({k: v for k, v in POST.items() if k != "body"}, "body is required"),
    ({**POST, "status": "live"}, "status must be one of: published, draft"),
    ({**POST, "tags": ["News!"]}, "tags must be a list"),
    ({**POST, "tags": ["a", "a"]}, "tags must not repeat"),
    ({**POST, "author": "me"}, "unknown field(s): author"),
    ({**POST, "version": 1}, "unknown field(s): version"),
])
def test_an_invalid_create_is_400_naming_the_field(blog, body, message):
    status, _, answer = call(blog.module, create(body))
    assert status == 400 and message in answer["message"]
    assert blog.stored("hello-world") == {}


@pytest.mark.parametrize("version", [None, True, 0, "1", 1.5])
def test_an_update_without_a_valid_version_is_400(blog, version):
    call(blog.module, create(POST))
    body = {**_content(), **({} if version is None else {"version": version})}
    status, _, answer = call(blog.module, update("hello-world", body))
    assert status == 400 and "version is required" in answer["message"]


def test_a_body_that_is_not_json_is_400_and_the_wrong_content_type_415(blog):
    assert call(blog.module, create(None, raw="{not json"))[0] == 400
    event = create(POST)
    event["headers"]["Content-Type"] = event["multiValueHeaders"]["Content-Type"][0] = "text/plain"
    assert call(blog.module, event)[0] == 415


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["slug", "title", "summary", "body", "tags", "status", "version", "x"]),
                       st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                                    lambda inner: st.lists(inner, max_size=3), max_leaves=5)))
def test_no_body_is_answered_with_a_5xx(blog, body):
    for event in (create(body), update("hello-world", body)):
        status, _, answer = call(blog.module, event)
        assert status < 500, answer


ROUTES = [("GET", "/posts/{slug}"), ("POST", "/posts"), ("PUT", "/posts/{slug}"), ("POST", "/posts/{slug}/unpublish")]
post_bodies = st.fixed_dictionaries({}, optional={
    "slug": st.sampled_from(["hello-world", "x", "Bad Slug"]) | st.text(max_size=8),
    "title": st.text(max_size=10) | st.integers(), "summary": st.text(max_size=5), "body": st.text(max_size=20),
    "tags": st.lists(st.text(max_size=5), max_size=3), "status": st.sampled_from(["draft", "published", "x"]),
    "version": st.integers(-1, 3) | st.booleans() | st.none()})


@st.composite
def authoring_events(draw: st.DrawFn) -> dict:
    """The shared fuzzer's events (any method, path, header, body encoding, claims), often from an author."""
    event = draw(rest_events(ROUTES, post_bodies))
    if draw(st.integers(0, 2)):
        event["requestContext"]["authorizer"] = {"claims": AUTHOR}
    return event


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(event=authoring_events())
def test_any_request_is_answered_with_json_and_never_a_5xx(blog, event):
    assert_answered_well(blog.module.handler, event)
