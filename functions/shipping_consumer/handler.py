"""SQS (target of the OrderCreated rule) -> one shipment per event, with partial batch failures.

A message that cannot be processed is reported as a batch item failure, so SQS redelivers it and,
after the queue's maxReceiveCount, moves it to the DLQ; the rest of the batch is unaffected.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from shipping_consumer.shipments import record_shipment, shipment_from_message

SHIPMENTS_TABLE = os.environ["SHIPMENTS_TABLE"]

logger = Logger()
processor = BatchProcessor(event_type=EventType.SQS)


# Created on first use, not at import (that would cost about half a bare `import boto3`
# on every cold start), and then kept for the life of the execution environment.
@cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb")


def record_handler(record: SQSRecord) -> None:
    shipment = shipment_from_message(
        record.body,
        shipment_id=str(uuid.uuid4()),
        recorded_at=datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
    )
    created = record_shipment(dynamodb_client(), shipments_table=SHIPMENTS_TABLE, shipment=shipment)
    logger.info(
        "shipment recorded" if created else "duplicate event absorbed",
        extra={
            "event_id": shipment["eventId"],
            "order_id": shipment["orderId"],
            "correlation_id": shipment["correlationId"],
        },
    )


@logger.inject_lambda_context
def handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
