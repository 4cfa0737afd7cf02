from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.http_validation_error import HTTPValidationError
from ...models.product import Product
from ...types import Response


def _get_kwargs(
    sku: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/products/{sku}".format(
            sku=quote(str(sku), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | HTTPValidationError | Product | None:
    if response.status_code == 200:
        response_200 = Product.from_dict(response.json())

        return response_200

    if response.status_code == 404:
        response_404 = cast(Any, None)
        return response_404

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | HTTPValidationError | Product]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    sku: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | HTTPValidationError | Product]:
    """Get Product

    Args:
        sku (str): The product's SKU

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | HTTPValidationError | Product]
    """

    kwargs = _get_kwargs(
        sku=sku,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    sku: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | HTTPValidationError | Product | None:
    """Get Product

    Args:
        sku (str): The product's SKU

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | HTTPValidationError | Product
    """

    return sync_detailed(
        sku=sku,
        client=client,
    ).parsed


async def asyncio_detailed(
    sku: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[Any | HTTPValidationError | Product]:
    """Get Product

    Args:
        sku (str): The product's SKU

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | HTTPValidationError | Product]
    """

    kwargs = _get_kwargs(
        sku=sku,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    sku: str,
    *,
    client: AuthenticatedClient | Client,
) -> Any | HTTPValidationError | Product | None:
    """Get Product

    Args:
        sku (str): The product's SKU

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | HTTPValidationError | Product
    """

    return (
        await asyncio_detailed(
            sku=sku,
            client=client,
        )
    ).parsed
