"""The Athena SQL runs: every named query and the report's SELECT transpile (sqlglot, trino/athena →
duckdb) and give the expected answers on a small known data set with a late and a repeated event."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import io

import boto3
import pyarrow.parquet as pq
import pytest
import sqlglot
from moto import mock_aws

from ingest_reports import reports
from ingest_reports.report_sql import REPORT_COLUMNS, hourly_report_select, unload_statement
from ingest_reports.settings import Settings
from tests.ingestion.lakehouse import DuckAthena, athena_to_duckdb, download_projected
from twin.firehose import DeliveryConfig, FirehoseEmulator, SourceRecord

REPORTS = "known-reports"
BASE = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
H1, H2 = BASE.strftime("%Y-%m-%d-%H"), (BASE + timedelta(hours=1)).strftime("%Y-%m-%d-%H")


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def ev(event_id: str, device: str, source: str, value: float, when) -> bytes:
    return json.dumps({"event_id": event_id, "device_id": device, "source": source, "value": value,
                       "event_time": when}).encode()


FIRST_BATCH = [
    ev("e1", "dev-a", "sensor", 10.0, at(5).isoformat()),
    ev("e2", "dev-b", "sensor", 20.0, at(10).strftime("%Y-%m-%dT%H:%M:%SZ")),
    ev("e2", "dev-b", "sensor", 20.0, at(10).strftime("%Y-%m-%dT%H:%M:%SZ")),  # same batch: dropped
    ev("e3", "dev-a", "sensor", 30.0, at(50).astimezone(timezone(timedelta(hours=-3))).isoformat()),
    ev("g1", "dev-a", "gateway", 5.0, int(at(30).timestamp() * 1000)),
    ev("e5", "dev-b", "sensor", 1.0, at(61).astimezone(timezone(timedelta(hours=1))).isoformat()),  # hour 2
    b"garbage",
]
SECOND_BATCH = [
    ev("e2", "dev-b", "sensor", 20.0, at(10).strftime("%Y-%m-%dT%H:%M:%SZ")),  # another batch: stored twice
    ev("e4", "dev-c", "sensor", 40.0, at(59).isoformat()),                     # late: arrives after hour 2
]


@pytest.fixture(scope="module")
def lake(recorded, transform, tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        for bucket in (recorded.bucket, REPORTS):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        firehose = FirehoseEmulator(DeliveryConfig.from_recorded(recorded.delivery_props, recorded.table_props),
                                    s3, transform)
        for n, batch in enumerate((FIRST_BATCH, SECOND_BATCH)):
            for i, payload in enumerate(batch):
                firehose.put(SourceRecord(payload, "pk", f"{n}{i:04d}", "shardId-000000000000",
                                          datetime.now(timezone.utc)))
            firehose.flush()
        download_projected(s3, recorded.table_props["parameters"], [H1, H2], root)
        athena = DuckAthena(s3, recorded.database, recorded.table, root)
        yield {"s3": s3, "athena": athena, "firehose": firehose}


def test_every_query_transpiles_without_unsupported_constructs(recorded):
    statements = [*recorded.named_queries.values(), hourly_report_select("db", "t", "2026-01-01-00")]
    for sql in statements:
        sqlglot.parse_one(sql, read="trino")  # Athena engine 3 is Trino
        assert athena_to_duckdb(sql)


def test_the_known_data_set_is_stored_as_expected(lake):
    assert lake["firehose"].report.results == {"Ok": 7, "Dropped": 1, "ProcessingFailed": 1}
    table = f'"{lake["athena"].database}"."{lake["athena"].table}"'
    rows = lake["athena"].query(f"SELECT event_id, source, hour FROM {table} ORDER BY event_id")
    assert [(r["event_id"], r["source"], r["hour"]) for r in rows] == [
        ("e1", "sensor", H1), ("e2", "sensor", H1), ("e2", "sensor", H1), ("e3", "sensor", H1),
        ("e4", "sensor", H1), ("e5", "sensor", H2), ("g1", "gateway", H1)]


def test_the_hourly_report_select_gives_the_expected_rows(lake, recorded):
    rows = lake["athena"].query(hourly_report_select(recorded.database, recorded.table, H1))
    assert [r["source"] for r in rows] == ["gateway", "sensor"]
    gateway, sensor = rows
    assert {k: gateway[k] for k in ("hour", "events", "devices", "max_value")} == \
        {"hour": H1, "events": 1, "devices": 1, "max_value": 5.0}
    # e1, e2 (stored twice, counted once), e3 (-03:00 offset), e4 (late): four events, three devices.
    assert {k: sensor[k] for k in ("events", "devices", "max_value")} == {"events": 4, "devices": 3, "max_value": 40.0}
    assert sensor["first_event_time"] == at(5).replace(tzinfo=None)
    assert sensor["last_event_time"] == at(59).replace(tzinfo=None)
    assert 10.0 <= sensor["p50_value"] <= 30.0 and 30.0 <= sensor["p95_value"] <= 40.0
    [later] = lake["athena"].query(hourly_report_select(recorded.database, recorded.table, H2))
    assert (later["source"], later["events"], later["first_event_time"]) == ("sensor", 1, at(61).replace(tzinfo=None))


def test_the_report_unload_writes_parquet_with_the_report_columns(lake, recorded):
    settings = Settings(database=recorded.database, table=recorded.table, workgroup="wg", report_bucket=REPORTS,
                        poll_seconds=0.0)
    outcomes = reports.refresh_hours(lake["athena"], lake["s3"], settings, [H1, H2], lambda: 60)
    assert all(isinstance(o, reports.Refreshed) for o in outcomes.values()), outcomes
    body = lake["s3"].get_object(Bucket=REPORTS, Key=f"hourly/hour={H1}/part-00000.parquet")["Body"].read()
    table = pq.read_table(io.BytesIO(body))
    assert tuple(table.column_names) == REPORT_COLUMNS
    assert table.column("events").to_pylist() == [1, 4]


def test_a_failing_unload_is_reported_with_athenas_message(lake):
    athena = lake["athena"]
    query_id = athena.start_query_execution(
        QueryString=unload_statement('SELECT * FROM "nope"."missing"', "s3://known-reports/x/"), WorkGroup="wg")
    status = athena.get_query_execution(QueryExecutionId=query_id["QueryExecutionId"])["QueryExecution"]["Status"]
    assert status["State"] == "FAILED" and "missing" in status["AthenaError"]["ErrorMessage"]


def test_named_queries_answer_on_the_known_data(lake, recorded):
    athena = lake["athena"]
    counts = {(r["source"], r["hour"]): r["events"] for r in athena.query(recorded.named_queries["hourly-counts-by-source"])}
    assert counts == {("gateway", H1): 1, ("sensor", H1): 5, ("sensor", H2): 1}  # rows, the repeat included
    last = {r["device_id"]: r["last_seen"] for r in athena.query(recorded.named_queries["device-last-seen"])}
    assert last == {"dev-a": at(50).replace(tzinfo=None), "dev-b": at(61).replace(tzinfo=None),
                    "dev-c": at(59).replace(tzinfo=None)}
    percentiles = {r["source"]: r for r in athena.query(recorded.named_queries["value-percentiles"])}
    assert percentiles["sensor"]["max_value"] == 40.0 and percentiles["gateway"]["p50_value"] == 5.0
