"""SQS queues, SNS topics and EventBridge."""
from __future__ import annotations

from . import tokens
from .documents import has_tls_only_deny, is_public_principal, statements
from .model import Resource, get, is_known, is_unknown, parse_json
from .registry import resource_rule, stack_rule
from .stack import Stack

MIN_MAX_RECEIVE_COUNT = 5
SUBSCRIPTION_PROTOCOLS_WITH_DLQ = ("lambda", "sqs", "http", "https", "firehose")


@resource_rule(
    "SB-SQS-001", tokens.QUEUE,
    description="SQS queues are encrypted at rest.",
    remediation="Set sqs_managed_sse_enabled=True, or kms_master_key_id for a customer key.",
)
def queue_encryption(queue: Resource):
    sse = get(queue.props, "sqsManagedSseEnabled")
    kms = get(queue.props, "kmsMasterKeyId")
    if is_unknown(sse) or kms is not None:
        return
    if sse is not True:
        yield "neither sqsManagedSseEnabled nor kmsMasterKeyId is set"


def tls_only(stack: Stack, target: Resource, policy_types, link_prop: str):
    """True/False whether the target's inline or attached policy denies non-TLS; None if unknown."""
    documents = [get(target.props, "policy")]
    attached, undetermined = stack.referrers(target, policy_types, link_prop)
    documents += [get(p.props, "policy") for p in attached]
    verdicts = [has_tls_only_deny(d) for d in documents if d is not None]
    if any(v is True for v in verdicts):
        return True
    if undetermined or any(v is None for v in verdicts):
        return None
    return False


@stack_rule(
    "SB-SQS-002",
    description="SQS queue policies deny requests that don't use TLS.",
    remediation='Add a QueuePolicy statement: Deny, Principal "*", Action "sqs:*", Condition Bool aws:SecureTransport "false".',
)
def queue_tls_only(stack: Stack):
    for queue in stack.of_type(tokens.QUEUE):
        if tls_only(stack, queue, tokens.QUEUE_POLICY, "queueUrl") is False:
            yield queue, "no policy denies non-TLS access"


def failure_destination_arns(stack: Stack) -> list:
    """(resource, prop, value) of every reference to a dead-letter or on-failure target."""
    refs = []
    for queue in stack.of_type(tokens.QUEUE):
        refs.append((queue, "redrivePolicy", get(parse_json(get(queue.props, "redrivePolicy")), "deadLetterTargetArn")))
    for policy in stack.of_type(tokens.QUEUE_REDRIVE_POLICY):
        refs.append((policy, "redrivePolicy", get(parse_json(get(policy.props, "redrivePolicy")), "deadLetterTargetArn")))
    for subscription in stack.of_type(tokens.TOPIC_SUBSCRIPTION):
        refs.append((subscription, "redrivePolicy", get(parse_json(get(subscription.props, "redrivePolicy")), "deadLetterTargetArn")))
    for mapping in stack.of_type(tokens.EVENT_SOURCE_MAPPING):
        refs.append((mapping, "destinationConfig", get(mapping.props, "destinationConfig", "onFailure", "destinationArn")))
    for function in stack.of_type(tokens.FUNCTION):
        refs.append((function, "deadLetterConfig", get(function.props, "deadLetterConfig", "targetArn")))
    for config in stack.of_type(tokens.FUNCTION_EVENT_INVOKE_CONFIG):
        refs.append((config, "destinationConfig", get(config.props, "destinationConfig", "onFailure", "destination")))
    for target in stack.of_type(tokens.EVENT_TARGET):
        refs.append((target, "deadLetterConfig", get(target.props, "deadLetterConfig", "arn")))
    for bus in stack.of_type(tokens.EVENT_BUS):
        refs.append((bus, "deadLetterConfig", get(bus.props, "deadLetterConfig", "arn")))
    for schedule in stack.of_type(tokens.SCHEDULE):
        refs.append((schedule, "target", get(schedule.props, "target", "deadLetterConfig", "arn")))
    return [ref for ref in refs if ref[2] is not None]


@stack_rule(
    "SB-SQS-003",
    description="Every queue that isn't itself a DLQ has a redrive policy with maxReceiveCount >= 5.",
    remediation='Set redrive_policy=json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 5}) (via Output.json_dumps).',
)
def queue_redrive(stack: Stack):
    queues = stack.of_type(tokens.QUEUE)
    dead_letter, undetermined = set(), False
    for source, prop, value in failure_destination_arns(stack):
        found = stack.resolve(source, prop, value, queues)
        if found is None:
            undetermined = True
        else:
            dead_letter.update(found)
    for queue in queues:
        if queue in dead_letter or get(queue.props, "redriveAllowPolicy") is not None:
            continue
        policies = [get(queue.props, "redrivePolicy")]
        attached, links_unknown = stack.referrers(queue, tokens.QUEUE_REDRIVE_POLICY, "queueUrl")
        policies += [get(p.props, "redrivePolicy") for p in attached]
        parsed = [parse_json(p) for p in policies if p is not None]
        if any(is_unknown(p) for p in parsed):
            continue
        if not parsed:
            if not (undetermined or links_unknown):
                yield queue, "no redrive policy (and no other resource uses it as a DLQ)"
            continue
        for policy in parsed:
            count = get(policy, "maxReceiveCount")
            if is_unknown(count):
                continue
            if get(policy, "deadLetterTargetArn") is None:
                yield queue, "redrive policy has no deadLetterTargetArn"
            if count is None or _as_int(count) < MIN_MAX_RECEIVE_COUNT:
                yield queue, f"maxReceiveCount {count} < {MIN_MAX_RECEIVE_COUNT}"


def _as_int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@resource_rule(
    "SB-SNS-001", tokens.TOPIC,
    description="SNS topics are encrypted at rest.",
    remediation='Set kms_master_key_id: "alias/aws/sns" for application publishers, a customer managed key when S3 or EventBridge publish (see SB-LIMIT-004).',
)
def topic_encryption(topic: Resource):
    if get(topic.props, "kmsMasterKeyId") is None:
        yield "no kmsMasterKeyId"


@stack_rule(
    "SB-SNS-002",
    description="SNS topic policies deny requests that don't use TLS.",
    remediation='Add a TopicPolicy statement: Deny, Principal "*", Action "sns:Publish", Condition Bool aws:SecureTransport "false".',
)
def topic_tls_only(stack: Stack):
    for topic in stack.of_type(tokens.TOPIC):
        if tls_only(stack, topic, tokens.TOPIC_POLICY, "arn") is False:
            yield topic, "no policy denies non-TLS access"


@resource_rule(
    "SB-SNS-003", tokens.TOPIC_SUBSCRIPTION,
    description="SNS subscriptions that deliver to code or queues have a redrive policy (DLQ).",
    remediation='Set redrive_policy=json.dumps({"deadLetterTargetArn": dlq.arn}) on the subscription.',
)
def subscription_redrive(subscription: Resource):
    protocol = get(subscription.props, "protocol")
    if not is_known(protocol) or protocol not in SUBSCRIPTION_PROTOCOLS_WITH_DLQ:
        return
    policy = parse_json(get(subscription.props, "redrivePolicy"))
    if is_unknown(policy):
        return
    if get(policy, "deadLetterTargetArn") is None:
        yield f"{protocol} subscription without a redrive policy"


@resource_rule(
    "SB-EVENTS-001", tokens.EVENT_TARGET,
    description="EventBridge targets have a DLQ and a retry policy.",
    remediation="Set dead_letter_config={'arn': dlq.arn} and retry_policy={'maximum_retry_attempts': ..., 'maximum_event_age_in_seconds': ...}.",
)
def target_dlq_and_retry(target: Resource):
    if get(target.props, "deadLetterConfig", "arn") is None:
        yield "no deadLetterConfig"
    if get(target.props, "retryPolicy") is None:
        yield "no retryPolicy"


@resource_rule(
    "SB-EVENTS-002", tokens.EVENT_BUS_POLICY, tokens.EVENT_PERMISSION,
    description="No event bus is open to every account.",
    remediation="Name the accounts, or keep Principal \"*\" only with a Condition such as aws:PrincipalOrgID.",
)
def no_open_bus(resource: Resource):
    if resource.resource_type == tokens.EVENT_PERMISSION:
        if get(resource.props, "principal") == "*" and get(resource.props, "condition") is None:
            yield "principal '*' without a condition"
        return
    found = statements(get(resource.props, "policy"))
    for statement in found or []:
        if statement.allows and is_public_principal(statement.principal) and not statement.condition:
            yield f"statement '{statement.sid or 'unnamed'}' allows any principal without a condition"
