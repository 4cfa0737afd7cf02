"""PaidContent joins the twin: deploy-time key invocations, key groups, secrets by their recorded ARN,
the admin group, comma-joined group claims, the judge's CloudFront public-key and version-stage
mappings, and the paid-content scenario green in both stacks on the real functions."""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Iterator, Optional

import pytest

from offline.harness import StackSnapshot
from tests.twin.fakes import ScriptedRunner, artifact_from_resource
from twin.arns import CallScope, StackFacts, requirements_for
from twin.lambda_service import LambdaService, gateways
from twin.report import PASS, TwinReport
from twin.scenarios import SCENARIOS, Twin, run_stack, token_headers
from twin.stack import USER_POOL_CLIENT, build_data_plane, moto_server

PAID = tuple(s for s in SCENARIOS if s.component_type.endswith(":PaidContent"))


@dataclass
class Call:
    service: str
    operation: str
    params: dict
    region: str = "eu-west-1"
    error_code: Optional[str] = None


@contextlib.contextmanager
def twin_of(snapshot: StackSnapshot, runner: ScriptedRunner) -> Iterator[Twin]:
    with moto_server() as endpoint:
        plane = build_data_plane(snapshot, endpoint)
        service = LambdaService(plane, runner=runner, artifact_for=artifact_from_resource, judge=None)
        try:
            yield Twin(snapshot.stack, snapshot, plane, service, gateways(service))
        finally:
            service.close()


def _keys_script(name: str, event: dict) -> dict:
    if event.get("step") == "create_key":
        return {"keyId": "K2JTWINKEY0001", "generation": event["generation"], "versionId": "v1"}
    if event.get("step") == "activate":
        return {"generation": event["generation"], "activated": True, "activatedAt": 1}
    claims = (event["requestContext"].get("authorizer") or {}).get("claims") or {}
    return {"statusCode": 200, "body": json.dumps({"groups": claims.get("cognito:groups")})}


@pytest.fixture(scope="module")
def dev_media(dev_stack):
    runner = ScriptedRunner(_keys_script)
    with twin_of(dev_stack, runner) as twin:
        yield twin, runner


# ------------------------------------------------------------------------------------- deploy time

def test_deploy_runs_each_key_invocation_once_in_graph_order_with_the_crud_block(dev_stack, dev_media):
    twin, runner = dev_media
    deployed = twin.service.deploy()
    assert twin.service.deploy() is deployed
    keys_fn = dev_stack.named("media-key-g1").props["functionName"]
    events = runner.events_of(keys_fn)
    assert [e["step"] for e in events] == ["create_key", "activate"]
    assert all(e["tf"] == {"action": "create", "prev_input": None} for e in events)
    recorded_arn = dev_stack.named("media-signing-key").outputs["arn"]
    assert events[0]["secretId"] == twin.plane.names.twin(recorded_arn) != recorded_arn
    # The stack's other deploy-time invocations (canary releases, the site's invalidation) are not the keys'.
    keys = {i.source for i in deployed.values() if i.function.startswith("media-key")}
    assert keys == {"pulumi:media-key-g1", "pulumi:media-activate-g1"}
    assert any("media-key-g1: deploy-time invocation (create_key)" in f"{n.resource}: {n.text}"
               for n in twin.plane.notes)


def test_the_key_group_holds_the_keys_the_deploy_created(dev_stack, dev_media):
    twin, _ = dev_media
    twin.service.deploy()
    recorded = dev_stack.named("media-key-group").outputs["id"]
    group = twin.plane.client("cloudfront", "us-east-1").get_key_group(Id=twin.plane.names.twin(recorded))
    assert group["KeyGroup"]["KeyGroupConfig"]["Items"] == ["K2JTWINKEY0001"]


# ------------------------------------------------------------------------------------- data plane

def test_a_secret_is_found_by_its_recorded_arn(dev_stack, dev_media):
    twin, _ = dev_media
    secret = dev_stack.named("media-signing-key")
    twin_arn = twin.plane.names.twin(secret.outputs["arn"])
    described = twin.plane.client("secretsmanager").describe_secret(SecretId=twin_arn)
    assert described["Name"] == secret.outputs["name"]
    signer_env = twin.env(dev_stack.named("media-signer-fn"))
    assert signer_env["SECRET_ARN"] == secret.outputs["arn"]  # the recorded ARN; the sandbox gets the twin's


def test_the_admin_group_exists_in_the_components_pool(dev_stack, dev_media):
    twin, _ = dev_media
    group = dev_stack.named("media-admins")
    found = twin.plane.client("cognito-idp").get_group(
        GroupName=group.props["name"], UserPoolId=twin.plane.names.twin(group.props["userPoolId"]))
    assert found["Group"]["Description"] == group.props["description"]


def test_a_rest_authorizer_hands_groups_over_comma_joined(dev_stack, dev_media):
    twin, _ = dev_media
    component = dev_stack.component("media")
    [api] = [twin.apis[a.name] for a in twin.under(component, "aws:apigateway/restApi:RestApi")
             if "registration" in a.name]
    client = twin.one_under(component, USER_POOL_CLIENT)
    user = twin.user(client, "groups@example.com")
    cognito = twin.plane.client("cognito-idp")
    pool = twin.plane.names.twin(client.props["userPoolId"])
    for group in ("editors", "premium-admins"):
        if group != "premium-admins":
            cognito.create_group(GroupName=group, UserPoolId=pool)
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=user.email, GroupName=group)
    from twin.scenarios_paid import join_group

    member = join_group(twin, client, user, "premium-admins")
    answer = api.request("GET", "/premium-users/me", headers=token_headers(api, member))
    assert sorted(answer.json()["groups"].split(",")) == ["editors", "premium-admins"]


# ------------------------------------------------------------------------------------- the judge

def test_cloudfront_public_key_calls_are_judged_on_star(dev_stack):
    scope = CallScope(StackFacts.from_snapshot(dev_stack))
    for operation, params in (("ListPublicKeys", {}), ("CreatePublicKey", {"PublicKeyConfig": {}}),
                              ("GetPublicKey", {"Id": "K1"}), ("DeletePublicKey", {"Id": "K1", "IfMatch": "E"})):
        [requirement] = requirements_for(Call("cloudfront", operation, params), scope)
        assert (requirement.action, requirement.resource) == (f"cloudfront:{operation}", "*")


def test_moving_a_version_label_is_judged_on_the_secret(dev_stack):
    secret = dev_stack.named("media-signing-key").outputs["arn"]
    scope = CallScope(StackFacts.from_snapshot(dev_stack), names={"twin-arn": secret})
    [requirement] = requirements_for(Call("secretsmanager", "UpdateSecretVersionStage", {
        "SecretId": "twin-arn", "VersionStage": "AWSCURRENT", "MoveToVersionId": "v1"}), scope)
    assert (requirement.action, requirement.resource) == ("secretsmanager:UpdateSecretVersionStage", secret)
    assert requirement.context["secretsmanager:versionstage"] == ("AWSCURRENT",)


# ------------------------------------------------------------------------------------- the scenario

@pytest.fixture(scope="module")
def dev_paid(dev_stack) -> TwinReport:
    return run_stack("dev", snapshot=dev_stack, scenarios=PAID)


@pytest.fixture(scope="module")
def prod_paid(prod_stack) -> TwinReport:
    return run_stack("prod", snapshot=prod_stack, scenarios=PAID)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_paid_content_is_green_on_the_real_functions_with_every_function_invoked(stack, request):
    report: TwinReport = request.getfixturevalue(f"{stack}_paid")
    [paid] = [s for s in report.scenarios if s.name == PAID[0].name]
    assert paid.status == PASS, report.render()
    assert paid.denied == [] and paid.unjudged == []
    media = {f for f in report.functions if f.startswith("media-")}
    # keys, signer, registration, and each app's canary release (invoked at deploy time)
    assert len(media) == 5 and media <= report.invoked, report.render()
    checks = {c.name for c in paid.checks}
    assert {"CloudFront accepts the URL: trusted key group, signature, policy",
            "after the subscription's end: 403 subscription_expired",
            "a user who was never premium: 403 not_premium"} <= checks
