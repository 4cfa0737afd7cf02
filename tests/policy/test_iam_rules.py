import json

import pytest

from policy import UNKNOWN, Resource
from policy.tokens import BUCKET_POLICY, MANAGED_POLICY, POLICY_ATTACHMENT, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT

TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"


def role_policy(*statements):
    return Resource(ROLE_POLICY, {"role": "fn-role", "policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})},
                    name="fn-policy")


def allow(action, resource=TABLE_ARN):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


# SB-IAM-001 no wildcard actions

def test_exact_actions_pass(violations):
    assert violations("SB-IAM-001", role_policy(allow(["dynamodb:GetItem", "dynamodb:PutItem"]))) == []


@pytest.mark.parametrize("action", ["*", "dynamodb:*", ["dynamodb:GetItem", "s3:*"]])
def test_wildcard_actions_are_reported(violations, action):
    assert len(violations("SB-IAM-001", role_policy(allow(action)))) == 1


def test_not_action_allow_is_reported(violations):
    statement = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert violations("SB-IAM-001", role_policy(statement)) == ["policy allows NotAction (everything else)"]


def test_wildcard_in_deny_is_fine(violations):
    tls = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    bucket_policy = Resource(BUCKET_POLICY, {"bucket": "b", "policy": json.dumps({"Statement": tls})}, name="bp")
    assert violations("SB-IAM-001", bucket_policy) == []


def test_statement_as_a_single_dict_is_read(violations):
    policy = Resource(MANAGED_POLICY, {"policy": json.dumps({"Statement": allow("sqs:*")})}, name="p")
    assert violations("SB-IAM-001", policy) == ["policy allows 'sqs:*'"]


def test_role_inline_policies_are_read(violations):
    role = Resource(ROLE, {"inlinePolicies": [{"name": "all", "policy": json.dumps({"Statement": [allow("*")]})}]}, name="r")
    assert violations("SB-IAM-001", role) == ["inline policy 'all' allows '*'"]


def test_unknown_document_is_not_reported(violations):
    policy = Resource(ROLE_POLICY, {"role": "r", "policy": UNKNOWN}, name="p")
    assert violations("SB-IAM-001", policy) == []


# SB-IAM-002 no AdministratorAccess or full-access managed policies

def test_basic_execution_role_passes(violations):
    attachment = Resource(ROLE_POLICY_ATTACHMENT, {"role": "r", "policyArn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}, name="a")
    assert violations("SB-IAM-002", attachment) == []


def test_administrator_access_attachment_is_reported(violations):
    attachment = Resource(ROLE_POLICY_ATTACHMENT, {"role": "r", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, name="a")
    assert violations("SB-IAM-002", attachment) == ["attaches AdministratorAccess (full admin)"]


def test_full_access_in_managed_policy_arns_is_reported(violations):
    role = Resource(ROLE, {"managedPolicyArns": ["arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess"]}, name="r")
    assert violations("SB-IAM-002", role) == ["attaches AmazonDynamoDBFullAccess (dynamodb:* on every table)"]


def test_policy_attachment_of_lambda_execute_is_reported(violations):
    attachment = Resource(POLICY_ATTACHMENT, {"roles": ["r"], "policyArn": "arn:aws:iam::aws:policy/AWSLambdaExecute"}, name="a")
    assert violations("SB-IAM-002", attachment) == ["attaches AWSLambdaExecute (s3:GetObject/PutObject on every bucket)"]


def test_unknown_policy_arn_is_not_reported(violations):
    assert violations("SB-IAM-002", Resource(ROLE_POLICY_ATTACHMENT, {"role": "r", "policyArn": UNKNOWN}, name="a")) == []


# SB-IAM-003 Resource "*" only for unscopable actions

def test_scoped_resources_pass(violations):
    assert violations("SB-IAM-003", role_policy(allow(["dynamodb:GetItem"]))) == []


def test_unscopable_actions_on_star_pass(violations):
    assert violations("SB-IAM-003", role_policy(allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"))) == []


def test_scopable_action_on_star_is_reported(violations):
    assert violations("SB-IAM-003", role_policy(allow(["xray:PutTraceSegments", "dynamodb:GetItem"], "*"))) == [
        'policy grants dynamodb:GetItem on Resource "*"']


def test_not_resource_counts_as_star(violations):
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}
    assert violations("SB-IAM-003", role_policy(statement)) == ['policy grants s3:GetObject on Resource "*"']


def test_unknown_resource_is_not_reported(violations):
    assert violations("SB-IAM-003", role_policy(allow(["dynamodb:GetItem"], UNKNOWN))) == []
