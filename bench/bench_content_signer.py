"""Benchmark: signed URLs per second from a warm content_signer vs a naive signer.

In one run, on moto (Secrets Manager and DynamoDB in-process), signs N canned-policy URLs:

- warm: the function's KeyCache, so the secret is read and the PEM parsed once per cache period;
- naive: reads the secret and builds the CloudFrontSigner (PEM parse + key check) on every call.

Reports URLs per second of each and the ratio warm / naive (target >= 20x) for the signing path,
then the same for the whole handler (API event in, JSON out, with its consistent DynamoDB read),
and an estimate at a modelled Secrets Manager round trip (--secret-latency-ms): measured time +
reads x latency, a model, not a measurement. moto answers in-process, so the measured ratio
understates what a real network read costs.

Usage: .venv/bin/python bench/bench_content_signer.py [--quick | --tiny]
Numbers depend on the machine; on a shared one, compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]
for _name, _value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_SESSION_TOKEN": "bench",
                      "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1", "TABLE_NAME": "premium-users",
                      "CONTENT_DOMAIN": "d111111abcdef8.cloudfront.net", "POWERTOOLS_SERVICE_NAME": "signer-bench",
                      "POWERTOOLS_LOG_LEVEL": "WARNING", "KEY_CACHE_SECONDS": "300"}.items():
    os.environ.setdefault(_name, _value)

import boto3  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from moto import mock_aws  # noqa: E402

from bench import tiny_mode  # noqa: E402
from content_signer import signing  # noqa: E402

TARGET_RATIO = 20.0
SUB = "0f8fad5b-d9cb-469f-a165-70867728950e"
PATH = "/premium/video/intro.mp4"


class Context:
    function_name = "signer-bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:signer-bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def url_event() -> dict:
    return {"resource": "/signed-url", "path": "/signed-url", "httpMethod": "GET", "headers": {},
            "multiValueHeaders": {}, "queryStringParameters": {"path": PATH, "expiresIn": "600"},
            "multiValueQueryStringParameters": {"path": [PATH], "expiresIn": ["600"]}, "pathParameters": None,
            "requestContext": {"resourcePath": "/signed-url", "httpMethod": "GET", "stage": "v1",
                               "requestId": "bench", "authorizer": {"claims": {"sub": SUB}}},
            "body": None, "isBase64Encoded": False}


def setup() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(TableName="premium-users", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "sub", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "sub", "KeyType": "HASH"}])
    dynamodb.put_item(TableName="premium-users",
                      Item={"sub": {"S": SUB}, "premiumUntil": {"N": str(int(time.time()) + 86400)}})
    return boto3.client("secretsmanager").create_secret(
        Name="signing-key", SecretString=json.dumps({"keyId": "KBENCH", "privateKey": pem}))["ARN"]


def rate(n: int, call) -> float:
    start = time.perf_counter()
    for _ in range(n):
        call()
    return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer URLs per measurement")
    parser.add_argument("--tiny", action="store_true", help="a few URLs (a smoke test)")
    parser.add_argument("--secret-latency-ms", type=float, default=15.0, help="modelled GetSecretValue round trip")
    args = parser.parse_args()
    tiny = tiny_mode(args.tiny)
    n_warm, n_naive = (20, 5) if tiny else (300, 60) if args.quick else (2000, 300)

    with mock_aws():
        os.environ["SECRET_ARN"] = secret_arn = setup()
        handler = importlib.import_module("content_signer.handler")
        secrets = boto3.client("secretsmanager")
        domain, expires = os.environ["CONTENT_DOMAIN"], int(time.time()) + 600

        def read_secret() -> str:
            return secrets.get_secret_value(SecretId=secret_arn, VersionStage="AWSCURRENT")["SecretString"]

        cache = signing.KeyCache(read_secret, ttl_seconds=300)
        cache.get()  # warm: the first call of an execution environment pays once

        def warm_sign():
            signing.signed_url(cache.get(), domain, PATH, expires)

        def naive_sign():
            signing.signed_url(signing.signing_key_from_secret(read_secret()), domain, PATH, expires)

        warm, naive = rate(n_warm, warm_sign), rate(n_naive, naive_sign)
        ratio = warm / naive

        event, context = url_event(), Context()
        handler.handler(event, context)
        warm_handler = rate(max(5, n_warm // 4), lambda: handler.handler(event, context))
        handler.keys._ttl = 0  # the naive handler: every request re-reads and re-parses
        naive_handler = rate(max(5, n_naive // 2), lambda: handler.handler(event, context))

    latency = args.secret_latency_ms / 1000
    modelled_naive = 1 / (1 / naive + latency)
    print(f"content signer benchmark: {n_warm} warm / {n_naive} naive URLs, moto Secrets Manager + DynamoDB")
    print(f"  signing path: warm {warm:,.0f} URLs/s, naive {naive:,.0f} URLs/s, ratio {ratio:.1f}x "
          f"(target >= {TARGET_RATIO:g}x: {'MET' if ratio >= TARGET_RATIO else 'NOT MET'})")
    print(f"  whole handler (incl. consistent GetItem on moto): warm {warm_handler:,.0f}/s, "
          f"naive {naive_handler:,.0f}/s, ratio {warm_handler / naive_handler:.1f}x")
    print(f"  at a modelled {args.secret_latency_ms:g} ms GetSecretValue: naive {modelled_naive:,.0f} URLs/s, "
          f"ratio {warm / modelled_naive:.0f}x (model, not measured)")
    if tiny:
        print("  (tiny mode: timings mean nothing; the target is reported, not enforced)")
        return 0
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
