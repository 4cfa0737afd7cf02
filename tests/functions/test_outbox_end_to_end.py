"""The outbox promise, end to end on moto: order -> outbox stream -> relay -> bus -> queue -> shipment.

An event is published if and only if its order was committed; none is lost; duplicates never
cause a second shipment. Stream records come from moto's DynamoDB Streams (the real table
writes), EventBridge delivers through a real rule on a custom bus to SQS, and the three real
handlers run. What moto cannot do, Lambda's event source mapping, is the small documented model
below.
"""

from __future__ import annotations

import importlib
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from outbox_events import (
    FakeLambdaContext,
    lambda_stream_record,
    rest_proxy_event,
    sqs_event_from_messages,
)

ORDERS, OUTBOX, IDEMPOTENCY, SHIPMENTS = "orders", "outbox", "idempotency", "shipments"
BUS, SOURCE = "orders-bus", "serverless-blueprints.orders"
ORDER_CREATED_PATTERN = {"source": [SOURCE], "detail-type": ["OrderCreated"]}
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "ORDERS_TABLE": ORDERS,
    "OUTBOX_TABLE": OUTBOX,
    "IDEMPOTENCY_TABLE": IDEMPOTENCY,
    "OUTBOX_TTL_DAYS": "7",
    "EVENT_BUS_NAME": BUS,
    "EVENT_SOURCE": SOURCE,
    "SHIPMENTS_TABLE": SHIPMENTS,
    "POWERTOOLS_SERVICE_NAME": "outbox-e2e",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}


# --- a model of Lambda's DynamoDB-stream event source mapping ------------------------------


@dataclass
class StreamEventSourceMapping:
    """A MODEL of Lambda's stream event source mapping, not the service. It reproduces the
    documented behaviour the outbox relies on, and nothing more:

    - batches of up to ``batch_size`` records, in shard order, one batch at a time;
    - ReportBatchItemFailures: a non-empty ``batchItemFailures`` checkpoints at the LOWEST
      reported sequence number and retries from there to the end of the batch (records after it
      that succeeded are sent again); an empty or unknown itemIdentifier fails the whole batch;
    - a function error retries the batch, split in two first when ``bisect_on_error`` is on
      (halves run in order);
    - every retry of a (sub-)batch, bisection included, counts toward ``maximum_retry_attempts``
      (``None``: retry until success, like the -1 default). When exhausted, an on-failure record
      in Lambda's DDBStreamBatchInfo format goes to ``on_failure`` and the shard moves on.

    Not modelled: MaximumRecordAgeInSeconds, parallelization factor, batching window, filters
    (the stream read here holds INSERTs only), concurrency between shards.
    """

    function: Callable[[dict, Any], Any]
    stream_arn: str
    batch_size: int = 100
    maximum_retry_attempts: int | None = None
    bisect_on_error: bool = True
    on_failure: Callable[[dict], None] | None = None
    invocations: int = 0
    max_invocations: int = 20_000

    def drain(self, shard_id: str, records: list[dict]) -> None:
        for start in range(0, len(records), self.batch_size):
            self._deliver(shard_id, records[start : start + self.batch_size])

    def _deliver(self, shard_id: str, batch: list[dict]) -> None:
        work: list[tuple[list[dict], int]] = [(batch, 0)]
        while work:
            records, retries = work.pop(0)
            failed_from = self._invoke(records)
            if failed_from is None:
                continue
            remaining = records if failed_from == "error" else records[failed_from:]
            exhausted = self.maximum_retry_attempts is not None and retries >= self.maximum_retry_attempts
            if exhausted:
                self._send_on_failure(shard_id, remaining, retries + 1)
            elif failed_from == "error" and self.bisect_on_error and len(records) > 1:
                half = (len(records) + 1) // 2
                work[:0] = [(records[:half], retries + 1), (records[half:], retries + 1)]
            else:
                work.insert(0, (remaining, retries + 1))

    def _invoke(self, records: list[dict]) -> int | str | None:
        """None on success, the index to resume from on partial failure, or "error"."""
        self.invocations += 1
        assert self.invocations <= self.max_invocations, "the stream never drained"
        try:
            response = self.function({"Records": records}, FakeLambdaContext())
        except Exception:  # noqa: BLE001 - a function error is an outcome here, not a test failure
            return "error"
        failures = (response or {}).get("batchItemFailures") or []
        if not failures:
            return None
        positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
        identifiers = [f.get("itemIdentifier") for f in failures]
        if not all(identifiers) or any(i not in positions for i in identifiers):
            return "error"
        return min(positions[i] for i in identifiers)

    def _send_on_failure(self, shard_id: str, records: list[dict], invoke_count: int) -> None:
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        assert self.on_failure is not None, "retries exhausted without an on-failure destination"
        self.on_failure(
            {
                "requestContext": {
                    "requestId": str(uuid.uuid4()),
                    "functionArn": FakeLambdaContext().invoked_function_arn,
                    "condition": "RetryAttemptsExhausted",
                    "approximateInvokeCount": invoke_count,
                },
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
                "version": "1.0",
                "DDBStreamBatchInfo": {
                    "shardId": shard_id,
                    "startSequenceNumber": first["SequenceNumber"],
                    "endSequenceNumber": last["SequenceNumber"],
                    "approximateArrivalOfFirstRecord": first.get("ApproximateCreationDateTime"),
                    "approximateArrivalOfLastRecord": last.get("ApproximateCreationDateTime"),
                    "batchSize": len(records),
                    "streamArn": self.stream_arn,
                },
            }
        )


# --- the deployed shape, on moto -----------------------------------------------------------


@dataclass
class Functions:
    """The three handler modules, loaded once with ENV, plus the test's own AWS clients.

    boto3 clients work across mock_aws contexts, so hypothesis examples reuse them.
    """

    order_service: Any
    relay: Any
    consumer: Any
    relay_events_client: Any
    ddb: Any
    streams: Any
    sqs: Any
    events: Any


def load_functions() -> Functions:
    import order_service.handler as order_service
    import outbox_relay.handler as relay
    import shipping_consumer.handler as consumer

    relay = importlib.reload(relay)
    relay._sleep = lambda _seconds: None  # backoff is asserted in test_outbox_relay.py
    return Functions(
        order_service=importlib.reload(order_service),
        relay=relay,
        consumer=importlib.reload(consumer),
        relay_events_client=relay.events_client(),
        ddb=boto3.client("dynamodb"),
        # Newer botocore addresses DynamoDB Streams by account endpoint, which moto does not route.
        streams=boto3.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")),
        sqs=boto3.client("sqs"),
        events=boto3.client("events"),
    )


@dataclass
class Stack:
    fn: Functions
    stream_arn: str
    queue_url: str
    queue_arn: str
    on_failure_url: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fn, name)


def _table(ddb, name: str, key: str, **extra) -> dict:
    return ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )["TableDescription"]


def _queue(sqs, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def use_bus(relay: Any, bus: Any) -> None:
    """The relay publishes through `bus` from now on (it gets its client from events_client())."""
    relay.events_client = lambda: bus


def provision(fn: Functions) -> Stack:
    """Tables, bus, rule and queues as the component deploys them. Call inside mock_aws."""
    _table(fn.ddb, ORDERS, "orderId")
    outbox = _table(
        fn.ddb, OUTBOX, "eventId", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    _table(fn.ddb, IDEMPOTENCY, "id")
    _table(fn.ddb, SHIPMENTS, "eventId")
    queue_url, queue_arn = _queue(fn.sqs, "order-created")
    on_failure_url, _ = _queue(fn.sqs, "relay-on-failure")
    fn.events.create_event_bus(Name=BUS)
    fn.events.put_rule(Name="order-created", EventBusName=BUS, EventPattern=json.dumps(ORDER_CREATED_PATTERN))
    fn.events.put_targets(Rule="order-created", EventBusName=BUS, Targets=[{"Id": "shipping", "Arn": queue_arn}])
    use_bus(fn.relay, fn.relay_events_client)
    return Stack(
        fn=fn,
        stream_arn=outbox["LatestStreamArn"],
        queue_url=queue_url,
        queue_arn=queue_arn,
        on_failure_url=on_failure_url,
    )


VALID_ORDER = {"items": [{"sku": "BOOK-1", "quantity": 2, "unitPrice": 1250}], "currency": "EUR", "amount": 2500}


def place_order(stack: Stack, key: str, body: dict | None = None, *, sub: str = "customer-1") -> dict:
    event = rest_proxy_event(
        json.dumps(body or VALID_ORDER),
        sub=sub,
        headers={"Idempotency-Key": key, "X-Correlation-Id": f"corr-{key}"},
    )
    response = stack.order_service.handler(event, FakeLambdaContext())
    return {**json.loads(response["body"]), "http_status": response["statusCode"]}


def read_stream(stack: Stack) -> list[tuple[str, list[dict]]]:
    """Every record of every shard, as Lambda would hand them to the relay."""
    shards = stack.streams.describe_stream(StreamArn=stack.stream_arn)["StreamDescription"]["Shards"]
    result = []
    for shard in shards:
        iterator = stack.streams.get_shard_iterator(
            StreamArn=stack.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records: list[dict] = []
        while True:
            page = stack.streams.get_records(ShardIterator=iterator, Limit=1000)
            if not page["Records"]:
                break
            records += [lambda_stream_record(r, stack.stream_arn) for r in page["Records"]]
            iterator = page["NextShardIterator"]
        result.append((shard["ShardId"], records))
    return result


def receive_all(stack: Stack, queue_url: str) -> list[dict]:
    messages = []
    while True:
        page = stack.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
        if not page.get("Messages"):
            return messages
        messages += page["Messages"]
        stack.sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(page["Messages"])],
        )


def consume(stack: Stack, messages: list[dict], batch_size: int = 10) -> None:
    for start in range(0, len(messages), batch_size):
        event = sqs_event_from_messages(messages[start : start + batch_size], stack.queue_arn)
        response = stack.consumer.handler(event, FakeLambdaContext())
        assert response["batchItemFailures"] == []


def scan(stack: Stack, table: str) -> list[dict]:
    return stack.ddb.scan(TableName=table, ConsistentRead=True)["Items"]


def relay_stream(stack: Stack, **mapping_settings) -> StreamEventSourceMapping:
    mapping = StreamEventSourceMapping(
        function=stack.relay.handler,
        stream_arn=stack.stream_arn,
        on_failure=lambda rec: stack.sqs.send_message(QueueUrl=stack.on_failure_url, MessageBody=json.dumps(rec)),
        **mapping_settings,
    )
    for shard_id, records in read_stream(stack):
        mapping.drain(shard_id, records)
    return mapping


@pytest.fixture
def env(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def functions(env):
    return load_functions()


@pytest.fixture
def stack(functions):
    with mock_aws():
        yield provision(functions)


# --- end to end ----------------------------------------------------------------------------


def test_committed_order_becomes_exactly_one_shipment(stack):
    placed = [place_order(stack, f"e2e-{n}") for n in range(3)]
    assert [p["http_status"] for p in placed] == [201] * 3

    relay_stream(stack, batch_size=100)
    messages = receive_all(stack, stack.queue_url)
    consume(stack, messages)

    shipments = {s["orderId"]["S"]: s for s in (scan(stack, SHIPMENTS))}
    assert sorted(shipments) == sorted(p["orderId"] for p in placed)
    outbox_ids = {item["eventId"]["S"] for item in scan(stack, OUTBOX)}
    assert {s["eventId"]["S"] for s in shipments.values()} == outbox_ids
    assert {s["correlationId"]["S"] for s in shipments.values()} == {f"corr-e2e-{n}" for n in range(3)}


def test_bus_delivers_the_relay_envelope_to_the_order_created_queue(stack):
    placed = place_order(stack, "e2e-envelope")

    relay_stream(stack)
    [message] = receive_all(stack, stack.queue_url)

    event = json.loads(message["Body"])
    [outbox] = scan(stack, OUTBOX)
    assert event["source"] == SOURCE and event["detail-type"] == "OrderCreated"
    assert event["detail"]["metadata"]["eventId"] == outbox["eventId"]["S"]
    assert event["detail"]["metadata"]["correlationId"] == "corr-e2e-envelope"
    assert event["detail"]["data"]["orderId"] == placed["orderId"]


def test_client_retry_and_rejected_orders_publish_nothing_extra(stack):
    first = place_order(stack, "e2e-once")
    assert place_order(stack, "e2e-once")["orderId"] == first["orderId"]
    assert place_order(stack, "e2e-bad", {**VALID_ORDER, "amount": 1})["http_status"] == 400
    assert place_order(stack, "e2e-once", {**VALID_ORDER, "currency": "USD"})["http_status"] == 409

    relay_stream(stack)
    consume(stack, receive_all(stack, stack.queue_url))

    assert [s["orderId"]["S"] for s in scan(stack, SHIPMENTS)] == [first["orderId"]]


# --- fault injection -----------------------------------------------------------------------

ENTRY_FATES = ["accepted", "throttled", "internal_failure", "accepted_but_answer_lost"]


class FlakyBus:
    """Wraps moto's EventBridge client. Each entry's fate, and whether a whole call is throttled,
    comes from finite plans; once a plan runs out, everything is accepted (faults are transient).
    "accepted_but_answer_lost" delivers the event yet reports it throttled: a duplicate source.
    """

    def __init__(self, real, entry_fates: list[str], call_throttles: list[bool]):
        self.real = real
        self.entry_fates = list(entry_fates)
        self.call_throttles = list(call_throttles)
        self.calls = 0

    def put_events(self, *, Entries):
        self.calls += 1
        if self.call_throttles and self.call_throttles.pop(0):
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutEvents")
        fates = [self.entry_fates.pop(0) if self.entry_fates else "accepted" for _ in Entries]
        delivered = [e for e, fate in zip(Entries, fates) if fate.startswith("accepted")]
        real_results = iter(self.real.put_events(Entries=delivered)["Entries"] if delivered else [])
        results = []
        for fate in fates:
            result = next(real_results) if fate.startswith("accepted") else None
            if fate == "accepted":
                results.append(result)
            elif fate == "internal_failure":
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "try again"})
            else:
                results.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order_count=st.integers(min_value=1, max_value=15),
    client_retries=st.lists(st.booleans(), max_size=15),
    stream_batch_size=st.integers(min_value=1, max_value=16),
    entry_fates=st.lists(st.sampled_from(ENTRY_FATES), max_size=80),
    call_throttles=st.lists(st.booleans(), max_size=10),
    queue_batch_size=st.integers(min_value=1, max_value=10),
    sqs_redelivers=st.booleans(),
)
def test_every_committed_order_ships_exactly_once_under_bus_faults(
    functions,
    order_count,
    client_retries,
    stream_batch_size,
    entry_fates,
    call_throttles,
    queue_batch_size,
    sqs_redelivers,
):
    with mock_aws():
        stack = provision(functions)
        for n in range(order_count):
            place_order(stack, f"prop-{n}")
            if n < len(client_retries) and client_retries[n]:
                place_order(stack, f"prop-{n}")  # a client retry: must not create a second event
        use_bus(stack.relay, FlakyBus(stack.events, entry_fates, call_throttles))

        relay_stream(stack, batch_size=stream_batch_size, maximum_retry_attempts=None)
        messages = receive_all(stack, stack.queue_url)
        consume(stack, messages, queue_batch_size)
        if sqs_redelivers:  # SQS is at-least-once too
            consume(stack, messages, queue_batch_size)

        committed = {o["orderId"]["S"] for o in scan(stack, ORDERS)}
        outbox_ids = {e["eventId"]["S"] for e in scan(stack, OUTBOX)}
        published = Counter(json.loads(m["Body"])["detail"]["metadata"]["eventId"] for m in messages)
        shipments = scan(stack, SHIPMENTS)
        assert len(committed) == order_count
        assert set(published) == outbox_ids  # every committed order's event, nothing else
        assert sorted(s["orderId"]["S"] for s in shipments) == sorted(committed)  # once each
        assert receive_all(stack, stack.on_failure_url) == []


def test_duplicates_from_lost_bus_answers_are_absorbed(stack):
    placed = [place_order(stack, f"dup-{n}") for n in range(12)]
    use_bus(stack.relay, FlakyBus(stack.events, ["accepted_but_answer_lost"] * 12, []))

    relay_stream(stack, batch_size=5)
    messages = receive_all(stack, stack.queue_url)
    consume(stack, messages)

    assert len(messages) > len(placed)  # the bus really saw duplicates
    assert sorted(s["orderId"]["S"] for s in scan(stack, SHIPMENTS)) == sorted(p["orderId"] for p in placed)


# --- poison records ------------------------------------------------------------------------


def _insert_poison_outbox_item(stack: Stack) -> str:
    """An outbox row the relay can never publish (its payload is not JSON)."""
    event_id = "poison-" + str(uuid.uuid4())
    stack.ddb.put_item(
        TableName=OUTBOX,
        Item={
            "eventId": {"S": event_id},
            "eventType": {"S": "OrderCreated"},
            "payload": {"S": "{truncated"},
            "expiresAt": {"N": "1700000000"},
        },
    )
    return event_id


def _sequence_of(stack: Stack, event_id: str) -> str:
    [(_, records)] = read_stream(stack)
    return next(r["dynamodb"]["SequenceNumber"] for r in records if r["dynamodb"]["Keys"]["eventId"]["S"] == event_id)


def test_poison_record_goes_to_the_on_failure_destination_without_blocking_its_shard(stack):
    placed = [place_order(stack, f"before-{n}") for n in range(4)]
    poison = _insert_poison_outbox_item(stack)
    placed += [place_order(stack, f"after-{n}") for n in range(5)]

    relay_stream(stack, batch_size=4, maximum_retry_attempts=2, bisect_on_error=True)
    consume(stack, receive_all(stack, stack.queue_url))

    [failure] = [json.loads(m["Body"]) for m in receive_all(stack, stack.on_failure_url)]
    info = failure["DDBStreamBatchInfo"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["startSequenceNumber"] == _sequence_of(stack, poison)
    assert info["streamArn"] == stack.stream_arn
    # Records behind the poison, in its batch and after it, were all delivered.
    assert sorted(s["orderId"]["S"] for s in scan(stack, SHIPMENTS)) == sorted(p["orderId"] for p in placed)


class CrashOnEntry:
    """A bus whose client blows up (not a ClientError) whenever one given event is in the call."""

    def __init__(self, real, poison_event_id: str):
        self.real, self.poison = real, poison_event_id

    def put_events(self, *, Entries):
        if any(json.loads(e["Detail"])["metadata"]["eventId"] == self.poison for e in Entries):
            raise RuntimeError("unexpected failure")
        return self.real.put_events(Entries=Entries)


def test_record_that_crashes_the_relay_is_isolated_by_bisection(stack):
    placed = [place_order(stack, f"crash-{n}") for n in range(8)]
    [(_, records)] = read_stream(stack)
    poison_event_id = records[5]["dynamodb"]["Keys"]["eventId"]["S"]
    use_bus(stack.relay, CrashOnEntry(stack.events, poison_event_id))

    relay_stream(stack, batch_size=8, maximum_retry_attempts=5, bisect_on_error=True)
    consume(stack, receive_all(stack, stack.queue_url))

    [failure] = [json.loads(m["Body"]) for m in receive_all(stack, stack.on_failure_url)]
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == records[5]["dynamodb"]["SequenceNumber"]
    shipped = {s["orderId"]["S"] for s in scan(stack, SHIPMENTS)}
    assert shipped == {p["orderId"] for p in placed} - {placed[5]["orderId"]}
