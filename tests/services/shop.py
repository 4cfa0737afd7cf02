"""Fixtures for the shop's real processes: moto (DynamoDB, Secrets Manager), Redis with TLS and
AUTH, PostgreSQL, the catalog under uvicorn. Session-scoped: each starts once per test run.

Imported by tests/services/conftest.py and tests/functions/test_cart_api.py.
"""

from __future__ import annotations

import datetime
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest

from services.local_run import servers

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT / "services" / "catalog", ROOT / "services" / "checkout"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

REGION = "eu-west-1"
CATALOG_TABLE = "catalog-products"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}


@dataclass
class Moto:
    url: str
    stream_arn: str

    def env(self) -> dict[str, str]:
        return {**AWS_ENV, "AWS_ENDPOINT_URL": self.url}

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing", aws_session_token="testing")


@pytest.fixture(scope="session")
def work_dir() -> Iterator[Path]:
    directory = servers.temp_dir("shop-tests-")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server(work_dir: Path) -> Iterator[servers.RedisServer]:
    server = servers.RedisServer(work_dir / "redis")
    server.directory.mkdir()
    try:
        server.start()
    except servers.ServerUnavailable as why:
        pytest.skip(str(why))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server(work_dir: Path) -> Iterator[servers.PostgresServer]:
    server = servers.PostgresServer(work_dir / "postgres")
    try:
        server.start()
    except servers.ServerUnavailable as why:
        pytest.skip(str(why))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto() -> Iterator[Moto]:
    from moto.server import ThreadedMotoServer

    port = servers.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    handle = Moto(url, "")
    dynamodb = handle.client("dynamodb")
    try:
        dynamodb.create_table(
            TableName=CATALOG_TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
    except dynamodb.exceptions.ResourceInUseException:
        pass  # moto keeps one state per process: another module's fixture made it already
    handle.stream_arn = dynamodb.describe_table(TableName=CATALOG_TABLE)["Table"]["LatestStreamArn"]
    yield handle
    server.stop()


@pytest.fixture(scope="session")
def redis_secret_arn(moto: Moto, redis_server: servers.RedisServer) -> str:
    """The Redis AUTH token in (moto's) Secrets Manager, where cart_api reads it."""
    name = f"cart/redis-auth-{uuid.uuid4().hex[:8]}"
    return moto.client("secretsmanager").create_secret(Name=name, SecretString=redis_server.password)["ARN"]


@pytest.fixture(scope="session")
def catalog(moto: Moto, work_dir: Path) -> Iterator[servers.AppProcess]:
    port = servers.free_port()
    process = servers.uvicorn_app("catalog_app.main:app", port, {**moto.env(), "CATALOG_TABLE": CATALOG_TABLE},
                                  work_dir / "catalog.log")
    process.start()
    yield process
    process.stop()


def cart_env(redis_server: servers.RedisServer, moto: Moto, secret_arn: str, catalog_url: str,
             **extra: str) -> dict[str, str]:
    return {**moto.env(), **redis_server.env(), "CATALOG_URL": catalog_url, "REDIS_AUTH_SECRET_ARN": secret_arn,
            "POWERTOOLS_SERVICE_NAME": "cart", "POWERTOOLS_LOG_LEVEL": "WARNING",
            "REDIS_OUTAGE_BACKOFF_SECONDS": "0.5", **extra}


def new_sku(prefix: str = "sku") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def put_product(catalog_url: str, sku: str, name: str, price_cents: int, currency: str = "EUR") -> Any:
    """Through the catalog's generated client, as the cart calls it."""
    from cart_api.catalog_client import Client
    from cart_api.catalog_client.api.products import put_product as put
    from cart_api.catalog_client.models import Product, ProductIn

    with Client(base_url=catalog_url) as client:
        answer = put.sync(client=client, sku=sku, body=ProductIn(name=name, price_cents=price_cents, currency=currency))
    assert isinstance(answer, Product), answer
    return answer


def stream_records_since(moto: Moto, iterators: dict[str, str]) -> list[dict[str, Any]]:
    """New records on the catalog table's stream, shaped as Lambda delivers them."""
    streams = moto.client("dynamodbstreams")
    records = []
    for shard, iterator in list(iterators.items()):
        answer = streams.get_records(ShardIterator=iterator)
        iterators[shard] = answer["NextShardIterator"]
        for record in answer["Records"]:
            record = {**record, "eventSourceARN": moto.stream_arn, "eventSource": "aws:dynamodb"}
            record["dynamodb"] = {k: (v.timestamp() if isinstance(v, datetime.datetime) else v)
                                  for k, v in record["dynamodb"].items()}
            records.append(_jsonable(record))
    return records


def stream_position(moto: Moto) -> dict[str, str]:
    streams = moto.client("dynamodbstreams")
    shards = streams.describe_stream(StreamArn=moto.stream_arn)["StreamDescription"]["Shards"]
    return {s["ShardId"]: streams.get_shard_iterator(StreamArn=moto.stream_arn, ShardId=s["ShardId"],
                                                     ShardIteratorType="LATEST")["ShardIterator"] for s in shards}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def scoped_env(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
