import json

import pytest

from policy import UNKNOWN, Resource
from policy.tokens import (BUCKET, BUCKET_NOTIFICATION, EVENT_SOURCE_MAPPING, FUNCTION, MANAGED_POLICY, QUEUE,
                           ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT, TOPIC, TOPIC_SUBSCRIPTION)

ACCOUNT = "123456789012"
FN_ARN = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:thumbnailer-1a2b3c4"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/thumbnailer-role-1a2b3c4"
QUEUE_ARN = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:uploads-queue-1a2b3c4"
TOPIC_ARN = f"arn:aws:sns:eu-west-1:{ACCOUNT}:uploads-topic-1a2b3c4"


def bucket(name):
    physical = f"{name}-1a2b3c4"
    return Resource(BUCKET, {"bucket": physical, "id": physical, "arn": f"arn:aws:s3:::{physical}"}, name=name)


UPLOADS, THUMBNAILS = bucket("uploads"), bucket("thumbnails")


def role():
    return Resource(ROLE, {"name": "thumbnailer-role-1a2b3c4", "arn": ROLE_ARN}, name="thumbnailer-role")


def function():
    return Resource(FUNCTION, {"name": "thumbnailer-1a2b3c4", "arn": FN_ARN, "role": ROLE_ARN}, name="thumbnailer")


def role_policy(*resources, actions=("s3:PutObject",)):
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}]}
    return Resource(ROLE_POLICY, {"role": "thumbnailer-role-1a2b3c4", "policy": json.dumps(document)}, name="thumbnailer-writes")


def notification(prefix="", **entry):
    target = entry or {"lambdaFunctions": [{"lambdaFunctionArn": FN_ARN, "events": ["s3:ObjectCreated:*"], "filterPrefix": prefix}]}
    return Resource(BUCKET_NOTIFICATION, {"bucket": UPLOADS.props["bucket"], **target}, name="uploads-notification")


def stack(*extra):
    return [UPLOADS, THUMBNAILS, role(), function(), *extra]


def test_writing_to_another_bucket_passes(violations):
    resources = stack(notification(), role_policy(f"{THUMBNAILS.props['arn']}/*"))
    assert violations("SB-TRIGGER-001", *resources) == []


def test_writing_back_into_the_trigger_bucket_is_reported(violations):
    resources = stack(notification(), role_policy(f"{UPLOADS.props['arn']}/*"))
    assert violations("SB-TRIGGER-001", *resources) == [
        "triggered by bucket 'uploads' (directly) but its role policy 'thumbnailer-writes' allows s3:PutObject on "
        "arn:aws:s3:::uploads-1a2b3c4/*: a write can re-trigger it"]


def test_writing_outside_the_trigger_prefix_passes(violations):
    resources = stack(notification(prefix="incoming/"), role_policy(f"{UPLOADS.props['arn']}/thumbnails/*"))
    assert violations("SB-TRIGGER-001", *resources) == []


@pytest.mark.parametrize("pattern", ["*", "arn:aws:s3:::uploads-*/*", "arn:aws:s3:::*/incoming/*"])
def test_wildcards_reaching_the_trigger_prefix_are_reported(violations, pattern):
    resources = stack(notification(prefix="incoming/"), role_policy(pattern))
    assert len(violations("SB-TRIGGER-001", *resources)) == 1


def test_service_wildcard_action_counts_as_a_write(violations):
    resources = stack(notification(), role_policy(f"{UPLOADS.props['arn']}/*", actions=("s3:Put*",)))
    assert len(violations("SB-TRIGGER-001", *resources)) == 1


def test_read_only_access_to_the_trigger_bucket_passes(violations):
    resources = stack(notification(), role_policy(f"{UPLOADS.props['arn']}/*", actions=("s3:GetObject",)))
    assert violations("SB-TRIGGER-001", *resources) == []


def test_delete_only_notifications_cannot_loop_on_writes(violations):
    entry = {"lambdaFunctions": [{"lambdaFunctionArn": FN_ARN, "events": ["s3:ObjectRemoved:*"]}]}
    resources = stack(notification(**entry), role_policy(f"{UPLOADS.props['arn']}/*"))
    assert violations("SB-TRIGGER-001", *resources) == []


def test_trigger_through_a_queue_is_followed(violations):
    queue = Resource(QUEUE, {"name": "uploads-queue-1a2b3c4", "arn": QUEUE_ARN}, name="uploads-queue")
    mapping = Resource(EVENT_SOURCE_MAPPING, {"eventSourceArn": QUEUE_ARN, "functionName": FN_ARN}, name="uploads-mapping")
    entry = {"queues": [{"queueArn": QUEUE_ARN, "events": ["s3:ObjectCreated:*"]}]}
    resources = stack(queue, mapping, notification(**entry), role_policy(f"{UPLOADS.props['arn']}/*"))
    assert len(violations("SB-TRIGGER-001", *resources)) == 1


def test_trigger_through_a_topic_is_followed(violations):
    topic = Resource(TOPIC, {"name": "uploads-topic-1a2b3c4", "arn": TOPIC_ARN}, name="uploads-topic")
    subscription = Resource(TOPIC_SUBSCRIPTION, {"topic": TOPIC_ARN, "protocol": "lambda", "endpoint": FN_ARN}, name="sub")
    entry = {"topics": [{"topicArn": TOPIC_ARN, "events": ["s3:ObjectCreated:Put"]}]}
    resources = stack(topic, subscription, notification(**entry), role_policy(f"{UPLOADS.props['arn']}/*"))
    assert len(violations("SB-TRIGGER-001", *resources)) == 1


def test_broad_aws_managed_policy_is_reported(violations):
    attachment = Resource(ROLE_POLICY_ATTACHMENT, {"role": "thumbnailer-role-1a2b3c4",
                          "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}, name="s3-full")
    assert violations("SB-TRIGGER-001", *stack(notification(), attachment)) == [
        "triggered by bucket 'uploads' (directly) and managed AmazonS3FullAccess lets it write there"]


def test_customer_managed_policy_attached_to_the_role_is_read(violations):
    policy_arn = f"arn:aws:iam::{ACCOUNT}:policy/thumbnailer-writes-1a2b3c4"
    document = {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{UPLOADS.props['arn']}/*"}]}
    policy = Resource(MANAGED_POLICY, {"name": "thumbnailer-writes-1a2b3c4", "arn": policy_arn, "policy": json.dumps(document)}, name="writes")
    attachment = Resource(ROLE_POLICY_ATTACHMENT, {"role": "thumbnailer-role-1a2b3c4", "policyArn": policy_arn}, name="attach")
    assert len(violations("SB-TRIGGER-001", *stack(notification(), policy, attachment))) == 1


def test_inline_role_policy_is_read(violations):
    document = {"Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{UPLOADS.props['arn']}/*"}]}
    inline_role = Resource(ROLE, {"name": "thumbnailer-role-1a2b3c4", "arn": ROLE_ARN,
                                  "inlinePolicies": [{"name": "writes", "policy": json.dumps(document)}]}, name="thumbnailer-role")
    resources = [UPLOADS, THUMBNAILS, inline_role, function(), notification()]
    assert len(violations("SB-TRIGGER-001", *resources)) == 1


def test_unknown_policy_document_is_not_reported(violations):
    policy = role_policy(f"{UPLOADS.props['arn']}/*")
    policy.props["policy"] = UNKNOWN
    assert violations("SB-TRIGGER-001", *stack(notification(), policy)) == []
