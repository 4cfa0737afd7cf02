"""AlarmTopic: the encrypted topic every alarm notifies, and who it reaches."""
import json

import pulumi_aws as aws
import pytest

from offline.harness import evaluate_program
from serverless_blueprints.alarm_topic import AlarmTopic
from serverless_blueprints.args import ArgsError
from tests.conftest import statements_of


@pytest.fixture(scope="module")
def topic():
    def program():
        east = aws.Provider("east", region="us-east-1")
        AlarmTopic("alarms", {"email": ["oncall@example.com"], "https": ["https://pager.example.com/hook"],
                              "us_east_1_provider": east})
    return evaluate_program(program)


def test_topic_is_encrypted_with_its_own_rotated_key(topic):
    key = topic.named("alarms-key")
    assert key.props["enableKeyRotation"] is True
    assert topic.named("alarms").props["kmsMasterKeyId"] == key.outputs["arn"]


def test_the_key_lets_cloudwatch_alarms_publish(topic):
    """Alarms can't use the AWS-managed SNS key: the topic's own key must let CloudWatch make data keys."""
    statements = {s["Sid"]: s for s in statements_of(topic.named("alarms-key"))}
    cloudwatch = statements["CloudWatchAlarmsPublish"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert "kms:*" not in json.dumps(statements)


def test_topic_policy_is_tls_only_and_admits_this_accounts_alarms(topic):
    deny, allow = statements_of(topic.named("alarms-policy"))
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert allow["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"},
                                  "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*"}}


def test_people_subscribe_by_email_and_https(topic):
    subscriptions = [s.props for s in topic.of_type("aws:sns/topicSubscription:TopicSubscription")
                     if s.props["topic"] == topic.named("alarms").outputs["arn"]]
    assert {(s["protocol"], s["endpoint"]) for s in subscriptions} == {
        ("email", "oncall@example.com"), ("https", "https://pager.example.com/hook")}


def test_undeliverable_webhook_alarms_are_kept_and_alarmed(topic):
    https = next(s for s in topic.of_type("aws:sns/topicSubscription:TopicSubscription")
                 if s.props["protocol"] == "https" and s.region == "eu-west-1")
    queue = topic.named("alarms-undelivered")
    assert json.loads(https.props["redrivePolicy"]) == {"deadLetterTargetArn": queue.outputs["arn"]}
    alarm = topic.named("alarms-undelivered-not-empty")
    assert alarm.props["alarmActions"] == [topic.named("alarms").outputs["arn"]]


def test_a_twin_topic_in_us_east_1_takes_cloudfronts_alarms(topic):
    east = topic.named("alarms-us-east-1")
    assert east.region == "us-east-1"
    assert topic.named("alarms-us-east-1-key").region == "us-east-1"
    allow = statements_of(topic.named("alarms-us-east-1-policy"))[1]
    assert allow["Condition"]["ArnLike"]["aws:SourceArn"].startswith("arn:aws:cloudwatch:us-east-1:")
    assert topic.named("alarms-us-east-1-undelivered-not-empty").region == "us-east-1"
    assert topic.named("alarms-us-east-1-undelivered-not-empty").props["alarmActions"] == [east.outputs["arn"]]


def test_without_the_provider_there_is_one_topic():
    stack = evaluate_program(lambda: AlarmTopic("alarms"))
    assert len(stack.of_type("aws:sns/topic:Topic")) == 1
    assert not stack.of_type("aws:sns/topicSubscription:TopicSubscription")


@pytest.mark.parametrize("args, message", [
    ({"email": ["not-an-address"]}, r"email: expected a list of email addresses"),
    ({"https": ["http://pager.example.com"]}, r"https: expected a list of https:// URLs"),
    ({"email": ["a@example.com", "a@example.com"]}, r"email: expected a list of email addresses \(0 to 50, distinct\)"),
    ({"emails": ["a@example.com"]}, r"emails: unknown arg \(did you mean 'email'\?\)"),
])
def test_bad_subscribers_are_rejected_naming_the_arg(args, message):
    with pytest.raises(ArgsError, match=f"AlarmTopic 'alarms': {message}"):
        evaluate_program(lambda: AlarmTopic("alarms", args))


# --- the stack config: serverless-blueprints:alarms, and each section's alarms ------------------------------

def _parse(**raw):
    from stack_config import parse
    return parse({"environment": "dev", **raw}, "eu-west-1")


def test_config_alarms_section_is_the_topics_args():
    assert _parse(alarms={"email": ["oncall@example.com"]}).alarms == {"email": ["oncall@example.com"]}
    assert _parse().alarms == {}


def test_config_rejects_a_bad_subscriber_naming_the_yaml_key():
    from stack_config import ConfigError
    with pytest.raises(ConfigError, match=r"^serverless-blueprints:alarms\.https: expected a list of https:// URLs"):
        _parse(alarms={"https": ["http://pager.example.com"]})


def test_config_threshold_overrides_reach_the_component_and_bad_ones_name_the_yaml_key():
    from stack_config import ConfigError
    settings = _parse(todoApi={"alarms": {"thresholds": {"apiP99LatencyMs": 1500}}})
    assert settings.todo_api["alarms"] == {"thresholds": {"api_p99_latency_ms": 1500}}
    with pytest.raises(ConfigError, match=r"^serverless-blueprints:todoApi\.alarms\.thresholds\.dlqMessages: unknown "
                                          r"threshold; allowed: apiP99LatencyMs, apiServerErrors, daxCpuPercent, lambdaErrors"):
        _parse(todoApi={"alarms": {"thresholds": {"dlqMessages": 2}}})


def test_config_leaves_the_topic_to_main():
    from stack_config import ConfigError
    with pytest.raises(ConfigError, match=r"^serverless-blueprints:outbox\.alarms\.topicArn: set by __main__ \(the "
                                          r"stack's alarm topic"):
        _parse(outbox={"alarms": {"topicArn": "arn:aws:sns:eu-west-1:123456789012:mine"}})


def test_config_can_turn_a_components_alarms_off():
    assert _parse(thumbnails={"alarms": {"enabled": False}}).thumbnails["alarms"] is None
