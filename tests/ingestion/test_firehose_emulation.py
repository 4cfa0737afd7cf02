"""twin/firehose.py: the recorded config read back, Firehose's event shape, and how it treats a
transform that breaks the contract."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import boto3
import pytest
from moto import mock_aws

from twin.firehose import (DeliveryConfig, FirehoseEmulator, SourceRecord, TransformContractError, check_response,
                           java_date)

MOMENT = datetime(2026, 12, 6, 3, 4, 5, tzinfo=timezone.utc)


@pytest.fixture
def config(recorded):
    return DeliveryConfig.from_recorded(recorded.delivery_props, recorded.table_props)


@pytest.fixture
def s3(recorded):
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=recorded.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def source(payload: bytes, n: int = 0) -> SourceRecord:
    return SourceRecord(payload, "pk", f"{n:05d}", "shardId-000000000000", MOMENT)


def test_the_config_comes_from_the_recorded_delivery_stream_and_table(config, recorded):
    assert config.bucket == recorded.bucket
    assert config.prefix == "data/source=!{partitionKeyFromLambda:source}/hour=!{partitionKeyFromLambda:hour}/"
    assert config.partition_keys == ("source", "hour")
    assert config.error_output_prefix == "errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/"
    assert (config.buffer_size_bytes, config.transform_batch_bytes, config.transform_retries) == (64 * 2**20, 2**20, 3)
    assert config.timestamp_formats == ("millis",) and config.parquet_compression == "snappy"
    assert config.file_extension == ".parquet"
    assert [name for name, _ in config.columns] == ["event_id", "device_id", "event_time", "value", "ingested_at"]


def test_prefixes_render_partition_keys_error_types_and_java_dates(config):
    assert config.render_prefix({"source": "sensor", "hour": "2026-12-06-03"}, MOMENT) == \
        "data/source=sensor/hour=2026-12-06-03/"
    assert config.render_error_prefix("processing-failed", MOMENT) == "errors/processing-failed/2026/12/06/03/"
    assert java_date("yyyy-MM-dd HH:mm:ss", MOMENT) == "2026-12-06 03:04:05"


def test_the_transform_gets_firehoses_kinesis_source_event_shape(config, s3):
    seen = []
    firehose = FirehoseEmulator(config, s3, lambda event: seen.append(event) or {"records": [
        {"recordId": r["recordId"], "result": "Dropped", "data": r["data"]} for r in event["records"]]})
    firehose.put(source(b'{"a": 1}'))
    firehose.flush()
    [event] = seen
    assert set(event) == {"invocationId", "deliveryStreamArn", "sourceKinesisStreamArn", "region", "records"}
    [record] = event["records"]
    assert set(record) == {"recordId", "approximateArrivalTimestamp", "data", "kinesisRecordMetadata"}
    assert base64.b64decode(record["data"]) == b'{"a": 1}'
    assert set(record["kinesisRecordMetadata"]) == {"shardId", "partitionKey", "approximateArrivalTimestamp",
                                                    "sequenceNumber", "subsequenceNumber"}


@pytest.mark.parametrize("break_it, message", [
    (lambda records: records[:-1], "exactly"),
    (lambda records: records + records[:1], "exactly"),
    (lambda records: [{**records[0], "result": "Maybe"}, *records[1:]], "result"),
    (lambda records: [{**records[0], "data": "%%%"}, *records[1:]], "base64"),
    (lambda records: [{**records[0], "metadata": {"partitionKeys": {"source": "x"}}}, *records[1:]], "hour"),
])
def test_a_response_that_breaks_the_contract_is_refused(break_it, message):
    ids = ["a", "b"]
    ok = [{"recordId": i, "result": "Ok", "data": base64.b64encode(b"{}").decode(),
           "metadata": {"partitionKeys": {"source": "s", "hour": "h"}}} for i in ids]
    assert check_response(ids, {"records": ok}, ("source", "hour")) == ok
    with pytest.raises(TransformContractError, match=message):
        check_response(ids, {"records": break_it(ok)}, ("source", "hour"))


def test_a_failing_transform_is_retried_then_its_batch_goes_to_processing_failed(config, s3):
    calls = []

    def broken(event):
        calls.append(event)
        raise RuntimeError("boom")
    firehose = FirehoseEmulator(config, s3, broken)
    firehose.put(source(b"one", 1))
    firehose.put(source(b"two", 2))
    report = firehose.flush()
    assert len(calls) == config.transform_retries + 1
    assert report.results["ProcessingFailed"] == 2 and report.objects == []
    [key] = report.error_objects
    assert key.startswith("errors/processing-failed/")
    documents = [json.loads(line) for line in
                 s3.get_object(Bucket=config.bucket, Key=key)["Body"].read().decode().splitlines()]
    assert [base64.b64decode(d["rawData"]) for d in documents] == [b"one", b"two"]
    assert {d["errorCode"] for d in documents} == {"Lambda.InvokeFailed"}


def test_ok_data_that_does_not_fit_the_table_is_a_format_conversion_failure(config, s3):
    def transform(event):
        return {"records": [{"recordId": r["recordId"], "result": "Ok",
                             "data": base64.b64encode(b'{"event_id": "e", "event_time": "not a time"}\n').decode(),
                             "metadata": {"partitionKeys": {"source": "sensor", "hour": "2026-12-06-03"}}}
                            for r in event["records"]]}
    report = FirehoseEmulator(config, s3, transform)
    report.put(source(b"x"))
    result = report.flush()
    assert result.format_conversion_failed == 1 and result.objects == []
    assert result.error_objects[0].startswith("errors/format-conversion-failed/")
