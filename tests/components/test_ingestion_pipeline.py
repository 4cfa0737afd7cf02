"""IngestionPipeline under mocks: defaults one by one, the prefix/projection agreement, least
privilege, encryption, Athena enforcement, no crawler, DLQs, alarms, and the resolve step."""

from __future__ import annotations

import json

import pulumi
import pytest

from ingest_transform.schema import HOUR_FORMAT, OUTPUT_FIELDS, PARTITION_KEYS
from offline.harness import ACCOUNT_ID, evaluate_program
from serverless_blueprints import ingestion_pipeline as ip
from serverless_blueprints.args import ArgsError
from serverless_blueprints.ingestion_pipeline import IngestionPipeline, resolve_args
from tests.conftest import as_list, statements_of

CMK = "arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-0000-4000-8000-000000000014"
ONCALL = "arn:aws:sns:eu-west-1:123456789012:oncall"


def _evaluate(args: dict | None = None):
    def program():
        pipeline = IngestionPipeline("ingest", args or {})
        pulumi.export("pipeline", {"stream": pipeline.stream_name, "delivery": pipeline.delivery_stream_name,
                                   "ingestion": pipeline.ingestion_bucket_name, "table": pipeline.table_name,
                                   "workgroup": pipeline.workgroup_name, "dlq": pipeline.dlq_url})
    return evaluate_program(program)


@pytest.fixture(scope="module")
def stack():
    return _evaluate()


@pytest.fixture(scope="module")
def prod_like():
    return _evaluate({"kms_key_arn": CMK, "stream_mode": "PROVISIONED", "shard_count": 4,
                      "stream_retention_hours": 168, "bytes_scanned_cutoff_per_query": 2**30,
                      "deletion_protection": True, "alarms": {"topic_arn": ONCALL}})


def _s3(stack) -> dict:
    return stack.named("ingest-delivery").props["extendedS3Configuration"]


def _by_sid(statements) -> dict:
    return {s.get("Sid"): s for s in statements}


def _arn(stack, name: str) -> str:
    return stack.named(name).outputs["arn"]


# --- defaults, one by one -------------------------------------------------------------------------

def test_the_stream_is_on_demand_and_kms_encrypted_by_default(stack):
    stream = stack.named("ingest-stream").props
    assert stream["streamModeDetails"] == {"streamMode": "ON_DEMAND"} and "shardCount" not in stream
    assert stream["encryptionType"] == "KMS" and stream["kmsKeyId"] == _arn(stack, "ingest-key")
    assert stream["retentionPeriod"] == 24
    assert stack.named("ingest-key").props["enableKeyRotation"] is True


def test_a_provisioned_stream_gets_its_shard_count(prod_like):
    stream = prod_like.named("ingest-stream").props
    assert stream["streamModeDetails"] == {"streamMode": "PROVISIONED"} and stream["shardCount"] == 4
    assert stream["retentionPeriod"] == 168 and stream["kmsKeyId"] == CMK


def test_firehose_reads_the_stream_and_writes_parquet_sized_buffers(stack):
    delivery = stack.named("ingest-delivery").props
    assert delivery["destination"] == "extended_s3"
    assert delivery["kinesisSourceConfiguration"]["kinesisStreamArn"] == _arn(stack, "ingest-stream")
    s3 = _s3(stack)
    assert (s3["bufferingSize"], s3["bufferingInterval"]) == (128, 300)
    assert s3["bufferingSize"] >= ip.DYNAMIC_PARTITIONING_MIN_BUFFER_MB
    assert s3["compressionFormat"] == "UNCOMPRESSED" and s3["fileExtension"] == ".parquet"
    assert s3["dynamicPartitioningConfiguration"] == {"enabled": True, "retryDuration": 300}
    assert s3["cloudwatchLoggingOptions"]["enabled"] is True
    assert s3["kmsKeyArn"] == _arn(stack, "ingest-key")


def test_the_transform_processor_sets_every_parameter_explicitly(stack):
    [processor] = _s3(stack)["processingConfiguration"]["processors"]
    params = {p["parameterName"]: p["parameterValue"] for p in processor["parameters"]}
    assert processor["type"] == "Lambda"
    assert params == {"LambdaArn": _arn(stack, "ingest-transform-fn"), "NumberOfRetries": "3",
                      "RoleArn": _arn(stack, "ingest-delivery-role"), "BufferSizeInMBs": "1",
                      "BufferIntervalInSeconds": "60"}


def test_records_are_converted_to_parquet_with_the_glue_tables_schema(stack):
    conversion = _s3(stack)["dataFormatConversionConfiguration"]
    assert conversion["enabled"] is True
    assert conversion["outputFormatConfiguration"]["serializer"]["parquetSerDe"]["compression"] == "SNAPPY"
    assert conversion["inputFormatConfiguration"]["deserializer"]["hiveJsonSerDe"]["timestampFormats"] == ["millis"]
    schema = conversion["schemaConfiguration"]
    table = stack.named("ingest-table").props
    assert (schema["databaseName"], schema["tableName"], schema["versionId"]) == (table["databaseName"], "events",
                                                                                  "LATEST")


def test_the_error_prefix_separates_failure_types_by_date(stack):
    prefix = _s3(stack)["errorOutputPrefix"]
    assert prefix.startswith("errors/!{firehose:error-output-type}/") and "!{timestamp:yyyy/MM/dd/HH}" in prefix


# --- one layout: Firehose's prefix and Athena's projection ----------------------------------------

def test_the_firehose_prefix_and_the_projection_template_name_the_same_objects(stack):
    bucket = stack.named("ingest-ingestion").outputs["bucket"]
    firehose = _s3(stack)["prefix"]
    template = stack.named("ingest-table").props["parameters"]["storage.location.template"]
    values = {"source": "sensor", "hour": "2026-12-06-03"}
    written = firehose
    for key, value in values.items():
        written = written.replace(f"!{{partitionKeyFromLambda:{key}}}", value)
    read = template
    for key, value in values.items():
        read = read.replace(f"${{{key}}}", value)
    assert f"s3://{bucket}/{written}" == read == f"s3://{bucket}/data/source=sensor/hour=2026-12-06-03/"


def test_the_projection_covers_the_sources_and_hours_the_transform_emits(stack):
    params = stack.named("ingest-table").props["parameters"]
    assert params["projection.enabled"] == "true"
    assert params["projection.source.type"] == "enum"
    assert params["projection.source.values"].split(",") == list(ip.DEFAULT_SOURCES)
    assert params["projection.hour.type"] == "date" and params["projection.hour.interval.unit"] == "HOURS"
    # Java's yyyy-MM-dd-HH is the transform's strftime pattern.
    assert params["projection.hour.format"].replace("yyyy", "%Y").replace("MM", "%m").replace(
        "dd", "%d").replace("HH", "%H") == HOUR_FORMAT
    table = stack.named("ingest-table").props
    assert [k["name"] for k in table["partitionKeys"]] == list(PARTITION_KEYS) == list(ip.PARTITION_KEYS)


def test_the_table_columns_are_what_the_transform_writes(stack):
    columns = stack.named("ingest-table").props["storageDescriptor"]["columns"]
    assert [c["name"] for c in columns] == list(OUTPUT_FIELDS)
    assert stack.named("ingest-table").props["storageDescriptor"]["serDeInfo"]["serializationLibrary"] == \
        ip.PARQUET_SERDE


def test_partitions_are_projected_not_crawled_or_scheduled(stack):
    assert stack.of_type("aws:glue/crawler:Crawler") == []
    assert stack.of_type("aws:glue/trigger:Trigger") == []
    assert stack.of_type("aws:glue/partition:Partition") == []
    assert stack.of_type("aws:cloudwatch/eventRule:EventRule") == []


# --- least privilege ------------------------------------------------------------------------------

def test_the_delivery_role_reads_only_this_stream_invokes_only_this_transform_writes_only_its_prefixes(stack):
    statements = statements_of(stack.named("ingest-delivery-policy"))
    sids = _by_sid(statements)
    bucket = _arn(stack, "ingest-ingestion")
    assert as_list(sids["ReadThisStream"]["Resource"]) == [_arn(stack, "ingest-stream")]
    assert as_list(sids["InvokeThisTransform"]["Resource"]) == [_arn(stack, "ingest-transform-fn")]
    assert as_list(sids["WriteDataAndErrorPrefixes"]["Resource"]) == [f"{bucket}/data/*", f"{bucket}/errors/*"]
    assert as_list(sids["ListIngestionBucket"]["Resource"]) == [bucket]
    database = stack.named("ingest-table").props["databaseName"]
    assert as_list(sids["ReadEventsTable"]["Resource"]) == [
        f"arn:aws:glue:eu-west-1:{ACCOUNT_ID}:catalog", f"arn:aws:glue:eu-west-1:{ACCOUNT_ID}:database/{database}",
        f"arn:aws:glue:eu-west-1:{ACCOUNT_ID}:table/{database}/events"]
    for statement in statements:
        assert "*" not in as_list(statement["Resource"])
        assert not any(a.endswith("*") for a in as_list(statement["Action"]))
    trust = json.loads(stack.named("ingest-delivery-role").props["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": ACCOUNT_ID}}


def test_the_report_function_queries_only_its_workgroup_and_writes_only_report_prefixes(stack):
    sids = _by_sid(statements_of(stack.named("ingest-report-policy")))
    assert as_list(sids["QueryInThisWorkgroup"]["Resource"]) == [_arn(stack, "ingest-workgroup")]
    reports = _arn(stack, "ingest-reports")
    assert as_list(sids["ReplaceReports"]["Resource"]) == [f"{reports}/hourly/*", f"{reports}/_staging/*"]
    assert as_list(sids["ReadEvents"]["Resource"]) == [f"{_arn(stack, 'ingest-ingestion')}/data/*"]
    assert as_list(sids["WriteQueryResults"]["Resource"]) == [f"{_arn(stack, 'ingest-athena-results')}/results/*"]
    writes = [s for s in statements_of(stack.named("ingest-report-policy"))
              if any(a.startswith(("s3:Put", "s3:Delete")) for a in as_list(s["Action"]))]
    assert all(_arn(stack, "ingest-ingestion") not in r for s in writes for r in as_list(s["Resource"]))


def test_the_transform_needs_no_permissions_beyond_its_logs(stack):
    sids = set(_by_sid(statements_of(stack.named("ingest-transform-policy"))))
    assert sids == {"WriteOwnLogs", "XRayUnscopable"}
    assert "layers" not in stack.named("ingest-transform-fn").props or \
        not stack.named("ingest-transform-fn").props["layers"]  # stdlib only: no layer


def test_the_queue_accepts_notifications_only_from_the_ingestion_bucket(stack):
    statements = statements_of(stack.named("ingest-report-queue-policy"))
    [from_s3] = [s for s in statements if s.get("Sid") == "IngestionNotificationsFromS3"]
    assert from_s3["Condition"]["ArnEquals"] == {"aws:SourceArn": _arn(stack, "ingest-ingestion")}
    assert from_s3["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    [queue_config] = stack.named("ingest-ingestion-events").props["queues"]
    assert (queue_config["filterPrefix"], queue_config["filterSuffix"]) == ("data/", ".parquet")
    assert queue_config["events"] == ["s3:ObjectCreated:*"]


# --- encryption and Athena ------------------------------------------------------------------------

def test_the_created_key_has_a_policy_the_account_administers_and_uses_through_kinesis_and_s3_only(stack):
    statements = _by_sid(statements_of(stack.named("ingest-key")))
    assert set(statements) == {"AccountAdministersTheKey", "UseThroughKinesis", "UseThroughS3"}
    root = {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    admin = statements["AccountAdministersTheKey"]
    assert admin["Principal"] == root and "kms:Put*" in admin["Action"]  # the account can always fix the policy
    assert not {"kms:Decrypt", "kms:GenerateDataKey", "kms:*"} & set(admin["Action"])
    for service in ("kinesis", "s3"):
        use = statements[f"UseThrough{service.capitalize()}"]
        assert use["Principal"] == root and use["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert use["Condition"] == {"StringEquals": {"kms:CallerAccount": ACCOUNT_ID,
                                                     "kms:ViaService": f"{service}.eu-west-1.amazonaws.com"}}


def test_the_key_lets_iam_policies_use_it_through_its_services_and_manage_it_but_not_use_it_directly(stack):
    """IAM isn't locked out (the account is trusted), yet even an identity policy allowing kms:* on the key
    can't decrypt with it outside Kinesis and S3."""
    from twin.permissions import PolicyDocument, decide, resource_policies_for

    key, keys = _arn(stack, "ingest-key"), resource_policies_for(stack)
    delivery = PolicyDocument("delivery", "inline", json.loads(stack.named("ingest-delivery-policy").props["policy"]))
    broad = PolicyDocument("broad", "inline", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": key}]})

    def allowed(policy, action: str, via: list[str]) -> bool:
        context = {"kms:ViaService": via, "kms:CallerAccount": ACCOUNT_ID}
        return decide([policy], action, key, context, resource_policies=keys).allowed

    assert allowed(delivery, "kms:Decrypt", ["kinesis.eu-west-1.amazonaws.com"])
    assert allowed(delivery, "kms:GenerateDataKey", ["s3.eu-west-1.amazonaws.com"])
    assert allowed(broad, "kms:ScheduleKeyDeletion", [])
    assert not allowed(broad, "kms:Decrypt", [])
    assert not allowed(broad, "kms:Decrypt", ["secretsmanager.eu-west-1.amazonaws.com"])


def test_every_bucket_is_sse_kms_with_the_pipelines_key(prod_like):
    for bucket in ("ingest-ingestion", "ingest-athena-results", "ingest-reports"):
        [rule] = prod_like.named(f"{bucket}-sse").props["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": CMK}
    assert prod_like.of_type("aws:kms/key:Key") == []


def test_the_workgroup_enforces_its_configuration_encrypts_results_and_caps_scans(stack, prod_like):
    config = stack.named("ingest-workgroup").props["configuration"]
    assert config["enforceWorkgroupConfiguration"] is True
    assert config["publishCloudwatchMetricsEnabled"] is True
    assert config["bytesScannedCutoffPerQuery"] == 10 * 2**30
    results = config["resultConfiguration"]
    assert results["encryptionConfiguration"] == {"encryptionOption": "SSE_KMS", "kmsKeyArn": _arn(stack, "ingest-key")}
    assert results["outputLocation"] == f"s3://{stack.named('ingest-athena-results').outputs['bucket']}/results/"
    assert prod_like.named("ingest-workgroup").props["configuration"]["bytesScannedCutoffPerQuery"] == 2**30
    assert prod_like.named("ingest-workgroup").props["forceDestroy"] is False


def test_the_three_named_queries_are_saved_in_the_workgroup(stack):
    queries = {q.props["name"]: q.props for q in stack.of_type("aws:athena/namedQuery:NamedQuery")}
    assert set(queries) == {"hourly-counts-by-source", "value-percentiles", "device-last-seen"}
    assert {q["workgroup"] for q in queries.values()} == {stack.named("ingest-workgroup").props["name"]}
    assert "approx_percentile(value, 0.95)" in queries["value-percentiles"]["query"]


# --- DLQs, schedule, alarms -----------------------------------------------------------------------

def test_failed_reports_end_in_the_dlq_from_the_queue_the_schedule_and_async_retries(stack):
    dlq = _arn(stack, "ingest-report-queue-dlq")
    redrive = json.loads(stack.named("ingest-report-queue").props["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq, "maxReceiveCount": 5}
    target = stack.named("ingest-daily-rebuild").props["target"]
    assert target["deadLetterConfig"] == {"arn": dlq}
    assert target["retryPolicy"] == {"maximumRetryAttempts": 2, "maximumEventAgeInSeconds": 3600}
    assert json.loads(target["input"]) == {"rebuild": "previous_day"}
    assert target["arn"] == _arn(stack, "ingest-report-fn")
    async_config = stack.named("ingest-report-async").props
    assert async_config["destinationConfig"] == {"onFailure": {"destination": dlq}}
    mapping = stack.named("ingest-report-mapping").props
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]


def test_the_schedule_runs_daily_in_utc(stack):
    schedule = stack.named("ingest-daily-rebuild").props
    assert schedule["scheduleExpression"] == ip.DEFAULT_SCHEDULE
    assert schedule["scheduleExpressionTimezone"] == "UTC" and schedule["flexibleTimeWindow"] == {"mode": "OFF"}


def test_the_pipeline_is_alarmed_end_to_end(prod_like):
    alarms = {a.name: a.props for a in prod_like.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    expected = {"ingest-iterator-age": "GetRecords.IteratorAgeMilliseconds",
                "ingest-write-throttled": "WriteProvisionedThroughputExceeded",
                "ingest-data-freshness": "DeliveryToS3.DataFreshness",
                "ingest-transform-invocations": "ExecuteProcessing.Success",
                "ingest-transform-errors": "Errors",
                "ingest-transform-failed-records": "ProcessingFailedRecords"}
    for name, metric in expected.items():
        assert alarms[name]["metricName"] == metric
        assert alarms[name]["alarmActions"] == alarms[name]["okActions"] == [ONCALL]
    assert {"ingest-report-queue-dlq-not-empty", "ingest-report-errors", "ingest-transform-throttles"} <= set(alarms)
    assert all(alarm["alarmActions"] == [ONCALL] for alarm in alarms.values())
    board = prod_like.named("ingest-dashboard").props
    assert len(json.loads(board["dashboardBody"])["widgets"]) == 1 + len(alarms)  # a title, one graph per alarm
    assert alarms["ingest-iterator-age"]["threshold"] == 900_000


# --- the resolve step -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    ({"stream_mode": "PROVISIONED"}, "shard_count: required"),
    ({"shard_count": 2}, "only with stream_mode PROVISIONED"),
    ({"buffer_size_mb": 32}, "buffer_size_mb: 32 is out of range; allowed 64 to 128"),
    ({"transform_buffer_interval_seconds": 30}, "allowed 60 to 900"),
    ({"error_prefix": "data/errors/"}, "overlaps data_prefix"),
    ({"data_prefix": "/data"}, "data_prefix: expected lower-case path segments"),
    ({"sources": ["Sensor"]}, "sources: expected source names"),
    ({"sources": []}, "sources: expected source names"),
    ({"bytes_scanned_cutoff_per_query": 1000}, "bytes_scanned_cutoff_per_query"),
    ({"report_schedule": "daily"}, "report_schedule"),
    ({"buffer_size": 64}, "unknown arg (did you mean 'buffer_size_mb'?)"),
])
def test_resolve_refuses_what_cannot_deploy(args, message):
    with pytest.raises(ArgsError) as error:
        resolve_args("ingest", args)
    assert message in str(error.value)


def test_resolve_gives_the_documented_defaults():
    s = resolve_args("ingest", None)
    assert (s.stream_mode, s.shard_count, s.buffer_size_mb, s.buffer_interval_seconds) == ("ON_DEMAND", None, 128, 300)
    assert (s.transform_memory_mb, s.transform_timeout_seconds, s.report_timeout_seconds) == (512, 120, 300)
    assert (s.data_prefix, s.error_prefix, s.table_name) == ("data/", "errors/", "events")


def test_analyzer_accepts_the_component():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([IngestionPipeline])
    component = result["component_definitions"]["IngestionPipeline"]
    assert all(value.optional for value in component.inputs.values())
    assert {"sources", "streamMode", "shardCount", "kmsKeyArn", "bufferSizeMb", "bytesScannedCutoffPerQuery",
            "alarms", "deletionProtection"} <= set(component.inputs)
    assert set(component.outputs) == {"streamName", "streamArn", "kmsKeyArn", "deliveryStreamName",
                                      "ingestionBucketName", "reportingBucketName", "resultsBucketName",
                                      "workgroupName", "databaseName", "tableName", "reportQueueUrl", "dlqUrl",
                                      "transformFunctionName", "reportFunctionName", "dashboardName"}
