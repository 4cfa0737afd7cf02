"""Double opt-in mails on moto: one confirmation per pending home-region subscriber, one welcome per
confirmation, whatever the stream redelivers."""

from __future__ import annotations

import importlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

import subscription_tokens as tokens
from welcome_email import welcome

HOME = "eu-west-1"
OTHER = "us-east-1"
TEMPLATE = "blog-welcome"
CONFIRM_TEMPLATE = "blog-confirm"
SITE = "https://blog.example.com"
TOKEN_KEY = "t" * 64
CONFIG_SET = "blog-transactional"
SENDER = "hello@myblog.example.com"
IDEMPOTENCY_TABLE = "blog-idempotency"
STREAM_ARN = f"arn:aws:dynamodb:{HOME}:123456789012:table/blog/stream/2024-05-01T00:00:00.000"
TEMPLATE_FILE = Path(welcome.__file__).with_name("ses_template.json")
CONFIRM_TEMPLATE_FILE = Path(welcome.__file__).with_name("confirmation_template.json")


@dataclass
class LambdaContext:
    function_name: str = "welcome-email"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{HOME}:123456789012:function:welcome-email"
    aws_request_id: str = "2b4c6d8e-0000-4000-8000-00000000c0de"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": HOME,
        "AWS_REGION": HOME,
        "HOME_REGION": HOME,
        "SENDER_ADDRESS": SENDER,
        "SES_TEMPLATE_NAME": TEMPLATE,
        "CONFIRMATION_TEMPLATE_NAME": CONFIRM_TEMPLATE,
        "SITE_URL": SITE,
        "SES_CONFIGURATION_SET": CONFIG_SET,
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
        "POWERTOOLS_SERVICE_NAME": "welcome-email",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        ses = boto3.client("ses")
        ses.verify_domain_identity(Domain="myblog.example.com")
        ses.create_configuration_set(ConfigurationSet={"Name": CONFIG_SET})
        create_template(ses)
        create_template(ses, CONFIRM_TEMPLATE, CONFIRM_TEMPLATE_FILE)
        arn = boto3.client("secretsmanager").create_secret(Name="blog-token-key", SecretString=TOKEN_KEY)["ARN"]
        monkeypatch.setenv("TOKEN_SECRET_ARN", arn)
        # Powertools' idempotency table layout: partition key "id", TTL on "expiration".
        boto3.client("dynamodb").create_table(
            TableName=IDEMPOTENCY_TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        yield ses


def create_template(ses, name: str = TEMPLATE, file: Path = TEMPLATE_FILE) -> None:
    parts = json.loads(file.read_text())
    ses.create_template(
        Template={
            "TemplateName": name,
            "SubjectPart": parts["subject"],
            "HtmlPart": parts["html"],
            "TextPart": parts["text"],
        }
    )


@pytest.fixture
def mailer(aws):
    if "welcome_email.handler" in sys.modules:
        return importlib.reload(sys.modules["welcome_email.handler"])
    return importlib.import_module("welcome_email.handler")


def sent_messages() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][HOME].sent_messages)


SUBSCRIBED_AT = "2024-05-02T09:15:24.123Z"


def subscriber_image(email: str, name: str | None = "Ada", origin: str = HOME, status: str = "pending",
                     subscribed_at: str = SUBSCRIBED_AT) -> dict[str, Any]:
    image = {
        "pk": {"S": f"SUBSCRIBER#{email}"},
        "sk": {"S": "PROFILE"},
        "type": {"S": "subscriber"},
        "email": {"S": email},
        "status": {"S": status},
        "subscribedAt": {"S": subscribed_at},
        "originRegion": {"S": origin},
    }
    if name is not None:
        image["name"] = {"S": name}
    return image


_sequence = iter(range(100_000_000_000_000_000_000, 200_000_000_000_000_000_000))


def stream_record(
    event_name: str,
    *,
    new_image: dict[str, Any] | None = None,
    old_image: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda receives it (view type NEW_AND_OLD_IMAGES)."""
    image = new_image or old_image or {}
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1714641324,
        "Keys": {"pk": image["pk"], "sk": image["sk"]},
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 212,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new_image is not None:
        dynamodb["NewImage"] = new_image
    if old_image is not None:
        dynamodb["OldImage"] = old_image
    return {
        "eventID": f"{next(_sequence):x}"[:32],
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": HOME,
        "dynamodb": dynamodb,
        "eventSourceARN": STREAM_ARN,
    }


def insert(email: str = "ada@example.com", **kwargs: Any) -> dict[str, Any]:
    return stream_record("INSERT", new_image=subscriber_image(email, **kwargs))


def confirmation(email: str = "ada@example.com", **kwargs: Any) -> dict[str, Any]:
    """The MODIFY the API's confirm writes: pending -> confirmed."""
    return stream_record("MODIFY", old_image=subscriber_image(email, **kwargs),
                         new_image={**subscriber_image(email, status="confirmed", **kwargs),
                                    "confirmedAt": {"S": "2024-05-02T10:00:00.000Z"}})


def link_token(url: str) -> str:
    assert url.startswith(SITE + "/api/subscriptions/")
    return parse_qs(urlsplit(url).query)["token"][0]


def deliver(mailer, *records: dict[str, Any]) -> dict[str, Any]:
    return mailer.handler({"Records": list(records)}, LambdaContext())


# --- the email -------------------------------------------------------------------


def test_new_pending_subscriber_gets_one_confirmation_email_and_no_welcome(mailer):
    response = deliver(mailer, insert("ada@example.com", name="Ada"))

    assert response == {"batchItemFailures": []}
    [message] = sent_messages()
    assert message.template == CONFIRM_TEMPLATE
    assert message.source == SENDER
    assert message.destinations == {"ToAddresses": ["ada@example.com"]}
    data = json.loads(message.template_data)
    assert {k: v for k, v in data.items() if k != "confirmUrl"} == {"name": "Ada", "email": "ada@example.com"}
    assert data["confirmUrl"].startswith(SITE + "/api/subscriptions/confirm?token=")


def test_the_confirmation_link_is_signed_and_expires_48_hours_after_subscribing(mailer):
    deliver(mailer, insert("ada@example.com"))

    token = link_token(json.loads(sent_messages()[0].template_data)["confirmUrl"])
    claims = tokens.verify(TOKEN_KEY.encode(), token, tokens.CONFIRM, now=0)

    assert claims.email == "ada@example.com"
    assert claims.expires_at == int(welcome._epoch(SUBSCRIBED_AT)) + 48 * 3600
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.verify(TOKEN_KEY.encode(), token, tokens.CONFIRM, now=claims.expires_at)
    with pytest.raises(tokens.TokenError):
        tokens.verify(TOKEN_KEY.encode(), token, tokens.UNSUBSCRIBE, now=0)


def test_confirmation_gets_one_welcome_with_a_signed_unsubscribe_link(mailer):
    response = deliver(mailer, confirmation("ada@example.com", name="Ada"))

    assert response == {"batchItemFailures": []}
    [message] = sent_messages()
    assert message.template == TEMPLATE
    data = json.loads(message.template_data)
    assert data["name"] == "Ada"
    assert data["unsubscribeUrl"].startswith(SITE + "/api/subscriptions/unsubscribe?token=")
    claims = tokens.verify(TOKEN_KEY.encode(), link_token(data["unsubscribeUrl"]), tokens.UNSUBSCRIBE)
    assert claims.email == "ada@example.com" and claims.expires_at == 0


def test_subscribe_then_confirm_sends_one_confirmation_then_one_welcome(mailer):
    deliver(mailer, insert("ada@example.com"), insert("ada@example.com"))
    deliver(mailer, confirmation("ada@example.com"))
    deliver(mailer, confirmation("ada@example.com"))

    assert [m.template for m in sent_messages()] == [CONFIRM_TEMPLATE, TEMPLATE]


def test_subscriber_without_a_name_is_greeted_generically(mailer):
    deliver(mailer, insert("grace@example.com", name=None))

    [message] = sent_messages()
    assert json.loads(message.template_data)["name"] == "there"


@pytest.mark.parametrize(("template", "kind", "subject"), [
    (TEMPLATE, welcome.WELCOME, "Welcome to MyBlog"),
    (CONFIRM_TEMPLATE, welcome.CONFIRMATION, "Please confirm your MyBlog subscription"),
])
def test_template_renders_with_the_data_the_mailer_sends(aws, template, kind, subject):
    data = welcome.template_data(welcome.Subscriber(email="ada@example.com", name="Ada", kind=kind),
                                 f"{SITE}/api/subscriptions/x?token=abc")

    rendered = aws.test_render_template(TemplateName=template, TemplateData=json.dumps(data))["RenderedTemplate"]

    assert f"Subject: {subject}" in rendered
    assert "Hi Ada," in rendered
    assert "ada@example.com" in rendered
    assert f"{SITE}/api/subscriptions/x?token=abc" in rendered
    assert "{{" not in rendered


@pytest.mark.parametrize(("file", "kind", "link"), [(TEMPLATE_FILE, welcome.WELCOME, "unsubscribeUrl"),
                                                    (CONFIRM_TEMPLATE_FILE, welcome.CONFIRMATION, "confirmUrl")])
def test_template_uses_only_placeholders_the_mailer_supplies(file, kind, link):
    parts = json.loads(file.read_text())
    placeholders = {name for part in parts.values() for name in re.findall(r"{{\s*([\w.]+)\s*}}", part)}

    supplied = welcome.template_data(welcome.Subscriber(email="a@example.com", name=None, kind=kind), "x")

    assert placeholders == set(supplied) == {"name", "email", link}


# --- records that must not send ------------------------------------------------------


def test_modify_sends_nothing(mailer):
    record = stream_record(
        "MODIFY",
        old_image=subscriber_image("ada@example.com", name="Ada"),
        new_image=subscriber_image("ada@example.com", name="Ada L."),
    )

    response = deliver(mailer, record)

    assert response == {"batchItemFailures": []}
    assert sent_messages() == []


def test_remove_sends_nothing(mailer):
    response = deliver(mailer, stream_record("REMOVE", old_image=subscriber_image("ada@example.com")))

    assert response == {"batchItemFailures": []}
    assert sent_messages() == []


def test_insert_of_a_post_sends_nothing(mailer):
    post = {
        "pk": {"S": "POST#hello-world"},
        "sk": {"S": "POST"},
        "type": {"S": "post"},
        "slug": {"S": "hello-world"},
        "title": {"S": "Hello world"},
        "status": {"S": "published"},
    }

    deliver(mailer, stream_record("INSERT", new_image=post))

    assert sent_messages() == []


def test_record_replicated_from_another_region_sends_nothing(mailer):
    response = deliver(mailer, insert("ada@example.com", origin=OTHER))

    assert response == {"batchItemFailures": []}
    assert sent_messages() == []


def test_subscriber_without_origin_region_sends_nothing(mailer):
    record = insert("ada@example.com")
    del record["dynamodb"]["NewImage"]["originRegion"]

    deliver(mailer, record)

    assert sent_messages() == []


# --- idempotency -----------------------------------------------------------------------


def test_same_record_delivered_twice_sends_one_email(mailer):
    record = insert("ada@example.com")

    first = deliver(mailer, record)
    second = deliver(mailer, record)

    assert first == second == {"batchItemFailures": []}
    assert len(sent_messages()) == 1


def test_same_record_twice_in_one_batch_sends_one_email(mailer):
    record = insert("ada@example.com")

    deliver(mailer, record, record)

    assert len(sent_messages()) == 1


def test_a_second_insert_for_the_same_address_sends_no_second_email(mailer):
    # e.g. a redelivery of the same pending subscription, the name tidied in between
    deliver(mailer, insert("ada@example.com", name="Ada"))
    deliver(mailer, insert("ada@example.com", name="Ada Lovelace"))

    assert len(sent_messages()) == 1


def test_marker_key_survives_a_replaced_function(mailer, monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "welcome-email-1a2b3c")
    deliver(mailer, insert("ada@example.com"))

    [marker] = boto3.client("dynamodb").scan(TableName=IDEMPOTENCY_TABLE)["Items"]

    assert marker["id"]["S"].startswith("welcome-email#")
    assert "ada@example.com" not in json.dumps(marker["id"])
    assert marker["status"]["S"] == "COMPLETED"


def test_a_batch_that_failed_entirely_is_retried_and_sends_exactly_once(mailer, aws):
    aws.delete_template(TemplateName=CONFIRM_TEMPLATE)  # SES now refuses every send
    batch = [insert("ada@example.com"), insert("grace@example.com"), insert("linus@example.com")]

    # Every record failed: Powertools fails the invocation, so Lambda retries (and bisects) the batch.
    with pytest.raises(BatchProcessingError):
        deliver(mailer, *batch)
    assert sent_messages() == []

    create_template(aws, CONFIRM_TEMPLATE, CONFIRM_TEMPLATE_FILE)
    retried = deliver(mailer, *batch)
    redelivered = deliver(mailer, *batch)

    assert retried == redelivered == {"batchItemFailures": []}
    assert sorted(m.destinations["ToAddresses"][0] for m in sent_messages()) == [
        "ada@example.com",
        "grace@example.com",
        "linus@example.com",
    ]


def test_retry_while_a_crashed_send_is_still_in_progress_sends_nothing(mailer, monkeypatch):
    record = insert("ada@example.com")

    def crash(*args, **kwargs):
        raise RuntimeError("invocation died after SES accepted the email")

    save_success = mailer.persistence_store().save_success
    monkeypatch.setattr(mailer.persistence_store(), "save_success", crash)
    with pytest.raises(BatchProcessingError):
        deliver(mailer, record)
    monkeypatch.setattr(mailer.persistence_store(), "save_success", save_success)

    # The marker stays IN_PROGRESS until the crashed invocation's deadline, so the retry backs off.
    with pytest.raises(BatchProcessingError):
        deliver(mailer, record)
    assert len(sent_messages()) == 1


def test_only_the_failing_record_is_reported(mailer, monkeypatch):
    real_send = mailer.ses_client().send_templated_email

    def flaky_send(**request):
        if request["Destination"]["ToAddresses"] == ["grace@example.com"]:
            raise mailer.ses_client().exceptions.MessageRejected(
                {"Error": {"Code": "MessageRejected", "Message": "Throttled"}}, "SendTemplatedEmail"
            )
        return real_send(**request)

    monkeypatch.setattr(mailer.ses_client(), "send_templated_email", flaky_send)
    ada, grace, linus = insert("ada@example.com"), insert("grace@example.com"), insert("linus@example.com")

    response = deliver(mailer, ada, grace, linus)

    assert response == {"batchItemFailures": [{"itemIdentifier": grace["dynamodb"]["SequenceNumber"]}]}
    assert sorted(m.destinations["ToAddresses"][0] for m in sent_messages()) == [
        "ada@example.com",
        "linus@example.com",
    ]

    # Lambda resends from the failed record onwards; linus must not get a second email.
    monkeypatch.setattr(mailer.ses_client(), "send_templated_email", real_send)
    assert deliver(mailer, grace, linus) == {"batchItemFailures": []}
    assert sorted(m.destinations["ToAddresses"][0] for m in sent_messages()) == [
        "ada@example.com",
        "grace@example.com",
        "linus@example.com",
    ]


# --- the decision, without AWS -----------------------------------------------------------


def plain(image: dict[str, Any]) -> dict[str, Any]:
    return {name: value["S"] for name, value in image.items()}


def test_decision_asks_a_home_region_pending_insert_to_confirm():
    decision = welcome.decide_welcome("INSERT", plain(subscriber_image("ada@example.com")), HOME)

    assert decision.subscriber == welcome.Subscriber(email="ada@example.com", name="Ada", kind=welcome.CONFIRMATION,
                                                     subscribed_at=SUBSCRIBED_AT)


def test_decision_welcomes_a_confirmation():
    record = confirmation("ada@example.com")["dynamodb"]
    decision = welcome.decide_welcome("MODIFY", plain(record["NewImage"]), HOME, plain(record["OldImage"]))

    assert decision.subscriber.kind == welcome.WELCOME


def test_decision_asks_again_when_an_expired_pending_subscription_is_renewed():
    old = plain(subscriber_image("ada@example.com", subscribed_at="2024-01-01T00:00:00.000Z"))
    decision = welcome.decide_welcome("MODIFY", plain(subscriber_image("ada@example.com")), HOME, old)

    assert decision.subscriber.kind == welcome.CONFIRMATION and decision.subscriber.subscribed_at == SUBSCRIBED_AT


@pytest.mark.parametrize(
    ("event_name", "image"),
    [
        ("MODIFY", subscriber_image("ada@example.com")),
        ("REMOVE", subscriber_image("ada@example.com")),
        ("INSERT", subscriber_image("ada@example.com", status="confirmed")),
        ("INSERT", {k: v for k, v in subscriber_image("ada@example.com").items() if k != "status"}),
        ("INSERT", subscriber_image("ada@example.com", subscribed_at="yesterday")),
        (None, subscriber_image("ada@example.com")),
        ("INSERT", subscriber_image("ada@example.com", origin=OTHER)),
        ("INSERT", {**subscriber_image("ada@example.com"), "type": {"S": "post"}}),
        ("INSERT", {**subscriber_image("ada@example.com"), "sk": {"S": "WELCOME"}}),
        ("INSERT", {**subscriber_image("ada@example.com"), "pk": {"S": "POST#ada"}}),
        ("INSERT", {**subscriber_image("ada@example.com"), "email": {"S": "someone@else.example"}}),
        ("INSERT", {k: v for k, v in subscriber_image("ada@example.com").items() if k != "email"}),
    ],
    ids=["modify", "remove", "confirmed-insert", "no-status", "bad-subscribed-at", "no-event-name", "other-region",
         "not-subscriber-type", "other-sk", "other-pk",
         "email-key-mismatch", "no-email"],
)
def test_decision_skips_everything_else(event_name, image):
    decision = welcome.decide_welcome(event_name, plain(image), HOME)

    assert decision.subscriber is None
    assert decision.reason


@pytest.mark.parametrize(("name", "expected"), [("  Ada  ", "Ada"), ("", None), ("   ", None), ("x" * 150, "x" * 100)])
def test_decision_tidies_the_stored_name(name, expected):
    image = plain(subscriber_image("ada@example.com", name=name))

    assert welcome.decide_welcome("INSERT", image, HOME).subscriber.name == expected


def test_decision_ignores_a_non_string_name():
    image = {**plain(subscriber_image("ada@example.com", name=None)), "name": 42}

    assert welcome.decide_welcome("INSERT", image, HOME).subscriber.name is None
