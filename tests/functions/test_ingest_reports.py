"""ingest_reports: which hours changed, idempotent per-hour refresh, failures to the DLQ path.

S3 is moto; Athena is a stub that "runs" an UNLOAD by writing Parquet-named files into the
statement's TO prefix (tests/ingestion runs the real SELECT on DuckDB).
"""

from __future__ import annotations

import importlib
import json
import re
from datetime import datetime, timezone

import boto3
import pytest
from moto import mock_aws
from outbox_events import FakeLambdaContext

from ingest_reports import reports
from ingest_reports.report_sql import hourly_report_select, unload_statement
from ingest_reports.settings import Settings, SettingsError
from serverless_blueprints import lambda_packaging

BUCKET = "reports-bucket"
SETTINGS = Settings(database="ingest_dev", table="events", workgroup="ingest-dev", report_bucket=BUCKET,
                    poll_seconds=0.0)
ENV = {"DATABASE": "ingest_dev", "TABLE": "events", "WORKGROUP": "ingest-dev", "REPORT_BUCKET": BUCKET,
       "POLL_SECONDS": "0"}


class StubAthena:
    """Start/get query execution; an UNLOAD 'writes' `files` objects into its TO prefix unless told to fail."""

    def __init__(self, s3, files: int = 2, fail: dict[str, str] | None = None, running_polls: int = 1):
        self.s3, self.files, self.fail, self.running_polls = s3, files, fail or {}, running_polls
        self.queries: dict[str, dict] = {}

    def start_query_execution(self, QueryString, WorkGroup, ClientRequestToken=None):  # noqa: N803 - boto3 names
        hour = re.search(r"hour = '([\d-]+)'", QueryString).group(1)
        query_id = f"q-{len(self.queries)}-{hour}"
        self.queries[query_id] = {"sql": QueryString, "workgroup": WorkGroup, "hour": hour, "polls": 0}
        return {"QueryExecutionId": query_id}

    def get_query_execution(self, QueryExecutionId):  # noqa: N803
        query = self.queries[QueryExecutionId]
        query["polls"] += 1
        if query["polls"] <= self.running_polls:
            return {"QueryExecution": {"Status": {"State": "RUNNING"}}}
        if query["hour"] in self.fail:
            return {"QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason": "x",
                                                  "AthenaError": {"ErrorMessage": self.fail[query["hour"]]}}}}
        if "written" not in query:
            bucket, prefix = re.search(r"TO 's3://([^/]+)/([^']+)'", query["sql"]).groups()
            for n in range(self.files):
                self.s3.put_object(Bucket=bucket, Key=f"{prefix}{QueryExecutionId}_{n}", Body=f"{n}".encode())
            query["written"] = True
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}}


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def keys(s3, prefix: str = "") -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def notification(*object_keys: str) -> str:
    return json.dumps({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                                    "s3": {"bucket": {"name": "ingestion"}, "object": {"key": k, "size": 1}}}
                                   for k in object_keys]})


# --- which hours --------------------------------------------------------------------------------

def test_hours_come_from_the_keys_of_created_objects_url_encoded_as_s3_sends_them():
    body = notification("data/source%3Dsensor/hour%3D2026-12-06-03/delivery-1-x.parquet",
                        "data/source=gateway/hour=2026-12-06-04/delivery-1-y.parquet",
                        "data/source=sensor/hour=2026-12-06-03/delivery-1-z.parquet")
    assert reports.hours_in_notification(body) == {"2026-12-06-03", "2026-12-06-04"}


def test_the_s3_test_event_names_no_hours():
    assert reports.hours_in_notification(json.dumps({"Event": "s3:TestEvent", "Bucket": "b"})) == set()


def test_the_schedule_rebuilds_the_24_hours_of_the_previous_utc_day():
    hours = reports.scheduled_hours({"rebuild": "previous_day"}, datetime(2026, 12, 6, 1, 30, tzinfo=timezone.utc))
    assert hours[0] == "2026-12-05-00" and hours[-1] == "2026-12-05-23" and len(hours) == 24
    assert reports.scheduled_hours({"rebuild": "2026-01-31"}, datetime.now(timezone.utc))[5] == "2026-01-31-05"
    with pytest.raises(ValueError, match="rebuild"):
        reports.scheduled_hours({"rebuild": "everything"}, datetime.now(timezone.utc))


def test_the_report_sql_refuses_anything_but_an_hour():
    with pytest.raises(ValueError, match="hour"):
        hourly_report_select("db", "t", "2026-12-06-03' OR '1'='1")
    with pytest.raises(ValueError, match="s3://"):
        unload_statement("SELECT 1", "s3://b/x'")


# --- refresh: idempotent per hour ---------------------------------------------------------------

def test_a_refresh_unloads_into_staging_then_replaces_the_hours_report(s3):
    athena = StubAthena(s3, files=2)
    outcomes = reports.refresh_hours(athena, s3, SETTINGS, ["2026-12-06-03"], lambda: 60)
    done = outcomes["2026-12-06-03"]
    assert isinstance(done, reports.Refreshed)
    assert keys(s3) == ["hourly/hour=2026-12-06-03/part-00000.parquet", "hourly/hour=2026-12-06-03/part-00001.parquet"]
    query = next(iter(athena.queries.values()))
    assert query["workgroup"] == "ingest-dev"
    assert query["sql"].startswith("UNLOAD (SELECT") and "format = 'PARQUET'" in query["sql"]
    assert f"TO 's3://{BUCKET}/_staging/hour=2026-12-06-03/" in query["sql"]


def test_a_rerun_replaces_the_report_and_never_duplicates_it(s3):
    reports.refresh_hours(StubAthena(s3, files=3), s3, SETTINGS, ["2026-12-06-03"], lambda: 60)
    reports.refresh_hours(StubAthena(s3, files=3), s3, SETTINGS, ["2026-12-06-03"], lambda: 60)
    assert len(keys(s3, "hourly/")) == 3
    reports.refresh_hours(StubAthena(s3, files=1), s3, SETTINGS, ["2026-12-06-03"], lambda: 60)
    assert keys(s3) == ["hourly/hour=2026-12-06-03/part-00000.parquet"]  # the larger run's leftovers are gone


def test_each_hour_is_queried_once_and_other_hours_are_untouched(s3):
    reports.refresh_hours(StubAthena(s3), s3, SETTINGS, ["2026-12-06-01"], lambda: 60)
    athena = StubAthena(s3)
    reports.refresh_hours(athena, s3, SETTINGS, ["2026-12-06-02", "2026-12-06-02", "2026-12-06-03"], lambda: 60)
    assert sorted(q["hour"] for q in athena.queries.values()) == ["2026-12-06-02", "2026-12-06-03"]
    assert len(keys(s3, "hourly/hour=2026-12-06-01/")) == 2


def test_a_failed_query_is_an_outcome_with_its_id_and_reason_and_publishes_nothing(s3):
    athena = StubAthena(s3, fail={"2026-12-06-03": "HIVE_BAD_DATA: broken file"})
    outcome = reports.refresh_hours(athena, s3, SETTINGS, ["2026-12-06-03"], lambda: 60)["2026-12-06-03"]
    assert isinstance(outcome, reports.ReportQueryFailed)
    assert outcome.query_id == "q-0-2026-12-06-03" and "HIVE_BAD_DATA" in outcome.reason
    assert keys(s3, "hourly/") == []


def test_a_query_still_running_when_time_runs_out_is_a_failure(s3):
    athena = StubAthena(s3, running_polls=10**6)
    outcome = reports.refresh_hours(athena, s3, SETTINGS, ["2026-12-06-03"], lambda: 0)["2026-12-06-03"]
    assert isinstance(outcome, reports.ReportQueryFailed) and outcome.reason.startswith("TIMED_OUT")


# --- handler: SQS partial failures and the schedule ----------------------------------------------

@pytest.fixture
def handler(monkeypatch, s3):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "ingest-reports-test")
    from ingest_reports import handler as module
    module = importlib.reload(module)
    monkeypatch.setattr(module, "s3_client", lambda: s3)
    return module


def sqs_event(*bodies: str) -> dict:
    return {"Records": [{"messageId": f"m{i}", "receiptHandle": f"h{i}", "body": body, "attributes": {},
                         "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                         "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:q", "awsRegion": "eu-west-1"}
                        for i, body in enumerate(bodies)]}


def test_only_messages_naming_a_failed_hour_are_retried_and_the_query_id_is_logged(handler, s3, monkeypatch, caplog):
    athena = StubAthena(s3, fail={"2026-12-06-04": "TABLE_NOT_FOUND"})
    monkeypatch.setattr(handler, "athena_client", lambda: athena)
    event = sqs_event(notification("data/source=sensor/hour=2026-12-06-03/a.parquet"),
                      notification("data/source=sensor/hour=2026-12-06-04/b.parquet"),
                      notification("data/source=gateway/hour=2026-12-06-03/c.parquet"), "not json")
    response = handler.handler(event, FakeLambdaContext())
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    assert len(athena.queries) == 2  # hour 03 named twice, queried once
    failure = next(r for r in caplog.records if getattr(r, "hour", None) == "2026-12-06-04")
    assert failure.levelname == "ERROR"
    assert failure.query_id == "q-1-2026-12-06-04" and failure.reason.startswith("FAILED: TABLE_NOT_FOUND")


def test_a_scheduled_rebuild_raises_when_an_hour_fails_so_lambda_retries_then_dead_letters(handler, s3, monkeypatch):
    monkeypatch.setattr(handler, "athena_client", lambda: StubAthena(s3, fail={"2026-01-31-05": "boom"}))
    with pytest.raises(reports.ReportQueryFailed, match="2026-01-31-05"):
        handler.handler({"rebuild": "2026-01-31"}, FakeLambdaContext())
    assert len(keys(s3, "hourly/")) == 23 * 2


def test_a_scheduled_rebuild_refreshes_every_hour_of_the_day(handler, s3, monkeypatch):
    monkeypatch.setattr(handler, "athena_client", lambda: StubAthena(s3, files=1))
    assert len(handler.handler({"rebuild": "2026-01-31"}, FakeLambdaContext())["refreshed"]) == 24


def test_settings_name_the_missing_variable():
    with pytest.raises(SettingsError, match="WORKGROUP"):
        Settings.from_env({k: v for k, v in ENV.items() if k != "WORKGROUP"})
    with pytest.raises(SettingsError, match="overlap"):
        Settings.from_env({**ENV, "REPORT_PREFIX": "r/", "STAGING_PREFIX": "r/staging/"})


@pytest.mark.network
def test_the_requirements_list_the_whole_closure_beyond_the_runtime():
    closure = lambda_packaging.check_function_closure("ingest_reports", "arm64")
    assert set(closure.beyond_runtime()) <= {lambda_packaging._pinned(r)[0]
                                             for r in lambda_packaging.function_requirements("ingest_reports")}
