"""A device-event producer for IngestionPipeline's stream: library and CLI.

    python -m serverless_blueprints.ingestion_producer --stream <name> --rate 100 [--duration 60]

`put_records()` sends any number of entries with Kinesis PutRecords in batches that stay within
the API's limits (500 records and 5 MiB a call, 1 MiB a record including its partition key), and
re-sends only the entries a response marks as failed (`FailedRecordCount`, per-record
`ErrorCode`), with exponential backoff and full jitter, up to `max_attempts` per batch. Entries
still failing then are returned, never silently lost.

boto3 is imported by the CLI only: the library takes any client with `put_records`.
"""
import argparse
import json
import math
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 2**20
MAX_BYTES_PER_RECORD = 2**20
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_BASE_DELAY_SECONDS = 0.1
DEFAULT_MAX_DELAY_SECONDS = 5.0


class RecordTooLarge(ValueError):
    """One entry is over Kinesis's 1 MiB record limit (data plus partition key)."""


@dataclass(frozen=True)
class Entry:
    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode())

    def request(self) -> dict:
        return {"Data": self.data, "PartitionKey": self.partition_key}


@dataclass
class PutResult:
    sent: int = 0
    calls: int = 0
    retried: int = 0
    failed: list[tuple[Entry, str]] = field(default_factory=list)
    """Entries still failing after max_attempts, with their last ErrorCode."""


def event_entry(event: dict) -> Entry:
    """A device event as a stream entry, partitioned by device (per-device order is kept)."""
    return Entry(json.dumps(event, separators=(",", ":")).encode(), str(event["device_id"]))


def batches(entries: Iterable[Entry]) -> Iterator[list[Entry]]:
    """Consecutive batches within 500 records and 5 MiB per call."""
    batch: list[Entry] = []
    size = 0
    for entry in entries:
        if entry.size > MAX_BYTES_PER_RECORD:
            raise RecordTooLarge(f"record for partition key {entry.partition_key!r} is {entry.size} bytes, over "
                                 f"Kinesis's {MAX_BYTES_PER_RECORD}")
        if batch and (len(batch) == MAX_RECORDS_PER_CALL or size + entry.size > MAX_BYTES_PER_CALL):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry.size
    if batch:
        yield batch


def backoff_seconds(attempt: int, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt))."""
    return rng() * min(cap, base * 2 ** attempt)


def put_records(client: Any, stream_name: str, entries: Iterable[Entry], *,
                max_attempts: int = DEFAULT_MAX_ATTEMPTS, base_delay: float = DEFAULT_BASE_DELAY_SECONDS,
                max_delay: float = DEFAULT_MAX_DELAY_SECONDS, sleep: Callable[[float], None] = time.sleep,
                rng: Callable[[], float] = random.random) -> PutResult:
    """Send every entry; only failed entries are re-sent. See the module docstring."""
    result = PutResult()
    for batch in batches(entries):
        pending: Sequence[Entry] = batch
        errors: dict[int, str] = {}
        for attempt in range(max_attempts):
            if attempt:
                sleep(backoff_seconds(attempt, base_delay, max_delay, rng))
                result.retried += len(pending)
            result.calls += 1
            response = client.put_records(StreamName=stream_name, Records=[e.request() for e in pending])
            outcomes = response["Records"]
            if not response.get("FailedRecordCount"):
                result.sent += len(pending)
                pending = []
                break
            retry = [(entry, outcome.get("ErrorCode", "")) for entry, outcome in zip(pending, outcomes)
                     if outcome.get("ErrorCode")]
            result.sent += len(pending) - len(retry)
            pending = [entry for entry, _ in retry]
            errors = {id(entry): code for entry, code in retry}
        result.failed += [(entry, errors.get(id(entry), "")) for entry in pending]
    return result


# --- synthetic device events (the CLI's load) ---------------------------------------------------
def device_events(count: int, *, sources: Sequence[str], devices: int, now: Optional[datetime] = None,
                  rng: Optional[random.Random] = None) -> list[dict]:
    """`count` plausible events: one of `devices` devices, one of `sources`, a reading around 20."""
    rng = rng or random.Random()
    now = now or datetime.now(timezone.utc)
    return [{"event_id": str(uuid.UUID(int=rng.getrandbits(128))), "device_id": f"device-{rng.randrange(devices):05d}",
             "source": rng.choice(list(sources)), "event_time": now.isoformat(timespec="milliseconds"),
             "value": round(rng.gauss(20.0, 5.0), 3)} for _ in range(count)]


def _arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m serverless_blueprints.ingestion_producer",
                                     description="Send synthetic device events to an IngestionPipeline stream.")
    parser.add_argument("--stream", required=True, help="Kinesis stream name (the stack's stream_name export)")
    parser.add_argument("--rate", type=float, default=100.0, help="events per second (default 100)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to run (default 10)")
    parser.add_argument("--sources", default="sensor,gateway,mobile", help="comma-separated event sources")
    parser.add_argument("--devices", type=int, default=100, help="number of simulated devices")
    parser.add_argument("--region", default=None, help="AWS region (default: the SDK's)")
    parser.add_argument("--endpoint-url", default=None, help="e.g. a moto server for local runs")
    arguments = parser.parse_args(argv)
    if arguments.rate <= 0 or arguments.duration <= 0 or arguments.devices < 1:
        parser.error("--rate and --duration must be positive, --devices at least 1")
    return arguments


def main(argv: Optional[Sequence[str]] = None, client: Any = None,
         sleep: Callable[[float], None] = time.sleep) -> int:
    arguments = _arguments(argv)
    if client is None:
        import boto3  # only the CLI needs the SDK
        client = boto3.client("kinesis", region_name=arguments.region, endpoint_url=arguments.endpoint_url)
    sources = [s for s in arguments.sources.split(",") if s]
    total = PutResult()
    started, carry = time.monotonic(), 0.0
    for tick in range(math.ceil(arguments.duration)):  # one PutRecords round per second
        carry += arguments.rate
        count, carry = int(carry), carry - int(carry)
        events = device_events(count, sources=sources, devices=arguments.devices)
        sent = put_records(client, arguments.stream, (event_entry(e) for e in events), sleep=sleep)
        total.sent, total.calls, total.retried = (total.sent + sent.sent, total.calls + sent.calls,
                                                  total.retried + sent.retried)
        total.failed += sent.failed
        sleep(max(0.0, started + tick + 1 - time.monotonic()))
    print(json.dumps({"sent": total.sent, "calls": total.calls, "retried": total.retried,
                      "failed": len(total.failed)}))
    return 1 if total.failed else 0


if __name__ == "__main__":
    sys.exit(main())
