"""SB-CW-001: every alarm has an action (or an Auto Scaling instance refresh rolls back on it)."""
from policy import UNKNOWN, Resource
from policy.monitoring_rules import AUTOSCALING_GROUP, DEPLOYMENT_GROUP, METRIC_ALARM
from policy.monitoring_rules import TOPIC as TOPIC_TYPE
from policy.monitoring_rules import TOPIC_SUBSCRIPTION as SUBSCRIPTION_TYPE

TOPIC = "arn:aws:sns:eu-west-1:123456789012:alarms-1a2b3c4"


def alarm(name="todo-handler-errors-1a2b3c4", **props):
    base = {"name": name, "namespace": "AWS/Lambda", "metricName": "Errors", "threshold": 1,
            "comparisonOperator": "GreaterThanOrEqualToThreshold", "evaluationPeriods": 1, "period": 300}
    base.update(props)
    return Resource(METRIC_ALARM, {k: v for k, v in base.items() if v is not None}, name=name.rsplit("-", 1)[0])


def group(*alarm_names):
    return Resource(AUTOSCALING_GROUP, {"instanceRefresh": {"strategy": "Rolling", "preferences": {
        "autoRollback": True, "alarmSpecification": {"alarms": list(alarm_names)}}}}, name="checkout-servers")


def test_alarm_that_notifies_a_topic_passes(violations):
    assert violations("SB-CW-001", alarm(alarmActions=[TOPIC], okActions=[TOPIC])) == []


def test_alarm_without_actions_is_reported(violations):
    assert violations("SB-CW-001", alarm()) == ["no alarm action: it changes state and tells no one"]


def test_alarm_with_an_empty_action_list_is_reported(violations):
    assert violations("SB-CW-001", alarm(alarmActions=[])) == ["no alarm action: it changes state and tells no one"]


def test_alarm_whose_topic_is_not_known_until_deployment_passes(violations):
    assert violations("SB-CW-001", alarm(alarmActions=[UNKNOWN])) == []
    assert violations("SB-CW-001", alarm(alarmActions=UNKNOWN)) == []


def test_rollback_alarm_of_an_instance_refresh_passes_without_a_topic(violations):
    rollback = alarm("checkout-target-5xx-1a2b3c4", namespace="AWS/ApplicationELB")
    assert violations("SB-CW-001", rollback, group("checkout-target-5xx-1a2b3c4")) == []


def test_alarm_not_named_by_the_instance_refresh_is_still_reported(violations):
    assert violations("SB-CW-001", alarm(), group("checkout-unhealthy-1a2b3c4")) == [
        "no alarm action: it changes state and tells no one"]


def test_rollback_alarm_of_a_codedeploy_canary_passes_without_a_topic(violations):
    rollback = alarm("todo-handler-canary-errors-1a2b3c4")
    group = Resource(DEPLOYMENT_GROUP, {"alarmConfiguration": {"enabled": True,
                                                               "alarms": ["todo-handler-canary-errors-1a2b3c4"]}},
                     name="todo-handler-canary")
    assert violations("SB-CW-001", rollback, group) == []


# SB-CW-002 someone hears the alarms

def topic():
    return Resource(TOPIC_TYPE, {"name": "alarms-1a2b3c4", "arn": TOPIC}, name="alarms")


def subscription(topic_arn=TOPIC):
    return Resource(SUBSCRIPTION_TYPE, {"topic": topic_arn, "protocol": "email", "endpoint": "oncall@example.com"},
                    name="alarms-email")


def test_alarm_topic_with_a_subscriber_passes(violations):
    assert violations("SB-CW-002", topic(), subscription(), alarm(alarmActions=[TOPIC]), environment="prod") == []


def test_alarm_topic_nobody_subscribes_to_is_reported(violations):
    assert violations("SB-CW-002", topic(), alarm(alarmActions=[TOPIC]), environment="prod") == [
        "alarms notify this topic, and no one subscribes to it"]


def test_a_topic_no_alarm_notifies_is_not_judged(violations):
    assert violations("SB-CW-002", topic(), environment="prod") == []


def test_a_subscription_to_another_topic_does_not_count(violations):
    other = "arn:aws:sns:eu-west-1:123456789012:other-1a2b3c4"
    assert violations("SB-CW-002", topic(), subscription(other), alarm(alarmActions=[TOPIC]),
                      environment="prod") == ["alarms notify this topic, and no one subscribes to it"]
