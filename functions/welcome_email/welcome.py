"""Which stream records earn a mail (double opt-in), and how it is sent.

    INSERT, or MODIFY to a new pending subscription   ──▶ the confirmation mail (a signed, expiring link)
    MODIFY from pending to confirmed                   ──▶ the welcome mail (a signed unsubscribe link)
    anything else (replicas, posts, REMOVE, no change) ──▶ nothing
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

import subscription_tokens as tokens

SUBSCRIBER_PK_PREFIX = "SUBSCRIBER#"
SUBSCRIBER_SK = "PROFILE"
SUBSCRIBER_TYPE = "subscriber"
PENDING = "pending"
CONFIRMED = "confirmed"
CONFIRMATION = "confirmation"
WELCOME = "welcome"
CONFIRM_PATH = "/api/subscriptions/confirm"
UNSUBSCRIBE_PATH = "/api/subscriptions/unsubscribe"
MAX_NAME_CHARS = 100
# Greeting when the subscriber gave no name: the template reads "Hi {{name}},".
ANONYMOUS_NAME = "there"


@dataclass(frozen=True)
class Subscriber:
    email: str
    name: str | None
    kind: str = WELCOME
    """CONFIRMATION or WELCOME: which mail is due."""
    subscribed_at: str = ""
    """The pending subscription's start: with kind and email, what makes a mail unique."""

    def as_payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "email": self.email, "name": self.name, "subscribed_at": self.subscribed_at}


@dataclass(frozen=True)
class WelcomeDecision:
    """`subscriber` is set when a mail is due (its `kind` says which); otherwise `reason` says why not."""

    subscriber: Subscriber | None
    reason: str


def decide_welcome(
    event_name: str | None, new_image: dict[str, Any], home_region: str, old_image: dict[str, Any] | None = None
) -> WelcomeDecision:
    """A confirmation mail for a new pending subscription, a welcome for a confirmation; both only for
    items written in the home region.

    The event source mapping filters on the same conditions; this is the second
    line of defence, because a missing filter would otherwise email every replica write.
    """
    old_image = old_image or {}
    status, old_status = new_image.get("status"), old_image.get("status")
    if event_name == "INSERT" and status == PENDING:
        kind = CONFIRMATION
    elif (event_name == "MODIFY" and status == PENDING and old_status == PENDING
          and old_image.get("subscribedAt") != new_image.get("subscribedAt")):
        kind = CONFIRMATION  # an expired pending subscription, asked for again
    elif event_name == "MODIFY" and status == CONFIRMED and old_status == PENDING:
        kind = WELCOME
    else:
        return WelcomeDecision(None, f"{event_name} of a {status or 'status-less'} item earns no mail")
    pk = new_image.get("pk")
    if (
        new_image.get("type") != SUBSCRIBER_TYPE
        or new_image.get("sk") != SUBSCRIBER_SK
        or not isinstance(pk, str)
        or not pk.startswith(SUBSCRIBER_PK_PREFIX)
    ):
        return WelcomeDecision(None, "not a subscriber item")
    origin = new_image.get("originRegion")
    if origin != home_region:
        # Replicated from another region (or written without the attribute):
        # the home region welcomes only what it wrote itself, so replicas never double-send.
        return WelcomeDecision(None, f"written in {origin or 'an unknown region'}, not {home_region}")
    email = new_image.get("email")
    if not isinstance(email, str) or not email or pk != SUBSCRIBER_PK_PREFIX + email:
        return WelcomeDecision(None, "subscriber item has no usable email")
    subscribed_at = new_image.get("subscribedAt")
    if not isinstance(subscribed_at, str) or _epoch(subscribed_at) is None:
        return WelcomeDecision(None, "subscriber item has no usable subscribedAt")
    subscriber = Subscriber(email=email, name=_greeting_name(new_image.get("name")), kind=kind,
                            subscribed_at=subscribed_at)
    return WelcomeDecision(subscriber, "new pending subscriber" if kind == CONFIRMATION else "confirmed subscriber")


def confirmation_link(key: bytes, site_url: str, subscriber: Subscriber) -> str:
    """The confirmation link: valid CONFIRMATION_TTL_SECONDS from the subscription's start, which is
    also when the API lets the address subscribe again."""
    expires_at = int(_epoch(subscriber.subscribed_at) or 0) + tokens.CONFIRMATION_TTL_SECONDS
    token = tokens.sign(key, tokens.CONFIRM, subscriber.email, expires_at=expires_at)
    return f"{site_url.rstrip('/')}{CONFIRM_PATH}?token={quote(token, safe='')}"


def unsubscribe_link(key: bytes, site_url: str, subscriber: Subscriber) -> str:
    """The unsubscribe link: it never expires, so every mail's link keeps working."""
    token = tokens.sign(key, tokens.UNSUBSCRIBE, subscriber.email)
    return f"{site_url.rstrip('/')}{UNSUBSCRIBE_PATH}?token={quote(token, safe='')}"


def template_data(subscriber: Subscriber, link: str = "") -> dict[str, str]:
    """Values for the SES template placeholders: {{name}}, {{email}}, and {{confirmUrl}} (confirmation)
    or {{unsubscribeUrl}} (welcome)."""
    data = {"name": subscriber.name or ANONYMOUS_NAME, "email": subscriber.email}
    data["confirmUrl" if subscriber.kind == CONFIRMATION else "unsubscribeUrl"] = link
    return data


def send_welcome(
    ses: Any,
    subscriber: Subscriber,
    *,
    sender: str,
    template_name: str,
    configuration_set: str | None,
    link: str = "",
) -> str:
    """Send the templated mail (`template_name` is the one for the subscriber's kind); returns the SES
    message id."""
    request: dict[str, Any] = {
        "Source": sender,
        "Destination": {"ToAddresses": [subscriber.email]},
        "Template": template_name,
        "TemplateData": json.dumps(template_data(subscriber, link), ensure_ascii=False),
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    return ses.send_templated_email(**request)["MessageId"]


def _epoch(timestamp: str) -> float | None:
    try:
        return datetime.fromisoformat(timestamp).timestamp()
    except ValueError:
        return None


def _greeting_name(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    name = value.strip()
    return name[:MAX_NAME_CHARS] or None
