"""checkout's HTTP API (FastAPI; OpenAPI at /openapi.json, committed as docs/openapi/checkout.json)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from . import db
from .cart import SigV4, cart_client, forget_cart, read_cart
from .migrations import migrate
from .orders import IDEMPOTENCY_KEY, CheckoutRefused, OrderStore, place_order
from .settings import load_settings

REPLAYED_HEADER = "Idempotent-Replayed"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = load_settings(os.environ)
    password = db.password_source(settings)
    if settings.migrate_on_start:
        with db.connect(settings, password) as conn:
            migrate(conn)
    pool = db.open_pool(settings, password)
    app.state.orders = OrderStore(pool)
    auth = SigV4(settings.region) if settings.cart_sigv4 else None
    app.state.cart = cart_client(settings.cart_url, settings.cart_timeout, auth)
    try:
        yield
    finally:
        pool.close()


app = FastAPI(title="checkout", version="1.0.0", lifespan=lifespan,
              description="Places orders from carts, once per Idempotency-Key.",
              generate_unique_id_function=lambda route: route.name)


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    cart_id: str = Field(alias="cartId", pattern=r"^[0-9a-f]{32}$")


class OrderLine(BaseModel):
    sku: str
    name: str
    quantity: int
    unitPriceCents: int  # noqa: N815 (JSON names)
    priceVersion: int  # noqa: N815


class Order(BaseModel):
    orderId: str  # noqa: N815
    cartId: str  # noqa: N815
    status: str
    currency: str
    totalCents: int  # noqa: N815
    createdAt: str  # noqa: N815
    lines: list[OrderLine]


class Problem(BaseModel):
    message: str
    reason: str


@app.exception_handler(CheckoutRefused)
async def refused(_request: Request, error: CheckoutRefused) -> JSONResponse:
    headers = {"Retry-After": "1"} if error.status == 503 else None
    return JSONResponse({"message": error.message, "reason": error.reason}, status_code=error.status, headers=headers)


@app.get("/health", tags=["ops"])
def health(request: Request) -> dict[str, str]:
    """Ready when PostgreSQL answers (the ALB's and systemd's health check)."""
    try:
        with request.app.state.orders._pool.connection(timeout=2) as conn:  # noqa: SLF001
            conn.execute("SELECT 1")
    except Exception:  # noqa: BLE001 (any failure means not ready)
        raise HTTPException(503, "database unavailable") from None
    return {"status": "ok"}


@app.post("/orders", status_code=201, tags=["orders"],
          responses={200: {"model": Order, "description": "Replayed: the order this Idempotency-Key already placed"},
                     409: {"model": Problem}, 404: {"model": Problem}, 503: {"model": Problem}})
def create_order(
    request: Request,
    body: CheckoutRequest,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY.pattern)],
) -> JSONResponse:
    """Place the order for a cart. Retrying with the same Idempotency-Key returns the same order."""
    client = request.app.state.cart
    order, replayed = place_order(request.app.state.orders, lambda cart_id: read_cart(client, cart_id),
                                  idempotency_key, body.model_dump(by_alias=True))
    if replayed:
        return JSONResponse(order.public(), status_code=200, headers={REPLAYED_HEADER: "true"})
    forget_cart(client, order.cart_id)
    return JSONResponse(order.public(), status_code=201)


@app.get("/orders/{order_id}", tags=["orders"], responses={404: {"model": Problem}})
def get_order(request: Request, order_id: Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]) -> Order:
    order = request.app.state.orders.get(order_id)
    if order is None:
        raise HTTPException(404, "order not found")
    return Order(**order.public())
