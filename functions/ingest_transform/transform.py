"""The Firehose data-transformation contract, as plain functions over plain values.

Every input recordId comes back exactly once, in order, as
- "Ok": the normalised JSON line, base64, with metadata.partitionKeys {source, hour};
- "Dropped": a repeat of an event_id already seen in this batch (at-least-once producers);
- "ProcessingFailed": anything that breaks the contract in `schema`, with its original data, so
  Firehose writes it under the error prefix (processing-failed/) instead of losing it.

Hot path: one C-level JSON scan per record (no json.loads wrapper), output lines formatted
directly (the identifiers are validated to need no escaping), and one strftime per hour, not per
record. bench/bench_ingest_transform.py measures it against the straightforward version.
"""

from __future__ import annotations

import binascii
import json
import json.scanner
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ingest_transform.schema import IDENTIFIER, HOUR_FORMAT, Settings

OK, DROPPED, FAILED = "Ok", "Dropped", "ProcessingFailed"
MS_PER_HOUR = 3_600_000

# The C scanner json.loads ends up in (make_scanner is _json's when CPython has it, as Lambda's does). typeshed
# types its context as a scanner, not the decoder it really takes (its TODO).
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_identifier = IDENTIFIER.fullmatch
_a2b = binascii.a2b_base64
_b2a = binascii.b2a_base64
_fromisoformat = datetime.fromisoformat
_hour_labels: dict[int, str] = {}


class InvalidEvent(ValueError):
    """The record breaks the event contract; the message says how (logged, never the payload)."""


@dataclass
class Outcome:
    """The response records, and counts by result and by failure reason for logs and metrics."""
    records: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {OK: 0, DROPPED: 0, FAILED: 0})
    reasons: dict[str, int] = field(default_factory=dict)


def hour_label(event_ms: int) -> str:
    """'YYYY-MM-DD-HH' (UTC) of an epoch-millisecond time; computed once per hour."""
    hour = event_ms // MS_PER_HOUR
    label = _hour_labels.get(hour)
    if label is None:
        label = _hour_labels[hour] = time.strftime(HOUR_FORMAT, time.gmtime(hour * 3600))
    return label


def event_time_ms(value: object) -> int:
    """Epoch milliseconds (UTC) of an ISO-8601 time with an offset, or of an integer in ms."""
    if isinstance(value, str):
        try:
            moment = _fromisoformat(value)
        except ValueError:
            raise InvalidEvent("event_time is not an ISO-8601 time") from None
        if moment.tzinfo is None:
            raise InvalidEvent("event_time has no UTC offset")
        return round(moment.timestamp() * 1000)
    if type(value) is int:
        return value
    raise InvalidEvent("event_time must be an ISO-8601 string or epoch milliseconds")


def parse_event(data: bytes, settings: Settings) -> dict:
    """The decoded JSON object of one record, or InvalidEvent."""
    if len(data) > settings.max_record_bytes:
        raise InvalidEvent(f"record is over {settings.max_record_bytes} bytes")
    try:
        text = data.decode()
        event, end = _scan(text, 0)
    except (UnicodeDecodeError, StopIteration, ValueError, RecursionError):
        raise InvalidEvent("record is not UTF-8 JSON") from None
    if end != len(text) and text[end:].strip():
        raise InvalidEvent("record has data after its JSON object")
    if type(event) is not dict:
        raise InvalidEvent("record is not a JSON object")
    return event


def accepted_window(settings: Settings, now_ms: int) -> tuple[int, int]:
    """(earliest, latest) event time in epoch ms accepted now: max age back, clock skew ahead."""
    return (now_ms - settings.max_event_age_hours * MS_PER_HOUR,
            now_ms + settings.max_clock_skew_seconds * 1000)


def normalise(event: dict, arrival_ms: int, window: tuple[int, int], sources: frozenset) -> tuple[str, str, str, int]:
    """(event_id, output JSON line, source, event time in ms) of a valid event, or InvalidEvent naming the field."""
    try:
        event_id, device_id, source = event["event_id"], event["device_id"], event["source"]
        when, value = event["event_time"], event["value"]
    except KeyError as missing:
        raise InvalidEvent(f"{missing.args[0]} is required") from None
    if type(event_id) is not str or not _identifier(event_id):
        raise InvalidEvent("event_id must be 1-128 of [A-Za-z0-9._:-]")
    if type(device_id) is not str or not _identifier(device_id):
        raise InvalidEvent("device_id must be 1-128 of [A-Za-z0-9._:-]")
    if type(source) is not str or source not in sources:
        raise InvalidEvent("source is not one of the configured sources")
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            raise InvalidEvent("value must be finite")
    elif kind is int:
        value = float(value)
    else:
        raise InvalidEvent("value must be a number")
    ms = event_time_ms(when)
    if ms > window[1]:
        raise InvalidEvent("event_time is in the future")
    if ms < window[0]:
        raise InvalidEvent("event_time is older than the accepted age")
    line = (f'{{"event_id":"{event_id}","device_id":"{device_id}","event_time":{ms},'
            f'"value":{value!r},"ingested_at":{arrival_ms}}}\n')
    return event_id, line, source, ms


def transform_records(records: Sequence[Mapping], settings: Settings, now_ms: int) -> Outcome:
    """The Firehose response records for one invocation's records, in the same order."""
    outcome = Outcome()
    out, reasons = outcome.records, outcome.reasons
    failed = dropped = 0
    seen: set[str] = set()
    window, sources = accepted_window(settings, now_ms), settings.sources
    # One metadata object per (source, hour), shared by its records: the runtime only serialises it.
    partitions: dict[tuple[str, int], dict] = {}
    for record in records:
        record_id, data = record["recordId"], record["data"]
        arrival = record.get("approximateArrivalTimestamp")
        if type(arrival) is not int:
            arrival = _arrival_ms(record, now_ms)
        try:
            event_id, line, source, ms = normalise(parse_event(_a2b(data), settings), arrival, window, sources)
        except (InvalidEvent, binascii.Error, ValueError) as error:
            reason = str(error) if isinstance(error, InvalidEvent) else "data is not base64"
            reasons[reason] = reasons.get(reason, 0) + 1
            failed += 1
            out.append({"recordId": record_id, "result": FAILED, "data": data})
            continue
        if event_id in seen:
            dropped += 1
            out.append({"recordId": record_id, "result": DROPPED, "data": data})
            continue
        seen.add(event_id)
        key = (source, ms // MS_PER_HOUR)
        metadata = partitions.get(key)
        if metadata is None:
            metadata = partitions[key] = {"partitionKeys": {"source": source, "hour": hour_label(ms)}}
        out.append({"recordId": record_id, "result": OK,
                    "data": _b2a(line.encode(), newline=False).decode("ascii"), "metadata": metadata})
    outcome.counts = {OK: len(out) - failed - dropped, DROPPED: dropped, FAILED: failed}
    return outcome


def _arrival_ms(record: Mapping, now_ms: int) -> int:
    arrival = record.get("approximateArrivalTimestamp")
    if arrival is None:
        arrival = (record.get("kinesisRecordMetadata") or {}).get("approximateArrivalTimestamp", now_ms)
    return int(arrival)
