"""Contains all the data models used in inputs/outputs"""

from .cookie_request import CookieRequest
from .error import Error
from .signed_cookies import SignedCookies
from .signed_url import SignedUrl

__all__ = (
    "CookieRequest",
    "Error",
    "SignedCookies",
    "SignedUrl",
)
