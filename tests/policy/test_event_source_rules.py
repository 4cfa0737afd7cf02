import pytest

from policy import UNKNOWN, Resource
from policy.tokens import (BUCKET_NOTIFICATION, EVENT_SOURCE_MAPPING, EVENT_TARGET, FUNCTION,
                           FUNCTION_EVENT_INVOKE_CONFIG, QUEUE, TABLE)

ACCOUNT = "123456789012"
STREAM_ARN = f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/orders-1a2b3c4/stream/2026-01-01T00:00:00.000"
QUEUE_ARN = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs-1a2b3c4"
FN_ARN = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:worker-1a2b3c4"


def worker(timeout=10, **props):
    return Resource(FUNCTION, {"name": "worker-1a2b3c4", "arn": FN_ARN, "timeout": timeout, **props}, name="worker")


def stream_mapping(**overrides):
    props = {
        "eventSourceArn": STREAM_ARN, "functionName": FN_ARN, "startingPosition": "LATEST",
        "maximumRetryAttempts": 3, "maximumRecordAgeInSeconds": 3600, "bisectBatchOnFunctionError": True,
        "destinationConfig": {"onFailure": {"destinationArn": QUEUE_ARN}},
        "functionResponseTypes": ["ReportBatchItemFailures"],
    }
    props.update(overrides)
    return Resource(EVENT_SOURCE_MAPPING, {k: v for k, v in props.items() if v is not None}, name="orders-stream")


def queue_mapping(**overrides):
    props = {"eventSourceArn": QUEUE_ARN, "functionName": FN_ARN, "functionResponseTypes": ["ReportBatchItemFailures"]}
    props.update(overrides)
    return Resource(EVENT_SOURCE_MAPPING, {k: v for k, v in props.items() if v is not None}, name="jobs-mapping")


def jobs_queue(visibility=60):
    return Resource(QUEUE, {"name": "jobs-1a2b3c4", "arn": QUEUE_ARN, "visibilityTimeoutSeconds": visibility}, name="jobs")


# SB-ESM-001 bounded retries

def test_bounded_stream_mapping_passes(violations):
    assert violations("SB-ESM-001", stream_mapping()) == []


@pytest.mark.parametrize("prop", ["maximumRetryAttempts", "maximumRecordAgeInSeconds"])
def test_unbounded_stream_mapping_is_reported(violations, prop):
    assert violations("SB-ESM-001", stream_mapping(**{prop: -1})) == [f"{prop} is -1"]


def test_missing_retry_bounds_are_reported(violations):
    found = violations("SB-ESM-001", stream_mapping(maximumRetryAttempts=None, maximumRecordAgeInSeconds=None))
    assert found == ["maximumRetryAttempts is not set (infinite)", "maximumRecordAgeInSeconds is not set (infinite)"]


def test_queue_mappings_need_no_stream_retry_bounds(violations):
    assert violations("SB-ESM-001", queue_mapping()) == []


def test_stream_recognised_through_property_dependency_when_arn_is_unknown(violations):
    table = Resource(TABLE, {"name": "orders-1a2b3c4"}, name="orders")
    mapping = stream_mapping(eventSourceArn=UNKNOWN, maximumRetryAttempts=None)
    mapping.property_dependencies = {"eventSourceArn": [table]}
    assert violations("SB-ESM-001", table, mapping) == ["maximumRetryAttempts is not set (infinite)"]


def test_mapping_with_unknown_source_is_not_judged(violations):
    assert violations("SB-ESM-001", stream_mapping(eventSourceArn=UNKNOWN, maximumRetryAttempts=None)) == []


# SB-ESM-002 bisect on error

def test_bisecting_stream_mapping_passes(violations):
    assert violations("SB-ESM-002", stream_mapping()) == []


def test_stream_mapping_without_bisect_is_reported(violations):
    assert violations("SB-ESM-002", stream_mapping(bisectBatchOnFunctionError=None)) == ["bisectBatchOnFunctionError is not true"]


def test_unknown_bisect_is_not_reported(violations):
    assert violations("SB-ESM-002", stream_mapping(bisectBatchOnFunctionError=UNKNOWN)) == []


# SB-ESM-003 on-failure destination for streams

def test_stream_mapping_with_failure_destination_passes(violations):
    assert violations("SB-ESM-003", stream_mapping()) == []


def test_stream_mapping_without_failure_destination_is_reported(violations):
    assert violations("SB-ESM-003", stream_mapping(destinationConfig=None)) == ["no on-failure destination"]


def test_unknown_destination_arn_counts_as_set(violations):
    assert violations("SB-ESM-003", stream_mapping(destinationConfig={"onFailure": {"destinationArn": UNKNOWN}})) == []


# SB-ESM-004 ReportBatchItemFailures

@pytest.mark.parametrize("make", [stream_mapping, queue_mapping])
def test_mappings_reporting_batch_failures_pass(violations, make):
    assert violations("SB-ESM-004", make()) == []


@pytest.mark.parametrize("make", [stream_mapping, queue_mapping])
def test_mappings_without_batch_failure_reporting_are_reported(violations, make):
    assert violations("SB-ESM-004", make(functionResponseTypes=None)) == ["functionResponseTypes lacks ReportBatchItemFailures"]


def test_unknown_response_types_are_not_reported(violations):
    assert violations("SB-ESM-004", queue_mapping(functionResponseTypes=UNKNOWN)) == []


# SB-ESM-005 visibility timeout >= 6 x consumer timeout

def test_visibility_six_times_timeout_passes(violations):
    assert violations("SB-ESM-005", jobs_queue(visibility=60), worker(timeout=10), queue_mapping()) == []


def test_short_visibility_timeout_is_reported(violations):
    assert violations("SB-ESM-005", jobs_queue(visibility=30), worker(timeout=10), queue_mapping()) == [
        "visibility timeout 30 s < 6 x 10 s (timeout of consumer 'worker')"]


def test_default_visibility_is_30_seconds(violations):
    queue = Resource(QUEUE, {"name": "jobs-1a2b3c4", "arn": QUEUE_ARN}, name="jobs")
    assert len(violations("SB-ESM-005", queue, worker(timeout=6), queue_mapping())) == 1


def test_links_by_logical_name_when_mock_outputs_lack_physical_names(violations):
    queue = Resource(QUEUE, {"visibilityTimeoutSeconds": 30}, name="jobs")
    fn = Resource(FUNCTION, {"timeout": 10}, name="worker")
    mapping = queue_mapping(eventSourceArn=f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs-9f8e7d6",
                            functionName="worker-9f8e7d6")
    assert len(violations("SB-ESM-005", queue, fn, mapping)) == 1


def test_unknown_consumer_timeout_is_not_reported(violations):
    assert violations("SB-ESM-005", jobs_queue(visibility=30), worker(timeout=UNKNOWN), queue_mapping()) == []


# SB-ESM-006 async invocations have an on-failure destination or DLQ

def s3_notification():
    return Resource(BUCKET_NOTIFICATION, {"bucket": "uploads-1a2b3c4", "lambdaFunctions": [
        {"lambdaFunctionArn": FN_ARN, "events": ["s3:ObjectCreated:*"]}]}, name="uploads-notification")


def test_async_function_with_on_failure_destination_passes(violations):
    config = Resource(FUNCTION_EVENT_INVOKE_CONFIG, {"functionName": "worker-1a2b3c4",
                      "destinationConfig": {"onFailure": {"destination": QUEUE_ARN}}}, name="worker-async")
    assert violations("SB-ESM-006", worker(), s3_notification(), config) == []


def test_async_function_with_dead_letter_queue_passes(violations):
    fn = worker(deadLetterConfig={"targetArn": QUEUE_ARN})
    assert violations("SB-ESM-006", fn, s3_notification()) == []


def test_s3_triggered_function_without_failure_handling_is_reported(violations):
    assert violations("SB-ESM-006", worker(), s3_notification()) == [
        "invoked asynchronously (S3 notification) with no on-failure destination or DLQ"]


def test_eventbridge_target_function_without_failure_handling_is_reported(violations):
    target = Resource(EVENT_TARGET, {"rule": "nightly", "arn": FN_ARN}, name="nightly-target")
    assert violations("SB-ESM-006", worker(), target) == [
        "invoked asynchronously (EventBridge target) with no on-failure destination or DLQ"]


def test_function_only_polled_from_a_queue_needs_no_async_destination(violations):
    assert violations("SB-ESM-006", worker(), jobs_queue(), queue_mapping()) == []
