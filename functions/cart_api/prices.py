"""Prices for SKUs: Redis cache-aside in front of the catalog.

- A hit costs one MGET. Misses are fetched from the catalog in one call and written back with
  a TTL, through a compare-and-set on the product's `version`, so a slow fill can never replace
  a newer price written by the change feed.
- The catalog table's stream (MODIFY/REMOVE; CartService's mapping filters INSERTs out, as a new SKU
  can't be cached yet) writes the new price, or deletes the entry: a price change is visible at once,
  and the TTL bounds staleness should an event be lost.
- Redis is an optimisation: on a timeout, connection error or failover the lookup goes to the
  catalog, and Redis is skipped for a short backoff so every request doesn't pay the timeout.
"""

from __future__ import annotations

import json

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from aws_lambda_powertools import Logger
from redis import Redis
from redis.exceptions import AuthenticationError, RedisError

logger = Logger(child=True)

KEY_PREFIX = "catalog:price:v1:"

# SET only when no entry holds the same or a newer version (entries are JSON with "version").
_SET_IF_NEWER = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, decoded = pcall(cjson.decode, current)
  if ok and tonumber(decoded['version']) and tonumber(decoded['version']) >= tonumber(ARGV[2]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


@dataclass(frozen=True)
class Price:
    sku: str
    name: str
    price_cents: int
    currency: str
    version: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Price:
        return cls(**json.loads(text))


@dataclass
class Lookup:
    """Prices found (by SKU), SKUs the catalog does not have, and how the cache did."""

    prices: dict[str, Price]
    missing: list[str]
    hits: int = 0
    misses: int = 0
    cache_degraded: bool = False


@dataclass
class PriceCache:
    """Redis side of the price lookup. Every method survives a Redis outage (it reports a miss)."""

    client: Redis
    ttl_seconds: int
    outage_backoff_seconds: float = 5.0
    on_auth_failure: Callable[[], None] | None = None
    clock: Callable[[], float] = time.monotonic
    _skip_until: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._set_if_newer = self.client.register_script(_SET_IF_NEWER)

    @property
    def available(self) -> bool:
        return self.clock() >= self._skip_until

    def get_many(self, skus: list[str]) -> dict[str, Price] | None:
        """Cached prices by SKU; None when Redis could not be asked."""
        if not skus or not self.available:
            return None if skus else {}
        try:
            values = self.client.mget([KEY_PREFIX + s for s in skus])
        except RedisError as error:
            self._outage(error)
            return None
        found = {}
        for sku, value in zip(skus, values, strict=True):
            if value is not None:
                try:
                    found[sku] = Price.from_json(value)
                except (ValueError, TypeError, KeyError):
                    pass  # an entry from another version of us: treat as a miss, the fill replaces it
        return found

    def put_many(self, prices: Iterable[Price]) -> bool:
        prices = list(prices)
        if not prices or not self.available:
            return False
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for price in prices:
                    self._set_if_newer(keys=[KEY_PREFIX + price.sku],
                                       args=[price.to_json(), price.version, self.ttl_seconds], client=pipe)
                pipe.execute()
        except RedisError as error:
            self._outage(error)
            return False
        return True

    def apply_change(self, sku: str, price: Price | None) -> None:
        """A catalog change: the new price (kept if newer than what's cached), or None for a removed
        product. Raises on a Redis error, so the stream batch is retried."""
        if price is None:
            self.client.delete(KEY_PREFIX + sku)
        else:
            self._set_if_newer(keys=[KEY_PREFIX + sku], args=[price.to_json(), price.version, self.ttl_seconds])

    def _outage(self, error: RedisError) -> None:
        if isinstance(error, AuthenticationError) and self.on_auth_failure is not None:
            self.on_auth_failure()  # the token may have been rotated
        self._skip_until = self.clock() + self.outage_backoff_seconds
        logger.warning("redis unavailable, pricing from the catalog", extra={"error": type(error).__name__})


def look_up_prices(
    skus: list[str],
    cache: PriceCache,
    fetch_from_catalog: Callable[[list[str]], tuple[list[Price], list[str]]],
) -> Lookup:
    """Prices for `skus`: from the cache where it has them, else from the catalog (then cached)."""
    wanted = list(dict.fromkeys(skus))
    cached = cache.get_many(wanted)
    degraded = cached is None
    cached = cached or {}
    misses = [s for s in wanted if s not in cached]
    prices = dict(cached)
    missing: list[str] = []
    if misses:
        fetched, missing = fetch_from_catalog(misses)
        prices.update((p.sku, p) for p in fetched)
        if not degraded:
            cache.put_many(fetched)
    return Lookup(prices, missing, hits=len(cached), misses=len(misses), cache_degraded=degraded or not cache.available)


def price_from_image(image: dict | None) -> Price | None:
    """A catalog item (a stream record's NewImage, already deserialized) as a Price; None if it has none."""
    if not image or "priceCents" not in image:
        return None
    return Price(
        sku=str(image["sku"]),
        name=str(image.get("name", "")),
        price_cents=int(image["priceCents"]),
        currency=str(image.get("currency", "EUR")),
        version=int(image.get("version", 0)),
    )
