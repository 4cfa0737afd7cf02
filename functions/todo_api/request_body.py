"""Reading a JSON object from an API Gateway proxy request body, within a size limit."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from todo_api.errors import ApiError

MAX_BODY_BYTES = 16 * 1024  # a valid to-do (200-char title, 2000-char notes) is well under this


def read_json_object(body: str | None, is_base64_encoded: bool, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    if body is None or body == "":
        raise ApiError(400, "a JSON object body is required")
    if is_base64_encoded:
        # Base64 inflates by 4/3; checking first avoids decoding a huge payload.
        if len(body) > (max_bytes + 2) // 3 * 4 + 4:
            raise ApiError(413, f"the request body is larger than {max_bytes} bytes")
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "the request body is not valid base64") from None
    else:
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiError(400, "the request body is not valid UTF-8") from None
    if len(raw) > max_bytes:
        raise ApiError(413, f"the request body is larger than {max_bytes} bytes")
    try:
        parsed = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return parsed
