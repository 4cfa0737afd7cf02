"""The ingestion scenario (`IngestionPipeline`): device events through the real producer, Firehose, S3,
the report queue and the report function, checked against a reference computed in plain Python.

    producer ──PutRecords──▶ Kinesis ──▶ Firehose (twin/firehose.py) ──invoke──▶ transform (real runner)
                                            │ Parquet under data/source=…/hour=…/, failures under errors/
                                            ▼
              S3 ObjectCreated ──▶ report queue ──▶ report function ──StartQueryExecution──▶ Athena stand-in
                                                                (DuckDB over the projected Parquet, UNLOAD)
                                                    ──▶ hourly/hour=…/part-00000.parquet
    EventBridge Scheduler ──{"rebuild": "previous_day"}──▶ report function (the daily rebuild)

The events fall in three hours of the previous day, so the daily rebuild covers exactly them.

Imports from `twin.scenarios` are made inside the functions: that module registers this one.
"""
from __future__ import annotations

import base64
import io
import json
import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from serverless_blueprints.ingestion_producer import Entry, put_records

from twin.stack import (
    BUCKET_NOTIFICATION,
    FIREHOSE_DELIVERY_STREAM,
    KINESIS_STREAM,
    QUEUE,
)

if TYPE_CHECKING:
    from twin.lambda_service import FirehoseDelivery
    from twin.scenarios import ScenarioRun

EVENTS = 2_000
"""Valid events; 1% more are bad and 1% are repeats (half in the same Firehose batch, half in a later one)."""
SOURCES = ("sensor", "gateway", "mobile")
DEVICES = 50
SEED = 14
PERCENTILE_TOLERANCE = 0.5
"""approx_percentile (DuckDB's approx_quantile in the twin) against the exact nearest rank; values spread ~5."""


@dataclass
class EventSet:
    """What producers send and what must end up in the reports."""
    first: list[Entry] = field(default_factory=list)
    """The first send: valid events, repeats right after their original, bad records spread through."""
    later: list[Entry] = field(default_factory=list)
    """Repeats of already-sent events, sent after the first delivery (another Firehose batch)."""
    stored: list[dict] = field(default_factory=list)
    """Rows that reach the table: every valid event once, plus the later repeats."""
    bad: list[bytes] = field(default_factory=list)
    same_batch_repeats: int = 0
    hours: list[str] = field(default_factory=list)


def event_set(now: datetime, total: int = EVENTS, seed: int = SEED) -> EventSet:
    """`total` events over three hours of the day before `now` (UTC), with 1% bad and 1% repeats."""
    rng = random.Random(seed)
    day = (now.astimezone(timezone.utc) - timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    events = EventSet(hours=[(day + timedelta(hours=h)).strftime("%Y-%m-%d-%H") for h in range(3)])
    valid: list[tuple[Entry, dict]] = []
    for i in range(total):
        moment = day + timedelta(hours=i * 3 // total, milliseconds=rng.randrange(3_600_000))
        event = {"event_id": f"evt-{seed}-{i:05d}", "device_id": f"device-{rng.randrange(DEVICES):03d}",
                 "source": rng.choice(SOURCES), "value": round(rng.gauss(20.0, 5.0), 3),
                 # the contract's three time styles: Z, an offset, epoch milliseconds
                 "event_time": (moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
                                moment.astimezone(timezone(timedelta(hours=-5))).isoformat(timespec="milliseconds"),
                                int(moment.timestamp() * 1000))[i % 3]}
        row = {**event, "event_time_ms": int(moment.timestamp() * 1000), "hour": moment.strftime("%Y-%m-%d-%H")}
        valid.append((Entry(json.dumps(event).encode(), event["device_id"]), row))
    repeats = total // 100
    adjacent = set(rng.sample(range(len(valid)), repeats // 2))
    for index, (entry, row) in enumerate(valid):
        events.first.append(entry)
        events.stored.append(row)
        if index in adjacent:
            events.first.append(entry)
            events.same_batch_repeats += 1
    for entry, row in rng.sample(valid, repeats - repeats // 2):
        events.later.append(entry)
        events.stored.append(row)
    base = {"event_id": "bad", "device_id": "device-bad", "source": "sensor", "value": 1.0,
            "event_time": (day + timedelta(minutes=5)).isoformat()}
    kinds = (lambda k: b'{"event_id": "broken',                            # not JSON
             lambda k: {**base, "source": "satellite"},                    # not a configured source
             lambda k: {key: v for key, v in base.items() if key != "value"},  # no value
             lambda k: {**base, "value": "21.5"},                          # a string, not a number
             lambda k: {**base, "event_time": "2026-01-01T00:00:00"},      # no offset
             lambda k: {**base, "event_time": (now + timedelta(hours=2)).isoformat()})  # in the future
    for k in range(total // 100):
        made = kinds[k % len(kinds)](k)
        payload = made if isinstance(made, bytes) else json.dumps({**made, "event_id": f"bad-{k}"}).encode()
        events.bad.append(payload)
        events.first.insert(rng.randrange(len(events.first) + 1), Entry(payload, f"bad-{k}"))
    return events


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def reference_reports(stored: list[dict]) -> dict[tuple[str, str], dict]:
    """The hourly report in plain Python: per (source, hour), each event_id counted once."""
    once: dict[str, dict] = {}
    for row in stored:
        once.setdefault(row["event_id"], row)
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in once.values():
        groups[(row["source"], row["hour"])].append(row)
    return {key: {"events": len(rows), "devices": len({r["device_id"] for r in rows}),
                  "p50_value": nearest_rank([r["value"] for r in rows], 0.5),
                  "p95_value": nearest_rank([r["value"] for r in rows], 0.95),
                  "max_value": max(r["value"] for r in rows),
                  "first_event_time": min(r["event_time_ms"] for r in rows),
                  "last_event_time": max(r["event_time_ms"] for r in rows)} for key, rows in groups.items()}


def _epoch_ms(value: Any) -> int:
    return int(value.replace(tzinfo=timezone.utc).timestamp() * 1000) if isinstance(value, datetime) else int(value)


def report_differences(got: dict[tuple[str, str], dict], want: dict[tuple[str, str], dict]) -> list[str]:
    """What differs between the reports read back and the reference (empty when they agree)."""
    if set(got) != set(want):
        return [f"(source, hour) rows {sorted(got)} != {sorted(want)}"]
    differences = []
    for key, expected in sorted(want.items()):
        row = got[key]
        exact = {"events": row["events"], "devices": row["devices"], "max_value": row["max_value"],
                 "first_event_time": _epoch_ms(row["first_event_time"]),
                 "last_event_time": _epoch_ms(row["last_event_time"])}
        for column, value in exact.items():
            if value != expected[column]:
                differences.append(f"{key} {column}: {value} != {expected[column]}")
        for column in ("p50_value", "p95_value"):
            if abs(row[column] - expected[column]) > PERCENTILE_TOLERANCE:
                differences.append(f"{key} {column}: {row[column]} not within {PERCENTILE_TOLERANCE} of {expected[column]}")
    return differences


# ----------------------------------------------------------------------------------------------------

def ingestion_scenario(run: "ScenarioRun") -> None:
    import pyarrow.parquet as pq

    twin, component = run.twin, run.component
    stream = twin.one_under(component, KINESIS_STREAM).outputs["name"]
    recorded_delivery = twin.one_under(component, FIREHOSE_DELIVERY_STREAM)
    delivery: FirehoseDelivery = next(d for d in twin.service.deliveries if d.resource is recorded_delivery)
    transform = twin.service.function_name(delivery.config.lambda_arn)
    notification = twin.one_under(component, BUCKET_NOTIFICATION)
    target = notification.props["queues"][0]
    mappings = twin.mappings_from(target["queueArn"])
    run.require("a mapping reads the ingestion bucket's notification queue", mappings, target["queueArn"])
    reporter = twin.function(mappings[0].props["functionName"])
    report_fn = reporter.outputs["name"]
    settings = twin.env(reporter)
    report_bucket, report_prefix = settings["REPORT_BUCKET"], settings["REPORT_PREFIX"]
    staging_prefix = settings["STAGING_PREFIX"]
    queue = next(q for q in twin.snapshot.of_type(QUEUE) if q.outputs["arn"] == target["queueArn"])
    dlq = json.loads(queue.props["redrivePolicy"])["deadLetterTargetArn"] if queue.props.get("redrivePolicy") else None
    schedules = [s for s in twin.plane.schedules if twin.service.function_name(s.function_arn) == report_fn]
    athena = twin.plane.athena[delivery.region]
    s3, kinesis = twin.plane.client("s3", delivery.region), twin.plane.client("kinesis", delivery.region)
    events = event_set(datetime.now(timezone.utc))
    reference = reference_reports(events.stored)

    def keys(bucket: str, prefix: str) -> list[str]:
        return sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
                      for o in page.get("Contents", []))

    def reports() -> tuple[dict[tuple[str, str], dict], list[str]]:
        found, rows = keys(report_bucket, report_prefix), {}
        for key in found:
            table = pq.read_table(io.BytesIO(s3.get_object(Bucket=report_bucket, Key=key)["Body"].read()))
            rows.update({(r["source"], r["hour"]): r for r in table.to_pylist()})
        return rows, found

    def refreshed_hours(invocations: list) -> set[str]:
        """The hours the invocations ran a report query for (their StartQueryExecution calls)."""
        return {hour for i in invocations for call in i.result.calls if call.operation == "StartQueryExecution"
                for hour in re.findall(r"\bhour = '(\d{4}-\d{2}-\d{2}-\d{2})'", call.params.get("QueryString", ""))}

    # --- first send: producer -> Kinesis -> Firehose -> S3 -> queue -> reports ---------------------------
    sent = put_records(kinesis, stream, events.first)
    run.require("the producer library sent every record (PutRecords)", sent.sent == len(events.first)
                and not sent.failed, f"sent {sent.sent} of {len(events.first)}, failed {len(sent.failed)}")
    mark = run.ledger_mark()
    twin.service.pump()
    transforms = run.invoked_since(mark, transform)
    run.check("Firehose invoked the transform through the Lambda service", transforms and
              all(i.source.startswith("firehose:") and not i.failed for i in transforms), len(transforms))
    results = delivery.emulator.report.results
    run.check("every record accounted for: Ok, Dropped (same-batch repeats), ProcessingFailed (bad)",
              results == {"Ok": len(events.first) - len(events.bad) - events.same_batch_repeats,
                          "Dropped": events.same_batch_repeats, "ProcessingFailed": len(events.bad)}, results)
    run.check("no record failed format conversion", delivery.emulator.report.format_conversion_failed == 0,
              delivery.emulator.report.format_conversion_failed)
    data_prefix = delivery.config.prefix.split("!{", 1)[0]
    delivered = keys(delivery.config.bucket, data_prefix)
    partitions = {re.sub(r"[^/]+$", "", k) for k in delivered}
    expected = {delivery.config.render_prefix({"source": s, "hour": h}, datetime.now(timezone.utc))
                for s, h in {(r["source"], r["hour"]) for r in events.stored}}
    run.check("Parquet under exactly the expected source/hour partitions (event time, not arrival)",
              partitions == expected and all(k.endswith(delivery.config.file_extension) for k in delivered),
              f"{sorted(partitions)} vs {sorted(expected)}")
    error_prefix = delivery.config.error_output_prefix.split("!{", 1)[0]
    raw = []
    for key in keys(delivery.config.bucket, error_prefix):
        run.check(f"error object {key} under processing-failed/yyyy/MM/dd/HH/",
                  re.match(rf"^{re.escape(error_prefix)}processing-failed/\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/", key), key)
        body = s3.get_object(Bucket=delivery.config.bucket, Key=key)["Body"].read().decode()
        raw += [base64.b64decode(json.loads(line)["rawData"]) for line in body.splitlines()]
    run.check("every bad record is under the error prefix with its raw data", sorted(raw) == sorted(events.bad),
              f"{len(raw)} error records, {len(events.bad)} bad")
    reported = run.invoked_since(mark, report_fn)
    run.check("S3 notification -> queue -> report function", reported and
              all(i.source.startswith("esm:") and not i.failed for i in reported), len(reported))
    run.check("the report function refreshed the delivered hours", refreshed_hours(reported) == set(events.hours),
              sorted(refreshed_hours(reported)))
    run.check("the Athena stand-in ran every UNLOAD", not athena.failures, athena.failures)
    first_rows, first_keys = reports()
    # The later repeats are events already sent, so the reference (each event_id once) holds already.
    run.check("hourly reports equal the plain-Python reference", not report_differences(first_rows, reference),
              report_differences(first_rows, reference)[:5])
    run.check("one report object per hour", first_keys == sorted(f"{report_prefix}hour={h}/part-00000.parquet"
                                                                 for h in events.hours), first_keys)

    # --- repeats in a later batch: stored twice, counted once; the hour's report is replaced ----------
    sent = put_records(kinesis, stream, events.later)
    run.require("the producer sent the late repeats", sent.sent == len(events.later) and not sent.failed, sent)
    mark = run.ledger_mark()
    twin.service.pump()
    repeated_hours = {json.loads(e.data)["event_id"] for e in events.later}
    repeated_hours = {r["hour"] for r in events.stored if r["event_id"] in repeated_hours}
    run.check("the later batch refreshed the hours it touched",
              refreshed_hours(run.invoked_since(mark, report_fn)) == repeated_hours,
              sorted(refreshed_hours(run.invoked_since(mark, report_fn))))
    rows, found = reports()
    run.check("repeats from another batch are counted once", not report_differences(rows, reference),
              report_differences(rows, reference)[:5])
    run.check("a refresh replaces, never duplicates", found == first_keys, found)

    # --- the daily rebuild (EventBridge Scheduler, recorded input) --------------------------------------
    run.require("an EventBridge Scheduler schedule targets the report function", schedules,
                [s.name for s in twin.plane.schedules])
    rebuild = twin.service.fire_schedule(schedules[0])
    run.check("the scheduled rebuild ran once and succeeded", len(rebuild) == 1 and not rebuild[0].failed,
              [i.result.error for i in rebuild])
    rebuilt = rebuild[-1].result.response.get("refreshed", []) if isinstance(rebuild[-1].result.response, dict) else []
    run.check("the rebuild covered the previous day's 24 hours", len(rebuilt) == 24 and set(events.hours) <= set(rebuilt),
              rebuilt)
    rows, found = reports()
    run.check("after the rebuild: the same reports, the same objects",
              not report_differences(rows, reference) and found == first_keys, (found, report_differences(rows, reference)[:3]))
    run.check("no staging copies left", not keys(report_bucket, staging_prefix), keys(report_bucket, staging_prefix))
    firehose_denied = [f"{c.action} on {c.resource}" for c in delivery.role_checks() if not c.allowed]
    run.check("Firehose's own reads, invokes and writes are allowed by its delivery role", not firehose_denied,
              firehose_denied[:3])
    run.check("the report queue is drained", twin.plane.queue_depth(target["queueArn"]) == 0)
    if dlq:
        run.check("nothing in the dead-letter queue", twin.plane.queue_depth(dlq) == 0, dlq)
