"""Firehose emulation for the twin: a Kinesis-sourced delivery stream with a Lambda transform,
dynamic partitioning and Parquet conversion, driven by the delivery stream's recorded config.

    config = DeliveryConfig.from_recorded(delivery_props, table_props, region="eu-west-1")
    firehose = FirehoseEmulator.at_endpoint(config, moto_url, invoke_transform)  # or (config, s3_client, ...)
    firehose.pump_kinesis(kinesis_client, stream_name)                 # read the stream, buffer, deliver
    firehose.flush()                                                   # write what is still buffered
    firehose.report                                                    # objects written, per outcome

What it reproduces of Firehose (and what the tests rely on):
- the transform is invoked with Firehose's event shape for a Kinesis source (invocationId,
  deliveryStreamArn, sourceKinesisStreamArn, region, records[recordId, approximateArrivalTimestamp,
  data, kinesisRecordMetadata]); batches are cut at the processor's BufferSizeInMBs, and a failed
  invocation is retried NumberOfRetries times;
- the response contract: every recordId exactly once, result Ok/Dropped/ProcessingFailed, base64
  data, and every `!{partitionKeyFromLambda:k}` of the prefix present for Ok records; a response
  that breaks it fails the whole batch (as Firehose does), to processing-failed;
- the S3 prefix's `!{partitionKeyFromLambda:k}` and `!{timestamp:...}`, and the error prefix's
  `!{firehose:error-output-type}`; ProcessingFailed records and records that don't convert land as
  Firehose's JSON error documents (rawData base64) under the error prefix;
- record format conversion: the JSON lines are read with the Glue table's columns (extra fields
  ignored, missing ones null, timestamps as `timestampFormats` say) and written as Parquet with
  the table's compression, one file per partition per buffer flush, at BufferingHints size.

Not reproduced: buffering by wall-clock (buffers flush on size here, the rest at `flush()`),
Firehose's own retries to S3, KMS, and CloudWatch logs and metrics.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import pyarrow as pa
import pyarrow.parquet as pq

RESULTS = ("Ok", "Dropped", "ProcessingFailed")
PROCESSING_FAILED = "processing-failed"
FORMAT_CONVERSION_FAILED = "format-conversion-failed"
_PARTITION_KEY = re.compile(r"!\{partitionKeyFromLambda:([A-Za-z0-9_]+)\}")
_TIMESTAMP = re.compile(r"!\{timestamp:([^}]+)\}")
_ERROR_TYPE = "!{firehose:error-output-type}"
_JAVA_DATE = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))
_ARROW_TYPES = {"string": pa.string(), "double": pa.float64(), "float": pa.float32(), "bigint": pa.int64(),
                "int": pa.int32(), "boolean": pa.bool_(), "timestamp": pa.timestamp("ms")}  # Hive timestamps: UTC, no zone
_EPOCH = datetime(1970, 1, 1)


def _get(mapping: Any, *keys: str) -> Any:
    """A value by its camelCase (recorded engine inputs) or snake_case (Python args) key."""
    for key in keys:
        snake = re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()
        for candidate in (key, snake):
            if isinstance(mapping, Mapping) and candidate in mapping:
                return mapping[candidate]
    return None


def java_date(pattern: str, moment: datetime) -> str:
    """A Firehose `!{timestamp:...}` pattern (Java date letters) rendered in UTC."""
    for java, strf in _JAVA_DATE:
        pattern = pattern.replace(java, strf)
    return moment.astimezone(timezone.utc).strftime(pattern)


@dataclass(frozen=True)
class DeliveryConfig:
    """What the emulation needs from a recorded FirehoseDeliveryStream and its Glue table."""
    bucket: str
    prefix: str
    error_output_prefix: str
    buffer_size_bytes: int
    buffer_interval_seconds: int
    transform_batch_bytes: int
    transform_retries: int
    lambda_arn: str
    file_extension: str
    timestamp_formats: tuple[str, ...]
    parquet_compression: str
    columns: tuple[tuple[str, str], ...]
    delivery_stream_name: str = "delivery"
    delivery_stream_arn: str = ""
    kinesis_stream_arn: str = ""
    region: str = "eu-west-1"

    @classmethod
    def from_recorded(cls, delivery_props: Mapping, table_props: Mapping, *, region: str = "eu-west-1",
                      bucket: Optional[str] = None, delivery_stream_name: str = "delivery") -> "DeliveryConfig":
        s3 = _get(delivery_props, "extendedS3Configuration")
        processors = _get(_get(s3, "processingConfiguration"), "processors") or []
        lambda_processor = next(p for p in processors if _get(p, "type") == "Lambda")
        parameters = {_get(p, "parameterName"): _get(p, "parameterValue") for p in _get(lambda_processor, "parameters")}
        conversion = _get(s3, "dataFormatConversionConfiguration")
        deserializer = _get(_get(_get(conversion, "inputFormatConfiguration"), "deserializer"), "hiveJsonSerDe") or {}
        parquet = _get(_get(_get(conversion, "outputFormatConfiguration"), "serializer"), "parquetSerDe") or {}
        columns = tuple((_get(c, "name"), _get(c, "type")) for c in _get(_get(table_props, "storageDescriptor"), "columns"))
        bucket_arn = _get(s3, "bucketArn")
        source = _get(delivery_props, "kinesisSourceConfiguration") or {}
        return cls(
            bucket=bucket or bucket_arn.split(":::", 1)[1],
            prefix=_get(s3, "prefix") or "",
            error_output_prefix=_get(s3, "errorOutputPrefix") or "",
            buffer_size_bytes=int(_get(s3, "bufferingSize") or 5) * 2**20,
            buffer_interval_seconds=int(_get(s3, "bufferingInterval") or 300),
            transform_batch_bytes=int(float(parameters.get("BufferSizeInMBs", "1")) * 2**20),
            transform_retries=int(parameters.get("NumberOfRetries", "3")),
            lambda_arn=parameters["LambdaArn"],
            file_extension=_get(s3, "fileExtension") or "",
            timestamp_formats=tuple(_get(deserializer, "timestampFormats") or ()),
            parquet_compression=(_get(parquet, "compression") or "SNAPPY").lower(),
            columns=columns,
            delivery_stream_name=delivery_stream_name,
            delivery_stream_arn=f"arn:aws:firehose:{region}:123456789012:deliverystream/{delivery_stream_name}",
            kinesis_stream_arn=_get(source, "kinesisStreamArn") or "",
            region=region,
        )

    @property
    def partition_keys(self) -> tuple[str, ...]:
        return tuple(_PARTITION_KEY.findall(self.prefix))

    def render_prefix(self, partition_keys: Mapping[str, str], moment: datetime) -> str:
        rendered = _PARTITION_KEY.sub(lambda m: partition_keys[m.group(1)], self.prefix)
        return _TIMESTAMP.sub(lambda m: java_date(m.group(1), moment), rendered)

    def render_error_prefix(self, error_type: str, moment: datetime) -> str:
        rendered = self.error_output_prefix.replace(_ERROR_TYPE, error_type)
        return _TIMESTAMP.sub(lambda m: java_date(m.group(1), moment), rendered)


@dataclass(frozen=True)
class SourceRecord:
    """A record as Firehose reads it from the Kinesis stream."""
    data: bytes
    partition_key: str
    sequence_number: str
    shard_id: str
    arrival: datetime


@dataclass
class DeliveryReport:
    """What the emulation wrote, and how each record ended."""
    objects: list[str] = field(default_factory=list)
    error_objects: list[str] = field(default_factory=list)
    results: dict[str, int] = field(default_factory=lambda: {r: 0 for r in RESULTS})
    format_conversion_failed: int = 0
    invocations: int = 0
    failed_invocations: int = 0


class TransformContractError(ValueError):
    """The transform's response breaks Firehose's contract: the whole batch fails."""


def check_response(request_ids: list[str], response: Any, partition_keys: Iterable[str]) -> list[dict]:
    """The response records, checked as Firehose checks them (each id once, results, base64, keys)."""
    if not isinstance(response, Mapping) or not isinstance(response.get("records"), list):
        raise TransformContractError("response has no records list")
    records = response["records"]
    returned = [r.get("recordId") for r in records]
    if sorted(returned) != sorted(request_ids) or len(set(returned)) != len(returned):
        raise TransformContractError("response recordIds are not exactly the request's, each once")
    for record in records:
        if record.get("result") not in RESULTS:
            raise TransformContractError(f"record {record['recordId']}: result {record.get('result')!r}")
        try:
            base64.b64decode(record.get("data", ""), validate=True)
        except (binascii.Error, TypeError):
            raise TransformContractError(f"record {record['recordId']}: data is not base64") from None
        if record["result"] == "Ok":
            keys = ((record.get("metadata") or {}).get("partitionKeys") or {})
            missing = [k for k in partition_keys if not isinstance(keys.get(k), str) or not keys.get(k)]
            if missing:
                raise TransformContractError(f"record {record['recordId']}: partition keys {missing} missing")
    by_id = {r["recordId"]: r for r in records}
    return [by_id[i] for i in request_ids]


class FirehoseEmulator:
    """One delivery stream: buffers source records, invokes the transform, writes S3 objects."""

    def __init__(self, config: DeliveryConfig, s3_client: Any, invoke_transform: Callable[[dict], dict]):
        self.config, self.s3, self.invoke_transform = config, s3_client, invoke_transform
        self.report = DeliveryReport()
        self._pending: list[SourceRecord] = []
        self._pending_bytes = 0
        self._partitions: dict[str, list[bytes]] = {}
        self._partition_bytes: dict[str, int] = {}
        self._positions: dict[str, str] = {}
        self._arrow_schema = pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in config.columns])

    @classmethod
    def at_endpoint(cls, config: DeliveryConfig, endpoint_url: str,
                    invoke_transform: Callable[[dict], dict]) -> "FirehoseEmulator":
        """An emulator writing to the S3 of a moto server (the twin's data plane) at `endpoint_url`."""
        import boto3  # the twin's clients; tests pass their own

        s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name=config.region,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        return cls(config, s3, invoke_transform)

    # --- source ---------------------------------------------------------------------------------
    def pump_kinesis(self, kinesis: Any, stream_name: str, max_rounds: int = 10_000) -> int:
        """Read every shard from where it last stopped (TRIM_HORIZON at first) and buffer the records."""
        read = 0
        for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
            shard_id = shard["ShardId"]
            after = self._positions.get(shard_id)
            iterator = kinesis.get_shard_iterator(
                StreamName=stream_name, ShardId=shard_id,
                **({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after} if after
                   else {"ShardIteratorType": "TRIM_HORIZON"}))["ShardIterator"]
            for _ in range(max_rounds):
                page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
                for record in page["Records"]:
                    arrival = record.get("ApproximateArrivalTimestamp") or datetime.now(timezone.utc)
                    self.put(SourceRecord(record["Data"], record["PartitionKey"], record["SequenceNumber"],
                                          shard_id, arrival))
                    self._positions[shard_id] = record["SequenceNumber"]
                    read += 1
                iterator = page.get("NextShardIterator")
                if not page["Records"] or not iterator:
                    break
        return read

    def put(self, record: SourceRecord) -> None:
        """Buffer one source record; a full transform batch is processed at once."""
        size = len(record.data)
        if self._pending and self._pending_bytes + size > self.config.transform_batch_bytes:
            self._process_pending()
        self._pending.append(record)
        self._pending_bytes += size

    def flush(self) -> DeliveryReport:
        """Process what is buffered and write every partition's buffer (a buffering interval elapsing)."""
        self._process_pending()
        for prefix in list(self._partitions):
            self._write_partition(prefix)
        return self.report

    # --- transform ------------------------------------------------------------------------------
    def transform_event(self, batch: list[SourceRecord]) -> tuple[dict, list[str]]:
        """The invocation event Firehose sends for a Kinesis-sourced batch, and its record ids."""
        ids, records = [], []
        for index, record in enumerate(batch):
            arrival_ms = int(record.arrival.timestamp() * 1000)
            record_id = f"{record.sequence_number}{index:08d}"
            ids.append(record_id)
            records.append({
                "recordId": record_id, "approximateArrivalTimestamp": arrival_ms,
                "data": base64.b64encode(record.data).decode("ascii"),
                "kinesisRecordMetadata": {"shardId": record.shard_id, "partitionKey": record.partition_key,
                                          "approximateArrivalTimestamp": arrival_ms,
                                          "sequenceNumber": record.sequence_number, "subsequenceNumber": ""}})
        event = {"invocationId": str(uuid.uuid4()), "deliveryStreamArn": self.config.delivery_stream_arn,
                 "sourceKinesisStreamArn": self.config.kinesis_stream_arn, "region": self.config.region,
                 "records": records}
        return event, ids

    def _process_pending(self) -> None:
        batch, self._pending, self._pending_bytes = self._pending, [], 0
        if not batch:
            return
        event, ids = self.transform_event(batch)
        error: Optional[str] = None
        for _attempt in range(self.config.transform_retries + 1):
            self.report.invocations += 1
            try:
                checked = check_response(ids, self.invoke_transform(event), self.config.partition_keys)
                break
            except Exception as failure:  # noqa: BLE001 - any failure is Firehose's "Lambda.*" error
                self.report.failed_invocations += 1
                error = f"{type(failure).__name__}: {failure}"
        else:
            self._write_errors(PROCESSING_FAILED, [(r, "Lambda.InvokeFailed", error or "") for r in batch])
            self.report.results["ProcessingFailed"] += len(batch)
            return
        failed = []
        for source, record in zip(batch, checked):
            self.report.results[record["result"]] += 1
            if record["result"] == "ProcessingFailed":
                failed.append((source, "Lambda.ProcessingFailedStatus",
                               "ProcessingFailed status sent by the Lambda function"))
            elif record["result"] == "Ok":
                prefix = self.config.render_prefix(record["metadata"]["partitionKeys"], datetime.now(timezone.utc))
                self._buffer(prefix, base64.b64decode(record["data"]))
        if failed:
            self._write_errors(PROCESSING_FAILED, failed)

    # --- destination ----------------------------------------------------------------------------
    def _buffer(self, prefix: str, data: bytes) -> None:
        self._partitions.setdefault(prefix, []).append(data)
        self._partition_bytes[prefix] = self._partition_bytes.get(prefix, 0) + len(data)
        if self._partition_bytes[prefix] >= self.config.buffer_size_bytes:
            self._write_partition(prefix)

    def _object_name(self, moment: datetime) -> str:
        stamp = moment.strftime("%Y-%m-%d-%H-%M-%S")
        return f"{self.config.delivery_stream_name}-1-{stamp}-{uuid.uuid4()}"

    def _write_partition(self, prefix: str) -> None:
        chunks = self._partitions.pop(prefix, [])
        self._partition_bytes.pop(prefix, None)
        rows, unconvertible = [], []
        for chunk in chunks:
            for line in chunk.splitlines():
                if not line.strip():
                    continue
                try:
                    rows.append(self._row(json.loads(line)))
                except (ValueError, TypeError, KeyError):
                    unconvertible.append(line)
        if unconvertible:
            self.report.format_conversion_failed += len(unconvertible)
            now = datetime.now(timezone.utc)
            self._put_error_documents(FORMAT_CONVERSION_FAILED, [
                self._error_document(line, now, "DataFormatConversion.MalformedData", "could not convert")
                for line in unconvertible])
        if not rows:
            return
        table = pa.Table.from_pylist(rows, schema=self._arrow_schema)
        sink = io.BytesIO()
        pq.write_table(table, sink, compression=self.config.parquet_compression)
        key = f"{prefix}{self._object_name(datetime.now(timezone.utc))}{self.config.file_extension}"
        self.s3.put_object(Bucket=self.config.bucket, Key=key, Body=sink.getvalue())
        self.report.objects.append(key)

    def _row(self, record: Mapping) -> dict:
        if not isinstance(record, Mapping):
            raise TypeError("not a JSON object")
        row = {}
        for name, kind in self.config.columns:
            value = record.get(name)
            if value is not None and kind == "timestamp":
                value = self._timestamp(value)
            elif value is not None and kind in ("double", "float"):
                value = float(value)
            elif value is not None and kind in ("bigint", "int"):
                value = int(value)
            elif value is not None and kind == "string":
                value = value if isinstance(value, str) else json.dumps(value)
            row[name] = value
        return row

    def _timestamp(self, value: Any) -> datetime:
        if "millis" in self.config.timestamp_formats and isinstance(value, int) and not isinstance(value, bool):
            return _EPOCH + timedelta(milliseconds=value)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
        raise ValueError(f"timestamp {value!r} matches none of {self.config.timestamp_formats}")

    def _error_document(self, raw: bytes, moment: datetime, code: str, message: str) -> dict:
        ms = int(moment.timestamp() * 1000)
        return {"attemptsMade": self.config.transform_retries + 1, "arrivalTimestamp": ms, "errorCode": code,
                "errorMessage": message, "attemptEndingTimestamp": ms,
                "rawData": base64.b64encode(raw).decode("ascii"), "lambdaArn": self.config.lambda_arn}

    def _write_errors(self, error_type: str, failed: list[tuple[SourceRecord, str, str]]) -> None:
        self._put_error_documents(error_type, [self._error_document(r.data, r.arrival, code, message)
                                               for r, code, message in failed])

    def _put_error_documents(self, error_type: str, documents: list[dict]) -> None:
        now = datetime.now(timezone.utc)
        key = f"{self.config.render_error_prefix(error_type, now)}{self._object_name(now)}"
        body = "".join(json.dumps(d) + "\n" for d in documents).encode()
        self.s3.put_object(Bucket=self.config.bucket, Key=key, Body=body)
        self.report.error_objects.append(key)
