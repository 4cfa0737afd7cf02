"""LambdaCanary: versions behind `live`, released by CodeDeploy and rolled back on the alias's alarms."""
import json

import pytest

from offline.harness import evaluate_program
from serverless_blueprints.args import ArgsError
from serverless_blueprints.lambda_function import LambdaFunction
from serverless_blueprints.rest_api import LambdaRestApi
from tests.conftest import statements_of

BASE = {"code": "todo_api", "memory_mb": 256, "timeout_seconds": 10, "log_retention_days": 14,
        "invoked_by_api_gateway": True}
TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"


def canaried(canary=None):
    def program():
        fn = LambdaFunction("fn", {**BASE, "canary": {"alarm_topic_arn": TOPIC, **(canary or {})}})
        LambdaRestApi("api", {"routes": [{"method": "GET", "path": "/things", "function": fn}], "public": True})
    return evaluate_program(program)


def test_the_function_publishes_versions_and_the_alias_starts_on_the_first():
    stack = canaried()
    function, alias = stack.named("fn-fn"), stack.named("fn-canary-live")
    assert function.props["publish"] is True
    assert alias.props["name"] == "live" and alias.props["functionVersion"] == function.outputs["version"] == "1"


def test_pulumi_never_moves_the_alias_after_creation_codedeploy_does():
    alias = canaried().named("fn-canary-live")
    assert set(alias.ignore_changes) == {"functionVersion", "routingConfig"}


def test_api_gateway_invokes_the_alias_and_may_invoke_only_it():
    stack = canaried()
    alias = stack.named("fn-canary-live")
    assert stack.named("api-GET-things-integration").props["uri"] == alias.outputs["invokeArn"]
    assert ":function:" in alias.outputs["invokeArn"] and alias.outputs["invokeArn"].endswith(":live/invocations")
    assert stack.named("api-GET-things-invoke").props["qualifier"] == "live"


def test_without_a_canary_the_api_invokes_the_function_unqualified():
    def program():
        fn = LambdaFunction("fn", BASE)
        LambdaRestApi("api", {"routes": [{"method": "GET", "path": "/things", "function": fn}], "public": True})
    stack = evaluate_program(program)
    assert stack.named("fn-fn").props.get("publish") in (None, False)
    assert stack.named("api-GET-things-integration").props["uri"] == stack.named("fn-fn").outputs["invokeArn"]
    assert not stack.named("api-GET-things-invoke").props.get("qualifier")
    assert not stack.of_type("aws:codedeploy/deploymentGroup:DeploymentGroup")


def test_prod_default_shifts_ten_percent_for_five_minutes_and_rolls_back_on_the_alarms():
    stack = canaried()
    group = stack.named("fn-canary-group").props
    assert group["deploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
    assert group["deploymentStyle"] == {"deploymentOption": "WITH_TRAFFIC_CONTROL", "deploymentType": "BLUE_GREEN"}
    assert group["autoRollbackConfiguration"] == {"enabled": True,
                                                  "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
    alarms = [stack.named("fn-canary-rollback-errors"), stack.named("fn-canary-rollback-p99-duration")]
    assert group["alarmConfiguration"] == {"enabled": True, "alarms": [a.outputs["name"] for a in alarms]}
    assert stack.named("fn-canary-app").props["computePlatform"] == "Lambda"


def test_all_at_once_is_a_config_choice_not_an_environment_check():
    group = canaried({"deployment_config": "LambdaAllAtOnce"}).named("fn-canary-group").props
    assert group["deploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"


def test_rollback_alarms_watch_the_alias_every_minute_and_notify_the_topic():
    stack = canaried({"max_errors": 3, "max_p99_duration_ms": 800})
    errors, slow = stack.named("fn-canary-rollback-errors").props, stack.named("fn-canary-rollback-p99-duration").props
    function = stack.named("fn-fn").outputs["name"]
    for alarm in (errors, slow):
        assert alarm["dimensions"] == {"FunctionName": function, "Resource": f"{function}:live"}
        assert alarm["period"] == 60 and alarm["alarmActions"] == [TOPIC]
    assert (errors["metricName"], errors["threshold"]) == ("Errors", 3)
    assert (slow["metricName"], slow["extendedStatistic"], slow["threshold"]) == ("Duration", "p99", 800)


def test_codedeploy_may_move_only_this_alias_and_read_only_its_alarms():
    stack = canaried()
    statements = {s["Sid"]: s for s in statements_of(stack.named("fn-canary-codedeploy-policy"))}
    assert statements["ShiftTheLiveAlias"]["Resource"] == [stack.named("fn-canary-live").outputs["arn"]]
    assert sorted(statements["ReadRollbackAlarms"]["Resource"]) == sorted(
        stack.named(n).outputs["arn"] for n in ("fn-canary-rollback-errors", "fn-canary-rollback-p99-duration"))
    trust = json.loads(stack.named("fn-canary-codedeploy-role").props["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "codedeploy.amazonaws.com"}


def test_the_release_function_may_deploy_only_its_own_group():
    stack = canaried()
    group = stack.named("fn-canary-group")
    statements = {s["Sid"]: s for s in statements_of(stack.named("fn-canary-release-policy"))}
    deploy = statements["DeployThisGroupOnly"]
    assert deploy["Action"] == ["codedeploy:CreateDeployment"]
    assert deploy["Resource"] == [f"arn:aws:codedeploy:{group.region}:123456789012:deploymentgroup:"
                                  f"{group.props['appName']}/{group.props['deploymentGroupName']}"]
    assert statements["ReadWhereLiveIs"]["Resource"] == [stack.named("fn-canary-live").outputs["arn"]]
    assert not any("*" in str(r) for s in statements.values() if s["Sid"] != "XRayUnscopable" for r in s["Resource"]
                   if not str(r).endswith(":*"))


def test_each_published_version_invokes_the_release_with_current_target():
    stack = canaried()
    release = stack.named("fn-canary-release")
    assert release.resource_type == "aws:lambda/invocation:Invocation"
    request = json.loads(release.props["input"])
    assert request == {"applicationName": stack.named("fn-canary-app").outputs["name"],
                       "deploymentGroupName": "fn-canary-live", "functionName": stack.named("fn-fn").outputs["name"],
                       "alias": "live", "targetVersion": "1"}
    assert stack.named("fn-canary-group").urn in release.dependencies
    assert release.props["triggers"] == {"targetVersion": "1"}  # a new version replaces it: it runs again


@pytest.mark.parametrize("canary, message", [
    ({"deployment_config": "Canary10Percent5Minutes"}, r"canary\.deployment_config: 'Canary10Percent5Minutes' is not "
                                                       r"allowed; allowed values: LambdaAllAtOnce, LambdaCanary10"),
    ({"max_errors": 0}, r"canary\.max_errors: 0 is out of range"),
    ({"max_p99_duration_ms": 1_000_000}, r"canary\.max_p99_duration_ms: 1000000 is out of range"),
    ({"rollback": True}, r"canary\.rollback: unknown arg"),
])
def test_bad_canary_args_are_rejected_naming_the_arg(canary, message):
    with pytest.raises(ArgsError, match=message):
        evaluate_program(lambda: LambdaFunction("fn", {**BASE, "canary": canary}))
