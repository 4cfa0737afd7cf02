"""Who is calling: only ever the `sub` claim the Cognito authorizer put in requestContext."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from api_common.http import ApiError

# A Cognito sub is a UUID. Anything outside this alphabet could not be one S3 path segment or one
# DynamoDB partition, so it is refused rather than trusted.
_SUB = re.compile(r"^[A-Za-z0-9-]{1,128}$")


def user_id_from_claims(claims: Mapping[str, Any] | None) -> str:
    sub = (claims or {}).get("sub")
    if not isinstance(sub, str) or not _SUB.match(sub):
        raise ApiError(401, "the request carries no valid caller identity (authorizer claim 'sub')")
    return sub
