from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_body import ErrorBody
from ...models.http_validation_error import HTTPValidationError
from ...types import Response


def _get_kwargs(
    cart_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/carts/{cart_id}".format(
            cart_id=quote(str(cart_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | ErrorBody | HTTPValidationError | None:
    if response.status_code == 204:
        response_204 = cast(Any, None)
        return response_204

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = ErrorBody.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | ErrorBody | HTTPValidationError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    cart_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | ErrorBody | HTTPValidationError]:
    """Delete a cart (checkout does, once ordered)

    Args:
        cart_id (str): A cart's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        cart_id=cart_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    cart_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | ErrorBody | HTTPValidationError | None:
    """Delete a cart (checkout does, once ordered)

    Args:
        cart_id (str): A cart's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody | HTTPValidationError
    """

    return sync_detailed(
        cart_id=cart_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    cart_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | ErrorBody | HTTPValidationError]:
    """Delete a cart (checkout does, once ordered)

    Args:
        cart_id (str): A cart's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | ErrorBody | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        cart_id=cart_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    cart_id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | ErrorBody | HTTPValidationError | None:
    """Delete a cart (checkout does, once ordered)

    Args:
        cart_id (str): A cart's id

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | ErrorBody | HTTPValidationError
    """

    return (
        await asyncio_detailed(
            cart_id=cart_id,
            client=client,
        )
    ).parsed
