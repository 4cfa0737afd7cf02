"""Carts in Redis and how a cart is priced. Plain functions over plain values, plus `CartStore`.

A cart is one hash, `cart:v1:<id>`: a `created` field and one `i:<sku>` field per line holding
the quantity. Every write renews its TTL; an abandoned cart simply expires.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from redis import Redis

from .prices import Lookup

CART_ID = re.compile(r"^[0-9a-f]{32}$")
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_LINES = 50
MAX_QUANTITY = 99
_ITEM = "i:"

# Add to a line's quantity (creating the cart when it does not exist yet), refusing a new line past
# the cap or a quantity past the maximum; renews the TTL. Returns the new quantity, -1 when the cart
# is full, -2 when the line would exceed the maximum quantity.
_ADD_QUANTITY = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('HSET', KEYS[1], 'created', ARGV[5]) end
local field = ARGV[1]
local current = tonumber(redis.call('HGET', KEYS[1], field) or '0')
if current == 0 and redis.call('HLEN', KEYS[1]) - 1 >= tonumber(ARGV[4]) then return -1 end
local quantity = current + tonumber(ARGV[2])
if quantity > tonumber(ARGV[6]) then return -2 end
redis.call('HSET', KEYS[1], field, quantity)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return quantity
"""

# Set a line's quantity (0 removes it), refusing a new line past the cap; renews the TTL.
# Returns 1 when done, 0 for an unknown cart, -1 when the cart is full.
_SET_QUANTITY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local field = ARGV[1]
local quantity = tonumber(ARGV[2])
if quantity == 0 then
  redis.call('HDEL', KEYS[1], field)
else
  if redis.call('HEXISTS', KEYS[1], field) == 0 and redis.call('HLEN', KEYS[1]) - 1 >= tonumber(ARGV[4]) then
    return -1
  end
  redis.call('HSET', KEYS[1], field, quantity)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


class CartFull(Exception):
    pass


class QuantityTooLarge(Exception):
    pass


def valid_cart_id(value: str) -> bool:
    return bool(CART_ID.match(value))


def valid_sku(value: str) -> bool:
    return bool(SKU.match(value))


def valid_quantity(value: Any, *, allow_zero: bool) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and (0 if allow_zero else 1) <= value <= MAX_QUANTITY


@dataclass
class CartStore:
    client: Redis
    ttl_seconds: int

    def __post_init__(self) -> None:
        self._set_quantity = self.client.register_script(_SET_QUANTITY)
        self._add_quantity = self.client.register_script(_ADD_QUANTITY)

    def create(self) -> str:
        cart_id = uuid.uuid4().hex
        key = _key(cart_id)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, "created", int(time.time()))
            pipe.expire(key, self.ttl_seconds)
            pipe.execute()
        return cart_id

    def quantities(self, cart_id: str) -> dict[str, int] | None:
        """The cart's lines (SKU -> quantity), or None for an unknown or expired cart."""
        fields = self.client.hgetall(_key(cart_id))
        if not fields:
            return None
        # str at runtime (connect_redis decodes responses); redis-py's types say bytes | str either way.
        return {name[len(_ITEM):]: int(value) for name, value in fields.items()
                if isinstance(name, str) and name.startswith(_ITEM)}

    def set_quantity(self, cart_id: str, sku: str, quantity: int) -> bool:
        """False for an unknown cart; CartFull past MAX_LINES lines."""
        done = self._set_quantity(keys=[_key(cart_id)], args=[_ITEM + sku, quantity, self.ttl_seconds, MAX_LINES])
        if done == -1:
            raise CartFull
        return done == 1


    def add_quantity(self, cart_id: str, sku: str, quantity: int) -> int:
        """Add to a line (the cart is created if need be); the line's new quantity."""
        result = self._add_quantity(keys=[_key(cart_id)], args=[_ITEM + sku, quantity, self.ttl_seconds, MAX_LINES,
                                                                int(time.time()), MAX_QUANTITY])
        if result == -1:
            raise CartFull
        if result == -2:
            raise QuantityTooLarge
        return int(result)

    def delete(self, cart_id: str) -> bool:
        return bool(self.client.delete(_key(cart_id)))


def _key(cart_id: str) -> str:
    return f"cart:v1:{cart_id}"


def priced_lines(quantities: dict[str, int], lookup: Lookup) -> dict[str, Any]:
    """A cart's (or a quote's) lines priced from `lookup`: lines in SKU order, SKUs the catalog no
    longer has under `unavailable`, and the total (None when lines are in several currencies)."""
    lines = []
    for sku in sorted(quantities):
        price = lookup.prices.get(sku)
        if price is None:
            continue
        quantity = quantities[sku]
        lines.append({
            "sku": sku,
            "name": price.name,
            "quantity": quantity,
            "unitPriceCents": price.price_cents,
            "lineTotalCents": price.price_cents * quantity,
            "currency": price.currency,
            "priceVersion": price.version,
        })
    currencies = {line["currency"] for line in lines}
    single = len(currencies) <= 1
    return {
        "lines": lines,
        "unavailable": sorted(s for s in quantities if s not in lookup.prices),
        "currency": next(iter(currencies)) if len(currencies) == 1 else None,
        "totalCents": sum(line["lineTotalCents"] for line in lines) if single else None,
    }
