"""A client library for accessing Orders API (serverless-blueprints OutboxRelay)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
