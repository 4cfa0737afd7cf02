"""The twin's data plane is built from the recorded graph: change the graph, and the twin changes."""
from __future__ import annotations

import contextlib
import copy
import json
from typing import Iterator

import pytest

from offline.harness import RecordedResource, StackSnapshot
from twin.stack import DataPlane, build_data_plane, moto_server


@contextlib.contextmanager
def plane_of(snapshot: StackSnapshot) -> Iterator[DataPlane]:
    with moto_server() as endpoint:
        yield build_data_plane(snapshot, endpoint)


@pytest.fixture(scope="module")
def dev_plane(dev_stack) -> Iterator[DataPlane]:
    with plane_of(dev_stack) as plane:
        yield plane


def _named(snapshot: StackSnapshot, name: str):
    return snapshot.named(name)


def test_tables_keep_recorded_keys_indexes_streams_and_ttl(dev_stack, dev_plane):
    dynamodb = dev_plane.client("dynamodb")
    blog = _named(dev_stack, "blog-table")
    table = dynamodb.describe_table(TableName=blog.outputs["name"])["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        blog.props["hashKey"]: "HASH", blog.props["rangeKey"]: "RANGE"}
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == blog.props["globalSecondaryIndexes"][0]["name"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": blog.props["streamViewType"]}
    outbox = _named(dev_stack, "outbox-outbox")
    ttl = dynamodb.describe_time_to_live(TableName=outbox.outputs["name"])["TimeToLiveDescription"]
    assert ttl["AttributeName"] == outbox.props["ttl"]["attributeName"]


def test_stream_arns_are_translated_to_the_twins(dev_stack, dev_plane):
    blog = _named(dev_stack, "blog-table")
    twin_arn = dev_plane.names.twin(blog.outputs["streamArn"])
    assert twin_arn != blog.outputs["streamArn"]
    assert twin_arn == dev_plane.client("dynamodb").describe_table(
        TableName=blog.outputs["name"])["Table"]["LatestStreamArn"]


def test_queues_keep_their_redrive_policy(dev_stack, dev_plane):
    queue = _named(dev_stack, "photos-queue")
    attributes = dev_plane.client("sqs").get_queue_attributes(
        QueueUrl=dev_plane.queue_url(queue.outputs["arn"]), AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"]) == json.loads(queue.props["redrivePolicy"])
    assert attributes["VisibilityTimeout"] == str(queue.props["visibilityTimeoutSeconds"])


def test_bucket_notification_delivers_matching_uploads_to_the_queue(dev_stack, dev_plane):
    notification = _named(dev_stack, "photos-upload-events")
    target = notification.props["queues"][0]
    s3 = dev_plane.client("s3")
    s3.put_object(Bucket=notification.props["bucket"], Key=f"{target['filterPrefix']}a{target['filterSuffix']}", Body=b"x")
    s3.put_object(Bucket=notification.props["bucket"], Key=f"elsewhere/b{target['filterSuffix']}", Body=b"x")
    s3.put_object(Bucket=notification.props["bucket"], Key=f"{target['filterPrefix']}c.txt", Body=b"x")
    messages = dev_plane.drain_queue(target["queueArn"])
    keys = [r["s3"]["object"]["key"] for m in messages for r in json.loads(m["Body"]).get("Records", [])]
    assert len(keys) == 1 and keys[0].endswith(f"a{target['filterSuffix']}")


def test_event_rule_delivers_matching_events_to_its_target_queue(dev_stack, dev_plane):
    rule = _named(dev_stack, "outbox-order-created")
    target = next(t for t in dev_stack.of_type("aws:cloudwatch/eventTarget:EventTarget") if t.props["rule"] == rule.outputs["name"])
    pattern = json.loads(rule.props["eventPattern"])
    events = dev_plane.client("events")
    events.put_events(Entries=[
        {"EventBusName": rule.props["eventBusName"], "Source": pattern["source"][0],
         "DetailType": pattern["detail-type"][0], "Detail": "{}"},
        {"EventBusName": rule.props["eventBusName"], "Source": pattern["source"][0], "DetailType": "Other", "Detail": "{}"}])
    bodies = [json.loads(m["Body"]) for m in dev_plane.drain_queue(target.props["arn"])]
    assert [b["detail-type"] for b in bodies] == [pattern["detail-type"][0]]


def test_ses_identity_template_and_configuration_set_exist(dev_stack, dev_plane):
    identity = dev_stack.of_type("aws:sesv2/emailIdentity:EmailIdentity")[0].props["emailIdentity"]
    template = dev_stack.of_type("aws:ses/template:Template")[0].props["name"]
    ses = dev_plane.client("ses")
    assert identity in ses.list_identities()["Identities"]
    assert ses.get_template(TemplateName=template)["Template"]["SubjectPart"]
    config_set = dev_stack.of_type("aws:sesv2/configurationSet:ConfigurationSet")[0].props["configurationSetName"]
    assert dev_plane.client("sesv2").get_configuration_set(ConfigurationSetName=config_set)


def test_cognito_ids_are_translated_in_one_place(dev_stack, dev_plane):
    for pool in dev_stack.of_type("aws:cognito/userPool:UserPool"):
        twin_id = dev_plane.names.twin(pool.outputs["id"])
        described = dev_plane.client("cognito-idp").describe_user_pool(UserPoolId=twin_id)["UserPool"]
        assert described["Name"] == pool.outputs["name"]
        assert dev_plane.names.twin(pool.outputs["arn"]) == described["Arn"]
        assert dev_plane.names.to_recorded()[twin_id] == pool.outputs["id"]


def test_everything_else_keeps_its_physical_name(dev_stack, dev_plane):
    for typ in ("aws:dynamodb/table:Table", "aws:sqs/queue:Queue", "aws:s3/bucket:Bucket"):
        for resource in dev_stack.of_type(typ):
            assert dev_plane.names.twin(resource.outputs["name"]) == resource.outputs["name"]
            assert dev_plane.names.twin(resource.outputs["arn"]) == resource.outputs["arn"]


def test_prod_dax_function_runs_against_dynamodb_and_says_so(prod_stack):
    with plane_of(prod_stack) as plane:
        [function] = [f for f in prod_stack.of_type("aws:lambda/function:Function")
                      if (f.props["environment"]["variables"].get("DAX_ENDPOINT") or "").startswith("dax")]
        assert plane.overrides[function.outputs["name"]] == {"DAX_ENDPOINT": ""}
        assert function.outputs["name"] in plane.dax_functions
        assert any("no DAX data plane" in note.text for note in plane.notes)
        assert any("replicas" in note.text for note in plane.notes)


def test_a_component_change_changes_the_twin(dev_stack):
    changed = copy.deepcopy(dev_stack)
    queue = changed.named("photos-queue")
    queue.props["visibilityTimeoutSeconds"] = 123
    blog = changed.named("blog-table")
    blog.props["ttl"] = {"enabled": True, "attributeName": "goneAt"}
    with plane_of(changed) as plane:
        attributes = plane.client("sqs").get_queue_attributes(
            QueueUrl=plane.queue_url(queue.outputs["arn"]), AttributeNames=["VisibilityTimeout"])["Attributes"]
        ttl = plane.client("dynamodb").describe_time_to_live(TableName=blog.outputs["name"])["TimeToLiveDescription"]
    assert attributes["VisibilityTimeout"] == "123"
    assert ttl["AttributeName"] == "goneAt"


def test_secrets_are_created_with_their_recorded_value(dev_stack):
    changed = copy.deepcopy(dev_stack)
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:twin-test-AbCdEf"
    changed.resources += [
        RecordedResource(urn="urn:twin-test-secret", resource_type="aws:secretsmanager/secret:Secret",
                         name="twin-test", custom=True, props={"name": "twin-test"},
                         outputs={"arn": arn, "id": arn, "name": "twin-test", "_region": "eu-west-1"}),
        RecordedResource(urn="urn:twin-test-secret-version", resource_type="aws:secretsmanager/secretVersion:SecretVersion",
                         name="twin-test-value", custom=True, props={"secretId": arn, "secretString": "s3cr3t"},
                         outputs={"_region": "eu-west-1"})]
    with plane_of(changed) as plane:
        value = plane.client("secretsmanager").get_secret_value(SecretId="twin-test")["SecretString"]
    assert value == "s3cr3t"
