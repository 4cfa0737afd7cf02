"""cart: carts in Redis, priced from the catalog through a Redis price cache.

One function, two event sources:
- API Gateway (REST, proxy integration): the cart API below (OpenAPI: docs/openapi/cart.json).
- The catalog table's DynamoDB stream: each price change or removal updates the price cache.

Validation is on because the routes' types are the cart's published contract (checkout's client
is generated from it); that costs pydantic at cold start.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger

# Before anything imports pydantic (the validation below does): with pydantic loaded, Powertools' batch
# utility also builds the parser's record models, for a `model=` option this function doesn't use.
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response  # noqa: I001
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from redis.exceptions import AuthenticationError, RedisError
from typing_extensions import NotRequired, TypedDict

from api_common import http
from api_common.http import ApiError
from cart_api import carts
from cart_api.catalog import CatalogUnavailable, catalog_client, fetch_prices
from cart_api.prices import Lookup, PriceCache, look_up_prices, price_from_image
from cart_api.redis_connection import SecretsManagerAuth, connect_redis
from cart_api.settings import load_settings

if TYPE_CHECKING:
    from cart_api.catalog_client import Client

# ---- built once per execution environment, outside the handler (Redis connects on first use)
settings = load_settings(os.environ)
logger = Logger()
redis_auth = SecretsManagerAuth(settings.redis_auth_secret_arn) if settings.redis_auth_secret_arn else None
redis_client = connect_redis(settings, redis_auth)
price_cache = PriceCache(redis_client, settings.price_ttl_seconds, settings.outage_backoff_seconds,
                         on_auth_failure=redis_auth.refresh if redis_auth else None)
cart_store = carts.CartStore(redis_client, settings.cart_ttl_seconds)
stream_processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

PRICE_CACHE_HEADER = "X-Price-Cache"


@cache
def catalog() -> Client:
    """Created on the first price lookup that misses the cache (see cart_api.catalog)."""
    return catalog_client(settings.catalog_url, settings.catalog_timeout)


app = APIGatewayRestResolver(enable_validation=True)
http.handle_errors(app, logger)


# ---- the contract (TypedDicts: the OpenAPI schemas, with no runtime cost beyond validation)


class CartLine(TypedDict):
    sku: str
    name: str
    quantity: int
    unitPriceCents: int  # noqa: N815 (JSON field names)
    lineTotalCents: int  # noqa: N815
    currency: str
    priceVersion: int  # noqa: N815


class PricedItems(TypedDict):
    lines: list[CartLine]
    unavailable: list[str]
    currency: str | None
    totalCents: int | None  # noqa: N815


class Cart(PricedItems):
    cartId: str  # noqa: N815


class CreatedCart(TypedDict):
    cartId: str  # noqa: N815


class QuantityChange(TypedDict):
    quantity: int


class QuoteItem(TypedDict):
    sku: str
    quantity: int


class QuoteRequest(TypedDict):
    items: list[QuoteItem]


class ErrorBody(TypedDict):
    message: str
    reason: NotRequired[str]


def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


CartIdPath = Annotated[str, Path(pattern=carts.CART_ID.pattern, description="A cart's id")]
SkuPath = Annotated[str, Path(pattern=carts.SKU.pattern, description="A product's SKU")]


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    # api_common's shape, plus Powertools' `detail` list the OpenAPI document promises for 422.
    body = {"message": "request is not valid", "reason": "invalid_request",
            "detail": json.loads(json.dumps(error.errors(), default=str))}
    return Response(422, content_types.APPLICATION_JSON, body)


# ---- routes


@app.post("/carts", operation_id="create_cart", summary="Create an empty cart", tags=["carts"],
          responses={201: {"description": "The new cart's id", "content": {"application/json": {"model": CreatedCart}}},
                     503: _error("Cart storage unavailable")})
def create_cart() -> Response[CreatedCart]:
    cart_id = _storage(cart_store.create)
    return Response(201, content_types.APPLICATION_JSON, {"cartId": cart_id})


@app.get("/carts/<cartId>", operation_id="get_cart", summary="A cart with current prices", tags=["carts"],
         responses={200: {"description": "The cart, priced now", "content": {"application/json": {"model": Cart}}},
                    404: _error("Unknown or expired cart"), 503: _error("Cart or prices unavailable")})
def get_cart(cartId: CartIdPath) -> Response[Cart]:  # noqa: N803 (the path parameter's name)
    return _priced_cart(cartId, _existing_cart(cartId))


@app.put("/carts/<cartId>/items/<sku>", operation_id="set_item", summary="Set a line's quantity (0 removes it)",
         tags=["carts"],
         responses={200: {"description": "The cart, priced now", "content": {"application/json": {"model": Cart}}},
                    400: _error("Bad quantity"), 404: _error("Unknown cart or product"),
                    409: _error("Cart full"), 503: _error("Cart or prices unavailable")})
def set_item(cartId: CartIdPath, sku: SkuPath, change: Annotated[QuantityChange, Body()]) -> Response[Cart]:  # noqa: N803
    quantity = change["quantity"]
    if not carts.valid_quantity(quantity, allow_zero=True):
        raise ApiError(400, f"quantity must be 0 to {carts.MAX_QUANTITY}", reason="invalid_quantity")
    if quantity:
        lookup = _prices([sku])
        if sku not in lookup.prices:
            raise ApiError(404, "product not found", reason="unknown_product")
    try:
        known = _storage(cart_store.set_quantity, cartId, sku, quantity)
    except carts.CartFull:
        raise ApiError(409, f"a cart holds at most {carts.MAX_LINES} lines", reason="cart_full") from None
    if not known:
        raise ApiError(404, "cart not found", reason="unknown_cart")
    return _priced_cart(cartId, _existing_cart(cartId))


@app.post("/carts/<cartId>/items", operation_id="add_item", summary="Add to a line (creates the cart if need be)",
          tags=["carts"],
          responses={200: {"description": "The cart, priced now", "content": {"application/json": {"model": Cart}}},
                     400: _error("Bad item"), 404: _error("Unknown product"),
                     409: _error("Cart full or quantity too large"), 503: _error("Cart or prices unavailable")})
def add_item(cartId: CartIdPath, item: Annotated[QuoteItem, Body()]) -> Response[Cart]:  # noqa: N803
    sku, quantity = item["sku"], item["quantity"]
    if not carts.valid_sku(sku) or not carts.valid_quantity(quantity, allow_zero=False):
        raise ApiError(400, f"an item needs a valid sku and a quantity of 1 to {carts.MAX_QUANTITY}",
                       reason="invalid_item")
    if sku not in _prices([sku]).prices:
        raise ApiError(404, "product not found", reason="unknown_product")
    try:
        _storage(cart_store.add_quantity, cartId, sku, quantity)
    except carts.CartFull:
        raise ApiError(409, f"a cart holds at most {carts.MAX_LINES} lines", reason="cart_full") from None
    except carts.QuantityTooLarge:
        raise ApiError(409, f"a line holds at most {carts.MAX_QUANTITY}", reason="quantity_too_large") from None
    return _priced_cart(cartId, _existing_cart(cartId))


@app.delete("/carts/<cartId>", operation_id="delete_cart", summary="Delete a cart (checkout does, once ordered)",
            tags=["carts"], responses={204: {"description": "Deleted (or already gone)"},
                                       503: _error("Cart storage unavailable")})
def delete_cart(cartId: CartIdPath) -> Response[None]:  # noqa: N803
    _storage(cart_store.delete, cartId)
    return Response(204, None, None)


@app.delete("/carts/<cartId>/items/<sku>", operation_id="remove_item", summary="Remove a line", tags=["carts"],
            responses={200: {"description": "The cart, priced now", "content": {"application/json": {"model": Cart}}},
                       404: _error("Unknown cart"), 503: _error("Cart or prices unavailable")})
def remove_item(cartId: CartIdPath, sku: SkuPath) -> Response[Cart]:  # noqa: N803
    if not _storage(cart_store.set_quantity, cartId, sku, 0):
        raise ApiError(404, "cart not found", reason="unknown_cart")
    return _priced_cart(cartId, _existing_cart(cartId))


@app.post("/quotes", operation_id="quote", summary="Price items without a cart (works with Redis down)",
          tags=["pricing"],
          responses={200: {"description": "The items, priced now", "content": {"application/json": {"model": PricedItems}}},
                     400: _error("Bad items"), 503: _error("Prices unavailable")})
def quote(request: Annotated[QuoteRequest, Body()]) -> Response[PricedItems]:
    quantities: dict[str, int] = {}
    for item in request["items"]:
        if not carts.valid_sku(item["sku"]) or not carts.valid_quantity(item["quantity"], allow_zero=False):
            raise ApiError(400, f"each item needs a valid sku and a quantity of 1 to {carts.MAX_QUANTITY}",
                           reason="invalid_item")
        quantities[item["sku"]] = quantities.get(item["sku"], 0) + item["quantity"]
    if not 1 <= len(quantities) <= carts.MAX_LINES:
        raise ApiError(400, f"a quote holds 1 to {carts.MAX_LINES} SKUs", reason="invalid_items")
    lookup = _prices(list(quantities))
    return _priced(carts.priced_lines(quantities, lookup), lookup)


# ---- helpers


def _storage(operation: Any, *args: Any) -> Any:
    """A cart-store call; Redis down means the cart itself is unavailable (unlike prices)."""
    try:
        return operation(*args)
    except RedisError as error:
        if isinstance(error, AuthenticationError) and redis_auth is not None:
            redis_auth.refresh()  # the token may have been rotated: the next connection reads it again
        logger.warning("cart storage unavailable", extra={"error": type(error).__name__})
        raise ApiError(503, "cart storage is unavailable; retry shortly", reason="cart_storage_unavailable",
                       headers={"Retry-After": "1"}) from None


def _existing_cart(cart_id: str) -> dict[str, int]:
    quantities = _storage(cart_store.quantities, cart_id)
    if quantities is None:
        raise ApiError(404, "cart not found", reason="unknown_cart")
    return quantities


def _prices(skus: list[str]) -> Lookup:
    try:
        return look_up_prices(skus, price_cache, lambda misses: fetch_prices(catalog(), misses))
    except CatalogUnavailable as error:
        logger.error("catalog unavailable", extra={"error": str(error)})
        raise ApiError(503, "prices are unavailable; retry shortly", reason="catalog_unavailable",
                       headers={"Retry-After": "1"}) from None


def _priced_cart(cart_id: str, quantities: dict[str, int]) -> Response:
    lookup = _prices(list(quantities)) if quantities else Lookup({}, [])
    return _priced({"cartId": cart_id, **carts.priced_lines(quantities, lookup)}, lookup)


def _priced(body: dict[str, Any], lookup: Lookup) -> Response:
    cache = f"hits={lookup.hits}; misses={lookup.misses}; degraded={'true' if lookup.cache_degraded else 'false'}"
    return Response(200, content_types.APPLICATION_JSON, body, headers={PRICE_CACHE_HEADER: cache})


# ---- the catalog's change feed


def apply_catalog_change(record: DynamoDBRecord) -> None:
    change = record.dynamodb
    if change is None:  # every DynamoDB stream record has it: fail the record rather than guess
        raise ValueError(f"stream record {record.event_id} has no dynamodb")
    sku = str(change.keys["sku"])
    price_cache.apply_change(sku, price_from_image(change.new_image))


def is_stream_batch(event: dict[str, Any]) -> bool:
    records = event.get("Records") or []
    return bool(records) and records[0].get("eventSource") == "aws:dynamodb"


def openapi_document() -> dict[str, Any]:
    document = json.loads(app.get_openapi_json_schema(
        title="cart", version="1.0.0",
        description="Carts (kept in Redis, expiring after a week idle) priced with the catalog's current prices.",
    ))
    # Powertools 3.37 gives every response a JSON body; a 204 has none (clients would try to parse it).
    for operation in (op for path in document["paths"].values() for op in path.values()):
        operation["responses"].get("204", {}).pop("content", None)
    return document


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse | dict[str, Any]:
    if is_stream_batch(event):
        return process_partial_response(event=event, record_handler=apply_catalog_change,
                                        processor=stream_processor, context=context)
    return http.resolve(app, event, context, logger)
