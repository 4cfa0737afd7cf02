"""Public blog API: a REGIONAL REST API (Lambda proxy) behind CloudFront's /api/* behaviour.

Every routed request must carry CloudFront's secret origin header (ORIGIN_HEADER_NAME, value in the
Secrets Manager secret ORIGIN_SECRET_ARN): a call straight to the execute-api URL, around CloudFront
and its WAF, is answered 403 before any route runs.
"""

from __future__ import annotations

import hmac
import os
from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

import blog_posts
import subscription_tokens as tokens
from api_common import http
from api_common.http import ApiError
from blog_api import posts, subscriptions

TABLE_NAME = os.environ["TABLE_NAME"]
WRITER_REGION = os.environ["AWS_REGION"]
ORIGIN_HEADER_NAME = os.environ.get("ORIGIN_HEADER_NAME") or "X-Origin-Verify"
ORIGIN_SECRET_ARN = os.environ["ORIGIN_SECRET_ARN"]
TOKEN_SECRET_ARN = os.environ["TOKEN_SECRET_ARN"]
# A rotated secret reaches every warm environment within this.
SECRET_MAX_AGE_SECONDS = float(os.environ.get("SECRET_MAX_AGE_SECONDS") or 300)
POSTS_CACHE_CONTROL = posts.cache_control(os.environ.get("POSTS_MAX_AGE"))
NO_STORE = "no-store"
# Errors and subscriptions are never cached, by CloudFront or the browser.
ERROR_HEADERS = {"Cache-Control": NO_STORE}

logger = Logger()

_cors_origin = os.environ.get("CORS_ALLOW_ORIGIN", "").strip()
# Same-origin behind CloudFront needs no CORS; an origin is set only for local front-end work.
app = APIGatewayRestResolver(cors=CORSConfig(allow_origin=_cors_origin, max_age=600) if _cors_origin else None)
http.handle_errors(app, logger, error_headers=ERROR_HEADERS)


# Created on first use, not at import (that would cost about half a bare `import boto3` on every
# cold start), then kept for the life of the execution environment.
@cache
def client(service: str) -> Any:
    return boto3.client(
        service,
        config=Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3}),
    )


def dynamodb_client() -> Any:
    return client("dynamodb")


def _secret(arn: str) -> tokens.CachedSecret:
    return tokens.CachedSecret(
        lambda: client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"], SECRET_MAX_AGE_SECONDS
    )


origin_secret = _secret(ORIGIN_SECRET_ARN)
token_secret = _secret(TOKEN_SECRET_ARN)


def require_origin_header(router: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """Only CloudFront knows the secret: anything else went around it (and its WAF)."""
    given = router.current_event.get_header_value(ORIGIN_HEADER_NAME, case_sensitive=False)
    if given is None or not hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), origin_secret.get().encode("utf-8")
    ):
        logger.warning("request without CloudFront's origin header refused")
        raise ApiError(403, "forbidden: call this API through the site", reason="origin_not_allowed")
    return next_middleware(router)


app.use(middlewares=[require_origin_header])


@app.get("/api/posts")
def list_posts() -> Response:
    # Reads only `limit` and `cursor`: CloudFront and the API cache key on exactly
    # these, and any other query string is ignored so it cannot change the response.
    event = app.current_event
    limit = posts.parse_limit(event.get_query_string_value("limit"))
    page = posts.list_published_posts(
        dynamodb_client(), TABLE_NAME, limit=limit, cursor=event.get_query_string_value("cursor")
    )
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body={"posts": page.posts, "nextCursor": page.next_cursor},
        headers={"Cache-Control": POSTS_CACHE_CONTROL},
    )


@app.get("/api/posts/<slug>")
def get_post(slug: str) -> Response:
    if not blog_posts.is_valid_slug(slug):
        raise ApiError(400, "slug must be lower-case letters, digits and single hyphens")
    post = posts.get_published_post(dynamodb_client(), TABLE_NAME, slug)
    if post is None:
        raise ApiError(404, "post not found")
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=post,
        headers={"Cache-Control": POSTS_CACHE_CONTROL},
    )


@app.post("/api/subscribe")
def subscribe() -> Response:
    try:
        fields = http.read_json_object(
            app.current_event, max_bytes=subscriptions.MAX_BODY_BYTES, require_json_content_type=True
        )
        subscription = subscriptions.validate_subscription(fields)
    except ApiError as error:
        logger.info("subscription refused", extra={"reason": error.message})
        raise

    now = datetime.now(timezone.utc)
    item = subscriptions.subscriber_item(subscription, subscribed_at=_iso(now), origin_region=WRITER_REGION)
    stale_before = _iso(now - timedelta(seconds=tokens.CONFIRMATION_TTL_SECONDS))
    created = subscriptions.store_subscriber(dynamodb_client(), TABLE_NAME, item, stale_before=stale_before)
    # The address is personal data: log its domain only.
    logger.info(
        "pending subscriber stored" if created else "already stored",
        extra={"emailDomain": subscription.email.rpartition("@")[2]},
    )
    # Same answer either way, so the endpoint cannot be used to probe for subscribers.
    return _no_store(202, "Thanks! Please check your inbox for a link to confirm your subscription.")


@app.get("/api/subscriptions/confirm")
def confirm() -> Response:
    claims = _claims(tokens.CONFIRM)
    outcome = subscriptions.confirm_subscriber(
        dynamodb_client(), TABLE_NAME, claims.email, confirmed_at=_utc_now(), origin_region=WRITER_REGION
    )
    logger.info("confirmation", extra={"outcome": outcome, "emailDomain": claims.email.rpartition("@")[2]})
    if outcome == "missing":
        raise ApiError(404, "no pending subscription for this link; subscribe again", reason="subscription_not_found")
    if outcome == "already":
        return _no_store(200, "Your subscription was already confirmed.")
    return _no_store(200, "Subscription confirmed. A welcome email is on its way.")


@app.get("/api/subscriptions/unsubscribe")
def unsubscribe() -> Response:
    claims = _claims(tokens.UNSUBSCRIBE)
    subscriptions.forget_subscriber(dynamodb_client(), TABLE_NAME, claims.email)
    logger.info("unsubscribed", extra={"emailDomain": claims.email.rpartition("@")[2]})
    return _no_store(200, "You are unsubscribed. We won't email you again.")


def _claims(action: str) -> tokens.TokenClaims:
    """The signed link's claims, or a 4xx: 400 for a malformed or forged token, 410 for an expired one."""
    raw = app.current_event.get_query_string_value("token")
    try:
        return tokens.verify(tokens.signing_key(token_secret.get()), raw, action)
    except tokens.TokenError as error:
        logger.info("link refused", extra={"reason": error.reason, "action": action})
        status = 410 if error.reason == "token_expired" else 400
        raise ApiError(status, error.message, reason=error.reason) from None


def _no_store(status: int, message: str) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"message": message},
        headers={"Cache-Control": NO_STORE},
    )


@app.exception_handler([ClientError, BotoCoreError])
def dynamodb_unavailable(_error: Exception) -> Response:
    logger.exception("table request failed")
    return http.error_response(
        503, "service temporarily unavailable, please retry", reason="service_unavailable", headers=ERROR_HEADERS
    )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utc_now() -> str:
    return _iso(datetime.now(timezone.utc))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: object) -> dict:
    return http.resolve(app, event, context, logger)
