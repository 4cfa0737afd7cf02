"""To-do validation, the public JSON shape, and the opaque list cursor. No AWS here."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from api_common.http import ApiError

TITLE_MAX_CHARS = 200
NOTES_MAX_CHARS = 2000
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_CURSOR_CHARS = 512
MAX_BODY_BYTES = 16 * 1024  # a valid to-do (200-char title, 2000-char notes) is well under this

EDITABLE_FIELDS = ("title", "done", "notes")
SERVER_FIELDS = ("todoId", "userId", "createdAt", "updatedAt")
PUBLIC_FIELDS = ("todoId", "title", "done", "notes", "createdAt", "updatedAt")
# v2 (stage v2, served beside v1 during the migration) adds `priority`; v1 neither shows nor accepts it.
API_VERSIONS = ("v1", "v2")
PRIORITIES = ("low", "normal", "high")
DEFAULT_PRIORITY = "normal"
V2_EDITABLE_FIELDS = (*EDITABLE_FIELDS, "priority")
V2_PUBLIC_FIELDS = (*PUBLIC_FIELDS, "priority")

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_NOTES_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # notes may hold tabs and line breaks
_DIGITS = re.compile(r"^[0-9]{1,3}$")


def validate_new_todo(body: Mapping[str, Any], version: str = "v1") -> dict[str, Any]:
    """The attributes of a new to-do: `title` required, `done` defaults to false, `notes` optional;
    in v2 also `priority` (low, normal or high; default normal)."""
    _refuse_unknown_fields(body, version)
    if "title" not in body:
        raise ApiError(400, "'title' is required")
    todo: dict[str, Any] = {"title": _title(body["title"]), "done": False}
    if "done" in body:
        todo["done"] = _done(body["done"])
    if body.get("notes") is not None:
        todo["notes"] = _notes(body["notes"])
    if version == "v2":
        todo["priority"] = _priority(body.get("priority", DEFAULT_PRIORITY))
    return todo


def request_fingerprint(todo: Mapping[str, Any]) -> str:
    """Identifies "the same create request" for Idempotency-Key: the validated to-do, so spacing,
    field order and a spelled-out default (`"done": false`) do not make a retry look different."""
    canonical = json.dumps(todo, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def validate_todo_changes(body: Mapping[str, Any], version: str = "v1") -> dict[str, Any]:
    """The attributes a PUT changes; a `notes` of None means remove the notes."""
    _refuse_unknown_fields(body, version)
    if not body:
        raise ApiError(400, f"nothing to update: send at least one of {', '.join(_editable(version))}")
    changes: dict[str, Any] = {}
    if "title" in body:
        changes["title"] = _title(body["title"])
    if "done" in body:
        changes["done"] = _done(body["done"])
    if "notes" in body:
        changes["notes"] = None if body["notes"] is None else _notes(body["notes"])
    if "priority" in body:
        changes["priority"] = _priority(body["priority"])
    return changes


def parse_todo_id(todo_id: str) -> str:
    """Ids are server-made lowercase UUIDs; one spelling per item keeps cache keys unambiguous."""
    try:
        canonical = str(uuid.UUID(todo_id))
    except (ValueError, TypeError, AttributeError):
        canonical = None
    if canonical != todo_id:
        raise ApiError(400, "todoId must be a lowercase UUID as returned by POST /todos")
    return todo_id


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _DIGITS.match(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def encode_cursor(user_id: str, todo_id: str) -> str:
    payload = json.dumps({"u": user_id, "t": todo_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str | None, user_id: str) -> str | None:
    """The todoId to resume after, or None for the first page.

    The cursor names its partition so a cursor copied from another account is refused
    instead of silently starting that caller's list over.
    """
    if cursor is None:
        return None
    malformed = ApiError(400, "cursor is malformed; pass back nextCursor from a previous page unchanged")
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise malformed
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise malformed from None
    if not isinstance(payload, dict) or set(payload) != {"u", "t"}:
        raise malformed
    if not isinstance(payload["u"], str) or not isinstance(payload["t"], str):
        raise malformed
    if payload["u"] != user_id:
        raise ApiError(400, "cursor was issued to a different caller")
    try:
        return parse_todo_id(payload["t"])
    except ApiError:
        raise malformed from None


def public_todo(item: Mapping[str, Any], version: str = "v1") -> dict[str, Any]:
    """The to-do as clients of `version` see it: never the owner's id; in v2 always with a priority
    (a to-do created through v1 has the default)."""
    if version == "v2":
        return {**{field: item[field] for field in V2_PUBLIC_FIELDS if field in item},
                "priority": item.get("priority", DEFAULT_PRIORITY)}
    return {field: item[field] for field in PUBLIC_FIELDS if field in item}


def api_version(stage_variables: Mapping[str, str] | None) -> str:
    """The major version a request was made to: the stage's `apiVersion` variable (v1 when absent)."""
    version = (stage_variables or {}).get("apiVersion", "v1")
    if version not in API_VERSIONS:
        # A stage this code doesn't know: a deployment mistake, not the caller's.
        raise ValueError(f"stage variable apiVersion={version!r}; this code serves {', '.join(API_VERSIONS)}")
    return version


def _editable(version: str) -> tuple[str, ...]:
    return V2_EDITABLE_FIELDS if version == "v2" else EDITABLE_FIELDS


def _priority(value: Any) -> str:
    if value not in PRIORITIES:
        raise ApiError(400, f"priority must be one of {', '.join(PRIORITIES)}")
    return str(value)


def _refuse_unknown_fields(body: Mapping[str, Any], version: str = "v1") -> None:
    server_set = sorted(set(body) & set(SERVER_FIELDS))
    if server_set:
        raise ApiError(400, f"{', '.join(map(repr, server_set))} cannot be sent: the server sets it")
    editable = _editable(version)
    unknown = sorted(set(body) - set(editable))
    if unknown:
        raise ApiError(
            400, f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(editable)}"
        )


def _title(value: Any) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "'title' must be a string")
    _require_utf8(value, "title")
    title = value.strip()
    if not 1 <= len(title) <= TITLE_MAX_CHARS:
        raise ApiError(400, f"'title' must be 1 to {TITLE_MAX_CHARS} characters (surrounding spaces excluded)")
    if _CONTROL_CHARS.search(title):
        raise ApiError(400, "'title' must not contain control characters")
    return title


def _done(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ApiError(400, "'done' must be true or false")
    return value


def _notes(value: Any) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "'notes' must be a string or null")
    _require_utf8(value, "notes")
    if len(value) > NOTES_MAX_CHARS:
        raise ApiError(400, f"'notes' must be at most {NOTES_MAX_CHARS} characters")
    if _NOTES_CONTROL_CHARS.search(value):
        raise ApiError(400, "'notes' must not contain control characters other than tab and line breaks")
    return value


def _require_utf8(value: str, field: str) -> None:
    # json.loads accepts lone surrogates ("\ud800"), which DynamoDB would reject later with a 500.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, f"'{field}' is not valid Unicode text") from None
