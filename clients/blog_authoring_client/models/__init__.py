"""Contains all the data models used in inputs/outputs"""

from .authored_post import AuthoredPost
from .authored_post_status import AuthoredPostStatus
from .create_post_body import CreatePostBody
from .create_post_body_status import CreatePostBodyStatus
from .error import Error
from .unpublish_post_body import UnpublishPostBody
from .update_post_body import UpdatePostBody
from .update_post_body_status import UpdatePostBodyStatus
from .written_post import WrittenPost
from .written_post_invalidation_type_0 import WrittenPostInvalidationType0

__all__ = (
    "AuthoredPost",
    "AuthoredPostStatus",
    "CreatePostBody",
    "CreatePostBodyStatus",
    "Error",
    "UnpublishPostBody",
    "UpdatePostBody",
    "UpdatePostBodyStatus",
    "WrittenPost",
    "WrittenPostInvalidationType0",
)
