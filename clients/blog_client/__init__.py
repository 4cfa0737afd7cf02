"""A client library for accessing Blog API (serverless-blueprints BlogApi)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
