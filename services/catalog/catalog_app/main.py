"""The catalog's HTTP API. `uvicorn catalog_app.main:app --port 8080`; the OpenAPI document is
generated from these routes and served at /openapi.json (committed as docs/openapi/catalog.json)."""

from __future__ import annotations

import os
from functools import cache
from typing import Annotated

import boto3
from botocore.config import Config
from fastapi import FastAPI, HTTPException, Path, Query

from .products import MAX_BATCH, SKU_PATTERN, Product, ProductIn, ProductList, parse_sku_list
from .store import ProductStore

app = FastAPI(
    title="catalog",
    version="1.0.0",
    description="Products and their prices. Prices are integer cents in the product's currency.",
    # operationId = the function's name, so generated clients read `get_product`, not `get_product_products__sku__get`
    generate_unique_id_function=lambda route: route.name,
)

SkuPath = Annotated[str, Path(pattern=SKU_PATTERN, description="The product's SKU")]


@cache
def store() -> ProductStore:
    # Short timeouts and standard retries: cart waits on us, so fail fast rather than hang.
    config = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3})
    table = boto3.resource("dynamodb", config=config).Table(os.environ["CATALOG_TABLE"])
    return ProductStore(table)


@app.get("/health", tags=["ops"])
def health() -> dict[str, str]:
    """Liveness for the load balancer and the container HEALTHCHECK (no DynamoDB call)."""
    return {"status": "ok"}


@app.get("/products/{sku}", tags=["products"], responses={404: {"description": "No such product"}})
def get_product(sku: SkuPath) -> Product:
    product = store().get(sku)
    if product is None:
        raise HTTPException(404, "product not found")
    return product


@app.get("/products", tags=["products"], responses={400: {"description": "Bad SKU list"}})
def list_products(
    skus: Annotated[str, Query(description=f"Comma-separated SKUs, at most {MAX_BATCH}")],
) -> ProductList:
    """Several products in one call (the cart prices a whole cart's misses with it)."""
    try:
        wanted = parse_sku_list(skus)
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    found = store().get_many(wanted)
    return ProductList(items=[found[s] for s in wanted if s in found], missing=[s for s in wanted if s not in found])


@app.put("/products/{sku}", tags=["products"])
def put_product(sku: SkuPath, change: ProductIn) -> Product:
    """Create a product or change its name or price. The table's stream carries the change to
    the cart, which refreshes its cached price."""
    return store().put(sku, change)
