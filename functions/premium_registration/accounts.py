"""The premium users table: one item per Cognito user (`sub`), with the end of their subscription.

    {"sub": S, "premiumUntil": N (epoch seconds), "plan": S, "grantedBy": S, "updatedAt": S}

Granting is a PUT of the whole state (an absolute end date, never "+30 days"), so a repeated or
retried grant leaves the same item: the write is skipped when nothing would change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from botocore.exceptions import ClientError

SUB = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PLAN = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
DEFAULT_PLAN = "premium"
MAX_GRANT_SECONDS = 10 * 366 * 86400


class Invalid(Exception):
    """A request we refuse: `status`, stable `reason`, message for people."""

    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


@dataclass(frozen=True)
class Grant:
    premium_until: int
    plan: str


def is_member(claims: Mapping[str, Any], group: str) -> bool:
    """Whether the ID token's cognito:groups holds `group`.

    API Gateway's Cognito authorizer hands claims over as strings; a list of groups may arrive as
    "a,b", "a b" or "[a, b]", so all three are read."""
    raw = claims.get("cognito:groups")
    if isinstance(raw, list):
        groups = [str(g) for g in raw]
    elif isinstance(raw, str):
        groups = [g for g in re.split(r"[\s,]+", raw.strip().strip("[]")) if g]
    else:
        groups = []
    return group in groups


def user_sub(value: Any) -> str:
    if not isinstance(value, str) or SUB.fullmatch(value) is None:
        raise Invalid(400, "sub_invalid", "the user id must be a Cognito sub (a UUID)")
    return value.lower()


def parse_grant(body: Mapping[str, Any], now: int) -> Grant:
    """{"premiumUntil": ISO-8601 UTC or epoch seconds, "plan"?: str}: a future end, within 10 years."""
    unknown = sorted(set(body) - {"premiumUntil", "plan"})
    if unknown:
        raise Invalid(400, "body_unknown_field", f"unknown fields: {', '.join(unknown)}")
    until = _epoch(body.get("premiumUntil"))
    if until <= now:
        raise Invalid(400, "premium_until_past", "premiumUntil must be in the future (DELETE revokes)")
    if until > now + MAX_GRANT_SECONDS:
        raise Invalid(400, "premium_until_too_far", "premiumUntil must be within 10 years")
    plan = body.get("plan", DEFAULT_PLAN)
    if not isinstance(plan, str) or PLAN.fullmatch(plan) is None:
        raise Invalid(400, "plan_invalid", "plan must be 1-32 lower-case letters, digits and hyphens")
    return Grant(premium_until=until, plan=plan)


def _epoch(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return int(moment.timestamp())
    raise Invalid(400, "premium_until_invalid",
                  "premiumUntil must be epoch seconds or an ISO-8601 time with a zone, e.g. 2027-01-01T00:00:00Z")


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def status_view(sub: str, item: Optional[Mapping[str, Any]], now: int) -> dict[str, Any]:
    until = None if not item or "premiumUntil" not in item else int(item["premiumUntil"]["N"])
    return {"sub": sub, "premium": until is not None and until > now,
            "premiumUntil": None if until is None else iso(until),
            "plan": None if not item or "plan" not in item else item["plan"]["S"]}


def read_status(client: Any, table: str, sub: str) -> Optional[dict]:
    return client.get_item(TableName=table, Key={"sub": {"S": sub}}, ConsistentRead=True).get("Item")


def store_grant(client: Any, table: str, sub: str, grant: Grant, *, granted_by: str, now: int) -> str:
    """"created", "updated" or "unchanged" (the same grant again writes nothing)."""
    try:
        old = client.update_item(
            TableName=table, Key={"sub": {"S": sub}},
            UpdateExpression="SET premiumUntil = :until, #plan = :plan, grantedBy = :by, updatedAt = :at",
            ConditionExpression="attribute_not_exists(#sub) OR premiumUntil <> :until OR #plan <> :plan",
            ExpressionAttributeNames={"#sub": "sub", "#plan": "plan"},
            ExpressionAttributeValues={":until": {"N": str(grant.premium_until)}, ":plan": {"S": grant.plan},
                                       ":by": {"S": granted_by}, ":at": {"S": iso(now)}},
            ReturnValues="ALL_OLD").get("Attributes")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return "unchanged"
        raise
    return "updated" if old else "created"


def revoke(client: Any, table: str, sub: str) -> bool:
    """Delete the user's item; True if there was one (deleting twice is fine)."""
    old = client.delete_item(TableName=table, Key={"sub": {"S": sub}}, ReturnValues="ALL_OLD").get("Attributes")
    return bool(old)
