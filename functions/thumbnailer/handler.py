"""Thumbnailer: SQS batches of S3 upload notifications in, thumbnails in the thumbnails bucket out."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from thumbnailer import events, uploads
from thumbnailer.settings import Settings

SETTINGS = Settings.from_env(os.environ)
# A record is not started with less time than this left: it is handed back to SQS
# instead, so a timeout never throws away the records already finished in the batch.
TIME_RESERVE_MS = 15_000

_client_config = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3})

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME
# All-failed batches are reported item by item too, rather than raised as one error.
# powertools' Logger has the logging.Logger methods the processor calls, though not its type.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False,
                           logger=logger)  # type: ignore[arg-type]


# Clients are created on first use, not at import (each costs about half a bare `import boto3`
# on every cold start), and then kept for the life of the execution environment.
@cache
def s3_client() -> Any:
    return boto3.client("s3", config=_client_config)


@cache
def sns_client() -> Any | None:
    """None when no TOPIC_ARN is configured: nothing is published then."""
    return boto3.client("sns", config=_client_config) if SETTINGS.topic_arn else None


@cache
def rekognition_client() -> Any | None:
    """None when analysis is off: Rekognition is never called then."""
    return boto3.client("rekognition", config=_client_config) if SETTINGS.analysis else None


class NotEnoughTimeLeft(RuntimeError):
    """Raised to hand a record back to SQS untouched."""


def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    if lambda_context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
        raise NotEnoughTimeLeft(f"less than {TIME_RESERVE_MS} ms left; message returned to the queue")
    for upload in events.uploads_in(record.body):
        outcome = uploads.process_upload(s3_client(), sns_client(), SETTINGS, upload, rekognition_client())
        _log(upload, outcome)


def _log(upload: events.UploadedObject, outcome: uploads.Outcome) -> None:
    source = f"s3://{upload.bucket}/{upload.key}"
    fields = {"source_bucket": upload.bucket, "source_key": upload.key, "outcome": outcome.status}
    if outcome.status == "thumbnailed":
        logger.info(f"Thumbnails written for {source}", extra={**fields, "thumbnail_keys": list(outcome.keys)})
    elif outcome.status == "rejected":
        logger.warning(
            f"Rejected {source} permanently ({outcome.reason}: {outcome.detail}); not retried; "
            f"failure record s3://{SETTINGS.thumbnail_bucket}/{outcome.keys[0]}",
            extra={**fields, "reason": outcome.reason, "failure_record": outcome.keys[0]},
        )
    elif outcome.status == "source_missing":
        logger.warning(f"Skipped {source}: the object no longer exists", extra=fields)
    else:
        logger.info(f"Skipped {source}: overwritten since; the newer version has its own notification", extra=fields)


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
