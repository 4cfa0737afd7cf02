"""Invoked by Pulumi (aws.lambda_.Invocation) after each new published version of a canaried function.

Input: {"applicationName", "deploymentGroupName", "functionName", "alias": "live", "targetVersion": "N"}.
It reads where the alias points now and asks CodeDeploy to shift it to the target, with the deployment
group's configuration (canary, linear or all at once) and its rollback alarms. Pulumi never moves the
alias itself (serverless_blueprints.canary); this is the only path a new version reaches callers by.
Output: what it did, for `pulumi up`'s record of the Invocation.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from functools import cache
from typing import Any

import boto3

logger = logging.getLogger()
logger.setLevel(logging.INFO)
_VERSION = re.compile(r"^[1-9][0-9]*$")
_REQUIRED = ("applicationName", "deploymentGroupName", "functionName", "alias", "targetVersion")


@cache
def client(service: str) -> Any:
    return boto3.client(service)


def appspec(function: str, alias: str, current: str, target: str) -> str:
    """CodeDeploy's AppSpec for a Lambda deployment: move `alias` from `current` to `target`."""
    return json.dumps({"version": 0.0, "Resources": [{function: {
        "Type": "AWS::Lambda::Function",
        "Properties": {"Name": function, "Alias": alias, "CurrentVersion": current, "TargetVersion": target}}}]},
        sort_keys=True)


def release(lambda_client: Any, codedeploy: Any, request: dict) -> dict:
    """Start a CodeDeploy deployment of `targetVersion`, unless the alias already serves it."""
    missing = [key for key in _REQUIRED if not isinstance(request.get(key), str) or not request.get(key)]
    if missing:
        raise ValueError(f"release request lacks {', '.join(missing)}")
    function, alias, target = request["functionName"], request["alias"], request["targetVersion"]
    if not _VERSION.match(target):
        raise ValueError(f"targetVersion must be a published version number, got {target!r} "
                         f"(is the function created with publish=true?)")
    current = lambda_client.get_alias(FunctionName=function, Name=alias)["FunctionVersion"]
    if current == target:
        return {"status": "unchanged", "alias": alias, "version": target}
    content = appspec(function, alias, current, target)
    deployment = codedeploy.create_deployment(
        applicationName=request["applicationName"], deploymentGroupName=request["deploymentGroupName"],
        description=f"{function}:{alias} {current} -> {target}",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {
            "content": content, "sha256": hashlib.sha256(content.encode()).hexdigest()}})
    return {"status": "shifting", "alias": alias, "from": current, "to": target,
            "deploymentId": deployment["deploymentId"]}


def handler(event: dict, context: Any) -> dict:
    result = release(client("lambda"), client("codedeploy"), event)
    logger.info(json.dumps(result))
    return result
