from typing import Literal

UpdatePostBodyStatus = Literal["draft", "published"]

UPDATE_POST_BODY_STATUS_VALUES: set[UpdatePostBodyStatus] = {
    "draft",
    "published",
}


def check_update_post_body_status(value: str) -> UpdatePostBodyStatus:
    if value in UPDATE_POST_BODY_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {UPDATE_POST_BODY_STATUS_VALUES!r}"
    )
