"""The cart service, through the client generated from its OpenAPI document (cart_client/)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from .cart_client import Client
from .cart_client.api.carts import delete_cart, get_cart
from .cart_client.models import Cart
from .orders import CartSnapshot, CheckoutRefused


class SigV4(httpx.Auth):
    """Signs each request for API Gateway's AWS_IAM authorization with the instance role's credentials
    (botocore refreshes them from IMDS as they expire)."""

    requires_request_body = True

    def __init__(self, region: str, credentials: Any = None) -> None:
        if credentials is None:
            import botocore.session

            credentials = botocore.session.get_session().get_credentials()
        self._credentials = credentials
        self._region = region

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        headers = {"Host": request.url.netloc.decode("ascii")}
        if "content-type" in request.headers:
            headers["Content-Type"] = request.headers["content-type"]
        signed = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
        SigV4Auth(self._credentials.get_frozen_credentials(), "execute-api", self._region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        yield request


def cart_client(base_url: str, timeout: float, auth: httpx.Auth | None = None) -> Client:
    return Client(base_url=base_url, timeout=httpx.Timeout(timeout, connect=1.0),
                  httpx_args={"auth": auth} if auth is not None else {})


def read_cart(client: Client, cart_id: str) -> CartSnapshot:
    try:
        answer = get_cart.sync_detailed(client=client, cart_id=cart_id)
    except httpx.HTTPError as error:
        raise CheckoutRefused(503, "cart_unavailable", f"the cart service is unreachable ({type(error).__name__})") from None
    status = int(answer.status_code)
    if status == 404:
        raise CheckoutRefused(404, "unknown_cart", "cart not found")
    if status == 422:
        raise CheckoutRefused(400, "invalid_cart_id", "cartId is not a cart id")
    if not isinstance(answer.parsed, Cart):
        raise CheckoutRefused(503, "cart_unavailable", f"the cart service answered {status}")
    cart = answer.parsed
    return CartSnapshot(
        cart_id=cart.cart_id, currency=cart.currency, total_cents=cart.total_cents, unavailable=list(cart.unavailable),
        lines=[{"sku": line.sku, "name": line.name, "quantity": line.quantity, "unitPriceCents": line.unit_price_cents,
                "priceVersion": line.price_version} for line in cart.lines],
    )


def forget_cart(client: Client, cart_id: str) -> bool:
    """Best effort, once the order is placed: an undeleted cart expires on its own."""
    try:
        return int(delete_cart.sync_detailed(client=client, cart_id=cart_id).status_code) == 204
    except Exception:  # noqa: BLE001 (whatever goes wrong, the order stands)
        return False
