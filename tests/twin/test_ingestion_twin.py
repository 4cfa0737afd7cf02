"""IngestionPipeline in the twin: its data plane, the Athena stand-in, the judge's Athena and Glue mappings,
and the ingestion scenario end to end with the real runner (the transform invoked by the Firehose
emulation, the report function by the bucket's notifications and by its schedule)."""
from __future__ import annotations

import copy
import io
import json
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from serverless_blueprints.ingestion_pipeline import IngestionPipeline

from offline.harness import StackSnapshot, evaluate_program
from tests.twin import fakes
from twin.arns import CallScope, StackFacts, UnmappedOperation, requirements_for
from twin.report import PASS
from twin.scenarios import SCENARIOS, run_stack
from twin.scenarios_ingestion import event_set, reference_reports
from twin.stack import DataPlane, build_data_plane, moto_server

INGESTION = tuple(s for s in SCENARIOS if s.name == "ingestion")
HOUR = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%d-10")


@pytest.fixture(scope="module")
def ingest_stack() -> StackSnapshot:
    """Only the pipeline, as the dev stack configures it: two functions to warm, not the whole stack's."""
    return evaluate_program(lambda: IngestionPipeline("ingest", {
        "sources": ["sensor", "gateway", "mobile"], "stream_mode": "ON_DEMAND", "stream_retention_hours": 168,
        "buffer_size_mb": 64, "buffer_interval_seconds": 60}), stack="dev")


@pytest.fixture(scope="module")
def plane(ingest_stack) -> Iterator[DataPlane]:
    with moto_server() as endpoint:
        yield build_data_plane(ingest_stack, endpoint)


def _names(snapshot: StackSnapshot) -> dict[str, str]:
    return {"bucket": snapshot.named("ingest-ingestion").outputs["bucket"],
            "reports": snapshot.named("ingest-reports").outputs["bucket"],
            "database": snapshot.named("ingest-table").props["databaseName"],
            "workgroup": snapshot.named("ingest-workgroup").props["name"]}


def _parquet(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    schema = pa.schema([("event_id", pa.string()), ("device_id", pa.string()), ("event_time", pa.timestamp("ms")),
                        ("value", pa.float64()), ("ingested_at", pa.timestamp("ms"))])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), sink)
    return sink.getvalue()


def _unload(plane: DataPlane, names: dict, where: str, destination: str) -> dict:
    athena = plane.client("athena")
    query = (f"UNLOAD (SELECT source, hour, count(*) AS events, max(value) AS max_value "
             f"FROM \"{names['database']}\".\"events\" WHERE {where} GROUP BY source, hour ORDER BY source)\n"
             f"TO 's3://{names['reports']}/{destination}'\nWITH (format = 'PARQUET', compression = 'SNAPPY')")
    started = athena.start_query_execution(QueryString=query, WorkGroup=names["workgroup"])
    return athena.get_query_execution(QueryExecutionId=started["QueryExecutionId"])["QueryExecution"]


# --- the data plane ----------------------------------------------------------------------------------

def test_the_stream_catalog_workgroup_and_schedule_come_from_the_graph(ingest_stack, plane):
    stream = ingest_stack.named("ingest-stream")
    summary = plane.client("kinesis").describe_stream_summary(StreamName=stream.outputs["name"])
    assert summary["StreamDescriptionSummary"]["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    # the mocks' ARNs lack the resource type; the twin maps them to the real shape the judge builds
    assert plane.names.twin(stream.outputs["arn"]) == summary["StreamDescriptionSummary"]["StreamARN"]
    table = plane.client("glue").get_table(DatabaseName=_names(ingest_stack)["database"], Name="events")["Table"]
    assert table["Parameters"]["storage.location.template"] == \
        ingest_stack.named("ingest-table").props["parameters"]["storage.location.template"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == \
        ["event_id", "device_id", "event_time", "value", "ingested_at"]
    workgroup = ingest_stack.named("ingest-workgroup")
    assert plane.names.twin(workgroup.outputs["arn"]).endswith(f":workgroup/{workgroup.props['name']}")
    athena = plane.client("athena")
    saved = athena.list_named_queries(WorkGroup=workgroup.props["name"])["NamedQueryIds"]
    assert {athena.get_named_query(NamedQueryId=i)["NamedQuery"]["Name"] for i in saved} == \
        {"hourly-counts-by-source", "value-percentiles", "device-last-seen"}
    [schedule] = plane.schedules
    assert json.loads(schedule.input) == {"rebuild": "previous_day"}
    assert schedule.function_arn == ingest_stack.named("ingest-report-fn").outputs["arn"]


# --- the Athena stand-in -----------------------------------------------------------------------------

def test_the_athena_stand_in_unloads_what_the_projection_covers(ingest_stack, plane):
    names, s3 = _names(ingest_stack), plane.client("s3")
    at = datetime.strptime(HOUR, "%Y-%m-%d-%H")
    rows = [{"event_id": f"e{i}", "device_id": "d", "event_time": at, "value": float(i), "ingested_at": at}
            for i in range(3)]
    for source in ("sensor", "satellite"):  # satellite is not in projection.source.values: Athena never reads it
        s3.put_object(Bucket=names["bucket"], Key=f"data/source={source}/hour={HOUR}/part.parquet", Body=_parquet(rows))

    execution = _unload(plane, names, f"hour = '{HOUR}'", "_staging/one/")

    assert execution["Status"]["State"] == "SUCCEEDED"
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=names["reports"], Prefix="_staging/one/")["Contents"]]
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=names["reports"], Key=key)["Body"].read()))
    assert table.to_pylist() == [{"source": "sensor", "hour": HOUR, "events": 3, "max_value": 2.0}]


def test_an_unload_into_a_used_destination_fails_and_one_of_no_rows_writes_nothing(ingest_stack, plane):
    names, s3 = _names(ingest_stack), plane.client("s3")
    s3.put_object(Bucket=names["reports"], Key="_staging/used/x", Body=b"x")
    failed = _unload(plane, names, f"hour = '{HOUR}'", "_staging/used/")
    assert failed["Status"]["State"] == "FAILED"
    assert "HIVE_PATH_ALREADY_EXISTS" in plane.athena[plane.region].failures[failed["QueryExecutionId"]]

    empty = _unload(plane, names, "hour = '2024-01-01-00'", "_staging/empty/")
    assert empty["Status"]["State"] == "SUCCEEDED"
    assert not s3.list_objects_v2(Bucket=names["reports"], Prefix="_staging/empty/").get("KeyCount")


# --- the judge: Athena and Glue ------------------------------------------------------------------------

def test_athena_calls_are_judged_on_the_workgroup_and_on_what_athena_does_as_the_caller(ingest_stack):
    names = _names(ingest_stack)
    scope = CallScope(StackFacts.from_snapshot(ingest_stack), region="eu-west-1")
    query = (f'UNLOAD (SELECT * FROM "{names["database"]}"."events" WHERE hour = \'{HOUR}\')\n'
             f"TO 's3://{names['reports']}/_staging/hour={HOUR}/abc/'\nWITH (format = 'PARQUET')")
    start = fakes.AwsCall("athena", "StartQueryExecution", {"QueryString": query, "WorkGroup": names["workgroup"]},
                          "eu-west-1", None)
    required = {(r.action, r.resource) for r in requirements_for(start, scope)}
    glue = "arn:aws:glue:eu-west-1:123456789012"
    assert ("athena:StartQueryExecution", f"arn:aws:athena:eu-west-1:123456789012:workgroup/{names['workgroup']}") \
        in required
    assert {("glue:GetTable", f"{glue}:table/{names['database']}/events"), ("glue:GetDatabase", f"{glue}:catalog"),
            ("s3:GetObject", f"arn:aws:s3:::{names['bucket']}/data/"),
            ("s3:PutObject", f"arn:aws:s3:::{names['reports']}/_staging/hour={HOUR}/abc/")} <= required
    assert any(action == "s3:PutObject" and "/results/" in resource for action, resource in required)

    poll = fakes.AwsCall("athena", "GetQueryExecution", {"QueryExecutionId": "q-1"}, "eu-west-1", None)
    with pytest.raises(UnmappedOperation, match="WorkGroup"):
        requirements_for(poll, scope)


def test_the_twin_names_the_workgroup_of_a_query_execution_for_the_judge(ingest_stack, plane):
    names = _names(ingest_stack)
    execution = _unload(plane, names, "hour = '2024-01-01-01'", "_staging/named/")
    poll = fakes.AwsCall("athena", "GetQueryExecution", {"QueryExecutionId": execution["QueryExecutionId"]},
                         plane.region, None)
    [named] = plane.athena[plane.region].with_workgroups([poll])
    assert named.params["WorkGroup"] == names["workgroup"]


# --- the scenario ------------------------------------------------------------------------------------

def test_the_event_set_is_one_percent_bad_and_one_percent_repeats():
    now = datetime(2026, 12, 6, 4, 0, tzinfo=timezone.utc)
    events = event_set(now, total=1_000)
    assert len(events.bad) == 10 and events.same_batch_repeats == 5 and len(events.later) == 5
    assert len(events.first) == 1_000 + 10 + 5
    assert events.hours == ["2026-12-05-10", "2026-12-05-11", "2026-12-05-12"]
    reference = reference_reports(events.stored)
    assert sum(r["events"] for r in reference.values()) == 1_000  # a repeat is counted once
    assert {hour for _, hour in reference} == set(events.hours)


def test_the_ingestion_scenario_is_green_with_the_real_runner(ingest_stack, python313):
    report = run_stack("dev", snapshot=ingest_stack, scenarios=INGESTION)

    [scenario] = [s for s in report.scenarios if s.name == "ingestion"]
    assert scenario.status == PASS, report.render()
    assert report.denied == [] and report.unjudged == []
    assert report.never_invoked == []  # the transform and the report function
    assert report.ok, report.render()


def test_a_grant_the_report_function_lacks_shows_as_a_denied_call(ingest_stack):
    changed = copy.deepcopy(ingest_stack)
    policy = changed.named("ingest-report-policy")
    document = json.loads(policy.props["policy"])
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "ReadEventsTable"]
    policy.props["policy"] = json.dumps(document)

    report = run_stack("dev", snapshot=changed, scenarios=INGESTION, runner=fakes.LambdaProcess,
                       artifact_for=fakes.artifact_from_resource)

    # Athena reads the catalog with the caller's permissions: without them every report query is denied.
    assert report.denied and all("glue:Get" in d for d in report.denied), report.denied
    assert not report.ok


def test_firehose_writes_its_delivery_role_does_not_allow_fail_the_scenario(ingest_stack):
    changed = copy.deepcopy(ingest_stack)
    policy = changed.named("ingest-delivery-policy")
    document = json.loads(policy.props["policy"])
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "WriteDataAndErrorPrefixes"]
    policy.props["policy"] = json.dumps(document)

    report = run_stack("dev", snapshot=changed, scenarios=INGESTION, runner=fakes.LambdaProcess,
                       artifact_for=fakes.artifact_from_resource)

    [scenario] = [s for s in report.scenarios if s.name == "ingestion"]
    assert [c.name for c in scenario.failed_checks] == [
        "Firehose's own reads, invokes and writes are allowed by its delivery role"], scenario.failed_checks
    assert "s3:PutObject" in scenario.failed_checks[0].detail
    assert not report.ok


class _Failing:
    """A runner whose every invocation raises (the interface of twin.lambda_process.LambdaProcess)."""

    def __init__(self, artifact, *, endpoint_url, region, extra_env=None):
        self.invocations = 0

    def invoke(self, event, *, request_id=None):
        self.invocations += 1
        return fakes.InvokeResult(None, {"errorType": "RuntimeError", "errorMessage": "boom"}, [], "", 1.0)

    def close(self):
        pass


def test_a_failing_scheduled_run_is_retried_by_lambda_then_sent_to_the_on_failure_destination(ingest_stack, plane):
    from twin.lambda_service import LambdaService

    service = LambdaService(plane, runner=_Failing, artifact_for=fakes.artifact_from_resource, judge=None)
    [schedule] = plane.schedules

    attempts = service.fire_schedule(schedule)

    assert len(attempts) == 3  # the function's FunctionEventInvokeConfig: 2 retries
    dlq = ingest_stack.named("ingest-report-async").props["destinationConfig"]["onFailure"]["destination"]
    [message] = plane.drain_queue(dlq)
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"rebuild": "previous_day"}
    assert record["responsePayload"]["errorMessage"] == "boom"
