"""Benchmark: pricing a cart with a warm Redis cache vs calling the catalog for every item.

Everything is a real process on 127.0.0.1: moto's server (DynamoDB), the catalog (uvicorn),
Redis with TLS + AUTH, and cart_api behind the local REST v1 gateway, three times:

- cached:    the real handler; every price is in Redis (one HGETALL + one MGET per request);
- outage:    the real handler with Redis unreachable: one batched catalog call per request (the
             fallback path, what a cold or failed cache costs);
- per-item:  the baseline: the same handler pricing each line with its own catalog GET, no cache.

Each mode answers the same GET /carts/{id} (--lines lines) --requests times, one at a time like
one Lambda environment. Prints p50/p95 latency and requests/s, and the throughput ratios in one
run (target: cached >= 5x per-item).

Usage: .venv/bin/python bench/bench_cart_pricing.py [--quick | --tiny]   (or BENCH_TINY=1)
Numbers depend on the machine (and moto is slower than DynamoDB): compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions"), str(ROOT / "services" / "catalog")]

TARGET_RATIO = 5.0
UNCACHED_HANDLER = "bench.bench_cart_pricing.per_item_handler"


def per_item_handler(event, context):
    """The baseline cart: the real handler, but each line priced by its own catalog call."""
    return _per_item_module().handler(event, context)


_module = None


def _per_item_module():
    global _module
    if _module is None:
        from cart_api import handler
        from cart_api.catalog_client.api.products import get_product
        from cart_api.catalog_client.models import Product
        from cart_api.prices import Lookup, Price

        def prices_one_by_one(skus: list[str]) -> Lookup:
            found, missing = {}, []
            for sku in skus:
                product = get_product.sync(client=handler.catalog(), sku=sku)
                if isinstance(product, Product):
                    found[sku] = Price(sku, product.name, product.price_cents, product.currency, product.version)
                else:
                    missing.append(sku)
            return Lookup(found, missing, hits=0, misses=len(skus))

        handler._prices = prices_one_by_one  # noqa: SLF001 (the baseline swaps out the cache-aside lookup)
        _module = handler
    return _module


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure(client, url: str, requests: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        assert client.get(url).status_code == 200
    latencies = []
    started = time.perf_counter()
    for _ in range(requests):
        t0 = time.perf_counter()
        answer = client.get(url)
        latencies.append(time.perf_counter() - t0)
        assert answer.status_code == 200, answer.text
    total = time.perf_counter() - started
    return {"p50": percentile(latencies, 0.5) * 1000, "p95": percentile(latencies, 0.95) * 1000,
            "rps": requests / total, "mean": statistics.fmean(latencies) * 1000}


def main() -> int:
    from bench import tiny_mode

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    parser.add_argument("--tiny", action="store_true", help="a handful of requests (a smoke test)")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--lines", type=int, default=10)
    args = parser.parse_args()
    tiny = tiny_mode(args.tiny)
    requests = 5 if tiny else 100 if args.quick else args.requests
    lines = 3 if tiny else args.lines

    import boto3
    import httpx

    from services.local_run import servers
    from tests.services.shop import AWS_ENV, CATALOG_TABLE, put_product

    work = servers.temp_dir("bench-cart-")
    running: list = []
    try:
        redis_dir = work / "redis"
        redis_dir.mkdir()
        try:
            redis_server = servers.RedisServer(redis_dir).start()
        except servers.ServerUnavailable as why:
            print(f"skipped: {why} (install it: bash tests/services/services.sh install)")
            return 0
        running.append(redis_server)

        moto_port = servers.free_port()
        moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        servers.wait_for_port(moto_port, 20, moto, "moto")
        moto_url = f"http://127.0.0.1:{moto_port}"
        aws = {**AWS_ENV, "AWS_ENDPOINT_URL": moto_url}
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1")
        session.client("dynamodb", endpoint_url=moto_url).create_table(
            TableName=CATALOG_TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}])
        secret_arn = session.client("secretsmanager", endpoint_url=moto_url).create_secret(
            Name="bench/redis-auth", SecretString=redis_server.password)["ARN"]

        catalog = servers.uvicorn_app("catalog_app.main:app", servers.free_port(),
                                      {**aws, "CATALOG_TABLE": CATALOG_TABLE}, work / "catalog.log").start()
        running.append(catalog)
        skus = [f"bench-{i:03d}" for i in range(lines)]
        for i, sku in enumerate(skus):
            put_product(catalog.url, sku, f"Item {i}", 100 + i)

        cart_env = {**aws, **redis_server.env(), "CATALOG_URL": catalog.url, "REDIS_AUTH_SECRET_ARN": secret_arn,
                    "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_SERVICE_NAME": "cart-bench"}
        dead_port = servers.free_port()  # nothing listens there: Redis is "down"
        gateways = {}
        for mode, env, handler in (
            ("cached", cart_env, "cart_api.handler.handler"),
            ("outage", {**cart_env, "REDIS_PORT": str(dead_port)}, "cart_api.handler.handler"),
            ("per-item", {**cart_env, "REDIS_PORT": str(dead_port)}, UNCACHED_HANDLER),
        ):
            port = servers.free_port()
            gateway = servers.AppProcess(["-m", "services.local_run.rest_gateway", "--port", str(port),
                                          "--handler", handler], env, port, work / f"cart-{mode}.log",
                                         health_path=servers.GATEWAY_HEALTH_PATH).start()
            running.append(gateway)
            gateways[mode] = gateway

        # One cart (it lives in the working Redis); each gateway prices it. The outage and per-item
        # gateways can't reach Redis for the cart itself, so they price a quote of the same lines.
        with httpx.Client(timeout=30) as client:
            cart_id = client.post(f"{gateways['cached'].url}/carts").json()["cartId"]
            for sku in skus:
                assert client.put(f"{gateways['cached'].url}/carts/{cart_id}/items/{sku}",
                                  json={"quantity": 2}).status_code == 200
            print(f"cart pricing benchmark: {lines} lines, {requests} sequential requests per mode, "
                  f"real processes on 127.0.0.1 (moto stands in for DynamoDB)")
            results = {}
            for mode, gateway in gateways.items():
                if mode == "cached":
                    results[mode] = measure(client, f"{gateway.url}/carts/{cart_id}", requests, warmup=3)
                else:
                    results[mode] = measure_quote(client, f"{gateway.url}/quotes", skus, requests, warmup=3)
        print(f"\n{'mode':<10} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8}")
        for mode, r in results.items():
            print(f"{mode:<10} {r['p50']:8.2f} {r['p95']:8.2f} {r['rps']:8.1f}")
        ratio = results["cached"]["rps"] / results["per-item"]["rps"]
        fallback = results["outage"]["rps"] / results["per-item"]["rps"]
        print(f"\nthroughput: cached {ratio:.1f}x per-item (target >= {TARGET_RATIO:.0f}x"
              f"{'' if tiny else ', ' + ('met' if ratio >= TARGET_RATIO else 'MISSED')})")
        print(f"throughput: redis-down fallback {fallback:.1f}x per-item (one batched catalog call)")
        print(f"p95: cached {results['per-item']['p95'] / results['cached']['p95']:.1f}x lower than per-item")
        return 0 if tiny or ratio >= TARGET_RATIO else 1
    finally:
        for server in reversed(running):
            server.stop()
        if "moto" in locals():
            servers.stop_process(moto)
        shutil.rmtree(work, ignore_errors=True)


def measure_quote(client, url: str, skus: list[str], requests: int, warmup: int) -> dict[str, float]:
    body = {"items": [{"sku": sku, "quantity": 2} for sku in skus]}

    class Poster:
        def get(self, target: str):
            return client.post(target, json=body)

    return measure(Poster(), url, requests, warmup)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
