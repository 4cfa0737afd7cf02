"""Event source mappings (streams and queues) and asynchronous invocations."""
from __future__ import annotations

from typing import Optional

from . import tokens
from .model import Resource, as_list, get, is_known, is_unknown
from .registry import stack_rule
from .stack import Stack, referenced_names

STREAM_SOURCES = ("dynamodb", "kinesis")
BATCH_FAILURE_SOURCES = ("dynamodb", "kinesis", "sqs")
MAX_RETRY_ATTEMPTS = 10000            # AWS's bound; -1 (the default) means "until the record expires"
MAX_RECORD_AGE_SECONDS = 604800       # AWS's bound; -1 (the default) means infinite
VISIBILITY_TIMEOUT_FACTOR = 6
SQS_DEFAULT_VISIBILITY_TIMEOUT = 30
LAMBDA_DEFAULT_TIMEOUT = 3

_SOURCE_KIND_BY_TYPE = {
    tokens.TABLE: "dynamodb",
    tokens.TABLE_REPLICA: "dynamodb",
    tokens.KINESIS_STREAM: "kinesis",
    tokens.QUEUE: "sqs",
}


def source_kind(stack: Stack, mapping: Resource) -> Optional[str]:
    """"dynamodb", "kinesis", "sqs", another service, or None when it can't be told yet."""
    arn = get(mapping.props, "eventSourceArn")
    if is_known(arn) and isinstance(arn, str):
        service, _ = referenced_names(arn)
        if service:
            return service
    found = stack.resolve(mapping, "eventSourceArn", arn, stack.of_type(*_SOURCE_KIND_BY_TYPE))
    if found and len(found) == 1:
        return _SOURCE_KIND_BY_TYPE[found[0].resource_type]
    if arn is None and (get(mapping.props, "selfManagedEventSource") or get(mapping.props, "topics")):
        return "kafka"
    return None


def _mappings(stack: Stack, kinds: tuple):
    for mapping in stack.of_type(tokens.EVENT_SOURCE_MAPPING):
        if source_kind(stack, mapping) in kinds:
            yield mapping


@stack_rule(
    "SB-ESM-001",
    description="Stream mappings bound their retries and record age.",
    remediation="Set maximum_retry_attempts (0-10000) and maximum_record_age_in_seconds (60-604800); the defaults retry forever.",
)
def bounded_stream_retries(stack: Stack):
    for mapping in _mappings(stack, STREAM_SOURCES):
        retries = get(mapping.props, "maximumRetryAttempts")
        if retries is None or (is_known(retries) and not 0 <= retries <= MAX_RETRY_ATTEMPTS):
            yield mapping, f"maximumRetryAttempts is {retries if retries is not None else 'not set (infinite)'}"
        age = get(mapping.props, "maximumRecordAgeInSeconds")
        if age is None or (is_known(age) and not 60 <= age <= MAX_RECORD_AGE_SECONDS):
            yield mapping, f"maximumRecordAgeInSeconds is {age if age is not None else 'not set (infinite)'}"


@stack_rule(
    "SB-ESM-002",
    description="Stream mappings split a failing batch to isolate the bad record.",
    remediation="Set bisect_batch_on_function_error=True on DynamoDB and Kinesis event source mappings.",
)
def bisect_on_error(stack: Stack):
    for mapping in _mappings(stack, STREAM_SOURCES):
        value = get(mapping.props, "bisectBatchOnFunctionError")
        if not is_unknown(value) and value is not True:
            yield mapping, "bisectBatchOnFunctionError is not true"


@stack_rule(
    "SB-ESM-003",
    description="Stream mappings send records that keep failing to an on-failure destination.",
    remediation='Set destination_config={"on_failure": {"destination_arn": <SQS queue or SNS topic ARN>}}.',
)
def stream_failure_destination(stack: Stack):
    for mapping in _mappings(stack, STREAM_SOURCES):
        if get(mapping.props, "destinationConfig", "onFailure", "destinationArn") is None:
            yield mapping, "no on-failure destination"


@stack_rule(
    "SB-ESM-004",
    description="SQS, Kinesis and DynamoDB mappings report partial batch failures.",
    remediation='Set function_response_types=["ReportBatchItemFailures"] and return batchItemFailures (Powertools BatchProcessor).',
)
def report_batch_item_failures(stack: Stack):
    for mapping in _mappings(stack, BATCH_FAILURE_SOURCES):
        types = get(mapping.props, "functionResponseTypes")
        if is_unknown(types) or any(is_unknown(t) for t in as_list(types)):
            continue
        if "ReportBatchItemFailures" not in as_list(types):
            yield mapping, "functionResponseTypes lacks ReportBatchItemFailures"


@stack_rule(
    "SB-ESM-005",
    description="A queue's visibility timeout is at least 6x its consumer function's timeout.",
    remediation="Set the queue's visibility_timeout_seconds >= 6 x the function timeout, so a throttled batch isn't redelivered mid-flight.",
)
def queue_visibility_timeout(stack: Stack):
    for mapping in _mappings(stack, ("sqs",)):
        queue = stack.resolve_one(mapping, "eventSourceArn", get(mapping.props, "eventSourceArn"), tokens.QUEUE)
        function = stack.resolve_one(mapping, "functionName", get(mapping.props, "functionName"), tokens.FUNCTION)
        if queue is None or function is None:
            continue
        visibility = get(queue.props, "visibilityTimeoutSeconds")
        timeout = get(function.props, "timeout")
        visibility = SQS_DEFAULT_VISIBILITY_TIMEOUT if visibility is None else visibility
        timeout = LAMBDA_DEFAULT_TIMEOUT if timeout is None else timeout
        if not (is_known(visibility) and is_known(timeout)):
            continue
        if visibility < VISIBILITY_TIMEOUT_FACTOR * timeout:
            yield queue, (f"visibility timeout {visibility} s < {VISIBILITY_TIMEOUT_FACTOR} x {timeout} s "
                          f"(timeout of consumer '{function.name}')")


def async_invoked_functions(stack: Stack) -> dict:
    """Functions invoked asynchronously, each with how: S3 notifications, SNS subscriptions,
    EventBridge rule targets and Scheduler schedules."""
    functions = stack.of_type(tokens.FUNCTION)
    found: dict = {}

    def note(source: Resource, prop: str, value, how: str) -> None:
        for function in stack.resolve(source, prop, value, functions) or []:
            found.setdefault(function, how)

    for notification in stack.of_type(tokens.BUCKET_NOTIFICATION):
        for entry in as_list(get(notification.props, "lambdaFunctions")):
            note(notification, "lambdaFunctions", get(entry, "lambdaFunctionArn"), "S3 notification")
    for subscription in stack.of_type(tokens.TOPIC_SUBSCRIPTION):
        if get(subscription.props, "protocol") == "lambda":
            note(subscription, "endpoint", get(subscription.props, "endpoint"), "SNS subscription")
    for target in stack.of_type(tokens.EVENT_TARGET):
        note(target, "arn", get(target.props, "arn"), "EventBridge target")
    for schedule in stack.of_type(tokens.SCHEDULE):
        note(schedule, "target", get(schedule.props, "target", "arn"), "EventBridge Scheduler")
    return found


@stack_rule(
    "SB-ESM-006",
    description="Asynchronously invoked functions (S3, SNS, EventBridge) have an on-failure destination or a DLQ.",
    remediation="Add an aws.lambda_.FunctionEventInvokeConfig with destination_config.on_failure, or dead_letter_config on the function.",
)
def async_failure_destination(stack: Stack):
    functions = stack.of_type(tokens.FUNCTION)
    for function, how in async_invoked_functions(stack).items():
        if get(function.props, "deadLetterConfig", "targetArn") is not None:
            continue
        configured, undetermined = False, False
        for config in stack.of_type(tokens.FUNCTION_EVENT_INVOKE_CONFIG):
            found = stack.resolve(config, "functionName", get(config.props, "functionName"), functions)
            if found is None:
                undetermined = True
            elif function in found and get(config.props, "destinationConfig", "onFailure", "destination") is not None:
                configured = True
        if not configured and not undetermined:
            yield function, f"invoked asynchronously ({how}) with no on-failure destination or DLQ"
