"""OutboxRelay under mocks: the stream mapping, the bus and its rule target, roles, tables, alarms, config."""
from __future__ import annotations

import json

import pytest

import stack_config
from serverless_blueprints import defaults
from serverless_blueprints.args import ArgsError
from serverless_blueprints.outbox_relay import OutboxRelay
from offline.harness import evaluate_program
from tests.components import canary_wiring
from tests.conftest import as_list, statements_of

COMPONENT = "serverless-blueprints:index:OutboxRelay"
GIVEN_POOL = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Given1234"
TABLES = ("outbox-orders", "outbox-outbox", "outbox-idempotency", "outbox-shipments")


@pytest.fixture(scope="module")
def stack():
    """The component with no arguments: every default."""
    return evaluate_program(lambda: OutboxRelay("outbox", {}))


@pytest.fixture(scope="module")
def tuned():
    return evaluate_program(lambda: OutboxRelay("outbox", {
        "batch_size": 25, "batching_window_seconds": 0, "maximum_retry_attempts": 7,
        "maximum_record_age_seconds": 7200, "archive_retention_days": 45, "outbox_ttl_days": 30,
        "target_maximum_retry_attempts": 5, "target_maximum_event_age_seconds": 600,
        "iterator_age_alarm_seconds": 120, "consumer_function": {"timeout_seconds": 20}, "deletion_protection": True,
        "user_pool_arn": GIVEN_POOL, "event_source": "shop.orders",
        "alarms": {"topic_arn": "arn:aws:sns:eu-west-1:123456789012:oncall"},
    }))


def _out(stack, name: str, attribute: str = "arn"):
    return stack.named(name).outputs[attribute]


def _mapping(stack):
    return stack.named("outbox-relay-stream").props


def _statements(stack, function: str) -> list[dict]:
    return statements_of(stack.named(f"outbox-{function}-policy"))


def _by_sid(stack, function: str) -> dict[str, dict]:
    return {s["Sid"]: s for s in _statements(stack, function)}


def _actions(statement: dict) -> list[str]:
    return as_list(statement["Action"])


def _invalid(**args):
    with pytest.raises(ArgsError) as error:
        evaluate_program(lambda: OutboxRelay("outbox", args))
    return str(error.value)


# --- relay: the outbox stream mapping -------------------------------------------------------------

def test_relay_mapping_reads_the_outbox_stream(stack):
    assert _mapping(stack)["eventSourceArn"] == _out(stack, "outbox-outbox", "streamArn")
    assert _mapping(stack)["functionName"] == _out(stack, "outbox-relay-fn")


def test_relay_mapping_passes_only_inserts(stack):
    filters = _mapping(stack)["filterCriteria"]["filters"]
    assert len(filters) == 1
    assert json.loads(filters[0]["pattern"]) == {"eventName": ["INSERT"]}


def test_relay_mapping_bisects_a_failing_batch(stack):
    assert _mapping(stack)["bisectBatchOnFunctionError"] is True


def test_relay_mapping_retries_a_batch_a_bounded_number_of_times(stack):
    assert _mapping(stack)["maximumRetryAttempts"] == defaults.OUTBOX_RELAY_MAXIMUM_RETRY_ATTEMPTS == 10


def test_relay_mapping_gives_up_on_records_older_than_an_hour(stack):
    assert _mapping(stack)["maximumRecordAgeInSeconds"] == defaults.STREAM_MAXIMUM_RECORD_AGE_SECONDS == 3600


def test_relay_mapping_batches_100_records_within_one_second(stack):
    assert _mapping(stack)["batchSize"] == 100
    assert _mapping(stack)["maximumBatchingWindowInSeconds"] == 1


def test_relay_mapping_relays_one_batch_per_shard_at_a_time(stack):
    assert _mapping(stack)["parallelizationFactor"] == 1


def test_relay_mapping_reports_batch_item_failures(stack):
    assert _mapping(stack)["functionResponseTypes"] == ["ReportBatchItemFailures"]


def test_relay_mapping_starts_at_the_trim_horizon_so_no_committed_event_is_skipped(stack):
    assert _mapping(stack)["startingPosition"] == "TRIM_HORIZON"


def test_relay_failures_go_to_the_on_failure_queue(stack):
    destination = _mapping(stack)["destinationConfig"]["onFailure"]["destinationArn"]
    assert destination == _out(stack, "outbox-relay-failed")


def test_on_failure_queue_is_terminal_and_keeps_records_14_days(stack):
    queue = stack.named("outbox-relay-failed").props
    assert "redrivePolicy" not in queue
    assert queue["messageRetentionSeconds"] == defaults.SQS_DLQ_RETENTION_SECONDS
    assert queue["sqsManagedSseEnabled"] is True


def test_relay_mapping_follows_its_args(tuned):
    mapping = _mapping(tuned)
    assert (mapping["batchSize"], mapping["maximumBatchingWindowInSeconds"]) == (25, 0)
    assert (mapping["maximumRetryAttempts"], mapping["maximumRecordAgeInSeconds"]) == (7, 7200)


# --- bus, archive, rule and target ----------------------------------------------------------------

def test_order_created_rule_matches_the_relays_source_and_detail_type(stack):
    rule = stack.named("outbox-order-created").props
    assert rule["eventBusName"] == _out(stack, "outbox-bus", "name")
    assert json.loads(rule["eventPattern"]) == {"source": ["serverless-blueprints.orders"],
                                                "detail-type": ["OrderCreated"]}


def test_rule_and_relay_share_a_custom_event_source(tuned):
    assert json.loads(tuned.named("outbox-order-created").props["eventPattern"])["source"] == ["shop.orders"]
    environment = tuned.named("outbox-relay-fn").props["environment"]["variables"]
    assert environment["EVENT_SOURCE"] == "shop.orders"


def test_target_delivers_to_the_shipping_queue(stack):
    target = stack.named("outbox-order-created-to-shipping").props
    assert target["arn"] == _out(stack, "outbox-shipping")
    assert target["rule"] == _out(stack, "outbox-order-created", "name")
    assert target["eventBusName"] == _out(stack, "outbox-bus", "name")


def test_target_has_its_own_dead_letter_queue(stack):
    dlq = stack.named("outbox-order-created-to-shipping").props["deadLetterConfig"]["arn"]
    assert dlq == _out(stack, "outbox-order-created-dlq")
    assert dlq != _out(stack, "outbox-shipping-dlq")
    assert "redrivePolicy" not in stack.named("outbox-order-created-dlq").props


def test_target_retries_for_at_most_an_hour_and_20_attempts(stack):
    policy = stack.named("outbox-order-created-to-shipping").props["retryPolicy"]
    assert policy == {"maximumRetryAttempts": 20, "maximumEventAgeInSeconds": 3600}


def test_target_retry_policy_follows_its_args(tuned):
    policy = tuned.named("outbox-order-created-to-shipping").props["retryPolicy"]
    assert policy == {"maximumRetryAttempts": 5, "maximumEventAgeInSeconds": 600}


def test_target_is_created_after_both_queue_policies(stack):
    target = stack.named("outbox-order-created-to-shipping")
    for policy in ("outbox-shipping-policy", "outbox-order-created-dlq-policy"):
        assert stack.named(policy).urn in target.dependencies


@pytest.mark.parametrize("queue", ["outbox-shipping", "outbox-order-created-dlq"])
def test_queue_admits_only_eventbridge_sending_for_the_rule(stack, queue):
    statements = statements_of(stack.named(f"{queue}-policy"))
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1
    allowed = allows[0]
    assert allowed["Principal"] == {"Service": "events.amazonaws.com"}
    assert _actions(allowed) == ["sqs:SendMessage"]
    assert as_list(allowed["Resource"]) == [_out(stack, queue)]
    assert allowed["Condition"] == {"ArnEquals": {"aws:SourceArn": _out(stack, "outbox-order-created")}}
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in statements)


def test_shipping_queue_redrives_to_its_dlq_after_5_receives(stack):
    redrive = json.loads(stack.named("outbox-shipping").props["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": _out(stack, "outbox-shipping-dlq"), "maxReceiveCount": 5}


def test_shipping_queue_visibility_is_six_times_the_consumer_timeout(stack, tuned):
    assert stack.named("outbox-shipping").props["visibilityTimeoutSeconds"] == 6 * 30
    assert tuned.named("outbox-shipping").props["visibilityTimeoutSeconds"] == 6 * 20
    assert tuned.named("outbox-shipping-consumer-fn").props["timeout"] == 20


def test_consumer_mapping_reads_the_shipping_queue_with_partial_batch_failures(stack):
    mapping = stack.named("outbox-shipping-queue").props
    assert mapping["eventSourceArn"] == _out(stack, "outbox-shipping")
    assert mapping["functionName"] == _out(stack, "outbox-shipping-consumer-fn")
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["batchSize"] == 10


def test_archive_keeps_the_relays_events_for_30_days_by_default(stack):
    archive = stack.named("outbox-archive").props
    assert archive["eventSourceArn"] == _out(stack, "outbox-bus")
    assert archive["retentionDays"] == 30
    assert json.loads(archive["eventPattern"]) == {"source": ["serverless-blueprints.orders"]}


def test_archive_retention_follows_its_arg(tuned):
    assert tuned.named("outbox-archive").props["retentionDays"] == 45


def test_bus_has_no_resource_policy(stack, prod_stack):
    for snapshot in (stack, prod_stack):
        assert snapshot.of_type("aws:cloudwatch/eventBusPolicy:EventBusPolicy") == []
        assert snapshot.of_type("aws:cloudwatch/eventPermission:EventPermission") == []


# --- least privilege ------------------------------------------------------------------------------

def test_relay_can_only_put_events_on_its_own_bus(stack):
    statements = _statements(stack, "relay")
    events = [s for s in statements if any(a.startswith("events:") for a in _actions(s))]
    assert len(events) == 1
    assert _actions(events[0]) == ["events:PutEvents"]
    assert as_list(events[0]["Resource"]) == [_out(stack, "outbox-bus")]
    assert "Condition" not in events[0]


def test_relay_reads_only_the_outbox_stream(stack):
    statements = _by_sid(stack, "relay")
    assert _actions(statements["ReadOutboxStream"]) == [
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    assert statements["ReadOutboxStream"]["Resource"] == [_out(stack, "outbox-outbox", "streamArn")]
    assert _actions(statements["ListOutboxStreams"]) == ["dynamodb:ListStreams"]
    assert statements["ListOutboxStreams"]["Resource"] == [_out(stack, "outbox-outbox", "arn") + "/stream/*"]
    dynamodb = {a for s in statements.values() for a in _actions(s) if a.startswith("dynamodb:")}
    assert dynamodb == {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                        "dynamodb:ListStreams"}


def test_relay_may_send_only_to_its_on_failure_queue(stack):
    sqs = [s for s in _statements(stack, "relay") if any(a.startswith("sqs:") for a in _actions(s))]
    assert len(sqs) == 1
    assert _actions(sqs[0]) == ["sqs:SendMessage"]
    assert sqs[0]["Resource"] == [_out(stack, "outbox-relay-failed")]


@pytest.mark.parametrize("function", ["order-service", "relay", "shipping-consumer"])
def test_roles_grant_no_wildcard_actions_and_wildcard_resources_only_where_unscopable(stack, function):
    for statement in _statements(stack, function):
        assert statement["Effect"] == "Allow"
        for action in _actions(statement):
            assert "*" not in action, (function, action)
        if "*" in as_list(statement["Resource"]):
            assert statement["Sid"] == "XRayUnscopable", (function, statement)


def test_order_service_writes_orders_and_events_only_inside_a_transaction(stack):
    statements = _by_sid(stack, "order-service")
    write = statements["OrderAndEventInOneTransaction"]
    assert _actions(write) == ["dynamodb:PutItem"]
    assert write["Resource"] == [_out(stack, "outbox-orders"), _out(stack, "outbox-outbox")]
    assert write["Condition"] == {"StringEquals": {"dynamodb:EnclosingOperation": "TransactWriteItems"}}
    outbox = _out(stack, "outbox-outbox")
    assert [s["Sid"] for s in statements.values() if outbox in as_list(s["Resource"])] == [
        "OrderAndEventInOneTransaction"]


def test_order_service_reads_back_orders_and_manages_its_idempotency_records(stack):
    statements = _by_sid(stack, "order-service")
    assert _actions(statements["ReadExistingOrder"]) == ["dynamodb:GetItem"]
    assert statements["ReadExistingOrder"]["Resource"] == [_out(stack, "outbox-orders")]
    assert _actions(statements["IdempotencyRecords"]) == [
        "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert statements["IdempotencyRecords"]["Resource"] == [_out(stack, "outbox-idempotency")]
    assert set(statements) == {"WriteOwnLogs", "XRayUnscopable", "OrderAndEventInOneTransaction",
                               "ReadExistingOrder", "IdempotencyRecords"}


def test_consumer_writes_only_shipments_and_consumes_only_its_queue(stack):
    statements = _by_sid(stack, "shipping-consumer")
    assert _actions(statements["RecordShipmentOnce"]) == ["dynamodb:PutItem"]
    assert statements["RecordShipmentOnce"]["Resource"] == [_out(stack, "outbox-shipments")]
    assert _actions(statements["ConsumeShippingQueue"]) == [
        "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    assert statements["ConsumeShippingQueue"]["Resource"] == [_out(stack, "outbox-shipping")]
    assert set(statements) == {"WriteOwnLogs", "XRayUnscopable", "RecordShipmentOnce", "ConsumeShippingQueue"}


# --- API and identity -----------------------------------------------------------------------------

def test_post_orders_is_authorized_by_the_created_user_pool(stack):
    method = stack.named("outbox-api-POST-orders").props
    authorizer = stack.named("outbox-api-cognito")
    assert method["authorization"] == "COGNITO_USER_POOLS"
    assert method["authorizerId"] == authorizer.outputs["id"]
    assert authorizer.props["providerArns"] == [_out(stack, "outbox-users")]


def test_post_orders_invokes_the_order_service(stack):
    integration = stack.named("outbox-api-POST-orders-integration").props
    assert integration["type"] == "AWS_PROXY"
    assert integration["uri"] == _out(stack, "outbox-order-service-fn", "invokeArn")
    assert stack.named("outbox-api-POST-orders-invoke").props["sourceArn"].endswith("/*/POST/orders")


def test_a_given_user_pool_is_used_and_none_is_created(tuned):
    assert tuned.named("outbox-api-cognito").props["providerArns"] == [GIVEN_POOL]
    assert tuned.of_type("aws:cognito/userPool:UserPool") == []


def test_created_user_pool_is_invite_only_with_strong_passwords_and_mfa_offered(stack):
    pool = stack.named("outbox-users").props
    assert pool["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True
    assert pool["passwordPolicy"]["minimumLength"] == 12
    assert pool["mfaConfiguration"] == "OPTIONAL"
    assert pool["deletionProtection"] == "INACTIVE"
    client = stack.named("outbox-client").props
    assert client["generateSecret"] is False
    assert client["explicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


def test_api_stage_throttles_at_20_requests_per_second_by_default(stack):
    settings = stack.named("outbox-api-all-methods").props["settings"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (20, 40)


def test_order_service_timeout_must_fit_api_gateways_limit():
    assert "OutboxRelay 'outbox': order_function.timeout_seconds: 29 is out of range; allowed 1 to 28 (under " \
           "API Gateway's 29 s integration limit)" in _invalid(order_function={"timeout_seconds": 29})


# --- tables ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", TABLES)
def test_table_is_on_demand_with_pitr_and_sse(stack, table):
    props = stack.named(table).props
    assert props["billingMode"] == "PAY_PER_REQUEST"
    assert props["pointInTimeRecovery"] == {"enabled": True}
    assert props["serverSideEncryption"] == {"enabled": True}
    assert props["deletionProtectionEnabled"] is False


@pytest.mark.parametrize("table", TABLES)
def test_deletion_protection_follows_the_arg(tuned, table):
    assert tuned.named(table).props["deletionProtectionEnabled"] is True


@pytest.mark.parametrize("table,key", [("outbox-orders", "orderId"), ("outbox-outbox", "eventId"),
                                       ("outbox-idempotency", "id"), ("outbox-shipments", "eventId")])
def test_table_keys_match_what_the_functions_write(stack, table, key):
    props = stack.named(table).props
    assert props["hashKey"] == key
    assert props["attributes"] == [{"name": key, "type": "S"}]
    assert "rangeKey" not in props


def test_outbox_streams_new_images(stack):
    props = stack.named("outbox-outbox").props
    assert props["streamEnabled"] is True
    assert props["streamViewType"] == "NEW_IMAGE"


def test_outbox_rows_expire_on_expires_at(stack):
    assert stack.named("outbox-outbox").props["ttl"] == {"attributeName": "expiresAt", "enabled": True}


def test_idempotency_records_expire_on_powertools_expiration_attribute(stack):
    assert stack.named("outbox-idempotency").props["ttl"] == {"attributeName": "expiration", "enabled": True}


def test_only_the_outbox_is_streamed(stack):
    streamed = [t for t in TABLES if stack.named(t).props.get("streamEnabled")]
    assert streamed == ["outbox-outbox"]


# --- functions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("function,handler", [("order-service", "order_service.handler.handler"),
                                              ("relay", "outbox_relay.handler.handler"),
                                              ("shipping-consumer", "shipping_consumer.handler.handler")])
def test_function_runs_its_package_handler_on_arm64_python313(stack, function, handler):
    props = stack.named(f"outbox-{function}-fn").props
    assert props["handler"] == handler
    assert (props["runtime"], props["architectures"]) == ("python3.13", ["arm64"])
    assert props["tracingConfig"]["mode"] == "Active"


def test_order_service_is_told_its_tables_and_the_outbox_ttl(stack, tuned):
    env = stack.named("outbox-order-service-fn").props["environment"]["variables"]
    assert env["ORDERS_TABLE"] == _out(stack, "outbox-orders", "name")
    assert env["OUTBOX_TABLE"] == _out(stack, "outbox-outbox", "name")
    assert env["IDEMPOTENCY_TABLE"] == _out(stack, "outbox-idempotency", "name")
    assert env["OUTBOX_TTL_DAYS"] == "14"
    assert tuned.named("outbox-order-service-fn").props["environment"]["variables"]["OUTBOX_TTL_DAYS"] == "30"


def test_relay_is_told_its_bus_and_source(stack):
    env = stack.named("outbox-relay-fn").props["environment"]["variables"]
    assert env["EVENT_BUS_NAME"] == _out(stack, "outbox-bus", "name")
    assert env["EVENT_SOURCE"] == "serverless-blueprints.orders"


def test_consumer_is_told_its_table(stack):
    env = stack.named("outbox-shipping-consumer-fn").props["environment"]["variables"]
    assert env["SHIPMENTS_TABLE"] == _out(stack, "outbox-shipments", "name")


def test_function_sizes_default_to_256_mb(stack):
    for function, timeout in (("order-service", 10), ("relay", 30), ("shipping-consumer", 30)):
        props = stack.named(f"outbox-{function}-fn").props
        assert (props["memorySize"], props["timeout"]) == (256, timeout), function


# --- alarms ---------------------------------------------------------------------------------------

def test_iterator_age_alarm_watches_the_relay(tuned):
    alarm = tuned.named("outbox-relay-iterator-age").props
    assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == ("AWS/Lambda", "IteratorAge", "Maximum")
    assert alarm["dimensions"] == {"FunctionName": _out(tuned, "outbox-relay-fn", "name")}
    assert alarm["threshold"] == 120 * 1000
    assert alarm["comparisonOperator"] == "GreaterThanThreshold"


def test_every_terminal_queue_alarms_on_its_first_message(tuned):
    component = tuned.named("outbox").urn
    queues = [q for q in tuned.descendants_of(component) if q.resource_type == "aws:sqs/queue:Queue"]
    terminal = {q.name for q in queues if "redrivePolicy" not in q.props}
    assert terminal == {"outbox-relay-failed", "outbox-order-created-dlq", "outbox-shipping-dlq"}
    alarmed = {a.props["dimensions"]["QueueName"]: a.props
               for a in tuned.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.props["namespace"] == "AWS/SQS"}
    for name in terminal:
        alarm = alarmed[_out(tuned, name, "name")]
        assert (alarm["metricName"], alarm["threshold"], alarm["comparisonOperator"]) == (
            "ApproximateNumberOfMessagesVisible", 1, "GreaterThanOrEqualToThreshold")


def test_the_alarm_topic_hears_every_alarm_on_alarm_and_on_ok(tuned):
    alarms = tuned.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    # 3 functions x 2, the stage's 5xx and latency, 4 tables x 2, 3 terminal queues, the relay's iterator age
    assert len(alarms) == 20
    for alarm in alarms:
        assert alarm.props["alarmActions"] == alarm.props["okActions"] == [
            "arn:aws:sns:eu-west-1:123456789012:oncall"], alarm.name


def test_without_alarms_there_are_no_alarms_and_no_dashboard(stack):
    assert not stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert not stack.of_type("aws:cloudwatch/dashboard:Dashboard")


# --- guards ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("knob,value,allowed", [
    ("batch_size", 0, "1 to 10000"), ("batch_size", 10001, "1 to 10000"),
    ("batching_window_seconds", 301, "0 to 300"),
    ("maximum_retry_attempts", -1, "0 to 10000"),
    ("maximum_record_age_seconds", -1, "120 to 86400"), ("maximum_record_age_seconds", 86401, "120 to 86400"),
    ("outbox_ttl_days", 7, "14 to 3650"),
    ("archive_retention_days", 0, "1 to 3650"),
    ("target_maximum_retry_attempts", 186, "0 to 185"),
    ("target_maximum_event_age_seconds", 59, "60 to 86400"),
    ("consumer_batch_size", 11, "1 to 10"),
    ("iterator_age_alarm_seconds", 59, "60 to 3599"),
])
def test_out_of_range_settings_are_rejected_naming_the_knob(knob, value, allowed):
    assert f"OutboxRelay 'outbox': {knob}: {value} is out of range; allowed {allowed}" in _invalid(**{knob: value})


def test_iterator_age_alarm_must_fire_before_records_are_given_up_on():
    message = _invalid(iterator_age_alarm_seconds=3600, maximum_record_age_seconds=3600)
    assert "iterator_age_alarm_seconds: 3600 is out of range; allowed 60 to 3599 (below " \
           "maximum_record_age_seconds 3600" in message


def test_an_aws_event_source_is_rejected():
    assert "event_source: expected 1-256 letters, digits, '.', '_' or '-', not starting with 'aws.' (reserved for " \
           "AWS services), got 'aws.orders'" in _invalid(event_source="aws.orders")


# --- outputs and stacks ---------------------------------------------------------------------------

def test_stacks_export_the_route_bus_tables_and_dead_letter_queues(dev_stack):
    exported = dev_stack.exports["outbox"]
    assert exported["ordersUrl"].endswith("/v1/orders")
    assert exported["eventBusArn"] == _out(dev_stack, "outbox-bus")
    assert exported["eventBusName"] == _out(dev_stack, "outbox-bus", "name")
    assert exported["tables"] == {name: _out(dev_stack, f"outbox-{table}", "name") for name, table in (
        ("orders", "orders"), ("outbox", "outbox"), ("idempotency", "idempotency"), ("shipments", "shipments"))}
    assert {k: v["arn"] for k, v in exported["deadLetterQueues"].items()} == {
        "relayOnFailure": _out(dev_stack, "outbox-relay-failed"),
        "orderCreatedTarget": _out(dev_stack, "outbox-order-created-dlq"),
        "shippingConsumer": _out(dev_stack, "outbox-shipping-dlq")}
    assert exported["userPoolId"] == dev_stack.named("outbox-users").outputs["id"]


def test_both_stacks_enable_the_component(dev_stack, prod_stack):
    for snapshot in (dev_stack, prod_stack):
        assert [r.name for r in snapshot.of_type(COMPONENT)] == ["outbox"]


def test_prod_protects_the_tables_and_the_user_pool_and_dev_does_not(dev_stack, prod_stack):
    for table in TABLES:
        assert prod_stack.named(table).props["deletionProtectionEnabled"] is True
        assert dev_stack.named(table).props["deletionProtectionEnabled"] is False
    assert prod_stack.named("outbox-users").props["deletionProtection"] == "ACTIVE"


def test_stack_yaml_sets_archive_retention_throttling_and_memory(dev_stack, prod_stack):
    assert dev_stack.named("outbox-archive").props["retentionDays"] == 7
    assert prod_stack.named("outbox-archive").props["retentionDays"] == 90
    assert prod_stack.named("outbox-api-all-methods").props["settings"]["throttlingRateLimit"] == 100
    assert dev_stack.named("outbox-api-all-methods").props["settings"]["throttlingRateLimit"] == 10
    assert prod_stack.named("outbox-order-service-fn").props["memorySize"] == 512
    assert prod_stack.named("outbox-relay-logs").props["retentionInDays"] == 365
    assert dev_stack.named("outbox-relay-logs").props["retentionInDays"] == 7


def test_stacks_keep_the_relay_defaults(prod_stack):
    mapping = _mapping(prod_stack)
    assert (mapping["batchSize"], mapping["maximumRetryAttempts"], mapping["maximumRecordAgeInSeconds"]) == (
        100, 10, 3600)


def test_stack_api_logs_go_through_the_account_logging_role(prod_stack):
    stage = prod_stack.named("outbox-api-stage")
    assert prod_stack.named("apigateway-logging").urn in stage.dependencies


# --- config ---------------------------------------------------------------------------------------

def _parse(outbox: dict, env: str = "dev"):
    return stack_config.parse({"environment": env, "outbox": {"enabled": True, **outbox}}, "eu-west-1")


def _config_error(outbox: dict) -> str:
    with pytest.raises(stack_config.ConfigError) as error:
        _parse(outbox)
    return str(error.value)


PROD_EMAIL = {"sourceArn": "arn:aws:ses:eu-west-1:210987654321:identity/shop.example.org",
              "fromAddress": "orders@shop.example.org"}


def test_config_section_is_the_components_args_plus_the_stacks_retention_and_protection():
    assert _parse({}).outbox == {"log_retention_days": 7, "deletion_protection": False}
    prod = _parse({"email": PROD_EMAIL}, "prod").outbox
    assert {k: v for k, v in prod.items() if k != "email"} == {"log_retention_days": 365, "deletion_protection": True}


def test_config_leaves_every_other_default_to_the_component():
    from serverless_blueprints.outbox_relay import resolve_args

    resolved = resolve_args("outbox", _parse({"email": PROD_EMAIL}, "prod").outbox)
    assert (resolved.batch_size, resolved.maximum_retry_attempts, resolved.maximum_record_age_seconds) == (
        100, 10, 3600)
    assert (resolved.archive_retention_days, resolved.outbox_ttl_days) == (30, 14)
    assert resolved.order_function.memory_mb == 256 and resolved.user_pool_arn is None


def test_config_reads_every_documented_key():
    args = _parse({
        "outboxTtlDays": 21, "userPoolArn": GIVEN_POOL, "corsAllowOrigin": "https://shop.example.com",
        "throttle": {"rateLimit": 7, "burstLimit": 9},
        "orderFunction": {"memoryMb": 1024, "timeoutSeconds": 5},
        "relayFunction": {"memoryMb": 512, "timeoutSeconds": 60},
        "consumerFunction": {"memoryMb": 128, "timeoutSeconds": 15},
        "batchSize": 50, "batchingWindowSeconds": 2, "maximumRetryAttempts": 4, "maximumRecordAgeSeconds": 1800,
        "iteratorAgeAlarmSeconds": 600, "archiveRetentionDays": 14, "targetMaximumRetryAttempts": 8,
        "targetMaximumEventAgeSeconds": 900, "eventSource": "shop.orders", "consumerBatchSize": 5,
    }).outbox
    assert args["user_pool_arn"] == GIVEN_POOL and args["cors_allow_origin"] == "https://shop.example.com"
    assert args["order_function"] == {"memory_mb": 1024, "timeout_seconds": 5}
    assert args["relay_function"] == {"memory_mb": 512, "timeout_seconds": 60}
    assert args["consumer_function"] == {"memory_mb": 128, "timeout_seconds": 15}
    assert args["throttle"] == {"rate_limit": 7, "burst_limit": 9}
    assert (args["batch_size"], args["batching_window_seconds"], args["maximum_retry_attempts"]) == (50, 2, 4)
    assert (args["maximum_record_age_seconds"], args["iterator_age_alarm_seconds"]) == (1800, 600)
    assert (args["archive_retention_days"], args["outbox_ttl_days"]) == (14, 21)
    assert (args["target_maximum_retry_attempts"], args["target_maximum_event_age_seconds"]) == (8, 900)
    assert (args["event_source"], args["consumer_batch_size"]) == ("shop.orders", 5)


@pytest.mark.parametrize("outbox,key,allowed", [
    ({"batchSize": 0}, "outbox.batchSize", "allowed 1 to 10000"),
    ({"maximumRetryAttempts": -1}, "outbox.maximumRetryAttempts", "allowed 0 to 10000"),
    ({"maximumRecordAgeSeconds": 90000}, "outbox.maximumRecordAgeSeconds", "allowed 120 to 86400"),
    ({"maximumRecordAgeSeconds": 600, "iteratorAgeAlarmSeconds": 600},
     "outbox.iteratorAgeAlarmSeconds", "allowed 60 to 599 (below maximumRecordAgeSeconds 600"),
    ({"batchingWindowSeconds": 301}, "outbox.batchingWindowSeconds", "allowed 0 to 300"),
    ({"outboxTtlDays": 7}, "outbox.outboxTtlDays", "allowed 14 to 3650"),
    ({"archiveRetentionDays": 0}, "outbox.archiveRetentionDays", "allowed 1 to 3650"),
    ({"targetMaximumRetryAttempts": 186}, "outbox.targetMaximumRetryAttempts", "allowed 0 to 185"),
    ({"targetMaximumEventAgeSeconds": 30}, "outbox.targetMaximumEventAgeSeconds", "allowed 60 to 86400"),
    ({"orderFunction": {"timeoutSeconds": 29}}, "outbox.orderFunction.timeoutSeconds",
     "allowed 1 to 28 (under API Gateway's 29 s integration limit)"),
    ({"relayFunction": {"memoryMb": 64}}, "outbox.relayFunction.memoryMb", "allowed 128 to 10240"),
    ({"throttle": {"rateLimit": 0}}, "outbox.throttle.rateLimit", "allowed 1 to 10000"),
    ({"consumerBatchSize": 11}, "outbox.consumerBatchSize", "allowed 1 to 10"),
])
def test_config_out_of_range_values_name_the_key_and_the_allowed_range(outbox, key, allowed):
    message = _config_error(outbox)
    assert f"serverless-blueprints:{key}: " in message and allowed in message


def test_config_rejects_a_user_pool_arn_that_is_not_one():
    message = _config_error({"userPoolArn": "arn:aws:iam::123456789012:role/x"})
    assert "serverless-blueprints:outbox.userPoolArn: expected a Cognito user pool ARN" in message


def test_library_rejects_a_user_pool_arn_that_is_not_one():
    message = _invalid(user_pool_arn="arn:aws:iam::123456789012:role/x")
    assert "OutboxRelay 'outbox': user_pool_arn: expected a Cognito user pool ARN" in message


def test_config_rejects_unknown_keys_listing_the_known_ones():
    message = _config_error({"batchsize": 10})
    assert "outbox.batchsize: unknown key (did you mean 'batchSize'?); allowed:" in message
    assert "consumerFunction" in message and "relayFunction" in message


def test_library_rejects_unknown_args_listing_the_allowed_ones():
    message = _invalid(relay={"batch_size": 10})
    assert "OutboxRelay 'outbox': relay: unknown arg" in message and "relay_function" in message


def test_config_refuses_a_key_beside_enabled_false():
    with pytest.raises(stack_config.ConfigError, match=r"outbox\.batchSize: belongs to serverless-blueprints:outbox, "
                                                       r"which is disabled \(enabled: false\)"):
        stack_config.parse({"environment": "dev", "outbox": {"enabled": False, "batchSize": 10}}, "eu-west-1")


def test_analyzer_infers_the_args_as_inputs_and_the_outputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    definition = Analyzer("serverless-blueprints").analyze([OutboxRelay])["component_definitions"]["OutboxRelay"]
    assert {"userPoolArn", "throttle", "orderFunction", "relayFunction", "consumerFunction", "batchSize",
            "iteratorAgeAlarmSeconds", "eventSource", "cloudwatchAccount"} <= set(definition.inputs)
    assert all(prop.optional for prop in definition.inputs.values())
    assert definition.inputs["throttle"].ref.endswith(":index:ApiThrottle")
    assert set(definition.outputs) == {
        "ordersUrl", "apiUrl", "eventBusName", "eventBusArn", "eventSource", "archiveName", "ordersTableName",
        "outboxTableName", "idempotencyTableName", "shipmentsTableName", "deadLetterQueues", "userPoolId",
        "userPoolClientId", "dashboardName"}
    assert definition.outputs["userPoolId"].optional and not definition.outputs["ordersUrl"].optional


ORDERS_SES = "arn:aws:ses:eu-west-1:123456789012:identity/shop.example.org"


def test_created_pool_sends_its_invitations_through_the_given_ses_identity(stack):
    assert stack.named("outbox-users").props.get("emailConfiguration") is None
    created = evaluate_program(lambda: OutboxRelay("outbox", {"email": {
        "source_arn": ORDERS_SES, "from_address": "Orders <orders@shop.example.org>"}}))
    config = created.named("outbox-users").props["emailConfiguration"]
    assert (config["emailSendingAccount"], config["sourceArn"]) == ("DEVELOPER", ORDERS_SES)


def test_email_beside_a_given_user_pool_is_rejected():
    with pytest.raises(ArgsError, match=r"OutboxRelay 'outbox': email: applies only to the user pool OutboxRelay "
                                        r"creates"):
        evaluate_program(lambda: OutboxRelay("outbox", {"user_pool_arn": GIVEN_POOL, "email": {
            "source_arn": ORDERS_SES, "from_address": "orders@shop.example.org"}}))


# --- canary ----------------------------------------------------------------------------------------
def test_with_a_canary_post_orders_invokes_live_released_by_codedeploy():
    topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
    stack = evaluate_program(lambda: OutboxRelay("outbox", {
        "canary": canary_wiring.ALL_AT_ONCE, "alarms": {"topic_arn": topic}}))
    canary_wiring.assert_released_through_live(stack, ["outbox-order-service"], topic)
    # Only the API's function: the relay and the consumer have no caller a canary could protect.
    assert {a.name for a in stack.of_type(canary_wiring.ALIAS)} == {"outbox-order-service-canary-live"}


def test_without_a_canary_the_function_is_invoked_unqualified(stack):
    canary_wiring.assert_no_canary(stack)


def test_a_canary_with_an_unknown_key_is_rejected_naming_it():
    with pytest.raises(ArgsError, match=canary_wiring.UNKNOWN_KEY_ERROR):
        evaluate_program(lambda: OutboxRelay("outbox", {"canary": canary_wiring.UNKNOWN_KEY}))
