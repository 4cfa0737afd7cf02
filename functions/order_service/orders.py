"""Order validation and the records an order produces. Plain values in, plain values out.

Request contract for ``POST /orders`` (body is a JSON object of at most MAX_BODY_BYTES, read by
api_common.http, nothing else accepted)::

    {"items": [{"sku": "BOOK-1", "quantity": 2, "unitPrice": 1250}],
     "currency": "EUR",
     "amount": 2500}

- ``items``: 1..MAX_ITEMS lines; ``sku`` matches SKU_PATTERN and appears once per order;
  ``quantity`` is an integer 1..MAX_QUANTITY; ``unitPrice`` an integer 0..MAX_UNIT_PRICE in
  the currency's minor units.
- ``currency``: upper-case ISO 4217 code from CURRENCIES.
- ``amount``: positive integer in minor units, at most MAX_AMOUNT, and it MUST equal
  sum(quantity * unitPrice). The order and its event then carry a total that agrees with its
  lines, so no consumer ever has to choose between the two. Prices are the client's quote;
  pricing authority (a catalog) is out of scope for this service.
- Any other field (``customerId`` included) is rejected: the customer is the caller's Cognito
  ``sub`` and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any, TypeGuard

from api_common.http import ApiError

MAX_ITEMS = 50
MAX_QUANTITY = 100
MAX_UNIT_PRICE = 100_000_000
MAX_AMOUNT = 10_000_000_000
MAX_BODY_BYTES = 32 * 1024  # MAX_ITEMS lines, even pretty-printed, stay far below this
SKU_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
CORRELATION_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")
CURRENCIES = frozenset(
    {"AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "JPY", "NOK", "NZD", "PLN", "SEK", "USD"}
)
ORDER_FIELDS = frozenset({"items", "currency", "amount"})
ITEM_FIELDS = frozenset({"sku", "quantity", "unitPrice"})

EVENT_TYPE = "OrderCreated"
_EVENT_DATA_FIELDS = ("orderId", "customerId", "items", "currency", "amount", "createdAt")
# Fixed namespaces: ids derived from them must never change between deployments.
_ORDER_NAMESPACE = uuid.UUID("0f6f2d36-5f0e-4a43-9d55-3c1f3b1f6a01")
_EVENT_NAMESPACE = uuid.UUID("6a1c9f0e-2b7d-4c8e-8f3a-9e5d4b2c7a10")


class OrderRejected(ApiError):
    """The request can never succeed as sent (400); the message is safe to show the client."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: int


@dataclass(frozen=True)
class OrderRequest:
    items: tuple[OrderLine, ...]
    currency: str
    amount: int

    def canonical(self) -> dict[str, Any]:
        """The JSON-ready form that identifies "the same order" for idempotency."""
        return {
            "items": [
                {"sku": line.sku, "quantity": line.quantity, "unitPrice": line.unit_price}
                for line in self.items
            ],
            "currency": self.currency,
            "amount": self.amount,
        }


def _is_int(value: Any) -> TypeGuard[int]:
    # bool is an int subclass in Python; JSON true must not pass as 1.
    return isinstance(value, int) and not isinstance(value, bool)


def validate_order(body: Any) -> OrderRequest:
    """The order in a request body's JSON value, or OrderRejected with the reason."""
    if not isinstance(body, dict):
        raise OrderRejected("body must be a JSON object")
    unknown = sorted(set(body) - ORDER_FIELDS)
    if unknown:
        raise OrderRejected(f"unknown field: {unknown[0]}")

    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise OrderRejected("items must be a non-empty list")
    if len(items) > MAX_ITEMS:
        raise OrderRejected(f"items must have at most {MAX_ITEMS} lines")
    lines = tuple(_validate_line(index, item) for index, item in enumerate(items))
    skus = [line.sku for line in lines]
    if len(set(skus)) != len(skus):
        raise OrderRejected("each sku may appear only once per order")

    currency = body.get("currency")
    if not isinstance(currency, str) or currency not in CURRENCIES:
        raise OrderRejected(f"currency must be one of {', '.join(sorted(CURRENCIES))}")

    amount = body.get("amount")
    if not _is_int(amount) or not 0 < amount <= MAX_AMOUNT:
        raise OrderRejected(f"amount must be an integer in minor units between 1 and {MAX_AMOUNT}")
    total = sum(line.quantity * line.unit_price for line in lines)
    if amount != total:
        raise OrderRejected(f"amount {amount} does not equal the sum of the line items ({total})")
    return OrderRequest(items=lines, currency=currency, amount=amount)


def _validate_line(index: int, item: Any) -> OrderLine:
    where = f"items[{index}]"
    if not isinstance(item, dict):
        raise OrderRejected(f"{where} must be an object")
    unknown = sorted(set(item) - ITEM_FIELDS)
    if unknown:
        raise OrderRejected(f"{where} has unknown field: {unknown[0]}")
    sku = item.get("sku")
    if not isinstance(sku, str) or not SKU_PATTERN.fullmatch(sku):
        raise OrderRejected(f"{where}.sku must be 1-64 letters, digits, '.', '_' or '-'")
    quantity = item.get("quantity")
    if not _is_int(quantity) or not 1 <= quantity <= MAX_QUANTITY:
        raise OrderRejected(f"{where}.quantity must be an integer between 1 and {MAX_QUANTITY}")
    unit_price = item.get("unitPrice")
    if not _is_int(unit_price) or not 0 <= unit_price <= MAX_UNIT_PRICE:
        raise OrderRejected(
            f"{where}.unitPrice must be an integer in minor units between 0 and {MAX_UNIT_PRICE}"
        )
    return OrderLine(sku=sku, quantity=quantity, unit_price=unit_price)


def choose_correlation_id(header_value: str | None, request_id: str) -> str:
    """A caller's X-Correlation-Id if well formed, else API Gateway's request id.

    A malformed tracing header is not a reason to refuse an order, so it is replaced, not rejected.
    """
    if header_value and CORRELATION_ID_PATTERN.fullmatch(header_value):
        return header_value
    return request_id


def order_id_for(customer_id: str, idempotency_key: str) -> str:
    """Deterministic: a retry that outlives its idempotency record still hits the same order row."""
    return str(uuid.uuid5(_ORDER_NAMESPACE, f"{customer_id}\n{idempotency_key}"))


def event_id_for(order_id: str) -> str:
    """The outbox id, which is also the published event's id: one OrderCreated per order."""
    return str(uuid.uuid5(_EVENT_NAMESPACE, f"{order_id}\n{EVENT_TYPE}"))


def request_hash(order: OrderRequest) -> str:
    canonical = json.dumps(order.canonical(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_order_record(
    *,
    order_id: str,
    customer_id: str,
    order: OrderRequest,
    created_at: str,
    correlation_id: str,
) -> dict[str, Any]:
    """The Orders table item, as plain Python values."""
    return {
        "orderId": order_id,
        "customerId": customer_id,
        "status": "CREATED",
        **order.canonical(),
        "createdAt": created_at,
        "correlationId": correlation_id,
        "requestHash": request_hash(order),
    }


def build_outbox_record(
    order_record: dict[str, Any], *, event_id: str, expires_at: int
) -> dict[str, Any]:
    """The Outbox table item. The relay needs nothing else to publish it.

    ``payload`` is stored as a JSON string so the relay forwards it without knowing its schema.
    """
    payload = {key: order_record[key] for key in _EVENT_DATA_FIELDS}
    return {
        "eventId": event_id,
        "eventType": EVENT_TYPE,
        "aggregateId": order_record["orderId"],
        "correlationId": order_record["correlationId"],
        "occurredAt": order_record["createdAt"],
        "payload": json.dumps(payload, separators=(",", ":")),
        "expiresAt": expires_at,
    }


def order_response(order_record: dict[str, Any]) -> dict[str, Any]:
    """What the client gets back; derived only from the stored order, so a replay is identical."""
    return {
        "orderId": order_record["orderId"],
        "status": order_record["status"],
        "items": order_record["items"],
        "currency": order_record["currency"],
        "amount": order_record["amount"],
        "createdAt": order_record["createdAt"],
        "correlationId": order_record["correlationId"],
    }
