"""Placing an order from a cart, at most once per Idempotency-Key, and reading orders back.

`place_order` is the domain: it takes the cart reader and the store as plain callables/objects
so tests can drive it against a real PostgreSQL without HTTP.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:+/=-]{8,128}$")


class CheckoutRefused(Exception):
    """The request can't become an order; `status` and `reason` say how to answer."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


@dataclass(frozen=True)
class CartSnapshot:
    """The cart as the cart service priced it at checkout time."""

    cart_id: str
    currency: str | None
    total_cents: int | None
    unavailable: list[str]
    lines: list[dict[str, Any]]  # sku, name, quantity, unitPriceCents, priceVersion


@dataclass
class Order:
    order_id: str
    cart_id: str
    status: str
    currency: str
    total_cents: int
    created_at: str
    lines: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {"orderId": self.order_id, "cartId": self.cart_id, "status": self.status, "currency": self.currency,
                "totalCents": self.total_cents, "createdAt": self.created_at, "lines": self.lines}


def request_fingerprint(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def check_orderable(cart: CartSnapshot) -> None:
    if not cart.lines:
        raise CheckoutRefused(409, "cart_empty", "the cart is empty")
    if cart.unavailable:
        raise CheckoutRefused(409, "items_unavailable", f"no longer sold: {', '.join(cart.unavailable)}")
    if cart.currency is None or cart.total_cents is None:
        raise CheckoutRefused(409, "mixed_currencies", "the cart mixes currencies")


class OrderStore:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def by_key(self, key: str) -> tuple[Order, str] | None:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT order_id, request_fingerprint FROM orders WHERE idempotency_key = %s",
                               (key,)).fetchone()
        if row is None:
            return None
        order = self.get(str(row[0]))
        assert order is not None
        return order, row[1]

    def insert_once(self, key: str, fingerprint: str, cart: CartSnapshot) -> str | None:
        """The new order's id, or None when an order with `key` already exists (a concurrent twin)."""
        order_id = str(uuid.uuid4())
        with self._pool.connection() as conn, conn.transaction():
            inserted = conn.execute(
                "INSERT INTO orders (order_id, idempotency_key, request_fingerprint, cart_id, currency, total_cents)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (idempotency_key) DO NOTHING RETURNING order_id",
                (order_id, key, fingerprint, cart.cart_id, cart.currency, cart.total_cents),
            ).fetchone()
            if inserted is None:
                return None
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO order_lines (order_id, sku, name, quantity, unit_price_cents, price_version)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    [(order_id, line["sku"], line["name"], line["quantity"], line["unitPriceCents"],
                      line["priceVersion"]) for line in cart.lines],
                )
        return order_id

    def get(self, order_id: str) -> Order | None:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            head = cursor.execute("SELECT * FROM orders WHERE order_id = %s", (order_id,)).fetchone()
            if head is None:
                return None
            lines = cursor.execute(
                "SELECT sku, name, quantity, unit_price_cents, price_version FROM order_lines"
                " WHERE order_id = %s ORDER BY sku", (order_id,)).fetchall()
        return Order(
            order_id=str(head["order_id"]), cart_id=head["cart_id"], status=head["status"],
            currency=head["currency"], total_cents=head["total_cents"], created_at=head["created_at"].isoformat(),
            lines=[{"sku": r["sku"], "name": r["name"], "quantity": r["quantity"],
                    "unitPriceCents": r["unit_price_cents"], "priceVersion": r["price_version"]} for r in lines],
        )


def place_order(
    store: OrderStore, read_cart: Callable[[str], CartSnapshot], key: str, request: dict[str, Any]
) -> tuple[Order, bool]:
    """The order for `request` under Idempotency-Key `key`, and whether it already existed.

    A key replayed with the same request returns the first order; with another request, 409.
    """
    if not IDEMPOTENCY_KEY.match(key):
        raise CheckoutRefused(400, "invalid_idempotency_key", "Idempotency-Key must be 8-128 of A-Z a-z 0-9 . _ : + / = -")
    fingerprint = request_fingerprint(request)
    earlier = _earlier(store, key, fingerprint)
    if earlier is not None:
        return earlier, True
    cart = read_cart(request["cartId"])
    check_orderable(cart)
    order_id = store.insert_once(key, fingerprint, cart)
    if order_id is None:  # a concurrent request with the same key got there first
        earlier = _earlier(store, key, fingerprint)
        assert earlier is not None
        return earlier, True
    order = store.get(order_id)
    assert order is not None
    return order, False


def _earlier(store: OrderStore, key: str, fingerprint: str) -> Order | None:
    found = store.by_key(key)
    if found is None:
        return None
    order, earlier_fingerprint = found
    if earlier_fingerprint != fingerprint:
        raise CheckoutRefused(409, "idempotency_key_reused",
                              "Idempotency-Key was already used with a different request body")
    return order
