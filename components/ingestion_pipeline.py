"""IngestionPipeline: device events in real time, Parquet by source and hour, SQL and hourly reports.

    devices ──PutRecords──▶ Kinesis data stream (on-demand or provisioned, KMS)
                                 │ alarms: iterator age, write throughput exceeded
                                 ▼
                 Firehose delivery stream ──invoke (buffered)──▶ Lambda ingest_transform
                 (Kinesis source; dynamic              validate, de-duplicate, UTC, and return
                  partitioning; Parquet with           metadata.partitionKeys {source, hour}
                  the Glue table's schema)             of the EVENT time (late events → their hour)
                                 │ alarms: data freshness, transform failures
                                 ▼
    S3 ingestion bucket  data/source=<source>/hour=<YYYY-MM-DD-HH>/*.parquet
                         errors/<error-output-type>/<yyyy/MM/dd/HH>/    (records the transform failed)
          │ ObjectCreated (data/, .parquet)                    ▲ partition projection: the same
          ▼                                                    │ template, no crawler, no cron
    SQS queue (SSE, TLS-only, only this bucket) ──▶ DLQ        │
          │                                          Glue database + table ◀── Athena workgroup
          ▼                                                    (enforced config, SSE-KMS results,
    Lambda ingest_reports ◀── EventBridge Scheduler             scan cutoff, CloudWatch metrics,
      (daily: rebuild the previous day)                         named queries)
          │ Athena UNLOAD per changed hour (idempotent: replaces the hour's report)
          ▼
    S3 reporting bucket  hourly/hour=<YYYY-MM-DD-HH>/part-*.parquet   (QuickSight, Redshift Spectrum)

The Firehose prefix and the projection's `storage.location.template` are both rendered from
`partition_path()`, so where Firehose writes and where Athena looks cannot drift apart.
"""
import re
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, kms_keys, monitoring
from .args import ArgsReader
from .iam import PolicyStatement, allow, policy_document, service_trust_policy
from .lambda_function import FunctionSizing, LambdaFunction, read_sizing
from .secure_bucket import SecureBucket, SecureBucketArgs
from .secure_queue import MAX_RECEIVE_COUNT_LIMIT, SecureQueue, SecureQueueArgs

# The Glue table: its columns are what the transform writes (functions/ingest_transform/schema.py).
TABLE_COLUMNS = (("event_id", "string"), ("device_id", "string"), ("event_time", "timestamp"),
                 ("value", "double"), ("ingested_at", "timestamp"))
PARTITION_KEYS = ("source", "hour")
HOUR_PROJECTION_FORMAT = "yyyy-MM-dd-HH"  # the transform's "%Y-%m-%d-%H"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
METRIC_NAMESPACE = "ServerlessBlueprints/Ingestion"  # the transform's EMF namespace
ATHENA_ENGINE = "Athena engine version 3"
REPORT_PREFIX = "hourly/"
STAGING_PREFIX = "_staging/"
# The key's users: producers and Firehose through Kinesis; Firehose, the report function and Athena (on the
# caller's behalf) through S3. Glue's catalog and the functions' logs don't use it.
KEY_SERVICES = ("kinesis", "s3")
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")

# Defaults: what you get without asking.
DEFAULT_SOURCES = ("sensor", "gateway", "mobile")
DEFAULT_BUFFER_SIZE_MB = 128
DEFAULT_BUFFER_INTERVAL_SECONDS = 300
DEFAULT_TRANSFORM_BUFFER_SIZE_MB = 1
DEFAULT_TRANSFORM_BUFFER_INTERVAL_SECONDS = 60
DEFAULT_TRANSFORM_RETRIES = 3
DEFAULT_CUTOFF_BYTES = 10 * 2**30
DEFAULT_SCHEDULE = "cron(30 1 * * ? *)"  # 01:30 UTC: yesterday's late events have mostly arrived

# Limits of the knobs (AWS's).
SHARD_COUNT_RANGE = (1, 500)
STREAM_RETENTION_HOURS_RANGE = (24, 8760)
DYNAMIC_PARTITIONING_MIN_BUFFER_MB = 64  # Firehose refuses less with dynamic partitioning on
BUFFER_SIZE_MB_RANGE = (DYNAMIC_PARTITIONING_MIN_BUFFER_MB, 128)
BUFFER_INTERVAL_RANGE = (0, 900)
TRANSFORM_BUFFER_SIZE_MB_RANGE = (1, 3)
TRANSFORM_BUFFER_INTERVAL_RANGE = (60, 900)
TRANSFORM_RETRIES_RANGE = (0, 300)
ATHENA_MIN_CUTOFF_BYTES = 10 * 2**20
ATHENA_MAX_CUTOFF_BYTES = 2**63 - 1
FIREHOSE_RETRY_SECONDS = 300
MAX_SOURCES = 100

_SOURCE = re.compile(r"^[a-z0-9_\-]{1,64}$")
_PREFIX = re.compile(r"^[a-z0-9_\-]+(/[a-z0-9_\-]+)*/$")
_HOUR = re.compile(r"^\d{4}-\d{2}-\d{2}-\d{2}$")
_GLUE_NAME = re.compile(r"^[a-z0-9_]{1,255}$")
_SCHEDULE = re.compile(r"^(cron|rate)\(.+\)$")


def _matches(pattern: "re.Pattern[str]") -> Callable[[str], bool]:
    return lambda value: pattern.match(value) is not None


# --- the one place the data layout is written down ---------------------------------------------
def partition_path(data_prefix: str) -> str:
    """The data key layout with `{key}` placeholders: 'data/source={source}/hour={hour}/'."""
    return data_prefix + "".join(f"{key}={{{key}}}/" for key in PARTITION_KEYS)


def firehose_prefix(data_prefix: str) -> str:
    """Firehose's S3 prefix: each placeholder filled from the transform's metadata.partitionKeys."""
    return partition_path(data_prefix).format(**{k: f"!{{partitionKeyFromLambda:{k}}}" for k in PARTITION_KEYS})


def projection_location_template(bucket: str, data_prefix: str) -> str:
    """Athena partition projection's storage.location.template for the same layout."""
    return f"s3://{bucket}/" + partition_path(data_prefix).format(**{k: f"${{{k}}}" for k in PARTITION_KEYS})


def error_output_prefix(error_prefix: str) -> str:
    """Where Firehose puts records it could not process or convert, by failure type and arrival hour."""
    return f"{error_prefix}!{{firehose:error-output-type}}/!{{timestamp:yyyy/MM/dd/HH}}/"


def projection_parameters(bucket: str, data_prefix: str, sources: Sequence[str], start_hour: str) -> dict:
    """The Glue table parameters for partition projection over `partition_path(data_prefix)`."""
    return {
        "classification": "parquet",
        "projection.enabled": "true",
        "projection.source.type": "enum",
        "projection.source.values": ",".join(sources),
        "projection.hour.type": "date",
        "projection.hour.format": HOUR_PROJECTION_FORMAT,
        "projection.hour.range": f"{start_hour},NOW",
        "projection.hour.interval": "1",
        "projection.hour.interval.unit": "HOURS",
        "storage.location.template": projection_location_template(bucket, data_prefix),
    }


# --- Athena named queries (Trino SQL; tests/ingestion runs them on DuckDB through sqlglot) -------
def named_queries(database: str, table: str) -> dict[str, tuple[str, str]]:
    """{name: (description, SQL)} of the saved queries in the workgroup."""
    source = f'"{database}"."{table}"'
    last_day = "hour >= date_format(current_timestamp - INTERVAL '1' DAY, '%Y-%m-%d-%H')"
    return {
        "hourly-counts-by-source": ("Events per source and event hour, last 24 hours", f"""SELECT source, hour, count(*) AS events
FROM {source}
WHERE {last_day}
GROUP BY source, hour
ORDER BY hour, source"""),
        "value-percentiles": ("p50, p95 and max of value per source, last 24 hours", f"""SELECT source,
       approx_percentile(value, 0.5) AS p50_value,
       approx_percentile(value, 0.95) AS p95_value,
       max(value) AS max_value
FROM {source}
WHERE {last_day}
GROUP BY source
ORDER BY source"""),
        "device-last-seen": ("Last event time per device, last 24 hours", f"""SELECT device_id, max(event_time) AS last_seen
FROM {source}
WHERE {last_day}
GROUP BY device_id
ORDER BY last_seen DESC"""),
    }


class IngestionPipelineArgs(TypedDict, total=False):
    sources: Sequence[str]
    """Event sources accepted (lower-case [a-z0-9_-]); others are failed by the transform. They are the projection's values."""
    stream_mode: str
    """ON_DEMAND (default) or PROVISIONED."""
    shard_count: int
    """Shards when PROVISIONED, 1..500."""
    stream_retention_hours: int
    """Hours the stream keeps records, 24..8760."""
    kms_key_arn: Optional[pulumi.Input[str]]
    """Customer managed key for the stream, the buckets and Athena results; None creates one (rotated yearly)."""
    buffer_size_mb: int
    """Firehose buffer before a Parquet file is written, 64..128 MB (dynamic partitioning needs 64)."""
    buffer_interval_seconds: int
    """Longest Firehose waits before writing, 0..900 s."""
    transform_buffer_size_mb: int
    """Data per transform invocation, 1..3 MB."""
    transform_buffer_interval_seconds: int
    """Longest Firehose waits before invoking the transform, 60..900 s."""
    transform_retries: int
    """Firehose retries of a failed transform invocation, 0..300."""
    transform: FunctionSizing
    """Memory and timeout of the transform (default 512 MB, 120 s)."""
    max_record_bytes: int
    """Larger records fail the transform, 256..1000000 bytes."""
    max_event_age_hours: int
    """Older events fail the transform, 1..8760 hours."""
    max_clock_skew_seconds: int
    """Events further in the future fail the transform, 1..86400 s."""
    data_prefix: str
    """Key prefix of the delivered Parquet files (lower-case path segments ending in '/')."""
    error_prefix: str
    """Key prefix of the records Firehose could not process (must not overlap data_prefix)."""
    projection_start_hour: str
    """First hour Athena projects, 'YYYY-MM-DD-HH'."""
    database_name: Optional[str]
    """Glue database name ([a-z0-9_]); default derived from the component and stack names."""
    table_name: str
    """Glue table name ([a-z0-9_])."""
    bytes_scanned_cutoff_per_query: int
    """Athena cancels a query in the workgroup scanning more than this many bytes (at least 10 MB)."""
    athena_results_expiration_days: int
    """Days query results are kept in the results bucket."""
    reports: FunctionSizing
    """Memory and timeout of the report function (default 256 MB, 300 s)."""
    report_batch_size: int
    """S3 notifications per report invocation, 1..100."""
    report_batching_window_seconds: int
    """Seconds to gather notifications before refreshing reports, 0..300."""
    report_max_concurrency: int
    """Most concurrent report invocations, 2..100."""
    max_receive_count: int
    """Receives of a notification before it goes to the DLQ, 5..1000."""
    report_schedule: str
    """EventBridge Scheduler expression of the daily rebuild of the previous day (UTC)."""
    architecture: str
    """arm64 (default) or x86_64, for both functions."""
    log_retention_days: int
    """Retention of the functions' and Firehose's log groups."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS) of every alarm (stream, delivery, transform,
    reports, DLQ); without it, no alarms and no dashboard."""
    iterator_age_alarm_seconds: int
    """Alarm when the oldest unread stream record is older than this, 60..86400 s."""
    failed_records_alarm_threshold: int
    """Alarm when more records than this fail the transform in 5 minutes."""
    deletion_protection: bool
    """Keep non-empty buckets and the workgroup's queries on `pulumi destroy`."""
    access_log_bucket: Optional[pulumi.Input[str]]
    """Existing bucket receiving the buckets' S3 server access logs (none by default)."""


DEFAULTS: dict[str, Any] = {
    "sources": list(DEFAULT_SOURCES),
    "stream_mode": "ON_DEMAND",
    "stream_retention_hours": 24,
    "buffer_size_mb": DEFAULT_BUFFER_SIZE_MB,
    "buffer_interval_seconds": DEFAULT_BUFFER_INTERVAL_SECONDS,
    "transform_buffer_size_mb": DEFAULT_TRANSFORM_BUFFER_SIZE_MB,
    "transform_buffer_interval_seconds": DEFAULT_TRANSFORM_BUFFER_INTERVAL_SECONDS,
    "transform_retries": DEFAULT_TRANSFORM_RETRIES,
    "max_record_bytes": 16 * 1024,
    "max_event_age_hours": 7 * 24,
    "max_clock_skew_seconds": 300,
    "data_prefix": "data/",
    "error_prefix": "errors/",
    "projection_start_hour": "2024-01-01-00",
    "table_name": "events",
    "bytes_scanned_cutoff_per_query": DEFAULT_CUTOFF_BYTES,
    "athena_results_expiration_days": 30,
    "report_batch_size": 100,
    "report_batching_window_seconds": 60,
    "report_max_concurrency": 2,
    "max_receive_count": defaults.SQS_MAX_RECEIVE_COUNT,
    "report_schedule": DEFAULT_SCHEDULE,
    "architecture": defaults.LAMBDA_ARCHITECTURE,
    "log_retention_days": 30,
    "alarms": None,
    "iterator_age_alarm_seconds": 900,
    "failed_records_alarm_threshold": 10,
    "deletion_protection": False,
}
"""What you get without asking: on-demand KMS stream, 128 MB / 300 s Parquet files, 10 GiB scan cutoff."""

ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.QUEUE, monitoring.KINESIS)
"""The transform's and the report function's errors and throttles, the DLQ's first message, throttled producer
writes; the stream's iterator age, Firehose's freshness (from the buffering) and failed records have args or
derived values of their own."""


@dataclass(frozen=True)
class ResolvedIngestionPipeline:
    sources: list[str]
    stream_mode: str
    shard_count: Optional[int]
    stream_retention_hours: int
    kms_key_arn: Any
    buffer_size_mb: int
    buffer_interval_seconds: int
    transform_buffer_size_mb: int
    transform_buffer_interval_seconds: int
    transform_retries: int
    transform_memory_mb: int
    transform_timeout_seconds: int
    max_record_bytes: int
    max_event_age_hours: int
    max_clock_skew_seconds: int
    data_prefix: str
    error_prefix: str
    projection_start_hour: str
    database_name: str
    table_name: str
    bytes_scanned_cutoff_per_query: int
    athena_results_expiration_days: int
    report_memory_mb: int
    report_timeout_seconds: int
    report_batch_size: int
    report_batching_window_seconds: int
    report_max_concurrency: int
    max_receive_count: int
    report_schedule: str
    architecture: str
    log_retention_days: int
    alarms: Optional[monitoring.ResolvedAlarms]
    iterator_age_alarm_seconds: int
    failed_records_alarm_threshold: int
    deletion_protection: bool
    access_log_bucket: Any

    @property
    def access_logs(self) -> SecureBucketArgs:
        return {"access_log_bucket": self.access_log_bucket} if self.access_log_bucket is not None else {}


def default_database_name(name: str, stack: str) -> str:
    """A Glue/Athena-safe database name from the component and stack names."""
    return re.sub(r"[^a-z0-9_]", "_", f"{name}_{stack}".lower())[:255]


def resolve_args(name: str, args: Optional[IngestionPipelineArgs]) -> ResolvedIngestionPipeline:
    """The caller's args over DEFAULTS, each checked; raises ArgsError naming the arg and what is allowed."""
    r = ArgsReader("IngestionPipeline", name, args, IngestionPipelineArgs, DEFAULTS)
    mode = r.choice("stream_mode", ("ON_DEMAND", "PROVISIONED"))
    shards = r.optional_integer("shard_count", low=SHARD_COUNT_RANGE[0], high=SHARD_COUNT_RANGE[1])
    if mode == "PROVISIONED" and shards is None:
        r.fail("shard_count", "required when stream_mode is PROVISIONED (1 to 500)")
    if mode == "ON_DEMAND" and shards is not None:
        r.fail("shard_count", "only with stream_mode PROVISIONED; on-demand streams scale their own shards")
    prefix_expected = "lower-case path segments of [a-z0-9_-], each ending in '/', e.g. 'data/'"
    data_prefix = r.string("data_prefix", check=_matches(_PREFIX), expected=prefix_expected)
    error_prefix = r.string("error_prefix", check=_matches(_PREFIX), expected=prefix_expected)
    if data_prefix.startswith(error_prefix) or error_prefix.startswith(data_prefix):
        r.fail("error_prefix", f"{error_prefix!r} overlaps data_prefix {data_prefix!r}: failed records would "
                               f"look like data to Athena and trigger reports")
    database = r.optional_string("database_name", check=_matches(_GLUE_NAME), expected="a Glue name of [a-z0-9_]")
    if database is None:
        database = default_database_name(name, pulumi.get_stack())
    transform = read_sizing(r, "transform", memory_mb=512, timeout_seconds=120)
    report = read_sizing(r, "reports", memory_mb=256, timeout_seconds=300)
    return ResolvedIngestionPipeline(
        sources=r.strings("sources", check=_matches(_SOURCE), expected="source names of [a-z0-9_-]", min_items=1,
                          max_items=MAX_SOURCES, distinct=True),
        stream_mode=mode, shard_count=shards,
        stream_retention_hours=r.integer("stream_retention_hours", low=STREAM_RETENTION_HOURS_RANGE[0],
                                         high=STREAM_RETENTION_HOURS_RANGE[1]),
        kms_key_arn=r.input("kms_key_arn"),
        buffer_size_mb=r.integer("buffer_size_mb", low=BUFFER_SIZE_MB_RANGE[0], high=BUFFER_SIZE_MB_RANGE[1]),
        buffer_interval_seconds=r.integer("buffer_interval_seconds", low=BUFFER_INTERVAL_RANGE[0],
                                          high=BUFFER_INTERVAL_RANGE[1]),
        transform_buffer_size_mb=r.integer("transform_buffer_size_mb", low=TRANSFORM_BUFFER_SIZE_MB_RANGE[0],
                                           high=TRANSFORM_BUFFER_SIZE_MB_RANGE[1]),
        transform_buffer_interval_seconds=r.integer(
            "transform_buffer_interval_seconds", low=TRANSFORM_BUFFER_INTERVAL_RANGE[0],
            high=TRANSFORM_BUFFER_INTERVAL_RANGE[1]),
        transform_retries=r.integer("transform_retries", low=TRANSFORM_RETRIES_RANGE[0],
                                    high=TRANSFORM_RETRIES_RANGE[1]),
        transform_memory_mb=transform.memory_mb, transform_timeout_seconds=transform.timeout_seconds,
        max_record_bytes=r.integer("max_record_bytes", low=256, high=1_000_000),
        max_event_age_hours=r.integer("max_event_age_hours", low=1, high=8760),
        max_clock_skew_seconds=r.integer("max_clock_skew_seconds", low=1, high=86400),
        data_prefix=data_prefix, error_prefix=error_prefix,
        projection_start_hour=r.string("projection_start_hour", check=_matches(_HOUR),
                                       expected="an hour as YYYY-MM-DD-HH"),
        database_name=database,
        table_name=r.string("table_name", check=_matches(_GLUE_NAME), expected="a Glue name of [a-z0-9_]"),
        bytes_scanned_cutoff_per_query=r.integer("bytes_scanned_cutoff_per_query", low=ATHENA_MIN_CUTOFF_BYTES,
                                                 high=ATHENA_MAX_CUTOFF_BYTES),
        athena_results_expiration_days=r.integer("athena_results_expiration_days", low=1, high=3650),
        report_memory_mb=report.memory_mb, report_timeout_seconds=report.timeout_seconds,
        report_batch_size=r.integer("report_batch_size", low=1, high=100),
        report_batching_window_seconds=r.integer("report_batching_window_seconds", low=0, high=300),
        report_max_concurrency=r.integer("report_max_concurrency", low=2, high=100),
        max_receive_count=r.integer("max_receive_count", low=defaults.SQS_MAX_RECEIVE_COUNT,
                                    high=MAX_RECEIVE_COUNT_LIMIT),
        report_schedule=r.string("report_schedule", check=_matches(_SCHEDULE),
                                 expected="an EventBridge Scheduler cron(...) or rate(...) expression"),
        architecture=r.choice("architecture", defaults.LAMBDA_ARCHITECTURES),
        log_retention_days=defaults.read_log_retention(r),
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS),
        iterator_age_alarm_seconds=r.integer("iterator_age_alarm_seconds", low=60, high=86400),
        failed_records_alarm_threshold=r.integer("failed_records_alarm_threshold", low=0, high=10**9),
        deletion_protection=r.flag("deletion_protection"),
        access_log_bucket=r.input("access_log_bucket"),
    )


class Context(NamedTuple):
    partition: pulumi.Output[str]
    region: pulumi.Output[str]
    account_id: pulumi.Output[str]


def key_policy(context: Context) -> pulumi.Output[str]:
    """The created key's policy: the account administers it (so IAM is never locked out of managing it), and
    its principals may use it only through Kinesis and S3 in this region, when their IAM policies name the key
    (the delivery role, the report function and producers do)."""
    return policy_document([
        kms_keys.administration(context.account_id),
        *(kms_keys.use_through_service(context.account_id, service, context.region, KEY_USE_ACTIONS,
                                       f"UseThrough{service.capitalize()}") for service in KEY_SERVICES)])


class Catalog(NamedTuple):
    database: aws.glue.CatalogDatabase
    table: aws.glue.CatalogTable
    read_table_statement: PolicyStatement
    """glue:GetTable* on exactly this catalog, database and table."""


class Delivery(NamedTuple):
    delivery_stream: aws.kinesis.FirehoseDeliveryStream
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup


class Reports(NamedTuple):
    queue: SecureQueue
    function: LambdaFunction
    schedule: aws.scheduler.Schedule
    dead_letter_queue: aws.sqs.Queue
    """The report queue's DLQ, also where undelivered invocations go."""


class IngestionPipeline(pulumi.ComponentResource):
    stream_name: pulumi.Output[str]
    """Kinesis data stream producers write to."""
    stream_arn: pulumi.Output[str]
    """Its ARN (grant producers kinesis:PutRecords on it, and kms:GenerateDataKey on kms_key_arn)."""
    kms_key_arn: pulumi.Output[str]
    """The KMS key of the stream, buckets and Athena results."""
    delivery_stream_name: pulumi.Output[str]
    """Firehose delivery stream from the stream to the ingestion bucket."""
    ingestion_bucket_name: pulumi.Output[str]
    """Bucket of the delivered Parquet files (and Firehose's error records)."""
    reporting_bucket_name: pulumi.Output[str]
    """Bucket of the hourly reports (hourly/hour=.../part-*.parquet)."""
    results_bucket_name: pulumi.Output[str]
    """Bucket of Athena query results."""
    workgroup_name: pulumi.Output[str]
    """Athena workgroup to query in (its configuration is enforced)."""
    database_name: pulumi.Output[str]
    """Glue database."""
    table_name: pulumi.Output[str]
    """Glue table of the events (partition projection on source and hour)."""
    report_queue_url: pulumi.Output[str]
    """Queue of ingestion bucket notifications."""
    dlq_url: pulumi.Output[str]
    """Dead-letter queue of notifications and scheduled rebuilds whose reports failed."""
    transform_function_name: pulumi.Output[str]
    """The Firehose transform."""
    report_function_name: pulumi.Output[str]
    """The report function."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    # Every arg has a default, so `args` may be left out; it is typed without Optional for Pulumi's analyzer.
    def __init__(self, name: str, args: IngestionPipelineArgs = None,  # type: ignore[assignment]
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:IngestionPipeline", name, None, opts)
        s = resolve_args(name, args)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)
        self._thresholds = s.alarms.thresholds if s.alarms else ALARM_THRESHOLDS
        self._watches: list[monitoring.Watch] = []

        context = self._context()
        key_arn = self._key(s, context)
        stream = self._stream(s, key_arn)
        ingestion, results, reporting = self._buckets(s, key_arn)
        catalog = self._catalog(s, context, ingestion)
        transform = self._transform(s)
        delivery = self._delivery(s, context, key_arn, stream, ingestion, catalog, transform)
        self._delivery_alarms(s, stream, delivery, transform)
        workgroup = self._workgroup(s, context, key_arn, results)
        self._named_queries(s, catalog, workgroup)
        reports = self._reports(s, context, key_arn, ingestion, results, reporting, catalog, workgroup)
        self._ingestion_events(s, ingestion, reports.queue)
        monitored = monitoring.watch(name, s.alarms, self._watches, parent=self)
        self.dashboard_name = monitored.dashboard_name if monitored else None

        # The component's children, for callers that extend it (not outputs).
        self.stream, self.delivery, self.catalog, self.workgroup = stream, delivery, catalog, workgroup
        self.transform, self.reports = transform, reports
        self.ingestion_bucket, self.results_bucket, self.reporting_bucket = ingestion, results, reporting
        self.stream_name = stream.name
        self.stream_arn = stream.arn
        self.kms_key_arn = pulumi.Output.from_input(key_arn)
        self.delivery_stream_name = delivery.delivery_stream.name
        self.ingestion_bucket_name = ingestion.name
        self.reporting_bucket_name = reporting.name
        self.results_bucket_name = results.name
        self.workgroup_name = workgroup.name
        self.database_name = catalog.database.name
        self.table_name = catalog.table.name
        self.report_queue_url = reports.queue.url
        self.dlq_url = reports.dead_letter_queue.url
        self.transform_function_name = transform.name
        self.report_function_name = reports.function.name
        self.register_outputs({
            "stream_name": self.stream_name, "stream_arn": self.stream_arn, "kms_key_arn": self.kms_key_arn,
            "delivery_stream_name": self.delivery_stream_name, "ingestion_bucket_name": self.ingestion_bucket_name,
            "reporting_bucket_name": self.reporting_bucket_name, "results_bucket_name": self.results_bucket_name,
            "workgroup_name": self.workgroup_name, "database_name": self.database_name,
            "table_name": self.table_name, "report_queue_url": self.report_queue_url, "dlq_url": self.dlq_url,
            "transform_function_name": self.transform_function_name,
            "report_function_name": self.report_function_name,
        })

    # --- account, region, key -----------------------------------------------------------------------
    def _context(self) -> Context:
        invoke = pulumi.InvokeOutputOptions(parent=self)
        return Context(aws.get_partition_output(opts=invoke).partition, aws.get_region_output(opts=invoke).region,
                       aws.get_caller_identity_output(opts=invoke).account_id)

    def _key(self, s: ResolvedIngestionPipeline, context: Context) -> pulumi.Input[str]:
        if s.kms_key_arn is not None:
            return s.kms_key_arn
        return aws.kms.Key(f"{self._name}-key", description=f"{self._name}: stream, buckets and Athena results",
                           enable_key_rotation=True, deletion_window_in_days=30, policy=key_policy(context),
                           opts=self._child).arn

    # --- stream -------------------------------------------------------------------------------------
    def _stream(self, s: ResolvedIngestionPipeline, key_arn: pulumi.Input[str]) -> aws.kinesis.Stream:
        stream = aws.kinesis.Stream(
            f"{self._name}-stream",
            stream_mode_details={"stream_mode": s.stream_mode},
            shard_count=s.shard_count,
            retention_period=s.stream_retention_hours,
            encryption_type="KMS", kms_key_id=key_arn,
            opts=self._child)
        self._watches += monitoring.kinesis_watches(self._name, stream.name, self._thresholds,
                                                    s.iterator_age_alarm_seconds)
        return stream

    # --- buckets ------------------------------------------------------------------------------------
    def _buckets(self, s: ResolvedIngestionPipeline,
                 key_arn: pulumi.Input[str]) -> tuple[SecureBucket, SecureBucket, SecureBucket]:
        name, child = self._name, self._child
        common: SecureBucketArgs = {**s.access_logs, "force_destroy": not s.deletion_protection, "kms_key_arn": key_arn}
        ingestion = SecureBucket(f"{name}-ingestion", common, opts=child)
        results = SecureBucket(f"{name}-athena-results", {
            **common, "noncurrent_version_expiration_days": 1,
            "expire_objects_after_days": s.athena_results_expiration_days}, opts=child)
        # Reports are re-creatable from the ingestion bucket: replaced versions are kept one day.
        reporting = SecureBucket(f"{name}-reports", {**common, "noncurrent_version_expiration_days": 1}, opts=child)
        return ingestion, results, reporting

    # --- Glue catalog with partition projection -----------------------------------------------------
    def _catalog(self, s: ResolvedIngestionPipeline, context: Context, ingestion: SecureBucket) -> Catalog:
        name, child = self._name, self._child
        database = aws.glue.CatalogDatabase(
            f"{name}-database", name=s.database_name, description=f"{name}: device events", opts=child)
        data_prefix, sources, start = s.data_prefix, s.sources, s.projection_start_hour
        table = aws.glue.CatalogTable(
            f"{name}-table",
            name=s.table_name,
            database_name=database.name,
            table_type="EXTERNAL_TABLE",
            parameters=ingestion.name.apply(lambda bucket: projection_parameters(bucket, data_prefix, sources, start)),
            partition_keys=[{"name": key, "type": "string"} for key in PARTITION_KEYS],
            storage_descriptor={
                "location": ingestion.name.apply(lambda bucket: f"s3://{bucket}/{data_prefix}"),
                "input_format": PARQUET_INPUT_FORMAT,
                "output_format": PARQUET_OUTPUT_FORMAT,
                "ser_de_info": {"serialization_library": PARQUET_SERDE, "parameters": {"serialization.format": "1"}},
                "columns": [{"name": column, "type": kind} for column, kind in TABLE_COLUMNS],
            },
            opts=child)
        glue = pulumi.Output.concat("arn:", context.partition, ":glue:", context.region, ":", context.account_id)
        read_table = allow(["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"], [
            pulumi.Output.concat(glue, ":catalog"),
            pulumi.Output.concat(glue, ":database/", database.name),
            pulumi.Output.concat(glue, ":table/", database.name, "/", table.name),
        ], sid="ReadEventsTable")
        return Catalog(database, table, read_table)

    # --- transform ----------------------------------------------------------------------------------
    def _transform(self, s: ResolvedIngestionPipeline) -> LambdaFunction:
        return LambdaFunction(f"{self._name}-transform", {
            "code": "ingest_transform",
            "architecture": s.architecture,
            "memory_mb": s.transform_memory_mb,
            "timeout_seconds": s.transform_timeout_seconds,
            "log_retention_days": s.log_retention_days,
            "environment": {
                "SOURCES": ",".join(s.sources),
                "MAX_RECORD_BYTES": str(s.max_record_bytes),
                "MAX_EVENT_AGE_HOURS": str(s.max_event_age_hours),
                "MAX_CLOCK_SKEW_SECONDS": str(s.max_clock_skew_seconds),
                "METRIC_NAMESPACE": METRIC_NAMESPACE,
            },
        }, opts=self._child)

    # --- delivery stream ----------------------------------------------------------------------------
    def _delivery(self, s: ResolvedIngestionPipeline, context: Context, key_arn: pulumi.Input[str],
                  stream: aws.kinesis.Stream, ingestion: SecureBucket, catalog: Catalog,
                  transform: LambdaFunction) -> Delivery:
        name, child = self._name, self._child
        log_group = aws.cloudwatch.LogGroup(f"{name}-delivery-logs", retention_in_days=s.log_retention_days,
                                            opts=child)
        log_stream = aws.cloudwatch.LogStream(f"{name}-delivery-log-stream", name="DestinationDelivery",
                                              log_group_name=log_group.name, opts=child)
        # Firehose passes the account as the external id (AWS's documented confused-deputy guard for it).
        role = aws.iam.Role(f"{name}-delivery-role", assume_role_policy=service_trust_policy(
            "firehose.amazonaws.com", {"StringEquals": {"sts:ExternalId": context.account_id}}), opts=child)
        bucket_arn = ingestion.arn
        written = [pulumi.Output.concat(bucket_arn, "/", p, "*") for p in (s.data_prefix, s.error_prefix)]
        statements: list[PolicyStatement] = [
            allow(["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
                   "kinesis:GetShardIterator", "kinesis:ListShards"], [stream.arn], sid="ReadThisStream"),
            allow(["lambda:GetFunctionConfiguration", "lambda:InvokeFunction"], [transform.arn],
                  sid="InvokeThisTransform"),
            allow(["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], [bucket_arn],
                  sid="ListIngestionBucket"),
            allow(["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"], written,
                  sid="WriteDataAndErrorPrefixes"),
            catalog.read_table_statement,
            allow(["kms:Decrypt", "kms:GenerateDataKey"], [key_arn], sid="StreamAndBucketKey", condition={
                "StringLike": {"kms:ViaService": ["kinesis.*.amazonaws.com", "s3.*.amazonaws.com"]}}),
            allow(["logs:PutLogEvents"], [pulumi.Output.concat(log_group.arn, ":log-stream:", log_stream.name)],
                  sid="DeliveryLogs"),
        ]
        role_policy = aws.iam.RolePolicy(f"{name}-delivery-policy", role=role.id, policy=policy_document(statements),
                                         opts=child)
        delivery_stream = aws.kinesis.FirehoseDeliveryStream(
            f"{name}-delivery",
            destination="extended_s3",
            kinesis_source_configuration={"kinesis_stream_arn": stream.arn, "role_arn": role.arn},
            extended_s3_configuration={
                "bucket_arn": bucket_arn,
                "role_arn": role.arn,
                "prefix": firehose_prefix(s.data_prefix),
                "error_output_prefix": error_output_prefix(s.error_prefix),
                "buffering_size": s.buffer_size_mb,
                "buffering_interval": s.buffer_interval_seconds,
                "compression_format": "UNCOMPRESSED",  # Parquet compresses its own pages (Snappy)
                "file_extension": ".parquet",
                "kms_key_arn": key_arn,
                "cloudwatch_logging_options": {"enabled": True, "log_group_name": log_group.name,
                                               "log_stream_name": log_stream.name},
                "dynamic_partitioning_configuration": {"enabled": True, "retry_duration": FIREHOSE_RETRY_SECONDS},
                # Every processor parameter explicit, defaults included: AWS omits defaults on read,
                # and a parameter left out here would show as a change on every preview.
                "processing_configuration": {"enabled": True, "processors": [{
                    "type": "Lambda",
                    "parameters": [
                        {"parameter_name": "LambdaArn", "parameter_value": transform.arn},
                        {"parameter_name": "NumberOfRetries", "parameter_value": str(s.transform_retries)},
                        {"parameter_name": "RoleArn", "parameter_value": role.arn},
                        {"parameter_name": "BufferSizeInMBs", "parameter_value": str(s.transform_buffer_size_mb)},
                        {"parameter_name": "BufferIntervalInSeconds",
                         "parameter_value": str(s.transform_buffer_interval_seconds)},
                    ],
                }]},
                "data_format_conversion_configuration": {
                    "enabled": True,
                    "input_format_configuration": {"deserializer": {
                        "hive_json_ser_de": {"timestamp_formats": ["millis"]}}},
                    "output_format_configuration": {"serializer": {
                        "parquet_ser_de": {"compression": "SNAPPY"}}},
                    "schema_configuration": {
                        "database_name": catalog.database.name, "table_name": catalog.table.name,
                        "role_arn": role.arn, "region": context.region, "catalog_id": context.account_id,
                        "version_id": "LATEST"},
                },
            },
            # Firehose checks its role on creation: the policy must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]))
        return Delivery(delivery_stream, role, log_group)

    def _delivery_alarms(self, s: ResolvedIngestionPipeline, stream: aws.kinesis.Stream, delivery: Delivery,
                         transform: LambdaFunction) -> None:
        firehose = {"DeliveryStreamName": delivery.delivery_stream.name}
        # Data older than two buffer intervals (plus the transform's own buffering) is late.
        freshness = 2 * s.buffer_interval_seconds + s.transform_buffer_interval_seconds + 300
        quiet = "no records means nothing to process"
        self._watches += [
            monitoring.firehose_freshness_watch(self._name, delivery.delivery_stream.name, freshness),
            monitoring.Watch(self._name, "transform-invocations", "Transform invocations that succeeded",
                             "Firehose could not invoke the transform.", "AWS/Firehose", "ExecuteProcessing.Success",
                             firehose, 1, "Minimum", monitoring.NOT_BREACHING, quiet, comparison="LessThanThreshold"),
            *transform.watches(self._thresholds),
            monitoring.Watch(self._name, "transform-failed-records", "Records that failed validation",
                             "Records failed validation (see errors/processing-failed/).", METRIC_NAMESPACE,
                             "ProcessingFailedRecords", {"FunctionName": transform.name},
                             s.failed_records_alarm_threshold, "Sum", monitoring.NOT_BREACHING,
                             "the transform publishes the count only when records fail",
                             comparison="GreaterThanThreshold")]

    # --- Athena -------------------------------------------------------------------------------------
    def _workgroup(self, s: ResolvedIngestionPipeline, context: Context, key_arn: pulumi.Input[str],
                   results: SecureBucket) -> aws.athena.Workgroup:
        return aws.athena.Workgroup(
            f"{self._name}-workgroup",
            name=s.database_name.replace("_", "-"),
            state="ENABLED",
            force_destroy=not s.deletion_protection,
            configuration={
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": s.bytes_scanned_cutoff_per_query,
                "requester_pays_enabled": False,
                "engine_version": {"selected_engine_version": ATHENA_ENGINE},
                "result_configuration": {
                    "output_location": results.name.apply(lambda bucket: f"s3://{bucket}/results/"),
                    "encryption_configuration": {"encryption_option": "SSE_KMS", "kms_key_arn": key_arn},
                    "expected_bucket_owner": context.account_id,
                },
            },
            opts=self._child)

    def _named_queries(self, s: ResolvedIngestionPipeline, catalog: Catalog,
                       workgroup: aws.athena.Workgroup) -> list[aws.athena.NamedQuery]:
        return [aws.athena.NamedQuery(f"{self._name}-{query}", name=query, description=description, query=sql,
                                      database=catalog.database.name, workgroup=workgroup.name, opts=self._child)
                for query, (description, sql) in named_queries(s.database_name, s.table_name).items()]

    # --- reports ------------------------------------------------------------------------------------
    def _reports(self, s: ResolvedIngestionPipeline, context: Context, key_arn: pulumi.Input[str],
                 ingestion: SecureBucket, results: SecureBucket, reporting: SecureBucket, catalog: Catalog,
                 workgroup: aws.athena.Workgroup) -> Reports:
        name, child = self._name, self._child
        visibility = defaults.visibility_timeout_for(s.report_timeout_seconds) + s.report_batching_window_seconds
        queue = SecureQueue(f"{name}-report-queue", SecureQueueArgs(
            consumer_timeout_seconds=s.report_timeout_seconds,
            visibility_timeout_seconds=visibility,
            max_receive_count=s.max_receive_count,
            policy_statements=[{
                "Sid": "IngestionNotificationsFromS3",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Condition": {"ArnEquals": {"aws:SourceArn": ingestion.arn},
                              "StringEquals": {"aws:SourceAccount": context.account_id}},
            }],
        ), opts=child)
        dead_letter, dlq_arn = queue.dead_letter_queue, queue.dlq_arn
        assert dead_letter is not None and dlq_arn is not None  # SecureQueue's default keeps dead_letter on
        data_prefix = s.data_prefix
        glue = pulumi.Output.concat("arn:", context.partition, ":glue:", context.region, ":", context.account_id)
        report_keys = [pulumi.Output.concat(reporting.arn, "/", p, "*") for p in (REPORT_PREFIX, STAGING_PREFIX)]
        function = LambdaFunction(f"{name}-report", {
            "code": "ingest_reports",
            "architecture": s.architecture,
            "memory_mb": s.report_memory_mb,
            "timeout_seconds": s.report_timeout_seconds,
            "log_retention_days": s.log_retention_days,
            "async_on_failure_destination_arn": dlq_arn,
            "environment": {
                "DATABASE": catalog.database.name, "TABLE": catalog.table.name, "WORKGROUP": workgroup.name,
                "REPORT_BUCKET": reporting.name, "REPORT_PREFIX": REPORT_PREFIX, "STAGING_PREFIX": STAGING_PREFIX,
            },
            "policy_statements": [
                allow(["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                       "sqs:ReceiveMessage"], [queue.arn], sid="ConsumeNotifications"),
                allow(["athena:GetQueryExecution", "athena:StartQueryExecution", "athena:StopQueryExecution"],
                      [workgroup.arn], sid="QueryInThisWorkgroup"),
                allow(["glue:GetDatabase", "glue:GetPartitions", "glue:GetTable"], [
                    pulumi.Output.concat(glue, ":catalog"),
                    pulumi.Output.concat(glue, ":database/", catalog.database.name),
                    pulumi.Output.concat(glue, ":table/", catalog.database.name, "/", catalog.table.name),
                ], sid="ReadEventsTable"),
                allow(["s3:GetBucketLocation", "s3:ListBucket"], [ingestion.arn], sid="ListEvents"),
                allow(["s3:GetObject"], [ingestion.arn.apply(lambda arn: f"{arn}/{data_prefix}*")], sid="ReadEvents"),
                allow(["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                      [results.arn, reporting.arn], sid="ListResultsAndReports"),
                allow(["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
                      [results.arn.apply(lambda arn: f"{arn}/results/*")], sid="WriteQueryResults"),
                allow(["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts",
                       "s3:PutObject"], report_keys, sid="ReplaceReports"),
                allow(["kms:Decrypt", "kms:GenerateDataKey"], [key_arn], sid="DataKey"),
            ],
        }, opts=child)
        aws.lambda_.EventSourceMapping(
            f"{name}-report-mapping",
            event_source_arn=queue.arn,
            function_name=function.function.arn,
            batch_size=s.report_batch_size,
            maximum_batching_window_in_seconds=s.report_batching_window_seconds,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": s.report_max_concurrency},
            opts=child)
        scheduler_role = aws.iam.Role(f"{name}-report-schedule-role", assume_role_policy=service_trust_policy(
            "scheduler.amazonaws.com", {"StringEquals": {"aws:SourceAccount": context.account_id}}), opts=child)
        scheduler_policy = aws.iam.RolePolicy(f"{name}-report-schedule-policy", role=scheduler_role.id,
                                              policy=policy_document([
                                                  allow(["lambda:InvokeFunction"], [function.arn],
                                                        sid="InvokeReportFunction"),
                                                  allow(["sqs:SendMessage"], [dlq_arn], sid="UndeliveredToDlq"),
                                              ]), opts=child)
        schedule = aws.scheduler.Schedule(
            f"{name}-daily-rebuild",
            description=f"{name}: rebuild the previous day's hourly reports",
            schedule_expression=s.report_schedule,
            schedule_expression_timezone="UTC",
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": function.arn,
                "role_arn": scheduler_role.arn,
                "input": pulumi.Output.json_dumps({"rebuild": "previous_day"}),
                "retry_policy": {"maximum_retry_attempts": 2, "maximum_event_age_in_seconds": 3600},
                "dead_letter_config": {"arn": dlq_arn},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[scheduler_policy]))
        self._watches += [*function.watches(self._thresholds), queue.depth_watch(self._thresholds)]
        return Reports(queue, function, schedule, dead_letter)

    def _ingestion_events(self, s: ResolvedIngestionPipeline, ingestion: SecureBucket,
                          queue: SecureQueue) -> aws.s3.BucketNotification:
        # S3 checks it may send to the queue when the configuration is saved: the policy comes first.
        return aws.s3.BucketNotification(
            f"{self._name}-ingestion-events",
            bucket=ingestion.bucket.id,
            queues=[{"queue_arn": queue.arn, "events": ["s3:ObjectCreated:*"],
                     "filter_prefix": s.data_prefix, "filter_suffix": ".parquet"}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue]))
