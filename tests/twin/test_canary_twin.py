"""Canary releases in the twin: calls through the alias `live` run the version it serves, and the release
function's deploy-time call hands a new version to CodeDeploy, within what its role grants."""
from __future__ import annotations

import contextlib
import json
from typing import Iterator

import pytest

from offline.harness import StackSnapshot
from tests.twin.fakes import LambdaProcess, ScriptedRunner, artifact_from_resource
from twin.lambda_service import LambdaService, gateways
from twin.permissions import evaluate_calls
from twin.scenarios import Twin, token_headers
from twin.stack import build_data_plane, moto_server

HANDLER, RELEASE = "todo-handler-fn", "todo-handler-canary-release"


@contextlib.contextmanager
def twin_of(snapshot: StackSnapshot, runner, judge=None) -> Iterator[Twin]:
    with moto_server() as endpoint:
        plane = build_data_plane(snapshot, endpoint)
        service = LambdaService(plane, runner=runner, artifact_for=artifact_from_resource, judge=judge)
        try:
            yield Twin(snapshot.stack, snapshot, plane, service, gateways(service))
        finally:
            service.close()


def _ok(name: str, event: dict) -> dict:
    return {"statusCode": 200, "headers": {}, "body": "{}"}


def test_api_calls_go_through_the_live_alias_to_the_version_it_serves(dev_stack):
    handler = dev_stack.named(HANDLER).outputs["name"]
    runner = ScriptedRunner(_ok)
    with twin_of(dev_stack, runner) as twin:
        component = next(r for r in dev_stack.resources if r.resource_type.endswith(":ServerlessRestApi"))
        api = twin.api_under(component)
        assert {r.function_arn for r in api.routes if r.function_arn} == {
            dev_stack.named(HANDLER).outputs["arn"] + ":live"}
        assert twin.service.served_version(handler, "live") == dev_stack.named(HANDLER).outputs["version"] == "1"
        client = twin.one_under(component, "aws:cognito/userPoolClient:UserPoolClient")
        user = twin.user(client, "canary@example.com")
        assert api.request("GET", "/todos", headers=token_headers(api, user)).status == 200
    assert runner.events_of(handler)


def test_a_qualifier_the_stack_does_not_have_is_refused(dev_stack):
    arn = dev_stack.named(HANDLER).outputs["arn"]
    with twin_of(dev_stack, ScriptedRunner(_ok)) as twin:
        with pytest.raises(KeyError, match="no alias 'beta'"):
            twin.service.function_name(f"{arn}:beta")
        with pytest.raises(KeyError, match="serves version 7"):
            twin.service.function_name(f"{arn}:7")


def test_the_release_runs_at_deploy_time_within_its_role_and_a_new_version_goes_to_codedeploy(dev_stack):
    handler = dev_stack.named(HANDLER).outputs["name"]
    with twin_of(dev_stack, LambdaProcess, judge=evaluate_calls) as twin:
        release = twin.service.deploy()[RELEASE]
        assert not release.failed and not release.denied and not release.unjudged
        assert release.result.response == {"status": "unchanged", "alias": "live", "version": "1"}

        # The next `pulumi up` publishes version 2: the release asks CodeDeploy to shift `live` to it.
        twin.plane.client("lambda").publish_version(FunctionName=handler)
        request = {**json.loads(dev_stack.named(RELEASE).props["input"]), "targetVersion": "2"}
        shifted = twin.service.invoke(dev_stack.named(RELEASE).props["functionName"], request, source="pulumi:up")
        assert not shifted.failed and not shifted.denied and not shifted.unjudged
        assert shifted.result.response["status"] == "shifting"
        deployment = twin.plane.client("codedeploy").get_deployment(
            deploymentId=shifted.result.response["deploymentId"])["deploymentInfo"]
        assert deployment["deploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"


def test_every_canarys_release_runs_at_deploy_time_and_can_hand_a_new_version_to_codedeploy(dev_stack):
    releases = [r for r in dev_stack.of_type("aws:lambda/invocation:Invocation") if r.name.endswith("-canary-release")]
    assert len(releases) == len(dev_stack.of_type("aws:lambda/alias:Alias")) == 8  # every Lambda API's function
    with twin_of(dev_stack, LambdaProcess, judge=evaluate_calls) as twin:
        deployed = twin.service.deploy()
        for recorded in releases:
            first = deployed[recorded.name]
            assert not first.failed and not first.denied and not first.unjudged, recorded.name
            assert first.result.response["status"] == "unchanged", recorded.name
            request = json.loads(recorded.props["input"])
            twin.plane.client("lambda").publish_version(FunctionName=request["functionName"])
            shifted = twin.service.invoke(recorded.props["functionName"], {**request, "targetVersion": "2"},
                                          source="pulumi:up")
            assert not shifted.failed and not shifted.denied and not shifted.unjudged, recorded.name
            assert shifted.result.response["status"] == "shifting", recorded.name
