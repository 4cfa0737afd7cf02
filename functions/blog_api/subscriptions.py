"""Newsletter subscriptions (double opt-in): validate the request, store a pending subscriber once,
confirm it from a signed link, and forget it from a signed unsubscribe link.

    subscribe ──▶ "pending" ──(welcome_email mails a confirmation link)──▶ confirm ──▶ "confirmed"
                                                            (welcome_email mails the welcome)
    unsubscribe (signed link) ──▶ the item is deleted: nothing personal is kept

A pending subscriber whose link expired may subscribe again: the item is replaced (a new
`subscribedAt`), which earns one new confirmation mail. Anything else about an address already
stored is left alone, so the endpoint can't be used to mail a stranger more than once per window.

The body itself (Content-Type, size, base64, strict JSON) is read by api_common.http.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from api_common.http import ApiError

MAX_BODY_BYTES = 2048
MAX_EMAIL_CHARS = 254  # RFC 5321 path limit
MAX_LOCAL_PART_CHARS = 64
MAX_NAME_CHARS = 100
ALLOWED_FIELDS = frozenset({"email", "name"})

SUBSCRIBER_SK = "PROFILE"
SUBSCRIBER_TYPE = "subscriber"
PENDING = "pending"
CONFIRMED = "confirmed"

# Dot-atom local part and a host name with at least two labels. Quoted local
# parts, comments and IP literals are legal in RFC 5322 but never typed into a
# newsletter form, and SES needs ASCII addresses (IDN domains in punycode).
_LOCAL_PART = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TOP_LEVEL_DOMAIN = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")

# Control, format (bidi overrides, zero-width), surrogate, private-use and unassigned.
_FORBIDDEN_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})


class SubscriptionError(ApiError):
    """A request we refuse; `status_code` is the HTTP status to answer with."""

    def __init__(self, message: str, status_code: int = 400):
        super().__init__(status_code, message)


@dataclass(frozen=True)
class Subscription:
    email: str
    name: str | None


def validate_subscription(fields: dict[str, Any]) -> Subscription:
    """The subscription in a request body's JSON object."""
    unknown = sorted(set(fields) - ALLOWED_FIELDS)
    if unknown:
        raise SubscriptionError(f"unknown field(s): {', '.join(unknown)}")
    if "email" not in fields:
        raise SubscriptionError("email is required")
    name = validate_name(fields["name"]) if "name" in fields else None
    return Subscription(email=normalise_email(fields["email"]), name=name)


def normalise_email(value: Any) -> str:
    if not isinstance(value, str):
        raise SubscriptionError("email must be a string")
    email = value.strip()
    if not email:
        raise SubscriptionError("email is required")
    if len(email) > MAX_EMAIL_CHARS:
        raise SubscriptionError(f"email must be at most {MAX_EMAIL_CHARS} characters")
    # Before lower(): some non-ASCII letters (the Kelvin sign) lower-case to ASCII.
    if not email.isascii():
        raise SubscriptionError("email is not a valid address")
    email = email.lower()
    local, at, domain = email.rpartition("@")
    if not at or len(local) > MAX_LOCAL_PART_CHARS or not _LOCAL_PART.fullmatch(local):
        raise SubscriptionError("email is not a valid address")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels):
        raise SubscriptionError("email is not a valid address")
    if not _TOP_LEVEL_DOMAIN.fullmatch(labels[-1]):
        raise SubscriptionError("email is not a valid address")
    return email


def validate_name(value: Any) -> str:
    if not isinstance(value, str):
        raise SubscriptionError("name must be a string")
    name = unicodedata.normalize("NFC", value).strip()
    if not 1 <= len(name) <= MAX_NAME_CHARS:
        raise SubscriptionError(f"name must be 1 to {MAX_NAME_CHARS} characters")
    if any(unicodedata.category(char) in _FORBIDDEN_NAME_CATEGORIES for char in name):
        raise SubscriptionError("name contains characters that are not allowed")
    return name


def subscriber_key(email: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"SUBSCRIBER#{email}"}, "sk": {"S": SUBSCRIBER_SK}}


def subscriber_item(subscription: Subscription, *, subscribed_at: str, origin_region: str) -> dict[str, dict[str, str]]:
    """The pending subscriber item in DynamoDB JSON; `originRegion` lets the mailer skip replicas."""
    item = {
        **subscriber_key(subscription.email),
        "type": {"S": SUBSCRIBER_TYPE},
        "email": {"S": subscription.email},
        "status": {"S": PENDING},
        "subscribedAt": {"S": subscribed_at},
        "originRegion": {"S": origin_region},
    }
    if subscription.name is not None:
        item["name"] = {"S": subscription.name}
    return item


def store_subscriber(dynamodb: Any, table_name: str, item: dict[str, dict[str, str]], *, stale_before: str) -> bool:
    """Write the pending subscriber unless the address is already stored; True when (re)stored.

    An address whose pending subscription started before `stale_before` (its link has expired) is
    replaced, so its owner can ask again; a confirmed or freshly pending one is never touched, so
    each pending subscriber gets one confirmation mail and each confirmed one a single welcome.
    """
    try:
        dynamodb.put_item(
            TableName=table_name,
            Item=item,
            ConditionExpression="attribute_not_exists(pk) OR (#status = :pending AND subscribedAt < :stale)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":pending": {"S": PENDING}, ":stale": {"S": stale_before}},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


def confirm_subscriber(dynamodb: Any, table_name: str, email: str, *, confirmed_at: str, origin_region: str) -> str:
    """Make a pending subscriber confirmed: "confirmed" when this call did it, "already" when it was,
    "missing" when there is no such subscriber (never subscribed, or unsubscribed since)."""
    try:
        dynamodb.update_item(
            TableName=table_name,
            Key=subscriber_key(email),
            UpdateExpression="SET #status = :confirmed, confirmedAt = :now, originRegion = :region",
            ConditionExpression="#status = :pending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":confirmed": {"S": CONFIRMED}, ":pending": {"S": PENDING},
                                       ":now": {"S": confirmed_at}, ":region": {"S": origin_region}},
            # Tells "already confirmed" from "missing" without a read of subscribers (the API has none).
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except dynamodb.exceptions.ConditionalCheckFailedException as failed:
        old = failed.response.get("Item") or {}
        return "already" if old.get("status", {}).get("S") == CONFIRMED else "missing"
    return CONFIRMED


def forget_subscriber(dynamodb: Any, table_name: str, email: str) -> None:
    """Unsubscribe: delete the item, pending or confirmed (idempotent)."""
    dynamodb.delete_item(TableName=table_name, Key=subscriber_key(email))
