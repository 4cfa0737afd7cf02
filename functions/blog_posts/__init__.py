"""Blog posts in the single table: the one home of the item layout.

Shared by blog_api (readers: lists and reads published posts) and blog_authoring (authors: writes
them). Bundled into each zip that imports it, as top-level `blog_posts`.

Item layout (one item per post):
    pk            "POST#<slug>"
    sk            "POST"
    type          "post"
    slug, title, summary, body (HTML fragment), tags (list of strings)
    status        "published" | "draft"
    publishedAt   ISO-8601 UTC, e.g. "2024-05-02T09:00:00Z"
    publishedFeed "POSTS", present only while the post is published

`publishedFeed` makes the GSI `published-posts` sparse: drafts are not in the index at all, so
listing is one Query, newest first, with no scan. Authoring adds bookkeeping readers never see
(`version`, `createdAt`, `updatedAt`, `updatedBy`, `lastWrite`, `invalidationPending`,
`invalidationId`; see blog_authoring/authoring.py): what a reader sees is a whitelist of fields.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

PUBLISHED_INDEX = "published-posts"
PUBLISHED_FEED = "POSTS"
PK_PREFIX = "POST#"
POST_SK = "POST"
POST_TYPE = "post"
PUBLISHED = "published"
DRAFT = "draft"
STATUSES = (PUBLISHED, DRAFT)

MAX_SLUG_CHARS = 100
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def is_valid_slug(slug: str) -> bool:
    return len(slug) <= MAX_SLUG_CHARS and SLUG_PATTERN.fullmatch(slug) is not None


def post_key(slug: str) -> dict[str, str]:
    return {"pk": f"{PK_PREFIX}{slug}", "sk": POST_SK}


def typed_post_key(slug: str) -> dict[str, dict[str, str]]:
    """post_key in DynamoDB's typed form, as the low-level client's Key takes it."""
    return {name: {"S": value} for name, value in post_key(slug).items()}


def slug_of_pk(pk: str) -> str | None:
    """The slug a partition key names, or None when it isn't a post's key."""
    slug = pk[len(PK_PREFIX):] if pk.startswith(PK_PREFIX) else ""
    return slug if is_valid_slug(slug) else None


def feed_marker(status: str) -> dict[str, str]:
    """The sparse index's attribute: set while published, absent otherwise."""
    return {"publishedFeed": PUBLISHED_FEED} if status == PUBLISHED else {}


def is_published(item: dict[str, Any] | None) -> bool:
    return item is not None and item.get("status") == PUBLISHED


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
    if status not in STATUSES:
        raise ValueError(f"status must be {PUBLISHED!r} or {DRAFT!r}")
    return {
        **post_key(slug),
        "type": POST_TYPE,
        "slug": slug,
        "title": title,
        "summary": summary,
        "body": body,
        "tags": list(tags or []),
        "status": status,
        "publishedAt": published_at,
        **feed_marker(status),
    }


def to_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    """A plain item in DynamoDB's typed form."""
    return {name: _serializer.serialize(value) for name, value in item.items()}


def from_dynamodb(raw: dict[str, Any]) -> dict[str, Any]:
    """A typed item (or key) as plain values (numbers as Decimal)."""
    return {name: _deserializer.deserialize(value) for name, value in raw.items()}


def view(item: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The whitelisted fields of an item, JSON-friendly, in `fields` order."""
    return {name: plain(item[name]) for name in fields if name in item}


def plain(value: Any) -> Any:
    """DynamoDB numbers and sets into JSON-friendly values."""
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
