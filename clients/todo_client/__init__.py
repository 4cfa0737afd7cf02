"""A client library for accessing MyTodoList API (serverless-blueprints ServerlessRestApi)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
