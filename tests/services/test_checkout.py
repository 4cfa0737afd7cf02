"""checkout against a real PostgreSQL: migrations under the advisory lock, orders, idempotency,
and one connection path for IAM tokens and passwords."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import psycopg
import pytest

from checkout_app import db
from checkout_app.migrations import Migration, available_migrations, migrate
from checkout_app.orders import CartSnapshot, CheckoutRefused, OrderStore, place_order
from checkout_app.settings import load_settings


def fresh_database(server) -> str:
    name = f"checkout_{uuid.uuid4().hex[:12]}"
    server.create_database(name)
    return name


@pytest.fixture
def settings(postgres_server):
    return load_settings(postgres_server.env(fresh_database(postgres_server)))


@pytest.fixture
def store(settings) -> Iterator[OrderStore]:
    with db.connect(settings) as conn:
        migrate(conn)
    pool = db.open_pool(settings)
    yield OrderStore(pool)
    pool.close()


def cart_of(cart_id: str, *lines: tuple[str, int, int]) -> CartSnapshot:
    priced = [{"sku": sku, "name": sku.title(), "quantity": qty, "unitPriceCents": cents, "priceVersion": 1}
              for sku, qty, cents in lines]
    return CartSnapshot(cart_id, "EUR", sum(line["quantity"] * line["unitPriceCents"] for line in priced), [], priced)


# ---------------------------------------------------------------- migrations


def test_migrations_apply_in_order_once(settings):
    with db.connect(settings) as conn:
        assert migrate(conn) == [m.version for m in available_migrations()] == [1, 2]
        assert migrate(conn) == []
        rows = conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall()
    assert rows == [(1, "orders"), (2, "orders_by_cart")]


def test_racing_instances_migrate_exactly_once(settings):
    # A slow first migration widens the window: without the lock both would run it and one would fail.
    slow = [Migration(1, "slow", "SELECT pg_sleep(0.3); CREATE TABLE raced (id int PRIMARY KEY);"),
            Migration(2, "more", "ALTER TABLE raced ADD COLUMN note text;")]
    start = threading.Barrier(4)

    def instance() -> list[int]:
        with db.connect(settings) as conn:
            start.wait()
            return migrate(conn, slow)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: instance(), range(4)))
    assert sorted(results, key=len) == [[], [], [], [1, 2]]
    with db.connect(settings) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (2,)


def test_a_failed_migration_leaves_nothing_behind(settings):
    broken = [Migration(1, "good", "CREATE TABLE kept (id int);"), Migration(2, "bad", "SELECT * FROM nowhere;")]
    with db.connect(settings) as conn:
        with pytest.raises(psycopg.errors.UndefinedTable):
            migrate(conn, broken)
        assert conn.execute("SELECT to_regclass('kept')").fetchone() == (None,)


# ---------------------------------------------------------------- the connection path


def test_iam_auth_signs_a_fresh_token_for_each_connection(postgres_server):
    env = {**postgres_server.env("checkout"), "DB_IAM_AUTH": "true", "AWS_REGION": "eu-west-1"}
    del env["DB_PASSWORD"], env["DB_SSLMODE"]
    settings = load_settings(env)
    rds = boto3.client("rds", region_name="eu-west-1", aws_access_key_id="AKIDEXAMPLE",
                       aws_secret_access_key="secret")
    kwargs = db.connection_kwargs(db.password_source(settings, rds))
    token = kwargs()["password"]
    assert token.startswith(f"127.0.0.1:{postgres_server.port}/?Action=connect&DBUser=postgres")
    assert "X-Amz-Signature=" in token
    assert settings.db_sslmode == "require"  # IAM auth only works over TLS


def test_password_goes_through_the_same_path(settings):
    assert db.connection_kwargs(db.password_source(settings))() == {"password": "local-postgres-password"}
    with db.connect(settings) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


def test_settings_refuse_neither_iam_nor_password_and_iam_without_tls():
    with pytest.raises(ValueError, match="DB_IAM_AUTH"):
        load_settings({"DB_HOST": "db"})
    with pytest.raises(ValueError, match="DB_SSLMODE"):
        load_settings({"DB_HOST": "db", "DB_IAM_AUTH": "true", "DB_SSLMODE": "disable"})


# ---------------------------------------------------------------- orders


def test_order_is_stored_with_its_lines(store):
    cart_id = uuid.uuid4().hex
    order, replayed = place_order(store, lambda _id: cart_of(cart_id, ("mug", 2, 900), ("tea", 1, 450)),
                                  "key-00000001", {"cartId": cart_id})
    assert not replayed
    assert (order.total_cents, order.currency, [line["sku"] for line in order.lines]) == (2250, "EUR", ["mug", "tea"])
    assert store.get(order.order_id) == order


def test_same_key_same_request_returns_the_first_order(store):
    cart_id = uuid.uuid4().hex
    reads = []

    def read_cart(cid: str) -> CartSnapshot:
        reads.append(cid)
        return cart_of(cid, ("mug", 1, 900))

    first, _ = place_order(store, read_cart, "key-replayed", {"cartId": cart_id})
    again, replayed = place_order(store, read_cart, "key-replayed", {"cartId": cart_id})
    assert replayed and again.order_id == first.order_id and reads == [cart_id]


def test_same_key_other_request_is_refused(store):
    place_order(store, lambda cid: cart_of(cid, ("mug", 1, 900)), "key-reused-1", {"cartId": uuid.uuid4().hex})
    with pytest.raises(CheckoutRefused) as refused:
        place_order(store, lambda cid: cart_of(cid, ("mug", 1, 900)), "key-reused-1", {"cartId": uuid.uuid4().hex})
    assert (refused.value.status, refused.value.reason) == (409, "idempotency_key_reused")


def test_concurrent_retries_place_one_order(store):
    cart_id = uuid.uuid4().hex
    start = threading.Barrier(6)

    def attempt(_: int):
        start.wait()
        return place_order(store, lambda cid: cart_of(cid, ("mug", 1, 900)), "key-concurrent", {"cartId": cart_id})

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(attempt, range(6)))
    assert len({order.order_id for order, _ in results}) == 1
    assert sorted(replayed for _, replayed in results) == [False] + [True] * 5
    with store._pool.connection() as conn:  # noqa: SLF001
        assert conn.execute("SELECT count(*) FROM orders WHERE cart_id = %s", (cart_id,)).fetchone() == (1,)


def test_empty_cart_and_bad_key_are_refused(store):
    cart_id = uuid.uuid4().hex
    with pytest.raises(CheckoutRefused, match="empty"):
        place_order(store, lambda cid: CartSnapshot(cid, None, 0, [], []), "key-empty-1", {"cartId": cart_id})
    with pytest.raises(CheckoutRefused) as refused:
        place_order(store, lambda cid: cart_of(cid, ("mug", 1, 1)), "short", {"cartId": cart_id})
    assert refused.value.reason == "invalid_idempotency_key"


def test_calls_to_cart_are_signed_for_api_gateway_iam():
    import httpx
    from botocore.credentials import Credentials

    from checkout_app.cart import SigV4

    seen = []
    transport = httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(200, json={}))
    auth = SigV4("eu-west-1", Credentials("AKIDEXAMPLE", "secret", "session-token"))
    with httpx.Client(transport=transport, auth=auth) as client:
        client.get("https://abc123.execute-api.eu-west-1.amazonaws.com/v1/carts/" + "a" * 32)
    authorization = seen[0].headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    assert "SignedHeaders=host;x-amz-date;x-amz-security-token" in authorization
    assert seen[0].headers["X-Amz-Security-Token"] == "session-token"


def test_https_cart_url_turns_signing_on():
    base = {"DB_HOST": "db", "DB_PASSWORD": "pw"}
    assert load_settings({**base, "CART_URL": "https://cart.example.com", "AWS_REGION": "eu-west-1"}).cart_sigv4
    assert not load_settings({**base, "CART_URL": "http://127.0.0.1:8081"}).cart_sigv4
    with pytest.raises(ValueError, match="AWS_REGION"):
        load_settings({**base, "CART_URL": "https://cart.example.com"})
