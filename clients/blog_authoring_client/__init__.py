"""A client library for accessing Blog authoring API (serverless-blueprints BlogAuthoring)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
