"""cart_api's handler in-process against a real Redis (TLS + AUTH token from moto's Secrets
Manager) and the real catalog process on moto's DynamoDB."""

from __future__ import annotations

import importlib
import json
import sys
import time
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
import redis

from services.local_run import servers
from services.local_run.rest_gateway import LambdaContext, proxy_event
from tests.services.shop import (  # noqa: F401 (fixtures)
    cart_env,
    catalog,
    moto,
    new_sku,
    put_product,
    redis_secret_arn,
    redis_server,
    scoped_env,
    stream_position,
    stream_records_since,
    work_dir,
)

PRICE_KEY = "catalog:price:v1:"


def load_handler(env: dict[str, str]) -> Iterator[ModuleType]:
    """A fresh import of cart_api.handler under `env`, as a new execution environment would do."""
    with_env = scoped_env(env)
    next(with_env)
    sys.modules.pop("cart_api.handler", None)
    try:
        yield importlib.import_module("cart_api.handler")
    finally:
        module = sys.modules.pop("cart_api.handler", None)
        if module is not None:
            module.redis_client.close()
        next(with_env, None)


@pytest.fixture(scope="module")
def cart(redis_server, moto, redis_secret_arn, catalog) -> Iterator[ModuleType]:
    yield from load_handler(cart_env(redis_server, moto, redis_secret_arn, catalog.url))


@pytest.fixture(scope="module")
def plain_redis(redis_server) -> Iterator[redis.Redis]:
    client = redis.Redis(host="127.0.0.1", port=redis_server.port, password=redis_server.password, ssl=True,
                         ssl_ca_certs=str(redis_server.tls.ca), decode_responses=True)
    yield client
    client.close()


def call(module: ModuleType, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    raw = json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    answer = module.handler(proxy_event(method, path, headers, raw), LambdaContext())
    payload = answer.get("body")
    headers = dict(answer.get("headers") or {})
    headers.update({name: ", ".join(values) for name, values in (answer.get("multiValueHeaders") or {}).items()})
    return answer["statusCode"], headers, json.loads(payload) if payload else None


def quote(module: ModuleType, *items: tuple[str, int]) -> tuple[int, dict[str, str], Any]:
    return call(module, "POST", "/quotes", {"items": [{"sku": s, "quantity": q} for s, q in items]})


# ---------------------------------------------------------------- cache-aside


def test_first_lookup_misses_and_fills_the_cache_with_a_ttl(cart, catalog, plain_redis):
    sku = new_sku()
    put_product(catalog.url, sku, "Kettle", 3450)
    status, headers, body = quote(cart, (sku, 2))
    assert status == 200
    assert headers["X-Price-Cache"] == "hits=0; misses=1; degraded=false"
    assert body["totalCents"] == 6900 and body["lines"][0]["name"] == "Kettle"
    assert 0 < plain_redis.ttl(PRICE_KEY + sku) <= cart.settings.price_ttl_seconds


def test_second_lookup_is_served_from_the_cache(cart, catalog):
    sku = new_sku()
    put_product(catalog.url, sku, "Teapot", 2000)
    quote(cart, (sku, 1))
    status, headers, body = quote(cart, (sku, 3))
    assert (status, headers["X-Price-Cache"], body["totalCents"]) == (200, "hits=1; misses=0; degraded=false", 6000)


def test_an_expired_entry_is_fetched_again(cart, catalog, plain_redis):
    from cart_api.prices import PriceCache

    sku = new_sku()
    put_product(catalog.url, sku, "Filter", 500)
    short = PriceCache(cart.redis_client, ttl_seconds=1)
    found = cart.look_up_prices([sku], short, lambda misses: cart.fetch_prices(cart.catalog(), misses))
    assert found.misses == 1 and plain_redis.ttl(PRICE_KEY + sku) == 1
    time.sleep(1.1)
    assert plain_redis.get(PRICE_KEY + sku) is None
    again = cart.look_up_prices([sku], short, lambda misses: cart.fetch_prices(cart.catalog(), misses))
    assert (again.hits, again.misses, again.prices[sku].price_cents) == (0, 1, 500)


def test_price_change_on_the_catalog_stream_replaces_the_cached_price(cart, catalog, moto):
    sku = new_sku()
    put_product(catalog.url, sku, "Mug", 900)
    quote(cart, (sku, 1))  # cached at 9.00
    position = stream_position(moto)
    put_product(catalog.url, sku, "Mug", 750)
    records = stream_records_since(moto, position)
    assert [r["eventName"] for r in records] == ["MODIFY"]
    outcome = cart.handler({"Records": records}, LambdaContext())
    assert outcome == {"batchItemFailures": []}
    status, headers, body = quote(cart, (sku, 2))
    assert (status, body["totalCents"], body["lines"][0]["priceVersion"]) == (200, 1500, 2)
    assert headers["X-Price-Cache"].startswith("hits=1")  # the new price, without a catalog call


def test_a_new_product_has_no_cached_price_so_the_mapping_filters_inserts_out(cart, catalog, moto, plain_redis):
    from serverless_blueprints.cart_service import STREAM_EVENT_NAMES

    sku = new_sku()
    position = stream_position(moto)
    put_product(catalog.url, sku, "Jug", 1500)
    records = [r for r in stream_records_since(moto, position) if r["dynamodb"]["Keys"]["sku"]["S"] == sku]
    assert records and {r["eventName"] for r in records} == {"INSERT"}  # moto may record an upsert's creation twice
    assert plain_redis.get(PRICE_KEY + sku) is None  # misses aren't cached: the first lookup fills it
    assert set(STREAM_EVENT_NAMES) == {"MODIFY", "REMOVE"}


def test_a_failing_stream_record_is_reported_alone_for_the_mapping_to_retry(cart, catalog, plain_redis):
    sku = new_sku()
    put_product(catalog.url, sku, "Tray", 2000)
    quote(cart, (sku, 1))

    def removal(sequence: str, keys: dict[str, Any]) -> dict[str, Any]:
        return {"eventID": sequence, "eventName": "REMOVE", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
                "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/catalog/stream/x",
                "dynamodb": {"Keys": keys, "SequenceNumber": sequence, "SizeBytes": 10,
                             "StreamViewType": "NEW_AND_OLD_IMAGES"}}

    batch = {"Records": [removal("100", {"id": {"S": "not-a-catalog-key"}}), removal("101", {"sku": {"S": sku}})]}
    assert cart.handler(batch, LambdaContext()) == {"batchItemFailures": [{"itemIdentifier": "100"}]}
    assert plain_redis.get(PRICE_KEY + sku) is None  # the good record was applied


def test_a_late_fill_never_replaces_a_newer_price(cart, plain_redis):
    from cart_api.prices import Price

    sku = new_sku()
    cart.price_cache.apply_change(sku, Price(sku, "Spoon", 300, "EUR", version=5))
    cart.price_cache.put_many([Price(sku, "Spoon", 350, "EUR", version=4)])  # a slow reader's stale fill
    assert json.loads(plain_redis.get(PRICE_KEY + sku))["price_cents"] == 300


def test_removed_product_is_dropped_from_the_cache(cart, catalog, plain_redis):
    sku = new_sku()
    put_product(catalog.url, sku, "Sieve", 1100)
    quote(cart, (sku, 1))
    removal = {"eventID": "1", "eventName": "REMOVE", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
               "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/catalog/stream/x",
               "dynamodb": {"Keys": {"sku": {"S": sku}}, "SequenceNumber": "1", "SizeBytes": 10,
                            "StreamViewType": "NEW_AND_OLD_IMAGES"}}
    assert cart.handler({"Records": [removal]}, LambdaContext()) == {"batchItemFailures": []}
    assert plain_redis.get(PRICE_KEY + sku) is None


# ---------------------------------------------------------------- carts


def test_cart_lifecycle_prices_lines_from_the_catalog(cart, catalog):
    kettle, cup = new_sku(), new_sku()
    put_product(catalog.url, kettle, "Kettle", 3000)
    put_product(catalog.url, cup, "Cup", 450)
    status, _, created = call(cart, "POST", "/carts")
    assert status == 201
    cart_id = created["cartId"]
    call(cart, "PUT", f"/carts/{cart_id}/items/{kettle}", {"quantity": 1})
    status, _, body = call(cart, "PUT", f"/carts/{cart_id}/items/{cup}", {"quantity": 4})
    assert status == 200 and body["totalCents"] == 3000 + 4 * 450 and body["currency"] == "EUR"
    status, _, body = call(cart, "DELETE", f"/carts/{cart_id}/items/{kettle}")
    assert [line["sku"] for line in body["lines"]] == [cup]
    status, _, body = call(cart, "GET", f"/carts/{cart_id}")
    assert (status, body["cartId"], body["totalCents"]) == (200, cart_id, 1800)


def test_adding_items_creates_the_cart_and_sums_quantities(cart, catalog):
    sku = new_sku()
    put_product(catalog.url, sku, "Bowl", 1200)
    cart_id = uuid.uuid4().hex  # chosen by the caller
    call(cart, "POST", f"/carts/{cart_id}/items", {"sku": sku, "quantity": 2})
    status, _, body = call(cart, "POST", f"/carts/{cart_id}/items", {"sku": sku, "quantity": 3})
    assert (status, body["lines"][0]["quantity"], body["totalCents"]) == (200, 5, 6000)
    status, _, body = call(cart, "POST", f"/carts/{cart_id}/items", {"sku": sku, "quantity": 99})
    assert (status, body["reason"]) == (409, "quantity_too_large")
    assert call(cart, "DELETE", f"/carts/{cart_id}")[0] == 204
    assert call(cart, "GET", f"/carts/{cart_id}")[0] == 404


def test_unknown_cart_product_and_bad_quantity_are_refused(cart, catalog):
    sku = new_sku()
    put_product(catalog.url, sku, "Tray", 700)
    _, _, created = call(cart, "POST", "/carts")
    cart_id = created["cartId"]
    assert call(cart, "GET", f"/carts/{'0' * 32}")[0] == 404
    assert call(cart, "PUT", f"/carts/{cart_id}/items/{new_sku('ghost')}", {"quantity": 1})[2]["reason"] == "unknown_product"
    assert call(cart, "PUT", f"/carts/{cart_id}/items/{sku}", {"quantity": 100})[0] == 400
    status, _, body = call(cart, "PUT", f"/carts/{cart_id}/items/{sku}", {"quantity": "many"})
    assert (status, body["reason"]) == (422, "invalid_request")
    assert call(cart, "GET", "/carts/not-a-cart-id")[0] == 422


# ---------------------------------------------------------------- Redis trouble: outage, timeout, failover


@pytest.fixture
def own_redis(work_dir, redis_server, moto) -> Iterator[servers.RedisServer]:
    """A Redis of the test's own, to stop and pause (same TLS files and password as the shared one)."""
    directory = servers.temp_dir("own-redis-")
    server = servers.RedisServer(directory, password=redis_server.password, tls=redis_server.tls).start()
    yield server
    server.stop()


@pytest.fixture
def cart_on_own_redis(own_redis, moto, redis_secret_arn, catalog) -> Iterator[ModuleType]:
    yield from load_handler(cart_env(own_redis, moto, redis_secret_arn, catalog.url))


def test_redis_down_still_prices_from_the_catalog_quickly(cart_on_own_redis, own_redis, catalog):
    sku = new_sku()
    put_product(catalog.url, sku, "Scale", 2500)
    assert quote(cart_on_own_redis, (sku, 1))[1]["X-Price-Cache"].endswith("degraded=false")
    own_redis.stop()
    started = time.monotonic()
    status, headers, body = quote(cart_on_own_redis, (sku, 2))
    assert (status, body["totalCents"]) == (200, 5000)
    assert headers["X-Price-Cache"] == "hits=0; misses=1; degraded=true"
    assert time.monotonic() - started < 3
    # within the backoff Redis isn't even tried
    assert not cart_on_own_redis.price_cache.available
    assert quote(cart_on_own_redis, (sku, 1))[0] == 200
    # the cart itself lives in Redis: it is unavailable, and says so
    status, headers, body = call(cart_on_own_redis, "POST", "/carts")
    assert (status, body["reason"], headers.get("Retry-After")) == (503, "cart_storage_unavailable", "1")


def test_redis_timeout_falls_back_to_the_catalog(cart_on_own_redis, own_redis, catalog):
    sku = new_sku()
    put_product(catalog.url, sku, "Jug", 1300)
    quote(cart_on_own_redis, (sku, 1))
    admin = redis.Redis(host="127.0.0.1", port=own_redis.port, password=own_redis.password, ssl=True,
                        ssl_ca_certs=str(own_redis.tls.ca))
    admin.execute_command("CLIENT", "PAUSE", "3000", "ALL")  # every command now hangs for 3 s
    try:
        started = time.monotonic()
        status, headers, body = quote(cart_on_own_redis, (sku, 1))
        elapsed = time.monotonic() - started
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.close()
    assert (status, body["totalCents"], headers["X-Price-Cache"].endswith("degraded=true")) == (200, 1300, True)
    assert elapsed < 2.5  # read timeout 0.5 s, one retry: not the 3 s pause


def test_reconnects_after_a_failover(cart_on_own_redis, own_redis, catalog):
    sku = new_sku()
    put_product(catalog.url, sku, "Whisk", 400)
    quote(cart_on_own_redis, (sku, 1))
    # A failover: the node goes away and a new, empty primary answers at the same address.
    port = own_redis.port
    own_redis.stop()
    own_redis.port = port
    own_redis.start()
    status, headers, body = quote(cart_on_own_redis, (sku, 1))  # the pooled connection is dead: retried on a new one
    assert (status, body["totalCents"]) == (200, 400)
    assert headers["X-Price-Cache"] == "hits=0; misses=1; degraded=false"
    assert quote(cart_on_own_redis, (sku, 1))[1]["X-Price-Cache"] == "hits=1; misses=0; degraded=false"


def test_cold_start_connects_on_first_use(cart_on_own_redis, catalog):
    pool = cart_on_own_redis.redis_client.connection_pool
    assert pool._created_connections == 0  # noqa: SLF001 (import did not connect)
    sku = new_sku()
    put_product(catalog.url, sku, "Tin", 150)
    assert quote(cart_on_own_redis, (sku, 1))[0] == 200
    assert pool._created_connections >= 1  # noqa: SLF001


def test_rotated_auth_token_is_picked_up_from_secrets_manager(cart_on_own_redis, own_redis, moto, redis_secret_arn, catalog):
    sku = new_sku()
    put_product(catalog.url, sku, "Cloth", 250)
    rotated = "rotated-token-abcdefghijklmnopqrstuvwxyz"
    admin = redis.Redis(host="127.0.0.1", port=own_redis.port, password=own_redis.password, ssl=True,
                        ssl_ca_certs=str(own_redis.tls.ca))
    secrets = moto.client("secretsmanager")
    original = secrets.get_secret_value(SecretId=redis_secret_arn)["SecretString"]
    try:
        secrets.put_secret_value(SecretId=redis_secret_arn, SecretString=rotated)
        admin.config_set("requirepass", rotated)
        admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")  # drop the cart's connections
        # the cached (old) token fails AUTH once: that request is priced from the catalog...
        assert quote(cart_on_own_redis, (sku, 1))[0] == 200
        time.sleep(0.6)  # the outage backoff in tests
        # ...and the next connection reads the rotated token
        assert quote(cart_on_own_redis, (sku, 1))[1]["X-Price-Cache"].endswith("degraded=false")
    finally:
        secrets.put_secret_value(SecretId=redis_secret_arn, SecretString=original)
        admin.close()


def test_catalog_down_is_a_503_with_retry_after(redis_server, moto, redis_secret_arn):
    dead = f"http://127.0.0.1:{servers.free_port()}"
    for module in load_handler(cart_env(redis_server, moto, redis_secret_arn, dead)):
        status, headers, body = quote(module, (new_sku(), 1))
        assert (status, body["reason"], headers.get("Retry-After")) == (503, "catalog_unavailable", "1")


# ---------------------------------------------------------------- packaging


@pytest.mark.network
def test_requirements_list_the_whole_closure_for_arm64():
    from serverless_blueprints.lambda_packaging import check_function_closure

    closure = check_function_closure("cart_api", "arm64")
    assert {"redis", "httpx", "attrs", "pydantic"} <= set(closure.distributions)
