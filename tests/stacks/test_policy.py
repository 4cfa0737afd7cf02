"""Every real stack against the whole policy pack, offline: the gate `pulumi preview --policy-pack policy` runs."""
import copy
import dataclasses
import runpy

import pytest

from offline.harness import PROJECT_DIR, StackSnapshot, evaluate_program, read_stack_config
from offline.report import evaluate_snapshot, render_policy_report
from policy import SUPPRESSIONS, Suppression, evaluate

INTEGRATION = "aws:apigateway/integration:Integration"
LONG_BUCKET = "photos-originals-kept-for-the-long-term-archive-of-uploads"
"""A component name a reviewer could easily accept: 58 characters, 66 once auto-named; S3 allows 63."""


@pytest.fixture(params=["dev_stack", "prod_stack"])
def stack(request) -> StackSnapshot:
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def dev_with_a_long_bucket_name() -> StackSnapshot:
    """The real dev stack plus one component whose bucket name can't be created."""
    def program():
        from serverless_blueprints.secure_bucket import SecureBucket

        runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")
        SecureBucket(LONG_BUCKET, {})

    config = read_stack_config("dev")
    return evaluate_program(program, stack="dev", region=config["aws:region"], config=config)


def _with_props(snapshot: StackSnapshot, name: str, **props) -> StackSnapshot:
    """A copy of the stack where one resource's inputs are changed."""
    resources = []
    for resource in snapshot.resources:
        if resource.name == name and resource.custom:
            resource = dataclasses.replace(resource, props={**copy.deepcopy(resource.props), **props})
        resources.append(resource)
    return dataclasses.replace(snapshot, resources=resources)


def test_stack_has_no_mandatory_policy_finding(stack):
    report = evaluate_snapshot(stack)
    assert report.ok, report.summary()


def test_stack_breaks_no_deploy_time_limit(stack):
    report = evaluate_snapshot(stack)
    assert report.limit_findings == [], report.summary()


def test_report_environment_comes_from_the_stack(stack):
    assert evaluate_snapshot(stack).environment == stack.stack


def test_dev_demo_origin_is_private_so_nothing_is_suppressed(dev_stack):
    """The demo is a CloudFront VPC origin to an internal ALB: no HTTP across the internet to accept."""
    report = evaluate_snapshot(dev_stack)
    assert report.for_rule("SB-CF-005") == [] and report.suppressed == []


def test_suppressed_finding_is_printed_with_its_reason(prod_stack):
    broken = _with_props(prod_stack, "updates-cdn", origins=[
        {**prod_stack.named("updates-cdn").props["origins"][0],
         "customOriginConfig": {"originProtocolPolicy": "http-only", "originSslProtocols": ["TLSv1.2"],
                                "httpPort": 80, "httpsPort": 443}}])
    accepted = Suppression("SB-CF-005", "updates-cdn", "a reviewer's reason", environments=("prod",))
    report = evaluate_snapshot(broken, suppressions=[accepted])
    text = render_policy_report(report)
    assert [s.reason for s in report.suppressed] == ["a reviewer's reason"]
    assert "suppressed (1, accepted in policy/suppressions.py)" in text
    assert "reason: a reviewer's reason" in text


def test_prod_accepts_no_finding(prod_stack):
    assert evaluate_snapshot(prod_stack).suppressed == []


def test_an_http_origin_is_a_mandatory_finding(prod_stack):
    broken = _with_props(prod_stack, "updates-cdn", origins=[
        {**prod_stack.named("updates-cdn").props["origins"][0],
         "customOriginConfig": {"originProtocolPolicy": "http-only", "originSslProtocols": ["TLSv1.2"],
                                "httpPort": 80, "httpsPort": 443}}])
    report = evaluate_snapshot(broken)
    assert [(f.rule_id, f.name) for f in report.mandatory] == [("SB-CF-005", "updates-cdn")]


def test_every_suppression_still_matches_a_finding_in_some_stack(dev_stack, prod_stack):
    used = {s.reason for snapshot in (dev_stack, prod_stack) for s in evaluate_snapshot(snapshot).suppressed}
    assert [s for s in SUPPRESSIONS if s.reason not in used] == []


def test_every_suppression_names_one_resource_and_its_environments():
    for suppression in SUPPRESSIONS:
        assert not set("*?[") & set(suppression.resource), suppression
        assert suppression.environments, suppression


def test_todo_api_cache_is_keyed_on_the_authorizers_identity_header(prod_stack):
    keys = prod_stack.named("todo-api-GET-todos-integration").props["cacheKeyParameters"]
    assert "method.request.header.X-Id-Token" in keys
    assert evaluate_snapshot(prod_stack).for_rule("SB-APIGW-008") == []


def test_todo_api_cache_keyed_on_authorization_instead_would_be_reported(prod_stack):
    """The authorizer reads X-Id-Token; a key on Authorization would let one user hit another's entry."""
    integration = prod_stack.named("todo-api-GET-todos-integration")
    keys = ["method.request.header.Authorization" if k.endswith("X-Id-Token") else k
            for k in integration.props["cacheKeyParameters"]]
    report = evaluate_snapshot(_with_props(prod_stack, integration.name, cacheKeyParameters=keys))
    assert [(f.rule_id, f.name) for f in report.mandatory] == [("SB-APIGW-008", "todo-api-GET-todos")]


def test_stack_with_a_name_over_its_limit_fails_naming_the_resource_and_the_limit(dev_with_a_long_bucket_name):
    report = evaluate_snapshot(dev_with_a_long_bucket_name)
    assert not report.ok
    [finding] = report.mandatory
    assert (finding.rule_id, finding.category, finding.resource_type, finding.name) == (
        "SB-LIMIT-001", "limits", "aws:s3/bucket:Bucket", LONG_BUCKET)
    assert finding.message == f"auto-name '{LONG_BUCKET}' + 8 characters is 66 characters; the Bucket limit is 63"


def test_pack_evaluates_the_same_resources_the_offline_harness_records(prod_stack):
    """policy.evaluate takes RecordedResource objects as they are (no conversion step to forget)."""
    assert evaluate(prod_stack.resources, "prod").ok
