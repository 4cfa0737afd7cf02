from typing import Literal

RevokedOutcome = Literal["revoked", "unchanged"]

REVOKED_OUTCOME_VALUES: set[RevokedOutcome] = {
    "revoked",
    "unchanged",
}


def check_revoked_outcome(value: str) -> RevokedOutcome:
    if value in REVOKED_OUTCOME_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {REVOKED_OUTCOME_VALUES!r}"
    )
