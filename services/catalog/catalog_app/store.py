"""Products in DynamoDB: one item per SKU (`sku` is the partition key)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from .products import Product, ProductIn


class ProductStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, sku: str) -> Product | None:
        item = self._table.get_item(Key={"sku": sku}, ConsistentRead=False).get("Item")
        return _product(item) if item else None

    def get_many(self, skus: list[str]) -> dict[str, Product]:
        """The products of `skus` that exist (at most 100 SKUs), by SKU."""
        found: dict[str, Product] = {}
        request: dict[str, Any] = {self._table.name: {"Keys": [{"sku": s} for s in skus]}}
        # BatchGetItem may hand back part of the keys as unprocessed under throttling.
        for _attempt in range(5):
            # the resource's client: plain values in and out, like the Table's own calls
            answer = self._table.meta.client.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(self._table.name, []):
                found[item["sku"]] = _product(item)
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise RuntimeError("DynamoDB left keys unprocessed after 5 attempts")

    def put(self, sku: str, change: ProductIn) -> Product:
        """Create or replace `sku`'s name and price; the version goes up by one."""
        answer = self._table.update_item(
            Key={"sku": sku},
            UpdateExpression="SET #n = :n, priceCents = :p, currency = :c ADD version :one",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues={":n": change.name, ":p": change.price_cents, ":c": change.currency, ":one": 1},
            ReturnValues="ALL_NEW",
        )
        return _product(answer["Attributes"])

    def ready(self) -> bool:
        try:
            self._table.meta.client.describe_table(TableName=self._table.name)
        except ClientError:
            return False
        return True


def _product(item: dict[str, Any]) -> Product:
    return Product(
        sku=item["sku"],
        name=item["name"],
        priceCents=int(item["priceCents"]),
        currency=item["currency"],
        version=int(item["version"]),
    )
