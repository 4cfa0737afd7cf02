from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.http_validation_error import HTTPValidationError
from ...models.product import Product
from ...models.product_in import ProductIn
from ...types import Response


def _get_kwargs(
    sku: str,
    *,
    body: ProductIn,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/products/{sku}".format(
            sku=quote(str(sku), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> HTTPValidationError | Product | None:
    if response.status_code == 200:
        response_200 = Product.from_dict(response.json())

        return response_200

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[HTTPValidationError | Product]:
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
    body: ProductIn,
) -> Response[HTTPValidationError | Product]:
    """Put Product

     Create a product or change its name or price. The table's stream carries the change to
    the cart, which refreshes its cached price.

    Args:
        sku (str): The product's SKU
        body (ProductIn): What a caller may set on a product.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | Product]
    """

    kwargs = _get_kwargs(
        sku=sku,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    sku: str,
    *,
    client: AuthenticatedClient | Client,
    body: ProductIn,
) -> HTTPValidationError | Product | None:
    """Put Product

     Create a product or change its name or price. The table's stream carries the change to
    the cart, which refreshes its cached price.

    Args:
        sku (str): The product's SKU
        body (ProductIn): What a caller may set on a product.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | Product
    """

    return sync_detailed(
        sku=sku,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    sku: str,
    *,
    client: AuthenticatedClient | Client,
    body: ProductIn,
) -> Response[HTTPValidationError | Product]:
    """Put Product

     Create a product or change its name or price. The table's stream carries the change to
    the cart, which refreshes its cached price.

    Args:
        sku (str): The product's SKU
        body (ProductIn): What a caller may set on a product.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[HTTPValidationError | Product]
    """

    kwargs = _get_kwargs(
        sku=sku,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    sku: str,
    *,
    client: AuthenticatedClient | Client,
    body: ProductIn,
) -> HTTPValidationError | Product | None:
    """Put Product

     Create a product or change its name or price. The table's stream carries the change to
    the cart, which refreshes its cached price.

    Args:
        sku (str): The product's SKU
        body (ProductIn): What a caller may set on a product.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        HTTPValidationError | Product
    """

    return (
        await asyncio_detailed(
            sku=sku,
            client=client,
            body=body,
        )
    ).parsed
