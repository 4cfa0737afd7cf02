"""Alarms and dashboards: one list of watched metrics per component, rendered twice.

A component describes its vital signs as a list of `Watch`es (built here, one builder per kind of
resource: `lambda_watches`, `rest_api_watches`, `table_watches`, `queue_depth_watch`, ...), then
calls `watch()`. That one step turns the list into CloudWatch alarms that notify the stack's alarm
topic (on ALARM and on OK) and into the component's dashboard, whose graphs are drawn from the same
list with each alarm's threshold on them: the alarms and the dashboard can't drift apart.

Thresholds are defaults each component owns (`ALARM_THRESHOLDS`, picked from `THRESHOLDS` here and
overridden where the component knows better); a caller overrides them through the component's
`alarms.thresholds` arg, checked by `read_alarms` (unknown keys are rejected with the allowed ones).

Without `alarms` (no topic), a component creates no alarms and no dashboard: an alarm that notifies
nobody is noise on a bill, and the policy pack refuses alarms without an action (SB-CW-001).
The stacks always pass the topic of their `AlarmTopic`.
"""
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
from .args import ArgsError, ArgsReader

US_EAST_1 = defaults.CERTIFICATE_REGION
"""CloudFront publishes its metrics in us-east-1: alarms on them live there, and so must their topic."""
HOME = "home"
"""A watch in the stack's (the component's provider's) region."""

# treat_missing_data values, and why each is chosen where it is.
NOT_BREACHING = "notBreaching"
BREACHING = "breaching"
MISSING = "missing"

_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class ThresholdSpec:
    default: float
    low: float
    high: float
    meaning: str
    """What the number is, for docs and error messages."""


THRESHOLDS: dict[str, ThresholdSpec] = {
    "lambda_errors": ThresholdSpec(1, 1, 100_000, "invocations that raised or timed out, in 5 minutes"),
    "lambda_throttles": ThresholdSpec(5, 1, 100_000, "throttled invocations, in 5 minutes"),
    "api_server_errors": ThresholdSpec(5, 1, 100_000, "5xx responses of the stage, in 5 minutes"),
    "api_p99_latency_ms": ThresholdSpec(3000, 50, 29_000, "p99 latency of the stage (ms), 3 periods of 5 minutes"),
    "table_throttle_events": ThresholdSpec(1, 1, 100_000, "throttled reads (or writes) of a table, in 5 minutes"),
    "dlq_messages": ThresholdSpec(1, 1, 100_000, "messages waiting in a dead-letter / on-failure queue"),
    "iterator_age_seconds": ThresholdSpec(300, 1, 86_400, "age of the oldest record a stream consumer reads (s)"),
    "cloudfront_error_rate_percent": ThresholdSpec(5, 0.1, 100, "share of 5xx responses of a distribution (%), "
                                                                "3 periods of 5 minutes"),
    "cloudfront_cache_hit_rate_percent": ThresholdSpec(80, 0, 100, "share of requests served from the cache (%), "
                                                                     "below it alarms"),
    "replication_latency_ms": ThresholdSpec(60_000, 1000, 3_600_000, "time a write takes to reach a replica (ms), "
                                                                        "3 periods of 5 minutes"),
    "alb_target_server_errors": ThresholdSpec(5, 0, 100_000, "5xx answers of the targets per minute, above it alarms "
                                                           "(2 of 3 minutes)"),
    "ecs_cpu_percent": ThresholdSpec(80, 1, 100, "CPU of the service's tasks (%), 3 periods of 5 minutes"),
    "ecs_memory_percent": ThresholdSpec(80, 1, 100, "memory of the service's tasks (%), 3 periods of 5 minutes"),
    "rds_cpu_percent": ThresholdSpec(80, 1, 100, "CPU of the database instance (%), 3 periods of 5 minutes"),
    "rds_free_storage_gib": ThresholdSpec(2, 0.1, 65_536, "free storage of the database instance (GiB), below it "
                                                            "alarms"),
    "cache_engine_cpu_percent": ThresholdSpec(80, 1, 100, "CPU of a Redis node's engine thread (%), 3 periods of "
                                                            "5 minutes"),
    "cache_memory_percent": ThresholdSpec(80, 1, 100, "memory a Redis node's data uses (%), 3 periods of 5 minutes"),
    "dax_cpu_percent": ThresholdSpec(80, 1, 100, "CPU of the DAX cluster's busiest node (%), 3 periods of 5 minutes"),
    "kinesis_write_throttles": ThresholdSpec(1, 1, 100_000, "producer writes refused for throughput, in 5 minutes"),
    # AWS reviews an account at about 5 % bounces or 0.1 % complaints: the ranges stop short of that line.
    "ses_bounce_rate_percent": ThresholdSpec(2, 0.1, 4, "share of the configuration set's mail that bounced (%), "
                                                       "above it alarms (AWS reviews accounts at about 5 %)"),
    "ses_complaint_rate_percent": ThresholdSpec(0.05, 0.01, 0.08, "share of the configuration set's mail marked as "
                                                                  "spam (%), above it alarms (AWS reviews accounts "
                                                                  "at about 0.1 %)"),
    "sns_notifications_failed": ThresholdSpec(1, 1, 100_000, "messages SNS gave up delivering to a subscriber of a "
                                                             "topic, in 5 minutes"),
}
"""Every threshold a component may own, with its default and the values a caller may set."""

LAMBDA = ("lambda_errors", "lambda_throttles")
API = ("api_server_errors", "api_p99_latency_ms")
TABLE = ("table_throttle_events",)
GLOBAL_TABLE = ("table_throttle_events", "replication_latency_ms")
QUEUE = ("dlq_messages",)
STREAM_CONSUMER = ("iterator_age_seconds",)
CLOUDFRONT = ("cloudfront_error_rate_percent",)
KINESIS = ("kinesis_write_throttles",)
LOAD_BALANCER = ("alb_target_server_errors",)
ECS_SERVICE = ("ecs_cpu_percent", "ecs_memory_percent")
RDS = ("rds_cpu_percent", "rds_free_storage_gib")
REDIS = ("cache_engine_cpu_percent", "cache_memory_percent")
DAX = ("dax_cpu_percent", "table_throttle_events")
SES = ("ses_bounce_rate_percent", "ses_complaint_rate_percent")
SNS_TOPIC = ("sns_notifications_failed",)


def thresholds(*kinds: Sequence[str], **overrides: float) -> dict[str, float]:
    """A component's ALARM_THRESHOLDS: the defaults of the kinds it watches, with its own overrides."""
    chosen = {key: THRESHOLDS[key].default for kind in kinds for key in kind}
    for key, value in overrides.items():
        if key not in chosen:
            raise KeyError(f"threshold {key!r} is not one of the kinds watched: {', '.join(sorted(chosen))}")
        chosen[key] = value
    return chosen


class AlarmsArgs(TypedDict, total=False):
    """Where a component's alarms go, and its thresholds."""
    topic_arn: pulumi.Input[str]
    """SNS topic every alarm notifies, on ALARM and on OK (the stack's AlarmTopic)."""
    us_east_1_topic_arn: Optional[pulumi.Input[str]]
    """SNS topic in us-east-1 for alarms on CloudFront metrics (an alarm notifies only its own region)."""
    thresholds: dict[str, float]
    """Overrides of the component's default thresholds (its ALARM_THRESHOLDS)."""
    dashboard: bool
    """Create the component's dashboard (default true)."""


@dataclass(frozen=True)
class ResolvedAlarms:
    topic_arn: Any
    us_east_1_topic_arn: Any
    thresholds: Mapping[str, float]
    dashboard: bool

    def actions(self, region: str) -> list:
        return [self.us_east_1_topic_arn if region == US_EAST_1 else self.topic_arn]


def _is_topic_arn(value: str) -> bool:
    return bool(_TOPIC_ARN.match(value))


def read_alarms(r: ArgsReader, component_thresholds: Mapping[str, float], *, us_east_1: bool = False,
                key: str = "alarms") -> Optional[ResolvedAlarms]:
    """The component's `alarms` arg (None: no alarms, no dashboard), over its thresholds.

    `us_east_1`: the component watches CloudFront metrics, so it needs a topic in us-east-1 too.
    """
    a = r.section(key, AlarmsArgs)
    if a is None:
        return None
    topic = a.string("topic_arn", check=_is_topic_arn, expected="an SNS topic ARN (the stack's AlarmTopic)")
    us_east_1_topic = a.get("us_east_1_topic_arn")
    if us_east_1 and us_east_1_topic is None:
        a.fail("us_east_1_topic_arn", "required: CloudFront's metrics, and so their alarms, are in us-east-1, and an "
                                      "alarm can only notify a topic in its own region (AlarmTopic with "
                                      "us_east_1_provider makes one)")
    if us_east_1_topic is not None:
        us_east_1_topic = a.string("us_east_1_topic_arn", expected="an SNS topic ARN in us-east-1",
                                   check=lambda arn: _is_topic_arn(arn) and arn.split(":")[3] == US_EAST_1)
    overrides = a.get("thresholds") or {}
    if not isinstance(overrides, Mapping):
        a.fail("thresholds", f"expected a mapping of threshold names to numbers, got {overrides!r}")
    resolved = dict(component_thresholds)
    for name, value in overrides.items():
        path = (*a.path, "thresholds", str(name))
        if name not in component_thresholds:
            raise ArgsError(a.owner, path, f"unknown threshold; allowed: {', '.join(sorted(component_thresholds))}")
        spec = THRESHOLDS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not spec.low <= value <= spec.high:
            raise ArgsError(a.owner, path, f"expected a number from {spec.low:g} to {spec.high:g} ({spec.meaning}), "
                                           f"got {value!r}")
        resolved[name] = value
    return ResolvedAlarms(topic_arn=topic, us_east_1_topic_arn=us_east_1_topic, thresholds=resolved,
                          dashboard=a.flag("dashboard", default=True))


# --- what is watched ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Watch:
    """One metric of one resource, with when it alarms; a dashboard graph and an alarm are drawn from it."""
    label: str
    """The watched resource's logical name (e.g. todo-handler); the alarm is named `<label>-<slug>`."""
    slug: str
    """What is watched, in the alarm's name: errors, throttles, 5xx, p99-latency, not-empty, ..."""
    title: str
    """The dashboard graph's title."""
    description: str
    """What it means when it fires, and where to look."""
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    threshold: float
    statistic: str
    """Sum, Average, Maximum, ... or a percentile such as p99."""
    treat_missing_data: str
    missing_data_why: str
    """Why missing data is treated so (said in the alarm's description)."""
    comparison: str = "GreaterThanOrEqualToThreshold"
    period: int = 300
    evaluation_periods: int = 1
    datapoints_to_alarm: Optional[int] = None
    """Of evaluation_periods, how many must breach (default: all of them)."""
    region: str = HOME
    """HOME, or US_EAST_1 for CloudFront's metrics."""
    threshold_key: Optional[str] = None
    """The component threshold it comes from (None: an arg of its own, e.g. iterator_age_alarm_seconds)."""
    depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """What must exist before the alarm (e.g. the subscription that makes CloudFront publish a metric)."""

    @property
    def percentile(self) -> bool:
        return bool(re.fullmatch(r"p\d+(\.\d+)?", self.statistic))

    @property
    def name(self) -> str:
        return f"{self.label}-{self.slug}"


def lambda_watches(label: str, function_name: pulumi.Input[str], t: Mapping[str, float]) -> list[Watch]:
    """Errors (raised or timed out) and throttles of a function."""
    dims = {"FunctionName": function_name}
    quiet = "no invocations means no errors; a function that is never called is caught by its trigger's alarms"
    return [
        Watch(label, "errors", f"Errors: {label}", f"{label} raised or timed out: see its log group and X-Ray traces.",
              "AWS/Lambda", "Errors", dims, t["lambda_errors"], "Sum", NOT_BREACHING, quiet,
              threshold_key="lambda_errors"),
        Watch(label, "throttles", f"Throttles: {label}", f"{label} was throttled: its reserved concurrency or the "
              "account's concurrency is exhausted.", "AWS/Lambda", "Throttles", dims, t["lambda_throttles"], "Sum",
              NOT_BREACHING, "no invocations means nothing was throttled", threshold_key="lambda_throttles"),
    ]


def rest_api_watches(label: str, api_name: pulumi.Input[str], stage_name: pulumi.Input[str],
                     t: Mapping[str, float]) -> list[Watch]:
    """5xx responses and p99 latency of a REST API stage."""
    dims = {"ApiName": api_name, "Stage": stage_name}
    quiet = "no requests means no errors and no latency"
    return [
        Watch(label, "5xx", f"5xx responses: {label}", f"{label} answered 5xx: the integration failed or timed out "
              "(see the stage's access log and the function's errors).", "AWS/ApiGateway", "5XXError", dims,
              t["api_server_errors"], "Sum", NOT_BREACHING, quiet, threshold_key="api_server_errors"),
        Watch(label, "p99-latency", f"p99 latency (ms): {label}", f"{label}'s slowest 1% of requests are slow: see "
              "X-Ray for the slow segment.", "AWS/ApiGateway", "Latency", dims, t["api_p99_latency_ms"], "p99",
              NOT_BREACHING, quiet, evaluation_periods=3, datapoints_to_alarm=3, threshold_key="api_p99_latency_ms"),
    ]


def table_watches(label: str, table_name: pulumi.Input[str], t: Mapping[str, float]) -> list[Watch]:
    """Throttled reads and writes of a DynamoDB table (on demand: a hot partition or a sudden burst)."""
    dims = {"TableName": table_name}
    why = "DynamoDB publishes throttle events only when there are some"
    return [Watch(label, f"{kind.lower()}-throttles", f"Throttled {kind.lower()}s: {label}",
                  f"{kind}s of {label} are throttled: a hot partition key or a burst over the table's limits.",
                  "AWS/DynamoDB", f"{kind}ThrottleEvents", dims, t["table_throttle_events"], "Sum", NOT_BREACHING, why,
                  threshold_key="table_throttle_events")
            for kind in ("Read", "Write")]


def replication_latency_watch(label: str, table_name: pulumi.Input[str], replica_region: str,
                              t: Mapping[str, float]) -> Watch:
    """How long writes take to reach one replica of a global table."""
    return Watch(label, f"replication-{replica_region}", f"Replication latency to {replica_region} (ms): {label}",
                 f"Writes to {label} reach {replica_region} late: readers there see stale items.", "AWS/DynamoDB",
                 "ReplicationLatency", {"TableName": table_name, "ReceivingRegion": replica_region},
                 t["replication_latency_ms"], "Average", NOT_BREACHING, "no writes means nothing to replicate",
                 comparison="GreaterThanThreshold", evaluation_periods=3, datapoints_to_alarm=3,
                 threshold_key="replication_latency_ms")


def queue_depth_watch(label: str, queue_name: pulumi.Input[str], t: Mapping[str, float]) -> Watch:
    """Messages waiting in a terminal queue (a DLQ or an on-failure destination): each is work not done."""
    return Watch(label, "not-empty", f"Messages waiting: {label}",
                 f"A message landed in {label} (a dead-letter / on-failure queue): inspect it, fix the cause, redrive.",
                 "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, t["dlq_messages"],
                 "Maximum", NOT_BREACHING, "SQS reports a queue that holds messages; no data means an empty queue",
                 period=60, threshold_key="dlq_messages")


def iterator_age_watch(label: str, function_name: pulumi.Input[str], seconds: float) -> Watch:
    """How far a stream consumer (event source mapping) is behind its stream."""
    return Watch(label, "iterator-age", f"Iterator age (ms): {label}",
                 f"{label} is falling behind its stream: records may expire before they are processed.",
                 "AWS/Lambda", "IteratorAge", {"FunctionName": function_name}, seconds * 1000, "Maximum",
                 NOT_BREACHING, "no batches read means an idle stream, not a late one",
                 comparison="GreaterThanThreshold", period=60)


def cloudfront_watches(label: str, distribution_id: pulumi.Input[str], t: Mapping[str, float],
                       depends_on: Sequence[pulumi.Resource] = ()) -> list[Watch]:
    """The 5xx rate of a distribution (and its cache hit rate when the component owns that threshold,
    which needs the distribution's additional metrics: pass their MonitoringSubscription in depends_on)."""
    dims = {"DistributionId": distribution_id, "Region": "Global"}
    quiet = "no requests means no errors"
    watches = [Watch(label, "5xx-rate", f"5xx rate (%): {label}", f"{label} answers 5xx (502/504: CloudFront "
                     "could not reach the origin).", "AWS/CloudFront", "5xxErrorRate", dims,
                     t["cloudfront_error_rate_percent"], "Average", NOT_BREACHING, quiet,
                     comparison="GreaterThanThreshold", evaluation_periods=3, datapoints_to_alarm=3, region=US_EAST_1,
                     threshold_key="cloudfront_error_rate_percent", depends_on=tuple(depends_on))]
    if "cloudfront_cache_hit_rate_percent" in t:
        watches.append(Watch(label, "cache-hit-rate", f"Cache hit rate (%): {label}", f"{label} misses the cache: "
                             "check Cache-Control and the cache key.", "AWS/CloudFront", "CacheHitRate", dims,
                             t["cloudfront_cache_hit_rate_percent"], "Average", NOT_BREACHING,
                             "no requests means nothing missed the cache", comparison="LessThanThreshold",
                             evaluation_periods=3, datapoints_to_alarm=3, region=US_EAST_1,
                             threshold_key="cloudfront_cache_hit_rate_percent", depends_on=tuple(depends_on)))
    return watches


def firehose_freshness_watch(label: str, delivery_stream_name: pulumi.Input[str], seconds: float) -> Watch:
    """Age of the oldest record Firehose has not yet delivered to S3 (the component derives the threshold from
    its buffering)."""
    return Watch(label, "data-freshness", f"Data freshness (s): {label}", f"{label} is not keeping up: delivered data "
                 "is older than expected (see its error output and the transform's errors).", "AWS/Firehose",
                 "DeliveryToS3.DataFreshness", {"DeliveryStreamName": delivery_stream_name},
                 seconds, "Maximum", NOT_BREACHING,
                 "Firehose reports freshness only while it holds records; none held is fresh",
                 comparison="GreaterThanThreshold", evaluation_periods=3, datapoints_to_alarm=3)


def kinesis_watches(label: str, stream_name: pulumi.Input[str], t: Mapping[str, float],
                    iterator_age_seconds: float) -> list[Watch]:
    """Producer writes a Kinesis stream refused for throughput, and how far its readers are behind."""
    dims = {"StreamName": stream_name}
    return [Watch(label, "write-throttled", f"Throttled writes: {label}", f"Producers of {label} are throttled: "
                  "writes exceed the stream's throughput (add shards, or on-demand).", "AWS/Kinesis",
                  "WriteProvisionedThroughputExceeded", dims, t["kinesis_write_throttles"],
                  "Sum", NOT_BREACHING, "no writes means none were refused", evaluation_periods=3,
                  threshold_key="kinesis_write_throttles"),
            Watch(label, "iterator-age", f"Iterator age (ms): {label}", f"Readers of {label} are falling behind: "
                  "records may expire from the stream before they are read.", "AWS/Kinesis",
                  "GetRecords.IteratorAgeMilliseconds", dims, iterator_age_seconds * 1000, "Maximum", NOT_BREACHING,
                  "no reads means no age to report; an idle stream is not a late one",
                  comparison="GreaterThanThreshold", evaluation_periods=3)]


def load_balancer_watches(label: str, load_balancer: pulumi.Input[str], target_group: pulumi.Input[str],
                          t: Mapping[str, float]) -> list[Watch]:
    """The targets' 5xx answers and unhealthy targets behind an ALB (arn suffixes), minute by minute."""
    dims = {"LoadBalancer": load_balancer, "TargetGroup": target_group}
    quiet = "no requests (or no health checks reported) means nothing failed"
    return [
        Watch(label, "target-5xx", f"Target 5xx per minute: {label}", f"{label}'s targets answer 5xx: see the "
              "application's logs.", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", dims,
              t["alb_target_server_errors"], "Sum", NOT_BREACHING, quiet, comparison="GreaterThanThreshold", period=60,
              evaluation_periods=3, datapoints_to_alarm=2, threshold_key="alb_target_server_errors"),
        Watch(label, "unhealthy", f"Unhealthy targets: {label}", f"{label}'s targets fail their health checks.",
              "AWS/ApplicationELB", "UnHealthyHostCount", dims, 0, "Maximum", NOT_BREACHING, quiet,
              comparison="GreaterThanThreshold", period=60, evaluation_periods=3, datapoints_to_alarm=2),
    ]


def autoscaling_group_watch(label: str, group_name: pulumi.Input[str], min_instances: int) -> Watch:
    """Fewer instances in service than the group's minimum (needs the group's GroupInServiceInstances metric on)."""
    return Watch(label, "below-min", f"Instances in service: {label}", f"{label} runs fewer than its minimum of "
                 f"{min_instances} instance(s): launches fail (capacity, the launch template, user data) or instances "
                 "are replaced faster than they start.", "AWS/AutoScaling", "GroupInServiceInstances",
                 {"AutoScalingGroupName": group_name}, min_instances, "Minimum", BREACHING,
                 "the group reports every minute while its metrics are on: silence means it is gone",
                 comparison="LessThanThreshold", period=60, evaluation_periods=5)


def ses_reputation_watches(label: str, configuration_set_name: pulumi.Input[str],
                           t: Mapping[str, float]) -> list[Watch]:
    """Bounce and complaint rates of the mail one configuration set sends (its reputation metrics must be on:
    SES then publishes both with the `ses:configuration-set` dimension; CloudWatch has them as fractions)."""
    dims = {"ses:configuration-set": configuration_set_name}
    quiet = "SES publishes the rates only for mail sent through the set; no mail means no bounces or complaints"
    return [
        Watch(label, "bounce-rate", f"Bounce rate: {label}", f"Mail sent by {label} bounces: remove the addresses "
              "(the suppression list keeps them out) and check how addresses are collected, before AWS reviews the "
              "account (about 5 %) and pauses sending.", "AWS/SES", "Reputation.BounceRate", dims,
              t["ses_bounce_rate_percent"] / 100, "Average", NOT_BREACHING, quiet, comparison="GreaterThanThreshold",
              period=3600, threshold_key="ses_bounce_rate_percent"),
        Watch(label, "complaint-rate", f"Complaint rate: {label}", f"Recipients of {label}'s mail mark it as spam: "
              "check who is mailed and why, before AWS reviews the account (about 0.1 %) and pauses sending.",
              "AWS/SES", "Reputation.ComplaintRate", dims, t["ses_complaint_rate_percent"] / 100, "Average",
              NOT_BREACHING, quiet, comparison="GreaterThanThreshold", period=3600,
              threshold_key="ses_complaint_rate_percent"),
    ]


def topic_delivery_watch(label: str, topic_name: pulumi.Input[str], t: Mapping[str, float]) -> Watch:
    """Messages SNS gave up delivering to a topic's subscribers, after its retries (a redrive queue, when a
    subscription has one, gets them: this alarm also hears subscriptions without one)."""
    return Watch(label, "delivery-failed", f"Failed deliveries: {label}", f"SNS could not deliver {label}'s "
                 "messages to a subscriber: check each subscription's endpoint (a queue's policy and key, a "
                 "function's permission) and its redrive queue.", "AWS/SNS", "NumberOfNotificationsFailed",
                 {"TopicName": topic_name}, t["sns_notifications_failed"], "Sum", NOT_BREACHING,
                 "SNS reports deliveries only when messages are published; none published means none failed",
                 threshold_key="sns_notifications_failed")


def ecs_service_watches(label: str, cluster_name: pulumi.Input[str], service_name: pulumi.Input[str],
                        t: Mapping[str, float]) -> list[Watch]:
    """CPU and memory of an ECS service's tasks, and whether any task runs at all (Container Insights)."""
    dims = {"ClusterName": cluster_name, "ServiceName": service_name}
    busy = "no data means no task reports, which the running-tasks alarm catches"
    return [
        Watch(label, "cpu", f"CPU (%): {label}", f"{label}'s tasks are CPU-bound: scaling is at its maximum or too "
              "slow.", "AWS/ECS", "CPUUtilization", dims, t["ecs_cpu_percent"], "Average", NOT_BREACHING, busy,
              evaluation_periods=3, threshold_key="ecs_cpu_percent"),
        Watch(label, "memory", f"Memory (%): {label}", f"{label}'s tasks run out of memory.", "AWS/ECS",
              "MemoryUtilization", dims, t["ecs_memory_percent"], "Average", NOT_BREACHING, busy,
              evaluation_periods=3, threshold_key="ecs_memory_percent"),
        Watch(label, "no-tasks", f"Running tasks: {label}", f"{label} runs no task: deployments or the image fail.",
              "ECS/ContainerInsights", "RunningTaskCount", dims, 1, "Minimum", BREACHING,
              "Container Insights reports every minute while the service exists: silence means nothing runs",
              comparison="LessThanThreshold", period=60, evaluation_periods=3),
    ]


def rds_watches(label: str, instance_id: pulumi.Input[str], t: Mapping[str, float]) -> list[Watch]:
    """CPU and free storage of an RDS instance."""
    dims = {"DBInstanceIdentifier": instance_id}
    down = "RDS reports every minute while the instance runs: silence means it is down"
    return [
        Watch(label, "cpu", f"CPU (%): {label}", f"{label} is CPU-bound: look at its slow queries (Performance "
              "Insights).", "AWS/RDS", "CPUUtilization", dims, t["rds_cpu_percent"], "Average", BREACHING, down,
              evaluation_periods=3, threshold_key="rds_cpu_percent"),
        Watch(label, "free-storage", f"Free storage (bytes): {label}", f"{label} is running out of storage.",
              "AWS/RDS", "FreeStorageSpace", dims, t["rds_free_storage_gib"] * 2**30, "Minimum", BREACHING, down,
              comparison="LessThanThreshold", threshold_key="rds_free_storage_gib"),
    ]


def dax_watches(label: str, cluster_name: pulumi.Input[str], t: Mapping[str, float]) -> list[Watch]:
    """CPU of a DAX cluster's nodes, and the requests it throttles (its own, or DynamoDB's passed through)."""
    dims = {"ClusterId": cluster_name}
    return [
        Watch(label, "cpu", f"CPU (%): {label}", f"{label} is CPU-bound: add nodes or a larger node type.", "AWS/DAX",
              "CPUUtilization", dims, t["dax_cpu_percent"], "Maximum", BREACHING,
              "DAX reports every minute while the cluster runs: silence means it is down", evaluation_periods=3,
              threshold_key="dax_cpu_percent"),
        Watch(label, "throttled", f"Throttled requests: {label}", f"{label} throttles requests: the cluster or the "
              "table behind it is over its limits.", "AWS/DAX", "ThrottledRequestCount", dims,
              t["table_throttle_events"], "Sum", NOT_BREACHING, "no requests means none were throttled",
              threshold_key="table_throttle_events"),
    ]


def redis_watches(label: str, node_ids: Sequence[pulumi.Input[str]], t: Mapping[str, float]) -> list[Watch]:
    """Engine CPU and memory of each node of an ElastiCache (Redis/Valkey) replication group."""
    watches = []
    down = "ElastiCache reports every minute while a node runs: silence means it is gone"
    for index, node in enumerate(node_ids):
        dims = {"CacheClusterId": node}
        watches += [
            Watch(label, f"node-{index + 1}-engine-cpu", f"Engine CPU (%): {label} node {index + 1}",
                  f"{label}'s engine thread is saturated: hot keys or slow commands.", "AWS/ElastiCache",
                  "EngineCPUUtilization", dims, t["cache_engine_cpu_percent"], "Average", BREACHING, down,
                  evaluation_periods=3, threshold_key="cache_engine_cpu_percent"),
            Watch(label, f"node-{index + 1}-memory", f"Memory used (%): {label} node {index + 1}",
                  f"{label} is filling up: keys are evicted (or writes refused).", "AWS/ElastiCache",
                  "DatabaseMemoryUsagePercentage", dims, t["cache_memory_percent"], "Maximum", BREACHING, down,
                  evaluation_periods=3, threshold_key="cache_memory_percent")]
    return watches


@dataclass(frozen=True)
class Graph:
    """A dashboard graph with no alarm: a metric to read, not to be woken by (e.g. a stage's request count)."""
    title: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str = "Sum"
    period: int = 3600


def rest_api_traffic(label: str, api_name: pulumi.Input[str], stage_name: pulumi.Input[str]) -> Graph:
    """Requests per hour of a REST API stage: an old version's stage is retired once this stays at zero."""
    return Graph(f"Requests per hour: {label}", "AWS/ApiGateway", "Count", {"ApiName": api_name, "Stage": stage_name})


# --- watches -> alarms and a dashboard -----------------------------------------------------------------

@dataclass(frozen=True)
class Monitoring:
    alarms: list[aws.cloudwatch.MetricAlarm]
    """One alarm per watch, in the watches' order."""
    dashboard: Optional[aws.cloudwatch.Dashboard]
    dashboard_name: Optional[pulumi.Output[str]]


_SYMBOL = {"GreaterThanOrEqualToThreshold": ">=", "GreaterThanThreshold": ">", "LessThanThreshold": "<",
           "LessThanOrEqualToThreshold": "<="}


def dashboard_name(name: str) -> str:
    """`<project>-<stack>-<component>`: dashboards are per account, so the stack is in the name."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}")[:255]


def watch(name: str, alarms: Optional[ResolvedAlarms], watches: Sequence[Watch], parent: pulumi.Resource,
          us_east_1_provider: Optional[pulumi.ProviderResource] = None,
          created: Sequence[Watch] = (), graphs: Sequence[Graph] = ()) -> Optional[Monitoring]:
    """One alarm per watch (notifying the topic on ALARM and OK) and one dashboard drawn from the same list.

    `created`: watches whose alarms the component made itself with `alarm()` (they act without a topic, e.g.
    an instance refresh rolls back on them); they are drawn first on the dashboard.
    `graphs`: metrics drawn after the alarms' graphs, with no alarm (e.g. each API stage's request count).
    None when the component was given no `alarms` (no topic): nothing is created.
    """
    if alarms is None:
        return None
    names = [w.name for w in [*created, *watches]]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"{name}: two watches would make the alarm {duplicates[0]!r}")
    if any(w.region == US_EAST_1 for w in watches) and (us_east_1_provider is None or
                                                        alarms.us_east_1_topic_arn is None):
        raise ValueError(f"{name}: CloudFront alarms need the us-east-1 provider and alarms.us_east_1_topic_arn")
    made = [alarm(w, alarms, parent, us_east_1_provider) for w in watches]
    if not alarms.dashboard:
        return Monitoring(made, None, None)
    region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=parent)).region
    dashboard = aws.cloudwatch.Dashboard(
        f"{name}-dashboard", dashboard_name=dashboard_name(name),
        dashboard_body=pulumi.Output.json_dumps(dashboard_body(name, [*created, *watches], region, graphs)),
        opts=pulumi.ResourceOptions(parent=parent))
    return Monitoring(made, dashboard, dashboard.dashboard_name)


def alarm(w: Watch, alarms: Optional[ResolvedAlarms], parent: pulumi.Resource,
          us_east_1_provider: Optional[pulumi.ProviderResource] = None) -> aws.cloudwatch.MetricAlarm:
    """The alarm of one watch, notifying the topic on ALARM and OK; without `alarms`, an alarm with no action,
    for alarms something else acts on (an instance refresh's rollback): pass it to watch() as `created`."""
    actions = alarms.actions(w.region) if alarms is not None else []
    return aws.cloudwatch.MetricAlarm(
        w.name, alarm_description=f"{w.description} Missing data is {w.treat_missing_data}: {w.missing_data_why}.",
        namespace=w.namespace, metric_name=w.metric, dimensions=dict(w.dimensions), period=w.period,
        evaluation_periods=w.evaluation_periods,
        datapoints_to_alarm=w.datapoints_to_alarm or w.evaluation_periods, threshold=w.threshold,
        comparison_operator=w.comparison, treat_missing_data=w.treat_missing_data,
        alarm_actions=actions, ok_actions=actions,
        statistic=None if w.percentile else w.statistic, extended_statistic=w.statistic if w.percentile else None,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(w.depends_on),
                                    provider=us_east_1_provider if w.region == US_EAST_1 else None))


def dashboard_body(name: str, watches: Sequence[Watch], home_region: pulumi.Input[str],
                   graphs: Sequence[Graph] = ()) -> dict:
    """A title, then one graph per watch (three a row), each with its alarm's threshold drawn on it, then the
    graphs without an alarm."""
    widgets: list[dict] = [{"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {
        "markdown": f"# {name}\nEach graph is one alarm's metric; the line is where it alarms."}}]
    for index, w in enumerate(watches):
        metric: list = [w.namespace, w.metric]
        for key, value in w.dimensions.items():
            metric += [key, value]
        widgets.append({"type": "metric", "x": (index % 3) * 8, "y": 2 + (index // 3) * 6, "width": 8, "height": 6,
                        "properties": {
                            "title": w.title, "view": "timeSeries", "stat": w.statistic, "period": w.period,
                            "region": US_EAST_1 if w.region == US_EAST_1 else home_region, "metrics": [metric],
                            "annotations": {"horizontal": [{"label": f"alarm {_SYMBOL[w.comparison]} {w.threshold:g}",
                                                            "value": w.threshold}]}}})
    for index, g in enumerate(graphs, start=len(watches)):
        metric = [g.namespace, g.metric]
        for key, value in g.dimensions.items():
            metric += [key, value]
        widgets.append({"type": "metric", "x": (index % 3) * 8, "y": 2 + (index // 3) * 6, "width": 8, "height": 6,
                        "properties": {"title": g.title, "view": "timeSeries", "stat": g.statistic,
                                       "period": g.period, "region": home_region, "metrics": [metric]}})
    return {"widgets": widgets}


def stack_dashboard(name: str, dashboards: Mapping[str, pulumi.Input[str]], region: pulumi.Input[str],
                    opts: Optional[pulumi.ResourceOptions] = None) -> aws.cloudwatch.Dashboard:
    """The stack's dashboard: a link to each component's dashboard."""
    def links(resolved: dict) -> str:
        rows = [f"- [{component}](https://console.aws.amazon.com/cloudwatch/home?region={resolved['region']}"
                f"#dashboards/dashboard/{board})" for component, board in resolved["boards"].items()]
        return "# Components\nEach component's alarms and the metrics behind them:\n" + "\n".join(rows)

    boards = pulumi.Output.all(**dashboards) if dashboards else pulumi.Output.from_input({})
    markdown = pulumi.Output.all(region=region, boards=boards).apply(links)
    return aws.cloudwatch.Dashboard(
        name, dashboard_name=dashboard_name(name),
        dashboard_body=pulumi.Output.json_dumps({"widgets": [
            {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2 + len(dashboards),
             "properties": {"markdown": markdown}}]}),
        opts=opts)


def alarms_markdown(component_thresholds: Mapping[str, float]) -> str:
    """The generated body of a component doc's "Alarms and dashboard" section: what it alarms on, by default."""
    rows = "\n".join(f"| `{key}` (`{_camel(key)}`) | {value:g} | {THRESHOLDS[key].meaning} |"
                     for key, value in sorted(component_thresholds.items()))
    return ("With `alarms: {topic_arn: ...}` (the stacks pass their AlarmTopic's, see alarm-topic.md), each alarm "
            "notifies the topic on ALARM and on OK, and the component's dashboard (`<project>-<stack>-<name>`, linked "
            "from the stack's) graphs each alarm's metric with its threshold: both are drawn from one list "
            "(`monitoring.watch`). Without `alarms`, there are none. Each alarm's description says how it treats "
            "missing data, and why. Override a default with `alarms.thresholds.<key>` (YAML: the camelCase key):\n\n"
            "| Threshold | Default | Meaning |\n|---|---|---|\n" + rows + "\n")


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
