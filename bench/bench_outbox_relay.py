"""Benchmark: the outbox relay against a stubbed EventBridge bus.

Relays N outbox stream records (Lambda-shaped DynamoDB stream events, delivered in batches of
--batch-size like the event source mapping would) through the real relay handler, and, in the
same run, through a naive baseline that makes one PutEvents call per record (what a per-record
BatchProcessor handler would do). Reports:

- PutEvents calls, against the minimum ceil(n/10) (target: equal to it);
- records per CPU-second (process time; the stub answers instantly, so this is the relay's own
  cost), and the ratio relay / naive (higher is better);
- an estimate at a modelled PutEvents round trip (--call-latency-ms), computed as
  measured CPU time + calls x latency: a model, not a measurement.

Usage: .venv/bin/python bench/bench_outbox_relay.py [--quick | --tiny]
Numbers depend on the machine; on a shared one, compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("EVENT_BUS_NAME", "orders-bus")
os.environ.setdefault("EVENT_SOURCE", "serverless-blueprints.orders")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "outbox-relay-bench")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from aws_lambda_powertools.utilities.batch import (  # noqa: E402
    BatchProcessor,
    EventType,
    process_partial_response,
)
from boto3.dynamodb.types import TypeSerializer  # noqa: E402

from bench import tiny_mode  # noqa: E402
from outbox_relay import handler as relay  # noqa: E402
from outbox_relay.envelope import outbox_event  # noqa: E402

_serializer = TypeSerializer()


class Context:
    function_name = "outbox-relay-bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:outbox-relay-bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


class StubBus:
    """Accepts every entry at once; counts calls and entries."""

    def __init__(self) -> None:
        self.calls = 0
        self.entries = 0

    def put_events(self, *, Entries):
        self.calls += 1
        self.entries += len(Entries)
        return {"FailedEntryCount": 0, "Entries": [{"EventId": "e"} for _ in Entries]}


def stream_records(n: int) -> list[dict]:
    """Outbox INSERTs shaped like the order service writes them (one 2-line order each)."""
    records = []
    for i in range(n):
        order_id = str(uuid.UUID(int=i))
        payload = {
            "orderId": order_id,
            "customerId": "3f1c2b6e-9a0d-4e57-8c21-6b4d7e9f0a12",
            "items": [
                {"sku": "BOOK-1", "quantity": 2, "unitPrice": 1250},
                {"sku": "PEN-9", "quantity": 1, "unitPrice": 300},
            ],
            "currency": "EUR",
            "amount": 2800,
            "createdAt": "2024-01-01T12:00:00.000+00:00",
        }
        image = {
            "eventId": str(uuid.UUID(int=10**9 + i)),
            "eventType": "OrderCreated",
            "aggregateId": order_id,
            "correlationId": f"req-{i}",
            "occurredAt": "2024-01-01T12:00:00.000+00:00",
            "payload": json.dumps(payload, separators=(",", ":")),
            "expiresAt": 1_704_715_200,
        }
        records.append(
            {
                "eventID": f"id-{i}",
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_704_110_400,
                    "Keys": {"eventId": {"S": image["eventId"]}},
                    "NewImage": {k: _serializer.serialize(v) for k, v in image.items()},
                    "SequenceNumber": str(10**20 + i),
                    "SizeBytes": 600,
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/outbox/stream/2024-01-01T00:00:00.000",
            }
        )
    return records


def naive_handler(bus: StubBus):
    """Baseline: BatchProcessor with one PutEvents call per record, same envelope."""
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

    def record_handler(record) -> None:
        event = outbox_event(
            record.dynamodb.sequence_number,
            record.dynamodb.new_image,
            bus_name=relay.EVENT_BUS_NAME,
            source=relay.EVENT_SOURCE,
        )
        response = bus.put_events(Entries=[event.entry])
        if response["FailedEntryCount"]:
            raise RuntimeError(response["Entries"][0].get("ErrorCode"))

    def handle(event: dict, context) -> dict:
        return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    return handle


def run_once(n: int, batch_size: int, make_handler) -> tuple[float, StubBus]:
    records = stream_records(n)
    batches = [{"Records": records[i : i + batch_size]} for i in range(0, n, batch_size)]
    bus = StubBus()
    handle = make_handler(bus)
    context = Context()
    # CPU time of this process: the stub does no I/O, and on a shared machine wall time mostly
    # measures the neighbours.
    start = time.process_time()
    for event in batches:
        response = handle(event, context)
        assert not response["batchItemFailures"], response
    elapsed = time.process_time() - start
    assert bus.entries == n, (bus.entries, n)
    return elapsed, bus


def relay_handler(bus: StubBus):
    # The handler looks its client up through events_client() on every call: replace that, or
    # a real boto3 client is built and every entry fails.
    relay.events_client = lambda: bus
    return relay.handler


def measure(n: int, batch_size: int, repeats: int) -> dict[str, tuple[float, int]]:
    """Best-of-`repeats` CPU time and call count for relay and naive, interleaved so that
    load from other users of a shared machine hits both alike."""
    results = {"relay": (math.inf, 0), "naive": (math.inf, 0)}
    for _ in range(repeats):
        for name, make_handler in (("relay", relay_handler), ("naive", naive_handler)):
            elapsed, bus = run_once(n, batch_size, make_handler)
            results[name] = (min(results[name][0], elapsed), bus.calls)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition per measurement")
    parser.add_argument("--tiny", action="store_true", help="one repetition of 100 records (a smoke test)")
    parser.add_argument("--batch-size", type=int, default=100, help="stream records per invocation")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--call-latency-ms", type=float, default=20.0, help="modelled PutEvents round trip")
    args = parser.parse_args()
    tiny = tiny_mode(args.tiny)
    repeats = 1 if args.quick or tiny else args.repeats
    latency = args.call_latency_ms / 1000

    print(f"outbox relay benchmark: batch size {args.batch_size}, best of {repeats}, stubbed bus")
    all_met = True
    for n in (100,) if tiny else (1_000, 10_000):
        minimum = math.ceil(n / 10)
        results = measure(n, args.batch_size, repeats)
        (relay_time, relay_calls), (naive_time, naive_calls) = results["relay"], results["naive"]
        met = relay_calls == minimum
        all_met &= met
        relay_rps, naive_rps = n / relay_time, n / naive_time
        modelled_relay = n / (relay_time + relay_calls * latency)
        modelled_naive = n / (naive_time + naive_calls * latency)
        verdict = "MET" if met else "NOT MET"
        print(f"\nn = {n:,} records")
        print(f"  PutEvents calls: relay {relay_calls:,}, naive {naive_calls:,}, minimum ceil(n/10) = {minimum:,}")
        print(f"    relay makes {naive_calls / relay_calls:.1f}x fewer calls than naive; target (= minimum): {verdict}")
        print(
            f"  records per CPU-second (stub answers instantly): relay {relay_rps:,.0f}, naive {naive_rps:,.0f}, "
            f"ratio {relay_rps / naive_rps:.2f}x"
        )
        print(
            f"  records/s at a modelled {args.call_latency_ms:g} ms per PutEvents: relay {modelled_relay:,.0f}, "
            f"naive {modelled_naive:,.0f}, ratio {modelled_relay / modelled_naive:.1f}x (model, not measured)"
        )
    print(f"\ntarget (PutEvents calls = ceil(n/10)) {'met' if all_met else 'NOT met'} for all sizes")
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
