"""IAM: wildcard actions, broad managed policies, and Resource "*"."""
from __future__ import annotations

import re

from . import tokens
from .documents import Statement, statements
from .model import Resource, as_list, get, is_known, is_unknown
from .registry import resource_rule
from .stack import Stack

# Actions that accept no resource ARN (or whose callers need "*"), so Resource "*" is the only
# way to grant them. Anything else must name its resources.
UNSCOPABLE_ACTIONS = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions for writing traces",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions for telemetry",
    "xray:GetSamplingRules": "X-Ray SDK sampling; account level",
    "xray:GetSamplingTargets": "X-Ray SDK sampling; account level",
    "xray:GetSamplingStatisticSummaries": "X-Ray SDK sampling; account level",
    "cloudfront:CreatePublicKey": "CloudFront public keys have no resource type to scope to",
    "cloudfront:DeletePublicKey": "CloudFront public keys have no resource type to scope to",
    "cloudfront:GetPublicKey": "CloudFront public keys have no resource type to scope to",
    "cloudfront:ListPublicKeys": "List* calls take no resource ARN",
    "ecr:GetAuthorizationToken": "a registry login token is account level; no resource type",
    "cloudwatch:PutMetricData": "no resource ARN; scope with the cloudwatch:namespace condition key",
    "ec2:CreateNetworkInterface": "Lambda in a VPC creates its ENIs before their ARNs exist",
    "ec2:DescribeNetworkInterfaces": "Describe* calls take no resource ARN",
    "ec2:DeleteNetworkInterface": "Lambda in a VPC removes ENIs it created; AWS's own VPC role uses *",
    "ec2:AssignPrivateIpAddresses": "Lambda VPC networking, as in AWSLambdaVPCAccessExecutionRole",
    "ec2:UnassignPrivateIpAddresses": "Lambda VPC networking, as in AWSLambdaVPCAccessExecutionRole",
    "ec2:DescribeSubnets": "Describe* calls take no resource ARN",
    "ec2:DescribeSecurityGroups": "Describe* calls take no resource ARN",
    "ec2:DescribeVpcs": "Describe* calls take no resource ARN",
    "sts:GetCallerIdentity": "no resource; needs no permission at all",
    "s3:ListAllMyBuckets": "account-level listing",
    "ssm:DescribeParameters": "account-level listing",
    "secretsmanager:GetRandomPassword": "no resource",
    "secretsmanager:ListSecrets": "account-level listing",
    "dynamodb:ListTables": "account-level listing",
    "dynamodb:DescribeLimits": "account-level",
    "lambda:GetAccountSettings": "account-level",
    "cloudwatch:GetMetricData": "no resource ARN",
    "cloudwatch:ListMetrics": "no resource ARN",
    "kinesis:ListStreams": "account-level listing",
    "rekognition:DetectLabels": "image analysis of bytes the caller sends; Rekognition has no resource type for it",
    "rekognition:DetectModerationLabels": "image analysis of bytes the caller sends; no resource type for it",
}
_UNSCOPABLE = {action.lower() for action in UNSCOPABLE_ACTIONS}

# AWS managed policies we never attach: full admin, or "*" grants that SB-IAM-003 rejects inline.
FORBIDDEN_MANAGED_POLICIES = {
    "AdministratorAccess": "full admin",
    "PowerUserAccess": "everything but IAM",
    "IAMFullAccess": "can grant itself anything",
    "AWSLambdaExecute": "s3:GetObject/PutObject on every bucket",
    "AWSLambda_FullAccess": "administers every function",
    "AmazonS3FullAccess": "s3:* on every bucket",
    "AmazonDynamoDBFullAccess": "dynamodb:* on every table",
    "AmazonSQSFullAccess": "sqs:* on every queue",
    "AmazonSNSFullAccess": "sns:* on every topic",
    "AmazonKinesisFullAccess": "kinesis:* on every stream",
    "AmazonEventBridgeFullAccess": "events:* on every bus",
    "CloudWatchFullAccess": "cloudwatch:* and more",
    "AmazonAPIGatewayAdministrator": "apigateway:* on every API",
    "AWSLambdaSQSQueueExecutionRole": "sqs reads on every queue",
    "AWSLambdaDynamoDBExecutionRole": "dynamodb stream reads on every table",
    "AWSLambdaKinesisExecutionRole": "kinesis reads on every stream",
}
# Of those, the ones that let a function write objects anywhere (used by the S3-trigger rule).
S3_WRITING_MANAGED_POLICIES = ("AdministratorAccess", "PowerUserAccess", "AWSLambdaExecute", "AmazonS3FullAccess")

_AWS_MANAGED_ARN = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.*/)?(?P<name>[^/]+)$")

IDENTITY_POLICY_TYPES = (tokens.ROLE_POLICY, tokens.MANAGED_POLICY, tokens.USER_POLICY, tokens.GROUP_POLICY)
RESOURCE_POLICY_TYPES = (tokens.BUCKET_POLICY, tokens.QUEUE_POLICY, tokens.QUEUE, tokens.TOPIC_POLICY,
                         tokens.TOPIC, tokens.EVENT_BUS_POLICY, tokens.REST_API)
ATTACHMENT_TYPES = (tokens.ROLE_POLICY_ATTACHMENT, tokens.USER_POLICY_ATTACHMENT,
                    tokens.GROUP_POLICY_ATTACHMENT, tokens.POLICY_ATTACHMENT)


def managed_policy_name(arn) -> str | None:
    """"AdministratorAccess" for arn:aws:iam::aws:policy/AdministratorAccess; None otherwise."""
    match = _AWS_MANAGED_ARN.match(arn) if is_known(arn) and isinstance(arn, str) else None
    return match.group("name") if match else None


def documents_of(resource: Resource) -> list:
    """(label, policy document value) of every policy a resource carries inline."""
    if resource.resource_type == tokens.ROLE:
        return [(f"inline policy '{get(p, 'name') or '?'}'", get(p, "policy"))
                for p in as_list(get(resource.props, "inlinePolicies")) if isinstance(p, dict)]
    value = get(resource.props, "policy")
    return [] if value is None else [("policy", value)]


def _action_text(statement: Statement) -> list:
    return [a for a in statement.actions if isinstance(a, str) and not is_unknown(a)]


@resource_rule(
    "SB-IAM-001", tokens.ROLE, *IDENTITY_POLICY_TYPES, *RESOURCE_POLICY_TYPES,
    description='No policy allows "*", "service:*" or NotAction.',
    remediation='List the exact actions, e.g. ["dynamodb:GetItem", "dynamodb:PutItem"], never "dynamodb:*".',
)
def no_wildcard_actions(resource: Resource):
    for label, document in documents_of(resource):
        for statement in statements(document) or []:
            if not statement.allows:
                continue
            if statement.not_actions is not None:
                yield f"{label} allows NotAction (everything else)"
            for action in _action_text(statement):
                if action == "*" or action.endswith(":*"):
                    yield f"{label} allows '{action}'"


@resource_rule(
    "SB-IAM-002", tokens.ROLE, *ATTACHMENT_TYPES,
    description="No AdministratorAccess or other full-access AWS managed policy is attached.",
    remediation="Replace the managed policy with an inline policy naming the actions and resource ARNs the code uses.",
)
def no_broad_managed_policies(resource: Resource):
    arns = (as_list(get(resource.props, "managedPolicyArns")) if resource.resource_type == tokens.ROLE
            else [get(resource.props, "policyArn")])
    for arn in arns:
        name = managed_policy_name(arn)
        if name in FORBIDDEN_MANAGED_POLICIES:
            yield f"attaches {name} ({FORBIDDEN_MANAGED_POLICIES[name]})"


@resource_rule(
    "SB-IAM-003", tokens.ROLE, *IDENTITY_POLICY_TYPES,
    description='Resource "*" only for actions that cannot be scoped (see UNSCOPABLE_ACTIONS).',
    remediation="Name the resource ARNs (table, index, queue, bucket/prefix/*); keep \"*\" only for actions on the unscopable list.",
)
def scoped_resources(resource: Resource):
    for label, document in documents_of(resource):
        for statement in statements(document) or []:
            if not statement.allows:
                continue
            broad = statement.not_resources is not None or "*" in (statement.resources or ())
            if not broad:
                continue
            if statement.not_actions is not None:
                continue  # SB-IAM-001 reports it
            scopable = [a for a in _action_text(statement) if a.lower() not in _UNSCOPABLE]
            if scopable:
                yield f"{label} grants {', '.join(scopable)} on Resource \"*\""


def role_documents(stack: Stack, role: Resource) -> tuple[list, bool]:
    """(label, document value) of every identity policy on a role, and whether some attachment
    couldn't be linked. AWS managed policies appear by name (label "managed <name>", value None)."""
    found = documents_of(role)
    undetermined = False
    arns = [(role, "managedPolicyArns", arn) for arn in as_list(get(role.props, "managedPolicyArns"))]
    policies, unknown = stack.referrers(role, tokens.ROLE_POLICY, "role")
    undetermined |= unknown
    found += [(f"role policy '{p.name}'", get(p.props, "policy")) for p in policies]
    attachments, unknown = stack.referrers(role, tokens.ROLE_POLICY_ATTACHMENT, "role")
    undetermined |= unknown
    arns += [(a, "policyArn", get(a.props, "policyArn")) for a in attachments]
    for attachment in stack.of_type(tokens.POLICY_ATTACHMENT):
        roles = as_list(get(attachment.props, "roles"))
        if any(is_unknown(r) for r in roles):
            undetermined = True
        elif any(role in (stack.resolve(attachment, "roles", r, [role]) or []) for r in roles):
            arns.append((attachment, "policyArn", get(attachment.props, "policyArn")))
    managed = stack.of_type(tokens.MANAGED_POLICY)
    for source, prop, arn in arns:
        name = managed_policy_name(arn)
        if name is not None:
            found.append((f"managed {name}", None))
            continue
        target = stack.resolve(source, prop, arn, managed)
        if target is None:
            undetermined = True
        found += [(f"policy '{p.name}'", get(p.props, "policy")) for p in target or []]
    return found, undetermined
