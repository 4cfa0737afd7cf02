"""Outbox relay: PutEvents batching limits, per-entry failures, throttle retries, envelope.

The bus is a stub here (EventBridge's answers are scripted per call); the moto bus is exercised
in test_outbox_end_to_end.py.
"""

from __future__ import annotations

import importlib
import json
import uuid

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from outbox_events import FakeLambdaContext, stream_event, stream_record

from outbox_relay.envelope import MAX_REQUEST_BYTES, entry_size

BUS, SOURCE = "orders-bus", "serverless-blueprints.orders"


def outbox_item(n: int, *, payload: str | None = None, **overrides) -> dict:
    event_id = str(uuid.UUID(int=n))
    item = {
        "eventId": event_id,
        "eventType": "OrderCreated",
        "aggregateId": f"order-{n}",
        "correlationId": f"corr-{n}",
        "occurredAt": "2024-01-01T12:00:00.000+00:00",
        "payload": payload if payload is not None else json.dumps({"orderId": f"order-{n}", "amount": n}),
        "expiresAt": 1_700_604_800,
    }
    item.update(overrides)
    return item


def seq(n: int) -> str:
    return str(100_000_000_000_000_000_000 + n)


def records(count: int, **kw) -> list[dict]:
    return [stream_record(seq(n), outbox_item(n, **kw)) for n in range(count)]


def throttled():
    return {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}


class StubBus:
    """put_events double. ``script(call_number, entries)`` returns per-entry results or raises."""

    def __init__(self, script=None):
        self.calls: list[list[dict]] = []
        self.script = script or (lambda _n, entries: [None] * len(entries))

    def put_events(self, *, Entries):
        self.calls.append(Entries)
        results = self.script(len(self.calls), Entries)
        entries = [r or {"EventId": str(uuid.uuid4())} for r in results]
        return {"FailedEntryCount": sum("ErrorCode" in e for e in entries), "Entries": entries}

    def sent_event_ids(self) -> list[str]:
        return [json.loads(e["Detail"])["metadata"]["eventId"] for call in self.calls for e in call]


@pytest.fixture
def relay(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    monkeypatch.setenv("EVENT_SOURCE", SOURCE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "outbox-relay")
    import outbox_relay.handler as handler_module

    module = importlib.reload(handler_module)
    module.sleeps = []
    monkeypatch.setattr(module, "_sleep", module.sleeps.append)
    return module


def run(relay, bus: StubBus, recs: list[dict], remaining_ms: int = 60_000) -> list[str]:
    relay.events_client = lambda: bus
    response = relay.handler(stream_event(recs), FakeLambdaContext(remaining_ms=remaining_ms))
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


# --- batching limits ----------------------------------------------------------------------


def test_each_put_events_call_carries_at_most_ten_entries(relay):
    bus = StubBus()

    assert run(relay, bus, records(25)) == []

    assert [len(call) for call in bus.calls] == [10, 10, 5]


def test_records_are_sent_in_stream_order(relay):
    bus = StubBus()

    run(relay, bus, records(25))

    assert bus.sent_event_ids() == [outbox_item(n)["eventId"] for n in range(25)]


def test_each_put_events_call_stays_within_256_kb(relay):
    big = json.dumps({"blob": "x" * 100_000})
    bus = StubBus()

    assert run(relay, bus, records(7, payload=big)) == []

    assert all(sum(entry_size(e) for e in call) <= MAX_REQUEST_BYTES for call in bus.calls)
    assert [len(call) for call in bus.calls] == [2, 2, 2, 1]


def test_event_over_256_kb_is_reported_without_a_put_events_call(relay):
    huge = json.dumps({"blob": "x" * MAX_REQUEST_BYTES})
    recs = records(3)
    recs.insert(1, stream_record(seq(99), outbox_item(99, payload=huge)))
    bus = StubBus()

    assert run(relay, bus, recs) == [seq(99)]

    assert outbox_item(99)["eventId"] not in bus.sent_event_ids()
    assert len(bus.sent_event_ids()) == 3


def test_entry_size_counts_time_source_detail_type_detail_and_resources():
    entry = {"Time": object(), "Source": "ab", "DetailType": "cde", "Detail": "é", "Resources": ["r1"]}

    assert entry_size(entry) == 14 + 2 + 3 + 2 + 2


# --- failures -----------------------------------------------------------------------------


def test_only_the_entries_that_failed_are_reported(relay):
    def reject_orders_3_and_11(_n, entries):
        rejected = ('"order-3"', '"order-11"')
        return [{"ErrorCode": "InvalidArgument"} if any(r in e["Detail"] for r in rejected) else None for e in entries]

    bus = StubBus(reject_orders_3_and_11)

    assert run(relay, bus, records(15)) == [seq(3), seq(11)]


def test_non_retryable_entry_errors_are_not_retried_in_the_invocation(relay):
    bus = StubBus(lambda _n, entries: [{"ErrorCode": "InvalidArgument"}] + [None] * (len(entries) - 1))

    run(relay, bus, records(3))

    assert len(bus.calls) == 1 and relay.sleeps == []


def test_throttled_entries_are_resent_alone_and_not_reported_once_accepted(relay):
    def throttle_two_on_first_call(n, entries):
        return [throttled() if n == 1 and i in (2, 5) else None for i in range(len(entries))]

    bus = StubBus(throttle_two_on_first_call)

    assert run(relay, bus, records(8)) == []

    assert len(bus.calls) == 2
    assert [json.loads(e["Detail"])["metadata"]["eventId"] for e in bus.calls[1]] == [
        outbox_item(2)["eventId"],
        outbox_item(5)["eventId"],
    ]
    assert len(relay.sleeps) == 1


def test_internal_failure_entries_are_retried_like_throttles(relay):
    bus = StubBus(lambda n, entries: [{"ErrorCode": "InternalFailure"} if n == 1 else None for _ in entries])

    assert run(relay, bus, records(4)) == []

    assert len(bus.calls) == 2


def test_persistent_throttling_is_reported_after_bounded_backoff(relay):
    bus = StubBus(lambda _n, entries: [throttled() if '"order-1"' in e["Detail"] else None for e in entries])

    assert run(relay, bus, records(3)) == [seq(1)]

    assert bus.sent_event_ids().count(outbox_item(1)["eventId"]) == 4
    assert len(relay.sleeps) == 3
    assert relay.sleeps == sorted(relay.sleeps)  # exponential: each wait at least the last
    assert all(0 < delay <= 2.0 for delay in relay.sleeps)


def test_whole_call_throttling_is_retried(relay):
    def throttle_first_call(n, entries):
        if n == 1:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "PutEvents")
        return [None] * len(entries)

    bus = StubBus(throttle_first_call)

    assert run(relay, bus, records(5)) == []
    assert len(bus.calls) == 2


def test_connection_error_is_retried(relay):
    def drop_first_call(n, entries):
        if n == 1:
            raise EndpointConnectionError(endpoint_url="https://events.eu-west-1.amazonaws.com")
        return [None] * len(entries)

    bus = StubBus(drop_first_call)

    assert run(relay, bus, records(5)) == []


def test_access_denied_reports_every_entry_of_the_call_without_retry(relay):
    def deny(_n, _entries):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutEvents")

    bus = StubBus(deny)

    assert run(relay, bus, records(3)) == [seq(0), seq(1), seq(2)]
    assert len(bus.calls) == 1


def test_response_without_event_ids_counts_as_failed(relay):
    class SilentBus(StubBus):
        def put_events(self, *, Entries):
            self.calls.append(Entries)
            return {"FailedEntryCount": 0, "Entries": []}

    assert run(relay, SilentBus(), records(2)) == [seq(0), seq(1)]


def test_backoff_stops_when_the_invocation_is_about_to_time_out(relay):
    bus = StubBus(lambda _n, entries: [throttled() for _ in entries])

    # 3.05 s left: one more call fits in the 3 s reserve, a 50-100 ms backoff does not.
    assert run(relay, bus, records(2), remaining_ms=3_050) == [seq(0), seq(1)]

    assert len(bus.calls) == 1 and relay.sleeps == []


def test_only_the_calls_left_unsent_when_time_runs_out_are_reported(relay):
    class RunningOutContext(FakeLambdaContext):
        def get_remaining_time_in_millis(self) -> int:
            self.remaining_ms, remaining = 2_000, self.remaining_ms
            return remaining  # plenty for the first call, then too little

    bus = StubBus()
    relay.events_client = lambda: bus

    response = relay.handler(stream_event(records(12)), RunningOutContext(remaining_ms=60_000))

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [seq(10), seq(11)]
    assert len(bus.calls) == 1


def test_records_not_yet_sent_when_time_runs_out_are_reported(relay):
    bus = StubBus()

    assert run(relay, bus, records(12), remaining_ms=2_000) == [seq(n) for n in range(12)]

    assert bus.calls == []


def test_failures_are_reported_in_stream_order(relay):
    def fail_some(n, entries):
        # Throttle record 2 forever, reject record 7 at once: 7 is known first, 2 last.
        outcome = {'"order-2"': throttled(), '"order-7"': {"ErrorCode": "InvalidArgument"}}
        return [next((v for k, v in outcome.items() if k in e["Detail"]), None) for e in entries]

    assert run(relay, StubBus(fail_some), records(9)) == [seq(2), seq(7)]


# --- defensive handling of stream records ----------------------------------------------------


def test_modify_and_remove_records_are_skipped_not_reported(relay):
    recs = [
        stream_record(seq(0), outbox_item(0), event_name="MODIFY"),
        stream_record(seq(1), None, event_name="REMOVE"),
        stream_record(seq(2), outbox_item(2)),
    ]
    bus = StubBus()

    assert run(relay, bus, recs) == []
    assert bus.sent_event_ids() == [outbox_item(2)["eventId"]]


def test_insert_without_new_image_is_reported_as_failed(relay):
    bus = StubBus()

    assert run(relay, bus, [*records(1), stream_record(seq(1), None)]) == [seq(1)]
    assert len(bus.sent_event_ids()) == 1


@pytest.mark.parametrize(
    "item",
    [
        outbox_item(0, payload="{not json"),
        outbox_item(0, payload="[1, 2]"),
        {k: v for k, v in outbox_item(0).items() if k != "eventType"},
        {k: v for k, v in outbox_item(0).items() if k != "payload"},
    ],
    ids=["payload_not_json", "payload_not_object", "no_event_type", "no_payload"],
)
def test_malformed_outbox_item_is_reported_and_the_rest_published(relay, item):
    bus = StubBus()

    assert run(relay, bus, [*records(2), stream_record(seq(2), item)]) == [seq(2)]
    assert len(bus.sent_event_ids()) == 2


def test_empty_batch_reports_nothing(relay):
    bus = StubBus()

    assert run(relay, bus, []) == []
    assert bus.calls == []


# --- envelope -----------------------------------------------------------------------------


def test_envelope_has_source_detail_type_bus_and_business_time(relay):
    bus = StubBus()

    run(relay, bus, records(1))

    [[entry]] = bus.calls
    assert entry["EventBusName"] == BUS
    assert entry["Source"] == SOURCE
    assert entry["DetailType"] == "OrderCreated"
    assert entry["Time"].isoformat() == "2024-01-01T12:00:00+00:00"


def test_envelope_carries_outbox_id_correlation_id_and_payload(relay):
    bus = StubBus()

    run(relay, bus, records(1))

    detail = json.loads(bus.calls[0][0]["Detail"])
    assert detail["metadata"] == {
        "eventId": outbox_item(0)["eventId"],
        "eventType": "OrderCreated",
        "correlationId": "corr-0",
        "occurredAt": "2024-01-01T12:00:00.000+00:00",
        "aggregateId": "order-0",
    }
    assert detail["data"] == {"orderId": "order-0", "amount": 0}


def test_event_id_is_the_same_on_every_redelivery(relay):
    bus = StubBus()

    run(relay, bus, records(3))
    run(relay, bus, records(3)[1:])

    assert bus.sent_event_ids() == [outbox_item(n)["eventId"] for n in (0, 1, 2, 1, 2)]


def test_missing_correlation_id_falls_back_to_the_event_id(relay):
    bus = StubBus()

    run(relay, bus, [stream_record(seq(0), outbox_item(0, correlationId=None))])

    metadata = json.loads(bus.calls[0][0]["Detail"])["metadata"]
    assert metadata["correlationId"] == metadata["eventId"]


def test_unparseable_occurred_at_leaves_time_to_eventbridge(relay):
    bus = StubBus()

    run(relay, bus, [stream_record(seq(0), outbox_item(0, occurredAt="yesterday"))])

    assert "Time" not in bus.calls[0][0]
