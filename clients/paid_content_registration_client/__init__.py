"""A client library for accessing Premium registration (serverless-blueprints PaidContent)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
