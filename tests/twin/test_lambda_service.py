"""The twin's Lambda service: event source mappings, S3/SNS -> Lambda and API Gateway, from the recorded wiring.

Functions are scripted here (tests/twin/fakes.py), so each test states exactly what the function
answers and checks what the emulated service does with it; the real functions run in test_scenarios.
"""
from __future__ import annotations

import contextlib
import copy
import json
from typing import Iterator
from urllib.parse import unquote_plus

import pytest

from offline.harness import RecordedResource, StackSnapshot
from tests.twin.fakes import ScriptedRunner, artifact_from_resource
from twin.lambda_service import LambdaService, gateways
from twin.scenarios import Twin, token_headers
from twin.stack import build_data_plane, moto_server

ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"


@contextlib.contextmanager
def twin_of(snapshot: StackSnapshot, runner: ScriptedRunner) -> Iterator[Twin]:
    with moto_server() as endpoint:
        plane = build_data_plane(snapshot, endpoint)
        service = LambdaService(plane, runner=runner, artifact_for=artifact_from_resource, judge=None)
        try:
            yield Twin(snapshot.stack, snapshot, plane, service, gateways(service))
        finally:
            service.close()


def mapping_named(snapshot: StackSnapshot, name: str) -> RecordedResource:
    return next(m for m in snapshot.of_type(ESM) if m.name == name)


def table_of_stream(mapping: RecordedResource) -> str:
    return mapping.props["eventSourceArn"].split("table/")[1].split("/stream/")[0]


def function_name(snapshot: StackSnapshot, arn: str) -> str:
    return arn.rsplit(":", 1)[1]


def _with(snapshot: StackSnapshot, edit) -> StackSnapshot:
    changed = copy.deepcopy(snapshot)
    edit(changed)
    return changed


def no_failures(name: str, event: dict) -> dict:
    return {"batchItemFailures": []}


# ---------------------------------------------------------------------------------------------- streams

def test_stream_filter_that_excludes_the_record_invokes_nothing(dev_stack):
    mapping = mapping_named(dev_stack, "blog-welcome-stream")
    welcome = function_name(dev_stack, mapping.props["functionName"])
    runner = ScriptedRunner(no_failures)
    with twin_of(dev_stack, runner) as twin:
        table = table_of_stream(mapping)
        replicated = {"pk": "SUBSCRIBER#a@example.com", "sk": "PROFILE", "type": "subscriber", "status": "pending",
                      "email": "a@example.com", "originRegion": "us-east-1"}
        twin.put_item(table, replicated)
        twin.service.pump()
        assert runner.events_of(welcome) == []
        stats = twin.service.mapping_for(welcome)[0].stats
        assert (stats.received, stats.filtered_out, stats.invocations) == (1, 1, 0)

        twin.put_item(table, {**replicated, "pk": "SUBSCRIBER#b@example.com", "email": "b@example.com",
                              "originRegion": "eu-west-1"})
        twin.service.pump()
        [event] = runner.events_of(welcome)
        assert [r["dynamodb"]["NewImage"]["email"]["S"] for r in event["Records"]] == ["b@example.com"]
        assert event["Records"][0]["eventSourceARN"] == twin.plane.names.twin(mapping.props["eventSourceArn"])


def _outbox_items(twin: Twin, table: str, ids: list[str]) -> None:
    for event_id in ids:
        twin.put_item(table, {"eventId": event_id, "expiresAt": 4102444800})


def _ids(event: dict) -> list[str]:
    return [r["dynamodb"]["NewImage"]["eventId"]["S"] for r in event["Records"]]


def test_stream_batch_item_failure_retries_from_the_first_failed_record(dev_stack):
    mapping = mapping_named(dev_stack, "outbox-relay-stream")
    relay = function_name(dev_stack, mapping.props["functionName"])
    calls = []

    def relay_fails_b_once(name: str, event: dict) -> dict:
        calls.append(_ids(event))
        failed = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]
                  if r["dynamodb"]["NewImage"]["eventId"]["S"] == "b" and len(calls) == 1]
        return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}

    with twin_of(dev_stack, ScriptedRunner(relay_fails_b_once)) as twin:
        _outbox_items(twin, table_of_stream(mapping), ["a", "b", "c"])
        twin.service.pump()
    assert calls == [["a", "b", "c"], ["b", "c"]]


def test_stream_errors_bisect_then_retry_until_the_on_failure_destination(dev_stack):
    mapping = mapping_named(dev_stack, "outbox-relay-stream")
    retries = mapping.props["maximumRetryAttempts"]
    destination = mapping.props["destinationConfig"]["onFailure"]["destinationArn"]
    calls = []

    def relay_raises_on_poison(name: str, event: dict) -> dict:
        calls.append(_ids(event))
        if "poison" in _ids(event):
            raise RuntimeError("cannot relay")
        return {"batchItemFailures": []}

    with twin_of(dev_stack, ScriptedRunner(relay_raises_on_poison)) as twin:
        _outbox_items(twin, table_of_stream(mapping), ["a", "b", "poison", "c"])
        twin.service.pump()
        [failure] = twin.plane.drain_queue(destination)
    assert calls[:4] == [["a", "b", "poison", "c"], ["a", "b"], ["poison", "c"], ["poison"]]
    assert calls.count(["poison"]) == 1 + retries
    assert calls[-1] == ["c"]
    record = json.loads(failure["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1


def test_stream_records_older_than_the_maximum_age_go_to_the_destination_unprocessed(dev_stack):
    def expire_at_once(snapshot: StackSnapshot) -> None:
        snapshot.named("outbox-relay-stream").props["maximumRecordAgeInSeconds"] = 0

    snapshot = _with(dev_stack, expire_at_once)
    mapping = mapping_named(snapshot, "outbox-relay-stream")
    runner = ScriptedRunner(no_failures)
    with twin_of(snapshot, runner) as twin:
        _outbox_items(twin, table_of_stream(mapping), ["late"])
        twin.service.pump()
        [failure] = twin.plane.drain_queue(mapping.props["destinationConfig"]["onFailure"]["destinationArn"])
    assert runner.events == []
    assert json.loads(failure["Body"])["requestContext"]["condition"] == "RecordAgeExceeded"


# ---------------------------------------------------------------------------------------------- SQS

def test_sqs_mapping_deletes_only_successes_and_redrive_parks_the_poison(dev_stack):
    mapping = mapping_named(dev_stack, "outbox-shipping-queue")
    consumer = function_name(dev_stack, mapping.props["functionName"])
    queue = next(q for q in dev_stack.of_type("aws:sqs/queue:Queue") if q.outputs["arn"] == mapping.props["eventSourceArn"])
    redrive = json.loads(queue.props["redrivePolicy"])

    def consumer_rejects_poison(name: str, event: dict) -> dict:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                                      if r["body"] == "poison"]}

    runner = ScriptedRunner(consumer_rejects_poison)
    with twin_of(dev_stack, runner) as twin:
        sqs = twin.plane.client("sqs")
        url = twin.plane.queue_url(queue.outputs["arn"])
        sqs.send_message(QueueUrl=url, MessageBody="good")
        sqs.send_message(QueueUrl=url, MessageBody="poison")
        twin.service.pump()
        parked = twin.plane.drain_queue(redrive["deadLetterTargetArn"])
        assert twin.plane.queue_depth(queue.outputs["arn"]) == 0
    bodies = [r["body"] for event in runner.events_of(consumer) for r in event["Records"]]
    assert bodies.count("good") == 1
    assert bodies.count("poison") == redrive["maxReceiveCount"]
    assert [m["Body"] for m in parked] == ["poison"]


# ---------------------------------------------------------------------------------------------- S3 / SNS -> Lambda

def test_s3_notification_to_a_function_invokes_it_with_the_s3_event(dev_stack):
    worker_arn = next(m.props["functionName"] for m in dev_stack.of_type(ESM) if m.name == "photos-queue-mapping")

    def to_the_function(snapshot: StackSnapshot) -> None:
        notification = next(n for n in snapshot.of_type("aws:s3/bucketNotification:BucketNotification"))
        notification.props["lambdaFunctions"] = [{"lambdaFunctionArn": worker_arn, "events": ["s3:ObjectCreated:*"],
                                                  "filterPrefix": "uploads/"}]
        notification.props["queues"] = []

    snapshot = _with(dev_stack, to_the_function)
    runner = ScriptedRunner(lambda name, event: None)
    with twin_of(snapshot, runner) as twin:
        bucket = next(n for n in snapshot.of_type("aws:s3/bucketNotification:BucketNotification")).props["bucket"]
        twin.plane.client("s3").put_object(Bucket=bucket, Key="uploads/a.jpg", Body=b"x")
        twin.plane.client("s3").put_object(Bucket=bucket, Key="elsewhere/b.jpg", Body=b"x")
        twin.service.pump()
    [event] = runner.events_of(worker_arn.rsplit(":", 1)[1])
    assert [unquote_plus(r["s3"]["object"]["key"]) for r in event["Records"]] == ["uploads/a.jpg"]


def test_sns_subscription_of_a_function_invokes_it_with_the_sns_event(prod_stack):
    topic = prod_stack.of_type("aws:sns/topic:Topic")[0]
    worker_arn = next(m.props["functionName"] for m in prod_stack.of_type(ESM) if m.name == "photos-queue-mapping")

    def subscribe(snapshot: StackSnapshot) -> None:
        snapshot.resources.append(RecordedResource(
            urn="urn:pulumi:prod::serverless-blueprints::aws:sns/topicSubscription:TopicSubscription::twin-test",
            resource_type="aws:sns/topicSubscription:TopicSubscription", name="twin-test", custom=True,
            props={"topic": topic.outputs["arn"], "protocol": "lambda", "endpoint": worker_arn},
            outputs={"_region": topic.region}))

    runner = ScriptedRunner(lambda name, event: None)
    with twin_of(_with(prod_stack, subscribe), runner) as twin:
        twin.plane.client("sns").publish(TopicArn=topic.outputs["arn"], Message="thumbnails ready")
        twin.service.pump()
    [event] = runner.events_of(worker_arn.rsplit(":", 1)[1])
    assert event["Records"][0]["EventSource"] == "aws:sns"
    assert event["Records"][0]["Sns"]["Message"] == "thumbnails ready"


# ---------------------------------------------------------------------------------------------- API Gateway

def _echo_caller(name: str, event: dict) -> dict:
    claims = (event["requestContext"].get("authorizer") or {}).get("claims") or {}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"sub": claims.get("sub"), "resource": event["resource"],
                                "pathParameters": event["pathParameters"], "tokenUse": claims.get("token_use")})}


@pytest.fixture(scope="module")
def prod_todo(prod_stack):
    runner = ScriptedRunner(_echo_caller)
    with twin_of(prod_stack, runner) as twin:
        component = next(r for r in prod_stack.resources if r.resource_type.endswith(":ServerlessRestApi"))
        client = twin.one_under(component, "aws:cognito/userPoolClient:UserPoolClient")
        yield twin, twin.api_under(component), client, runner


def test_unauthenticated_call_gets_401_without_invoking(prod_todo):
    twin, api, _, runner = prod_todo
    before = len(runner.events)
    assert api.request("GET", "/todos").status == 401
    assert api.request("GET", "/todos", headers={"X-Id-Token": "not.a.token"}).status == 401
    assert len(runner.events) == before


def test_claims_come_from_a_real_cognito_id_token_in_the_recorded_header(prod_todo):
    twin, api, client, _ = prod_todo
    user = twin.user(client, "claims@example.com")
    assert set(token_headers(api, user)) == {"X-Id-Token"}
    answer = api.request("GET", "/todos/abc", headers=token_headers(api, user))
    assert answer.status == 200
    assert answer.json() == {"sub": user.sub, "resource": "/todos/{todoId}", "pathParameters": {"todoId": "abc"},
                             "tokenUse": "id"}
    # The access token is not an ID token: API Gateway's Cognito authorizer refuses it for claims.
    assert api.request("GET", "/todos/abc", headers={"Authorization": user.id_token}).status == 401


def test_cache_key_includes_caller_identity(prod_todo):
    twin, api, client, runner = prod_todo
    first, second = twin.user(client, "one@example.com"), twin.user(client, "two@example.com")
    one = api.request("GET", "/todos", headers=token_headers(api, first))
    two = api.request("GET", "/todos", headers=token_headers(api, second))
    assert (one.json()["sub"], two.json()["sub"]) == (first.sub, second.sub)
    before = len(runner.events)
    repeat = api.request("GET", "/todos", headers=token_headers(api, first))
    assert repeat.cached and repeat.json()["sub"] == first.sub
    assert len(runner.events) == before


def test_uncached_stage_invokes_every_time(dev_stack):
    runner = ScriptedRunner(_echo_caller)
    with twin_of(dev_stack, runner) as twin:
        component = next(r for r in dev_stack.resources if r.resource_type.endswith(":ServerlessRestApi"))
        api = twin.api_under(component)
        user = twin.user(twin.one_under(component, "aws:cognito/userPoolClient:UserPoolClient"), "dev@example.com")
        answers = [api.request("GET", "/todos", headers=token_headers(api, user)) for _ in range(2)]
    assert [a.cached for a in answers] == [False, False]
    assert len(runner.events) == 2
