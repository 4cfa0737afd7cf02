"""SB-MS-001..007: microservice rollouts, public IPs, HTTPS-only listeners, RDS, ElastiCache and private APIs, each with
a compliant and a non-compliant fixture."""
from policy import UNKNOWN, Resource, evaluate
from policy.microservice_rules import (ECS_SERVICE, LAUNCH_TEMPLATE, RDS_CLUSTER, RDS_INSTANCE, REPLICATION_GROUP,
                                       EC2_INSTANCE)

LISTENER = "aws:lb/listener:Listener"


def service(**overrides):
    props = {"deploymentCircuitBreaker": {"enable": True, "rollback": True},
             "networkConfiguration": {"assignPublicIp": False, "subnets": ["subnet-1"]}}
    props.update(overrides)
    return Resource(ECS_SERVICE, {k: v for k, v in props.items() if v is not None}, name="catalog-service")


ALB_ARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop-alb-1a2b3c4/0123456789abcdef"


def balancer(internal=False):
    return Resource("aws:lb/loadBalancer:LoadBalancer", {"internal": internal, "loadBalancerType": "application"},
                    name="shop-alb", outputs={"arn": ALB_ARN, "id": ALB_ARN})


def listener(protocol, *actions):
    return Resource(LISTENER, {"protocol": protocol, "port": 80 if protocol == "HTTP" else 443,
                               "loadBalancerArn": ALB_ARN, "defaultActions": list(actions)},
                    name=f"alb-{protocol.lower()}")


REDIRECT = {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}
FORWARD = {"type": "forward", "targetGroupArn": "arn:tg"}


def database(resource_type=RDS_INSTANCE, **overrides):
    props = {"storageEncrypted": True, "iamDatabaseAuthenticationEnabled": True}
    props.update(overrides)
    return Resource(resource_type, {k: v for k, v in props.items() if v is not None}, name="checkout-db")


def cache(**overrides):
    props = {"transitEncryptionEnabled": True, "transitEncryptionMode": "required", "atRestEncryptionEnabled": True,
             "authToken": "token"}
    props.update(overrides)
    return Resource(REPLICATION_GROUP, {k: v for k, v in props.items() if v is not None}, name="cart-cache")


# SB-MS-001 circuit breaker with rollback

def test_a_service_with_a_rolling_back_circuit_breaker_passes(violations):
    assert violations("SB-MS-001", service()) == []


def test_a_service_without_a_circuit_breaker_is_reported(violations):
    assert violations("SB-MS-001", service(deploymentCircuitBreaker=None)) == [
        "no deployment circuit breaker: a failing rollout replaces tasks forever"]


def test_a_circuit_breaker_without_rollback_is_reported(violations):
    assert violations("SB-MS-001", service(deploymentCircuitBreaker={"enable": True, "rollback": False})) == [
        "the circuit breaker stops a failing rollout but does not roll back"]


def test_a_code_deploy_service_is_not_judged(violations):
    assert violations("SB-MS-001", service(deploymentCircuitBreaker=None,
                                           deploymentController={"type": "CODE_DEPLOY"})) == []


def test_an_unknown_circuit_breaker_is_not_reported(violations):
    assert violations("SB-MS-001", service(deploymentCircuitBreaker=UNKNOWN)) == []


# SB-MS-002 no public IPs

def test_tasks_without_public_ips_pass(violations):
    assert violations("SB-MS-002", service()) == []


def test_tasks_with_public_ips_are_reported(violations):
    assert violations("SB-MS-002", service(networkConfiguration={"assignPublicIp": True})) == [
        "tasks are given public IP addresses"]


def test_a_launch_template_without_public_addresses_passes(violations):
    template = Resource(LAUNCH_TEMPLATE, {"networkInterfaces": [{"associatePublicIpAddress": "false"}]}, name="lt")
    assert violations("SB-MS-002", template) == []


def test_a_launch_template_interface_with_a_public_address_is_reported(violations):
    template = Resource(LAUNCH_TEMPLATE, {"networkInterfaces": [{"associatePublicIpAddress": "true"}]}, name="lt")
    assert violations("SB-MS-002", template) == ["network interface 0 associates a public IP address"]


def test_an_instance_with_a_public_address_is_reported(violations):
    instance = Resource(EC2_INSTANCE, {"associatePublicIpAddress": True}, name="box")
    assert violations("SB-MS-002", instance) == ["the instance gets a public IP address"]


# SB-MS-003 HTTPS-only listeners (internet-facing), SB-MS-006 (internal, advisory)

def test_an_https_listener_and_a_redirecting_http_listener_pass(violations):
    assert violations("SB-MS-003", balancer(), listener("HTTPS", FORWARD), listener("HTTP", REDIRECT)) == []


def test_an_http_listener_that_forwards_is_reported(violations):
    assert violations("SB-MS-003", balancer(), listener("HTTP", FORWARD)) == [
        "HTTP listener action 0 is forward, not a redirect to HTTPS"]


def test_an_http_listener_of_an_unknown_load_balancer_is_judged_as_internet_facing(violations):
    assert violations("SB-MS-003", listener("HTTP", FORWARD)) == [
        "HTTP listener action 0 is forward, not a redirect to HTTPS"]


def test_an_http_listener_redirecting_to_http_is_reported(violations):
    to_http = {"type": "redirect", "redirect": {"protocol": "HTTP", "port": "8080"}}
    assert violations("SB-MS-003", balancer(), listener("HTTP", to_http)) == [
        "HTTP listener action 0 redirects to HTTP, not HTTPS"]


def test_an_internal_albs_http_listener_is_only_advised_against():
    resources = [balancer(internal=True), listener("HTTP", FORWARD)]
    assert evaluate(resources, "prod", rules=["SB-MS-003"], suppressions=()).findings == []
    report = evaluate(resources, "prod", rules=["SB-MS-006"], suppressions=())
    assert [(f.level, f.message) for f in report.findings] == [
        ("advisory", "HTTP listener action 0 is forward, not a redirect to HTTPS")]
    assert report.ok


def test_an_internal_albs_https_listener_passes(violations):
    assert violations("SB-MS-006", balancer(internal=True), listener("HTTPS", FORWARD)) == []


# SB-MS-004 RDS encryption + IAM auth

def test_an_encrypted_iam_authenticated_database_passes(violations):
    assert violations("SB-MS-004", database(), database(RDS_CLUSTER)) == []


def test_an_unencrypted_database_without_iam_auth_is_reported(violations):
    assert violations("SB-MS-004", database(storageEncrypted=False, iamDatabaseAuthenticationEnabled=None)) == [
        "storage is not encrypted", "IAM database authentication is off: clients need a stored password"]


# SB-MS-005 ElastiCache TLS + at rest + auth

def test_an_encrypted_authenticated_cache_passes(violations):
    assert violations("SB-MS-005", cache()) == []


def test_a_cache_with_rbac_user_groups_instead_of_a_token_passes(violations):
    assert violations("SB-MS-005", cache(authToken=None, userGroupIds=["iam-users"])) == []


def test_an_open_plain_text_cache_is_reported(violations):
    assert violations("SB-MS-005", cache(transitEncryptionEnabled=None, atRestEncryptionEnabled=False,
                                         authToken=None)) == [
        "TLS in transit is off", "encryption at rest is off",
        "no AUTH token and no user group: anyone who reaches the port can read the cache"]


def test_preferred_tls_is_reported(violations):
    assert violations("SB-MS-005", cache(transitEncryptionMode="preferred")) == [
        "TLS in transit is only preferred: clients may still connect in plain text"]


# SB-MS-007: a PRIVATE API admits calls only through its VPC endpoints

REST_API = "aws:apigateway/restApi:RestApi"
ONLY_THROUGH = {"Sid": "OnlyThroughTheVpcEndpoints", "Effect": "Deny", "Principal": "*",
                "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": ["vpce-1"]}}}
ALLOW_ALL = {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": "execute-api:/*"}


def rest_api(types="PRIVATE", *statements):
    import json

    props = {"endpointConfiguration": {"types": types}}
    if statements:
        props["policy"] = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return Resource(REST_API, props, name="cart-rest")


def private_api_findings(*resources):
    return [f.message for f in evaluate(list(resources), "prod", rules=["SB-MS-007"], suppressions=()).findings]


def test_private_api_denying_calls_outside_its_endpoints_passes():
    assert private_api_findings(rest_api("PRIVATE", ONLY_THROUGH)) == []
    assert private_api_findings(rest_api("PRIVATE", ONLY_THROUGH, ALLOW_ALL)) == []  # the Deny still bounds it


def test_private_api_without_a_resource_policy_is_reported():
    assert private_api_findings(rest_api("PRIVATE")) == [
        "PRIVATE API without a resource policy: API Gateway admits no call, or any VPC's once one is added"]


def test_private_api_allowing_everyone_from_anywhere_is_reported():
    assert private_api_findings(rest_api("PRIVATE", ALLOW_ALL)) == [
        "the resource policy doesn't limit calls to the API's VPC endpoints (aws:SourceVpce)",
        "statement Everyone allows everyone, from any VPC endpoint"]


def test_regional_api_and_unknown_policy_are_not_judged():
    assert private_api_findings(rest_api("REGIONAL")) == []
    assert private_api_findings(Resource(REST_API, {"endpointConfiguration": {"types": "PRIVATE"},
                                                    "policy": UNKNOWN}, name="cart-rest")) == []
