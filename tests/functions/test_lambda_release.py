"""lambda_release on moto: a new version becomes a CodeDeploy deployment of the alias, never a direct move."""
from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest
from moto import mock_aws

from lambda_release import handler as release_handler

REGION = "eu-west-1"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    release_handler.client.cache_clear()
    with mock_aws():
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
        lam = boto3.client("lambda")
        lam.create_function(FunctionName="todo-handler", Runtime="python3.13", Role=role, Handler="app.handler",
                            Code={"ZipFile": _zip()}, Publish=True)
        lam.create_alias(FunctionName="todo-handler", Name="live", FunctionVersion="1")
        lam.update_function_code(FunctionName="todo-handler", ZipFile=_zip(), Publish=True)
        codedeploy = boto3.client("codedeploy")
        codedeploy.create_application(applicationName="todo-canary", computePlatform="Lambda")
        codedeploy.create_deployment_group(
            applicationName="todo-canary", deploymentGroupName="todo-canary-live", serviceRoleArn=role,
            deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
            deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"})
        yield {"lambda": lam, "codedeploy": codedeploy}
    release_handler.client.cache_clear()


def request(target: str = "2") -> dict:
    return {"applicationName": "todo-canary", "deploymentGroupName": "todo-canary-live",
            "functionName": "todo-handler", "alias": "live", "targetVersion": target}


def test_a_new_version_starts_a_codedeploy_deployment_from_the_live_version(aws):
    result = release_handler.handler(request("2"), None)

    assert result["status"] == "shifting" and (result["from"], result["to"]) == ("1", "2")
    deployment = aws["codedeploy"].get_deployment(deploymentId=result["deploymentId"])["deploymentInfo"]
    assert deployment["deploymentGroupName"] == "todo-canary-live"
    # CodeDeploy, not the release function, moves the alias: it still serves version 1 here.
    assert aws["lambda"].get_alias(FunctionName="todo-handler", Name="live")["FunctionVersion"] == "1"


def test_the_appspec_moves_the_alias_from_current_to_target():
    spec = json.loads(release_handler.appspec("todo-handler", "live", "1", "2"))

    assert spec["Resources"] == [{"todo-handler": {"Type": "AWS::Lambda::Function", "Properties": {
        "Name": "todo-handler", "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"}}}]


def test_the_version_the_alias_already_serves_is_not_redeployed(aws):
    result = release_handler.handler(request("1"), None)

    assert result == {"status": "unchanged", "alias": "live", "version": "1"}
    assert aws["codedeploy"].list_deployments(applicationName="todo-canary",
                                              deploymentGroupName="todo-canary-live")["deployments"] == []


@pytest.mark.parametrize("target", ["$LATEST", "0", "v2", ""])
def test_only_a_published_version_can_be_released(aws, target):
    with pytest.raises(ValueError, match="targetVersion"):
        release_handler.handler(request(target), None)


def test_an_incomplete_request_names_what_is_missing(aws):
    with pytest.raises(ValueError, match="deploymentGroupName"):
        release_handler.handler({k: v for k, v in request().items() if k != "deploymentGroupName"}, None)
