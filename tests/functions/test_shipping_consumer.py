"""Shipping consumer: one shipment per OrderCreated event id, partial batch failures (moto)."""

from __future__ import annotations

import importlib
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from outbox_events import FakeLambdaContext, order_created_message, sqs_record

SHIPMENTS = "shipments"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:order-created"


@pytest.fixture
def ddb(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "SHIPMENTS_TABLE": SHIPMENTS,
        "POWERTOOLS_SERVICE_NAME": "shipping-consumer",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=SHIPMENTS,
            KeySchema=[{"AttributeName": "eventId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "eventId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def consumer(ddb):
    import shipping_consumer.handler as handler_module

    return importlib.reload(handler_module)


def deliver(consumer, *bodies: str) -> list[str]:
    event = {"Records": [sqs_record(body, message_id=f"m-{i}", queue_arn=QUEUE_ARN) for i, body in enumerate(bodies)]}
    response = consumer.handler(event, FakeLambdaContext())
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def shipments(ddb) -> dict[str, dict]:
    items = ddb.scan(TableName=SHIPMENTS, ConsistentRead=True)["Items"]
    return {item["eventId"]["S"]: item for item in items}


def test_order_created_event_records_a_pending_shipment(consumer, ddb):
    assert deliver(consumer, order_created_message("evt-1", "order-1")) == []

    shipment = shipments(ddb)["evt-1"]
    assert shipment["orderId"]["S"] == "order-1"
    assert shipment["status"]["S"] == "PENDING"
    assert shipment["correlationId"]["S"] == "corr-1"
    assert shipment["items"]["L"][0]["M"] == {"sku": {"S": "BOOK-1"}, "quantity": {"N": "2"}}


def test_duplicate_messages_in_one_batch_record_one_shipment(consumer, ddb):
    body = order_created_message("evt-1", "order-1")

    assert deliver(consumer, body, body, body) == []

    assert list(shipments(ddb)) == ["evt-1"]


def test_redelivered_event_keeps_the_first_shipment(consumer, ddb):
    deliver(consumer, order_created_message("evt-1", "order-1"))
    first = shipments(ddb)["evt-1"]["shipmentId"]

    assert deliver(consumer, order_created_message("evt-1", "order-1")) == []

    assert shipments(ddb)["evt-1"]["shipmentId"] == first


def test_republished_event_with_a_new_eventbridge_id_is_absorbed(consumer, ddb):
    deliver(consumer, order_created_message("evt-1", "order-1", eventbridge_id="eb-first"))

    deliver(consumer, order_created_message("evt-1", "order-1", eventbridge_id="eb-second"))

    assert len(shipments(ddb)) == 1


def test_distinct_events_record_distinct_shipments(consumer, ddb):
    deliver(consumer, *(order_created_message(f"evt-{n}", f"order-{n}") for n in range(5)))

    assert sorted(shipments(ddb)) == [f"evt-{n}" for n in range(5)]


def _event(**detail_changes) -> str:
    event = json.loads(order_created_message("evt-x", "order-x"))
    for path, value in detail_changes.items():
        section, field = path.split("__")
        event["detail"][section][field] = value
    return json.dumps(event)


MALFORMED = {
    "not_json": "{oops",
    "not_an_object": "[]",
    "wrong_detail_type": json.dumps({**json.loads(order_created_message("e", "o")), "detail-type": "OrderCancelled"}),
    "no_detail": json.dumps({k: v for k, v in json.loads(order_created_message("e", "o")).items() if k != "detail"}),
    "no_event_id": _event(metadata__eventId=None),
    "no_order_id": _event(data__orderId=""),
    "no_items": _event(data__items=[]),
    "item_without_sku": _event(data__items=[{"quantity": 1}]),
    "item_with_text_quantity": _event(data__items=[{"sku": "A", "quantity": "1"}]),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_message_is_reported_and_the_rest_of_the_batch_recorded(consumer, ddb, body):
    good = [order_created_message("evt-1", "order-1"), order_created_message("evt-2", "order-2")]

    failures = deliver(consumer, good[0], body, good[1])

    assert failures == ["m-1"]
    assert sorted(shipments(ddb)) == ["evt-1", "evt-2"]


def test_storage_error_reports_only_that_message_for_redelivery(consumer, ddb, monkeypatch):
    real_put = consumer.dynamodb_client().put_item

    def throttled_for_evt_2(**kwargs):
        if kwargs["Item"]["eventId"]["S"] == "evt-2":
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "PutItem"
            )
        return real_put(**kwargs)

    monkeypatch.setattr(consumer.dynamodb_client(), "put_item", throttled_for_evt_2)

    failures = deliver(consumer, *(order_created_message(f"evt-{n}", f"order-{n}") for n in range(4)))

    assert failures == ["m-2"]
    assert sorted(shipments(ddb)) == ["evt-0", "evt-1", "evt-3"]
