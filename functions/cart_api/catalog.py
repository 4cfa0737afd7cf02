"""The catalog, reached through the client generated from its OpenAPI document (catalog_client/)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .prices import Price

# httpx and the generated client (about a fifth of the function's import) load on the first catalog
# call: stream batches and cached prices never make one.
if TYPE_CHECKING:
    from .catalog_client import Client

MAX_SKUS_PER_CALL = 100  # the catalog's batch limit


class CatalogUnavailable(Exception):
    """The catalog could not be reached or answered with an error: a price can't be known."""


def catalog_client(base_url: str, timeout: float) -> Client:
    import httpx

    from .catalog_client import Client

    # Connect fast or fail: the catalog sits in the same VPC.
    return Client(base_url=base_url, timeout=httpx.Timeout(timeout, connect=min(timeout, 0.5)),
                  raise_on_unexpected_status=True)


def fetch_prices(client: Client, skus: list[str]) -> tuple[list[Price], list[str]]:
    """Current prices for `skus` from the catalog, and the SKUs it does not have."""
    import httpx

    from .catalog_client.api.products import list_products
    from .catalog_client.errors import UnexpectedStatus
    from .catalog_client.models import ProductList

    found: list[Price] = []
    missing: list[str] = []
    for start in range(0, len(skus), MAX_SKUS_PER_CALL):
        chunk = skus[start:start + MAX_SKUS_PER_CALL]
        try:
            answer = list_products.sync_detailed(client=client, skus=",".join(chunk))
        except (httpx.HTTPError, UnexpectedStatus, ValueError, KeyError) as error:  # network, status, garbled body
            raise CatalogUnavailable(f"catalog call failed: {type(error).__name__}") from error
        if not isinstance(answer.parsed, ProductList):
            raise CatalogUnavailable(f"catalog answered {int(answer.status_code)}")
        found += [Price(p.sku, p.name, p.price_cents, p.currency, p.version) for p in answer.parsed.items]
        missing += list(answer.parsed.missing)
    return found, missing
