"""Turns an outbox item (a stream record's NewImage) into one EventBridge PutEvents entry.

The relay knows the envelope, not the event schema: ``payload`` is forwarded as ``detail.data``.

Detail published for every event::

    {"metadata": {"eventId": <outbox id, stable across retries and replays>,
                  "eventType": "OrderCreated", "correlationId": ..., "occurredAt": ...,
                  "aggregateId": <order id>},
     "data": <the outbox payload object>}

EventBridge assigns its own ``id`` on every PutEvents call, so consumers must de-duplicate on
``detail.metadata.eventId``, never on the EventBridge ``id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

MAX_ENTRIES_PER_CALL = 10
# PutEvents limit on the summed entry sizes of one request (AWS: "Calculating PutEvents event
# entry size"): 256 KB.
MAX_REQUEST_BYTES = 256 * 1024
_TIME_FIELD_BYTES = 14


class UnpublishableRecord(ValueError):
    """The record can never become a valid PutEvents entry; retrying will not help."""


@dataclass(frozen=True)
class OutboxEvent:
    sequence_number: str
    event_id: str
    entry: dict[str, Any]
    size: int


def entry_size(entry: dict[str, Any]) -> int:
    """Entry size as EventBridge counts it against the 256 KB request limit."""
    size = _TIME_FIELD_BYTES if entry.get("Time") is not None else 0
    for field in ("Source", "DetailType", "Detail"):
        if entry.get(field):
            size += len(entry[field].encode("utf-8"))
    for resource in entry.get("Resources", ()):
        size += len(resource.encode("utf-8"))
    return size


def _required_text(image: dict[str, Any], name: str) -> str:
    value = image.get(name)
    if not isinstance(value, str) or not value:
        raise UnpublishableRecord(f"outbox item has no {name}")
    return value


def outbox_event(
    sequence_number: str, image: dict[str, Any], *, bus_name: str, source: str
) -> OutboxEvent:
    """Build the PutEvents entry for one outbox item (``image`` already deserialized)."""
    event_id = _required_text(image, "eventId")
    event_type = _required_text(image, "eventType")
    try:
        data = json.loads(_required_text(image, "payload"))
    except ValueError:
        raise UnpublishableRecord(f"outbox item {event_id} has a payload that is not JSON") from None
    if not isinstance(data, dict):
        raise UnpublishableRecord(f"outbox item {event_id} has a payload that is not a JSON object")

    metadata = {
        "eventId": event_id,
        "eventType": event_type,
        "correlationId": image.get("correlationId") or event_id,
        "occurredAt": image.get("occurredAt"),
        "aggregateId": image.get("aggregateId"),
    }
    entry: dict[str, Any] = {
        "EventBusName": bus_name,
        "Source": source,
        "DetailType": event_type,
        "Detail": json.dumps({"metadata": metadata, "data": data}, separators=(",", ":")),
    }
    occurred_at = image.get("occurredAt")
    if isinstance(occurred_at, str):
        try:
            entry["Time"] = datetime.fromisoformat(occurred_at)
        except ValueError:
            pass  # EventBridge then stamps the publish time; the original stays in metadata.
    size = entry_size(entry)
    if size > MAX_REQUEST_BYTES:
        raise UnpublishableRecord(
            f"outbox item {event_id} is {size} bytes; PutEvents accepts at most {MAX_REQUEST_BYTES}"
        )
    return OutboxEvent(sequence_number=sequence_number, event_id=event_id, entry=entry, size=size)
