"""Blog posts in the single table: key design, public view, listing and lookup.

Item layout (one item per post):
    pk            "POST#<slug>"
    sk            "POST"
    type          "post"
    slug, title, summary, body (HTML fragment), tags (list of strings)
    status        "published" | "draft"
    publishedAt   ISO-8601 UTC, e.g. "2024-05-02T09:00:00Z"
    publishedFeed "POSTS", present only while the post is published

`publishedFeed` makes the GSI `published-posts` sparse: drafts are not in the
index at all, so listing is one Query, newest first, with no scan.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from api_common.http import ApiError

PUBLISHED_INDEX = "published-posts"
PUBLISHED_FEED = "POSTS"
POST_SK = "POST"
PUBLISHED = "published"
DRAFT = "draft"

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
MAX_CURSOR_CHARS = 512
MAX_SLUG_CHARS = 100

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# What a reader may see; keys, status and the feed marker stay internal.
SUMMARY_FIELDS = ("slug", "title", "summary", "publishedAt", "tags")
DETAIL_FIELDS = (*SUMMARY_FIELDS, "body")

_CURSOR_KEYS = frozenset({"pk", "sk", "publishedFeed", "publishedAt"})

DEFAULT_MAX_AGE = 60
MAX_MAX_AGE = 86400

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def cache_control(max_age: str | None) -> str:
    """Cache-Control for a successful GET, shared by CloudFront and browsers (env POSTS_MAX_AGE)."""
    if max_age is None or max_age == "":
        seconds = DEFAULT_MAX_AGE
    elif max_age.isascii() and max_age.isdigit() and int(max_age) <= MAX_MAX_AGE:
        seconds = int(max_age)
    else:
        raise ValueError(f"POSTS_MAX_AGE must be an integer number of seconds from 0 to {MAX_MAX_AGE}, got {max_age!r}")
    return f"public, max-age={seconds}"


class PostQueryError(ApiError):
    """A GET request whose parameters cannot be honoured (answered with 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


@dataclass(frozen=True)
class PostPage:
    posts: list[dict[str, Any]]
    next_cursor: str | None


def post_key(slug: str) -> dict[str, str]:
    return {"pk": f"POST#{slug}", "sk": POST_SK}


def post_item(
    *,
    slug: str,
    title: str,
    summary: str,
    body: str,
    published_at: str,
    status: str = PUBLISHED,
    tags: list[str] | None = None,
) -> dict[str, Any]:
    """Build a post item with the keys and the sparse-index marker set consistently."""
    if not is_valid_slug(slug):
        raise ValueError(f"invalid slug: {slug!r}")
    if status not in (PUBLISHED, DRAFT):
        raise ValueError(f"status must be {PUBLISHED!r} or {DRAFT!r}")
    item: dict[str, Any] = {
        **post_key(slug),
        "type": "post",
        "slug": slug,
        "title": title,
        "summary": summary,
        "body": body,
        "tags": list(tags or []),
        "status": status,
        "publishedAt": published_at,
    }
    if status == PUBLISHED:
        item["publishedFeed"] = PUBLISHED_FEED
    return item


def is_valid_slug(slug: str) -> bool:
    return len(slug) <= MAX_SLUG_CHARS and SLUG_PATTERN.fullmatch(slug) is not None


def parse_limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or len(raw) > 3:
        raise PostQueryError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    limit = int(raw)
    if not 1 <= limit <= MAX_LIMIT:
        raise PostQueryError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return limit


def encode_cursor(last_evaluated_key: dict[str, Any]) -> str:
    plain = {name: _deserializer.deserialize(value) for name, value in last_evaluated_key.items()}
    raw = json.dumps(plain, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> dict[str, Any]:
    """Turn an opaque cursor back into an ExclusiveStartKey, refusing anything we did not issue."""
    invalid = PostQueryError("cursor is invalid")
    if not cursor or len(cursor) > MAX_CURSOR_CHARS or not cursor.isascii():
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        plain = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise invalid from None
    if not isinstance(plain, dict) or set(plain) != _CURSOR_KEYS:
        raise invalid
    if not all(isinstance(value, str) for value in plain.values()):
        raise invalid
    if plain["publishedFeed"] != PUBLISHED_FEED or plain["sk"] != POST_SK:
        raise invalid
    if not plain["pk"].startswith("POST#") or not is_valid_slug(plain["pk"][len("POST#") :]):
        raise invalid
    return {name: _serializer.serialize(value) for name, value in plain.items()}


def public_view(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(item[name]) for name in fields if name in item}


def list_published_posts(dynamodb: Any, table_name: str, *, limit: int, cursor: str | None) -> PostPage:
    """Newest published posts first, one page of at most `limit`."""
    request: dict[str, Any] = {
        "TableName": table_name,
        "IndexName": PUBLISHED_INDEX,
        "KeyConditionExpression": "publishedFeed = :feed",
        # The index is sparse already; the filter guards against a draft that
        # was left with the feed marker by a faulty editor.
        "FilterExpression": "#status = :published",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":feed": {"S": PUBLISHED_FEED}, ":published": {"S": PUBLISHED}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if cursor is not None:
        request["ExclusiveStartKey"] = decode_cursor(cursor)
    response = dynamodb.query(**request)
    posts = [public_view(_deserialize(item), SUMMARY_FIELDS) for item in response.get("Items", [])]
    last_key = response.get("LastEvaluatedKey")
    return PostPage(posts=posts, next_cursor=encode_cursor(last_key) if last_key else None)


def get_published_post(dynamodb: Any, table_name: str, slug: str) -> dict[str, Any] | None:
    """The full post, or None when it is missing or not published (drafts never leak)."""
    response = dynamodb.get_item(
        TableName=table_name,
        Key={name: {"S": value} for name, value in post_key(slug).items()},
    )
    raw = response.get("Item")
    if raw is None:
        return None
    item = _deserialize(raw)
    if item.get("status") != PUBLISHED:
        return None
    return public_view(item, DETAIL_FIELDS)


def _deserialize(raw: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in raw.items()}


def _plain(value: Any) -> Any:
    """DynamoDB numbers and sets into JSON-friendly values."""
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
