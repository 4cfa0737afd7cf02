"""Request bodies, the Idempotency-Key header, and error responses for APIGatewayRestResolver apps.

Every error a client can cause is an ApiError (a Powertools ServiceError) and is answered 4xx as
JSON, `{"message": <for people>, "reason"?: <stable code for programs>}`, with the app's CORS
headers. A method or path no route serves is a 404 or 405 in that same shape. Anything else is our
fault: logged, and answered 500 without internals.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError, ServiceError

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

DEFAULT_MAX_BODY_BYTES = 16 * 1024
# Our bodies nest at most 3 deep (an order's lines); the bound keeps json.loads far from the
# interpreter's recursion limit and any later walk over the value cheap.
DEFAULT_MAX_JSON_DEPTH = 32
IDEMPOTENCY_KEY_PATTERN = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")
IDEMPOTENCY_KEY_REUSED = "Idempotency-Key was already used with a different request body"
INTERNAL_ERROR = "internal server error"


class ApiError(ServiceError):
    """A request refused because of what the client sent.

    `reason` is an optional stable code (e.g. "body_not_json") a client may branch on; `headers`
    are added to the error response (e.g. Retry-After).
    """

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        reason: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message)
        self.message = message
        self.reason = reason
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return self.message


class IdempotencyKeyReused(ApiError):
    """The caller's Idempotency-Key already produced a result for a different request body."""

    def __init__(self) -> None:
        super().__init__(409, IDEMPOTENCY_KEY_REUSED, reason="idempotency_key_reused")


class IdempotencyKeyInProgress(ApiError):
    """Another request with the caller's Idempotency-Key has not finished yet."""

    def __init__(self) -> None:
        super().__init__(
            409,
            "a request with this Idempotency-Key is still in progress; retry shortly",
            reason="idempotency_key_in_progress",
            headers={"Retry-After": "1"},
        )


# ---------------------------------------------------------------- request body


def read_json_object(
    event: BaseProxyEvent,
    *,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_depth: int = DEFAULT_MAX_JSON_DEPTH,
    require_json_content_type: bool = False,
) -> dict[str, Any]:
    """The request's body as a JSON object, or an ApiError (400, 413 or 415) saying why not."""
    if require_json_content_type:
        check_json_content_type(event.headers.get("content-type"))
    return parse_json_object(
        event.body, is_base64_encoded=bool(event.is_base64_encoded), max_bytes=max_bytes, max_depth=max_depth
    )


def check_json_content_type(content_type: str | None) -> None:
    if not content_type or content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise ApiError(415, "Content-Type must be application/json", reason="unsupported_media_type")


def parse_json_object(
    body: str | None,
    *,
    is_base64_encoded: bool,
    max_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_depth: int = DEFAULT_MAX_JSON_DEPTH,
) -> dict[str, Any]:
    """A proxy event's `body` (base64 or not) as a JSON object of at most `max_bytes` and `max_depth`.

    Strict JSON: NaN/Infinity and repeated field names are refused, so no two parsers can read
    the same body differently.
    """
    value = _json_value(_body_text(body, is_base64_encoded, max_bytes), max_depth)
    if _nesting_depth(value) > max_depth:
        raise _too_deep(max_depth)
    if not isinstance(value, dict):
        raise ApiError(400, "request body must be a JSON object", reason="body_not_object")
    return value


def _body_text(body: str | None, is_base64_encoded: bool, max_bytes: int) -> str:
    if body is None or body == "":
        raise _required()
    too_large = ApiError(413, f"request body is larger than {max_bytes} bytes", reason="body_too_large")
    if is_base64_encoded:
        # Base64 inflates by 4/3: checking first avoids decoding a huge payload.
        if len(body) > (max_bytes + 2) // 3 * 4 + 4:
            raise too_large
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):  # ValueError: non-ASCII characters
            raise ApiError(400, "request body is not valid base64", reason="body_not_base64") from None
        if len(raw) > max_bytes:
            raise too_large
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _not_utf8() from None
    else:
        if len(body) > max_bytes:  # every character is at least one byte
            raise too_large
        try:
            size = len(body.encode("utf-8"))
        except UnicodeEncodeError:  # lone surrogates
            raise _not_utf8() from None
        if size > max_bytes:
            raise too_large
        text = body
    if not text:
        raise _required()
    return text


def _json_value(text: str, max_depth: int) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_unique_fields, parse_constant=_refuse_constant)
    except _DuplicateField as duplicate:
        raise ApiError(400, f"duplicate field: {duplicate}", reason="body_duplicate_field") from None
    except _NonFiniteNumber as constant:
        message = f"request body is not valid JSON: {constant} is not allowed"
        raise ApiError(400, message, reason="body_not_json") from None
    except RecursionError:
        raise _too_deep(max_depth) from None
    except ValueError:  # malformed JSON, or an integer over Python's digit limit
        raise ApiError(400, "request body is not valid JSON", reason="body_not_json") from None


def _nesting_depth(value: Any) -> int:
    """How many objects/arrays deep `value` goes; iterative, so no input can exhaust the stack."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


class _DuplicateField(Exception):
    pass


class _NonFiniteNumber(Exception):
    pass


def _unique_fields(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in pairs:
        if name in fields:
            raise _DuplicateField(name)
        fields[name] = value
    return fields


def _refuse_constant(name: str) -> Any:
    raise _NonFiniteNumber(name)


def _required() -> ApiError:
    return ApiError(400, "request body is required", reason="body_required")


def _not_utf8() -> ApiError:
    return ApiError(400, "request body is not valid UTF-8", reason="body_not_utf8")


def _too_deep(max_depth: int) -> ApiError:
    return ApiError(400, f"request body nests more than {max_depth} levels deep", reason="body_too_deep")


# ---------------------------------------------------------------- Idempotency-Key


def read_idempotency_key(value: str | None, *, required: bool) -> str | None:
    """The Idempotency-Key header's value; None when it is absent and not required."""
    if value is None or value == "":
        if required:
            raise ApiError(400, "Idempotency-Key header is required", reason="idempotency_key_missing")
        if value is None:
            return None
    if not IDEMPOTENCY_KEY_PATTERN.fullmatch(value):
        raise ApiError(
            400, "Idempotency-Key must be 1-128 characters of [A-Za-z0-9._:+/=-]", reason="idempotency_key_invalid"
        )
    return value


# ---------------------------------------------------------------- error responses


def error_response(
    status_code: int, message: str, *, reason: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    body: dict[str, str] = {"message": message}
    if reason:
        body["reason"] = reason
    return Response(
        status_code=status_code,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=dict(headers) if headers else None,
    )


def handle_errors(
    app: APIGatewayRestResolver, logger: Logger, *, error_headers: Mapping[str, str] | None = None
) -> None:
    """Register on `app` the shared answers: 404/405 for unrouted requests, 4xx for every
    ServiceError (ApiError included), and a logged 500 for anything else.

    `error_headers` go on every error response (e.g. Cache-Control: no-store). Register an API's
    own, more specific exception handlers as usual: Powertools picks the closest class.
    """
    common_headers = dict(error_headers or {})

    def respond(status_code: int, message: str, reason: str | None, headers: Mapping[str, str] | None = None):
        return error_response(status_code, message, reason=reason, headers={**common_headers, **(headers or {})})

    @app.exception_handler(ServiceError)
    def refuse(error: ServiceError) -> Response:
        if isinstance(error, ApiError):
            return respond(error.status_code, error.message, error.reason, error.headers)
        status = int(error.status_code)
        if status >= 500:
            logger.error("service error", extra={"status": status, "detail": str(error.msg)})
        return respond(status, error.msg if isinstance(error.msg, str) else json.dumps(error.msg), None)

    @app.not_found
    def unrouted(error: NotFoundError) -> Response:
        method = app.current_event.http_method.upper()
        allowed = allowed_methods(app, app.context.get("_path") or app.current_event.path)
        if method in allowed:  # a route raised NotFoundError itself: answer with its message
            return refuse(error)
        if allowed:
            return respond(
                405,
                f"method {method} is not allowed here; allowed: {', '.join(allowed)}",
                "method_not_allowed",
                {"Allow": ", ".join(allowed)},
            )
        return respond(404, "not found", "not_found")

    @app.exception_handler(Exception)
    def fail(_error: Exception) -> Response:
        # Our fault, not the caller's: log it, keep the CORS headers, and say nothing internal.
        logger.exception("unhandled error")
        return respond(500, INTERNAL_ERROR, "internal_error")


def allowed_methods(app: APIGatewayRestResolver, path: str) -> list[str]:
    """The methods `app` routes for `path`, sorted (empty when no route matches the path at all)."""
    # Powertools 3.37 has no public route lookup; this is the one place that reads its route table.
    routes = [*app._static_routes, *app._dynamic_routes]  # noqa: SLF001
    return sorted({route.method.upper() for route in routes if route.rule.match(path)})


def resolve(app: APIGatewayRestResolver, event: dict[str, Any], context: Any, logger: Logger) -> dict[str, Any]:
    """`app.resolve`, with a last-resort JSON 500 for a failure outside any route (e.g. building
    the response), so no exception ever leaves the function as an API Gateway 502."""
    try:
        return app.resolve(event, context)
    except Exception:
        logger.exception("request could not be resolved")
        return {
            "statusCode": 500,
            "headers": {"Content-Type": content_types.APPLICATION_JSON},
            "body": json.dumps({"message": INTERNAL_ERROR, "reason": "internal_error"}),
            "isBase64Encoded": False,
        }
