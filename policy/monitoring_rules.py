"""CloudWatch alarms: each one reaches someone, or something acts on it."""
from __future__ import annotations

from .model import as_list, attribute, get, is_known, is_unknown
from .registry import MANDATORY_IN_PROD, stack_rule
from .stack import Stack

# pulumi-aws v7 type tokens (checked against the SDK like policy/tokens.py).
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
AUTOSCALING_GROUP = "aws:autoscaling/group:Group"
DEPLOYMENT_GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
TOPIC = "aws:sns/topic:Topic"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"


def rollback_alarm_names(stack: Stack) -> set:
    """Names of the alarms a rollout rolls back on (they act without notifying): an Auto Scaling instance
    refresh's, and a CodeDeploy deployment group's (a Lambda canary)."""
    names = set()
    for group in stack.of_type(AUTOSCALING_GROUP):
        specification = get(group.props, "instanceRefresh", "preferences", "alarmSpecification", "alarms")
        names |= {name for name in as_list(specification) if is_known(name)}
    for group in stack.of_type(DEPLOYMENT_GROUP):
        if get(group.props, "alarmConfiguration", "enabled") is not False:
            names |= {name for name in as_list(get(group.props, "alarmConfiguration", "alarms")) if is_known(name)}
    return names


@stack_rule(
    "SB-CW-001",
    description="Every CloudWatch alarm has an action: it notifies a topic (or a rollout rolls back on it: an "
                "instance refresh, a CodeDeploy canary).",
    remediation="Give the component `alarms: {topic_arn: <AlarmTopic.topic_arn>}`, or set alarm_actions (and "
                "ok_actions) to an SNS topic; an alarm that changes state unseen is a cost, not monitoring.",
)
def alarm_has_an_action(stack: Stack):
    rollback = rollback_alarm_names(stack)
    for alarm in stack.of_type(METRIC_ALARM):
        actions = get(alarm.props, "alarmActions")
        if is_unknown(actions) or any(is_unknown(a) or a for a in as_list(actions)):
            continue
        name = attribute(alarm, "name")
        if is_known(name) and name in rollback:
            continue
        yield alarm, "no alarm action: it changes state and tells no one"


@stack_rule(
    "SB-CW-002",
    description="A topic that alarms notify has a subscriber (mandatory in prod): alarms must reach a person.",
    remediation="Subscribe someone: serverless-blueprints:alarms.email (or https) in the stack config, AlarmTopic's "
                "email/https args, or an aws.sns.TopicSubscription.",
    level=MANDATORY_IN_PROD,
)
def alarm_topic_has_a_subscriber(stack: Stack):
    topics = stack.of_type(TOPIC)
    notified = {}
    for alarm in stack.of_type(METRIC_ALARM):
        for arn in as_list(get(alarm.props, "alarmActions")):
            for topic in stack.resolve(alarm, "alarmActions", arn, topics) or ():
                notified[topic.urn] = topic
    for topic in notified.values():
        subscriptions, undetermined = stack.referrers(topic, TOPIC_SUBSCRIPTION, "topic")
        if not subscriptions and not undetermined:
            yield topic, "alarms notify this topic, and no one subscribes to it"
