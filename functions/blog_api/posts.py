"""Blog posts as readers get them: listing, lookup, cursors and caching.

The item layout (keys, the sparse `published-posts` index, statuses) lives in the shared package
`blog_posts`, which the authors' API writes through too.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

import blog_posts
from api_common.http import ApiError

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
MAX_CURSOR_CHARS = 512

# What a reader may see; keys, status and the feed marker stay internal.
SUMMARY_FIELDS = ("slug", "title", "summary", "publishedAt", "tags")
DETAIL_FIELDS = (*SUMMARY_FIELDS, "body")

_CURSOR_KEYS = frozenset({"pk", "sk", "publishedFeed", "publishedAt"})

DEFAULT_MAX_AGE = 60
MAX_MAX_AGE = 86400


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
    plain = blog_posts.from_dynamodb(last_evaluated_key)
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
    if plain["publishedFeed"] != blog_posts.PUBLISHED_FEED or plain["sk"] != blog_posts.POST_SK:
        raise invalid
    if blog_posts.slug_of_pk(plain["pk"]) is None:
        raise invalid
    return blog_posts.to_dynamodb(plain)


def list_published_posts(dynamodb: Any, table_name: str, *, limit: int, cursor: str | None) -> PostPage:
    """Newest published posts first, one page of at most `limit`."""
    request: dict[str, Any] = {
        "TableName": table_name,
        "IndexName": blog_posts.PUBLISHED_INDEX,
        "KeyConditionExpression": "publishedFeed = :feed",
        # The index is sparse already; the filter guards against a draft that
        # was left with the feed marker by a faulty editor.
        "FilterExpression": "#status = :published",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {":feed": {"S": blog_posts.PUBLISHED_FEED},
                                      ":published": {"S": blog_posts.PUBLISHED}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if cursor is not None:
        request["ExclusiveStartKey"] = decode_cursor(cursor)
    response = dynamodb.query(**request)
    posts = [blog_posts.view(blog_posts.from_dynamodb(item), SUMMARY_FIELDS) for item in response.get("Items", [])]
    last_key = response.get("LastEvaluatedKey")
    return PostPage(posts=posts, next_cursor=encode_cursor(last_key) if last_key else None)


def get_published_post(dynamodb: Any, table_name: str, slug: str) -> dict[str, Any] | None:
    """The full post, or None when it is missing or not published (drafts never leak)."""
    raw = dynamodb.get_item(TableName=table_name, Key=blog_posts.typed_post_key(slug)).get("Item")
    if raw is None:
        return None
    item = blog_posts.from_dynamodb(raw)
    if not blog_posts.is_published(item):
        return None
    return blog_posts.view(item, DETAIL_FIELDS)

