"""A function triggered by a bucket must not be able to write back into what triggers it.

Trigger paths followed, from an aws.s3.BucketNotification (bucket -> notification):
  lambdaFunctions[].lambdaFunctionArn -> Function
  queues[].queueArn -> Queue -> EventSourceMapping(eventSourceArn) -> functionName -> Function
  topics[].topicArn -> Topic -> TopicSubscription(topic): protocol "lambda" -> Function,
                                                        protocol "sqs" -> Queue -> mapping -> Function
Writes: the function's role (Function.role) and every identity policy on it (inline policies,
RolePolicy, RolePolicyAttachment/PolicyAttachment to an aws.iam.Policy or an AWS managed policy)
granting s3:PutObject on a Resource pattern that can reach "arn:aws:s3:::<bucket>/<prefix>".
"""
from __future__ import annotations

from typing import Iterator

from . import tokens
from .documents import could_match_prefix, grants, statements
from .iam_rules import S3_WRITING_MANAGED_POLICIES, role_documents
from .model import Resource, as_list, attribute, get, is_known, is_unknown
from .registry import stack_rule
from .stack import Stack

WRITE_ACTION = "s3:PutObject"  # CopyObject and multipart uploads are authorized as PutObject too


def _creates_objects(events) -> bool:
    if is_unknown(events) or any(is_unknown(e) for e in as_list(events)):
        return True
    return any(isinstance(e, str) and e.startswith("s3:ObjectCreated") for e in as_list(events)) or not events


def _functions_fed_by_queue(stack: Stack, queue: Resource) -> list:
    functions = []
    for mapping in stack.of_type(tokens.EVENT_SOURCE_MAPPING):
        source = stack.resolve_one(mapping, "eventSourceArn", get(mapping.props, "eventSourceArn"), tokens.QUEUE)
        if source is queue:
            function = stack.resolve_one(mapping, "functionName", get(mapping.props, "functionName"), tokens.FUNCTION)
            if function is not None:
                functions.append(function)
    return functions


def triggered_functions(stack: Stack, notification: Resource) -> Iterator[tuple]:
    """(function, key prefix, path description) for everything a notification ends up invoking."""
    for entry in as_list(get(notification.props, "lambdaFunctions")):
        if not _creates_objects(get(entry, "events")):
            continue
        prefix = get(entry, "filterPrefix") or ""
        for function in stack.resolve(notification, "lambdaFunctions", get(entry, "lambdaFunctionArn"),
                                      stack.of_type(tokens.FUNCTION)) or []:
            yield function, prefix, "directly"
    for entry in as_list(get(notification.props, "queues")):
        if not _creates_objects(get(entry, "events")):
            continue
        prefix = get(entry, "filterPrefix") or ""
        for queue in stack.resolve(notification, "queues", get(entry, "queueArn"), stack.of_type(tokens.QUEUE)) or []:
            for function in _functions_fed_by_queue(stack, queue):
                yield function, prefix, f"through queue '{queue.name}'"
    for entry in as_list(get(notification.props, "topics")):
        if not _creates_objects(get(entry, "events")):
            continue
        prefix = get(entry, "filterPrefix") or ""
        for topic in stack.resolve(notification, "topics", get(entry, "topicArn"), stack.of_type(tokens.TOPIC)) or []:
            for subscription in stack.of_type(tokens.TOPIC_SUBSCRIPTION):
                if stack.resolve_one(subscription, "topic", get(subscription.props, "topic"), tokens.TOPIC) is not topic:
                    continue
                endpoint = get(subscription.props, "endpoint")
                protocol = get(subscription.props, "protocol")
                if protocol == "lambda":
                    function = stack.resolve_one(subscription, "endpoint", endpoint, tokens.FUNCTION)
                    if function is not None:
                        yield function, prefix, f"through topic '{topic.name}'"
                elif protocol == "sqs":
                    queue = stack.resolve_one(subscription, "endpoint", endpoint, tokens.QUEUE)
                    for function in _functions_fed_by_queue(stack, queue) if queue else []:
                        yield function, prefix, f"through topic '{topic.name}' and queue '{queue.name}'"


def bucket_names(bucket: Resource) -> list:
    names = [attribute(bucket, "bucket"), attribute(bucket, "id")]
    arn = attribute(bucket, "arn")
    if is_known(arn) and isinstance(arn, str) and arn.startswith("arn:"):
        names.append(arn.split(":", 5)[5])
    return sorted({n for n in names if is_known(n) and isinstance(n, str)})


def writes_into(document, names: list, prefix: str):
    """The Resource patterns of `document` that let s3:PutObject reach bucket/prefix (None: unknown)."""
    found = statements(document)
    if found is None:
        return None
    reaching = []
    for statement in found:
        if grants(statement, WRITE_ACTION) is not True:
            continue
        if statement.not_resources is not None:
            reaching.append("NotResource")
            continue
        for pattern in statement.resources or ():
            if not isinstance(pattern, str) or is_unknown(pattern):
                continue
            if any(could_match_prefix(pattern, f"arn:aws:s3:::{name}/{prefix}") for name in names):
                reaching.append(pattern)
    return reaching


@stack_rule(
    "SB-TRIGGER-001",
    description="A function triggered by a bucket can't write into that bucket (and trigger prefix).",
    remediation="Write results to another bucket, or to a prefix outside the notification's filter_prefix, and scope s3:PutObject to it.",
)
def no_write_back_into_trigger(stack: Stack):
    for notification in stack.of_type(tokens.BUCKET_NOTIFICATION):
        bucket = stack.resolve_one(notification, "bucket", get(notification.props, "bucket"), tokens.BUCKET)
        if bucket is None:
            continue
        names = bucket_names(bucket)
        for function, prefix, path in triggered_functions(stack, notification):
            role = stack.resolve_one(function, "role", get(function.props, "role"), tokens.ROLE)
            if role is None:
                continue
            documents, _ = role_documents(stack, role)
            where = f"bucket '{bucket.name}'" + (f" prefix '{prefix}'" if prefix else "")
            for label, document in documents:
                if label.startswith("managed "):
                    if label.split(" ", 1)[1] in S3_WRITING_MANAGED_POLICIES:
                        yield function, f"triggered by {where} ({path}) and {label} lets it write there"
                    continue
                if not names:
                    continue
                reaching = writes_into(document, names, prefix)
                if reaching:
                    yield function, (f"triggered by {where} ({path}) but its {label} allows s3:PutObject on "
                                     f"{', '.join(reaching)}: a write can re-trigger it")
