"""Outbox stream -> custom EventBridge bus.

Delivery guarantees (what the README should promise, no more):
- At least once. Every outbox INSERT is published, or, after the mapping's bounded retries, its
  batch is recorded in the on-failure destination (the item itself stays in the outbox table
  until its ``expiresAt`` TTL, for redrive).
- Duplicates are possible downstream. Lambda re-delivers a stream batch from the LOWEST failed
  sequence number this function reports, so records after it that already went out are sent
  again; a lost PutEvents response is retried too. Every copy carries the same
  ``detail.metadata.eventId`` (the outbox id), which consumers de-duplicate on.
- Order: records reach this function in order per stream shard (per partition key, i.e. per
  outbox item), and each invocation publishes them in that order. That is all. Events of one
  order share no partition key with other orders, retries republish later records, and
  EventBridge and standard SQS do not preserve order, so consumers must not depend on order.

Why the partial batch response is built here rather than with BatchProcessor: PutEvents takes
up to 10 entries per call, and BatchProcessor calls a handler per record, which would make one
PutEvents call per record (10x the calls). The failure report follows the same contract:
only the records that really failed, itemIdentifier = the stream record's SequenceNumber.
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecordEventName,
)
from botocore.config import Config

from outbox_relay.envelope import OutboxEvent, UnpublishableRecord, outbox_event
from outbox_relay.publisher import publish

EVENT_BUS_NAME = os.environ["EVENT_BUS_NAME"]
EVENT_SOURCE = os.environ["EVENT_SOURCE"]
# Stop sending and backing off once less than this is left, so the invocation reports what is
# unpublished instead of timing out (a timeout fails the whole batch, successes included).
TIME_RESERVE_MS = 3_000

logger = Logger()
_sleep = time.sleep


# Created on first use, not at import (that would cost about a third of a bare `import boto3`
# on every cold start), and then kept for the life of the execution environment.
@cache
def events_client() -> Any:
    # Short timeouts: a hung connection must not eat the invocation (a timeout fails the whole batch).
    return boto3.client(
        "events",
        config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}),
    )


@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    stream_event = DynamoDBStreamEvent(event)
    to_publish: list[OutboxEvent] = []
    in_stream_order: list[str] = []
    failed: set[str] = set()
    skipped = 0
    for record in stream_event.records:
        change = record.dynamodb
        if change is None or change.sequence_number is None:
            # Every DynamoDB stream record has both; without a sequence number no failure can be reported.
            raise ValueError(f"stream record {record.event_id} has no dynamodb.SequenceNumber")
        sequence_number = change.sequence_number
        in_stream_order.append(sequence_number)
        # The mapping filters on INSERT; MODIFY/REMOVE (TTL expiry) are not new events.
        if record.event_name != DynamoDBRecordEventName.INSERT:
            skipped += 1
            continue
        try:
            to_publish.append(
                outbox_event(
                    sequence_number,
                    change.new_image,
                    bus_name=EVENT_BUS_NAME,
                    source=EVENT_SOURCE,
                )
            )
        except UnpublishableRecord as exc:
            # Reported, not dropped: after bounded retries it lands in the on-failure destination.
            logger.error(
                "unpublishable outbox record",
                extra={"sequence_number": sequence_number, "reason": str(exc)},
            )
            failed.add(sequence_number)

    def may_wait(seconds: float) -> bool:
        return context.get_remaining_time_in_millis() - seconds * 1000 > TIME_RESERVE_MS

    publish_failures = publish(to_publish, events_client().put_events, sleep=_sleep, may_wait=may_wait)
    for failure in publish_failures:
        logger.warning(
            "event not published",
            extra={
                "event_id": failure.event.event_id,
                "sequence_number": failure.event.sequence_number,
                "error_code": failure.error_code,
            },
        )
        failed.add(failure.event.sequence_number)

    logger.info(
        "relayed outbox batch",
        extra={
            "published": len(to_publish) - len(publish_failures),
            "failed": len(failed),
            "skipped": skipped,
        },
    )
    # Stream order; Lambda resumes from the lowest of these.
    return {"batchItemFailures": [{"itemIdentifier": s} for s in in_stream_order if s in failed]}
