"""A known event set with bad records, duplicates and late arrivals, and its plain-Python reference."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

BAD_KINDS = (
    b'{"event_id": "broken',
    {"source": "satellite"},                     # not a configured source
    {"value": None},                             # missing value
    {"value": "21.5"},                           # a string, not a number
    {"event_time": "2026-01-01T00:00:00"},       # no offset
    {"event_time_delta": timedelta(hours=2)},    # in the future
)


@dataclass
class Dataset:
    payloads: list[bytes] = field(default_factory=list)
    """What producers send, in send order."""
    stored: list[dict] = field(default_factory=list)
    """Rows that end up in the table: valid originals, plus repeats that arrive in another batch."""
    bad: list[bytes] = field(default_factory=list)
    same_batch_repeats: int = 0
    hours: list[str] = field(default_factory=list)
    late: int = 0


def hour_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d-%H")


def _event_time_text(moment: datetime, style: int):
    if style == 0:
        return moment.isoformat(timespec="milliseconds")
    if style == 1:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if style == 2:
        return moment.astimezone(timezone(timedelta(hours=2))).isoformat(timespec="milliseconds")
    return int(moment.timestamp() * 1000)


def build(now: datetime, total: int = 10_000, seed: int = 14, sources=("sensor", "gateway", "mobile"),
          devices: int = 200) -> Dataset:
    """`total` events over the three whole hours before `now`'s hour: 1% bad, 1% repeats, 2% late."""
    rng = random.Random(seed)
    first_hour = now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    n_bad, n_repeat = total // 100, total // 100
    n_valid = total - n_bad - n_repeat
    data = Dataset(hours=[(first_hour + timedelta(hours=h)).strftime("%Y-%m-%d-%H") for h in range(3)])
    valid = []
    for i in range(n_valid):
        moment = first_hour + timedelta(hours=i * 3 // n_valid, milliseconds=rng.randrange(3_600_000))
        event = {"event_id": f"evt-{seed}-{i:06d}", "device_id": f"device-{rng.randrange(devices):04d}",
                 "source": rng.choice(sources), "event_time": _event_time_text(moment, i % 4),
                 "value": round(rng.gauss(20.0, 5.0), 3)}
        row = {**event, "event_time_ms": int(moment.timestamp() * 1000)}
        row["hour"] = hour_of(row["event_time_ms"])
        valid.append((json.dumps(event).encode(), row))
    # Late arrivals: 2% of the first hour's events are sent after everything else.
    first = [v for v in valid if v[1]["hour"] == data.hours[0]]
    late = rng.sample(first, len(valid) // 50)
    late_ids = {row["event_id"] for _, row in late}
    order = [v for v in valid if v[1]["event_id"] not in late_ids] + late
    data.late = len(late)
    # Repeats: half right after their original (same Firehose batch: dropped by the transform), half
    # of the first events re-sent at the very end (another batch: stored, de-duplicated by the report).
    adjacent = set(rng.sample(range(100, len(order) - 100), n_repeat // 2))
    sequence: list[bytes] = []
    for index, (payload, row) in enumerate(order):
        sequence.append(payload)
        data.stored.append(row)
        if index in adjacent:
            sequence.append(payload)
            data.same_batch_repeats += 1
    for payload, row in order[: n_repeat - n_repeat // 2]:
        sequence.append(payload)
        data.stored.append(row)
    # Bad records, spread through the stream.
    for k in range(n_bad):
        kind = BAD_KINDS[k % len(BAD_KINDS)]
        if isinstance(kind, bytes):
            payload = kind
        else:
            base = {"event_id": f"bad-{k}", "device_id": "device-bad", "source": "sensor",
                    "event_time": (first_hour + timedelta(minutes=5)).isoformat(), "value": 1.0}
            for key, value in kind.items():
                if key == "event_time_delta":
                    base["event_time"] = (now + value).isoformat()
                elif value is None:
                    base.pop(key)
                else:
                    base[key] = value
            payload = json.dumps(base).encode()
        data.bad.append(payload)
        sequence.insert(rng.randrange(len(sequence) + 1), payload)
    data.payloads = sequence
    return data


