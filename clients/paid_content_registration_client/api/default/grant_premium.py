from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.grant import Grant
from ...models.grant_outcome import GrantOutcome
from ...types import Response


def _get_kwargs(
    sub: UUID,
    *,
    body: Grant,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/premium-users/{sub}".format(
            sub=quote(str(sub), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | GrantOutcome | None:
    if response.status_code == 200:
        response_200 = GrantOutcome.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = GrantOutcome.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Error.from_dict(response.json())

        return response_415

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | GrantOutcome]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    sub: UUID,
    *,
    client: AuthenticatedClient,
    body: Grant,
) -> Response[Error | GrantOutcome]:
    """Grant or extend premium (admins)

    Args:
        sub (UUID): The user's Cognito sub
        body (Grant):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | GrantOutcome]
    """

    kwargs = _get_kwargs(
        sub=sub,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    sub: UUID,
    *,
    client: AuthenticatedClient,
    body: Grant,
) -> Error | GrantOutcome | None:
    """Grant or extend premium (admins)

    Args:
        sub (UUID): The user's Cognito sub
        body (Grant):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | GrantOutcome
    """

    return sync_detailed(
        sub=sub,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    sub: UUID,
    *,
    client: AuthenticatedClient,
    body: Grant,
) -> Response[Error | GrantOutcome]:
    """Grant or extend premium (admins)

    Args:
        sub (UUID): The user's Cognito sub
        body (Grant):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | GrantOutcome]
    """

    kwargs = _get_kwargs(
        sub=sub,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    sub: UUID,
    *,
    client: AuthenticatedClient,
    body: Grant,
) -> Error | GrantOutcome | None:
    """Grant or extend premium (admins)

    Args:
        sub (UUID): The user's Cognito sub
        body (Grant):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | GrantOutcome
    """

    return (
        await asyncio_detailed(
            sub=sub,
            client=client,
            body=body,
        )
    ).parsed
