"""ingest_transform: Firehose's data-transformation contract, the event schema, partition hours."""

from __future__ import annotations

import base64
import importlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest_transform.schema import OUTPUT_FIELDS, Settings, SettingsError
from ingest_transform.transform import DROPPED, FAILED, OK, hour_label, transform_records

NOW = datetime(2026, 12, 6, 12, 30, tzinfo=timezone.utc)
NOW_MS = int(NOW.timestamp() * 1000)
SETTINGS = Settings(sources=frozenset({"sensor", "gateway"}), max_record_bytes=2048)


def event(n: int = 1, **overrides) -> dict:
    body = {"event_id": f"evt-{n}", "device_id": "dev-1", "source": "sensor",
            "event_time": "2026-12-06T12:15:00.250+00:00", "value": 21.5}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def record(payload, record_id: str = "r1", arrival_ms: int = NOW_MS) -> dict:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return {"recordId": record_id, "approximateArrivalTimestamp": arrival_ms,
            "data": base64.b64encode(data).decode(),
            "kinesisRecordMetadata": {"shardId": "shardId-000000000000", "partitionKey": "dev-1",
                                      "approximateArrivalTimestamp": arrival_ms,
                                      "sequenceNumber": "1", "subsequenceNumber": ""}}


def run(*records) -> list[dict]:
    return transform_records(list(records), SETTINGS, NOW_MS).records


def only(payload) -> dict:
    return run(record(payload))[0]


def output(result: dict) -> dict:
    data = base64.b64decode(result["data"])
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    return json.loads(data)


def test_a_valid_event_is_ok_with_the_table_columns_and_partition_keys():
    result = only(event())
    assert result["result"] == OK
    assert list(output(result)) == list(OUTPUT_FIELDS)
    assert output(result) == {"event_id": "evt-1", "device_id": "dev-1", "event_time": NOW_MS - 15 * 60_000 + 250,
                              "value": 21.5, "ingested_at": NOW_MS}
    assert result["metadata"] == {"partitionKeys": {"source": "sensor", "hour": "2026-12-06-12"}}


def test_timestamps_with_an_offset_are_normalised_to_utc():
    result = only(event(event_time="2026-12-06T14:15:00+02:00"))
    assert output(result)["event_time"] == int(datetime(2026, 12, 6, 12, 15, tzinfo=timezone.utc).timestamp() * 1000)
    assert result["metadata"]["partitionKeys"]["hour"] == "2026-12-06-12"


def test_z_suffix_and_epoch_milliseconds_are_accepted():
    assert only(event(event_time="2026-12-06T12:00:00Z"))["result"] == OK
    assert output(only(event(event_time=NOW_MS - 1000)))["event_time"] == NOW_MS - 1000


def test_a_late_event_goes_to_the_hour_it_happened_in_not_the_arrival_hour():
    late = (NOW - timedelta(hours=5)).isoformat()
    result = only(event(event_time=late))
    assert result["metadata"]["partitionKeys"]["hour"] == "2026-12-06-07"
    assert output(result)["ingested_at"] == NOW_MS


def test_a_repeated_event_id_in_a_batch_is_dropped_and_the_first_is_kept():
    results = run(record(event(1, value=1.0), "a"), record(event(1, value=2.0), "b"), record(event(2), "c"))
    assert [r["result"] for r in results] == [OK, DROPPED, OK]
    assert output(results[0])["value"] == 1.0


@pytest.mark.parametrize("payload, reason", [
    (b"not json", "not UTF-8 JSON"),
    (b"\xff\xfe", "not UTF-8 JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"event_id": "a"} trailing', "after its JSON object"),
    (event(event_id=None), "event_id is required"),
    (event(device_id=None), "device_id is required"),
    (event(value=None), "value is required"),
    (event(event_id="has space"), "event_id must be"),
    (event(event_id="x" * 129), "event_id must be"),
    (event(device_id=7), "device_id must be"),
    (event(source="unknown"), "source is not one of"),
    (event(value="12"), "value must be a number"),
    (event(value=True), "value must be a number"),
    (b'{"event_id":"e","device_id":"d","source":"sensor","event_time":"2026-12-06T12:00:00Z","value":NaN}',
     "value must be finite"),
    (event(event_time="yesterday"), "not an ISO-8601 time"),
    (event(event_time="2026-12-06T12:00:00"), "no UTC offset"),
    (event(event_time=1.5), "ISO-8601 string or epoch milliseconds"),
    (event(event_time="2026-12-06T13:00:00Z"), "in the future"),
    (event(event_time="2026-11-01T00:00:00Z"), "older than"),
    (event(firmware="x" * 4096), "over 2048 bytes"),
])
def test_a_bad_record_is_processing_failed_with_its_original_data(payload, reason):
    r = record(payload)
    outcome = transform_records([r], SETTINGS, NOW_MS)
    assert outcome.records == [{"recordId": "r1", "result": FAILED, "data": r["data"]}]
    assert [key for key in outcome.reasons if reason in key], outcome.reasons


def test_data_that_is_not_base64_is_processing_failed():
    bad = {"recordId": "r1", "data": "***", "approximateArrivalTimestamp": NOW_MS}
    assert run(bad)[0]["result"] == FAILED


def test_an_invalid_repeat_is_failed_not_dropped():
    assert [r["result"] for r in run(record(event(1), "a"), record(event(1, value="x"), "b"))] == [OK, FAILED]


def test_unknown_fields_are_ignored_and_not_written():
    assert "firmware" not in output(only(event(firmware="1.2.3")))


def test_hour_labels_are_utc_hours():
    assert hour_label(0) == "1970-01-01-00"
    assert hour_label(NOW_MS) == "2026-12-06-12"


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                      max_size=3), max_leaves=6)
payloads = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda n, source, value, minutes: json.dumps(event(
        n % 5, source=source, value=value,
        event_time=(NOW - timedelta(minutes=minutes)).isoformat())).encode(),
        st.integers(0, 20), st.sampled_from(["sensor", "gateway", "nope"]),
        st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**6, 10**6), st.text(max_size=2)),
        st.integers(-30, 60 * 24 * 10)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(payloads, max_size=40))
def test_every_record_id_comes_back_exactly_once_in_order_with_a_valid_result(batch):
    records = [record(p, f"id-{i}") for i, p in enumerate(batch)]
    results = transform_records(records, SETTINGS, NOW_MS).records
    assert [r["recordId"] for r in results] == [r["recordId"] for r in records]
    seen = set()
    for source, result in zip(records, results):
        assert result["result"] in (OK, DROPPED, FAILED)
        base64.b64decode(result["data"], validate=True)
        if result["result"] == OK:
            assert set(result["metadata"]["partitionKeys"]) == {"source", "hour"}
            assert output(result)["event_id"] not in seen
            seen.add(output(result)["event_id"])
        else:
            assert result["data"] == source["data"]  # failed and dropped records keep their data


def test_settings_come_from_the_environment():
    s = Settings.from_env({"SOURCES": "a, b", "MAX_RECORD_BYTES": "100"})
    assert s.sources == frozenset({"a", "b"}) and s.max_record_bytes == 100
    with pytest.raises(SettingsError, match="SOURCES"):
        Settings.from_env({})
    with pytest.raises(SettingsError, match="MAX_EVENT_AGE_HOURS"):
        Settings.from_env({"SOURCES": "a", "MAX_EVENT_AGE_HOURS": "0"})


def test_the_handler_returns_the_records_and_logs_counts_as_an_emf_metric(monkeypatch, capsys):
    monkeypatch.setenv("SOURCES", "sensor")
    from ingest_transform import handler as module
    handler = importlib.reload(module)
    fresh = {**event(), "event_time": datetime.now(timezone.utc).isoformat()}
    response = handler.handler({"invocationId": "inv-1", "records": [record(fresh, "a"), record(b"x", "b")]}, None)
    assert [r["result"] for r in response["records"]] == [OK, FAILED]
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["ProcessingFailedRecords"] == 1 and log["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] == \
        "ProcessingFailedRecords"
    assert log["failure_reasons"] == {"record is not UTF-8 JSON": 1}  # reasons, never payloads
