"""Report handler: S3 ObjectCreated notifications (via SQS) and a daily schedule in, hourly reports out.

SQS batch: the hours every message names are refreshed once each, side by side; a message whose
hour failed is reported as a batch item failure, so SQS retries it and parks it in the DLQ after
max_receive_count receives. Schedule ({"rebuild": "previous_day"}): any failed hour raises, so the
asynchronous invocation is retried and then sent to the on-failure queue.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from ingest_reports import reports
from ingest_reports.settings import Settings

SETTINGS = Settings.from_env(os.environ)
TIME_RESERVE_MS = 10_000
_client_config = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3})

logger = Logger()
# Powertools' Logger has the logging.Logger methods the processor calls; its annotation names only the latter.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False,
                           logger=logger)  # type: ignore[arg-type]


@cache
def athena_client() -> Any:
    return boto3.client("athena", config=_client_config)


@cache
def s3_client() -> Any:
    return boto3.client("s3", config=_client_config)


def _refresh(hours, context: LambdaContext) -> dict:
    def time_left() -> float:
        return (context.get_remaining_time_in_millis() - TIME_RESERVE_MS) / 1000
    outcomes = reports.refresh_hours(athena_client(), s3_client(), SETTINGS, hours, time_left)
    for hour, outcome in sorted(outcomes.items()):
        if isinstance(outcome, reports.ReportQueryFailed):
            logger.error(f"Report for hour {hour} failed", extra={
                "hour": hour, "query_id": outcome.query_id, "reason": outcome.reason})
        else:
            logger.info(f"Report for hour {hour} refreshed", extra={
                "hour": hour, "query_id": outcome.query_id, "keys": list(outcome.keys)})
    return outcomes


def _sqs_batch(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    hours_by_message: dict[str, set[str] | None] = {}
    for message in event["Records"]:
        try:
            hours_by_message[message["messageId"]] = reports.hours_in_notification(message["body"])
        except (ValueError, KeyError, TypeError):
            hours_by_message[message["messageId"]] = None  # malformed: fails below, ends in the DLQ
    outcomes = _refresh({h for hours in hours_by_message.values() if hours for h in hours}, context)

    def record_handler(record: SQSRecord) -> None:
        hours = hours_by_message[record.message_id]
        if hours is None:
            raise ValueError("message body is not an S3 event notification")
        failed = [outcomes[h] for h in sorted(hours) if isinstance(outcomes[h], reports.ReportQueryFailed)]
        if failed:
            raise failed[0]

    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse | dict[str, list[str]]:
    if "Records" in event:
        return _sqs_batch(event, context)
    hours = reports.scheduled_hours(event, datetime.now(timezone.utc))
    outcomes = _refresh(hours, context)
    failed = [o for o in outcomes.values() if isinstance(o, reports.ReportQueryFailed)]
    if failed:
        raise failed[0]
    return {"refreshed": sorted(outcomes)}
