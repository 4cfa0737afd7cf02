"""MyTodoList REST API (API Gateway REST proxy integration, Cognito user-pool authorizer)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from botocore.config import Config

from api_common import http
from api_common.http import ApiError
from todo_api import files, todos
from todo_api.identity import user_id_from_claims
from todo_api.settings import DEPRECATION_HEADERS, load_settings
from todo_api.todo_store import TodoStore, connect_todo_db

settings = load_settings(os.environ)
logger = Logger()
REPLAYED_HEADER = "Idempotent-Replayed"
# API Gateway answers preflight itself; these headers only matter if OPTIONS ever reaches the function.
# X-Id-Token carries the Cognito ID token (Authorization is left free for SIGV4 on forced cache refreshes).
app = APIGatewayRestResolver(
    cors=CORSConfig(
        allow_origin=settings.cors_allow_origin,
        allow_headers=["Cache-Control", "X-Id-Token", "Idempotency-Key"],
        # Browser clients may read a deprecated version's Deprecation, Sunset and Link headers.
        expose_headers=[REPLAYED_HEADER, *DEPRECATION_HEADERS],
        max_age=600,
    )
)
http.handle_errors(app, logger)


# Clients are created on first use and then kept for the life of the execution environment.
# Creating either one costs about half a bare `import boto3`, and each route needs only one of them.
@cache
def todo_store() -> TodoStore:
    return TodoStore(connect_todo_db(settings.dax_endpoint, settings.region), settings.table_name)


@cache
def s3_client() -> Any:
    # SigV4 and the regional virtual-hosted endpoint: the default would sign v2 URLs for the global endpoint.
    return boto3.client(
        "s3",
        region_name=settings.region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )


def caller_id() -> str:
    return user_id_from_claims(app.current_event.request_context.authorizer.claims)


def json_body() -> dict[str, Any]:
    return http.read_json_object(app.current_event, max_bytes=todos.MAX_BODY_BYTES)


def query_param(name: str) -> str | None:
    return (app.current_event.query_string_parameters or {}).get(name)


def version() -> str:
    """v1 or v2: which stage of the API the request came through (both are served during a migration)."""
    return todos.api_version(app.current_event.stage_variables)


@app.get("/todos")
def list_todos() -> dict[str, Any]:
    user_id = caller_id()
    limit = todos.parse_limit(query_param("limit"))
    after = todos.decode_cursor(query_param("cursor"), user_id)
    items, last_todo_id = todo_store().list(user_id, limit, after)
    return {
        "items": [todos.public_todo(item, version()) for item in items],
        "nextCursor": todos.encode_cursor(user_id, last_todo_id) if last_todo_id else None,
    }


@app.post("/todos")
def create_todo() -> Response:
    user_id = caller_id()
    key = http.read_idempotency_key(app.current_event.headers.get("Idempotency-Key"), required=False)
    todo = todos.validate_new_todo(json_body(), version())
    if key is None:
        created, replayed = todo_store().create(user_id, todo), False
    else:
        created, replayed = todo_store().create_once(user_id, todo, key, todos.request_fingerprint(todo))
    return Response(
        status_code=201,
        content_type=content_types.APPLICATION_JSON,
        body=todos.public_todo(created, version()),
        headers={REPLAYED_HEADER: "true"} if replayed else None,
    )


@app.get("/todos/<todoId>")
def get_todo(todoId: str) -> dict[str, Any]:  # noqa: N803 (the path parameter's name)
    user_id = caller_id()
    found = todo_store().get(user_id, todos.parse_todo_id(todoId))
    if found is None:
        raise ApiError(404, "to-do not found")
    return todos.public_todo(found, version())


@app.put("/todos/<todoId>")
def update_todo(todoId: str) -> dict[str, Any]:  # noqa: N803
    user_id = caller_id()
    todo_id = todos.parse_todo_id(todoId)
    changes = todos.validate_todo_changes(json_body(), version())
    updated = todo_store().update(user_id, todo_id, changes)
    if updated is None:
        raise ApiError(404, "to-do not found")
    return todos.public_todo(updated, version())


@app.delete("/todos/<todoId>")
def delete_todo(todoId: str) -> Response:  # noqa: N803
    user_id = caller_id()
    if not todo_store().delete(user_id, todos.parse_todo_id(todoId)):
        raise ApiError(404, "to-do not found")
    return Response(status_code=204, content_type=None, body=None)


@app.post("/files/upload-url")
def create_upload_url() -> dict[str, Any]:
    user_id = caller_id()
    filename, content_type = files.validate_upload_request(json_body(), settings.allowed_content_types)
    key = files.resolve_user_key(user_id, filename)
    post = files.presign_upload(
        s3_client(), settings.bucket_name, key, content_type, settings.upload_max_bytes, settings.url_expiry_seconds
    )
    return {
        **post,
        "key": key,
        "contentType": content_type,
        "maxBytes": settings.upload_max_bytes,
        "expiresIn": settings.url_expiry_seconds,
    }


@app.get("/files/download-url")
def create_download_url() -> dict[str, Any]:
    user_id = caller_id()
    key = files.resolve_user_key(user_id, query_param("key"))
    url = files.presign_download(s3_client(), settings.bucket_name, key, settings.url_expiry_seconds)
    return {"url": url, "key": key, "expiresIn": settings.url_expiry_seconds}


def with_deprecation(event: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """`answer` with the Deprecation, Sunset and Link headers when the stage's version is deprecated: every
    answer, errors included, so a client sees them whatever it calls."""
    version = (event.get("stageVariables") or {}).get("apiVersion", "v1")
    deprecation = settings.deprecated_versions.get(version)
    if deprecation:
        answer["headers"] = {**(answer.get("headers") or {}), **deprecation}
        for name in deprecation:  # one value per header: multiValueHeaders would win over headers
            (answer.get("multiValueHeaders") or {}).pop(name, None)
    return answer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return with_deprecation(event, http.resolve(app, event, context, logger))
