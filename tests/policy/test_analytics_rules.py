"""Analytics rules: Athena workgroups, Firehose delivery streams, Kinesis streams, Glue tables."""
import copy

import pytest

from policy import Resource
from policy.analytics_rules import ATHENA_WORKGROUP, DELIVERY_STREAM, GLUE_TABLE, KINESIS_STREAM

KEY = "arn:aws:kms:eu-west-1:123456789012:key/0f0e0d0c-0000-4000-8000-000000000014"


def workgroup(**configuration):
    base = {"enforceWorkgroupConfiguration": True, "bytesScannedCutoffPerQuery": 10 * 2**30,
            "resultConfiguration": {"outputLocation": "s3://results/",
                                    "encryptionConfiguration": {"encryptionOption": "SSE_KMS", "kmsKeyArn": KEY}}}
    base.update(configuration)
    return Resource(ATHENA_WORKGROUP, {"name": "wg", "configuration": {k: v for k, v in base.items() if v is not None}},
                    name="wg")


def delivery(**s3):
    base = {
        "bucketArn": "arn:aws:s3:::ingestion", "roleArn": "arn:aws:iam::123456789012:role/r",
        "prefix": "data/source=!{partitionKeyFromLambda:source}/",
        "errorOutputPrefix": "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
        "bufferingSize": 128, "bufferingInterval": 300,
        "dynamicPartitioningConfiguration": {"enabled": True, "retryDuration": 300},
        "processingConfiguration": {"enabled": True, "processors": [{"type": "Lambda", "parameters": [
            {"parameterName": name, "parameterValue": "1"} for name in
            ("LambdaArn", "NumberOfRetries", "RoleArn", "BufferSizeInMBs", "BufferIntervalInSeconds")]}]},
    }
    base.update(s3)
    return Resource(DELIVERY_STREAM, {"destination": "extended_s3",
                                      "extendedS3Configuration": {k: v for k, v in base.items() if v is not None}},
                    name="delivery")


def table(**parameters):
    base = {"projection.enabled": "true", "projection.source.type": "enum", "projection.hour.type": "date",
            "storage.location.template": "s3://b/data/source=${source}/hour=${hour}/"}
    base.update(parameters)
    return Resource(GLUE_TABLE, {"name": "events", "partitionKeys": [{"name": "source"}, {"name": "hour"}],
                                 "parameters": {k: v for k, v in base.items() if v is not None}}, name="events")


# SB-ATH-001

def test_an_enforced_encrypted_workgroup_passes(violations):
    assert violations("SB-ATH-001", workgroup()) == []


def test_a_workgroup_clients_can_override_is_reported(violations):
    assert violations("SB-ATH-001", workgroup(enforceWorkgroupConfiguration=False)) == [
        "enforceWorkgroupConfiguration is not true: clients can override the result location and encryption"]


def test_a_workgroup_with_unencrypted_results_is_reported(violations):
    found = violations("SB-ATH-001", workgroup(resultConfiguration={"outputLocation": "s3://results/"}))
    assert found == ["query results are not encrypted (no resultConfiguration.encryptionConfiguration.encryptionOption)"]


# SB-ATH-002

def test_a_workgroup_with_a_scan_cutoff_passes(violations):
    assert violations("SB-ATH-002", workgroup(), environment="prod") == []


def test_a_workgroup_without_a_scan_cutoff_is_reported(violations):
    assert violations("SB-ATH-002", workgroup(bytesScannedCutoffPerQuery=None), environment="prod") == [
        "no bytesScannedCutoffPerQuery: one query can scan (and bill) the whole bucket"]


# SB-FH-001

def test_a_transform_with_a_typed_error_prefix_passes(violations):
    assert violations("SB-FH-001", delivery()) == []


def test_a_transform_without_an_error_prefix_is_reported(violations):
    assert violations("SB-FH-001", delivery(errorOutputPrefix=None)) == [
        "a Lambda transform is configured but errorOutputPrefix is not: failed records mix with good data"]


def test_dynamic_partitioning_needs_the_error_output_type_in_the_prefix(violations):
    assert violations("SB-FH-001", delivery(errorOutputPrefix="errors/")) == [
        "with dynamic partitioning the errorOutputPrefix must contain !{firehose:error-output-type}"]


def test_a_delivery_stream_without_a_transform_is_not_judged(violations):
    assert violations("SB-FH-001", delivery(errorOutputPrefix=None, processingConfiguration=None)) == []


# SB-FH-002

def test_a_processor_with_every_parameter_passes(violations):
    assert violations("SB-FH-002", delivery()) == []


def test_a_processor_leaving_parameters_to_defaults_is_reported(violations):
    stream = delivery()
    processor = stream.props["extendedS3Configuration"]["processingConfiguration"]["processors"][0]
    processor["parameters"] = processor["parameters"][:1]
    assert violations("SB-FH-002", stream) == [
        "the Lambda processor leaves NumberOfRetries, RoleArn, BufferSizeInMBs, BufferIntervalInSeconds to its default"]


# SB-FH-003

def test_a_64_mb_buffer_with_dynamic_partitioning_passes(violations):
    assert violations("SB-FH-003", delivery(bufferingSize=64)) == []


@pytest.mark.parametrize("size, shown", [(32, "32"), (None, "the 5 MB default")])
def test_a_small_buffer_with_dynamic_partitioning_is_reported(violations, size, shown):
    assert violations("SB-FH-003", delivery(bufferingSize=size)) == [
        f"bufferingSize is {shown}; dynamic partitioning needs at least 64"]


# SB-KIN-001

def test_a_kms_stream_passes(violations):
    assert violations("SB-KIN-001", Resource(KINESIS_STREAM, {"encryptionType": "KMS", "kmsKeyId": KEY}, name="s")) == []


def test_an_unencrypted_stream_is_reported(violations):
    assert violations("SB-KIN-001", Resource(KINESIS_STREAM, {"encryptionType": "NONE"}, name="s")) == [
        "the stream is not encrypted with KMS"]


# SB-GLUE-001

def test_a_projected_table_passes(violations):
    assert violations("SB-GLUE-001", table()) == []


def test_a_partitioned_table_without_projection_is_reported(violations):
    assert violations("SB-GLUE-001", table(**{"projection.enabled": None})) == [
        "partition keys without projection: partitions must be crawled or added as data arrives"]


def test_a_template_missing_a_partition_key_is_reported(violations):
    assert violations("SB-GLUE-001", table(**{"storage.location.template": "s3://b/data/${source}/"})) == [
        "storage.location.template does not place every partition key"]


def test_the_ingestion_pipeline_passes_every_analytics_rule():
    from offline.harness import evaluate_program
    from policy import evaluate
    from serverless_blueprints.ingestion_pipeline import IngestionPipeline

    snapshot = evaluate_program(lambda: IngestionPipeline("ingest", {}), stack="prod")
    rules = ["SB-ATH-001", "SB-ATH-002", "SB-FH-001", "SB-FH-002", "SB-FH-003", "SB-KIN-001", "SB-GLUE-001"]
    report = evaluate(copy.deepcopy(snapshot.resources), "prod", rules=rules, suppressions=())
    assert [f.message for f in report.findings] == []
    full = evaluate(snapshot.resources, "prod", suppressions=())
    assert [(f.rule_id, f.name, f.message) for f in full.findings if f.level == "mandatory"] == []
