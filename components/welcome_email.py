"""WelcomeEmail: double opt-in mails (a confirmation link, then one welcome) from the home region's table stream.

    POST /api/subscribe ──▶ pending subscriber ──▶ table (home region) ◀──replication──▶ replicas
    GET  /api/subscriptions/confirm?token ──▶ confirmed │ stream NEW_AND_OLD_IMAGES (home only)
                              ▼ filters (either): type = subscriber, pk SUBSCRIBER#*, originRegion = home, and
                              │   INSERT or MODIFY with NewImage.status = pending          → confirmation mail
                              │   MODIFY with OldImage.status = pending, NewImage = confirmed → welcome mail
                       event source mapping ── bisect, 3 retries, 1 h max age ──on failure──▶ SQS (alarmed)
                              │ ReportBatchItemFailures
                              ▼
                       Lambda welcome_email ──▶ idempotency table (key = kind + email + subscribedAt, 48 h, TTL)
                              │ links signed with the stack's token key (Secrets Manager, BlogApi.token_secret_arn)
                              │ ses:SendTemplatedEmail: this identity, these two templates and configuration set only
                              ▼
                       SES: identity (domain + DKIM records, or one address) + configuration set
                            + confirmation template ({{confirmUrl}}) + welcome template ({{unsubscribeUrl}})

Nobody is welcomed who didn't click the link mailed to the address: a stranger's subscribe earns
one confirmation mail per confirmation window, and nothing more. A subscriber written in another
region replicates into the home table too: the filter drops it (its `originRegion` isn't home),
and the function checks again. A retried or re-delivered record finds the idempotency marker and
sends nothing.
"""
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, monitoring
from .args import ArgsReader
from .cloudfront_defaults import is_hosted_zone_id
from .global_table import table_key_statements
from .iam import allow
from .lambda_function import LambdaFunction
from .lambda_packaging import function_dir
from .secure_queue import SecureQueue

# The function's templates: the placeholders match welcome.template_data().
TEMPLATE_FILE = function_dir("welcome_email") / "ses_template.json"
CONFIRMATION_TEMPLATE_FILE = function_dir("welcome_email") / "confirmation_template.json"
TEMPLATE_PLACEHOLDERS = ("{{name}}", "{{unsubscribeUrl}}")
CONFIRMATION_TEMPLATE_PLACEHOLDERS = ("{{confirmUrl}}",)
# The function's item layout (functions/blog_api/subscriptions.py, functions/welcome_email/welcome.py).
SUBSCRIBER_TYPE = "subscriber"
SUBSCRIBER_KEY_PREFIX = "SUBSCRIBER#"
PENDING = "pending"
CONFIRMED = "confirmed"
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
    """{subject, html, text} of a template file (default: the welcome) as the function's tests render it."""
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
    table_arn: Required[pulumi.Input[str]]
    """The table whose home-region stream carries new subscribers (GlobalTable.arn)."""
    table_stream_arn: Required[pulumi.Input[str]]
    """Its home-region stream, in this component's region (GlobalTable.stream_arn)."""
    table_kms_key_arn: Optional[pulumi.Input[str]]
    """Its customer-managed key, if it has one (GlobalTable.home_kms_key_arn): the stream is read through it."""
    identity: Required[str]
    """SES identity: a domain (DKIM records go in hosted_zone_id) or one email address."""
    sender_address: str
    """From address: the identity, or an address in the identity's domain (default: an address identity itself;
    required with a domain identity)."""
    hosted_zone_id: Optional[pulumi.Input[str]]
    """Route 53 zone (Z...) of a domain identity: its three DKIM CNAME records are created there."""
    site_url: Required[pulumi.Input[str]]
    """The site whose /api/* reaches BlogApi (StaticSite.url, https://...): the links in the mails point there."""
    token_secret_arn: Required[pulumi.Input[str]]
    """Secrets Manager secret with the subscription links' HMAC key (BlogApi.token_secret_arn)."""
    template: WelcomeTemplate
    """The welcome (after confirmation): subject/html/text; html and text must use {{name}} and
    {{unsubscribeUrl}}; default: the welcome_email function's ses_template.json."""
    confirmation_template: WelcomeTemplate
    """The confirmation request: html and text must hold {{confirmUrl}}; default: the welcome_email
    function's confirmation_template.json."""
    sandbox_recipients: Sequence[str]
    """Verified recipient addresses (SES sandbox only: SES authorises the recipient's identity as well)."""
    memory_mb: int
    """Lambda memory (128-10240, default 256)."""
    timeout_seconds: int
    """Lambda timeout (1-900, default 30)."""
    batch_size: int
    """Stream records per invocation (1-100, default 10)."""
    maximum_retry_attempts: int
    """Retries of a failing batch before it goes to the on-failure queue (0-10, default 3)."""
    maximum_record_age_seconds: int
    """Records older than this go to the on-failure queue (60-86400, default 3600)."""
    iterator_age_alarm_seconds: int
    """Alarm when the stream's oldest unprocessed record is older than this (below maximum_record_age_seconds;
    default: half of it, at most 300)."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""
    log_retention_days: int
    """Retention of the function's logs (a value CloudWatch offers; default 30)."""
    deletion_protection: bool
    """Protect the idempotency table."""


DEFAULTS: dict[str, Any] = {
    "table_kms_key_arn": None, "sender_address": None, "hosted_zone_id": None, "template": None,
    "confirmation_template": None,
    "sandbox_recipients": [], "memory_mb": 256, "timeout_seconds": 30, "batch_size": 10,
    "maximum_retry_attempts": defaults.STREAM_MAXIMUM_RETRY_ATTEMPTS,
    "maximum_record_age_seconds": defaults.STREAM_MAXIMUM_RECORD_AGE_SECONDS, "iterator_age_alarm_seconds": None,
    "alarms": None, "log_retention_days": 30, "deletion_protection": False,
}

ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.TABLE, monitoring.QUEUE, monitoring.SES)
"""The sender's errors and throttles, the idempotency table's throttling, the on-failure queue's first record, the
configuration set's bounce and complaint rates (well below where AWS reviews an account); the stream's iterator age
has its own arg (iterator_age_alarm_seconds)."""


@dataclass(frozen=True)
class ResolvedWelcomeEmail:
    table_arn: pulumi.Input[str]
    table_stream_arn: pulumi.Input[str]
    table_kms_key_arn: Optional[pulumi.Input[str]]
    identity: str
    sender_address: str
    hosted_zone_id: Optional[pulumi.Input[str]]
    site_url: pulumi.Input[str]
    token_secret_arn: pulumi.Input[str]
    template: WelcomeTemplate
    confirmation_template: WelcomeTemplate
    sandbox_recipients: tuple[str, ...]
    memory_mb: int
    timeout_seconds: int
    batch_size: int
    maximum_retry_attempts: int
    maximum_record_age_seconds: int
    iterator_age_alarm_seconds: int
    alarms: Optional[monitoring.ResolvedAlarms]
    log_retention_days: int
    deletion_protection: bool


def resolve_args(name: str, args: Optional[WelcomeEmailArgs]) -> ResolvedWelcomeEmail:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("WelcomeEmail", name, args, WelcomeEmailArgs, DEFAULTS)
    identity = r.string("identity", check=lambda v: is_domain(v) or is_email_address(v),
                        expected="an SES identity: a domain (myblog.example.com) or an email address")
    address_identity = "@" in identity
    if not address_identity and not r.given("sender_address"):
        r.fail("sender_address", f"required with a domain identity ({identity!r}): an address in that domain")
    sender = r.string("sender_address", default=identity, check=is_email_address, expected="an email address")
    if not sender_covered_by(identity, sender):
        r.fail("sender_address", f"{sender!r} is not covered by identity {identity!r}: SES would refuse to send; "
                                 f"allowed: the identity address itself, or an address in the identity's domain")
    if r.given("hosted_zone_id") and address_identity:
        r.fail("hosted_zone_id", "only for a domain identity (its DKIM records); an address identity is verified by "
                                 "the email SES sends it")
    record_age = r.integer("maximum_record_age_seconds", low=60, high=defaults.DYNAMODB_STREAM_RETENTION_SECONDS)
    # The alarm has to fire while the records can still be sent.
    alarm = r.integer("iterator_age_alarm_seconds", low=1, high=record_age - 1, default=min(300, record_age // 2))
    return ResolvedWelcomeEmail(
        table_arn=r.string("table_arn", check=lambda v: v.startswith("arn:") and ":dynamodb:" in v,
                           expected="a DynamoDB table ARN (GlobalTable.arn)"),
        table_stream_arn=r.string("table_stream_arn", check=lambda v: v.startswith("arn:") and "/stream/" in v,
                                  expected="a DynamoDB stream ARN (GlobalTable.stream_arn)"),
        table_kms_key_arn=r.optional_string("table_kms_key_arn", check=lambda v: v.startswith("arn:") and ":kms:" in v,
                                            expected="a KMS key ARN (GlobalTable.home_kms_key_arn)"),
        identity=identity, sender_address=sender,
        hosted_zone_id=r.optional_string("hosted_zone_id", check=is_hosted_zone_id,
                                         expected="a Route 53 hosted zone id (Z...)"),
        site_url=r.string("site_url", check=lambda v: re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d+)?", v) is not None,
                          expected="the site's https:// origin without a path (StaticSite.url)"),
        token_secret_arn=r.string("token_secret_arn",
                                  check=lambda v: v.startswith("arn:") and ":secretsmanager:" in v,
                                  expected="a Secrets Manager secret ARN (BlogApi.token_secret_arn)"),
        template=_template(r, "template", TEMPLATE_FILE, TEMPLATE_PLACEHOLDERS),
        confirmation_template=_template(r, "confirmation_template", CONFIRMATION_TEMPLATE_FILE,
                                        CONFIRMATION_TEMPLATE_PLACEHOLDERS),
        sandbox_recipients=tuple(r.strings("sandbox_recipients", check=is_email_address,
                                           expected="a list of verified email addresses")),
        memory_mb=r.integer("memory_mb", low=defaults.LAMBDA_MEMORY_MB_RANGE[0], high=defaults.LAMBDA_MEMORY_MB_RANGE[1]),
        timeout_seconds=r.integer("timeout_seconds", low=1, high=defaults.LAMBDA_MAX_TIMEOUT_SECONDS),
        # Bounded, so a bad record can't block the stream.
        batch_size=r.integer("batch_size", low=1, high=100),
        maximum_retry_attempts=r.integer("maximum_retry_attempts", low=0, high=10),
        maximum_record_age_seconds=record_age, iterator_age_alarm_seconds=alarm,
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS),
        log_retention_days=r.choice("log_retention_days", defaults.LOG_RETENTION_DAYS),
        deletion_protection=r.flag("deletion_protection"))


def _template(r: ArgsReader, arg: str, default_file: Path, placeholders: tuple[str, ...]) -> WelcomeTemplate:
    given = r.section(arg, WelcomeTemplate)
    if given is None:
        default = load_template(default_file)
        return WelcomeTemplate(subject=default["subject"], html=default["html"], text=default["text"])
    template = WelcomeTemplate(subject=given.string("subject", check=bool, expected="a subject line"),
                               html=given.string("html"), text=given.string("text"))
    for part in ("html", "text"):
        if not all(placeholder in template[part] for placeholder in placeholders):
            given.fail(part, f"{arg}.{part} must use {', '.join(placeholders)}")
    return template


def stream_filter_patterns(region: pulumi.Input[str]) -> list[dict]:
    """The two filters of the mapping: new pending subscriptions (confirmation) and confirmations (welcome)."""
    subscriber = {"type": {"S": [SUBSCRIBER_TYPE]}, "pk": {"S": [{"prefix": SUBSCRIBER_KEY_PREFIX}]},
                  "originRegion": {"S": [region]}}
    return [
        {"eventName": ["INSERT", "MODIFY"], "dynamodb": {"NewImage": {**subscriber, "status": {"S": [PENDING]}}}},
        {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {**subscriber, "status": {"S": [CONFIRMED]}},
                                               "OldImage": {"status": {"S": [PENDING]}}}},
    ]


class _Ses(NamedTuple):
    identity: aws.sesv2.EmailIdentity
    configuration_set: aws.sesv2.ConfigurationSet
    template: aws.ses.Template
    confirmation_template: aws.ses.Template


class WelcomeEmail(pulumi.ComponentResource):
    """Double opt-in mails (a confirmation link, then one welcome), from the home region's table stream.

    Python callers also get the children: `function` (LambdaFunction), `failure_queue` (SecureQueue, alarmed)
    and `idempotency_table` (Powertools idempotency markers, one per address, 48 h).
    """

    identity_arn: pulumi.Output[str]
    """SES identity ARN."""
    configuration_set_name: pulumi.Output[str]
    """SES configuration set."""
    template_name: pulumi.Output[str]
    """SES template of the welcome."""
    confirmation_template_name: pulumi.Output[str]
    """SES template of the confirmation request."""
    filter_pattern: pulumi.Output[str]
    """The event source mapping's filters (a JSON list; a record passes if it matches either)."""
    function_name: pulumi.Output[str]
    """The welcome_email function."""
    failure_queue_url: pulumi.Output[str]
    """Where records that keep failing are recorded (alarmed)."""
    idempotency_table_name: pulumi.Output[str]
    """Powertools idempotency markers."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    def __init__(self, name: str, args: WelcomeEmailArgs, opts: Optional[pulumi.ResourceOptions] = None):
        email = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:WelcomeEmail", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id

        ses = self._ses(name, email, child)
        self.failure_queue = SecureQueue(f"{name}-failures", {"dead_letter": False}, opts=child)
        self.idempotency_table = aws.dynamodb.Table(
            f"{name}-idempotency", billing_mode="PAY_PER_REQUEST", hash_key=IDEMPOTENCY_KEY_ATTRIBUTE,
            attributes=[{"name": IDEMPOTENCY_KEY_ATTRIBUTE, "type": "S"}],
            ttl={"attribute_name": IDEMPOTENCY_TTL_ATTRIBUTE, "enabled": True},
            point_in_time_recovery={"enabled": True}, server_side_encryption={"enabled": True},
            deletion_protection_enabled=email.deletion_protection, opts=child)
        self.function = self._function(name, email, ses, region, account, child)
        self.filter_pattern = self._stream_mapping(name, email, region, child)
        t = email.alarms.thresholds if email.alarms else ALARM_THRESHOLDS
        # Records are given up on (to the on-failure queue) at maximum_record_age_seconds: the age alarm is below.
        monitored = monitoring.watch(name, email.alarms, [
            *self.function.watches(t), monitoring.iterator_age_watch(name, self.function.name,
                                                                     email.iterator_age_alarm_seconds),
            self.failure_queue.depth_watch(t),
            *monitoring.table_watches(self.idempotency_table._name, self.idempotency_table.name, t),
            # The set publishes its own reputation metrics (reputation_options), so these are this mail's rates.
            *monitoring.ses_reputation_watches(name, ses.configuration_set.configuration_set_name, t)], parent=self)
        self.dashboard_name = monitored.dashboard_name if monitored else None

        self.identity_arn = ses.identity.arn
        self.configuration_set_name = ses.configuration_set.configuration_set_name
        self.template_name = ses.template.name
        self.confirmation_template_name = ses.confirmation_template.name
        self.function_name = self.function.name
        self.failure_queue_url = self.failure_queue.url
        self.idempotency_table_name = self.idempotency_table.name
        self.register_outputs({"identity_arn": self.identity_arn, "configuration_set_name": self.configuration_set_name,
                               "template_name": self.template_name,
                               "confirmation_template_name": self.confirmation_template_name,
                               "function_name": self.function_name,
                               "failure_queue_url": self.failure_queue_url,
                               "idempotency_table_name": self.idempotency_table_name})

    # --- SES -------------------------------------------------------------------------------------
    @staticmethod
    def _ses(name: str, email: ResolvedWelcomeEmail, child: pulumi.ResourceOptions) -> _Ses:
        stack_prefix = f"{pulumi.get_project()}-{pulumi.get_stack()}"
        configuration_set = aws.sesv2.ConfigurationSet(
            f"{name}-config", configuration_set_name=ses_resource_name(stack_prefix, name),
            delivery_options={"tls_policy": "REQUIRE"},
            reputation_options={"reputation_metrics_enabled": True},
            sending_options={"sending_enabled": True},
            # Never mail an address that bounced or complained again.
            suppression_options={"suppressed_reasons": ["BOUNCE", "COMPLAINT"]},
            opts=child)
        identity = aws.sesv2.EmailIdentity(
            f"{name}-identity", email_identity=email.identity,
            configuration_set_name=configuration_set.configuration_set_name, opts=child)
        if email.hosted_zone_id is not None:
            for index in range(3):  # Easy DKIM: always three tokens
                token = identity.dkim_signing_attributes.tokens[index]
                aws.route53.Record(
                    f"{name}-dkim-{index}", zone_id=email.hosted_zone_id, type="CNAME", ttl=1800,
                    name=pulumi.Output.concat(token, "._domainkey.", email.identity),
                    records=[pulumi.Output.concat(token, ".dkim.amazonses.com")], opts=child)
        template = aws.ses.Template(
            f"{name}-template", name=ses_resource_name(stack_prefix, name, "welcome"),
            subject=email.template["subject"], html=email.template["html"], text=email.template["text"], opts=child)
        confirmation = aws.ses.Template(
            f"{name}-confirmation-template", name=ses_resource_name(stack_prefix, name, "confirm"),
            subject=email.confirmation_template["subject"], html=email.confirmation_template["html"],
            text=email.confirmation_template["text"], opts=child)
        return _Ses(identity=identity, configuration_set=configuration_set, template=template,
                    confirmation_template=confirmation)

    # --- the function ----------------------------------------------------------------------------
    def _function(self, name: str, email: ResolvedWelcomeEmail, ses: _Ses, region: pulumi.Output[str],
                  account: pulumi.Output[str], child: pulumi.ResourceOptions) -> LambdaFunction:
        recipients = [pulumi.Output.concat("arn:aws:ses:", region, ":", account, ":identity/", address)
                      for address in email.sandbox_recipients]
        table_arn = pulumi.Output.from_input(email.table_arn)
        return LambdaFunction(f"{name}-sender", {
            "code": "welcome_email",
            "memory_mb": email.memory_mb,
            "timeout_seconds": email.timeout_seconds,
            "log_retention_days": email.log_retention_days,
            "environment": {
                "HOME_REGION": region, "SENDER_ADDRESS": email.sender_address,
                "SES_TEMPLATE_NAME": ses.template.name,
                "CONFIRMATION_TEMPLATE_NAME": ses.confirmation_template.name,
                "SITE_URL": email.site_url,
                # The ARN only: the key is read (and cached) at run time.
                "TOKEN_SECRET_ARN": email.token_secret_arn,
                "SES_CONFIGURATION_SET": ses.configuration_set.configuration_set_name,
                "IDEMPOTENCY_TABLE": self.idempotency_table.name,
            },
            "policy_statements": [
                # SendTemplatedEmail is authorised against the identity, the template and the configuration
                # set of the request; FromAddress pins the sender too.
                allow(["ses:SendTemplatedEmail"],
                      [ses.identity.arn, ses.template.arn, ses.confirmation_template.arn, ses.configuration_set.arn,
                       *recipients],
                      sid="SendOwnTemplatesOnly",
                      condition={"StringEquals": {"ses:FromAddress": email.sender_address}}),
                allow(["secretsmanager:GetSecretValue"], [email.token_secret_arn], sid="ReadTokenKey"),
                allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                      [email.table_stream_arn], sid="ReadHomeStream"),
                allow(["dynamodb:ListStreams"], [table_arn.apply(lambda arn: f"{arn}/stream/*")],
                      sid="ListHomeStreams"),
                allow(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                      [self.idempotency_table.arn], sid="IdempotencyRecords"),
                allow(["sqs:SendMessage"], [self.failure_queue.arn], sid="StreamOnFailureDestination"),
                *table_key_statements(email.table_kms_key_arn, region, ["kms:Decrypt", "kms:DescribeKey"],
                                      sid="StreamKeyThroughDynamoDB"),
            ],
        }, opts=child)

    # --- the home stream, filtered to pending and newly confirmed subscribers written here ----------
    def _stream_mapping(self, name: str, email: ResolvedWelcomeEmail, region: pulumi.Output[str],
                        child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        patterns = stream_filter_patterns(region)
        filter_pattern = pulumi.Output.json_dumps(patterns)
        record_age = email.maximum_record_age_seconds
        aws.lambda_.EventSourceMapping(
            f"{name}-stream", event_source_arn=email.table_stream_arn, function_name=self.function.function.arn,
            # TRIM_HORIZON: LATEST would skip subscribers stored before the mapping became active.
            starting_position="TRIM_HORIZON",
            filter_criteria={"filters": [{"pattern": pulumi.Output.json_dumps(p)} for p in patterns]},
            batch_size=email.batch_size,
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=email.maximum_retry_attempts,
            maximum_record_age_in_seconds=record_age,
            destination_config={"on_failure": {"destination_arn": self.failure_queue.arn}},
            function_response_types=["ReportBatchItemFailures"],
            opts=child)
        return filter_pattern
