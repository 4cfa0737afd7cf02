"""POST /orders behind an API Gateway REST API with a Cognito authorizer.

Idempotency-Key is REQUIRED: without it a client retry after a timeout would create a second
order, which is exactly what this service promises not to do. Keys are scoped to the caller
(Cognito ``sub``) and kept 24 hours by the Powertools idempotency utility; after that, and after a
crash between commit and saving the idempotency record, the deterministic order id still finds the
first order (see order_store.place_order).
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from api_common import http
from api_common.http import ApiError
from order_service import orders
from order_service.order_store import place_order

ORDERS_TABLE = os.environ["ORDERS_TABLE"]
OUTBOX_TABLE = os.environ["OUTBOX_TABLE"]
IDEMPOTENCY_TABLE = os.environ["IDEMPOTENCY_TABLE"]
OUTBOX_TTL_DAYS = int(os.environ.get("OUTBOX_TTL_DAYS", "7"))
if OUTBOX_TTL_DAYS < 1:
    raise ValueError(f"OUTBOX_TTL_DAYS must be a positive number of days, got {OUTBOX_TTL_DAYS}")
IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60

logger = Logger()
app = APIGatewayRestResolver()
http.handle_errors(app, logger)
idempotency_config = IdempotencyConfig(
    # Scoped per customer: two customers may pick the same key without colliding.
    event_key_jmespath="[customerId, idempotencyKey]",
    # Only the validated order decides "same request"; headers and whitespace do not.
    payload_validation_jmespath="order",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
)

# Clients are created on first use, not at import (that would cost about half a bare `import boto3`
# on every cold start), and then kept for the life of the execution environment.
@cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb")


@cache
def idempotency_store() -> DynamoDBPersistenceLayer:
    # Its constructor creates a DynamoDB client, so the layer itself is built on first use.
    return DynamoDBPersistenceLayer(table_name=IDEMPOTENCY_TABLE, boto3_client=dynamodb_client())


def _create_order(*, request: dict, order: orders.OrderRequest, correlation_id: str) -> dict:
    now = time.time()
    created_at = datetime.fromtimestamp(now, tz=timezone.utc).isoformat(timespec="milliseconds")
    order_id = orders.order_id_for(request["customerId"], request["idempotencyKey"])
    order_record = orders.build_order_record(
        order_id=order_id,
        customer_id=request["customerId"],
        order=order,
        created_at=created_at,
        correlation_id=correlation_id,
    )
    outbox_record = orders.build_outbox_record(
        order_record,
        event_id=orders.event_id_for(order_id),
        expires_at=int(now) + OUTBOX_TTL_DAYS * 86400,
    )
    stored = place_order(
        dynamodb_client(),
        orders_table=ORDERS_TABLE,
        outbox_table=OUTBOX_TABLE,
        order_record=order_record,
        outbox_record=outbox_record,
    )
    return orders.order_response(stored)


@cache
def _idempotent_create_order() -> Any:
    # @idempotent_function takes its persistence store when it decorates, so it decorates on first use.
    return idempotent_function(
        _create_order,
        data_keyword_argument="request",
        config=idempotency_config,
        persistence_store=idempotency_store(),
        # The prefix Powertools derived while create_order_once itself was decorated at import
        # ("<Lambda function name>.<module>.<function>"): kept, so existing records still match.
        key_prefix=f"{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', 'test-func')}.{__name__}.create_order_once",
    )


def create_order_once(*, request: dict, order: orders.OrderRequest, correlation_id: str) -> dict:
    """_create_order, at most once per (customer, Idempotency-Key) within IDEMPOTENCY_TTL_SECONDS."""
    return _idempotent_create_order()(request=request, order=order, correlation_id=correlation_id)


@app.post("/orders")
def create_order() -> Response:
    event = app.current_event
    customer_id = (event.request_context.authorizer.claims or {}).get("sub")
    if not customer_id:
        # The Cognito authorizer guarantees claims; their absence means a misrouted request.
        raise ApiError(401, "caller identity is missing")
    key = http.read_idempotency_key(event.headers.get("Idempotency-Key"), required=True)
    order = orders.validate_order(http.read_json_object(event, max_bytes=orders.MAX_BODY_BYTES))
    correlation_id = orders.choose_correlation_id(
        event.headers.get("X-Correlation-Id"), event.request_context.request_id
    )
    logger.set_correlation_id(correlation_id)

    try:
        result = create_order_once(
            request={"customerId": customer_id, "idempotencyKey": key, "order": order.canonical()},
            order=order,
            correlation_id=correlation_id,
        )
    except IdempotencyValidationError:
        raise http.IdempotencyKeyReused() from None
    except IdempotencyAlreadyInProgressError:
        raise http.IdempotencyKeyInProgress() from None
    logger.info("order accepted", extra={"order_id": result["orderId"]})
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=result)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context) -> dict:
    idempotency_config.register_lambda_context(context)
    return http.resolve(app, event, context, logger)
