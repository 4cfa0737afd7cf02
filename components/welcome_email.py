"""WelcomeEmail: one SES templated email per new subscriber, from the home region's table stream.

    POST /api/subscribe ──▶ table (home region) ◀──replication──▶ replicas (other regions)
                              │ stream NEW_AND_OLD_IMAGES (home only; replicas' streams are not read)
                              ▼ filter: INSERT, NewImage.type = subscriber, pk SUBSCRIBER#*, originRegion = home
                       event source mapping ── bisect, 3 retries, 1 h max age ──on failure──▶ SQS (alarmed)
                              │ ReportBatchItemFailures
                              ▼
                       Lambda welcome_email ──▶ idempotency table (key = email, 48 h, TTL)
                              │ ses:SendTemplatedEmail: this identity, template and configuration set only
                              ▼
                       SES: identity (domain + DKIM records, or one address) + configuration set + template

A subscriber written in another region replicates into the home table as an INSERT too: the
filter drops it (its `originRegion` isn't home), and the function checks again. A retried or
re-delivered record finds the idempotency marker and sends nothing.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
from .global_table import GlobalTable, table_key_statements
from .iam import allow
from .lambda_function import LambdaFunction
from .lambda_packaging import function_dir
from .secure_queue import SecureQueue

# The functions engineer's template: the placeholders match welcome.template_data().
TEMPLATE_FILE = function_dir("welcome_email") / "ses_template.json"
TEMPLATE_PLACEHOLDERS = ("{{name}}",)
# The function's item layout (functions/blog_api/subscriptions.py, functions/welcome_email/welcome.py).
SUBSCRIBER_TYPE = "subscriber"
SUBSCRIBER_KEY_PREFIX = "SUBSCRIBER#"
# Powertools DynamoDBPersistenceLayer defaults.
IDEMPOTENCY_KEY_ATTRIBUTE = "id"
IDEMPOTENCY_TTL_ATTRIBUTE = "expiration"
SES_NAME_LIMIT = 64
_EMAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
                    r"([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")


def is_email_address(value: str) -> bool:
    """An ASCII address like news@myblog.example.com (what SES verifies and sends from)."""
    return len(value) <= 254 and _EMAIL.fullmatch(value) is not None


def is_domain(value: str) -> bool:
    labels = value.split(".")
    return (len(value) <= 253 and len(labels) >= 2 and re.fullmatch(r"[A-Za-z]{2,63}|xn--[a-z0-9-]+", labels[-1])
            is not None and all(re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", label)
                                for label in labels))


def sender_covered_by(identity: str, sender: str) -> bool:
    """SES sends from an address only if it, or its domain (or a parent domain), is the verified identity."""
    if "@" in identity:
        return sender.lower() == identity.lower()
    domain = sender.rpartition("@")[2].lower()
    return domain == identity.lower() or domain.endswith("." + identity.lower())


def load_template(path: Path = TEMPLATE_FILE) -> dict:
    """{subject, html, text} of the welcome template as the function's tests render it."""
    parts = json.loads(path.read_text())
    return {"subject": parts["subject"], "html": parts["html"], "text": parts["text"]}


def ses_resource_name(*parts: str) -> str:
    """An SES configuration-set / template name: letters, digits, - and _, at most 64 characters."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(parts))[:SES_NAME_LIMIT].strip("-")


class WelcomeTemplate(TypedDict):
    subject: str
    """Subject line (may use {{name}})."""
    html: str
    """HTML part; must greet {{name}}."""
    text: str
    """Plain-text part; must greet {{name}}."""


class WelcomeEmailArgs(TypedDict, total=False):
    table: GlobalTable
    """The table whose home-region stream carries new subscribers."""
    identity: str
    """SES identity: a domain (DKIM records go in hosted_zone_id) or one email address."""
    sender_address: str
    """From address; must be the identity, or an address in the identity's domain."""
    hosted_zone_id: Optional[pulumi.Input[str]]
    """Route 53 zone of a domain identity: its three DKIM CNAME records are created there."""
    template: WelcomeTemplate
    """Subject/html/text; default: functions/welcome_email/ses_template.json."""
    sandbox_recipients: Sequence[str]
    """Verified recipient addresses (SES sandbox only: SES authorises the recipient's identity as well)."""
    memory_mb: int
    """Lambda memory."""
    timeout_seconds: int
    """Lambda timeout."""
    batch_size: int
    """Stream records per invocation (1-100)."""
    maximum_retry_attempts: int
    """Retries of a failing batch before it goes to the on-failure queue (0-10)."""
    maximum_record_age_seconds: int
    """Records older than this go to the on-failure queue (60-86400)."""
    iterator_age_alarm_seconds: int
    """Alarm when the stream's oldest unprocessed record is older than this."""
    alarm_actions: Sequence[pulumi.Input[str]]
    """SNS topics notified by the alarms."""
    log_retention_days: int
    """Retention of the function's logs."""
    deletion_protection: bool
    """Protect the idempotency table."""


def _check_args(name: str, args: WelcomeEmailArgs) -> None:
    def fail(message: str) -> None:
        raise ValueError(f"{name}: {message}")

    if args.get("table") is None:
        fail("table (the GlobalTable whose stream carries subscribers) is required")
    identity, sender = args.get("identity") or "", args.get("sender_address") or ""
    if not (is_email_address(identity) or is_domain(identity)):
        fail(f"identity {identity!r} must be a domain (myblog.example.com) or an email address")
    if not is_email_address(sender):
        fail(f"sender_address {sender!r} is not an email address")
    if not sender_covered_by(identity, sender):
        fail(f"sender_address {sender!r} is not covered by identity {identity!r}: SES would refuse to send")
    if args.get("hosted_zone_id") is not None and "@" in identity:
        fail("hosted_zone_id is for a domain identity's DKIM records; an address identity is verified by email")
    for recipient in args.get("sandbox_recipients", []):
        if not is_email_address(recipient):
            fail(f"sandbox_recipients: {recipient!r} is not an email address")
    template = args.get("template") or load_template()
    for part in ("html", "text"):
        if not all(placeholder in template.get(part, "") for placeholder in TEMPLATE_PLACEHOLDERS):
            fail(f"template.{part} must greet the subscriber with {', '.join(TEMPLATE_PLACEHOLDERS)}")
    ranges = {"batch_size": (1, 100, 10), "maximum_retry_attempts": (0, 10, defaults.STREAM_MAXIMUM_RETRY_ATTEMPTS),
              "maximum_record_age_seconds": (60, defaults.DYNAMODB_STREAM_RETENTION_SECONDS,
                                             defaults.STREAM_MAXIMUM_RECORD_AGE_SECONDS)}
    for knob, (low, high, default) in ranges.items():
        value = args.get(knob, default)
        if not low <= value <= high:
            fail(f"{knob}={value} must be {low}..{high} (bounded, so a bad record can't block the stream)")
    record_age = args.get("maximum_record_age_seconds", defaults.STREAM_MAXIMUM_RECORD_AGE_SECONDS)
    alarm = args.get("iterator_age_alarm_seconds", min(300, record_age // 2))
    if not 1 <= alarm < record_age:
        fail(f"iterator_age_alarm_seconds={alarm} must be 1..{record_age - 1}: the alarm has to fire while the "
             f"records can still be sent (maximum_record_age_seconds={record_age})")


class WelcomeEmail(pulumi.ComponentResource):
    function: LambdaFunction
    """The welcome_email function."""
    failure_queue: SecureQueue
    """Where records that keep failing are recorded (alarmed)."""
    idempotency_table: aws.dynamodb.Table
    """Powertools idempotency markers (one per address, 48 h)."""
    identity_arn: pulumi.Output[str]
    """SES identity ARN."""
    configuration_set_name: pulumi.Output[str]
    """SES configuration set."""
    template_name: pulumi.Output[str]
    """SES template."""
    filter_pattern: pulumi.Output[str]
    """The event source mapping's filter (JSON)."""

    def __init__(self, name: str, args: WelcomeEmailArgs, opts: Optional[pulumi.ResourceOptions] = None):
        _check_args(name, args)
        super().__init__("serverless-blueprints:index:WelcomeEmail", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        table: GlobalTable = args["table"]
        identity_name, sender = args["identity"], args["sender_address"]
        template = args.get("template") or load_template()
        protect = args.get("deletion_protection", False)
        alarm_actions = list(args.get("alarm_actions", []))
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        stack_prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}"

        # --- SES -------------------------------------------------------------------------------
        configuration_set = aws.sesv2.ConfigurationSet(
            f"{name}-config", configuration_set_name=ses_resource_name(stack_prefix, name),
            delivery_options={"tls_policy": "REQUIRE"},
            reputation_options={"reputation_metrics_enabled": True},
            sending_options={"sending_enabled": True},
            # Never mail an address that bounced or complained again.
            suppression_options={"suppressed_reasons": ["BOUNCE", "COMPLAINT"]},
            opts=child)
        identity = aws.sesv2.EmailIdentity(
            f"{name}-identity", email_identity=identity_name,
            configuration_set_name=configuration_set.configuration_set_name, opts=child)
        if args.get("hosted_zone_id") is not None:
            for index in range(3):  # Easy DKIM: always three tokens
                token = identity.dkim_signing_attributes.tokens[index]
                aws.route53.Record(
                    f"{name}-dkim-{index}", zone_id=args["hosted_zone_id"], type="CNAME", ttl=1800,
                    name=pulumi.Output.concat(token, "._domainkey.", identity_name),
                    records=[pulumi.Output.concat(token, ".dkim.amazonses.com")], opts=child)
        welcome = aws.ses.Template(
            f"{name}-template", name=ses_resource_name(stack_prefix, name, "welcome"),
            subject=template["subject"], html=template["html"], text=template["text"], opts=child)

        # --- failures and idempotency ----------------------------------------------------------
        self.failure_queue = SecureQueue(f"{name}-failures", {"dead_letter": False, "alarm_actions": alarm_actions},
                                         opts=child)
        self.idempotency_table = aws.dynamodb.Table(
            f"{name}-idempotency", billing_mode="PAY_PER_REQUEST", hash_key=IDEMPOTENCY_KEY_ATTRIBUTE,
            attributes=[{"name": IDEMPOTENCY_KEY_ATTRIBUTE, "type": "S"}],
            ttl={"attribute_name": IDEMPOTENCY_TTL_ATTRIBUTE, "enabled": True},
            point_in_time_recovery={"enabled": True}, server_side_encryption={"enabled": True},
            deletion_protection_enabled=protect, opts=child)

        # --- the function ----------------------------------------------------------------------
        recipients = [pulumi.Output.concat("arn:aws:ses:", region, ":", account, ":identity/", address)
                      for address in args.get("sandbox_recipients", [])]
        self.function = LambdaFunction(f"{name}-sender", {
            "code": "welcome_email",
            "memory_mb": args.get("memory_mb", 256),
            "timeout_seconds": args.get("timeout_seconds", 30),
            "log_retention_days": args.get("log_retention_days", 30),
            "environment": {
                "HOME_REGION": region, "SENDER_ADDRESS": sender, "SES_TEMPLATE_NAME": welcome.name,
                "SES_CONFIGURATION_SET": configuration_set.configuration_set_name,
                "IDEMPOTENCY_TABLE": self.idempotency_table.name,
            },
            "policy_statements": [
                # SendTemplatedEmail is authorised against the identity, the template and the configuration
                # set of the request; FromAddress pins the sender too.
                allow(["ses:SendTemplatedEmail"], [identity.arn, welcome.arn, configuration_set.arn, *recipients],
                      sid="SendWelcomeTemplateOnly", condition={"StringEquals": {"ses:FromAddress": sender}}),
                allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                      [table.stream_arn], sid="ReadHomeStream"),
                allow(["dynamodb:ListStreams"], [table.arn.apply(lambda arn: f"{arn}/stream/*")],
                      sid="ListHomeStreams"),
                allow(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                      [self.idempotency_table.arn], sid="IdempotencyRecords"),
                allow(["sqs:SendMessage"], [self.failure_queue.arn], sid="StreamOnFailureDestination"),
                *table_key_statements(table, ["kms:Decrypt", "kms:DescribeKey"], sid="StreamKeyThroughDynamoDB"),
            ],
        }, opts=child)

        # --- the home stream, filtered to new subscribers written here --------------------------
        self.filter_pattern = pulumi.Output.json_dumps({
            "eventName": ["INSERT"],
            "dynamodb": {"NewImage": {
                "type": {"S": [SUBSCRIBER_TYPE]},
                "pk": {"S": [{"prefix": SUBSCRIBER_KEY_PREFIX}]},
                "originRegion": {"S": [region]},
            }},
        })
        record_age = args.get("maximum_record_age_seconds", defaults.STREAM_MAXIMUM_RECORD_AGE_SECONDS)
        aws.lambda_.EventSourceMapping(
            f"{name}-stream", event_source_arn=table.stream_arn, function_name=self.function.function.arn,
            # TRIM_HORIZON: LATEST would skip subscribers stored before the mapping became active.
            starting_position="TRIM_HORIZON",
            filter_criteria={"filters": [{"pattern": self.filter_pattern}]},
            batch_size=args.get("batch_size", 10),
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=args.get("maximum_retry_attempts", defaults.STREAM_MAXIMUM_RETRY_ATTEMPTS),
            maximum_record_age_in_seconds=record_age,
            destination_config={"on_failure": {"destination_arn": self.failure_queue.arn}},
            function_response_types=["ReportBatchItemFailures"],
            opts=child)
        aws.cloudwatch.MetricAlarm(
            f"{name}-iterator-age",
            alarm_description=f"New subscribers are waiting for their welcome email; records are given up on "
                              f"(to the on-failure queue) at {record_age} s",
            namespace="AWS/Lambda", metric_name="IteratorAge", dimensions={"FunctionName": self.function.name},
            statistic="Maximum", period=60, evaluation_periods=1,
            threshold=args.get("iterator_age_alarm_seconds", min(300, record_age // 2)) * 1000,
            comparison_operator="GreaterThanThreshold", treat_missing_data="notBreaching",
            alarm_actions=alarm_actions, opts=child)

        self.identity_arn = identity.arn
        self.configuration_set_name = configuration_set.configuration_set_name
        self.template_name = welcome.name
        self.register_outputs({"identity_arn": self.identity_arn, "configuration_set_name": self.configuration_set_name,
                               "template_name": self.template_name, "function_name": self.function.name,
                               "failure_queue_url": self.failure_queue.url,
                               "idempotency_table_name": self.idempotency_table.name})
