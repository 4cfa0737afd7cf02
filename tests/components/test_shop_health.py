"""ShopHealth: a public GET /health whose function may read only the shop's services' alarms."""
import pytest

from offline.harness import evaluate_program
from serverless_blueprints.args import ArgsError
from serverless_blueprints.shop_health import ShopHealth
from tests.conftest import statements_of

TOPIC = "arn:aws:sns:eu-west-1:123456789012:alarms"


def health(**args):
    return evaluate_program(lambda: ShopHealth("health", {"services": ["catalog", "cart"], **args}))


def test_the_api_is_public_get_health_on_stage_v1():
    stack = health()
    assert stack.named("health-api-stage").props["stageName"] == "v1"
    method = stack.named("health-api-GET-health").props
    assert (method["httpMethod"], method["authorization"]) == ("GET", "NONE")
    assert stack.named("health-api").props["tags"] == {"api-access": "public"}


def test_the_function_may_read_only_the_named_services_alarms():
    stack = health()
    [statement] = [s for s in statements_of(stack.named("health-handler-policy")) if s["Sid"] == "ReadTheServicesAlarms"]
    assert statement["Action"] == ["cloudwatch:DescribeAlarms"]
    region = stack.named("health-handler-fn").region
    assert statement["Resource"] == [f"arn:aws:cloudwatch:{region}:123456789012:alarm:{s}-*" for s in ("catalog", "cart")]
    assert stack.named("health-handler-fn").props["environment"]["variables"]["SERVICES"] == "catalog,cart"


def test_with_a_canary_the_api_invokes_the_live_alias():
    stack = health(canary={"deployment_config": "LambdaAllAtOnce"}, alarms={"topic_arn": TOPIC})
    assert stack.named("health-api-GET-health-integration").props["uri"] == \
        stack.named("health-handler-canary-live").outputs["invokeArn"]
    assert stack.named("health-handler-canary-group").props["deploymentConfigName"] == \
        "CodeDeployDefault.LambdaAllAtOnce"


def test_default_throttle_is_low_for_a_public_probe():
    settings = health().named("health-api-all-methods").props["settings"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (5, 10)


@pytest.mark.parametrize("services, message", [
    ([], r"services: expected a list of service names"),
    (["Catalog"], r"services: expected a list of service names"),
    (["cart", "cart"], r"services: expected a list of service names .*distinct"),
])
def test_bad_services_are_refused(services, message):
    with pytest.raises(ArgsError, match=message):
        evaluate_program(lambda: ShopHealth("health", {"services": services}))
