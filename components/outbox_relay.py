"""OutboxRelay: orders and their OrderCreated events, committed together and never lost.

    client ──ID token──▶ API Gateway REST  POST /orders  (Cognito authorizer, stage throttling)
                              │
                              ▼
                   Lambda order_service ──TransactWriteItems──▶ Orders table + Outbox table
                      │ Idempotency-Key                               │ stream NEW_IMAGE, TTL expiresAt
                      ▼                                               ▼
               Idempotency table (TTL expiration)     event source mapping: INSERT only, bisect,
                                                      bounded retries/age, ReportBatchItemFailures
                                                              │            └─on failure─▶ SQS relay-failed
                                                              ▼
                                                   Lambda outbox_relay ──PutEvents──▶ custom EventBridge bus
                                                                                  │      └─▶ archive (replay)
                                                                 rule: OrderCreated│
                                                                                  ▼
                                          SQS shipping queue (redrive ─▶ DLQ) ◀──┘ retry policy, target DLQ
                                                     │ ReportBatchItemFailures
                                                     ▼
                                     Lambda shipping_consumer ──conditional put──▶ Shipments table

The outbox row and the order row are written in one transaction, so an event exists if and only if
its order was committed. From there, delivery is at least once: every hop retries, and every copy
carries the same event id (the outbox id), on which the consumer de-duplicates with a conditional put.
Every terminal queue (the relay's on-failure destination, the rule target's DLQ, the shipping queue's
DLQ) raises an alarm on its first message, and so does a growing stream iterator age.
"""
from __future__ import annotations

import json
import re
from typing import Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
from .iam import allow
from .lambda_function import LambdaFunction
from .rest_api import ApiRoute, LambdaRestApi
from .secure_queue import SecureQueue
from .user_pool import user_pool_with_app_client

EVENT_TYPE = "OrderCreated"
OUTBOX_TTL_ATTRIBUTE = "expiresAt"
# The Powertools idempotency utility's DynamoDB layout (DynamoDBPersistenceLayer defaults).
IDEMPOTENCY_KEY_ATTRIBUTE = "id"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"
_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$")

# Defaults: what you get without asking.
DEFAULT_EVENT_SOURCE = "serverless-blueprints.orders"
DEFAULT_BATCH_SIZE = 100
DEFAULT_BATCHING_WINDOW_SECONDS = 1
DEFAULT_OUTBOX_TTL_DAYS = defaults.OUTBOX_MIN_TTL_DAYS
DEFAULT_ARCHIVE_RETENTION_DAYS = 30
DEFAULT_TARGET_MAXIMUM_RETRY_ATTEMPTS = 20
DEFAULT_TARGET_MAXIMUM_EVENT_AGE_SECONDS = 3600
DEFAULT_CONSUMER_BATCH_SIZE = 10
DEFAULT_ITERATOR_AGE_ALARM_SECONDS = 300
DEFAULT_THROTTLE_RATE_LIMIT = 20.0
DEFAULT_THROTTLE_BURST_LIMIT = 40


class OutboxRelayArgs(TypedDict, total=False):
    user_pool_arn: Optional[pulumi.Input[str]]
    """Cognito user pool whose ID tokens authorize POST /orders; None creates a minimal hardened pool."""
    cors_allow_origin: str
    """Access-Control-Allow-Origin of the API (default *)."""
    throttle_rate_limit: float
    """Stage-wide steady-state requests per second."""
    throttle_burst_limit: int
    """Stage-wide burst."""
    order_memory_mb: int
    """Memory of the order service."""
    order_timeout_seconds: int
    """Timeout of the order service (< 29 s, API Gateway's limit)."""
    relay_memory_mb: int
    """Memory of the relay."""
    relay_timeout_seconds: int
    """Timeout of the relay (it stops backing off 3 s before it)."""
    consumer_memory_mb: int
    """Memory of the shipping consumer."""
    consumer_timeout_seconds: int
    """Timeout of the shipping consumer; its queue's visibility is 6x this."""
    batch_size: int
    """Outbox stream records per relay invocation (1-10000)."""
    batching_window_seconds: int
    """How long Lambda gathers stream records before invoking the relay (0-300)."""
    maximum_retry_attempts: int
    """Retries of a failing stream batch before it goes to the on-failure queue (0-10000, never infinite)."""
    maximum_record_age_seconds: int
    """Age after which a stream record goes to the on-failure queue (60-86400, never infinite)."""
    outbox_ttl_days: int
    """Days an outbox row is kept after it is written (>= 14, the on-failure queue's retention)."""
    event_source: str
    """EventBridge `source` of the published events (must not start with aws.)."""
    archive_retention_days: int
    """Days the bus archive keeps events for replay (>= 1)."""
    target_maximum_retry_attempts: int
    """EventBridge retries of the OrderCreated -> SQS delivery before its DLQ (0-185)."""
    target_maximum_event_age_seconds: int
    """Age after which EventBridge stops retrying that delivery (60-86400)."""
    consumer_batch_size: int
    """Messages per shipping consumer invocation (1-10)."""
    iterator_age_alarm_seconds: int
    """Alarm when the oldest unrelayed stream record is this old (below maximum_record_age_seconds)."""
    alarm_actions: Sequence[pulumi.Input[str]]
    """SNS topics notified by every alarm of the component."""
    log_retention_days: int
    """Retention of every log group."""
    deletion_protection: bool
    """Protect the tables (and the created user pool) from deletion."""
    cloudwatch_account: Optional[pulumi.Resource]
    """The region's API Gateway logging settings, if this stack manages them."""


def _check_range(name: str, knob: str, value: int, low: int, high: int, why: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name}: {knob}={value!r} must be a whole number from {low} to {high}"
                         + (f" ({why})" if why else ""))
    return value


def _settings(name: str, args: OutboxRelayArgs) -> dict:
    """The args merged over the defaults; conflicting or unbounded values raise a ValueError naming the knob."""
    s = {
        "batch_size": _check_range(name, "batch_size", args.get("batch_size", DEFAULT_BATCH_SIZE), 1, 10000),
        "batching_window_seconds": _check_range(
            name, "batching_window_seconds", args.get("batching_window_seconds", DEFAULT_BATCHING_WINDOW_SECONDS),
            0, 300),
        "maximum_retry_attempts": _check_range(
            name, "maximum_retry_attempts", args.get("maximum_retry_attempts", defaults.OUTBOX_RELAY_MAXIMUM_RETRY_ATTEMPTS),
            0, 10000, "-1 would retry a poison record until it expires and block its shard"),
        "maximum_record_age_seconds": _check_range(
            name, "maximum_record_age_seconds",
            args.get("maximum_record_age_seconds", defaults.STREAM_MAXIMUM_RECORD_AGE_SECONDS),
            60, defaults.DYNAMODB_STREAM_RETENTION_SECONDS, "DynamoDB streams keep records 24 h; -1 is unbounded"),
        "outbox_ttl_days": _check_range(
            name, "outbox_ttl_days", args.get("outbox_ttl_days", DEFAULT_OUTBOX_TTL_DAYS),
            defaults.OUTBOX_MIN_TTL_DAYS, 3650,
            "an on-failure record must not outlive the outbox row it points to"),
        "archive_retention_days": _check_range(
            name, "archive_retention_days", args.get("archive_retention_days", DEFAULT_ARCHIVE_RETENTION_DAYS),
            1, 3650),
        "target_maximum_retry_attempts": _check_range(
            name, "target_maximum_retry_attempts",
            args.get("target_maximum_retry_attempts", DEFAULT_TARGET_MAXIMUM_RETRY_ATTEMPTS),
            0, defaults.EVENTBRIDGE_MAX_RETRY_ATTEMPTS),
        "target_maximum_event_age_seconds": _check_range(
            name, "target_maximum_event_age_seconds",
            args.get("target_maximum_event_age_seconds", DEFAULT_TARGET_MAXIMUM_EVENT_AGE_SECONDS),
            60, defaults.EVENTBRIDGE_MAX_EVENT_AGE_SECONDS),
        "consumer_batch_size": _check_range(
            name, "consumer_batch_size", args.get("consumer_batch_size", DEFAULT_CONSUMER_BATCH_SIZE), 1, 10),
        "iterator_age_alarm_seconds": _check_range(
            name, "iterator_age_alarm_seconds",
            args.get("iterator_age_alarm_seconds", DEFAULT_ITERATOR_AGE_ALARM_SECONDS), 60, 86400),
    }
    if s["iterator_age_alarm_seconds"] >= s["maximum_record_age_seconds"]:
        raise ValueError(f"{name}: iterator_age_alarm_seconds={s['iterator_age_alarm_seconds']} must be below "
                         f"maximum_record_age_seconds={s['maximum_record_age_seconds']}, so the alarm fires "
                         f"before records are given up on")
    source = args.get("event_source", DEFAULT_EVENT_SOURCE)
    if not isinstance(source, str) or not _SOURCE.match(source) or source.lower().startswith("aws."):
        raise ValueError(f"{name}: event_source={source!r} must be 1-256 letters, digits, '.', '_' or '-' "
                         f"and must not start with 'aws.' (reserved for AWS services)")
    s["event_source"] = source
    return s


class OutboxRelay(pulumi.ComponentResource):
    orders_url: pulumi.Output[str]
    """Full URL of the POST /orders route."""
    api_url: pulumi.Output[str]
    """Invoke URL of the API stage."""
    event_bus_name: pulumi.Output[str]
    """Name of the custom bus the relay publishes to."""
    event_bus_arn: pulumi.Output[str]
    """ARN of that bus."""
    event_source: str
    """`source` of every published event."""
    archive_name: pulumi.Output[str]
    """The bus archive events are replayed from."""
    orders_table_name: pulumi.Output[str]
    """Orders table."""
    outbox_table_name: pulumi.Output[str]
    """Outbox table (streamed to the relay)."""
    idempotency_table_name: pulumi.Output[str]
    """Powertools idempotency records of POST /orders."""
    shipments_table_name: pulumi.Output[str]
    """Shipments table (one row per event id)."""
    relay_failure_queue: SecureQueue
    """On-failure destination of the outbox stream mapping."""
    target_dead_letter_queue: SecureQueue
    """Where EventBridge puts OrderCreated events it could not deliver to the shipping queue."""
    shipping_queue: SecureQueue
    """The rule's target; its redrive DLQ holds messages the consumer kept failing."""
    dead_letter_queues: pulumi.Output[dict]
    """Every terminal queue: {relayOnFailure, orderCreatedTarget, shippingConsumer} -> {url, arn}."""
    user_pool_id: Optional[pulumi.Output[str]]
    """The created user pool (None when user_pool_arn was given)."""
    user_pool_client_id: Optional[pulumi.Output[str]]
    """Its app client, no secret, SRP (None when user_pool_arn was given)."""

    def __init__(self, name: str, args: Optional[OutboxRelayArgs] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:OutboxRelay", name, None, opts)
        args = args or {}
        s = _settings(name, args)
        child = pulumi.ResourceOptions(parent=self)
        protect = args.get("deletion_protection", False)
        retention = args.get("log_retention_days", 30)
        alarm_actions = list(args.get("alarm_actions", []))
        self.event_source = s["event_source"]

        # --- tables ----------------------------------------------------------------------------
        orders = self._table(f"{name}-orders", "orderId", protect)
        outbox = self._table(f"{name}-outbox", "eventId", protect, stream_enabled=True, stream_view_type="NEW_IMAGE",
                             ttl={"attribute_name": OUTBOX_TTL_ATTRIBUTE, "enabled": True})
        idempotency = self._table(f"{name}-idempotency", IDEMPOTENCY_KEY_ATTRIBUTE, protect,
                                  ttl={"attribute_name": IDEMPOTENCY_TTL_ATTRIBUTE, "enabled": True})
        shipments = self._table(f"{name}-shipments", "eventId", protect)

        # --- order service behind POST /orders -------------------------------------------------
        self.user_pool_id = self.user_pool_client_id = None
        user_pool_arn = args.get("user_pool_arn")
        if user_pool_arn is None:
            # Who may place orders is decided by whoever brings the pool; a created pool is invite-only.
            pool, client = user_pool_with_app_client(f"{name}-users", f"{name}-client", parent=self,
                                                     deletion_protection=protect, invite_only=True,
                                                     minimum_password_length=12)
            user_pool_arn = pool.arn
            self.user_pool_id, self.user_pool_client_id = pool.id, client.id

        # Conditional Puts inside the transaction need PutItem only (ConditionCheckItem is for
        # ConditionCheck items, which the service doesn't use). The EnclosingOperation condition keeps
        # the function from ever writing an order or an event outside that transaction.
        order_service = LambdaFunction(f"{name}-order-service", {
            "code": "order_service",
            "memory_mb": args.get("order_memory_mb", 256),
            "timeout_seconds": args.get("order_timeout_seconds", 10),
            "invoked_by_api_gateway": True,
            "log_retention_days": retention,
            "environment": {
                "ORDERS_TABLE": orders.name, "OUTBOX_TABLE": outbox.name, "IDEMPOTENCY_TABLE": idempotency.name,
                "OUTBOX_TTL_DAYS": str(s["outbox_ttl_days"]),
            },
            "policy_statements": [
                allow(["dynamodb:PutItem"], [orders.arn, outbox.arn], sid="OrderAndEventInOneTransaction",
                      condition={"StringEquals": {"dynamodb:EnclosingOperation": "TransactWriteItems"}}),
                # After a cancelled transaction: is it the same order replayed, or a reused key?
                allow(["dynamodb:GetItem"], [orders.arn], sid="ReadExistingOrder"),
                allow(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                      [idempotency.arn], sid="IdempotencyRecords"),
            ],
        }, opts=child)
        api = LambdaRestApi(f"{name}-api", {
            "routes": [ApiRoute(method="POST", path="/orders", function=order_service)],
            "cognito_user_pool_arns": [user_pool_arn],
            "cors_allow_origin": args.get("cors_allow_origin", "*"),
            "throttle_rate_limit": args.get("throttle_rate_limit", DEFAULT_THROTTLE_RATE_LIMIT),
            "throttle_burst_limit": args.get("throttle_burst_limit", DEFAULT_THROTTLE_BURST_LIMIT),
            "log_retention_days": retention,
            "cloudwatch_account": args.get("cloudwatch_account"),
        }, opts=child)

        # --- bus, archive, OrderCreated -> shipping queue --------------------------------------
        # No EventBusPolicy: only principals of this account with events:PutEvents on the bus can publish.
        bus = aws.cloudwatch.EventBus(f"{name}-bus", description=f"{name}: events relayed from the outbox",
                                      opts=child)
        archive = aws.cloudwatch.EventArchive(
            f"{name}-archive", event_source_arn=bus.arn, retention_days=s["archive_retention_days"],
            event_pattern=json.dumps({"source": [self.event_source]}),
            description=f"{name}: every relayed event, for replay", opts=child)
        rule = aws.cloudwatch.EventRule(
            f"{name}-order-created", event_bus_name=bus.name,
            description=f"{EVENT_TYPE} events to the shipping queue",
            event_pattern=json.dumps({"source": [self.event_source], "detail-type": [EVENT_TYPE]}), opts=child)
        from_rule = {"Sid": "FromOrderCreatedRule", "Effect": "Allow",
                     "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                     "Condition": {"ArnEquals": {"aws:SourceArn": rule.arn}}}
        consumer_timeout = args.get("consumer_timeout_seconds", 30)
        self.shipping_queue = SecureQueue(f"{name}-shipping", {
            "consumer_timeout_seconds": consumer_timeout, "policy_statements": [from_rule],
            "alarm_actions": alarm_actions}, opts=child)
        self.target_dead_letter_queue = SecureQueue(f"{name}-order-created-dlq", {
            "dead_letter": False, "policy_statements": [from_rule], "alarm_actions": alarm_actions}, opts=child)
        aws.cloudwatch.EventTarget(
            f"{name}-order-created-to-shipping", rule=rule.name, event_bus_name=bus.name,
            arn=self.shipping_queue.arn,
            dead_letter_config={"arn": self.target_dead_letter_queue.arn},
            retry_policy={"maximum_retry_attempts": s["target_maximum_retry_attempts"],
                          "maximum_event_age_in_seconds": s["target_maximum_event_age_seconds"]},
            # Deliveries fail until the queue policies admit the rule.
            opts=pulumi.ResourceOptions(parent=self,
                                        depends_on=[self.shipping_queue, self.target_dead_letter_queue]))

        # --- relay: outbox stream -> bus -------------------------------------------------------
        self.relay_failure_queue = SecureQueue(f"{name}-relay-failed", {
            "dead_letter": False, "alarm_actions": alarm_actions}, opts=child)
        relay = LambdaFunction(f"{name}-relay", {
            "code": "outbox_relay",
            "memory_mb": args.get("relay_memory_mb", 256),
            "timeout_seconds": args.get("relay_timeout_seconds", 30),
            "log_retention_days": retention,
            "environment": {"EVENT_BUS_NAME": bus.name, "EVENT_SOURCE": self.event_source},
            "policy_statements": [
                allow(["events:PutEvents"], [bus.arn], sid="PublishToOwnBus"),
                allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                      [outbox.stream_arn], sid="ReadOutboxStream"),
                # AWS's DynamoDB docs scope ListStreams to the table's streams as well.
                allow(["dynamodb:ListStreams"], [outbox.arn.apply(lambda arn: f"{arn}/stream/*")],
                      sid="ListOutboxStreams"),
                # The mapping sends on-failure records with the function's role.
                allow(["sqs:SendMessage"], [self.relay_failure_queue.arn], sid="StreamOnFailureDestination"),
            ],
        }, opts=child)
        aws.lambda_.EventSourceMapping(
            f"{name}-relay-stream", event_source_arn=outbox.stream_arn, function_name=relay.function.arn,
            # TRIM_HORIZON: LATEST would skip outbox rows committed before the mapping became active.
            starting_position="TRIM_HORIZON",
            filter_criteria={"filters": [{"pattern": json.dumps({"eventName": ["INSERT"]})}]},
            batch_size=s["batch_size"],
            maximum_batching_window_in_seconds=s["batching_window_seconds"],
            # One batch per shard at a time: records of a shard are relayed in stream order.
            parallelization_factor=1,
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=s["maximum_retry_attempts"],
            maximum_record_age_in_seconds=s["maximum_record_age_seconds"],
            destination_config={"on_failure": {"destination_arn": self.relay_failure_queue.arn}},
            function_response_types=["ReportBatchItemFailures"],
            opts=child)
        aws.cloudwatch.MetricAlarm(
            f"{name}-relay-iterator-age",
            alarm_description="Outbox events are waiting to be relayed; records are given up on at "
                              f"{s['maximum_record_age_seconds']} s",
            namespace="AWS/Lambda", metric_name="IteratorAge", dimensions={"FunctionName": relay.name},
            statistic="Maximum", period=60, evaluation_periods=1,
            threshold=s["iterator_age_alarm_seconds"] * 1000, comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching", alarm_actions=alarm_actions, opts=child)

        # --- shipping consumer -----------------------------------------------------------------
        consumer = LambdaFunction(f"{name}-shipping-consumer", {
            "code": "shipping_consumer",
            "memory_mb": args.get("consumer_memory_mb", 256),
            "timeout_seconds": consumer_timeout,
            "log_retention_days": retention,
            "environment": {"SHIPMENTS_TABLE": shipments.name},
            "policy_statements": [
                allow(["dynamodb:PutItem"], [shipments.arn], sid="RecordShipmentOnce"),
                allow(["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                      [self.shipping_queue.arn], sid="ConsumeShippingQueue"),
            ],
        }, opts=child)
        aws.lambda_.EventSourceMapping(
            f"{name}-shipping-queue", event_source_arn=self.shipping_queue.arn,
            function_name=consumer.function.arn, batch_size=s["consumer_batch_size"],
            function_response_types=["ReportBatchItemFailures"], opts=child)

        # --- outputs ---------------------------------------------------------------------------
        self.api_url = api.url
        self.orders_url = pulumi.Output.concat(api.url, "/orders")
        self.event_bus_name = bus.name
        self.event_bus_arn = bus.arn
        self.archive_name = archive.name
        self.orders_table_name = orders.name
        self.outbox_table_name = outbox.name
        self.idempotency_table_name = idempotency.name
        self.shipments_table_name = shipments.name
        self.dead_letter_queues = pulumi.Output.from_input({
            "relayOnFailure": {"url": self.relay_failure_queue.url, "arn": self.relay_failure_queue.arn},
            "orderCreatedTarget": {"url": self.target_dead_letter_queue.url,
                                   "arn": self.target_dead_letter_queue.arn},
            "shippingConsumer": {"url": self.shipping_queue.dead_letter_queue.url,
                                 "arn": self.shipping_queue.dlq_arn},
        })
        self.register_outputs({
            "orders_url": self.orders_url, "api_url": self.api_url,
            "event_bus_name": self.event_bus_name, "event_bus_arn": self.event_bus_arn,
            "archive_name": self.archive_name,
            "orders_table_name": self.orders_table_name, "outbox_table_name": self.outbox_table_name,
            "idempotency_table_name": self.idempotency_table_name,
            "shipments_table_name": self.shipments_table_name, "dead_letter_queues": self.dead_letter_queues,
            "user_pool_id": self.user_pool_id, "user_pool_client_id": self.user_pool_client_id,
        })

    def _table(self, name: str, key: str, protect: bool, **extra) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            name, billing_mode="PAY_PER_REQUEST", hash_key=key, attributes=[{"name": key, "type": "S"}],
            point_in_time_recovery={"enabled": True}, server_side_encryption={"enabled": True},
            deletion_protection_enabled=protect, **extra, opts=pulumi.ResourceOptions(parent=self))
