"""Blog authoring API, behind API Gateway's Cognito authorizer; members of AUTHORS_GROUP only.

GET  /posts/{slug}             the post as stored (drafts too), with its version
POST /posts                    create: {slug, title, summary?, body, tags?, status?: draft|published}
PUT  /posts/{slug}             update: {version, title, summary?, body, tags?, status?}
POST /posts/{slug}/unpublish   {version}: back to draft, out of the public API

Every write is idempotent (a retry of the same request gets the same answer and writes nothing) and
names the version it changes (409 if the post moved on). When readers could see the change, the
function flushes the public API's stage cache (PUBLIC_API_ID/PUBLIC_API_STAGE, set only when that
stage has one), then asks CloudFront to drop exactly INVALIDATION_PATHS (with `{slug}` filled in),
once per version; if either request fails the post stays marked and the answer is 503: retry the
same request.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
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
from blog_authoring import authoring

TABLE_NAME = os.environ["TABLE_NAME"]
AUTHORS_GROUP = os.environ["AUTHORS_GROUP"]
DISTRIBUTION_ID = os.environ["DISTRIBUTION_ID"]
INVALIDATION_PATHS: list[str] = json.loads(os.environ["INVALIDATION_PATHS"])
PUBLIC_API_ID = os.environ.get("PUBLIC_API_ID")
PUBLIC_API_STAGE = os.environ.get("PUBLIC_API_STAGE")
NO_STORE = {"Cache-Control": "no-store"}

logger = Logger()
app = APIGatewayRestResolver()
http.handle_errors(app, logger, error_headers=NO_STORE)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=Config(connect_timeout=1, read_timeout=5,
                                               retries={"mode": "standard", "max_attempts": 3}))


class CacheRefreshFailed(Exception):
    """The post is stored, but the stage cache flush or CloudFront's invalidation failed."""

    def __init__(self, item: dict[str, Any]) -> None:
        super().__init__(f"invalidation of {item['slug']} v{item['version']} failed")
        self.item = item


def _author() -> str:
    claims = app.current_event.request_context.authorizer.claims or {}
    if not claims.get("sub"):
        raise ApiError(401, "a signed-in author is required", reason="unauthenticated")
    if AUTHORS_GROUP not in _groups(claims.get("cognito:groups")):
        raise ApiError(403, f"only members of {AUTHORS_GROUP} may write posts", reason="not_author")
    return str(claims["sub"])


def _groups(raw: Any) -> list[str]:
    """API Gateway's Cognito authorizer hands a list claim over as a string: "a,b", "a b" or "[a, b]"."""
    if isinstance(raw, list):
        return [str(g) for g in raw]
    if isinstance(raw, str):
        return [g for g in raw.strip().strip("[]").replace(",", " ").split() if g]
    return []


def _body() -> dict[str, Any]:
    return http.read_json_object(app.current_event, max_bytes=authoring.MAX_REQUEST_BYTES,
                                 require_json_content_type=True)


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status, content_types.APPLICATION_JSON, body, headers=NO_STORE)


@app.get("/posts/<slug>")
def read(slug: str) -> Response:
    _author()
    item = authoring.read_post(client("dynamodb"), TABLE_NAME, authoring.slug_of(slug))
    if item is None:
        raise ApiError(404, "post not found", reason="post_not_found")
    return _json(200, authoring.author_view(item))


@app.post("/posts")
def create() -> Response:
    author = _author()
    return _write(authoring.parse_create(_body()), author, created=201)


@app.put("/posts/<slug>")
def update(slug: str) -> Response:
    author = _author()
    return _write(authoring.parse_update(slug, _body()), author)


@app.post("/posts/<slug>/unpublish")
def unpublish(slug: str) -> Response:
    author = _author()
    return _write(authoring.parse_unpublish(slug, _body()), author)


def _write(write: authoring.PostWrite, author: str, created: int = 200) -> Response:
    outcome = authoring.apply_write(client("dynamodb"), TABLE_NAME, write, now=_utc_now(), author=author)
    item = outcome.item
    logger.info("post written", extra={"slug": write.slug, "operation": write.operation, "version": item["version"],
                                       "replayed": outcome.replayed, "changed": outcome.changed, "author": author})
    invalidation = _refresh_caches(item) if item.get("invalidationPending") else None
    paths = authoring.invalidation_paths(INVALIDATION_PATHS, write.slug)
    return _json(created, {**authoring.author_view(item), "replayed": outcome.replayed,
                           "invalidation": invalidation or ({"id": item["invalidationId"], "paths": paths}
                                                            if item.get("invalidationId") else None)})


def _refresh_caches(item: dict[str, Any]) -> dict[str, Any]:
    """Drop what readers were served about this post: the public API's stage cache first (CloudFront refetches
    from it), then CloudFront's copies; recorded on the version."""
    paths = authoring.invalidation_paths(INVALIDATION_PATHS, item["slug"])
    try:
        if PUBLIC_API_ID and PUBLIC_API_STAGE:
            # The whole stage: its cache can't be flushed per key. A retry flushes again (harmless).
            client("apigateway").flush_stage_cache(restApiId=PUBLIC_API_ID, stageName=PUBLIC_API_STAGE)
        created = client("cloudfront").create_invalidation(DistributionId=DISTRIBUTION_ID, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths},
            "CallerReference": authoring.caller_reference(item)})
    except (ClientError, BotoCoreError) as error:
        raise CacheRefreshFailed(item) from error
    invalidation_id = created["Invalidation"]["Id"]
    authoring.record_invalidation(client("dynamodb"), TABLE_NAME, item, invalidation_id)
    logger.info("invalidation requested", extra={"slug": item["slug"], "version": item["version"],
                                                 "invalidationId": invalidation_id, "paths": paths,
                                                 "stageCacheFlushed": bool(PUBLIC_API_ID)})
    return {"id": invalidation_id, "paths": paths}


@app.exception_handler(CacheRefreshFailed)
def refresh_failed(error: CacheRefreshFailed) -> Response:
    logger.exception("invalidation failed", extra={"slug": error.item["slug"], "version": error.item["version"]})
    return http.error_response(
        503, f"saved as version {error.item['version']}, but readers' caches were not refreshed; send the same "
             f"request again to finish", reason="invalidation_pending", headers={**NO_STORE, "Retry-After": "5"})


@app.exception_handler([ClientError, BotoCoreError])
def table_unavailable(_error: Exception) -> Response:
    logger.exception("table request failed")
    return http.error_response(503, "service temporarily unavailable, please retry", reason="service_unavailable",
                               headers=NO_STORE)


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: object) -> dict:
    return http.resolve(app, event, context, logger)
