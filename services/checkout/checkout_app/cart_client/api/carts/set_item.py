from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.cart import Cart
from ...models.error_body import ErrorBody
from ...models.http_validation_error import HTTPValidationError
from ...models.quantity_change import QuantityChange
from ...types import Response


def _get_kwargs(
    cart_id: str,
    sku: str,
    *,
    body: QuantityChange,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/carts/{cart_id}/items/{sku}".format(
            cart_id=quote(str(cart_id), safe=""),
            sku=quote(str(sku), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Cart | ErrorBody | HTTPValidationError | None:
    if response.status_code == 200:
        response_200 = Cart.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorBody.from_dict(response.json())

        return response_400

    if response.status_code == 404:
        response_404 = ErrorBody.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ErrorBody.from_dict(response.json())

        return response_409

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
) -> Response[Cart | ErrorBody | HTTPValidationError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    cart_id: str,
    sku: str,
    *,
    client: AuthenticatedClient | Client,
    body: QuantityChange,
) -> Response[Cart | ErrorBody | HTTPValidationError]:
    """Set a line's quantity (0 removes it)

    Args:
        cart_id (str): A cart's id
        sku (str): A product's SKU
        body (QuantityChange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Cart | ErrorBody | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        cart_id=cart_id,
        sku=sku,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    cart_id: str,
    sku: str,
    *,
    client: AuthenticatedClient | Client,
    body: QuantityChange,
) -> Cart | ErrorBody | HTTPValidationError | None:
    """Set a line's quantity (0 removes it)

    Args:
        cart_id (str): A cart's id
        sku (str): A product's SKU
        body (QuantityChange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Cart | ErrorBody | HTTPValidationError
    """

    return sync_detailed(
        cart_id=cart_id,
        sku=sku,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    cart_id: str,
    sku: str,
    *,
    client: AuthenticatedClient | Client,
    body: QuantityChange,
) -> Response[Cart | ErrorBody | HTTPValidationError]:
    """Set a line's quantity (0 removes it)

    Args:
        cart_id (str): A cart's id
        sku (str): A product's SKU
        body (QuantityChange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Cart | ErrorBody | HTTPValidationError]
    """

    kwargs = _get_kwargs(
        cart_id=cart_id,
        sku=sku,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    cart_id: str,
    sku: str,
    *,
    client: AuthenticatedClient | Client,
    body: QuantityChange,
) -> Cart | ErrorBody | HTTPValidationError | None:
    """Set a line's quantity (0 removes it)

    Args:
        cart_id (str): A cart's id
        sku (str): A product's SKU
        body (QuantityChange):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Cart | ErrorBody | HTTPValidationError
    """

    return (
        await asyncio_detailed(
            cart_id=cart_id,
            sku=sku,
            client=client,
            body=body,
        )
    ).parsed
