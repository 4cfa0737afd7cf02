"""Posts as authors write them: validation, versioned writes that are safe to retry, and what readers must refetch.

The item layout is the shared package `blog_posts`' (the public API reads the same items): keys,
`status`, and the sparse index's `publishedFeed`, set only while published. Authoring adds fields
readers never see (the public view is a whitelist):

    version              1, 2, ...: every change adds one; updates and unpublish name the version they change
    createdAt, updatedAt ISO-8601 UTC; updatedBy: the author's Cognito `sub`
    lastWrite            fingerprint of the request that made this version (replays are recognised by it)
    invalidationPending  true while readers' caches still hold an older answer (set with the write)
    invalidationId       the CloudFront invalidation requested for this version

Idempotency is the write itself: a request that finds its own fingerprint on the current version is
a replay and gets the same answer without a second write; any other request at a stale version is a
409. One conditional PutItem per change, no idempotency table, and two authors can't overwrite each
other's edits unseen.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

import blog_posts
from api_common.http import ApiError
from blog_posts import DRAFT, PUBLISHED

MAX_REQUEST_BYTES = 192 * 1024
MAX_TITLE_CHARS = 200
MAX_SUMMARY_CHARS = 500
MAX_BODY_CHARS = 150_000  # DynamoDB items stop at 400 KB
MAX_TAGS = 10
MAX_TAG_CHARS = 40

CONTENT_FIELDS = ("title", "summary", "body", "tags")
CREATE_FIELDS = frozenset({"slug", "status", *CONTENT_FIELDS})
UPDATE_FIELDS = frozenset({"version", "status", *CONTENT_FIELDS})
UNPUBLISH_FIELDS = frozenset({"version"})
# What an author sees of a post (keys and bookkeeping stay internal).
AUTHOR_FIELDS = ("slug", "title", "summary", "body", "tags", "status", "publishedAt", "version", "createdAt",
                 "updatedAt")

Operation = Literal["create", "update", "unpublish"]


class InvalidPost(ApiError):
    """A request body we refuse (400), naming the field."""

    def __init__(self, message: str, reason: str = "invalid_post") -> None:
        super().__init__(400, message, reason=reason)


@dataclass(frozen=True)
class PostWrite:
    """One validated change to one post."""

    operation: Operation
    slug: str
    expected_version: int | None
    """The version it changes (None when creating)."""
    status: str | None
    """The status it sets (None: unchanged)."""
    content: dict[str, Any]
    """title, summary, body, tags (create and update)."""

    @property
    def fingerprint(self) -> str:
        """Same request, same fingerprint: how a retry is told from another author's write."""
        plain = {"op": self.operation, "slug": self.slug, "expected": self.expected_version, "status": self.status,
                 "content": self.content}
        return hashlib.sha256(json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class WriteOutcome:
    item: dict[str, Any]
    """The post as stored (plain values)."""
    replayed: bool
    """The same request had already been applied: nothing was written."""
    changed: bool
    """A new version was written (False for a replay, or an unpublish of a draft)."""


# ---------------------------------------------------------------- validation

def slug_of(value: Any) -> str:
    if not isinstance(value, str) or not blog_posts.is_valid_slug(value):
        raise InvalidPost(f"slug must be 1 to {blog_posts.MAX_SLUG_CHARS} lower-case letters, digits and single "
                          f"hyphens", reason="invalid_slug")
    return value


def parse_create(fields: dict[str, Any]) -> PostWrite:
    _known(fields, CREATE_FIELDS)
    if "slug" not in fields:
        raise InvalidPost("slug is required")
    return PostWrite("create", slug_of(fields["slug"]), None, _status(fields.get("status", DRAFT)),
                     _content(fields))


def parse_update(slug: str, fields: dict[str, Any]) -> PostWrite:
    _known(fields, UPDATE_FIELDS)
    status = _status(fields["status"]) if "status" in fields else None
    return PostWrite("update", slug_of(slug), _version(fields), status, _content(fields))


def parse_unpublish(slug: str, fields: dict[str, Any]) -> PostWrite:
    _known(fields, UNPUBLISH_FIELDS)
    return PostWrite("unpublish", slug_of(slug), _version(fields), DRAFT, {})


def _known(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise InvalidPost(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
                          reason="unknown_field")


def _status(value: Any) -> str:
    if value not in blog_posts.STATUSES:
        raise InvalidPost(f"status must be one of: {', '.join(blog_posts.STATUSES)}")
    return str(value)


def _version(fields: dict[str, Any]) -> int:
    value = fields.get("version")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidPost("version is required: the post's current version (an integer from 1), as last read")
    return value


def _text(fields: dict[str, Any], name: str, *, low: int, high: int) -> str:
    value = fields.get(name, "" if low == 0 else None)
    if not isinstance(value, str):
        raise InvalidPost(f"{name} is required (a string)")
    value = value.strip()
    if not low <= len(value) <= high:
        raise InvalidPost(f"{name} must be {low} to {high} characters")
    return value


def _content(fields: dict[str, Any]) -> dict[str, Any]:
    tags = fields.get("tags", [])
    if not isinstance(tags, list) or len(tags) > MAX_TAGS or not all(
            isinstance(t, str) and len(t) <= MAX_TAG_CHARS and blog_posts.SLUG_PATTERN.fullmatch(t) for t in tags):
        raise InvalidPost(f"tags must be a list of at most {MAX_TAGS} tags, each 1 to {MAX_TAG_CHARS} lower-case "
                          f"letters, digits and single hyphens")
    if len(set(tags)) != len(tags):
        raise InvalidPost("tags must not repeat")
    return {"title": _text(fields, "title", low=1, high=MAX_TITLE_CHARS),
            "summary": _text(fields, "summary", low=0, high=MAX_SUMMARY_CHARS),
            "body": _text(fields, "body", low=1, high=MAX_BODY_CHARS),
            "tags": list(tags)}


# ---------------------------------------------------------------- the table

def read_post(dynamodb: Any, table_name: str, slug: str) -> dict[str, Any] | None:
    """The stored post, draft or published (consistent: a version just written is seen)."""
    raw = dynamodb.get_item(TableName=table_name, Key=blog_posts.typed_post_key(slug), ConsistentRead=True).get("Item")
    return None if raw is None else blog_posts.from_dynamodb(raw)


def stored_version(item: dict[str, Any]) -> int:
    """A post's version; one written before authoring existed (no `version`) is version 1."""
    return int(item.get("version", 1))


def next_item(write: PostWrite, current: dict[str, Any] | None, *, now: str, author: str) -> dict[str, Any]:
    """The post after `write`, from the current one (None when creating)."""
    base = dict(current or {})
    for bookkeeping in ("invalidationId", "invalidationPending", "publishedFeed"):
        base.pop(bookkeeping, None)
    status = write.status or base.get("status", DRAFT)
    version = 1 if current is None else stored_version(current) + 1
    item = {**base, **write.content, **blog_posts.post_key(write.slug), "type": blog_posts.POST_TYPE,
            "slug": write.slug, "status": status, "version": version, "createdAt": base.get("createdAt", now),
            "updatedAt": now, "updatedBy": author, "lastWrite": write.fingerprint}
    if status == PUBLISHED:
        # The first publication date stays: unpublishing and publishing again keeps the post's place.
        item.setdefault("publishedAt", now)
    item.update(blog_posts.feed_marker(status))
    # Readers' caches may hold this post (or its absence from the list) when it is, or was, public,
    # or while an earlier version's refresh never happened.
    if blog_posts.is_published(current) or status == PUBLISHED or (current or {}).get("invalidationPending"):
        item["invalidationPending"] = True
    return item


def apply_write(dynamodb: Any, table_name: str, write: PostWrite, *, now: str, author: str) -> WriteOutcome:
    """Store `write` once: a replay returns the stored result; a stale or clashing write is a 409."""
    current = read_post(dynamodb, table_name, write.slug)
    if current is not None and current.get("lastWrite") == write.fingerprint:
        return WriteOutcome(current, replayed=True, changed=False)
    _check_precondition(write, current)
    if (write.operation == "unpublish" and not blog_posts.is_published(current)
            and not (current or {}).get("invalidationPending")):
        assert current is not None
        return WriteOutcome(current, replayed=False, changed=False)
    item = next_item(write, current, now=now, author=author)
    try:
        dynamodb.put_item(TableName=table_name, Item=blog_posts.to_dynamodb(item), **_unchanged_since_read(current))
    except dynamodb.exceptions.ConditionalCheckFailedException:
        # Another request won the race: the same one (a concurrent retry) is a replay, anything else a conflict.
        latest = read_post(dynamodb, table_name, write.slug)
        if latest is not None and latest.get("lastWrite") == write.fingerprint:
            return WriteOutcome(latest, replayed=True, changed=False)
        raise _conflict(latest) from None
    return WriteOutcome(item, replayed=False, changed=True)


def _unchanged_since_read(current: dict[str, Any] | None) -> dict[str, Any]:
    """The PutItem condition: the post is still as read (absent, or at the version read)."""
    if current is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    if "version" not in current:  # written before authoring existed
        return {"ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(version)"}
    return {"ConditionExpression": "version = :expected",
            "ExpressionAttributeValues": {":expected": {"N": str(current["version"])}}}


def _check_precondition(write: PostWrite, current: dict[str, Any] | None) -> None:
    if write.operation == "create":
        if current is not None:
            raise ApiError(409, f"a post with slug {write.slug!r} exists; update it with PUT /posts/{write.slug}",
                           reason="post_exists")
        return
    if current is None:
        raise ApiError(404, "post not found", reason="post_not_found")
    if stored_version(current) != write.expected_version:
        raise _conflict(current)


def _conflict(current: dict[str, Any] | None) -> ApiError:
    version = None if current is None else stored_version(current)
    return ApiError(409, f"the post changed since you read it (its version is now {version}); read it again and "
                         f"apply your change to that version", reason="version_conflict")


def record_invalidation(dynamodb: Any, table_name: str, item: dict[str, Any], invalidation_id: str) -> None:
    """Mark this version's caches refreshed; a newer version (with its own refresh) is left alone."""
    try:
        dynamodb.update_item(
            TableName=table_name, Key=blog_posts.typed_post_key(item["slug"]),
            UpdateExpression="SET invalidationId = :id REMOVE invalidationPending",
            ConditionExpression="version = :version",
            ExpressionAttributeValues={":id": {"S": invalidation_id}, ":version": {"N": str(item["version"])}})
    except dynamodb.exceptions.ConditionalCheckFailedException:
        pass


# ---------------------------------------------------------------- what readers must refetch

def invalidation_paths(templates: list[str], slug: str) -> list[str]:
    """The viewer paths whose answers this post's change alters: the posts API, and the post's page(s)."""
    return list(dict.fromkeys(template.replace("{slug}", slug) for template in templates))


def caller_reference(item: dict[str, Any]) -> str:
    """One per version: a retried request asks CloudFront again with the same reference (no second invalidation)."""
    return f"post-{item['slug']}-v{int(item['version'])}-{str(item['lastWrite'])[:16]}"


def author_view(item: dict[str, Any]) -> dict[str, Any]:
    return blog_posts.view(item, AUTHOR_FIELDS) | {"version": stored_version(item)}

