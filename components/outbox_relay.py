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
import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, TypedDict, cast

import pulumi
import pulumi_aws as aws

from . import defaults, monitoring
from .args import ArgsError, ArgsReader
from .canary import CanaryArgs, ResolvedCanary, read_canary
from .iam import allow
from .lambda_function import FunctionSizing, LambdaFunction, ResolvedSizing, read_sizing
from .rest_api import ApiRoute, ApiThrottle, LambdaRestApi, ResolvedThrottle, read_throttle
from .secure_queue import SecureQueue
from .user_pool import (USER_POOL_ARN_EXPECTED, ResolvedUserPoolEmail, UserPoolEmail, is_user_pool_arn, read_email,
                        user_pool_with_app_client)

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
DEFAULT_THROTTLE_RATE_LIMIT = 20
DEFAULT_THROTTLE_BURST_LIMIT = 40
# The iterator age alarm needs a minute of data; the record age must leave room above it.
MIN_ITERATOR_AGE_ALARM_SECONDS = 60
MIN_MAXIMUM_RECORD_AGE_SECONDS = 120


class OutboxRelayArgs(TypedDict, total=False):
    user_pool_arn: Optional[pulumi.Input[str]]
    """Cognito user pool whose ID tokens authorize POST /orders; left out, a minimal hardened pool is created."""
    email: Optional[UserPoolEmail]
    """The created pool's email (invitations) through your SES identity; left out, Cognito's capped built-in email."""
    cors_allow_origin: str
    """Access-Control-Allow-Origin of the API (default *)."""
    throttle: ApiThrottle
    """Stage-wide throttling of POST /orders (default 20 requests per second, burst 40)."""
    order_function: FunctionSizing
    """Memory (default 256 MB) and timeout (default 10 s, under API Gateway's 29) of the order service."""
    relay_function: FunctionSizing
    """Memory (default 256 MB) and timeout (default 30 s) of the relay; it stops backing off 3 s before it."""
    consumer_function: FunctionSizing
    """Memory (default 256 MB) and timeout (default 30 s) of the shipping consumer; its queue's visibility is 6x."""
    batch_size: int
    """Outbox stream records per relay invocation, 1 to 10000 (default 100)."""
    batching_window_seconds: int
    """How long Lambda gathers stream records before invoking the relay, 0 to 300 (default 1)."""
    maximum_retry_attempts: int
    """Retries of a failing stream batch before it goes to the on-failure queue, 0 to 10000 (default 10)."""
    maximum_record_age_seconds: int
    """Age after which a stream record goes to the on-failure queue, 120 to 86400 (default 3600)."""
    iterator_age_alarm_seconds: int
    """Alarm when the oldest unrelayed record is this old, 60 to below maximum_record_age_seconds (default 300)."""
    outbox_ttl_days: int
    """Days an outbox row is kept after it is written, 14 (the on-failure queue's retention) to 3650."""
    event_source: str
    """EventBridge `source` of the published events (must not start with aws.)."""
    archive_retention_days: int
    """Days the bus archive keeps events for replay, 1 to 3650 (default 30)."""
    target_maximum_retry_attempts: int
    """EventBridge retries of the OrderCreated -> SQS delivery before its DLQ, 0 to 185 (default 20)."""
    target_maximum_event_age_seconds: int
    """Age after which EventBridge stops retrying that delivery, 60 to 86400 (default 3600)."""
    consumer_batch_size: int
    """Messages per shipping consumer invocation, 1 to 10 (default 10)."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""
    log_retention_days: int
    """Retention of every log group (default 30)."""
    deletion_protection: bool
    """Protect the tables (and the created user pool) from deletion (default false)."""
    cloudwatch_account: Optional[aws.apigateway.Account]
    """The region's API Gateway logging settings, if this stack manages them."""
    canary: Optional[CanaryArgs]
    """Release the order function (behind POST /orders) through the alias `live` with CodeDeploy, rolled back on
    its errors and p99 duration; left out, a deploy replaces its code at once."""


DEFAULTS: dict[str, Any] = {
    "cors_allow_origin": "*",
    "throttle": {"rate_limit": DEFAULT_THROTTLE_RATE_LIMIT, "burst_limit": DEFAULT_THROTTLE_BURST_LIMIT},
    "order_function": {"memory_mb": 256, "timeout_seconds": 10},
    "relay_function": {"memory_mb": 256, "timeout_seconds": 30},
    "consumer_function": {"memory_mb": 256, "timeout_seconds": 30},
    "batch_size": DEFAULT_BATCH_SIZE,
    "batching_window_seconds": DEFAULT_BATCHING_WINDOW_SECONDS,
    "maximum_retry_attempts": defaults.OUTBOX_RELAY_MAXIMUM_RETRY_ATTEMPTS,
    "maximum_record_age_seconds": defaults.STREAM_MAXIMUM_RECORD_AGE_SECONDS,
    "outbox_ttl_days": DEFAULT_OUTBOX_TTL_DAYS,
    "event_source": DEFAULT_EVENT_SOURCE,
    "archive_retention_days": DEFAULT_ARCHIVE_RETENTION_DAYS,
    "target_maximum_retry_attempts": DEFAULT_TARGET_MAXIMUM_RETRY_ATTEMPTS,
    "target_maximum_event_age_seconds": DEFAULT_TARGET_MAXIMUM_EVENT_AGE_SECONDS,
    "consumer_batch_size": DEFAULT_CONSUMER_BATCH_SIZE,
    "log_retention_days": 30,
    "deletion_protection": False,
}
"""What you get without asking. The iterator age alarm defaults to 300 s, or just under a shorter record age."""

ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.API, monitoring.TABLE, monitoring.QUEUE)
"""Functions' errors and throttles, the stage's 5xx and p99 latency, tables' throttling, the terminal queues'
first message; the relay's iterator age has its own arg (iterator_age_alarm_seconds)."""


@dataclass(frozen=True)
class ResolvedOutboxRelay:
    user_pool_arn: Any
    email: Optional[ResolvedUserPoolEmail]
    cors_allow_origin: str
    throttle: ResolvedThrottle
    order_function: ResolvedSizing
    relay_function: ResolvedSizing
    consumer_function: ResolvedSizing
    batch_size: int
    batching_window_seconds: int
    maximum_retry_attempts: int
    maximum_record_age_seconds: int
    iterator_age_alarm_seconds: int
    outbox_ttl_days: int
    event_source: str
    archive_retention_days: int
    target_maximum_retry_attempts: int
    target_maximum_event_age_seconds: int
    consumer_batch_size: int
    alarms: Optional[monitoring.ResolvedAlarms]
    log_retention_days: int
    deletion_protection: bool
    cloudwatch_account: Optional[pulumi.Resource]
    canary: Optional[ResolvedCanary] = None


def _is_event_source(value: str) -> bool:
    return _SOURCE.match(value) is not None and not value.lower().startswith("aws.")


def resolve_args(name: str, args: Optional[OutboxRelayArgs]) -> ResolvedOutboxRelay:
    """The caller's args over DEFAULTS, each checked; raises ArgsError naming the arg and what is allowed."""
    r = ArgsReader("OutboxRelay", name, args, OutboxRelayArgs, DEFAULTS)
    record_age = r.integer("maximum_record_age_seconds", low=MIN_MAXIMUM_RECORD_AGE_SECONDS,
                           high=defaults.DYNAMODB_STREAM_RETENTION_SECONDS)
    try:
        # The alarm must fire while the records can still be relayed.
        alarm_age = r.integer("iterator_age_alarm_seconds", low=MIN_ITERATOR_AGE_ALARM_SECONDS, high=record_age - 1,
                              default=min(DEFAULT_ITERATOR_AGE_ALARM_SECONDS, record_age - 1))
    except ArgsError as error:
        raise error.because(f"below maximum_record_age_seconds {record_age}, so the alarm fires before records "
                            f"are given up on") from None
    user_pool_arn = r.optional_string("user_pool_arn", check=is_user_pool_arn, expected=USER_POOL_ARN_EXPECTED)
    if user_pool_arn is not None and r.given("email"):
        r.fail("email", "applies only to the user pool OutboxRelay creates; set the email of the pool of user_pool_arn "
                        "where that pool is managed")
    return ResolvedOutboxRelay(
        user_pool_arn=user_pool_arn, email=read_email(r),
        cors_allow_origin=r.string("cors_allow_origin"),
        throttle=read_throttle(r, "throttle", DEFAULTS["throttle"]),
        order_function=read_sizing(r, "order_function", **DEFAULTS["order_function"], invoked_by_api_gateway=True),
        relay_function=read_sizing(r, "relay_function", **DEFAULTS["relay_function"]),
        consumer_function=read_sizing(r, "consumer_function", **DEFAULTS["consumer_function"]),
        batch_size=r.integer("batch_size", low=1, high=10000),
        batching_window_seconds=r.integer("batching_window_seconds", low=0, high=300),
        # Never -1 (infinite): a poison record would be retried until it expires, blocking its shard.
        maximum_retry_attempts=r.integer("maximum_retry_attempts", low=0, high=10000),
        maximum_record_age_seconds=record_age,
        iterator_age_alarm_seconds=alarm_age,
        # An on-failure record must not outlive the outbox row it points to.
        outbox_ttl_days=r.integer("outbox_ttl_days", low=defaults.OUTBOX_MIN_TTL_DAYS, high=3650),
        event_source=r.string("event_source", check=_is_event_source,
                              expected="1-256 letters, digits, '.', '_' or '-', not starting with 'aws.' "
                                       "(reserved for AWS services)"),
        archive_retention_days=r.integer("archive_retention_days", low=1, high=3650),
        target_maximum_retry_attempts=r.integer("target_maximum_retry_attempts", low=0,
                                                high=defaults.EVENTBRIDGE_MAX_RETRY_ATTEMPTS),
        target_maximum_event_age_seconds=r.integer("target_maximum_event_age_seconds", low=60,
                                                   high=defaults.EVENTBRIDGE_MAX_EVENT_AGE_SECONDS),
        consumer_batch_size=r.integer("consumer_batch_size", low=1, high=10),
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS),
        log_retention_days=defaults.read_log_retention(r),
        deletion_protection=r.flag("deletion_protection"),
        cloudwatch_account=r.input("cloudwatch_account"),
        canary=read_canary(r),
    )


class Tables(NamedTuple):
    orders: aws.dynamodb.Table
    outbox: aws.dynamodb.Table
    idempotency: aws.dynamodb.Table
    shipments: aws.dynamodb.Table


class OrderService(NamedTuple):
    api: LambdaRestApi
    user_pool_id: Optional[pulumi.Output[str]]
    user_pool_client_id: Optional[pulumi.Output[str]]


class Bus(NamedTuple):
    bus: aws.cloudwatch.EventBus
    archive: aws.cloudwatch.EventArchive
    shipping_queue: SecureQueue
    target_dead_letter_queue: SecureQueue


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
    dead_letter_queues: pulumi.Output[dict[str, dict[str, str]]]
    """Every terminal queue: {relayOnFailure, orderCreatedTarget, shippingConsumer} -> {url, arn}."""
    user_pool_id: Optional[pulumi.Output[str]]
    """The created user pool (None when user_pool_arn was given)."""
    user_pool_client_id: Optional[pulumi.Output[str]]
    """Its app client, no secret, SRP (None when user_pool_arn was given)."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    # Every arg has a default, so `args` may be left out; it is typed without Optional for Pulumi's analyzer.
    def __init__(self, name: str, args: OutboxRelayArgs = None,  # type: ignore[assignment]
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:OutboxRelay", name, None, opts)
        s = resolve_args(name, args)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)
        self.event_source = s.event_source
        self._thresholds = s.alarms.thresholds if s.alarms else ALARM_THRESHOLDS
        self._watches: list[monitoring.Watch] = []
        self._canary_watches: list[monitoring.Watch] = []  # made by the order function's canary: drawn only

        tables = self._tables(s)
        orders = self._order_service(s, tables)
        bus = self._bus(s)
        # The component's children, for callers that extend it (not outputs).
        self.shipping_queue, self.target_dead_letter_queue = bus.shipping_queue, bus.target_dead_letter_queue
        self.relay_failure_queue = self._relay(s, tables.outbox, bus.bus)
        self._shipping_consumer(s, tables.shipments, bus.shipping_queue)
        for table in tables:
            self._watches += monitoring.table_watches(table._name, table.name, self._thresholds)
        monitored = monitoring.watch(name, s.alarms, self._watches, parent=self, created=self._canary_watches)
        self.dashboard_name = monitored.dashboard_name if monitored else None

        self.api_url = orders.api.url
        self.orders_url = pulumi.Output.format("{0}/orders", orders.api.url)
        self.user_pool_id, self.user_pool_client_id = orders.user_pool_id, orders.user_pool_client_id
        self.event_bus_name = bus.bus.name
        self.event_bus_arn = bus.bus.arn
        self.archive_name = bus.archive.name
        self.orders_table_name = tables.orders.name
        self.outbox_table_name = tables.outbox.name
        self.idempotency_table_name = tables.idempotency.name
        self.shipments_table_name = tables.shipments.name
        shipping_dlq, shipping_dlq_arn = self.shipping_queue.dead_letter_queue, self.shipping_queue.dlq_arn
        assert shipping_dlq is not None and shipping_dlq_arn is not None  # the shipping queue keeps dead_letter on
        queues: dict[str, dict[str, pulumi.Output[str]]] = {
            "relayOnFailure": {"url": self.relay_failure_queue.url, "arn": self.relay_failure_queue.arn},
            "orderCreatedTarget": {"url": self.target_dead_letter_queue.url,
                                   "arn": self.target_dead_letter_queue.arn},
            "shippingConsumer": {"url": shipping_dlq.url, "arn": shipping_dlq_arn},
        }
        # from_input resolves the nested outputs, which its Input[T] parameter can't say.
        self.dead_letter_queues = cast(pulumi.Output[dict[str, dict[str, str]]], pulumi.Output.from_input(queues))
        self.register_outputs({
            "orders_url": self.orders_url, "api_url": self.api_url,
            "event_bus_name": self.event_bus_name, "event_bus_arn": self.event_bus_arn,
            "archive_name": self.archive_name,
            "orders_table_name": self.orders_table_name, "outbox_table_name": self.outbox_table_name,
            "idempotency_table_name": self.idempotency_table_name,
            "shipments_table_name": self.shipments_table_name, "dead_letter_queues": self.dead_letter_queues,
            "user_pool_id": self.user_pool_id, "user_pool_client_id": self.user_pool_client_id,
        })

    # --- tables ----------------------------------------------------------------------------------
    def _tables(self, s: ResolvedOutboxRelay) -> Tables:
        name, protect = self._name, s.deletion_protection
        return Tables(
            orders=self._table(f"{name}-orders", "orderId", protect),
            outbox=self._table(f"{name}-outbox", "eventId", protect, stream_enabled=True,
                               stream_view_type="NEW_IMAGE",
                               ttl={"attribute_name": OUTBOX_TTL_ATTRIBUTE, "enabled": True}),
            idempotency=self._table(f"{name}-idempotency", IDEMPOTENCY_KEY_ATTRIBUTE, protect,
                                    ttl={"attribute_name": IDEMPOTENCY_TTL_ATTRIBUTE, "enabled": True}),
            shipments=self._table(f"{name}-shipments", "eventId", protect))

    def _table(self, name: str, key: str, protect: bool, **extra) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            name, billing_mode="PAY_PER_REQUEST", hash_key=key, attributes=[{"name": key, "type": "S"}],
            point_in_time_recovery={"enabled": True}, server_side_encryption={"enabled": True},
            deletion_protection_enabled=protect, **extra, opts=pulumi.ResourceOptions(parent=self))

    # --- order service behind POST /orders -------------------------------------------------------
    def _order_service(self, s: ResolvedOutboxRelay, tables: Tables) -> OrderService:
        name, child = self._name, self._child
        user_pool_id = user_pool_client_id = None
        user_pool_arn = s.user_pool_arn
        if user_pool_arn is None:
            # Who may place orders is decided by whoever brings the pool; a created pool is invite-only.
            pool, client = user_pool_with_app_client(f"{name}-users", f"{name}-client", parent=self,
                                                     deletion_protection=s.deletion_protection, invite_only=True,
                                                     minimum_password_length=12, email=s.email)
            user_pool_arn, user_pool_id, user_pool_client_id = pool.arn, pool.id, client.id

        orders, outbox, idempotency = tables.orders, tables.outbox, tables.idempotency
        # Conditional Puts inside the transaction need PutItem only (ConditionCheckItem is for
        # ConditionCheck items, which the service doesn't use). The EnclosingOperation condition keeps
        # the function from ever writing an order or an event outside that transaction.
        order_service = LambdaFunction(f"{name}-order-service", {
            "code": "order_service",
            "memory_mb": s.order_function.memory_mb,
            "timeout_seconds": s.order_function.timeout_seconds,
            "invoked_by_api_gateway": True,
            "log_retention_days": s.log_retention_days,
            "environment": {
                "ORDERS_TABLE": orders.name, "OUTBOX_TABLE": outbox.name, "IDEMPOTENCY_TABLE": idempotency.name,
                "OUTBOX_TTL_DAYS": str(s.outbox_ttl_days),
            },
            "policy_statements": [
                allow(["dynamodb:PutItem"], [orders.arn, outbox.arn], sid="OrderAndEventInOneTransaction",
                      condition={"StringEquals": {"dynamodb:EnclosingOperation": "TransactWriteItems"}}),
                # After a cancelled transaction: is it the same order replayed, or a reused key?
                allow(["dynamodb:GetItem"], [orders.arn], sid="ReadExistingOrder"),
                allow(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                      [idempotency.arn], sid="IdempotencyRecords"),
            ],
            "canary": s.canary.args(s.alarms.topic_arn if s.alarms else None) if s.canary else None,
        }, opts=child)
        api = LambdaRestApi(f"{name}-api", {
            "routes": [ApiRoute(method="POST", path="/orders", function=order_service)],
            "cognito_user_pool_arns": [user_pool_arn],
            "cors_allow_origin": s.cors_allow_origin,
            "throttle_rate_limit": s.throttle.rate_limit,
            "throttle_burst_limit": s.throttle.burst_limit,
            "log_retention_days": s.log_retention_days,
            "cloudwatch_account": s.cloudwatch_account,
        }, opts=child)
        self._watches += [*order_service.watches(self._thresholds), *api.watches(self._thresholds)]
        self._canary_watches += order_service.canary.watches if order_service.canary else []
        return OrderService(api, user_pool_id, user_pool_client_id)

    # --- bus, archive, OrderCreated -> shipping queue --------------------------------------------
    def _bus(self, s: ResolvedOutboxRelay) -> Bus:
        name, child = self._name, self._child
        # No EventBusPolicy: only principals of this account with events:PutEvents on the bus can publish.
        bus = aws.cloudwatch.EventBus(f"{name}-bus", description=f"{name}: events relayed from the outbox",
                                      opts=child)
        archive = aws.cloudwatch.EventArchive(
            f"{name}-archive", event_source_arn=bus.arn, retention_days=s.archive_retention_days,
            event_pattern=json.dumps({"source": [s.event_source]}),
            description=f"{name}: every relayed event, for replay", opts=child)
        rule = aws.cloudwatch.EventRule(
            f"{name}-order-created", event_bus_name=bus.name,
            description=f"{EVENT_TYPE} events to the shipping queue",
            event_pattern=json.dumps({"source": [s.event_source], "detail-type": [EVENT_TYPE]}), opts=child)
        from_rule = {"Sid": "FromOrderCreatedRule", "Effect": "Allow",
                     "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
                     "Condition": {"ArnEquals": {"aws:SourceArn": rule.arn}}}
        shipping_queue = SecureQueue(f"{name}-shipping", {
            "consumer_timeout_seconds": s.consumer_function.timeout_seconds, "policy_statements": [from_rule]},
            opts=child)
        target_dlq = SecureQueue(f"{name}-order-created-dlq", {
            "dead_letter": False, "policy_statements": [from_rule]}, opts=child)
        self._watches += [shipping_queue.depth_watch(self._thresholds), target_dlq.depth_watch(self._thresholds)]
        aws.cloudwatch.EventTarget(
            f"{name}-order-created-to-shipping", rule=rule.name, event_bus_name=bus.name,
            arn=shipping_queue.arn,
            dead_letter_config={"arn": target_dlq.arn},
            retry_policy={"maximum_retry_attempts": s.target_maximum_retry_attempts,
                          "maximum_event_age_in_seconds": s.target_maximum_event_age_seconds},
            # Deliveries fail until the queue policies admit the rule.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[shipping_queue, target_dlq]))
        return Bus(bus, archive, shipping_queue, target_dlq)

    # --- relay: outbox stream -> bus ---------------------------------------------------------------
    def _relay(self, s: ResolvedOutboxRelay, outbox: aws.dynamodb.Table, bus: aws.cloudwatch.EventBus) -> SecureQueue:
        """The relay function, its stream mapping and iterator-age alarm; returns its on-failure queue."""
        name, child = self._name, self._child
        failure_queue = SecureQueue(f"{name}-relay-failed", {"dead_letter": False}, opts=child)
        relay = LambdaFunction(f"{name}-relay", {
            "code": "outbox_relay",
            "memory_mb": s.relay_function.memory_mb,
            "timeout_seconds": s.relay_function.timeout_seconds,
            "log_retention_days": s.log_retention_days,
            "environment": {"EVENT_BUS_NAME": bus.name, "EVENT_SOURCE": s.event_source},
            "policy_statements": [
                allow(["events:PutEvents"], [bus.arn], sid="PublishToOwnBus"),
                allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                      [outbox.stream_arn], sid="ReadOutboxStream"),
                # AWS's DynamoDB docs scope ListStreams to the table's streams as well.
                allow(["dynamodb:ListStreams"], [outbox.arn.apply(lambda arn: f"{arn}/stream/*")],
                      sid="ListOutboxStreams"),
                # The mapping sends on-failure records with the function's role.
                allow(["sqs:SendMessage"], [failure_queue.arn], sid="StreamOnFailureDestination"),
            ],
        }, opts=child)
        aws.lambda_.EventSourceMapping(
            f"{name}-relay-stream", event_source_arn=outbox.stream_arn, function_name=relay.function.arn,
            # TRIM_HORIZON: LATEST would skip outbox rows committed before the mapping became active.
            starting_position="TRIM_HORIZON",
            filter_criteria={"filters": [{"pattern": json.dumps({"eventName": ["INSERT"]})}]},
            batch_size=s.batch_size,
            maximum_batching_window_in_seconds=s.batching_window_seconds,
            # One batch per shard at a time: records of a shard are relayed in stream order.
            parallelization_factor=1,
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=s.maximum_retry_attempts,
            maximum_record_age_in_seconds=s.maximum_record_age_seconds,
            destination_config={"on_failure": {"destination_arn": failure_queue.arn}},
            function_response_types=["ReportBatchItemFailures"],
            opts=child)
        # Records are given up on at maximum_record_age_seconds: the alarm fires before (resolve_args checks it).
        self._watches += [*relay.watches(self._thresholds), failure_queue.depth_watch(self._thresholds),
                          monitoring.iterator_age_watch(relay._name, relay.name, s.iterator_age_alarm_seconds)]
        return failure_queue

    # --- shipping consumer -------------------------------------------------------------------------
    def _shipping_consumer(self, s: ResolvedOutboxRelay, shipments: aws.dynamodb.Table,
                           queue: SecureQueue) -> LambdaFunction:
        consumer = LambdaFunction(f"{self._name}-shipping-consumer", {
            "code": "shipping_consumer",
            "memory_mb": s.consumer_function.memory_mb,
            "timeout_seconds": s.consumer_function.timeout_seconds,
            "log_retention_days": s.log_retention_days,
            "environment": {"SHIPMENTS_TABLE": shipments.name},
            "policy_statements": [
                allow(["dynamodb:PutItem"], [shipments.arn], sid="RecordShipmentOnce"),
                allow(["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
                      [queue.arn], sid="ConsumeShippingQueue"),
            ],
        }, opts=self._child)
        aws.lambda_.EventSourceMapping(
            f"{self._name}-shipping-queue", event_source_arn=queue.arn,
            function_name=consumer.function.arn, batch_size=s.consumer_batch_size,
            function_response_types=["ReportBatchItemFailures"], opts=self._child)
        self._watches += consumer.watches(self._thresholds)
        return consumer
