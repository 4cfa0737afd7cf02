"""The whole chain on this machine, every part real: checkout (process, PostgreSQL) -> cart (the
Lambda handler behind a local REST v1 gateway process, Redis with TLS + AUTH) -> catalog (uvicorn
process, moto's DynamoDB)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from checkout_app.cart_client import Client as CartClient
from checkout_app.cart_client.api.carts import create_cart, set_item
from checkout_app.cart_client.models import Cart, CreatedCart, QuantityChange
from services.local_run import servers
from tests.services.shop import cart_env, new_sku, put_product

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cart_gateway(redis_server, moto, redis_secret_arn, catalog, work_dir) -> Iterator[servers.AppProcess]:
    port = servers.free_port()
    process = servers.cart_gateway(port, cart_env(redis_server, moto, redis_secret_arn, catalog.url),
                                   work_dir / "cart.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def checkout(postgres_server, cart_gateway, work_dir) -> Iterator[servers.AppProcess]:
    database = f"checkout_{uuid.uuid4().hex[:8]}"
    postgres_server.create_database(database)
    port = servers.free_port()
    env = {**postgres_server.env(database), "CART_URL": cart_gateway.url, "HOST": "127.0.0.1", "PORT": str(port)}
    process = servers.AppProcess(["-m", "checkout_app.main"], env, port, work_dir / "checkout.log")
    process.start()
    yield process
    process.stop()


def filled_cart(cart_url: str, *lines: tuple[str, int]) -> str:
    with CartClient(base_url=cart_url) as client:
        created = create_cart.sync(client=client)
        assert isinstance(created, CreatedCart), created
        for sku, quantity in lines:
            priced = set_item.sync(client=client, cart_id=created.cart_id, sku=sku,
                                   body=QuantityChange(quantity=quantity))
            assert isinstance(priced, Cart), priced
    return created.cart_id


def test_checkout_places_an_order_from_a_cart_priced_by_the_catalog(catalog, cart_gateway, checkout):
    press, beans = new_sku("press"), new_sku("beans")
    put_product(catalog.url, press, "French press", 2990)
    put_product(catalog.url, beans, "Beans 1kg", 1850)
    cart_id = filled_cart(cart_gateway.url, (press, 1), (beans, 2))

    answer = httpx.post(f"{checkout.url}/orders", json={"cartId": cart_id}, headers={"Idempotency-Key": f"chk-{cart_id}"})
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert (order["totalCents"], order["currency"]) == (2990 + 2 * 1850, "EUR")
    assert {line["sku"]: line["quantity"] for line in order["lines"]} == {press: 1, beans: 2}
    assert httpx.get(f"{checkout.url}/orders/{order['orderId']}").json() == order
    assert httpx.get(f"{cart_gateway.url}/carts/{cart_id}").status_code == 404  # checkout deleted the cart


def test_a_retried_checkout_returns_the_same_order(catalog, cart_gateway, checkout):
    sku = new_sku("filter")
    put_product(catalog.url, sku, "Paper filters", 390)
    cart_id = filled_cart(cart_gateway.url, (sku, 3))
    key = f"retry-{uuid.uuid4().hex}"
    first = httpx.post(f"{checkout.url}/orders", json={"cartId": cart_id}, headers={"Idempotency-Key": key})
    put_product(catalog.url, sku, "Paper filters", 490)  # a price change between the two attempts
    again = httpx.post(f"{checkout.url}/orders", json={"cartId": cart_id}, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and first.json()["totalCents"] == 1170


def test_checkout_answers_unknown_carts_and_missing_keys(checkout):
    unknown = httpx.post(f"{checkout.url}/orders", json={"cartId": "f" * 32}, headers={"Idempotency-Key": "key-unknown-1"})
    assert (unknown.status_code, unknown.json()["reason"]) == (404, "unknown_cart")
    assert httpx.post(f"{checkout.url}/orders", json={"cartId": "f" * 32}).status_code == 422


def test_served_openapi_documents_are_the_committed_ones(catalog, checkout):
    for url, name in ((catalog.url, "catalog.json"), (checkout.url, "checkout.json")):
        assert httpx.get(f"{url}/openapi.json").json() == json.loads((ROOT / "docs" / "openapi" / name).read_text())
