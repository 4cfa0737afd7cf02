"""site_invalidations on moto: after a deployment, exactly the paths of changed pages are invalidated;
nothing on create or delete, nothing when no page changed."""

from __future__ import annotations

import types

import boto3
import pytest
from moto import mock_aws

from site_invalidations import handler as invalidations

REGION = "us-east-1"
PAGES = {"/": "h-index", "/index.html": "h-index", "/posts/x/": "h-x", "/posts/x/index.html": "h-x",
         "/404.html": "h-404"}


@pytest.fixture
def distribution_id(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    invalidations.cloudfront.cache_clear()
    with mock_aws():
        created = boto3.client("cloudfront").create_distribution(DistributionConfig={
            "CallerReference": "site", "Comment": "site", "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "site-bucket", "DomainName": "site.s3.amazonaws.com",
                                                  "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "site-bucket", "ViewerProtocolPolicy": "redirect-to-https",
                                     "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})
        yield created["Distribution"]["Id"]
    invalidations.cloudfront.cache_clear()


def deploy(distribution_id: str, paths: dict, action: str, previous: dict | None = None,
           previous_distribution: str | None = None, request_id: str = "req-1") -> dict:
    prev_input = None if previous is None else {"distributionId": previous_distribution or distribution_id,
                                                 "paths": previous}
    event = {"distributionId": distribution_id, "paths": paths, "tf": {"action": action, "prev_input": prev_input}}
    return invalidations.handler(event, types.SimpleNamespace(aws_request_id=request_id))


def invalidated(distribution_id: str) -> list[list[str]]:
    client = boto3.client("cloudfront")
    listed = client.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get("Items") or []
    return [client.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
            ["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] for item in listed]


def test_the_first_deployment_invalidates_nothing(distribution_id):
    assert deploy(distribution_id, PAGES, "create") == {"action": "create", "paths": [], "invalidationId": None}
    assert invalidated(distribution_id) == []


def test_an_update_invalidates_exactly_the_paths_of_the_changed_page(distribution_id):
    result = deploy(distribution_id, {**PAGES, "/posts/x/": "h-x2", "/posts/x/index.html": "h-x2"}, "update", PAGES)
    assert result["paths"] == ["/posts/x/", "/posts/x/index.html"] and result["invalidationId"]
    assert invalidated(distribution_id) == [["/posts/x/", "/posts/x/index.html"]]


def test_added_and_removed_pages_are_invalidated_too(distribution_id):
    current = {**{k: v for k, v in PAGES.items() if not k.startswith("/posts/x")}, "/posts/y/": "h-y"}
    result = deploy(distribution_id, current, "update", PAGES)
    assert result["paths"] == ["/posts/x/", "/posts/x/index.html", "/posts/y/"]


def test_an_update_without_a_changed_page_invalidates_nothing(distribution_id):
    # e.g. only a fingerprinted asset or the site's settings changed: the component lists no asset.
    assert deploy(distribution_id, PAGES, "update", PAGES)["paths"] == []
    assert invalidated(distribution_id) == []


@pytest.mark.parametrize("action", ["delete", "create"])
def test_create_and_delete_invalidate_nothing(distribution_id, action):
    assert deploy(distribution_id, {}, action, PAGES)["invalidationId"] is None


def test_a_new_distribution_has_nothing_cached_to_invalidate(distribution_id):
    changed = {**PAGES, "/": "h-index2"}
    assert deploy(distribution_id, changed, "update", PAGES, previous_distribution="EOLDDISTRIBUTION")["paths"] == []


def test_more_changed_paths_than_cloudfront_takes_at_once_become_one_wildcard(distribution_id):
    many = {f"/p{i}/": "new" for i in range(invalidations.MAX_PATHS + 1)}
    assert deploy(distribution_id, many, "update", {})["paths"] == ["/*"]
    assert invalidated(distribution_id) == [["/*"]]


def test_each_deployment_is_its_own_invalidation(distribution_id):
    changed = {**PAGES, "/": "h-index2", "/index.html": "h-index2"}
    deploy(distribution_id, changed, "update", PAGES, request_id="req-1")
    deploy(distribution_id, PAGES, "update", changed, request_id="req-2")  # reverted: invalidated again
    assert len(invalidated(distribution_id)) == 2
