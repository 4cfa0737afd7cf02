"""The ingestion producer: PutRecords batches within limits, only failed entries re-sent, on moto."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from serverless_blueprints import ingestion_producer as producer
from serverless_blueprints.ingestion_producer import (MAX_BYTES_PER_CALL, MAX_RECORDS_PER_CALL, Entry, RecordTooLarge,
                                                      batches, device_events, event_entry, put_records)


class FlakyKinesis:
    """PutRecords that fails the entries `fail(call, partition_key)` picks, as Kinesis reports them."""

    def __init__(self, fail):
        self.fail, self.calls = fail, []

    def put_records(self, StreamName, Records):  # noqa: N803 - boto3 names
        call = len(self.calls)
        self.calls.append([r["PartitionKey"] for r in Records])
        outcomes = [{"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"}
                    if self.fail(call, r["PartitionKey"]) else {"SequenceNumber": "1", "ShardId": "s"}
                    for r in Records]
        return {"FailedRecordCount": sum("ErrorCode" in o for o in outcomes), "Records": outcomes}


def entries(n: int, size: int = 10) -> list[Entry]:
    return [Entry(b"x" * size, f"k{i}") for i in range(n)]


def test_batches_stay_within_500_records_and_5_mib():
    assert [len(b) for b in batches(entries(1201))] == [500, 500, 201]
    big = entries(12, size=1_000_000)
    sized = list(batches(big))
    assert all(sum(e.size for e in b) <= MAX_BYTES_PER_CALL for b in sized)
    assert [len(b) for b in sized] == [5, 5, 2]
    assert max(len(b) for b in batches(entries(5000))) == MAX_RECORDS_PER_CALL


def test_a_record_over_one_mib_is_refused_before_sending():
    with pytest.raises(RecordTooLarge):
        list(batches([Entry(b"x" * 2**20, "k")]))


def test_only_failed_entries_are_resent_with_jittered_backoff():
    flaky = FlakyKinesis(lambda call, key: call == 0 and key in {"k1", "k3"})
    sleeps = []
    result = put_records(flaky, "s", entries(5), sleep=sleeps.append, rng=lambda: 0.5)
    assert flaky.calls == [["k0", "k1", "k2", "k3", "k4"], ["k1", "k3"]]
    assert (result.sent, result.retried, result.failed) == (5, 2, [])
    assert sleeps == [0.5 * 0.1 * 2]


def test_backoff_grows_and_is_capped():
    delays = [producer.backoff_seconds(a, 0.1, 5.0, lambda: 1.0) for a in range(1, 10)]
    assert delays[:3] == [0.2, 0.4, 0.8] and max(delays) == 5.0


def test_entries_still_failing_after_max_attempts_are_returned_not_lost():
    flaky = FlakyKinesis(lambda call, key: key == "k2")
    result = put_records(flaky, "s", entries(3), max_attempts=4, sleep=lambda s: None)
    assert len(flaky.calls) == 4 and flaky.calls[1:] == [["k2"]] * 3
    assert result.sent == 2 and [(e.partition_key, code) for e, code in result.failed] == \
        [("k2", "ProvisionedThroughputExceededException")]


def test_events_are_partitioned_by_device_and_sent_to_moto_kinesis():
    with mock_aws():
        kinesis = boto3.client("kinesis", region_name="eu-west-1")
        kinesis.create_stream(StreamName="events", ShardCount=2)
        events = device_events(1200, sources=["sensor"], devices=10)
        result = put_records(kinesis, "events", (event_entry(e) for e in events))
        assert (result.sent, result.calls, result.failed) == (1200, 3, [])
        received = []
        for shard in kinesis.list_shards(StreamName="events")["Shards"]:
            iterator = kinesis.get_shard_iterator(StreamName="events", ShardId=shard["ShardId"],
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            received += kinesis.get_records(ShardIterator=iterator, Limit=10_000)["Records"]
        assert sorted(json.loads(r["Data"])["event_id"] for r in received) == sorted(e["event_id"] for e in events)
        assert all(r["PartitionKey"] == json.loads(r["Data"])["device_id"] for r in received)


def test_the_cli_sends_rate_times_duration_events(capsys):
    flaky = FlakyKinesis(lambda call, key: False)
    code = producer.main(["--stream", "events", "--rate", "120", "--duration", "2"], client=flaky,
                         sleep=lambda s: None)
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"sent": 240, "calls": 2, "retried": 0, "failed": 0}


def test_the_cli_refuses_a_non_positive_rate():
    with pytest.raises(SystemExit):
        producer.main(["--stream", "events", "--rate", "0"], client=FlakyKinesis(lambda c, k: False))
