"""monitoring: the one list of watches a component renders into alarms and a dashboard."""
import json

import pulumi
import pulumi_aws as aws
import pytest

from offline.harness import evaluate_program
from serverless_blueprints import monitoring
from serverless_blueprints.args import ArgsError, ArgsReader
from serverless_blueprints.global_table import GlobalTable
from serverless_blueprints.secure_queue import SecureQueue
from serverless_blueprints.thumbnail_pipeline import ThumbnailPipeline

TOPIC = "arn:aws:sns:eu-west-1:123456789012:alarms"
EAST_TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.QUEUE)


def read(args, thresholds=THRESHOLDS, **kwargs):
    class HasAlarms(dict):
        __annotations__ = {"alarms": dict}
    return monitoring.read_alarms(ArgsReader("Thing", "it", args, HasAlarms, {}), thresholds, **kwargs)


# --- the alarms arg ------------------------------------------------------------------------------------

def test_without_alarms_a_component_gets_none():
    assert read({}) is None


def test_thresholds_default_to_the_components_and_take_overrides():
    alarms = read({"alarms": {"topic_arn": TOPIC, "thresholds": {"lambda_throttles": 20}}})
    assert alarms.thresholds == {"lambda_errors": 1, "lambda_throttles": 20, "dlq_messages": 1}
    assert alarms.actions(monitoring.HOME) == [TOPIC] and alarms.dashboard is True


def test_a_threshold_the_component_does_not_own_is_rejected_with_the_allowed_ones():
    with pytest.raises(ArgsError, match=r"Thing 'it': alarms.thresholds.api_p99_latency_ms: unknown threshold; "
                                        r"allowed: dlq_messages, lambda_errors, lambda_throttles"):
        read({"alarms": {"topic_arn": TOPIC, "thresholds": {"api_p99_latency_ms": 500}}})


def test_a_threshold_out_of_range_names_its_meaning():
    with pytest.raises(ArgsError, match=r"alarms.thresholds.lambda_errors: expected a number from 1 to 100000 "
                                        r"\(invocations that raised or timed out, in 5 minutes\), got 0"):
        read({"alarms": {"topic_arn": TOPIC, "thresholds": {"lambda_errors": 0}}})


def test_the_topic_must_be_an_sns_topic_arn():
    with pytest.raises(ArgsError, match=r"alarms.topic_arn: expected an SNS topic ARN"):
        read({"alarms": {"topic_arn": "arn:aws:sqs:eu-west-1:123456789012:q"}})


def test_unknown_alarms_keys_are_rejected():
    with pytest.raises(ArgsError, match=r"alarms.topic: unknown arg \(did you mean 'topic_arn'\?\)"):
        read({"alarms": {"topic": TOPIC}})


def test_cloudfront_alarms_need_a_topic_in_us_east_1():
    with pytest.raises(ArgsError, match="alarms.us_east_1_topic_arn: required: CloudFront's metrics"):
        read({"alarms": {"topic_arn": TOPIC}}, us_east_1=True)
    with pytest.raises(ArgsError, match="alarms.us_east_1_topic_arn: expected an SNS topic ARN in us-east-1"):
        read({"alarms": {"topic_arn": TOPIC, "us_east_1_topic_arn": TOPIC}}, us_east_1=True)
    assert read({"alarms": {"topic_arn": TOPIC, "us_east_1_topic_arn": EAST_TOPIC}},
                us_east_1=True).actions(monitoring.US_EAST_1) == [EAST_TOPIC]


def test_a_component_can_only_override_a_threshold_it_watches():
    with pytest.raises(KeyError, match="not one of the kinds watched"):
        monitoring.thresholds(monitoring.LAMBDA, dlq_messages=3)


# --- watches -> alarms + dashboard ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def table():
    return evaluate_program(lambda: GlobalTable("posts", {"alarms": {
        "topic_arn": TOPIC, "thresholds": {"table_throttle_events": 3}}}))


def test_every_alarm_notifies_the_topic_on_alarm_and_on_ok(table):
    alarms = table.of_type(ALARM)
    assert {a.name for a in alarms} == {"posts-read-throttles", "posts-write-throttles"}
    for alarm in alarms:
        assert alarm.props["alarmActions"] == alarm.props["okActions"] == [TOPIC]
        assert alarm.props["threshold"] == 3


def test_each_alarm_says_why_missing_data_is_treated_as_it_is(table):
    alarm = table.named("posts-read-throttles").props
    assert alarm["treatMissingData"] == "notBreaching"
    assert alarm["alarmDescription"].endswith(
        "Missing data is notBreaching: DynamoDB publishes throttle events only when there are some.")


def test_the_dashboard_graphs_each_alarms_metric_with_its_threshold(table):
    board = table.named("posts-dashboard")
    assert board.props["dashboardName"] == "serverless-blueprints-unit-posts"
    graphs = [w["properties"] for w in json.loads(board.props["dashboardBody"])["widgets"] if w["type"] == "metric"]
    assert [(g["metrics"][0][1], g["annotations"]["horizontal"][0]["value"]) for g in graphs] == [
        ("ReadThrottleEvents", 3), ("WriteThrottleEvents", 3)]
    assert {g["region"] for g in graphs} == {"eu-west-1"}


def test_without_alarms_nothing_is_created():
    stack = evaluate_program(lambda: GlobalTable("posts", {}))
    assert not stack.of_type(ALARM) and not stack.of_type("aws:cloudwatch/dashboard:Dashboard")


def test_dashboard_can_be_left_out():
    stack = evaluate_program(lambda: GlobalTable("posts", {"alarms": {"topic_arn": TOPIC, "dashboard": False}}))
    assert len(stack.of_type(ALARM)) == 2 and not stack.of_type("aws:cloudwatch/dashboard:Dashboard")


def test_percentiles_are_extended_statistics():
    def program():
        alarms = read({"alarms": {"topic_arn": TOPIC}}, monitoring.thresholds(monitoring.API))
        parent = pulumi.ComponentResource("test:index:Thing", "thing")
        monitoring.watch("thing", alarms, monitoring.rest_api_watches("thing-api", "api", "v1", alarms.thresholds),
                         parent=parent)
    latency = evaluate_program(program).named("thing-api-p99-latency").props
    assert latency["extendedStatistic"] == "p99" and "statistic" not in latency
    assert (latency["evaluationPeriods"], latency["datapointsToAlarm"]) == (3, 3)


def test_cloudfront_alarms_are_made_in_us_east_1_and_notify_the_topic_there():
    def program():
        east = aws.Provider("east", region="us-east-1")
        alarms = read({"alarms": {"topic_arn": TOPIC, "us_east_1_topic_arn": EAST_TOPIC}},
                      monitoring.thresholds(monitoring.CLOUDFRONT), us_east_1=True)
        parent = pulumi.ComponentResource("test:index:Thing", "site")
        monitoring.watch("site", alarms, monitoring.cloudfront_watches("site-cdn", "E123", alarms.thresholds),
                         parent=parent, us_east_1_provider=east)
    stack = evaluate_program(program)
    alarm = stack.named("site-cdn-5xx-rate")
    assert alarm.region == "us-east-1" and alarm.props["alarmActions"] == [EAST_TOPIC]
    graph = json.loads(stack.named("site-dashboard").props["dashboardBody"])["widgets"][1]["properties"]
    assert graph["region"] == "us-east-1"


def test_cloudfront_watches_without_the_us_east_1_provider_are_refused():
    def program():
        alarms = monitoring.ResolvedAlarms(TOPIC, None, monitoring.thresholds(monitoring.CLOUDFRONT), True)
        parent = pulumi.ComponentResource("test:index:Thing", "site")
        monitoring.watch("site", alarms, monitoring.cloudfront_watches("site-cdn", "E123", alarms.thresholds),
                         parent=parent)
    with pytest.raises(Exception, match="CloudFront alarms need the us-east-1 provider"):
        evaluate_program(program)


def test_two_watches_with_one_alarm_name_are_refused():
    def program():
        alarms = monitoring.ResolvedAlarms(TOPIC, None, THRESHOLDS, True)
        parent = pulumi.ComponentResource("test:index:Thing", "thing")
        watches = monitoring.lambda_watches("thing-fn", "fn", THRESHOLDS)
        monitoring.watch("thing", alarms, [*watches, watches[0]], parent=parent)
    with pytest.raises(Exception, match="two watches would make the alarm 'thing-fn-errors'"):
        evaluate_program(program)


# --- building blocks describe their watches ------------------------------------------------------------

def test_a_secure_queue_watches_its_dead_letter_queue_or_itself():
    def program():
        jobs = SecureQueue("jobs", {"consumer_timeout_seconds": 30})
        failures = SecureQueue("failures", {"dead_letter": False})
        parent = pulumi.ComponentResource("test:index:Thing", "thing")
        monitoring.watch("thing", monitoring.ResolvedAlarms(TOPIC, None, THRESHOLDS, False),
                         [jobs.depth_watch(THRESHOLDS), failures.depth_watch(THRESHOLDS)], parent=parent)
    stack = evaluate_program(program)
    dlq = stack.named("jobs-dlq-not-empty").props
    assert dlq["dimensions"] == {"QueueName": stack.named("jobs-dlq").outputs["name"]}
    assert (dlq["metricName"], dlq["statistic"], dlq["threshold"]) == ("ApproximateNumberOfMessagesVisible",
                                                                      "Maximum", 1)
    assert stack.named("failures-not-empty").props["dimensions"] == {
        "QueueName": stack.named("failures").outputs["name"]}


def test_a_pipeline_alarms_on_its_function_and_dlq_and_its_subscribers_queues():
    def program():
        photos = ThumbnailPipeline("photos", {"notifications": True, "alarms": {"topic_arn": TOPIC}})
        photos.subscribe_queue("audit")
    stack = evaluate_program(program)
    names = {a.name for a in stack.of_type(ALARM)}
    assert {"photos-worker-errors", "photos-worker-throttles", "photos-queue-dlq-not-empty",
            "photos-audit-dlq-not-empty", "photos-audit-undelivered-not-empty",
            "photos-thumbnails-ready-delivery-failed"} == names
    failed = stack.named("photos-thumbnails-ready-delivery-failed").props
    assert (failed["namespace"], failed["metricName"], failed["dimensions"]) == (
        "AWS/SNS", "NumberOfNotificationsFailed", {"TopicName": stack.named("photos-thumbnails-ready").outputs["name"]})
    assert len(stack.of_type("aws:cloudwatch/dashboard:Dashboard")) == 1


# --- components with CloudFront: their alarms live in us-east-1 ------------------------------------------

EAST_ALARMS = {"topic_arn": TOPIC, "us_east_1_topic_arn": EAST_TOPIC}


@pytest.mark.parametrize("component, args", [
    ("static_site", {"content_dir": "site", "languages": ["en", "fr"]}),
    ("paid_content", {}),
])
def test_cloudfront_components_refuse_alarms_without_the_us_east_1_provider(component, args):
    import importlib
    module = importlib.import_module(f"serverless_blueprints.{component}")
    with pytest.raises(ArgsError, match="us_east_1_provider: required with alarms: CloudFront's metrics"):
        module.resolve_args("it", {**args, "alarms": EAST_ALARMS})


def test_a_sites_distribution_alarms_in_us_east_1_and_its_invalidator_at_home():
    from serverless_blueprints.static_site import StaticSite

    def program():
        east = aws.Provider("east", region="us-east-1")
        StaticSite("blog", {"content_dir": "site", "languages": ["en", "fr"], "us_east_1_provider": east,
                            "alarms": EAST_ALARMS})
    stack = evaluate_program(program)
    rate = stack.named("blog-cdn-5xx-rate")
    assert rate.region == "us-east-1" and rate.props["alarmActions"] == [EAST_TOPIC]
    errors = stack.named("blog-invalidator-errors")
    assert errors.region == "eu-west-1" and errors.props["alarmActions"] == [TOPIC]


# --- each component's docs: the generated "Alarms and dashboard" section --------------------------------

DOCUMENTED = {
    "serverless_rest_api": "serverless-rest-api", "outbox_relay": "outbox-relay",
    "thumbnail_pipeline": "thumbnail-pipeline", "blog_api": "blog-api", "static_site": "static-site",
    "welcome_email": "welcome-email", "update_offload_cdn": "update-offload-cdn", "paid_content": "paid-content",
    "ingestion_pipeline": "ingestion-pipeline", "global_table": "global-table", "catalog_service": "catalog-service",
    "cart_service": "cart-service", "checkout_service": "checkout-service",
}
"""Component module -> its docs/components page."""
START, END = "<!-- alarms:start -->", "<!-- alarms:end -->"
REGENERATE = ".venv/bin/python -m tests.components.test_monitoring"


def _docs_page(module: str):
    from offline.harness import PROJECT_DIR
    return PROJECT_DIR / "docs" / "components" / f"{DOCUMENTED[module]}.md"


def _generated(module: str) -> str:
    import importlib
    return monitoring.alarms_markdown(importlib.import_module(f"serverless_blueprints.{module}").ALARM_THRESHOLDS)


@pytest.mark.parametrize("module", sorted(DOCUMENTED))
def test_component_docs_list_its_alarm_thresholds(module):
    text = _docs_page(module).read_text()
    assert START in text and END in text, f"{_docs_page(module).name}: no alarms section; run {REGENERATE}"
    assert text.split(START, 1)[1].split(END, 1)[0].strip() == _generated(module).strip(), (
        f"{_docs_page(module).name}: stale alarms section; run {REGENERATE}")


def write_docs() -> None:
    """Write (or refresh) each component page's generated alarms section, appended when missing."""
    for module in sorted(DOCUMENTED):
        page = _docs_page(module)
        text = page.read_text()
        block = f"{START}\n{_generated(module)}{END}"
        if START in text:
            head, rest = text.split(START, 1)
            text = head + block + rest.split(END, 1)[1]
        else:
            text = text.rstrip("\n") + f"\n\n## Alarms and dashboard\n\n{block}\n"
        page.write_text(text)


if __name__ == "__main__":
    write_docs()
