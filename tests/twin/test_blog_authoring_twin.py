"""BlogAuthoring joins the twin: an author in `authors` publishes with real moto Cognito tokens, readers get
the post through BlogApi, one invalidation with the right paths, no denied call; without the invalidation
grant the same run is red."""
from __future__ import annotations

import copy
import json

import pytest

from twin.report import FAIL, PASS, TwinReport
from twin.scenarios import SCENARIOS, run_stack

AUTHORING = tuple(s for s in SCENARIOS if s.component_type.endswith(":BlogAuthoring"))


@pytest.fixture(scope="module")
def dev_authoring(dev_stack, python313) -> TwinReport:
    return run_stack("dev", snapshot=dev_stack, scenarios=AUTHORING)


@pytest.fixture(scope="module")
def prod_authoring(prod_stack, python313) -> TwinReport:
    return run_stack("prod", snapshot=prod_stack, scenarios=AUTHORING)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_publishing_is_green_on_the_real_functions(stack, request):
    report: TwinReport = request.getfixturevalue(f"{stack}_authoring")
    [scenario] = [s for s in report.scenarios if s.name == "blog authoring"]
    assert scenario.status == PASS, report.render()
    assert scenario.denied == [] and scenario.unjudged == []
    assert any(f.startswith("blog-authoring-handler") for f in scenario.functions)
    assert any(f.startswith("blog-api-handler") for f in scenario.functions)
    checks = {c.name for c in scenario.checks}
    assert {"the invalidation was requested once, with /api/posts* and the post's pages",
            "readers get the post through the public API",
            "signed in, outside authors: 403 not_author"} <= checks
    if stack == "prod":  # BlogApi's stage caches the post GETs: the function flushes it, readers see posts at once
        assert {"the function flushes BlogApi's stage cache",
                "before the publish, the list lacks the post and is served from the stage cache",
                "the stage cache was flushed once, before the invalidation",
                "the list read before the publish has the post at once",
                "unpublished: readers get 404 at once"} <= checks
    else:
        assert {"no stage cache: the function flushes none", "no stage cache: nothing flushed"} <= checks


def test_without_the_flush_grant_prod_readers_keep_the_stale_list(prod_stack, python313):
    changed = copy.deepcopy(prod_stack)
    policy = changed.named("blog-authoring-handler-policy")
    document = json.loads(policy.props["policy"])
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "FlushPublicApiStageCache"]
    policy.props["policy"] = json.dumps(document)

    report = run_stack("prod", snapshot=changed, scenarios=AUTHORING)

    [scenario] = [s for s in report.scenarios if s.name == "blog authoring"]
    assert scenario.status == FAIL
    assert scenario.denied and all("apigateway:DELETE" in d for d in scenario.denied), scenario.denied
    # A denied flush changes nothing: the stage cache still serves the list from before the publish.
    failed = {c.name for c in scenario.checks if not c.ok}
    assert "the list read before the publish has the post at once" in failed, report.render()


def test_without_the_invalidation_grant_the_publish_is_denied(dev_stack, python313):
    changed = copy.deepcopy(dev_stack)
    policy = changed.named("blog-authoring-handler-policy")
    document = json.loads(policy.props["policy"])
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "InvalidateThisDistribution"]
    policy.props["policy"] = json.dumps(document)

    report = run_stack("dev", snapshot=changed, scenarios=AUTHORING)

    [scenario] = [s for s in report.scenarios if s.name == "blog authoring"]
    assert scenario.status == FAIL
    assert scenario.denied and all("cloudfront:CreateInvalidation" in d for d in scenario.denied), scenario.denied
