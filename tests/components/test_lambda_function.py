"""LambdaFunction defaults and guards."""
import pytest

from serverless_blueprints.args import ArgsError
from serverless_blueprints.lambda_function import LambdaFunction
from offline.harness import evaluate_program
from tests.conftest import statements_of

BASE = {"code": "todo_api", "memory_mb": 256, "timeout_seconds": 10, "log_retention_days": 14}


def test_function_logs_to_its_own_retained_log_group_and_may_write_only_there():
    stack = evaluate_program(lambda: LambdaFunction("fn", BASE))
    group = stack.named("fn-logs")
    assert group.props["retentionInDays"] == 14
    assert stack.named("fn-fn").props["loggingConfig"] == {"logFormat": "JSON", "logGroup": group.outputs["name"]}
    logs = next(s for s in statements_of(stack.named("fn-policy")) if s["Sid"] == "WriteOwnLogs")
    assert logs["Resource"] == [group.outputs["arn"], group.outputs["arn"] + ":*"]


def test_function_waits_for_its_permissions_before_it_exists():
    stack = evaluate_program(lambda: LambdaFunction("fn", BASE))
    assert stack.named("fn-policy").urn in stack.named("fn-fn").dependencies


def test_dependencies_come_in_a_layer_for_the_functions_architecture():
    stack = evaluate_program(lambda: LambdaFunction("fn", {**BASE, "architecture": "x86_64"}))
    layer = stack.named("fn-deps").props
    assert layer["compatibleArchitectures"] == ["x86_64"] and layer["compatibleRuntimes"] == ["python3.13"]
    assert stack.named("fn-fn").props["layers"] == [stack.named("fn-deps").outputs["arn"]]


def test_async_failures_go_to_the_given_queue():
    queue = "arn:aws:sqs:eu-west-1:123456789012:failures"
    stack = evaluate_program(lambda: LambdaFunction("fn", {**BASE, "async_on_failure_destination_arn": queue}))
    config = stack.named("fn-async").props
    assert config["destinationConfig"]["onFailure"]["destination"] == queue
    send = next(s for s in statements_of(stack.named("fn-policy")) if s["Sid"] == "AsyncOnFailureDestination")
    assert send["Resource"] == [queue] and send["Action"] == ["sqs:SendMessage"]


def test_api_function_timeout_at_the_29_second_limit_is_rejected():
    with pytest.raises(ArgsError, match=r"timeout_seconds: 29 is out of range; allowed 1 to 28 "
                                        r"\(under API Gateway's 29 s integration limit\)"):
        evaluate_program(lambda: LambdaFunction("fn", {**BASE, "timeout_seconds": 29,
                                                       "invoked_by_api_gateway": True}))


def test_retention_cloudwatch_does_not_offer_is_rejected():
    with pytest.raises(ArgsError, match=r"LambdaFunction 'fn': log_retention_days: 10 is not allowed; "
                                        r"allowed values: 1, 3, 5, 7, 14, 30"):
        evaluate_program(lambda: LambdaFunction("fn", {**BASE, "log_retention_days": 10}))


def test_unknown_arg_is_rejected_with_the_allowed_ones():
    with pytest.raises(ArgsError, match=r"LambdaFunction 'fn': memoryMb: unknown arg \(did you mean 'memory_mb'\?\); "
                                        r"allowed: architecture, async_on_failure_destination_arn, canary, code"):
        evaluate_program(lambda: LambdaFunction("fn", {**BASE, "memoryMb": 1024}))


@pytest.mark.parametrize("key", ["code", "memory_mb", "timeout_seconds", "log_retention_days"])
def test_required_arg_is_named_when_missing(key):
    args = {k: v for k, v in BASE.items() if k != key}
    with pytest.raises(ArgsError, match=rf"LambdaFunction 'fn': {key}: required"):
        evaluate_program(lambda: LambdaFunction("fn", args))


@pytest.mark.parametrize("args, message", [
    ({"memory_mb": 64}, r"memory_mb: 64 is out of range; allowed 128 to 10240"),
    ({"memory_mb": 20480}, r"memory_mb: 20480 is out of range; allowed 128 to 10240"),
    ({"timeout_seconds": 901}, r"timeout_seconds: 901 is out of range; allowed 1 to 900"),
    ({"architecture": "arm"}, r"architecture: 'arm' is not allowed; allowed values: arm64, x86_64"),
    ({"code": "../todo_api"}, r"code: expected a folder name under functions/"),
])
def test_sizing_outside_lambdas_limits_is_rejected(args, message):
    with pytest.raises(ArgsError, match=message):
        evaluate_program(lambda: LambdaFunction("fn", {**BASE, **args}))
