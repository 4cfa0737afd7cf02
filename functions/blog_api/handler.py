"""Public blog API: a REGIONAL REST API (Lambda proxy) behind CloudFront's /api/* behaviour."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from api_common import http
from api_common.http import ApiError
from blog_api import posts, subscriptions

TABLE_NAME = os.environ["TABLE_NAME"]
WRITER_REGION = os.environ["AWS_REGION"]
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
def dynamodb_client() -> Any:
    return boto3.client(
        "dynamodb",
        config=Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "max_attempts": 3}),
    )


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
    if not posts.is_valid_slug(slug):
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

    item = subscriptions.subscriber_item(subscription, subscribed_at=_utc_now(), origin_region=WRITER_REGION)
    created = subscriptions.store_subscriber(dynamodb_client(), TABLE_NAME, item)
    # The address is personal data: log its domain only.
    logger.info(
        "subscriber stored" if created else "already subscribed",
        extra={"emailDomain": subscription.email.rpartition("@")[2]},
    )
    # Same answer either way, so the endpoint cannot be used to probe for subscribers.
    return Response(
        status_code=202,
        content_type=content_types.APPLICATION_JSON,
        body={"message": "Thanks! A welcome email is on its way."},
        headers={"Cache-Control": NO_STORE},
    )


@app.exception_handler([ClientError, BotoCoreError])
def dynamodb_unavailable(_error: Exception) -> Response:
    logger.exception("table request failed")
    return http.error_response(
        503, "service temporarily unavailable, please retry", reason="service_unavailable", headers=ERROR_HEADERS
    )


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: object) -> dict:
    return http.resolve(app, event, context, logger)
