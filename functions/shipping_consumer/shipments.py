"""Turns an OrderCreated event into a shipment, recorded at most once per event id."""

from __future__ import annotations

import json
from typing import Any

from boto3.dynamodb.types import TypeSerializer

EXPECTED_DETAIL_TYPE = "OrderCreated"
_serializer = TypeSerializer()


class NotAShipmentEvent(ValueError):
    """The message is not an OrderCreated event this consumer can act on."""


def shipment_from_message(body: str, *, shipment_id: str, recorded_at: str) -> dict[str, Any]:
    """Parse the SQS body (the full EventBridge event) into a shipment record.

    De-duplication uses ``detail.metadata.eventId`` (the outbox id). EventBridge's own ``id``
    changes each time the relay re-publishes, so it cannot identify "the same event".
    """
    try:
        event = json.loads(body)
    except ValueError:
        raise NotAShipmentEvent("message body is not JSON") from None
    if not isinstance(event, dict):
        raise NotAShipmentEvent("message body is not an EventBridge event")
    if event.get("detail-type") != EXPECTED_DETAIL_TYPE:
        raise NotAShipmentEvent(f"unexpected detail-type {event.get('detail-type')!r}")
    detail = event.get("detail")
    metadata = detail.get("metadata") if isinstance(detail, dict) else None
    data = detail.get("data") if isinstance(detail, dict) else None
    if not isinstance(metadata, dict) or not isinstance(data, dict):
        raise NotAShipmentEvent("detail must carry metadata and data objects")
    event_id = metadata.get("eventId")
    order_id = data.get("orderId")
    items = data.get("items")
    if not isinstance(event_id, str) or not event_id:
        raise NotAShipmentEvent("detail.metadata.eventId is missing")
    if not isinstance(order_id, str) or not order_id:
        raise NotAShipmentEvent("detail.data.orderId is missing")
    if not isinstance(items, list) or not items:
        raise NotAShipmentEvent("detail.data.items is missing")
    return {
        "eventId": event_id,
        "orderId": order_id,
        "shipmentId": shipment_id,
        "customerId": data.get("customerId"),
        "items": [_shipment_line(item) for item in items],
        "status": "PENDING",
        "correlationId": metadata.get("correlationId"),
        "recordedAt": recorded_at,
    }


def _shipment_line(item: Any) -> dict[str, Any]:
    sku = item.get("sku") if isinstance(item, dict) else None
    quantity = item.get("quantity") if isinstance(item, dict) else None
    if not isinstance(sku, str) or not isinstance(quantity, int) or isinstance(quantity, bool):
        raise NotAShipmentEvent("detail.data.items must hold sku and integer quantity")
    return {"sku": sku, "quantity": quantity}


def record_shipment(client: Any, *, shipments_table: str, shipment: dict[str, Any]) -> bool:
    """Put the shipment unless its event was seen before. True if this call recorded it."""
    try:
        client.put_item(
            TableName=shipments_table,
            Item={k: _serializer.serialize(v) for k, v in shipment.items() if v is not None},
            ConditionExpression="attribute_not_exists(eventId)",
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True
