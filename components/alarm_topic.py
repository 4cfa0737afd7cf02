"""AlarmTopic: the one SNS topic per stack that every alarm notifies, and the people it reaches.

The topic is encrypted with its own customer-managed KMS key: alarms can't publish to a topic
encrypted with the AWS-managed SNS key (its policy can't let cloudwatch.amazonaws.com use it), so
this key's policy lets CloudWatch generate and decrypt data keys, as AWS documents. The topic's
policy refuses publishing without TLS and lets CloudWatch publish only for this account's alarms
(`aws:SourceAccount`, `aws:SourceArn`). People subscribe by email (they confirm the first mail) or
by an HTTPS endpoint (a pager or chat webhook).

With `us_east_1_provider`, a second topic (and key) in us-east-1 takes the alarms on CloudFront's
metrics, which live there: an alarm can only notify a topic in its own region. It has the same
subscribers.
"""
import dataclasses
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import kms_keys, monitoring
from .args import ArgsReader
from .iam import deny_insecure_transport, policy_document
from .secure_queue import SecureQueue

# A pragmatic address check: one @, a dotted domain, no spaces; SNS's confirmation mail does the rest.
_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.-]+(:\d+)?(/\S*)?$")


class AlarmTopicArgs(TypedDict, total=False):
    email: Sequence[str]
    """Addresses that get every alarm (each confirms SNS's first mail)."""
    https: Sequence[str]
    """HTTPS endpoints (pager, chat webhook) that get every alarm; plain HTTP is refused."""
    us_east_1_provider: Optional[aws.Provider]
    """Provider for us-east-1: adds the topic that CloudFront's alarms notify."""


DEFAULTS: dict[str, Any] = {"email": [], "https": [], "us_east_1_provider": None}
"""A topic, no subscribers (the stacks add theirs), no us-east-1 twin."""


@dataclass(frozen=True)
class ResolvedAlarmTopic:
    email: list[str]
    https: list[str]
    us_east_1_provider: Optional[aws.Provider]


def resolve_args(name: str, args: Optional[AlarmTopicArgs]) -> ResolvedAlarmTopic:
    """The caller's args over DEFAULTS, each checked; raises ArgsError naming the arg."""
    r = ArgsReader("AlarmTopic", name, args, AlarmTopicArgs, DEFAULTS)
    return ResolvedAlarmTopic(
        email=r.strings("email", check=_EMAIL.match, expected="a list of email addresses", distinct=True,
                        max_items=50),
        https=r.strings("https", check=_HTTPS_URL.match, expected="a list of https:// URLs", distinct=True,
                        max_items=50),
        us_east_1_provider=r.input("us_east_1_provider"),
    )


@dataclass(frozen=True)
class _RegionalTopic:
    topic: aws.sns.Topic
    key: aws.kms.Key


class AlarmTopic(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    """The topic every alarm in the stack's region notifies."""
    us_east_1_topic_arn: Optional[pulumi.Output[str]]
    """The topic CloudFront's alarms notify (with us_east_1_provider), else None."""
    kms_key_arn: pulumi.Output[str]
    """The key that encrypts the home topic."""

    # Every arg has a default, so `args` may be left out; it is typed without Optional for Pulumi's analyzer.
    def __init__(self, name: str, args: AlarmTopicArgs = None,  # type: ignore[assignment]
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:AlarmTopic", name, None, opts)
        s = resolve_args(name, args)
        home = self._topic(name, s, None)
        self.topic_arn = home.topic.arn
        self.kms_key_arn = home.key.arn
        self.us_east_1_topic_arn = None
        if s.us_east_1_provider is not None:
            self.us_east_1_topic_arn = self._topic(f"{name}-us-east-1", s, s.us_east_1_provider).topic.arn
        self.register_outputs({"topic_arn": self.topic_arn, "us_east_1_topic_arn": self.us_east_1_topic_arn,
                               "kms_key_arn": self.kms_key_arn})

    def _topic(self, name: str, s: ResolvedAlarmTopic, provider: Optional[aws.Provider]) -> _RegionalTopic:
        """Key, topic, policy and subscriptions in one region (the parent's, or the provider's)."""
        opts = pulumi.ResourceOptions(parent=self, provider=provider)
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=provider)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        partition = aws.get_partition_output(opts=invoke).partition
        key = aws.kms.Key(
            f"{name}-key", description="Encrypts the alarm topic; CloudWatch alarms use it to publish",
            enable_key_rotation=True, deletion_window_in_days=30,
            policy=policy_document([
                kms_keys.administration(account),
                *kms_keys.sns_topic_key_statements(account, region),
                # AWS's documented statement for alarms on an encrypted topic: the key serves this topic only,
                # and the topic's policy is what limits publishing to this account's alarms.
                {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow",
                 "Principal": {"Service": "cloudwatch.amazonaws.com"},
                 "Action": sorted(kms_keys.SNS_KEY_ACTIONS), "Resource": "*"},
            ]),
            opts=opts)
        topic = aws.sns.Topic(name, kms_master_key_id=key.arn, opts=opts)
        alarms_of_this_account = pulumi.Output.concat("arn:", partition, ":cloudwatch:", region, ":", account,
                                                      ":alarm:*")
        aws.sns.TopicPolicy(
            f"{name}-policy", arn=topic.arn,
            policy=policy_document([
                deny_insecure_transport([topic.arn], action="sns:Publish"),
                {"Sid": "CloudWatchAlarmsOfThisAccount", "Effect": "Allow",
                 "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
                 "Resource": topic.arn,
                 "Condition": {"StringEquals": {"aws:SourceAccount": account},
                               "ArnLike": {"aws:SourceArn": alarms_of_this_account}}},
            ]),
            opts=opts)
        for address in s.email:
            aws.sns.TopicSubscription(f"{name}-email-{_short(address)}", topic=topic.arn, protocol="email",
                                      endpoint=address, opts=opts)
        if s.https:
            self._https_subscriptions(name, s.https, topic, provider)
        return _RegionalTopic(topic, key)

    def _https_subscriptions(self, name: str, urls: list[str], topic: aws.sns.Topic,
                             provider: Optional[aws.Provider]) -> None:
        """Endpoints SNS retries, then parks what it could not deliver in a queue whose depth alarms the topic
        (its email subscribers hear that the webhook is down)."""
        opts = pulumi.ResourceOptions(parent=self, provider=provider)
        from_topic = {"Sid": "UndeliveredAlarmsFromTopic", "Effect": "Allow",
                      "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                      "Condition": {"ArnEquals": {"aws:SourceArn": topic.arn}}}
        undelivered = SecureQueue(f"{name}-undelivered", {"dead_letter": False, "policy_statements": [from_topic]},
                                  opts=opts)
        for url in urls:
            aws.sns.TopicSubscription(
                f"{name}-https-{_short(url)}", topic=topic.arn, protocol="https", endpoint=url,
                endpoint_auto_confirms=False,
                redrive_policy=pulumi.Output.json_dumps({"deadLetterTargetArn": undelivered.arn}),
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[undelivered])))
        # The alarm sits beside its queue and notifies this topic (in us-east-1 for the us-east-1 topic).
        alarms = monitoring.ResolvedAlarms(topic_arn=topic.arn, us_east_1_topic_arn=topic.arn,
                                           thresholds=monitoring.thresholds(monitoring.QUEUE), dashboard=False)
        depth = monitoring.queue_depth_watch(f"{name}-undelivered", undelivered.queue.name, alarms.thresholds)
        if provider is not None:
            depth = dataclasses.replace(depth, region=monitoring.US_EAST_1)
        monitoring.watch(name, alarms, [depth], parent=self, us_east_1_provider=provider)


def _short(endpoint: str) -> str:
    """A stable name for a subscription: adding or removing another endpoint leaves it alone."""
    return hashlib.sha256(endpoint.encode()).hexdigest()[:8]
