"""Streaming ingestion and analytics: Kinesis streams, Firehose delivery streams, Athena workgroups, Glue tables."""
from __future__ import annotations

from .model import Resource, as_list, get, is_unknown
from .registry import ADVISORY, MANDATORY_IN_PROD, resource_rule

# pulumi-aws v7 type tokens (checked against the SDK like policy/tokens.py).
KINESIS_STREAM = "aws:kinesis/stream:Stream"
DELIVERY_STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
ATHENA_WORKGROUP = "aws:athena/workgroup:Workgroup"
GLUE_TABLE = "aws:glue/catalogTable:CatalogTable"

RESULT_ENCRYPTION = ("SSE_S3", "SSE_KMS", "CSE_KMS")
ERROR_OUTPUT_TYPE = "!{firehose:error-output-type}"
DYNAMIC_PARTITIONING_MIN_BUFFER_MB = 64
LAMBDA_PROCESSOR_PARAMETERS = ("LambdaArn", "NumberOfRetries", "RoleArn", "BufferSizeInMBs", "BufferIntervalInSeconds")


def _lambda_processors(s3_config) -> list:
    if get(s3_config, "processingConfiguration", "enabled") is False:
        return []
    return [p for p in as_list(get(s3_config, "processingConfiguration", "processors")) if get(p, "type") == "Lambda"]


@resource_rule(
    "SB-ATH-001", ATHENA_WORKGROUP,
    description="Athena workgroups enforce their configuration and encrypt results.",
    remediation="Set configuration.enforce_workgroup_configuration=True and "
                "configuration.result_configuration.encryption_configuration.encryption_option (SSE_KMS).",
)
def workgroup_enforced_and_encrypted(workgroup: Resource):
    enforced = get(workgroup.props, "configuration", "enforceWorkgroupConfiguration")
    if not is_unknown(enforced) and enforced is not True:
        yield "enforceWorkgroupConfiguration is not true: clients can override the result location and encryption"
    option = get(workgroup.props, "configuration", "resultConfiguration", "encryptionConfiguration", "encryptionOption")
    if not is_unknown(option) and option not in RESULT_ENCRYPTION:
        yield "query results are not encrypted (no resultConfiguration.encryptionConfiguration.encryptionOption)"


@resource_rule(
    "SB-ATH-002", ATHENA_WORKGROUP,
    description="Athena workgroups cap the bytes one query may scan.",
    remediation="Set configuration.bytes_scanned_cutoff_per_query (at least 10 MB).",
    level=MANDATORY_IN_PROD,
)
def workgroup_scan_cutoff(workgroup: Resource):
    cutoff = get(workgroup.props, "configuration", "bytesScannedCutoffPerQuery")
    if cutoff is None:
        yield "no bytesScannedCutoffPerQuery: one query can scan (and bill) the whole bucket"


@resource_rule(
    "SB-FH-001", DELIVERY_STREAM,
    description="Firehose with a transform sets an error output prefix.",
    remediation="Set extended_s3_configuration.error_output_prefix, e.g. "
                "'errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/'.",
)
def transform_error_prefix(stream: Resource):
    s3 = get(stream.props, "extendedS3Configuration")
    if is_unknown(s3) or not _lambda_processors(s3):
        return
    prefix = get(s3, "errorOutputPrefix")
    if is_unknown(prefix):
        return
    if not prefix:
        yield "a Lambda transform is configured but errorOutputPrefix is not: failed records mix with good data"
    elif get(s3, "dynamicPartitioningConfiguration", "enabled") is True and ERROR_OUTPUT_TYPE not in prefix:
        yield f"with dynamic partitioning the errorOutputPrefix must contain {ERROR_OUTPUT_TYPE}"


@resource_rule(
    "SB-FH-002", DELIVERY_STREAM,
    description="Firehose Lambda processors set every processing parameter explicitly.",
    remediation=f"Give the Lambda processor all of {', '.join(LAMBDA_PROCESSOR_PARAMETERS)}; AWS leaves defaults "
                "out on read, so a missing one shows as a change on every preview.",
    level=ADVISORY,
)
def transform_parameters_explicit(stream: Resource):
    for processor in _lambda_processors(get(stream.props, "extendedS3Configuration")):
        names = {get(p, "parameterName") for p in as_list(get(processor, "parameters"))}
        if any(is_unknown(n) for n in names):
            continue
        missing = [n for n in LAMBDA_PROCESSOR_PARAMETERS if n not in names]
        if missing:
            yield f"the Lambda processor leaves {', '.join(missing)} to its default"


@resource_rule(
    "SB-FH-003", DELIVERY_STREAM,
    description="Firehose with dynamic partitioning buffers at least 64 MB.",
    remediation="Set extended_s3_configuration.buffering_size to 64..128 (MB).",
)
def dynamic_partitioning_buffer(stream: Resource):
    s3 = get(stream.props, "extendedS3Configuration")
    if get(s3, "dynamicPartitioningConfiguration", "enabled") is not True:
        return
    size = get(s3, "bufferingSize")
    if is_unknown(size):
        return
    if size is None or size < DYNAMIC_PARTITIONING_MIN_BUFFER_MB:
        yield f"bufferingSize is {size if size is not None else 'the 5 MB default'}; dynamic partitioning needs " \
              f"at least {DYNAMIC_PARTITIONING_MIN_BUFFER_MB}"


@resource_rule(
    "SB-KIN-001", KINESIS_STREAM,
    description="Kinesis data streams are encrypted with KMS.",
    remediation='Set encryption_type="KMS" and kms_key_id (a customer managed key or "alias/aws/kinesis").',
)
def stream_encrypted(stream: Resource):
    kind = get(stream.props, "encryptionType")
    if is_unknown(kind):
        return
    if kind != "KMS" or not get(stream.props, "kmsKeyId"):
        yield "the stream is not encrypted with KMS"


@resource_rule(
    "SB-GLUE-001", GLUE_TABLE,
    description="Partitioned Glue tables use partition projection (no crawler, no partition upkeep).",
    remediation="Set parameters projection.enabled=true, projection.<key>.* for each partition key, and "
                "storage.location.template rendered from the writer's prefix.",
    level=ADVISORY,
)
def table_partition_projection(table: Resource):
    keys = [get(k, "name") for k in as_list(get(table.props, "partitionKeys"))]
    parameters = get(table.props, "parameters")
    if not keys or is_unknown(parameters):
        return
    if get(parameters, "projection.enabled") != "true":
        yield "partition keys without projection: partitions must be crawled or added as data arrives"
        return
    missing = [k for k in keys if not get(parameters, f"projection.{k}.type")]
    if missing:
        yield f"no projection.<key>.type for {', '.join(missing)}"
    template = get(parameters, "storage.location.template")
    if not is_unknown(template) and template and not all(f"${{{k}}}" in template for k in keys):
        yield "storage.location.template does not place every partition key"
