"""A client library for accessing Shop health (serverless-blueprints ShopHealth)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
