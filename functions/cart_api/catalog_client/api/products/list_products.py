from http import HTTPStatus
from typing import Any, cast

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.http_validation_error import HTTPValidationError
from ...models.product_list import ProductList
from ...types import UNSET, Response


def _get_kwargs(
    *,
    skus: str,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["skus"] = skus

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/products",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | HTTPValidationError | ProductList | None:
    if response.status_code == 200:
        response_200 = ProductList.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = cast(Any, None)
        return response_400

    if response.status_code == 422:
        response_422 = HTTPValidationError.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | HTTPValidationError | ProductList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    skus: str,
) -> Response[Any | HTTPValidationError | ProductList]:
    """List Products

     Several products in one call (the cart prices a whole cart's misses with it).

    Args:
        skus (str): Comma-separated SKUs, at most 100

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | HTTPValidationError | ProductList]
    """

    kwargs = _get_kwargs(
        skus=skus,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    skus: str,
) -> Any | HTTPValidationError | ProductList | None:
    """List Products

     Several products in one call (the cart prices a whole cart's misses with it).

    Args:
        skus (str): Comma-separated SKUs, at most 100

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | HTTPValidationError | ProductList
    """

    return sync_detailed(
        client=client,
        skus=skus,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    skus: str,
) -> Response[Any | HTTPValidationError | ProductList]:
    """List Products

     Several products in one call (the cart prices a whole cart's misses with it).

    Args:
        skus (str): Comma-separated SKUs, at most 100

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | HTTPValidationError | ProductList]
    """

    kwargs = _get_kwargs(
        skus=skus,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    skus: str,
) -> Any | HTTPValidationError | ProductList | None:
    """List Products

     Several products in one call (the cart prices a whole cart's misses with it).

    Args:
        skus (str): Comma-separated SKUs, at most 100

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | HTTPValidationError | ProductList
    """

    return (
        await asyncio_detailed(
            client=client,
            skus=skus,
        )
    ).parsed
