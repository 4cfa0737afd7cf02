"""DynamoDB stream (home region) -> one confirmation mail per pending subscriber, one welcome per confirmed one.

Links are signed with the stack's subscription token key (Secrets Manager TOKEN_SECRET_ARN, read on
first use and cached), and point at the site (SITE_URL), whose /api/* behaviour reaches the blog API.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from botocore.config import Config

import subscription_tokens as tokens
from welcome_email import welcome

HOME_REGION = os.environ["HOME_REGION"]
SENDER_ADDRESS = os.environ["SENDER_ADDRESS"]
SES_TEMPLATE_NAME = os.environ["SES_TEMPLATE_NAME"]
CONFIRMATION_TEMPLATE_NAME = os.environ["CONFIRMATION_TEMPLATE_NAME"]
SITE_URL = os.environ["SITE_URL"]
TOKEN_SECRET_ARN = os.environ["TOKEN_SECRET_ARN"]
SES_CONFIGURATION_SET = os.environ.get("SES_CONFIGURATION_SET") or None
IDEMPOTENCY_TABLE = os.environ["IDEMPOTENCY_TABLE"]

# Longer than the stream's 24-hour retention, so every redelivery of a record
# (retry, bisect, replay of a partially failed batch) finds the marker.
WELCOME_DEDUPE_SECONDS = 48 * 60 * 60

_client_config = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})
logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
idempotency_config = IdempotencyConfig(
    # One confirmation per pending subscription, one welcome per confirmed one.
    event_key_jmespath="[kind, email, subscribed_at]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=WELCOME_DEDUPE_SECONDS,
)


# Clients are created on first use, not at import (together they cost about two thirds of a bare
# `import boto3` on every cold start), and then kept for the life of the execution environment.
@cache
def ses_client() -> Any:
    return boto3.client("ses", config=_client_config)


@cache
def persistence_store() -> DynamoDBPersistenceLayer:
    # Its constructor creates a DynamoDB client, so the layer itself is built on first use.
    return DynamoDBPersistenceLayer(
        table_name=IDEMPOTENCY_TABLE, boto3_client=boto3.client("dynamodb", config=_client_config)
    )


token_secret = tokens.CachedSecret(
    lambda: boto3.client("secretsmanager", config=_client_config).get_secret_value(SecretId=TOKEN_SECRET_ARN)[
        "SecretString"
    ]
)


def _send_welcome(subscriber: dict[str, Any]) -> dict[str, str]:
    mail = welcome.Subscriber(**subscriber)
    key = tokens.signing_key(token_secret.get())
    if mail.kind == welcome.CONFIRMATION:
        template, link = CONFIRMATION_TEMPLATE_NAME, welcome.confirmation_link(key, SITE_URL, mail)
    else:
        template, link = SES_TEMPLATE_NAME, welcome.unsubscribe_link(key, SITE_URL, mail)
    message_id = welcome.send_welcome(
        ses_client(),
        mail,
        sender=SENDER_ADDRESS,
        template_name=template,
        configuration_set=SES_CONFIGURATION_SET,
        link=link,
    )
    return {"messageId": message_id}


@cache
def _idempotent_send_welcome() -> Any:
    # @idempotent_function takes its persistence store when it decorates, so it decorates on first use.
    # A fixed key prefix: the default embeds the Lambda function name, which
    # changes when the function is replaced and would silently reset every marker.
    return idempotent_function(
        _send_welcome,
        data_keyword_argument="subscriber",
        config=idempotency_config,
        persistence_store=persistence_store(),
        key_prefix="welcome-email",
    )


def send_welcome_once(subscriber: dict[str, Any]) -> dict[str, str]:
    """_send_welcome, at most once per (kind, address, subscription) within WELCOME_DEDUPE_SECONDS."""
    return _idempotent_send_welcome()(subscriber=subscriber)


def record_handler(record: DynamoDBRecord) -> None:
    stream_record = record.dynamodb
    new_image = stream_record.new_image if stream_record is not None else {}
    old_image = stream_record.old_image if stream_record is not None else {}
    decision = welcome.decide_welcome(record.get("eventName"), new_image, HOME_REGION, old_image)
    if decision.subscriber is None:
        logger.debug("record skipped", extra={"eventID": record.event_id, "reason": decision.reason})
        return
    # Raises when SES refuses or the marker cannot be written: the record is reported
    # as failed and retried. After an SES error Powertools deletes the in-progress
    # marker, so the retry can send.
    result = send_welcome_once(subscriber=decision.subscriber.as_payload())
    logger.info("mail handled", extra={"eventID": record.event_id, "kind": decision.subscriber.kind,
                                       "messageId": result["messageId"]})


@logger.inject_lambda_context
def handler(event: dict, context: Any) -> PartialItemFailureResponse:
    # Lets an in-progress marker left by a crashed invocation expire with that invocation.
    idempotency_config.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
