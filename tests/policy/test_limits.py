import json

import pytest

from policy import UNKNOWN, Provider, Resource, evaluate
from policy.tokens import (API_ACCOUNT, BUCKET, BUCKET_NOTIFICATION, CERTIFICATE, DAX_CLUSTER, DEPLOYMENT,
                           DISTRIBUTION, EVENT_SOURCE_MAPPING, FUNCTION, INTEGRATION, LOAD_BALANCERS, LOG_GROUP,
                           METHOD, PERMISSION, QUEUE, QUEUE_POLICY, REST_API, ROLE, ROLE_POLICY, STAGE,
                           TARGET_GROUPS, USER_POOL_DOMAIN, WEB_ACL)

ACCOUNT = "123456789012"


# SB-LIMIT-001 physical names, counting Pulumi's auto-name suffix

@pytest.mark.parametrize("token, longest_ok", [
    (DAX_CLUSTER, 12), (LOAD_BALANCERS[0], 24), (TARGET_GROUPS[1], 24),
    ("aws:elasticache/cluster:Cluster", 32), (FUNCTION, 56), (ROLE, 56), (BUCKET, 55), (QUEUE, 72),
])
def test_auto_named_logical_name_at_the_limit_passes_and_one_more_fails(violations, token, longest_ok):
    ok = Resource(token, {}, name="a" * longest_ok)
    too_long = Resource(token, {}, name="a" * (longest_ok + 1))
    assert violations("SB-LIMIT-001", ok) == []
    assert len(violations("SB-LIMIT-001", too_long)) == 1


def test_finding_names_the_resource_and_the_limit():
    report = evaluate([Resource(DAX_CLUSTER, {}, name="orders-cache-dev")], "dev", rules=["SB-LIMIT-001"])
    [finding] = report.findings
    assert (finding.name, finding.category, finding.level) == ("orders-cache-dev", "limits", "mandatory")
    assert finding.message == "auto-name 'orders-cache-dev' + 8 characters is 24 characters; the Cluster limit is 20"


def test_explicit_name_is_checked_as_given(violations):
    assert violations("SB-LIMIT-001", Resource(DAX_CLUSTER, {"clusterName": "orders-cache-production"}, name="c")) == [
        "name 'orders-cache-production' is 23 characters; the Cluster limit is 20"]


def test_fifo_suffix_counts_for_queues(violations):
    assert violations("SB-LIMIT-001", Resource(QUEUE, {"fifoQueue": True}, name="q" * 67)) == []
    assert len(violations("SB-LIMIT-001", Resource(QUEUE, {"fifoQueue": True}, name="q" * 68))) == 1


def test_explicit_fifo_queue_name_must_end_in_fifo(violations):
    assert violations("SB-LIMIT-001", Resource(QUEUE, {"name": "orders", "fifoQueue": True}, name="q")) == [
        "name 'orders' must end in '.fifo' for a FIFO Queue"]


def test_name_prefix_gets_terraforms_26_characters(violations):
    assert violations("SB-LIMIT-001", Resource(ROLE, {"namePrefix": "r" * 38}, name="r")) == []
    assert len(violations("SB-LIMIT-001", Resource(ROLE, {"namePrefix": "r" * 39}, name="r"))) == 1


def test_load_balancer_prefix_is_capped_at_six(violations):
    assert violations("SB-LIMIT-001", Resource(LOAD_BALANCERS[0], {"namePrefix": "webalb"}, name="lb")) == []
    assert violations("SB-LIMIT-001", Resource(LOAD_BALANCERS[0], {"namePrefix": "web-alb"}, name="lb")) == [
        "namePrefix 'web-alb' is 7 characters; the LoadBalancer limit is 6"]


def test_bucket_names_must_be_lower_case(violations):
    assert violations("SB-LIMIT-001", Resource(BUCKET, {}, name="Uploads")) == [
        "auto-name 'Uploads' + 8 characters ('Uploads-abcdefg') breaks the Bucket naming rule: lower-case letters, digits, dots and hyphens"]


def test_cognito_prefix_domain_rules(violations):
    assert violations("SB-LIMIT-001", Resource(USER_POOL_DOMAIN, {"domain": "todo-auth-dev"}, name="d")) == []
    assert violations("SB-LIMIT-001", Resource(USER_POOL_DOMAIN, {"domain": "todo-cognito"}, name="d")) == [
        "name 'todo-cognito' contains the reserved word 'cognito'"]


def test_unknown_explicit_name_is_not_reported(violations):
    assert violations("SB-LIMIT-001", Resource(DAX_CLUSTER, {"clusterName": UNKNOWN}, name="x" * 40)) == []


# SB-LIMIT-002 CloudFront certificates in us-east-1

def provider(region):
    return Provider(props={"region": region}, name=f"aws-{region}")


def certificate(region):
    arn = f"arn:aws:acm:{region}:{ACCOUNT}:certificate/abc"
    return Resource(CERTIFICATE, {"arn": arn, "id": arn, "domainName": "example.com"}, name="cert", provider=provider(region))


def cdn_with(cert):
    return Resource(DISTRIBUTION, {"viewerCertificate": {"acmCertificateArn": cert.props["arn"]}}, name="cdn")


def test_us_east_1_certificate_passes(violations):
    cert = certificate("us-east-1")
    assert violations("SB-LIMIT-002", cert, cdn_with(cert)) == []


def test_regional_certificate_on_cloudfront_is_reported(violations):
    cert = certificate("eu-west-1")
    assert violations("SB-LIMIT-002", cert, cdn_with(cert)) == [
        "certificate 'cert' is in eu-west-1; CloudFront only uses certificates from us-east-1"]


def test_per_resource_region_overrides_the_provider(violations):
    cert = certificate("eu-west-1")
    cert.props["region"] = "us-east-1"
    assert violations("SB-LIMIT-002", cert, cdn_with(cert)) == []


def test_certificate_from_outside_the_stack_is_judged_by_its_arn(violations):
    domain = Resource(USER_POOL_DOMAIN, {"domain": "auth.example.com",
                                         "certificateArn": f"arn:aws:acm:eu-west-1:{ACCOUNT}:certificate/x"}, name="auth")
    assert len(violations("SB-LIMIT-002", domain)) == 1


def test_unknown_certificate_is_not_reported(violations):
    assert violations("SB-LIMIT-002", Resource(DISTRIBUTION, {"viewerCertificate": {"acmCertificateArn": UNKNOWN}}, name="cdn")) == []


# SB-LIMIT-003 CloudFront WAF in us-east-1

def test_cloudfront_acl_in_us_east_1_passes(violations):
    acl = Resource(WEB_ACL, {"scope": "CLOUDFRONT"}, name="acl", provider=provider("us-east-1"))
    assert violations("SB-LIMIT-003", acl) == []


def test_cloudfront_acl_elsewhere_is_reported(violations):
    acl = Resource(WEB_ACL, {"scope": "CLOUDFRONT"}, name="acl", provider=provider("eu-west-1"))
    assert violations("SB-LIMIT-003", acl) == ["scope CLOUDFRONT in eu-west-1; it must be created in us-east-1"]


def test_regional_acl_on_a_distribution_is_reported(violations):
    arn = f"arn:aws:wafv2:eu-west-1:{ACCOUNT}:regional/webacl/api/123"
    acl = Resource(WEB_ACL, {"scope": "REGIONAL", "arn": arn}, name="acl", provider=provider("eu-west-1"))
    cdn = Resource(DISTRIBUTION, {"webAclId": arn}, name="cdn")
    assert violations("SB-LIMIT-003", acl, cdn) == ["web ACL 'acl' has scope REGIONAL, not CLOUDFRONT"]


# SB-ORDER-001 bucket notification after the permission / queue policy

FN_ARN = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:thumbnailer-1a2b3c4"
QUEUE_ARN = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:uploads-1a2b3c4"
QUEUE_URL = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/uploads-1a2b3c4"


def fn():
    return Resource(FUNCTION, {"name": "thumbnailer-1a2b3c4", "arn": FN_ARN}, name="thumbnailer")


def s3_permission():
    return Resource(PERMISSION, {"function": FN_ARN, "principal": "s3.amazonaws.com", "sourceArn": "arn:aws:s3:::uploads"}, name="allow-s3")


def lambda_notification(*depends_on):
    return Resource(BUCKET_NOTIFICATION, {"bucket": "uploads", "lambdaFunctions": [
        {"lambdaFunctionArn": FN_ARN, "events": ["s3:ObjectCreated:*"]}]}, name="uploads-notification", dependencies=list(depends_on))


def test_notification_depending_on_permission_passes(violations):
    permission = s3_permission()
    assert violations("SB-ORDER-001", fn(), permission, lambda_notification(permission)) == []


def test_notification_depending_on_the_permissions_component_passes(violations):
    component = Resource("serverless-blueprints:index:Thumbnailer", {}, name="thumbs")
    permission = s3_permission()
    permission.parent = component
    assert violations("SB-ORDER-001", component, fn(), permission, lambda_notification(component)) == []


def test_notification_without_dependency_is_reported(violations):
    assert violations("SB-ORDER-001", fn(), s3_permission(), lambda_notification()) == [
        "doesn't depend on Permission 'allow-s3' for 'thumbnailer'; S3 may validate it first"]


def test_notification_without_any_permission_is_reported(violations):
    assert violations("SB-ORDER-001", fn(), lambda_notification()) == [
        "no lambda Permission lets s3.amazonaws.com invoke 'thumbnailer'; S3 rejects the notification"]


def queue_policy(allow_s3=True):
    statement = {"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com" if allow_s3 else "sns.amazonaws.com"},
                 "Action": "sqs:SendMessage", "Resource": QUEUE_ARN}
    return Resource(QUEUE_POLICY, {"queueUrl": QUEUE_URL, "policy": json.dumps({"Statement": [statement]})}, name="uploads-policy")


def queue_notification(*depends_on):
    return Resource(BUCKET_NOTIFICATION, {"bucket": "uploads", "queues": [{"queueArn": QUEUE_ARN, "events": ["s3:ObjectCreated:*"]}]},
                    name="uploads-notification", dependencies=list(depends_on))


def uploads_queue():
    return Resource(QUEUE, {"name": "uploads-1a2b3c4", "arn": QUEUE_ARN, "url": QUEUE_URL}, name="uploads")


def test_queue_notification_after_queue_policy_passes(violations):
    policy = queue_policy()
    assert violations("SB-ORDER-001", uploads_queue(), policy, queue_notification(policy)) == []


def test_queue_notification_before_queue_policy_is_reported(violations):
    assert violations("SB-ORDER-001", uploads_queue(), queue_policy(), queue_notification()) == [
        "doesn't depend on the policy of 'uploads'; S3 may validate the notification first"]


def test_queue_policy_that_does_not_admit_s3_is_reported(violations):
    policy = queue_policy(allow_s3=False)
    assert violations("SB-ORDER-001", uploads_queue(), policy, queue_notification(policy)) == [
        "no policy on 'uploads' allows s3.amazonaws.com sqs:SendMessage; S3 rejects the notification"]


# SB-ORDER-002 deployment after every method and integration

def api_parts():
    api = Resource(REST_API, {"id": "api1", "rootResourceId": "root1"}, name="api")
    method = Resource(METHOD, {"restApi": "api1", "resourceId": "root1", "httpMethod": "GET", "authorization": "NONE"}, name="get")
    integration = Resource(INTEGRATION, {"restApi": "api1", "resourceId": "root1", "httpMethod": "GET", "type": "MOCK"},
                           name="get-integration", property_dependencies={"httpMethod": [method]})
    return api, method, integration


def test_deployment_depending_on_the_integration_passes(violations):
    api, method, integration = api_parts()
    deployment = Resource(DEPLOYMENT, {"restApi": "api1"}, name="deployment", dependencies=[integration])
    assert violations("SB-ORDER-002", api, method, integration, deployment) == []


def test_deployment_missing_an_integration_is_reported(violations):
    api, method, integration = api_parts()
    deployment = Resource(DEPLOYMENT, {"restApi": "api1"}, name="deployment", dependencies=[method])
    assert violations("SB-ORDER-002", api, method, integration, deployment) == [
        "doesn't depend on Integration 'get-integration'; the deployment may snapshot an API without it"]


def test_dependencies_given_as_urns_are_followed(violations):
    api, method, integration = api_parts()
    deployment = Resource(DEPLOYMENT, {"restApi": "api1"}, name="deployment", dependencies=[integration.urn])
    assert violations("SB-ORDER-002", api, method, integration, deployment) == []


# SB-ORDER-003 event source mapping after the role policies

def mapping_stack(*depends_on):
    role = Resource(ROLE, {"name": "worker-role", "arn": f"arn:aws:iam::{ACCOUNT}:role/worker-role"}, name="worker-role")
    policy = Resource(ROLE_POLICY, {"role": "worker-role", "policy": "{}"}, name="worker-reads-queue")
    function = Resource(FUNCTION, {"name": "worker", "role": role.props["arn"]}, name="worker")
    mapping = Resource(EVENT_SOURCE_MAPPING, {"eventSourceArn": QUEUE_ARN, "functionName": "worker"}, name="worker-mapping",
                       dependencies=[policy] if depends_on else [])
    return [role, policy, function, mapping]


def test_mapping_after_role_policy_passes(violations):
    assert violations("SB-ORDER-003", *mapping_stack(True)) == []


def test_mapping_racing_its_role_policy_is_reported(violations):
    assert violations("SB-ORDER-003", *mapping_stack()) == [
        "doesn't depend on 'worker-reads-queue' of role 'worker-role'; AWS checks the role's access when the mapping is created"]


# SB-ORDER-004 API logging after the account's CloudWatch role

def test_logging_stage_after_account_passes(violations):
    account = Resource(API_ACCOUNT, {"cloudwatchRoleArn": "arn:aws:iam::1:role/apigw-logs"}, name="apigw-account")
    stage = Resource(STAGE, {"accessLogSettings": {"destinationArn": "arn", "format": "{}"}}, name="prod", dependencies=[account])
    assert violations("SB-ORDER-004", account, stage) == []


def test_logging_stage_racing_the_account_is_reported(violations):
    account = Resource(API_ACCOUNT, {"cloudwatchRoleArn": "arn:aws:iam::1:role/apigw-logs"}, name="apigw-account")
    stage = Resource(STAGE, {"accessLogSettings": {"destinationArn": "arn", "format": "{}"}}, name="prod")
    assert violations("SB-ORDER-004", account, stage) == [
        "logs without depending on 'apigw-account'; AWS refuses until the CloudWatch role is set"]


# SB-ORDER-005 /aws/lambda/<name> log group before the function

def test_function_after_its_log_group_passes(violations):
    group = Resource(LOG_GROUP, {"name": "/aws/lambda/worker", "retentionInDays": 14}, name="worker-logs")
    function = Resource(FUNCTION, {"name": "worker"}, name="worker", dependencies=[group])
    assert violations("SB-ORDER-005", group, function) == []


def test_function_racing_its_log_group_is_reported(violations):
    group = Resource(LOG_GROUP, {"name": "/aws/lambda/worker", "retentionInDays": 14}, name="worker-logs")
    function = Resource(FUNCTION, {"name": "worker"}, name="worker")
    assert violations("SB-ORDER-005", group, function) == [
        "doesn't depend on log group 'worker-logs'; if it logs first, Lambda creates the group and the LogGroup create fails"]


# SB-LIMIT-004 service deliveries can't use the AWS managed SQS/SNS keys

def notified_queue(**encryption):
    return Resource(QUEUE, {"name": "uploads-1a2b3c4", "arn": QUEUE_ARN, "url": QUEUE_URL, **encryption}, name="uploads")


def test_sse_sqs_queue_receiving_s3_events_passes(violations):
    assert violations("SB-LIMIT-004", notified_queue(sqsManagedSseEnabled=True), queue_notification()) == []


def test_aws_managed_key_on_a_queue_receiving_s3_events_is_reported(violations):
    assert violations("SB-LIMIT-004", notified_queue(kmsMasterKeyId="alias/aws/sqs"), queue_notification()) == [
        "S3 delivers here but alias/aws/sqs can't be used by S3; deliveries fail"]


def test_aws_managed_key_is_fine_for_a_queue_only_lambda_writes_to(violations):
    assert violations("SB-LIMIT-004", notified_queue(kmsMasterKeyId="alias/aws/sqs")) == []
