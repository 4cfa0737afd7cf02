"""10,000 events over three hours, 1% bad and 1% repeated, through the whole ingestion path:

producer (PutRecords on moto Kinesis) → Firehose emulation from the recorded delivery stream
(real transform in-process, dynamic partitions, Parquet with the Glue table's schema) → moto S3
→ the S3 notifications' hours → the real report function logic, whose Athena UNLOADs run on
DuckDB → hourly reports in the reporting bucket, equal to a reference computed in plain Python.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from datetime import datetime, timezone

import boto3
import duckdb
import pytest
from moto import mock_aws

from ingest_reports import reports
from ingest_reports.settings import Settings
from serverless_blueprints.ingestion_producer import Entry, put_records
from tests.ingestion.dataset import build
from twin.scenarios_ingestion import reference_reports
from tests.ingestion.lakehouse import DuckAthena, download_projected
from twin.firehose import DeliveryConfig, FirehoseEmulator

REPORT_BUCKET = "ingest-reports-test"
STREAM = "ingest-stream"


@pytest.fixture(scope="module")
def now():
    return datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def data(now):
    return build(now)


@pytest.fixture(scope="module")
def delivered(recorded, transform, data, tmp_path_factory):
    """Everything sent, delivered and reported; yields what the test needs to look at."""
    tmp_path = tmp_path_factory.mktemp("scenario")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        kinesis = boto3.client("kinesis", region_name="eu-west-1")
        for bucket in (recorded.bucket, REPORT_BUCKET):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        kinesis.create_stream(StreamName=STREAM, ShardCount=1)
        sent = put_records(kinesis, STREAM, (Entry(p, f"pk-{i % 17}") for i, p in enumerate(data.payloads)))
        assert sent.sent == len(data.payloads) and not sent.failed

        config = DeliveryConfig.from_recorded(recorded.delivery_props, recorded.table_props)
        # Small Parquet buffers, so a partition gets several files as in a long-running stream.
        config = dataclasses.replace(config, buffer_size_bytes=50_000)
        firehose = FirehoseEmulator(config, s3, transform)
        assert firehose.pump_kinesis(kinesis, STREAM) == len(data.payloads)
        firehose.flush()

        notified_hours = set()
        for key in firehose.report.objects:  # what S3 would notify the report queue of
            body = json.dumps({"Records": [{"s3": {"object": {"key": key.replace("=", "%3D")}}}]})
            notified_hours |= reports.hours_in_notification(body)
        (tmp_path / "lake").mkdir()
        download_projected(s3, recorded.table_props["parameters"], data.hours, tmp_path / "lake")
        athena = DuckAthena(s3, recorded.database, recorded.table, tmp_path / "lake")
        settings = Settings(database=recorded.database, table=recorded.table, workgroup="ingest-dev",
                            report_bucket=REPORT_BUCKET, poll_seconds=0.0)
        outcomes = reports.refresh_hours(athena, s3, settings, notified_hours, lambda: 60)
        yield {"s3": s3, "firehose": firehose, "athena": athena, "settings": settings, "outcomes": outcomes,
               "notified_hours": notified_hours, "tmp": tmp_path, "config": config}


def _report_rows(s3, tmp_path, name: str) -> dict:
    folder = tmp_path / name
    folder.mkdir()
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=REPORT_BUCKET, Prefix="hourly/").get("Contents", [])]
    for key in keys:
        s3.download_file(REPORT_BUCKET, key, str(folder / key.replace("/", "__")))
    rows = duckdb.sql(f"SELECT * FROM read_parquet('{folder}/*')").fetchall()
    columns = [d[0] for d in duckdb.sql(f"SELECT * FROM read_parquet('{folder}/*') LIMIT 0").description]
    return {(r["source"], r["hour"]): r for r in (dict(zip(columns, row)) for row in rows)}, keys


def test_every_record_is_accounted_for(delivered, data):
    results = delivered["firehose"].report.results
    assert results["ProcessingFailed"] == len(data.bad) == 100
    assert results["Dropped"] == data.same_batch_repeats == 50
    assert results["Ok"] == len(data.stored)
    assert delivered["firehose"].report.format_conversion_failed == 0
    assert len(delivered["firehose"].report.objects) > 9  # several files per partition


def test_objects_land_under_the_event_hour_partitions_only(delivered, data):
    expected = {f"data/source={s}/hour={h}/" for s, h in {(r["source"], r["hour"]) for r in data.stored}}
    found = {re.match(r"^(data/source=[a-z]+/hour=[\d-]+/)[^/]+\.parquet$", k).group(1)
             for k in delivered["firehose"].report.objects}
    assert found == expected and len(expected) == 9
    assert delivered["notified_hours"] == set(data.hours)  # late events went to their own (first) hour


def test_bad_records_are_in_the_error_prefix_with_their_raw_data(delivered, data, now):
    s3, firehose = delivered["s3"], delivered["firehose"]
    raw = []
    for key in firehose.report.error_objects:
        assert re.match(r"^errors/processing-failed/\d{4}/\d{2}/\d{2}/\d{2}/delivery-1-", key), key
        body = s3.get_object(Bucket=firehose.config.bucket, Key=key)["Body"].read().decode()
        for line in body.splitlines():
            document = json.loads(line)
            assert document["errorCode"] == "Lambda.ProcessingFailedStatus"
            raw.append(base64.b64decode(document["rawData"]))
    assert sorted(raw) == sorted(data.bad)


def test_parquet_files_have_the_glue_tables_columns_and_types(delivered, recorded):
    athena = delivered["athena"]
    described = athena.connection.execute(f'DESCRIBE "{recorded.database}"."{recorded.table}"').fetchall()
    columns = {row[0]: row[1] for row in described}
    table_columns = [c["name"] for c in recorded.table_props["storageDescriptor"]["columns"]]
    assert list(columns)[: len(table_columns)] == table_columns
    assert columns["event_time"] == "TIMESTAMP" and columns["value"] == "DOUBLE" and columns["source"] == "VARCHAR"


def test_hourly_reports_equal_the_plain_python_reference(delivered, data):
    assert all(isinstance(o, reports.Refreshed) for o in delivered["outcomes"].values()), delivered["outcomes"]
    got, _ = _report_rows(delivered["s3"], delivered["tmp"], "reports")
    reference = reference_reports(data.stored)
    assert set(got) == set(reference)
    for key, want in reference.items():
        row = got[key]
        assert (row["events"], row["devices"]) == (want["events"], want["devices"]), key
        assert row["max_value"] == want["max_value"]
        assert int(row["first_event_time"].replace(tzinfo=timezone.utc).timestamp() * 1000) == want["first_event_time"]
        assert int(row["last_event_time"].replace(tzinfo=timezone.utc).timestamp() * 1000) == want["last_event_time"]
        # approx_percentile / approx_quantile are approximations: within a tenth of a spread of 5.
        assert row["p50_value"] == pytest.approx(want["p50_value"], abs=0.5)
        assert row["p95_value"] == pytest.approx(want["p95_value"], abs=0.5)
    assert sum(w["events"] for w in reference.values()) == len(data.stored) - 50  # cross-batch repeats counted once


def test_refreshing_again_replaces_the_reports_without_duplicates(delivered, data):
    s3, tmp = delivered["s3"], delivered["tmp"]
    before, keys_before = _report_rows(s3, tmp, "first")
    reports.refresh_hours(delivered["athena"], s3, delivered["settings"], set(data.hours), lambda: 60)
    after, keys_after = _report_rows(s3, tmp, "second")
    assert keys_after == keys_before
    exact = lambda rows: {k: {c: v for c, v in r.items() if not c.startswith("p")} for k, r in rows.items()}  # noqa: E731
    assert exact(after) == exact(before)  # approx_quantile's estimates may move a little between runs


def test_the_named_queries_agree_with_the_reference(delivered, recorded, data):
    athena = delivered["athena"]
    counts = {(r["source"], r["hour"]): r["events"]
              for r in athena.query(recorded.named_queries["hourly-counts-by-source"])}
    stored = {}
    for row in data.stored:
        stored[(row["source"], row["hour"])] = stored.get((row["source"], row["hour"]), 0) + 1
    assert counts == stored
    last_seen = {r["device_id"]: r["last_seen"] for r in athena.query(recorded.named_queries["device-last-seen"])}
    want = {}
    for row in data.stored:
        want[row["device_id"]] = max(want.get(row["device_id"], 0), row["event_time_ms"])
    assert {d: int(t.replace(tzinfo=timezone.utc).timestamp() * 1000) for d, t in last_seen.items()} == want
    percentiles = {r["source"]: r for r in athena.query(recorded.named_queries["value-percentiles"])}
    for source in ("sensor", "gateway", "mobile"):
        values = [r["value"] for r in data.stored if r["source"] == source]
        assert percentiles[source]["max_value"] == max(values)
