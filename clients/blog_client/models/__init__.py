"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .message import Message
from .post import Post
from .post_page import PostPage
from .post_summary import PostSummary
from .subscription import Subscription

__all__ = (
    "Error",
    "Message",
    "Post",
    "PostPage",
    "PostSummary",
    "Subscription",
)
