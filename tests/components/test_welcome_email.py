"""WelcomeEmail under Pulumi mocks: the double opt-in stream filters, bounded retries, SES resources, a scoped role,
config."""
import json

import pulumi_aws as aws
import pytest

import stack_config
from serverless_blueprints.args import ArgsError
from serverless_blueprints.global_table import GlobalTable
from serverless_blueprints.welcome_email import (
    WelcomeEmail,
    resolve_args,
    is_domain,
    is_email_address,
    load_template,
    CONFIRMATION_TEMPLATE_FILE,
    TEMPLATE_FILE,
    sender_covered_by,
    stream_filter_patterns,
    ses_resource_name,
)
from offline.harness import evaluate_program
from tests.conftest import statements_of

MAPPING = "aws:lambda/eventSourceMapping:EventSourceMapping"
RECORD = "aws:route53/record:Record"
ZONE = "Z0123456789EXAMPLE"
SITE = "https://blog.example.com"
TOKEN_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:blog-api-token-key-AbCdEf"
LINKS = {"site_url": SITE, "token_secret_arn": TOKEN_SECRET}


def build(args: dict, kms: str = "customer-managed", replicas=("us-east-1",)):
    """WelcomeEmail on a GlobalTable in eu-west-1 with replicas, as the blog wires them."""
    def program():
        providers = {region: aws.Provider(f"replica-{region}", region=region) for region in replicas}
        table = GlobalTable("blog-table", {"kms": kms, "replica_providers": providers})
        WelcomeEmail("welcome", {"table_arn": table.arn, "table_stream_arn": table.stream_arn,
                                 "table_kms_key_arn": table.home_kms_key_arn, **LINKS, **args})
    return evaluate_program(program, region="eu-west-1")


@pytest.fixture(scope="module")
def domain():
    """A domain identity with DKIM records, sending from news@ of that domain."""
    return build({"identity": "myblog.example.com", "sender_address": "news@myblog.example.com",
                  "hosted_zone_id": ZONE, "deletion_protection": True,
                  "alarms": {"topic_arn": "arn:aws:sns:eu-west-1:123456789012:ops"}})


@pytest.fixture(scope="module")
def address():
    """One verified address (the SES sandbox set-up), two verified test recipients."""
    return build({"identity": "blog@example.com", "sender_address": "blog@example.com",
                  "sandbox_recipients": ["me@example.com", "qa@example.org"]}, kms="aws-managed", replicas=())


def mapping(snapshot):
    (found,) = snapshot.of_type(MAPPING)
    return found.props


def patterns(snapshot) -> tuple[dict, dict]:
    """(pending: confirmation mail, confirmed: welcome mail)."""
    pending, confirmed = mapping(snapshot)["filterCriteria"]["filters"]
    return json.loads(pending["pattern"]), json.loads(confirmed["pattern"])


def pattern(snapshot) -> dict:
    return patterns(snapshot)[0]


def role_statements(snapshot) -> list[dict]:
    return statements_of(snapshot.named("welcome-sender-policy"))


def statement(snapshot, sid: str) -> dict:
    return next(s for s in role_statements(snapshot) if s.get("Sid") == sid)


# --- the stream and its filter ---------------------------------------------------------------------

def test_filter_passes_new_pending_subscriptions_for_the_confirmation_mail(domain):
    pending, _ = patterns(domain)
    assert pending["eventName"] == ["INSERT", "MODIFY"]
    assert pending["dynamodb"]["NewImage"]["status"] == {"S": ["pending"]}
    assert "OldImage" not in pending["dynamodb"]


def test_filter_passes_confirmations_only_for_the_welcome_mail(domain):
    _, confirmed = patterns(domain)
    assert confirmed["eventName"] == ["MODIFY"]
    assert confirmed["dynamodb"]["NewImage"]["status"] == {"S": ["confirmed"]}
    assert confirmed["dynamodb"]["OldImage"] == {"status": {"S": ["pending"]}}


def test_filter_is_the_two_documented_patterns(domain):
    assert list(patterns(domain)) == stream_filter_patterns("eu-west-1")


def test_filter_passes_only_subscriber_items(domain):
    for each in patterns(domain):
        image = each["dynamodb"]["NewImage"]
        assert image["type"] == {"S": ["subscriber"]}
        assert image["pk"] == {"S": [{"prefix": "SUBSCRIBER#"}]}


def test_filter_drops_subscribers_replicated_from_other_regions(domain):
    for each in patterns(domain):
        assert each["dynamodb"]["NewImage"]["originRegion"] == {"S": ["eu-west-1"]}


def test_filter_matches_the_items_the_api_writes():
    from blog_api import subscriptions
    item = subscriptions.subscriber_item(subscriptions.Subscription("a@example.com", "Ann"),
                                         subscribed_at="2024-01-01T00:00:00Z", origin_region="eu-west-1")
    assert item["type"] == {"S": "subscriber"} and item["pk"]["S"].startswith("SUBSCRIBER#")
    assert item["originRegion"] == {"S": "eu-west-1"}
    assert item["status"] == {"S": subscriptions.PENDING} and subscriptions.CONFIRMED == "confirmed"


def test_mapping_reads_the_home_regions_stream_only(domain):
    table = domain.named("blog-table")
    assert mapping(domain)["eventSourceArn"] == table.outputs["streamArn"]
    assert table.outputs["streamArn"].startswith("arn:aws:dynamodb:eu-west-1:")
    assert len(domain.of_type(MAPPING)) == 1


def test_mapping_retries_a_bounded_number_of_times_and_bisects(domain):
    props = mapping(domain)
    assert props["maximumRetryAttempts"] == 3 and props["maximumRecordAgeInSeconds"] == 3600
    assert props["bisectBatchOnFunctionError"] is True


def test_records_that_keep_failing_go_to_the_on_failure_queue(domain):
    queue = domain.named("welcome-failures")
    assert mapping(domain)["destinationConfig"] == {"onFailure": {"destinationArn": queue.outputs["arn"]}}


def test_mapping_reports_batch_item_failures(domain):
    assert mapping(domain)["functionResponseTypes"] == ["ReportBatchItemFailures"]


def test_mapping_starts_at_the_trim_horizon_in_small_batches(domain):
    props = mapping(domain)
    assert props["startingPosition"] == "TRIM_HORIZON" and props["batchSize"] == 10


def test_mapping_invokes_the_welcome_function(domain):
    assert mapping(domain)["functionName"] == domain.named("welcome-sender-fn").outputs["arn"]


def test_on_failure_queue_is_terminal_encrypted_and_alarmed(domain):
    queue = domain.named("welcome-failures").props
    assert queue["sqsManagedSseEnabled"] is True and "redrivePolicy" not in queue
    alarm = domain.named("welcome-failures-not-empty").props
    assert alarm["threshold"] == 1 and alarm["alarmActions"] == ["arn:aws:sns:eu-west-1:123456789012:ops"]


def test_iterator_age_alarm_fires_before_records_expire(domain):
    alarm = domain.named("welcome-iterator-age").props
    assert alarm["metricName"] == "IteratorAge" and alarm["threshold"] == 300_000
    assert alarm["threshold"] < mapping(domain)["maximumRecordAgeInSeconds"] * 1000


# --- idempotency -----------------------------------------------------------------------------------

def test_idempotency_table_has_powertools_layout_with_ttl(domain):
    props = domain.named("welcome-idempotency").props
    assert props["hashKey"] == "id" and props["attributes"] == [{"name": "id", "type": "S"}]
    assert props["ttl"] == {"attributeName": "expiration", "enabled": True}


def test_idempotency_table_has_pitr_sse_and_deletion_protection_when_asked(domain, address):
    props = domain.named("welcome-idempotency").props
    assert props["pointInTimeRecovery"] == {"enabled": True} and props["serverSideEncryption"] == {"enabled": True}
    assert props["deletionProtectionEnabled"] is True
    assert address.named("welcome-idempotency").props["deletionProtectionEnabled"] is False


# --- SES -------------------------------------------------------------------------------------------

def test_identity_is_the_configured_domain_with_the_configuration_set(domain):
    identity = domain.named("welcome-identity").props
    config_set = domain.named("welcome-config").props["configurationSetName"]
    assert identity["emailIdentity"] == "myblog.example.com"
    assert identity["configurationSetName"] == config_set


def test_domain_identity_gets_its_three_dkim_records(domain):
    tokens = domain.named("welcome-identity").outputs["dkimSigningAttributes"]["tokens"]
    records = sorted((r.props for r in domain.of_type(RECORD)), key=lambda r: r["name"])
    assert sorted(r["name"] for r in records) == sorted(f"{t}._domainkey.myblog.example.com" for t in tokens)
    assert all(r["type"] == "CNAME" and r["zoneId"] == ZONE for r in records)
    assert sorted(r["records"][0] for r in records) == sorted(f"{t}.dkim.amazonses.com" for t in tokens)


def test_address_identity_needs_no_dns_records(address):
    assert address.named("welcome-identity").props["emailIdentity"] == "blog@example.com"
    assert not address.of_type(RECORD)


def test_configuration_set_requires_tls_and_suppresses_bounces_and_complaints(domain):
    props = domain.named("welcome-config").props
    assert props["deliveryOptions"] == {"tlsPolicy": "REQUIRE"}
    assert props["suppressionOptions"] == {"suppressedReasons": ["BOUNCE", "COMPLAINT"]}
    assert props["reputationOptions"] == {"reputationMetricsEnabled": True}


def test_template_is_personalised_with_the_subscribers_name(domain):
    props = domain.named("welcome-template").props
    template = load_template()
    assert (props["subject"], props["html"], props["text"]) == (template["subject"], template["html"],
                                                               template["text"])
    assert "Hi {{name}}," in props["html"] and "Hi {{name}}," in props["text"]


def test_template_placeholders_are_all_filled_by_the_function():
    import re

    from welcome_email import welcome
    for file, kind in ((TEMPLATE_FILE, welcome.WELCOME), (CONFIRMATION_TEMPLATE_FILE, welcome.CONFIRMATION)):
        template = load_template(file)
        placeholders = set(re.findall(r"{{(\w+)}}", template["subject"] + template["html"] + template["text"]))
        assert placeholders <= set(welcome.template_data(welcome.Subscriber("a@example.com", "Ann", kind=kind)))


def test_confirmation_template_carries_the_confirmation_link(domain):
    props = domain.named("welcome-confirmation-template").props
    template = load_template(CONFIRMATION_TEMPLATE_FILE)
    assert (props["subject"], props["html"], props["text"]) == (template["subject"], template["html"],
                                                               template["text"])
    assert "{{confirmUrl}}" in props["html"] and "{{confirmUrl}}" in props["text"]
    assert props["name"] != domain.named("welcome-template").props["name"]


def test_welcome_template_carries_the_unsubscribe_link(domain):
    props = domain.named("welcome-template").props
    assert "{{unsubscribeUrl}}" in props["html"] and "{{unsubscribeUrl}}" in props["text"]


def test_ses_names_are_per_stack_and_fit_the_64_character_limit():
    assert ses_resource_name("serverless-blueprints-prod", "blog-welcome") == "serverless-blueprints-prod-blog-welcome"
    assert len(ses_resource_name("p" * 80, "x")) == 64
    assert ses_resource_name("a b", "c.d") == "a-b-c-d"


# --- the function and its role ---------------------------------------------------------------------

def test_function_gets_the_environment_the_handler_reads(domain):
    env = domain.named("welcome-sender-fn").props["environment"]["variables"]
    assert env["HOME_REGION"] == "eu-west-1" and env["SENDER_ADDRESS"] == "news@myblog.example.com"
    assert env["SES_TEMPLATE_NAME"] == domain.named("welcome-template").props["name"]
    assert env["SES_CONFIGURATION_SET"] == domain.named("welcome-config").props["configurationSetName"]
    assert env["IDEMPOTENCY_TABLE"] == domain.named("welcome-idempotency").outputs["name"]
    assert env["CONFIRMATION_TEMPLATE_NAME"] == domain.named("welcome-confirmation-template").props["name"]
    assert env["SITE_URL"] == SITE and env["TOKEN_SECRET_ARN"] == TOKEN_SECRET
    assert domain.named("welcome-sender-fn").props["handler"] == "welcome_email.handler.handler"


def test_role_sends_only_its_two_templates_from_the_identity(domain):
    send = statement(domain, "SendOwnTemplatesOnly")
    assert send["Action"] == ["ses:SendTemplatedEmail"]
    assert send["Resource"] == [domain.named("welcome-identity").outputs["arn"],
                                domain.named("welcome-template").outputs["arn"],
                                domain.named("welcome-confirmation-template").outputs["arn"],
                                domain.named("welcome-config").outputs["arn"]]
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": "news@myblog.example.com"}}


def test_role_reads_only_the_token_key_secret(domain):
    read = statement(domain, "ReadTokenKey")
    assert read["Action"] == ["secretsmanager:GetSecretValue"] and read["Resource"] == [TOKEN_SECRET]
    secret_actions = [a for s in role_statements(domain) for a in s["Action"] if a.startswith("secretsmanager:")]
    assert secret_actions == ["secretsmanager:GetSecretValue"]


def test_role_has_no_other_ses_permission(domain):
    ses = [a for s in role_statements(domain) for a in s["Action"] if a.startswith("ses:")]
    assert ses == ["ses:SendTemplatedEmail"]


def test_role_only_wildcard_is_x_ray(domain):
    broad = [s["Sid"] for s in role_statements(domain) if "*" in s["Resource"]]
    assert broad == ["XRayUnscopable"]


def test_sandbox_recipients_are_added_to_the_send_statement(address):
    resources = statement(address, "SendOwnTemplatesOnly")["Resource"]
    assert resources[-2:] == ["arn:aws:ses:eu-west-1:123456789012:identity/me@example.com",
                              "arn:aws:ses:eu-west-1:123456789012:identity/qa@example.org"]


def test_role_reads_the_home_stream(domain):
    table = domain.named("blog-table").outputs
    assert statement(domain, "ReadHomeStream")["Resource"] == [table["streamArn"]]
    assert statement(domain, "ListHomeStreams")["Resource"] == [f"{table['arn']}/stream/*"]


def test_role_writes_idempotency_markers_and_failure_records(domain):
    assert statement(domain, "IdempotencyRecords")["Resource"] == [domain.named("welcome-idempotency").outputs["arn"]]
    assert statement(domain, "StreamOnFailureDestination") == {
        "Sid": "StreamOnFailureDestination", "Effect": "Allow", "Action": ["sqs:SendMessage"],
        "Resource": [domain.named("welcome-failures").outputs["arn"]]}


def test_role_decrypts_the_stream_with_the_table_key_only_with_a_customer_managed_key(domain, address):
    key = statement(domain, "StreamKeyThroughDynamoDB")
    assert key["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert key["Resource"] == [domain.named("blog-table-key").outputs["arn"]]
    assert not any(s.get("Sid") == "StreamKeyThroughDynamoDB" for s in role_statements(address))


def test_role_cannot_touch_the_blog_table_items(domain):
    actions = {a for s in role_statements(domain) for a in s["Action"]}
    table_arn = domain.named("blog-table").outputs["arn"]
    item_grants = [s for s in role_statements(domain) if table_arn in s["Resource"]]
    assert not item_grants and "dynamodb:Scan" not in actions


# --- guards ----------------------------------------------------------------------------------------

TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/blog"
GOOD = {"table_arn": TABLE_ARN, "table_stream_arn": f"{TABLE_ARN}/stream/2026-01-01T00:00:00.000",
        "identity": "myblog.example.com", "sender_address": "news@myblog.example.com", **LINKS}


@pytest.mark.parametrize("args, message", [
    ({"table_arn": None}, r"table_arn: expected a DynamoDB table ARN \(GlobalTable.arn\), got None"),
    ({"table_stream_arn": TABLE_ARN}, "table_stream_arn: expected a DynamoDB stream ARN"),
    ({"table_kms_key_arn": "key"}, "table_kms_key_arn: expected a KMS key ARN"),
    ({"identity": "not an identity"}, r"identity: expected an SES identity: a domain \(myblog.example.com\) or"),
    ({"sender_address": "news"}, "sender_address: expected an email address, got 'news'"),
    ({"sender_address": None}, r"sender_address: required with a domain identity \('myblog.example.com'\)"),
    ({"sender_address": "news@elsewhere.example.org"}, "sender_address: .* is not covered by identity"),
    ({"identity": "blog@example.com", "sender_address": "news@example.com"}, "is not covered by identity"),
    ({"identity": "blog@example.com", "sender_address": "blog@example.com", "hosted_zone_id": ZONE},
     "hosted_zone_id: only for a domain identity"),
    ({"hosted_zone_id": "zone-1"}, r"hosted_zone_id: expected a Route 53 hosted zone id \(Z...\)"),
    ({"sandbox_recipients": ["me"]}, "sandbox_recipients: expected a list of verified email addresses"),
    ({"template": {"subject": "Hi", "html": "<p>Hello {{unsubscribeUrl}}</p>",
                   "text": "Hi {{name}} {{unsubscribeUrl}}"}},
     r"template.html must use \{\{name\}\}, \{\{unsubscribeUrl\}\}"),
    ({"template": {"subject": "Hi", "html": "<p>{{name}} {{unsubscribeUrl}}</p>", "text": "Hi {{name}}"}},
     r"template.text must use"),
    ({"template": {"subject": "Hi", "html": "<p>{{name}}</p>"}}, r"template.text: required"),
    ({"confirmation_template": {"subject": "Hi", "html": "<p>Confirm</p>", "text": "Confirm: {{confirmUrl}}"}},
     r"confirmation_template.html must use \{\{confirmUrl\}\}"),
    ({"site_url": "http://blog.example.com"}, r"site_url: expected the site's https:// origin"),
    ({"site_url": "https://blog.example.com/api"}, r"site_url: expected the site's https:// origin"),
    ({"token_secret_arn": "arn:aws:ssm:eu-west-1:1:parameter/x"}, r"token_secret_arn: expected a Secrets Manager"),
    ({"batch_size": 0}, "batch_size: 0 is out of range; allowed 1 to 100"),
    ({"maximum_retry_attempts": 11}, "maximum_retry_attempts: 11 is out of range; allowed 0 to 10"),
    ({"maximum_record_age_seconds": 30}, "maximum_record_age_seconds: 30 is out of range; allowed 60 to 86400"),
    ({"maximum_record_age_seconds": 90000}, "maximum_record_age_seconds: 90000 is out of range; allowed 60 to 86400"),
    ({"iterator_age_alarm_seconds": 3600}, "iterator_age_alarm_seconds: 3600 is out of range; allowed 1 to 3599"),
    ({"log_retention_days": 10}, "log_retention_days: 10 is not allowed"),
    ({"memory_mb": 64}, "memory_mb: 64 is out of range; allowed 128 to 10240"),
])
def test_component_rejects_bad_args(args, message):
    with pytest.raises(ArgsError, match=message):
        WelcomeEmail("welcome", {**GOOD, **args})


@pytest.mark.parametrize("missing", ["table_arn", "table_stream_arn", "identity", "site_url", "token_secret_arn"])
def test_component_requires_the_table_and_the_identity(missing):
    with pytest.raises(ArgsError, match=rf"WelcomeEmail 'welcome': {missing}: required"):
        WelcomeEmail("welcome", {key: value for key, value in GOOD.items() if key != missing})


def test_component_rejects_an_unknown_arg_suggesting_the_right_one():
    with pytest.raises(ArgsError, match=r"senderAddress: unknown arg \(did you mean 'sender_address'\?\)"):
        resolve_args("welcome", {**GOOD, "senderAddress": "news@myblog.example.com"})


def test_an_address_identity_sends_from_itself_by_default():
    resolved = resolve_args("welcome", {**GOOD, "identity": "blog@example.com", "sender_address": None})
    assert resolved.sender_address == "blog@example.com"


def test_analyzer_accepts_the_component_with_plain_table_inputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([WelcomeEmail])
    component = result["component_definitions"]["WelcomeEmail"]
    required = {key for key, value in component.inputs.items() if not value.optional}
    assert required == {"tableArn", "tableStreamArn", "identity", "siteUrl", "tokenSecretArn"}
    assert {"tableKmsKeyArn", "senderAddress", "hostedZoneId", "template", "confirmationTemplate",
            "sandboxRecipients", "memoryMb",
            "timeoutSeconds", "batchSize", "maximumRetryAttempts", "maximumRecordAgeSeconds",
            "iteratorAgeAlarmSeconds", "alarms", "logRetentionDays",
            "deletionProtection"} == set(component.inputs) - required
    assert set(component.outputs) == {"identityArn", "configurationSetName", "templateName",
                                      "confirmationTemplateName", "filterPattern",
                                      "functionName", "failureQueueUrl", "idempotencyTableName", "dashboardName"}
    assert all(not value.optional for key, value in component.outputs.items() if key != "dashboardName")


@pytest.mark.parametrize("identity, sender, covered", [
    ("example.com", "news@example.com", True), ("example.com", "news@mail.example.com", True),
    ("example.com", "news@badexample.com", False), ("news@example.com", "NEWS@example.com", True),
    ("news@example.com", "other@example.com", False)])
def test_sender_must_be_the_identity_or_in_its_domain(identity, sender, covered):
    assert sender_covered_by(identity, sender) is covered


def test_identity_shapes():
    assert is_domain("myblog.example.com") and not is_domain("localhost") and not is_domain("a@b.com")
    assert is_email_address("news+blog@example.co.uk") and not is_email_address("news@localhost")


# --- the real stacks -------------------------------------------------------------------------------

def test_prod_stack_sends_from_its_domain_with_dkim(prod_stack):
    assert prod_stack.named("blog-welcome-identity").props["emailIdentity"] == "example.com"
    assert len([r for r in prod_stack.of_type(RECORD) if r.name.startswith("blog-welcome-dkim-")]) == 3


def test_dev_stack_sends_from_one_verified_address(dev_stack):
    assert dev_stack.named("blog-welcome-identity").props["emailIdentity"] == "blog-dev@example.com"
    assert not [r for r in dev_stack.of_type(RECORD) if r.name.startswith("blog-welcome-dkim-")]


def test_prod_stack_maps_only_the_home_stream_though_it_has_replicas(prod_stack):
    (welcome,) = [m for m in prod_stack.of_type(MAPPING) if m.name == "blog-welcome-stream"]
    assert welcome.props["eventSourceArn"] == prod_stack.named("blog-table").outputs["streamArn"]
    assert json.loads(welcome.props["filterCriteria"]["filters"][0]["pattern"])["dynamodb"]["NewImage"][
        "originRegion"] == {"S": ["eu-west-1"]}


# --- config (blog.email) ---------------------------------------------------------------------------

def parse(email: dict) -> stack_config.StackSettings:
    return stack_config.parse({"environment": "dev", "blog": {"enabled": True, "site": {"contentDir": "site"},
                                                              "email": email}}, "eu-west-1")


def test_config_email_is_the_components_args_plus_the_stacks_settings():
    args = parse({"identity": "blog@example.com"}).blog["email"]
    assert args == {"identity": "blog@example.com", "log_retention_days": 7, "deletion_protection": False}
    table = {"table_arn": GOOD["table_arn"], "table_stream_arn": GOOD["table_stream_arn"], **LINKS}
    assert resolve_args("blog-welcome", {**table, **args}).sender_address == "blog@example.com"


def test_config_passes_a_domain_identity_with_its_zone():
    args = parse({"identity": "example.com", "senderAddress": "news@example.com", "hostedZoneId": ZONE}).blog["email"]
    assert (args["identity"], args["sender_address"], args["hosted_zone_id"]) == ("example.com", "news@example.com",
                                                                                  ZONE)


@pytest.mark.parametrize("email, message", [
    ({}, r"blog.email.identity: required"),
    ({"identity": "my blog"}, r"blog.email.identity: expected an SES identity: a domain \(myblog.example.com\) or "
                              r"an email address"),
    ({"identity": "example.com"}, r"blog.email.senderAddress: required with a domain identity"),
    ({"identity": "example.com", "senderAddress": "news@other.org"},
     r"blog.email.senderAddress: 'news@other.org' is not covered by identity 'example.com'"),
    ({"identity": "b@example.com", "hostedZoneId": ZONE}, r"blog.email.hostedZoneId: only for a domain identity"),
    ({"identity": "b@example.com", "sandboxRecipients": ["x"]}, r"blog.email.sandboxRecipients: expected a list of "
                                                               r"verified email addresses"),
    ({"identity": "b@example.com", "batchSize": 500}, r"blog.email.batchSize: 500 is out of range; allowed 1 to 100"),
    ({"identity": "b@example.com", "tableStreamArn": "arn"}, r"blog.email.tableStreamArn: set by __main__"),
])
def test_config_rejects_bad_email_settings_naming_the_key(email, message):
    with pytest.raises(stack_config.ConfigError, match=message):
        parse(email)


def test_config_blog_needs_an_email_section():
    with pytest.raises(stack_config.ConfigError, match=r"blog.email.identity: required"):
        stack_config.parse({"environment": "dev", "blog": {"enabled": True, "site": {"contentDir": "site"}}},
                           "eu-west-1")


def test_alarms_on_the_configuration_sets_bounce_and_complaint_rates_well_below_an_account_review(domain):
    config_set = domain.named("welcome-config").outputs["configurationSetName"]
    for slug, metric, threshold in (("bounce-rate", "Reputation.BounceRate", 0.02),
                                    ("complaint-rate", "Reputation.ComplaintRate", 0.0005)):
        alarm = domain.named(f"welcome-{slug}").props
        assert (alarm["namespace"], alarm["metricName"], alarm["threshold"]) == ("AWS/SES", metric, threshold)
        assert alarm["dimensions"] == {"ses:configuration-set": config_set}
        assert alarm["alarmActions"] == ["arn:aws:sns:eu-west-1:123456789012:ops"]
    assert domain.named("welcome-config").props["reputationOptions"]["reputationMetricsEnabled"] is True


def test_reputation_thresholds_are_percent_overrides_refused_at_the_review_line():
    topic = {"topic_arn": "arn:aws:sns:eu-west-1:123456789012:ops"}
    resolved = resolve_args("welcome", {**GOOD, "alarms": {**topic, "thresholds": {"ses_bounce_rate_percent": 1}}})
    assert resolved.alarms.thresholds["ses_bounce_rate_percent"] == 1
    with pytest.raises(ArgsError, match=r"alarms.thresholds.ses_complaint_rate_percent: expected a number from "
                                        r"0.01 to 0.08 .*got 0.1"):
        resolve_args("welcome", {**GOOD, "alarms": {**topic, "thresholds": {"ses_complaint_rate_percent": 0.1}}})
