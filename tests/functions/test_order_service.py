"""POST /orders: validation, the transactional outbox write, and Idempotency-Key behaviour (moto)."""

from __future__ import annotations

import base64
import importlib
import json
import time

import boto3
import pytest
from moto import mock_aws
from outbox_events import FakeLambdaContext, rest_proxy_event

from order_service import orders
from order_service.order_store import (
    OrderAlreadyExists,
    OutboxEventAlreadyExists,
    from_item,
    record_order_with_event,
)

ORDERS, OUTBOX, IDEMPOTENCY = "orders", "outbox", "idempotency"
VALID_ORDER = {
    "items": [{"sku": "BOOK-1", "quantity": 2, "unitPrice": 1250}, {"sku": "PEN_9", "quantity": 1, "unitPrice": 300}],
    "currency": "EUR",
    "amount": 2800,
}


def _table(client, name: str, key: str, stream: bool = False) -> None:
    spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}} if stream else {}
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **spec,
    )


@pytest.fixture
def ddb(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "ORDERS_TABLE": ORDERS,
        "OUTBOX_TABLE": OUTBOX,
        "IDEMPOTENCY_TABLE": IDEMPOTENCY,
        "OUTBOX_TTL_DAYS": "7",
        "POWERTOOLS_SERVICE_NAME": "order-service",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("dynamodb")
        _table(client, ORDERS, "orderId")
        _table(client, OUTBOX, "eventId", stream=True)
        _table(client, IDEMPOTENCY, "id")
        yield client


@pytest.fixture
def service(ddb):
    import order_service.handler as handler_module

    return importlib.reload(handler_module)


def post(service, body, *, key: str | None = "key-0001", sub: str | None = "customer-1", headers=None):
    all_headers = dict(headers or {})
    if key is not None:
        all_headers["Idempotency-Key"] = key
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    response = service.handler(rest_proxy_event(raw, sub=sub, headers=all_headers), FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"]), response


def header(response: dict, name: str) -> str:
    # API Gateway REST accepts either form; the resolver answers in the form the event used.
    if response.get("multiValueHeaders"):
        return response["multiValueHeaders"][name][0]
    return response["headers"][name]


def scan(ddb, table: str) -> list[dict]:
    return [from_item(item) for item in ddb.scan(TableName=table)["Items"]]


# --- happy path -------------------------------------------------------------------------------


def test_valid_order_returns_201_with_the_stored_order(service, ddb):
    status, body, response = post(service, VALID_ORDER)

    assert status == 201
    assert body["status"] == "CREATED"
    assert body["amount"] == 2800 and body["currency"] == "EUR"
    assert body["items"] == VALID_ORDER["items"]
    assert header(response, "Content-Type") == "application/json"


def test_order_and_its_outbox_event_are_both_written(service, ddb):
    _, body, _ = post(service, VALID_ORDER)

    [order] = scan(ddb, ORDERS)
    [event] = scan(ddb, OUTBOX)
    assert order["orderId"] == body["orderId"]
    assert event["eventType"] == "OrderCreated"
    assert event["aggregateId"] == body["orderId"]
    assert event["eventId"] == orders.event_id_for(body["orderId"])
    assert json.loads(event["payload"])["amount"] == 2800


def test_outbox_event_expires_after_outbox_ttl_days(service, ddb):
    before = int(time.time())
    post(service, VALID_ORDER)

    [event] = scan(ddb, OUTBOX)
    assert before + 7 * 86400 <= event["expiresAt"] <= int(time.time()) + 7 * 86400


def test_outbox_ttl_days_is_read_from_the_environment(ddb, monkeypatch):
    monkeypatch.setenv("OUTBOX_TTL_DAYS", "2")
    import order_service.handler as handler_module

    service = importlib.reload(handler_module)
    before = int(time.time())
    post(service, VALID_ORDER)

    [event] = scan(ddb, OUTBOX)
    assert before + 2 * 86400 <= event["expiresAt"] <= int(time.time()) + 2 * 86400


def test_non_positive_outbox_ttl_days_fails_at_cold_start(ddb, monkeypatch):
    monkeypatch.setenv("OUTBOX_TTL_DAYS", "0")
    import order_service.handler as handler_module

    with pytest.raises(ValueError, match="OUTBOX_TTL_DAYS"):
        importlib.reload(handler_module)


def test_customer_id_comes_from_the_cognito_sub_claim(service, ddb):
    post(service, VALID_ORDER, sub="sub-from-token")

    [order] = scan(ddb, ORDERS)
    assert order["customerId"] == "sub-from-token"
    assert json.loads(scan(ddb, OUTBOX)[0]["payload"])["customerId"] == "sub-from-token"


def test_customer_id_in_the_body_is_rejected(service, ddb):
    status, body, _ = post(service, {**VALID_ORDER, "customerId": "someone-else"})

    assert status == 400
    assert body["message"] == "unknown field: customerId"
    assert scan(ddb, ORDERS) == []


def test_request_without_cognito_claims_returns_401(service, ddb):
    status, body, _ = post(service, VALID_ORDER, sub=None)

    assert status == 401
    assert body["message"]
    assert scan(ddb, ORDERS) == []


def test_correlation_id_header_is_carried_to_the_order_and_its_event(service, ddb):
    post(service, VALID_ORDER, headers={"X-Correlation-Id": "checkout-42"})

    assert scan(ddb, ORDERS)[0]["correlationId"] == "checkout-42"
    assert scan(ddb, OUTBOX)[0]["correlationId"] == "checkout-42"


def test_malformed_correlation_id_header_falls_back_to_the_api_request_id(service, ddb):
    status, body, _ = post(service, VALID_ORDER, headers={"X-Correlation-Id": "bad id with spaces"})

    assert status == 201
    assert body["correlationId"] == "7f3a5b2e-0d44-4c1e-9b8a-1d2c3e4f5a6b"


def test_lower_case_idempotency_key_header_is_accepted(service, ddb):
    response = service.handler(
        rest_proxy_event(json.dumps(VALID_ORDER), headers={"idempotency-key": "key-lower"}),
        FakeLambdaContext(),
    )

    assert response["statusCode"] == 201


# --- validation: every guard answers 400 with its reason, and writes nothing ---------------


def _with(**changes):
    return {**VALID_ORDER, **changes}


def _line(**changes):
    return _with(items=[{"sku": "BOOK-1", "quantity": 2, "unitPrice": 1250, **changes}], amount=2500)


INVALID_BODIES = {
    "empty_body": (None, "body is required"),
    "body_not_json": ("{not json", "body is not valid JSON"),
    "body_with_nan": ('{"items": [], "amount": NaN}', "NaN is not allowed"),
    "body_not_an_object": ("[1, 2]", "body must be a JSON object"),
    "unknown_top_level_field": (_with(coupon="FREE"), "unknown field: coupon"),
    "items_missing": ({"currency": "EUR", "amount": 1}, "items must be a non-empty list"),
    "items_empty": (_with(items=[]), "items must be a non-empty list"),
    "items_not_a_list": (_with(items={"sku": "A"}), "items must be a non-empty list"),
    "too_many_items": (
        _with(items=[{"sku": f"S{i}", "quantity": 1, "unitPrice": 1} for i in range(orders.MAX_ITEMS + 1)], amount=51),
        "at most 50 lines",
    ),
    "item_not_an_object": (_with(items=["BOOK-1"]), "items[0] must be an object"),
    "item_unknown_field": (_line(discount=5), "items[0] has unknown field: discount"),
    "sku_missing": (_with(items=[{"quantity": 1, "unitPrice": 1}], amount=1), "items[0].sku"),
    "sku_with_spaces": (_line(sku="BOOK 1"), "items[0].sku"),
    "sku_too_long": (_line(sku="A" * 65), "items[0].sku"),
    "duplicate_sku": (
        _with(items=[{"sku": "A", "quantity": 1, "unitPrice": 1}, {"sku": "A", "quantity": 1, "unitPrice": 1}], amount=2),
        "each sku may appear only once",
    ),
    "quantity_zero": (_line(quantity=0, unitPrice=1), "items[0].quantity"),
    "quantity_negative": (_line(quantity=-1), "items[0].quantity"),
    "quantity_above_max": (_line(quantity=orders.MAX_QUANTITY + 1, unitPrice=1), "items[0].quantity"),
    "quantity_fractional": (_line(quantity=1.5), "items[0].quantity"),
    "quantity_as_string": (_line(quantity="2"), "items[0].quantity"),
    "quantity_boolean": (_line(quantity=True), "items[0].quantity"),
    "unit_price_missing": (_with(items=[{"sku": "A", "quantity": 1}], amount=1), "items[0].unitPrice"),
    "unit_price_negative": (_line(unitPrice=-1), "items[0].unitPrice"),
    "unit_price_fractional": (_line(unitPrice=12.5), "items[0].unitPrice"),
    "unit_price_above_max": (_line(unitPrice=orders.MAX_UNIT_PRICE + 1), "items[0].unitPrice"),
    "currency_missing": ({"items": VALID_ORDER["items"], "amount": 2800}, "currency must be one of"),
    "currency_not_in_allowlist": (_with(currency="XYZ"), "currency must be one of"),
    "currency_lower_case": (_with(currency="eur"), "currency must be one of"),
    "amount_missing": ({"items": VALID_ORDER["items"], "currency": "EUR"}, "amount must be an integer"),
    "amount_zero": (_with(items=[{"sku": "A", "quantity": 1, "unitPrice": 0}], amount=0), "amount must be an integer"),
    "amount_negative": (_with(amount=-2800), "amount must be an integer"),
    "amount_fractional": (_with(amount=28.0), "amount must be an integer"),
    "amount_as_string": (_with(amount="2800"), "amount must be an integer"),
    "amount_boolean": (_with(amount=True), "amount must be an integer"),
    "amount_above_max": (_with(amount=orders.MAX_AMOUNT + 1), "amount must be an integer"),
    "amount_not_sum_of_lines": (_with(amount=2799), "does not equal the sum of the line items (2800)"),
}


@pytest.mark.parametrize("body, reason", INVALID_BODIES.values(), ids=INVALID_BODIES.keys())
def test_invalid_order_returns_400_with_reason_and_writes_nothing(service, ddb, body, reason):
    status, response_body, response = post(service, body)

    assert status == 400
    assert reason in response_body["message"]
    assert header(response, "Content-Type") == "application/json"
    assert scan(ddb, ORDERS) == [] and scan(ddb, OUTBOX) == []


def test_missing_idempotency_key_returns_400(service, ddb):
    status, body, _ = post(service, VALID_ORDER, key=None)

    assert status == 400
    assert body["message"] == "Idempotency-Key header is required"
    assert scan(ddb, ORDERS) == []


@pytest.mark.parametrize("key", ["has space", "x" * 129, "ключ"], ids=["space", "too_long", "non_ascii"])
def test_malformed_idempotency_key_returns_400(service, ddb, key):
    status, body, _ = post(service, VALID_ORDER, key=key)

    assert status == 400
    assert body["message"].startswith("Idempotency-Key must be")


def test_rejected_request_does_not_consume_its_idempotency_key(service, ddb):
    assert post(service, _with(amount=1), key="key-reuse")[0] == 400

    status, _, _ = post(service, VALID_ORDER, key="key-reuse")

    assert status == 201


# --- idempotency ------------------------------------------------------------------------------


def test_client_retry_returns_the_first_result_and_writes_once(service, ddb):
    first = post(service, VALID_ORDER, key="retry-1")
    retry = post(service, VALID_ORDER, key="retry-1")

    assert retry[0] == first[0] == 201
    assert retry[1] == first[1]
    assert len(scan(ddb, ORDERS)) == 1 and len(scan(ddb, OUTBOX)) == 1
    [record] = scan(ddb, IDEMPOTENCY)
    assert record["status"] == "COMPLETED"


def test_retry_with_reformatted_but_equal_body_returns_the_first_result(service, ddb):
    first = post(service, json.dumps(VALID_ORDER), key="retry-2")
    retry = post(service, json.dumps(VALID_ORDER, indent=4, sort_keys=True), key="retry-2")

    assert retry[1] == first[1]
    assert len(scan(ddb, ORDERS)) == 1


def test_same_key_with_different_body_returns_409(service, ddb):
    post(service, VALID_ORDER, key="retry-3")

    status, body, _ = post(service, _with(currency="USD"), key="retry-3")

    assert status == 409
    assert body["message"] == "Idempotency-Key was already used with a different request body"
    assert len(scan(ddb, ORDERS)) == 1 and scan(ddb, ORDERS)[0]["currency"] == "EUR"


def test_same_key_from_another_customer_is_a_different_order(service, ddb):
    alice = post(service, VALID_ORDER, key="shared-key", sub="alice")
    bob = post(service, VALID_ORDER, key="shared-key", sub="bob")

    assert alice[0] == bob[0] == 201
    assert alice[1]["orderId"] != bob[1]["orderId"]
    assert len(scan(ddb, ORDERS)) == 2 and len(scan(ddb, OUTBOX)) == 2


def test_retry_after_the_idempotency_record_is_gone_still_returns_the_first_order(service, ddb):
    """Covers a crash between commit and saving the idempotency record, and record expiry."""
    first = post(service, VALID_ORDER, key="retry-4")
    for item in ddb.scan(TableName=IDEMPOTENCY)["Items"]:
        ddb.delete_item(TableName=IDEMPOTENCY, Key={"id": item["id"]})

    retry = post(service, VALID_ORDER, key="retry-4")

    assert retry[0] == 201
    assert retry[1] == first[1]
    assert len(scan(ddb, ORDERS)) == 1 and len(scan(ddb, OUTBOX)) == 1


def test_different_body_after_the_idempotency_record_is_gone_returns_409(service, ddb):
    post(service, VALID_ORDER, key="retry-5")
    for item in ddb.scan(TableName=IDEMPOTENCY)["Items"]:
        ddb.delete_item(TableName=IDEMPOTENCY, Key={"id": item["id"]})

    status, body, _ = post(service, _with(currency="USD"), key="retry-5")

    assert status == 409
    assert len(scan(ddb, ORDERS)) == 1


def test_concurrent_request_with_the_same_key_returns_409_retry_later(service, ddb, monkeypatch):
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
    )

    def in_progress(**_kwargs):
        raise IdempotencyAlreadyInProgressError("in progress")

    monkeypatch.setattr(service, "create_order_once", in_progress)

    status, body, response = post(service, VALID_ORDER)

    assert status == 409
    assert "still in progress" in body["message"]
    assert header(response, "Retry-After") == "1"


# --- atomicity (TransactWriteItems) ---------------------------------------------------------


def _records(order_id="order-1", event_id="event-1"):
    request = orders.validate_order(VALID_ORDER)
    order_record = orders.build_order_record(
        order_id=order_id,
        customer_id="customer-1",
        order=request,
        created_at="2024-01-01T00:00:00.000+00:00",
        correlation_id="corr-1",
    )
    return order_record, orders.build_outbox_record(order_record, event_id=event_id, expires_at=1)


def test_existing_order_blocks_the_event_and_nothing_is_written(ddb):
    ddb.put_item(TableName=ORDERS, Item={"orderId": {"S": "order-1"}, "status": {"S": "OLD"}})
    order_record, outbox_record = _records()

    with pytest.raises(OrderAlreadyExists):
        record_order_with_event(
            ddb, orders_table=ORDERS, outbox_table=OUTBOX, order_record=order_record, outbox_record=outbox_record
        )

    assert scan(ddb, OUTBOX) == []
    assert scan(ddb, ORDERS) == [{"orderId": "order-1", "status": "OLD"}]


def test_existing_outbox_event_blocks_the_order_and_nothing_is_written(ddb):
    ddb.put_item(TableName=OUTBOX, Item={"eventId": {"S": "event-1"}, "eventType": {"S": "Other"}})
    order_record, outbox_record = _records()

    with pytest.raises(OutboxEventAlreadyExists):
        record_order_with_event(
            ddb, orders_table=ORDERS, outbox_table=OUTBOX, order_record=order_record, outbox_record=outbox_record
        )

    assert scan(ddb, ORDERS) == []
    assert scan(ddb, OUTBOX) == [{"eventId": "event-1", "eventType": "Other"}]


def test_order_and_event_are_written_by_one_transaction(ddb, monkeypatch):
    calls = []
    original = ddb.transact_write_items
    monkeypatch.setattr(ddb, "transact_write_items", lambda **kw: calls.append(kw) or original(**kw))
    order_record, outbox_record = _records()

    record_order_with_event(
        ddb, orders_table=ORDERS, outbox_table=OUTBOX, order_record=order_record, outbox_record=outbox_record
    )

    [call] = calls
    puts = [item["Put"] for item in call["TransactItems"]]
    assert [(p["TableName"], p["ConditionExpression"]) for p in puts] == [
        (ORDERS, "attribute_not_exists(orderId)"),
        (OUTBOX, "attribute_not_exists(eventId)"),
    ]


# --- bad input is a 4xx, never a 5xx (api_common) ---------------------------------------------


def _send(service, event: dict) -> tuple[int, dict, dict]:
    response = service.handler(event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"]), response


@pytest.mark.parametrize(
    "body, is_base64, reason",
    [
        ("gA==", True, "body_not_utf8"),
        ("not base64!", True, "body_not_base64"),
        ('{"items": ' + "[" * 3000 + "]" * 3000 + "}", False, "body_too_deep"),
        ("[" * 3000, False, "body_too_deep"),
        ('{"items": [], "items": []}', False, "body_duplicate_field"),
        ('{"items": [' + '{"sku": "A", "quantity": 1, "unitPrice": 1},' * 800 + "1]}", False, "body_too_large"),
    ],
    ids=["base64_not_utf8", "not_base64", "nested_3000", "unclosed_nesting", "duplicate_field", "over_32_kib"],
)
def test_malformed_body_is_a_4xx_with_a_reason_and_writes_nothing(service, ddb, body, is_base64, reason):
    event = rest_proxy_event(body, headers={"Idempotency-Key": "key-bad"})
    event["isBase64Encoded"] = is_base64

    status, response_body, response = _send(service, event)

    assert 400 <= status < 500
    assert response_body["reason"] == reason
    assert header(response, "Content-Type") == "application/json"
    assert scan(ddb, ORDERS) == [] and scan(ddb, IDEMPOTENCY) == []


def test_base64_encoded_order_is_accepted(service, ddb):
    encoded = base64.b64encode(json.dumps(VALID_ORDER).encode()).decode()
    event = rest_proxy_event(encoded, headers={"Idempotency-Key": "k-b64"})
    event["isBase64Encoded"] = True

    status, body, _ = _send(service, event)

    assert status == 201
    assert body["amount"] == 2800


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_on_orders_return_405_with_allow(service, ddb, method):
    event = rest_proxy_event(None)
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method

    status, body, response = _send(service, event)

    assert status == 405
    assert body["reason"] == "method_not_allowed"
    assert header(response, "Allow") == "POST"


def test_unknown_path_returns_404_json(service, ddb):
    event = rest_proxy_event(json.dumps(VALID_ORDER))
    event["path"] = event["resource"] = "/orders/123/cancel"

    status, body, _ = _send(service, event)

    assert (status, body) == (404, {"message": "not found", "reason": "not_found"})
