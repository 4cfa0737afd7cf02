"""The catalog's domain: what a product is, and how a price change is applied.

Plain functions over plain values; the DynamoDB table is behind `ProductStore` (store.py).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
MAX_BATCH = 100  # DynamoDB BatchGetItem's limit, and a sane bound for one cart
_SKU = re.compile(SKU_PATTERN)


class ProductIn(BaseModel):
    """What a caller may set on a product."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    price_cents: int = Field(alias="priceCents", ge=0, le=100_000_000)
    currency: str = Field(default="EUR", pattern=CURRENCY_PATTERN)


class Product(BaseModel):
    """A product with its current price. `version` grows by one with every change."""

    model_config = ConfigDict(populate_by_name=True)

    sku: str
    name: str
    price_cents: int = Field(alias="priceCents")
    currency: str
    version: int


class ProductList(BaseModel):
    """The products found, in the order asked; `missing` lists SKUs the catalog does not have."""

    items: list[Product]
    missing: list[str]


def valid_sku(sku: str) -> bool:
    return bool(_SKU.match(sku))


def parse_sku_list(raw: str) -> list[str]:
    """`a,b,c` as distinct SKUs in first-seen order; ValueError names what is wrong."""
    skus = list(dict.fromkeys(s.strip() for s in raw.split(",") if s.strip()))
    if not skus:
        raise ValueError("skus must name at least one SKU")
    if len(skus) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} SKUs per request")
    bad = [s for s in skus if not valid_sku(s)]
    if bad:
        raise ValueError(f"invalid SKU: {bad[0]!r}")
    return skus
