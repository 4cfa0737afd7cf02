"""Real Lambda event shapes for the outbox functions' tests (REST proxy, DynamoDB stream, SQS).

Shared by test_order_service, test_outbox_relay, test_shipping_consumer and
test_outbox_end_to_end, so each shape has one home.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeSerializer

REGION = "eu-west-1"
ACCOUNT = "123456789012"
_serializer = TypeSerializer()


@dataclass
class FakeLambdaContext:
    function_name: str = "outbox-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:outbox-test"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def rest_proxy_event(
    body: str | None,
    *,
    sub: str | None = "customer-1",
    headers: dict[str, str] | None = None,
    request_id: str = "7f3a5b2e-0d44-4c1e-9b8a-1d2c3e4f5a6b",
) -> dict[str, Any]:
    """POST /orders as API Gateway REST (proxy integration) sends it after a Cognito authorizer."""
    all_headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "X-Forwarded-For": "203.0.113.10",
        **(headers or {}),
    }
    claims = None
    if sub is not None:
        claims = {
            "sub": sub,
            "cognito:username": "alice",
            "email": "alice@example.com",
            "token_use": "id",
            "iss": f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_Example",
            "aud": "3n4b5urk1ft4fl3mg5e62d9ado",
            "auth_time": "1700000000",
            "iat": "1700000000",
            "exp": "Tue Nov 14 23:13:20 UTC 2023",
        }
    return {
        "resource": "/orders",
        "path": "/orders",
        "httpMethod": "POST",
        "headers": all_headers,
        "multiValueHeaders": {key: [value] for key, value in all_headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": "/orders",
            "httpMethod": "POST",
            "extendedRequestId": "Nt8jYGdqjoEFZxw=",
            "requestTime": "14/Nov/2023:22:13:20 +0000",
            "path": "/prod/orders",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": "abc123",
            "requestTimeEpoch": 1700000000000,
            "requestId": request_id,
            "identity": {"sourceIp": "203.0.113.10", "userAgent": "pytest"},
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "apiId": "abc123",
            "authorizer": {"claims": claims} if claims else None,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def lambda_stream_record(raw: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A record from dynamodbstreams GetRecords, shaped as Lambda delivers it to the function."""
    dynamodb = dict(raw["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if hasattr(created, "timestamp"):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion", REGION),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def stream_record(
    sequence_number: str,
    new_image: dict[str, Any] | None,
    *,
    event_name: str = "INSERT",
    stream_arn: str = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/outbox/stream/2024-01-01T00:00:00.000",
) -> dict[str, Any]:
    """A hand-built Lambda DynamoDB stream record for an outbox item given as plain values."""
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1700000000,
        "SequenceNumber": sequence_number,
        "SizeBytes": 256,
        "StreamViewType": "NEW_IMAGE",
    }
    if new_image is not None:
        dynamodb["Keys"] = {"eventId": _serializer.serialize(new_image.get("eventId", "?"))}
        dynamodb["NewImage"] = {key: _serializer.serialize(value) for key, value in new_image.items()}
    return lambda_stream_record(
        {"eventID": f"evt-{sequence_number}", "eventName": event_name, "dynamodb": dynamodb},
        stream_arn,
    )


def stream_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records}


def sqs_record(body: str, *, message_id: str, queue_arn: str, receive_count: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"rh-{message_id}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1700000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1700000000001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def sqs_event_from_messages(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Messages from sqs ReceiveMessage, shaped as the Lambda SQS event source delivers them."""
    return {
        "Records": [
            sqs_record(
                m["Body"],
                message_id=m["MessageId"],
                queue_arn=queue_arn,
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            )
            for m in messages
        ]
    }


def order_created_message(
    event_id: str,
    order_id: str,
    *,
    eventbridge_id: str = "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    items: list[dict[str, Any]] | None = None,
) -> str:
    """The SQS body EventBridge delivers for an OrderCreated event published by the relay."""
    return json.dumps(
        {
            "version": "0",
            "id": eventbridge_id,
            "detail-type": "OrderCreated",
            "source": "serverless-blueprints.orders",
            "account": ACCOUNT,
            "time": "2024-01-01T00:00:00Z",
            "region": REGION,
            "resources": [],
            "detail": {
                "metadata": {
                    "eventId": event_id,
                    "eventType": "OrderCreated",
                    "correlationId": "corr-1",
                    "occurredAt": "2024-01-01T00:00:00.000+00:00",
                    "aggregateId": order_id,
                },
                "data": {
                    "orderId": order_id,
                    "customerId": "customer-1",
                    "items": items or [{"sku": "BOOK-1", "quantity": 2, "unitPrice": 1250}],
                    "currency": "EUR",
                    "amount": 2500,
                    "createdAt": "2024-01-01T00:00:00.000+00:00",
                },
            },
        }
    )
