"""Which stream records earn a welcome email, and how it is sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SUBSCRIBER_PK_PREFIX = "SUBSCRIBER#"
SUBSCRIBER_SK = "PROFILE"
SUBSCRIBER_TYPE = "subscriber"
MAX_NAME_CHARS = 100
# Greeting when the subscriber gave no name: the template reads "Hi {{name}},".
ANONYMOUS_NAME = "there"


@dataclass(frozen=True)
class Subscriber:
    email: str
    name: str | None

    def as_payload(self) -> dict[str, Any]:
        return {"email": self.email, "name": self.name}


@dataclass(frozen=True)
class WelcomeDecision:
    """`subscriber` is set when an email is due; otherwise `reason` says why not."""

    subscriber: Subscriber | None
    reason: str


def decide_welcome(event_name: str | None, new_image: dict[str, Any], home_region: str) -> WelcomeDecision:
    """Only a brand-new subscriber item written in the home region is welcomed.

    The event source mapping filters on the same conditions; this is the second
    line of defence, because a missing filter would otherwise email every replica write.
    """
    if event_name != "INSERT":
        return WelcomeDecision(None, f"{event_name} events are not welcomed")
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
    return WelcomeDecision(Subscriber(email=email, name=_greeting_name(new_image.get("name"))), "new subscriber")


def template_data(subscriber: Subscriber) -> dict[str, str]:
    """Values for the SES template placeholders {{name}} and {{email}}."""
    return {"name": subscriber.name or ANONYMOUS_NAME, "email": subscriber.email}


def send_welcome(
    ses: Any,
    subscriber: Subscriber,
    *,
    sender: str,
    template_name: str,
    configuration_set: str | None,
) -> str:
    """Send the templated welcome email; returns the SES message id."""
    request: dict[str, Any] = {
        "Source": sender,
        "Destination": {"ToAddresses": [subscriber.email]},
        "Template": template_name,
        "TemplateData": json.dumps(template_data(subscriber), ensure_ascii=False),
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    return ses.send_templated_email(**request)["MessageId"]


def _greeting_name(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    name = value.strip()
    return name[:MAX_NAME_CHARS] or None
