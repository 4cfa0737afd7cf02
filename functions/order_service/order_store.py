"""Writes an order and its outbox event atomically (the transactional outbox)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from api_common.http import IdempotencyKeyReused

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class OrderAlreadyExists(Exception):
    """The order row exists already, so nothing was written. Carries the stored order."""

    def __init__(self, existing: dict[str, Any]):
        super().__init__(f"order {existing.get('orderId')} already exists")
        self.existing = existing


class OutboxEventAlreadyExists(Exception):
    """The outbox id is taken; the transaction wrote nothing."""


def to_item(record: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in record.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(_deserializer.deserialize(value)) for key, value in item.items()}


def _plain(value: Any) -> Any:
    # Every number this service stores is an integer (minor units, counts, epoch seconds).
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def record_order_with_event(
    client: Any,
    *,
    orders_table: str,
    outbox_table: str,
    order_record: dict[str, Any],
    outbox_record: dict[str, Any],
) -> None:
    """Put the order and its outbox event in ONE TransactWriteItems: both rows or neither.

    Both puts are conditional on the key not existing, so a replayed request can never overwrite
    an order, and an event can never be re-announced for a different order.
    """
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": orders_table,
                        "Item": to_item(order_record),
                        "ConditionExpression": "attribute_not_exists(orderId)",
                    }
                },
                {
                    "Put": {
                        "TableName": outbox_table,
                        "Item": to_item(outbox_record),
                        "ConditionExpression": "attribute_not_exists(eventId)",
                    }
                },
            ]
        )
    except client.exceptions.TransactionCanceledException as exc:
        reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
        if reasons[:1] == ["ConditionalCheckFailed"]:
            existing = get_order(client, orders_table=orders_table, order_id=order_record["orderId"])
            if existing is not None:
                raise OrderAlreadyExists(existing) from None
        if reasons[1:2] == ["ConditionalCheckFailed"]:
            raise OutboxEventAlreadyExists(outbox_record["eventId"]) from None
        raise


def get_order(client: Any, *, orders_table: str, order_id: str) -> dict[str, Any] | None:
    response = client.get_item(
        TableName=orders_table, Key={"orderId": {"S": order_id}}, ConsistentRead=True
    )
    item = response.get("Item")
    return from_item(item) if item else None


def place_order(
    client: Any,
    *,
    orders_table: str,
    outbox_table: str,
    order_record: dict[str, Any],
    outbox_record: dict[str, Any],
) -> dict[str, Any]:
    """Record the order and its event, and return the stored order.

    The order id is derived from (customer, Idempotency-Key), so a retry that arrives after its
    idempotency record expired, or after a crash between commit and saving that record, finds the
    first order here instead of creating a second one. Same body: the first order is returned.
    Different body: IdempotencyKeyReused.
    """
    try:
        record_order_with_event(
            client,
            orders_table=orders_table,
            outbox_table=outbox_table,
            order_record=order_record,
            outbox_record=outbox_record,
        )
    except OrderAlreadyExists as exists:
        if exists.existing.get("requestHash") != order_record["requestHash"]:
            raise IdempotencyKeyReused() from None
        return exists.existing
    return order_record
