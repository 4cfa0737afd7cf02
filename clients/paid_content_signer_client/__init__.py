"""A client library for accessing Premium content signer (serverless-blueprints PaidContent)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
