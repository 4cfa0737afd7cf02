"""Premium registration, behind API Gateway's Cognito authorizer.

GET    /premium-users/me      the caller's own status
PUT    /premium-users/{sub}   grant (admin group only): {"premiumUntil", "plan"?}; idempotent
DELETE /premium-users/{sub}   revoke (admin group only); idempotent
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
from premium_registration import accounts

TABLE_NAME = os.environ["TABLE_NAME"]
ADMIN_GROUP = os.environ["ADMIN_GROUP"]
MAX_BODY_BYTES = 1024
NO_STORE = {"Cache-Control": "no-store"}

logger = Logger()
app = APIGatewayRestResolver()
http.handle_errors(app, logger, error_headers=NO_STORE)


@cache
def dynamodb() -> Any:
    return boto3.client("dynamodb", config=Config(connect_timeout=1, read_timeout=2,
                                                  retries={"mode": "standard", "max_attempts": 3}))


def _claims() -> dict:
    claims = app.current_event.request_context.authorizer.claims or {}
    if not claims.get("sub"):
        raise ApiError(401, "a signed-in user is required", reason="unauthenticated")
    return claims


def _admin() -> str:
    claims = _claims()
    if not accounts.is_member(claims, ADMIN_GROUP):
        raise ApiError(403, f"only members of {ADMIN_GROUP} may change premium status", reason="not_admin")
    return claims["sub"]


def _json(status: int, body: dict) -> Response:
    return Response(status, content_types.APPLICATION_JSON, body, headers=NO_STORE)


@app.get("/premium-users/me")
def my_status() -> Response:
    sub = _claims()["sub"]
    item = accounts.read_status(dynamodb(), TABLE_NAME, sub)
    return _json(200, accounts.status_view(sub, item, int(time.time())))


@app.put("/premium-users/<sub>")
def grant(sub: str) -> Response:
    admin = _admin()
    sub = accounts.user_sub(sub)
    now = int(time.time())
    body = http.read_json_object(app.current_event, max_bytes=MAX_BODY_BYTES)
    outcome = accounts.store_grant(dynamodb(), TABLE_NAME, sub, accounts.parse_grant(body, now),
                                   granted_by=admin, now=now)
    logger.info("premium granted", extra={"sub": sub, "outcome": outcome, "admin": admin})
    item = accounts.read_status(dynamodb(), TABLE_NAME, sub)
    return _json(201 if outcome == "created" else 200, {**accounts.status_view(sub, item, now), "outcome": outcome})


@app.delete("/premium-users/<sub>")
def revoke(sub: str) -> Response:
    admin = _admin()
    sub = accounts.user_sub(sub)
    existed = accounts.revoke(dynamodb(), TABLE_NAME, sub)
    logger.info("premium revoked", extra={"sub": sub, "existed": existed, "admin": admin})
    return _json(200, {"sub": sub, "premium": False, "outcome": "revoked" if existed else "unchanged"})


@app.exception_handler(accounts.Invalid)
def invalid(error: accounts.Invalid) -> Response:
    return http.error_response(error.status, error.message, reason=error.reason, headers=NO_STORE)


@app.exception_handler([ClientError, BotoCoreError])
def table_unavailable(_error: Exception) -> Response:
    logger.exception("table request failed")
    return http.error_response(503, "service temporarily unavailable, please retry", reason="service_unavailable",
                               headers=NO_STORE)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: object) -> dict:
    return http.resolve(app, event, context, logger)
