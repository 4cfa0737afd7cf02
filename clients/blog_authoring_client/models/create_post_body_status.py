from typing import Literal

CreatePostBodyStatus = Literal["draft", "published"]

CREATE_POST_BODY_STATUS_VALUES: set[CreatePostBodyStatus] = {
    "draft",
    "published",
}


def check_create_post_body_status(value: str) -> CreatePostBodyStatus:
    if value in CREATE_POST_BODY_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {CREATE_POST_BODY_STATUS_VALUES!r}"
    )
