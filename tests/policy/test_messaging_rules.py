import json

from policy import UNKNOWN, Resource
from policy.tokens import (EVENT_BUS_POLICY, EVENT_PERMISSION, EVENT_SOURCE_MAPPING, EVENT_TARGET, QUEUE,
                           QUEUE_POLICY, QUEUE_REDRIVE_POLICY, TOPIC, TOPIC_POLICY, TOPIC_SUBSCRIPTION)

ACCOUNT = "123456789012"
QUEUE_URL = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/jobs-1a2b3c4"
QUEUE_ARN = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs-1a2b3c4"
DLQ_ARN = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:jobs-dlq-1a2b3c4"
TOPIC_ARN = f"arn:aws:sns:eu-west-1:{ACCOUNT}:events-1a2b3c4"


def tls_policy(service, resource):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": f"{service}:*",
        "Resource": resource, "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})


def queue(**overrides):
    props = {"name": "jobs-1a2b3c4", "arn": QUEUE_ARN, "url": QUEUE_URL, "id": QUEUE_URL, "sqsManagedSseEnabled": True,
             "redrivePolicy": json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5})}
    props.update(overrides)
    return Resource(QUEUE, {k: v for k, v in props.items() if v is not None}, name="jobs")


def dlq():
    return Resource(QUEUE, {"name": "jobs-dlq-1a2b3c4", "arn": DLQ_ARN, "sqsManagedSseEnabled": True}, name="jobs-dlq")


# SB-SQS-001 encryption

def test_sse_sqs_queue_passes(violations):
    assert violations("SB-SQS-001", queue()) == []


def test_kms_queue_passes(violations):
    assert violations("SB-SQS-001", queue(sqsManagedSseEnabled=None, kmsMasterKeyId="alias/aws/sqs")) == []


def test_unencrypted_queue_is_reported(violations):
    assert violations("SB-SQS-001", queue(sqsManagedSseEnabled=False)) == ["neither sqsManagedSseEnabled nor kmsMasterKeyId is set"]


# SB-SQS-002 TLS-only queue policy

def test_queue_with_tls_only_queue_policy_passes(violations):
    policy = Resource(QUEUE_POLICY, {"queueUrl": QUEUE_URL, "policy": tls_policy("sqs", QUEUE_ARN)}, name="jobs-policy")
    assert violations("SB-SQS-002", queue(), policy) == []


def test_queue_with_inline_tls_only_policy_passes(violations):
    assert violations("SB-SQS-002", queue(policy=tls_policy("sqs", QUEUE_ARN))) == []


def test_queue_without_tls_only_policy_is_reported(violations):
    assert violations("SB-SQS-002", queue()) == ["no policy denies non-TLS access"]


def test_queue_policy_with_unknown_document_is_not_reported(violations):
    policy = Resource(QUEUE_POLICY, {"queueUrl": QUEUE_URL, "policy": UNKNOWN}, name="jobs-policy")
    assert violations("SB-SQS-002", queue(), policy) == []


def test_queue_policy_with_unknown_queue_url_is_not_reported(violations):
    policy = Resource(QUEUE_POLICY, {"queueUrl": UNKNOWN, "policy": tls_policy("sqs", "*")}, name="other-policy")
    assert violations("SB-SQS-002", queue(), policy) == []


# SB-SQS-003 redrive with maxReceiveCount >= 5

def test_queue_with_redrive_and_its_dlq_pass(violations):
    assert violations("SB-SQS-003", queue(), dlq()) == []


def test_queue_without_redrive_is_reported(violations):
    assert violations("SB-SQS-003", queue(redrivePolicy=None), dlq()) == [
        "no redrive policy (and no other resource uses it as a DLQ)",
        "no redrive policy (and no other resource uses it as a DLQ)"]


def test_low_max_receive_count_is_reported(violations):
    low = queue(redrivePolicy=json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 2}))
    assert violations("SB-SQS-003", low, dlq()) == ["maxReceiveCount 2 < 5"]


def test_separate_redrive_policy_resource_counts(violations):
    redrive = Resource(QUEUE_REDRIVE_POLICY, {"queueUrl": QUEUE_URL,
                       "redrivePolicy": json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 10})}, name="jobs-redrive")
    assert violations("SB-SQS-003", queue(redrivePolicy=None), dlq(), redrive) == []


def test_queue_used_as_stream_failure_destination_is_a_dlq(violations):
    failures = Resource(QUEUE, {"name": "failures-1a2b3c4", "arn": f"arn:aws:sqs:eu-west-1:{ACCOUNT}:failures-1a2b3c4"}, name="failures")
    mapping = Resource(EVENT_SOURCE_MAPPING, {"eventSourceArn": "arn:aws:dynamodb:eu-west-1:1:table/t/stream/x",
                       "destinationConfig": {"onFailure": {"destinationArn": failures.props["arn"]}}}, name="m")
    assert violations("SB-SQS-003", failures, mapping) == []


def test_unknown_dead_letter_reference_keeps_queues_unjudged(violations):
    target = Resource(EVENT_TARGET, {"arn": "arn:aws:lambda:eu-west-1:1:function:f", "deadLetterConfig": {"arn": UNKNOWN}}, name="t")
    assert violations("SB-SQS-003", dlq(), target) == []


def test_unknown_max_receive_count_is_not_reported(violations):
    assert violations("SB-SQS-003", queue(redrivePolicy=UNKNOWN), dlq()) == []


# SB-SNS-001 encryption

def test_encrypted_topic_passes(violations):
    assert violations("SB-SNS-001", Resource(TOPIC, {"kmsMasterKeyId": "alias/aws/sns"}, name="events")) == []


def test_unencrypted_topic_is_reported(violations):
    assert violations("SB-SNS-001", Resource(TOPIC, {}, name="events")) == ["no kmsMasterKeyId"]


# SB-SNS-002 TLS-only topic policy

def topic():
    return Resource(TOPIC, {"arn": TOPIC_ARN, "name": "events-1a2b3c4", "kmsMasterKeyId": "alias/aws/sns"}, name="events")


def test_topic_with_tls_only_policy_passes(violations):
    policy = Resource(TOPIC_POLICY, {"arn": TOPIC_ARN, "policy": tls_policy("sns", TOPIC_ARN)}, name="events-policy")
    assert violations("SB-SNS-002", topic(), policy) == []


def test_topic_without_tls_only_policy_is_reported(violations):
    assert violations("SB-SNS-002", topic()) == ["no policy denies non-TLS access"]


def test_allow_only_topic_policy_is_reported(violations):
    allow = json.dumps({"Statement": {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                                      "Action": "sns:Publish", "Resource": TOPIC_ARN}})
    policy = Resource(TOPIC_POLICY, {"arn": TOPIC_ARN, "policy": allow}, name="events-policy")
    assert violations("SB-SNS-002", topic(), policy) == ["no policy denies non-TLS access"]


# SB-SNS-003 subscription redrive

def subscription(protocol="lambda", redrive=json.dumps({"deadLetterTargetArn": DLQ_ARN})):
    props = {"topic": TOPIC_ARN, "protocol": protocol, "endpoint": "arn:aws:lambda:eu-west-1:1:function:f"}
    if redrive is not None:
        props["redrivePolicy"] = redrive
    return Resource(TOPIC_SUBSCRIPTION, props, name="sub")


def test_lambda_subscription_with_dlq_passes(violations):
    assert violations("SB-SNS-003", subscription()) == []


def test_lambda_subscription_without_dlq_is_reported(violations):
    assert violations("SB-SNS-003", subscription(redrive=None)) == ["lambda subscription without a redrive policy"]


def test_email_subscription_needs_no_dlq(violations):
    assert violations("SB-SNS-003", subscription(protocol="email", redrive=None)) == []


def test_unknown_subscription_redrive_is_not_reported(violations):
    assert violations("SB-SNS-003", subscription(redrive=UNKNOWN)) == []


# SB-EVENTS-001 targets have a DLQ and retry policy

def test_target_with_dlq_and_retry_passes(violations):
    target = Resource(EVENT_TARGET, {"rule": "r", "arn": "arn:aws:lambda:eu-west-1:1:function:f", "deadLetterConfig": {"arn": DLQ_ARN},
                                     "retryPolicy": {"maximumRetryAttempts": 4, "maximumEventAgeInSeconds": 3600}}, name="t")
    assert violations("SB-EVENTS-001", target) == []


def test_target_without_dlq_or_retry_is_reported(violations):
    target = Resource(EVENT_TARGET, {"rule": "r", "arn": "arn:aws:lambda:eu-west-1:1:function:f"}, name="t")
    assert violations("SB-EVENTS-001", target) == ["no deadLetterConfig", "no retryPolicy"]


# SB-EVENTS-002 no open bus policy

def bus_policy(statement):
    return Resource(EVENT_BUS_POLICY, {"eventBusName": "orders", "policy": json.dumps({"Statement": [statement]})}, name="bus-policy")


def test_bus_policy_for_named_account_passes(violations):
    statement = {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
                 "Action": "events:PutEvents", "Resource": "arn:aws:events:eu-west-1:1:event-bus/orders"}
    assert violations("SB-EVENTS-002", bus_policy(statement)) == []


def test_bus_policy_open_to_org_with_condition_passes(violations):
    statement = {"Sid": "Org", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": "*",
                 "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}}
    assert violations("SB-EVENTS-002", bus_policy(statement)) == []


def test_bus_policy_open_to_everyone_is_reported(violations):
    statement = {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "events:PutEvents", "Resource": "*"}
    assert violations("SB-EVENTS-002", bus_policy(statement)) == ["statement 'Open' allows any principal without a condition"]


def test_event_permission_for_everyone_is_reported(violations):
    permission = Resource(EVENT_PERMISSION, {"principal": "*", "statementId": "open"}, name="p")
    assert violations("SB-EVENTS-002", permission) == ["principal '*' without a condition"]
