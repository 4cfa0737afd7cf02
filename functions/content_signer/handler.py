"""Signed URLs and cookies for premium content, behind API Gateway's Cognito authorizer.

GET  /signed-url?path=/premium/...&expiresIn=600   -> {"url", "expiresAt"} (canned policy)
POST /signed-cookies {"folder": "/premium/x/", "expiresIn"?} -> the three CloudFront cookies (custom policy)
"""

from __future__ import annotations

import os
import time
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from api_common import http
from api_common.http import ApiError
from content_signer import signing

TABLE_NAME = os.environ["TABLE_NAME"]
SECRET_ARN = os.environ["SECRET_ARN"]
CONTENT_DOMAIN = os.environ["CONTENT_DOMAIN"]
PREMIUM_PREFIX = os.environ.get("PREMIUM_PREFIX", "/premium/")
DEFAULT_TTL_SECONDS = int(os.environ.get("DEFAULT_TTL_SECONDS", "300"))
MAX_TTL_SECONDS = int(os.environ.get("MAX_TTL_SECONDS", "3600"))
KEY_CACHE_SECONDS = float(os.environ.get("KEY_CACHE_SECONDS", "300"))
COOKIE_SAME_SITE = os.environ.get("COOKIE_SAME_SITE", "Strict")
MAX_BODY_BYTES = 2048
NO_STORE = {"Cache-Control": "no-store"}

logger = Logger()
app = APIGatewayRestResolver()
http.handle_errors(app, logger, error_headers=NO_STORE)


@cache
def _client(service: str) -> Any:
    return boto3.client(service, config=Config(connect_timeout=1, read_timeout=2,
                                               retries={"mode": "standard", "max_attempts": 3}))


def _read_secret() -> str:
    return _client("secretsmanager").get_secret_value(SecretId=SECRET_ARN, VersionStage="AWSCURRENT")["SecretString"]


keys = signing.KeyCache(_read_secret, KEY_CACHE_SECONDS)


def _caller() -> str:
    claims = app.current_event.request_context.authorizer.claims or {}
    sub = claims.get("sub")
    if not sub:
        raise ApiError(401, "a signed-in user is required", reason="unauthenticated")
    return sub


def _subscription_end(sub: str, now: int) -> int:
    # Consistent read: a subscription revoked a moment ago must not sign one more URL.
    item = _client("dynamodb").get_item(
        TableName=TABLE_NAME, Key={"sub": {"S": sub}}, ConsistentRead=True,
        ProjectionExpression="premiumUntil").get("Item")
    plain = None if item is None else {"premiumUntil": item["premiumUntil"]["N"]} if "premiumUntil" in item else {}
    return signing.premium_until(plain, now)


def _expiry(sub: str, requested: Any, now: int) -> int:
    seconds = signing.requested_seconds(requested)
    end = _subscription_end(sub, now)
    return signing.expiry(now, seconds, default_ttl=DEFAULT_TTL_SECONDS, max_ttl=MAX_TTL_SECONDS,
                          subscription_end=end)


@app.get("/signed-url")
def signed_url() -> Response:
    event, now = app.current_event, int(time.time())
    sub = _caller()
    path = signing.premium_object_path(event.get_query_string_value("path"), PREMIUM_PREFIX)
    expires_at = _expiry(sub, event.get_query_string_value("expiresIn"), now)
    url = signing.signed_url(keys.get(), CONTENT_DOMAIN, path, expires_at)
    return Response(200, content_types.APPLICATION_JSON, {"url": url, "expiresAt": expires_at}, headers=NO_STORE)


@app.post("/signed-cookies")
def signed_cookies() -> Response:
    now = int(time.time())
    sub = _caller()
    body = http.read_json_object(app.current_event, max_bytes=MAX_BODY_BYTES)
    unknown = sorted(set(body) - {"folder", "expiresIn"})
    if unknown:
        raise ApiError(400, f"unknown fields: {', '.join(unknown)}", reason="body_unknown_field")
    folder = signing.premium_folder(body.get("folder"), PREMIUM_PREFIX)
    expires_at = _expiry(sub, body.get("expiresIn"), now)
    values = signing.signed_cookie_values(keys.get(), CONTENT_DOMAIN, folder, expires_at)
    cookies = signing.set_cookie_headers(values, domain=CONTENT_DOMAIN, path=PREMIUM_PREFIX,
                                         expires_at=expires_at, now=now, same_site=COOKIE_SAME_SITE)
    # Whole Set-Cookie values: powertools sends each as str(cookie), and its Cookie would reorder the attributes.
    return Response(200, content_types.APPLICATION_JSON, {"folder": folder, "expiresAt": expires_at},
                    headers=NO_STORE, cookies=cookies)  # type: ignore[arg-type]


@app.exception_handler(signing.Refused)
def refused(error: signing.Refused) -> Response:
    logger.info("signature refused", extra={"reason": error.reason})
    return http.error_response(error.status, error.message, reason=error.reason, headers=NO_STORE)


@app.exception_handler([ClientError, BotoCoreError])
def dependency_unavailable(_error: Exception) -> Response:
    logger.exception("table or secret request failed")
    return http.error_response(503, "service temporarily unavailable, please retry", reason="service_unavailable",
                               headers=NO_STORE)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: object) -> dict:
    return http.resolve(app, event, context, logger)
