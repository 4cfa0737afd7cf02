"""SecureQueue: an encrypted, TLS-only SQS queue with a redrive DLQ and an alarm on that DLQ.

With `dead_letter=False` it is itself a terminal queue (a DLQ or an on-failure
destination): encrypted, TLS-only, alarmed, and without a redrive of its own.
"""
from __future__ import annotations

from typing import Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
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
    alarm_actions: Sequence[pulumi.Input[str]]
    """SNS topics notified when a message lands in a terminal queue."""


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

    def __init__(self, name: str, args: Optional[SecureQueueArgs] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:SecureQueue", name, None, opts)
        args = args or {}
        child = pulumi.ResourceOptions(parent=self)
        max_receive_count = args.get("max_receive_count", defaults.SQS_MAX_RECEIVE_COUNT)
        if max_receive_count < defaults.SQS_MAX_RECEIVE_COUNT:
            raise ValueError(f"{name}: max_receive_count={max_receive_count} must be at least "
                             f"{defaults.SQS_MAX_RECEIVE_COUNT}, or transient errors dead-letter good messages")
        consumer_timeout = args.get("consumer_timeout_seconds")
        visibility = args.get("visibility_timeout_seconds",
                              defaults.visibility_timeout_for(consumer_timeout) if consumer_timeout else 30)
        if consumer_timeout and visibility < defaults.visibility_timeout_for(consumer_timeout):
            raise ValueError(f"{name}: visibility_timeout_seconds={visibility} must be at least "
                             f"{defaults.SQS_VISIBILITY_TIMEOUT_FACTOR}x the consumer timeout ({consumer_timeout} s)")

        self.dead_letter_queue = None
        self.dlq_arn = None
        redrive = None
        if args.get("dead_letter", True):
            self.dead_letter_queue = aws.sqs.Queue(
                f"{name}-dlq", sqs_managed_sse_enabled=True,
                message_retention_seconds=defaults.SQS_DLQ_RETENTION_SECONDS, opts=child)
            self.dlq_arn = self.dead_letter_queue.arn
            redrive = pulumi.Output.json_dumps({"deadLetterTargetArn": self.dlq_arn,
                                                "maxReceiveCount": max_receive_count})
            self._policy(f"{name}-dlq", self.dead_letter_queue, [])
            self._alarm(f"{name}-dlq", self.dead_letter_queue, args)

        # A terminal queue keeps its messages as long as a DLQ does: they are waiting for a human.
        retention = (args.get("message_retention_seconds", 4 * 24 * 3600) if redrive is not None
                     else defaults.SQS_DLQ_RETENTION_SECONDS)
        self.queue = aws.sqs.Queue(
            name, sqs_managed_sse_enabled=True, message_retention_seconds=retention,
            visibility_timeout_seconds=visibility,
            redrive_policy=redrive,
            opts=child)
        self._policy(name, self.queue, args.get("policy_statements", []))
        if redrive is None:
            self._alarm(name, self.queue, args)
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

    def _alarm(self, name: str, queue: aws.sqs.Queue, args: SecureQueueArgs) -> aws.cloudwatch.MetricAlarm:
        """Any message in a terminal queue is something that was not processed: page on the first one."""
        return aws.cloudwatch.MetricAlarm(
            f"{name}-not-empty",
            alarm_description="A message landed in a dead-letter / on-failure queue",
            namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue.name}, statistic="Maximum",
            period=60, evaluation_periods=1, threshold=0, comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching", alarm_actions=list(args.get("alarm_actions", [])),
            opts=pulumi.ResourceOptions(parent=self))
