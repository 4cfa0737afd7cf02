"""The real handlers of every documented Lambda API, on moto, each behind a RestGateway of its document."""
from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from types import ModuleType

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto import mock_aws

from .documents import committed
from .gateway import REGION, RestGateway

CALLER = "3f0c6a1e-7d6b-4c1a-9a55-0d6a1b2c3d4e"
ADMIN_GROUP = "premium-admins"
CLAIMS = {"sub": CALLER, "token_use": "id", "email": "caller@example.com", "email_verified": "true",
          "cognito:username": CALLER, "cognito:groups": ADMIN_GROUP}
ORIGIN_HEADER, ORIGIN_SECRET = "X-Origin-Verify", "contract-origin-" + "s" * 32
AUTHORS_GROUP = "authors"
AUTHOR_CLAIMS = {**CLAIMS, "cognito:groups": AUTHORS_GROUP}
"""What API Gateway's Cognito authorizer passes for a member of the authors group (groups as one string)."""
READER_TOKEN = "reader-token"
"""The token header value the stand-in gateway takes for a signed-in user outside the authors group."""
HANDLERS = {"todo-api": "todo_api.handler", "blog-api": "blog_api.handler", "orders-api": "order_service.handler",
            "blog-authoring-api": "blog_authoring.handler",
            "paid-content-signer-api": "content_signer.handler",
            "paid-content-registration-api": "premium_registration.handler", "shop-health": "shop_health.handler"}


def token_headers(name: str) -> dict[str, str]:
    schemes = committed(name).get("components", {}).get("securitySchemes", {})
    return {scheme["name"]: "id-token" for scheme in schemes.values()}


def _table(ddb, name: str, keys: list[str], **extra) -> None:
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": k, "KeyType": kind} for k, kind in zip(keys, ["HASH", "RANGE"])],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"}
                              for k in [*keys, *extra.pop("more_attributes", [])]], **extra)


def _load(module: str) -> ModuleType:
    sys.modules.pop(module, None)  # each handler reads its environment at import
    return importlib.import_module(module)


def _signing_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return json.dumps({"keyId": "KCONTRACT1", "privateKey": pem})


AUTHORING_POSTS = ("contract-seeded", "contract-edited", "contract-unpublished")
"""Published posts the authoring examples read, edit and unpublish (one each: examples don't depend on order)."""


def _distribution() -> str:
    return boto3.client("cloudfront").create_distribution(DistributionConfig={
        "CallerReference": "contract-site", "Comment": "blog", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{"Id": "site", "DomainName": "site.s3.amazonaws.com",
                                              "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "site", "ViewerProtocolPolicy": "redirect-to-https",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})["Distribution"]["Id"]


def running_gateways() -> Iterator[dict[str, RestGateway]]:
    """Document name -> its handler on moto behind the gateway, until the generator is closed."""
    base = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "POWERTOOLS_SERVICE_NAME": "contract",
            "POWERTOOLS_LOG_LEVEL": "CRITICAL", "POWERTOOLS_TRACE_DISABLED": "true"}
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for name, value in base.items():
            patch.setenv(name, value)
        ddb, secrets = boto3.client("dynamodb"), boto3.client("secretsmanager")
        modules = {}
        # todo
        _table(ddb, "contract-todos", ["userId", "todoId"])
        boto3.client("s3").create_bucket(Bucket="contract-files",
                                         CreateBucketConfiguration={"LocationConstraint": REGION})
        for name, value in {"TABLE_NAME": "contract-todos", "BUCKET_NAME": "contract-files", "DAX_ENDPOINT": "",
                            "CORS_ALLOW_ORIGIN": "https://app.example.com"}.items():
            patch.setenv(name, value)
        modules["todo-api"] = _load("todo_api.handler")
        # orders
        for table, key in (("contract-orders", "orderId"), ("contract-outbox", "eventId"),
                           ("contract-idempotency", "id")):
            _table(ddb, table, [key])
        for name, value in {"ORDERS_TABLE": "contract-orders", "OUTBOX_TABLE": "contract-outbox",
                            "IDEMPOTENCY_TABLE": "contract-idempotency"}.items():
            patch.setenv(name, value)
        modules["orders-api"] = _load("order_service.handler")
        # blog, with one published post
        _table(ddb, "contract-blog", ["pk", "sk"], more_attributes=["publishedFeed", "publishedAt"],
               GlobalSecondaryIndexes=[{"IndexName": "published-posts", "KeySchema": [
                   {"AttributeName": "publishedFeed", "KeyType": "HASH"},
                   {"AttributeName": "publishedAt", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}])
        patch.setenv("TABLE_NAME", "contract-blog")
        patch.setenv("CORS_ALLOW_ORIGIN", "")
        for variable, value in (("ORIGIN_SECRET_ARN", ORIGIN_SECRET),
                                ("TOKEN_SECRET_ARN", "contract-token-" + "k" * 48)):
            secret = secrets.create_secret(Name=f"contract-{variable.lower()}", SecretString=value)
            patch.setenv(variable, secret["ARN"])
        modules["blog-api"] = _load("blog_api.handler")
        import blog_posts
        for slug, title in (("hello-world", "Hello"), *((s, "Seeded") for s in AUTHORING_POSTS)):
            ddb.put_item(TableName="contract-blog", Item=boto3.dynamodb.types.TypeSerializer().serialize(
                blog_posts.post_item(slug=slug, title=title, summary="s", body="<p>b</p>",
                                     published_at="2024-05-01T09:00:00Z"))["M"])
        # blog authoring: the same table, the site's distribution in moto's CloudFront
        for name, value in {"AUTHORS_GROUP": AUTHORS_GROUP, "DISTRIBUTION_ID": _distribution(),
                            "INVALIDATION_PATHS": json.dumps(["/api/posts*", "/posts/{slug}/*"])}.items():
            patch.setenv(name, value)
        modules["blog-authoring-api"] = _load("blog_authoring.handler")
        # paid content: the signer and the registration apps share the premium table
        _table(ddb, "contract-premium", ["sub"])
        patch.setenv("TABLE_NAME", "contract-premium")
        for name, value in {"SECRET_ARN": secrets.create_secret(Name="contract-signing-key",
                                                                SecretString=_signing_key())["ARN"],
                            "CONTENT_DOMAIN": "media.example.com", "PREMIUM_PREFIX": "/premium/",
                            "ADMIN_GROUP": ADMIN_GROUP}.items():
            patch.setenv(name, value)
        modules["paid-content-signer-api"] = _load("content_signer.handler")
        modules["paid-content-registration-api"] = _load("premium_registration.handler")
        # shop health: no alarm exists, so every service is ok
        patch.setenv("SERVICES", "catalog,cart,checkout")
        modules["shop-health"] = _load("shop_health.handler")
        yield {name: RestGateway(committed(name), module.handler,
                                 claims=AUTHOR_CLAIMS if name == "blog-authoring-api" else CLAIMS,
                                 headers={ORIGIN_HEADER: ORIGIN_SECRET} if name == "blog-api" else None,
                                 claims_by_token={READER_TOKEN: CLAIMS} if name == "blog-authoring-api" else None)
               for name, module in modules.items()}
    for module in HANDLERS.values():
        sys.modules.pop(module, None)
