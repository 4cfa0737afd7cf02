"""SecureQueue: an encrypted, TLS-only SQS queue with a redrive DLQ.

With `dead_letter=False` it is itself a terminal queue (a DLQ or an on-failure
destination): encrypted, TLS-only, and without a redrive of its own.
Its terminal queue (the DLQ, or itself) is what needs watching: `depth_watch()` describes the alarm
on its first message, which the owning component creates with its others (see monitoring.py).
"""
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, monitoring
from .args import ArgsReader
from .iam import PolicyStatement, deny_insecure_transport, policy_document


class SecureQueueArgs(TypedDict, total=False):
    visibility_timeout_seconds: int
    """At least 6x the consumer's timeout (checked when consumer_timeout_seconds is given)."""
    consumer_timeout_seconds: Optional[int]
    """Timeout of the Lambda that consumes this queue."""
    max_receive_count: int
    """Receives before a message moves to the DLQ (>= 5)."""
    dead_letter: bool
    """Create a DLQ with redrive (default true)."""
    message_retention_seconds: int
    """How long an unconsumed message is kept."""
    policy_statements: Sequence[pulumi.Input[PolicyStatement]]
    """Who may send (e.g. S3 or EventBridge, scoped by source ARN); TLS-only is added for you.
    A statement without Resource/NotResource applies to this queue (its ARN is filled in)."""


SQS_MAX_RETENTION_SECONDS = 14 * 24 * 3600
SQS_MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 3600
MAX_RECEIVE_COUNT_LIMIT = 1000

DEFAULTS: dict[str, Any] = {
    "max_receive_count": defaults.SQS_MAX_RECEIVE_COUNT,
    "dead_letter": True,
    "message_retention_seconds": 4 * 24 * 3600,
    "policy_statements": [],
}
"""What a queue gets without asking: a redrive DLQ after 5 receives, 4 days of retention, SSE, TLS only."""


@dataclass(frozen=True)
class ResolvedSecureQueue:
    visibility_timeout_seconds: int
    consumer_timeout_seconds: Optional[int]
    max_receive_count: int
    dead_letter: bool
    message_retention_seconds: int
    policy_statements: list


def _statements(r: ArgsReader, key: str) -> list:
    value = r.get(key)
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Sequence):
        r.fail(key, f"expected a list of policy statements, got {value!r}")
    return list(value)


def resolve_args(name: str, args: Optional[SecureQueueArgs]) -> ResolvedSecureQueue:
    """The caller's args over DEFAULTS, each checked; raises ArgsError naming the arg."""
    r = ArgsReader("SecureQueue", name, args, SecureQueueArgs, DEFAULTS)
    max_receive_count = r.get("max_receive_count")
    if isinstance(max_receive_count, int) and not isinstance(max_receive_count, bool) \
            and max_receive_count < defaults.SQS_MAX_RECEIVE_COUNT:
        r.fail("max_receive_count", f"{max_receive_count} is out of range; allowed {defaults.SQS_MAX_RECEIVE_COUNT} "
                                    f"to {MAX_RECEIVE_COUNT_LIMIT} (fewer receives dead-letter good messages on "
                                    f"transient errors)")
    consumer_timeout = r.optional_integer("consumer_timeout_seconds", low=1, high=defaults.LAMBDA_MAX_TIMEOUT_SECONDS)
    least = defaults.visibility_timeout_for(consumer_timeout) if consumer_timeout else 0
    visibility = r.integer("visibility_timeout_seconds", low=0, high=SQS_MAX_VISIBILITY_TIMEOUT_SECONDS,
                           default=least or 30)
    if visibility < least:
        r.fail("visibility_timeout_seconds", f"{visibility} must be at least {defaults.SQS_VISIBILITY_TIMEOUT_FACTOR}x "
                                             f"the consumer timeout ({consumer_timeout} s): allowed {least} to "
                                             f"{SQS_MAX_VISIBILITY_TIMEOUT_SECONDS}")
    return ResolvedSecureQueue(
        visibility_timeout_seconds=visibility,
        consumer_timeout_seconds=consumer_timeout,
        max_receive_count=r.integer("max_receive_count", low=defaults.SQS_MAX_RECEIVE_COUNT,
                                    high=MAX_RECEIVE_COUNT_LIMIT),
        dead_letter=r.flag("dead_letter"),
        message_retention_seconds=r.integer("message_retention_seconds", low=60, high=SQS_MAX_RETENTION_SECONDS),
        policy_statements=_statements(r, "policy_statements"),
    )


class SecureQueue(pulumi.ComponentResource):
    queue: aws.sqs.Queue
    """The queue."""
    dead_letter_queue: Optional[aws.sqs.Queue]
    """Where messages go after max_receive_count receives."""
    arn: pulumi.Output[str]
    """The queue's ARN."""
    url: pulumi.Output[str]
    """The queue's URL."""
    dlq_arn: Optional[pulumi.Output[str]]
    """The DLQ's ARN."""
    terminal: aws.sqs.Queue
    """Where messages wait for a human: the DLQ, or the queue itself when dead_letter=False."""

    def __init__(self, name: str, args: Optional[SecureQueueArgs] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:SecureQueue", name, None, opts)
        s = resolve_args(name, args)
        child = pulumi.ResourceOptions(parent=self)
        self._name = name

        self.dead_letter_queue = None
        self.dlq_arn = None
        redrive = None
        if s.dead_letter:
            self.dead_letter_queue = aws.sqs.Queue(
                f"{name}-dlq", sqs_managed_sse_enabled=True,
                message_retention_seconds=defaults.SQS_DLQ_RETENTION_SECONDS, opts=child)
            self.dlq_arn = self.dead_letter_queue.arn
            redrive = pulumi.Output.json_dumps({"deadLetterTargetArn": self.dlq_arn,
                                                "maxReceiveCount": s.max_receive_count})
            self._policy(f"{name}-dlq", self.dead_letter_queue, [])

        # A terminal queue keeps its messages as long as a DLQ does: they are waiting for a human.
        retention = (s.message_retention_seconds if redrive is not None
                     else defaults.SQS_DLQ_RETENTION_SECONDS)
        self.queue = aws.sqs.Queue(
            name, sqs_managed_sse_enabled=True, message_retention_seconds=retention,
            visibility_timeout_seconds=s.visibility_timeout_seconds,
            redrive_policy=redrive,
            opts=child)
        self._policy(name, self.queue, s.policy_statements)
        self.terminal = self.dead_letter_queue or self.queue
        self.arn = self.queue.arn
        self.url = self.queue.url
        self.register_outputs({"arn": self.arn, "url": self.url, "dlq_arn": self.dlq_arn})

    def _policy(self, name: str, queue: aws.sqs.Queue, statements) -> aws.sqs.QueuePolicy:
        return aws.sqs.QueuePolicy(
            f"{name}-policy", queue_url=queue.url,
            policy=policy_document([deny_insecure_transport([queue.arn], action="sqs:*"),
                                    *(self._scoped_to(queue, s) for s in statements)]),
            opts=pulumi.ResourceOptions(parent=self))

    @staticmethod
    def _scoped_to(queue: aws.sqs.Queue, statement):
        """A caller can't know the queue's ARN before it exists; a statement without a Resource means this queue."""
        if isinstance(statement, dict) and "Resource" not in statement and "NotResource" not in statement:
            return {**statement, "Resource": [queue.arn]}
        return statement

    def depth_watch(self, thresholds: Mapping[str, float]) -> monitoring.Watch:
        """Any message in the terminal queue is something that was not processed: alarm on the first one."""
        label = f"{self._name}-dlq" if self.dead_letter_queue is not None else self._name
        return monitoring.queue_depth_watch(label, self.terminal.name, thresholds)
