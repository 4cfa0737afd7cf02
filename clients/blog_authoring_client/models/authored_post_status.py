from typing import Literal

AuthoredPostStatus = Literal["draft", "published"]

AUTHORED_POST_STATUS_VALUES: set[AuthoredPostStatus] = {
    "draft",
    "published",
}


def check_authored_post_status(value: str) -> AuthoredPostStatus:
    if value in AUTHORED_POST_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {AUTHORED_POST_STATUS_VALUES!r}"
    )
