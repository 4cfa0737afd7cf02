from typing import Literal

GrantOutcomeOutcome = Literal["created", "unchanged", "updated"]

GRANT_OUTCOME_OUTCOME_VALUES: set[GrantOutcomeOutcome] = {
    "created",
    "unchanged",
    "updated",
}


def check_grant_outcome_outcome(value: str) -> GrantOutcomeOutcome:
    if value in GRANT_OUTCOME_OUTCOME_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {GRANT_OUTCOME_OUTCOME_VALUES!r}"
    )
