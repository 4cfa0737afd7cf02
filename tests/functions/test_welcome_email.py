"""Welcome email on moto: one templated email per new home-region subscriber, whatever the stream redelivers."""

from __future__ import annotations

import importlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from welcome_email import welcome

HOME = "eu-west-1"
OTHER = "us-east-1"
TEMPLATE = "blog-welcome"
CONFIG_SET = "blog-transactional"
SENDER = "hello@myblog.example.com"
IDEMPOTENCY_TABLE = "blog-idempotency"
STREAM_ARN = f"arn:aws:dynamodb:{HOME}:123456789012:table/blog/stream/2024-05-01T00:00:00.000"
TEMPLATE_FILE = Path(welcome.__file__).with_name("ses_template.json")


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
        # Powertools' idempotency table layout: partition key "id", TTL on "expiration".
        boto3.client("dynamodb").create_table(
            TableName=IDEMPOTENCY_TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        yield ses


def create_template(ses) -> None:
    parts = json.loads(TEMPLATE_FILE.read_text())
    ses.create_template(
        Template={
            "TemplateName": TEMPLATE,
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


def subscriber_image(email: str, name: str | None = "Ada", origin: str = HOME) -> dict[str, Any]:
    image = {
        "pk": {"S": f"SUBSCRIBER#{email}"},
        "sk": {"S": "PROFILE"},
        "type": {"S": "subscriber"},
        "email": {"S": email},
        "subscribedAt": {"S": "2024-05-02T09:15:24.123Z"},
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


def deliver(mailer, *records: dict[str, Any]) -> dict[str, Any]:
    return mailer.handler({"Records": list(records)}, LambdaContext())


# --- the email -------------------------------------------------------------------


def test_new_subscriber_gets_one_templated_email(mailer):
    response = deliver(mailer, insert("ada@example.com", name="Ada"))

    assert response == {"batchItemFailures": []}
    [message] = sent_messages()
    assert message.template == TEMPLATE
    assert message.source == SENDER
    assert message.destinations == {"ToAddresses": ["ada@example.com"]}
    assert json.loads(message.template_data) == {"name": "Ada", "email": "ada@example.com"}


def test_subscriber_without_a_name_is_greeted_generically(mailer):
    deliver(mailer, insert("grace@example.com", name=None))

    [message] = sent_messages()
    assert json.loads(message.template_data) == {"name": "there", "email": "grace@example.com"}


def test_template_renders_with_the_data_the_mailer_sends(aws):
    data = welcome.template_data(welcome.Subscriber(email="ada@example.com", name="Ada"))

    rendered = aws.test_render_template(TemplateName=TEMPLATE, TemplateData=json.dumps(data))["RenderedTemplate"]

    assert "Subject: Welcome to MyBlog" in rendered
    assert "Hi Ada," in rendered
    assert "ada@example.com" in rendered
    assert "{{" not in rendered


def test_template_uses_only_placeholders_the_mailer_supplies():
    parts = json.loads(TEMPLATE_FILE.read_text())
    placeholders = {name for part in parts.values() for name in re.findall(r"{{\s*([\w.]+)\s*}}", part)}

    supplied = welcome.template_data(welcome.Subscriber(email="a@example.com", name=None))

    assert placeholders == set(supplied) == {"name", "email"}


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
    # e.g. the subscriber item was deleted and written again within the dedupe window
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
    aws.delete_template(TemplateName=TEMPLATE)  # SES now refuses every send
    batch = [insert("ada@example.com"), insert("grace@example.com"), insert("linus@example.com")]

    # Every record failed: Powertools fails the invocation, so Lambda retries (and bisects) the batch.
    with pytest.raises(BatchProcessingError):
        deliver(mailer, *batch)
    assert sent_messages() == []

    create_template(aws)
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


def test_decision_welcomes_a_home_region_subscriber_insert():
    decision = welcome.decide_welcome("INSERT", plain(subscriber_image("ada@example.com")), HOME)

    assert decision.subscriber == welcome.Subscriber(email="ada@example.com", name="Ada")


@pytest.mark.parametrize(
    ("event_name", "image"),
    [
        ("MODIFY", subscriber_image("ada@example.com")),
        ("REMOVE", subscriber_image("ada@example.com")),
        (None, subscriber_image("ada@example.com")),
        ("INSERT", subscriber_image("ada@example.com", origin=OTHER)),
        ("INSERT", {**subscriber_image("ada@example.com"), "type": {"S": "post"}}),
        ("INSERT", {**subscriber_image("ada@example.com"), "sk": {"S": "WELCOME"}}),
        ("INSERT", {**subscriber_image("ada@example.com"), "pk": {"S": "POST#ada"}}),
        ("INSERT", {**subscriber_image("ada@example.com"), "email": {"S": "someone@else.example"}}),
        ("INSERT", {k: v for k, v in subscriber_image("ada@example.com").items() if k != "email"}),
    ],
    ids=["modify", "remove", "no-event-name", "other-region", "not-subscriber-type", "other-sk", "other-pk",
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
