"""Microservices on ECS, EC2 and their data stores: rollouts that roll back, no public IPs, HTTPS-only
listeners, encrypted and IAM-authenticated databases, encrypted and authenticated caches, private APIs that admit
calls only through their VPC endpoints."""
from __future__ import annotations

from .model import Resource, as_list, get, is_unknown, parse_json
from .registry import ADVISORY, resource_rule, stack_rule
from .stack import Stack

ECS_SERVICE = "aws:ecs/service:Service"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
EC2_INSTANCE = "aws:ec2/instance:Instance"
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
REST_API = "aws:apigateway/restApi:RestApi"
_ENDPOINT_KEYS = ("aws:sourcevpce", "aws:sourcevpc")


def _not_true(value) -> bool:
    return not is_unknown(value) and value is not True and value != "true"


def _true(value) -> bool:
    return value is True or value == "true"


@resource_rule(
    "SB-MS-001", ECS_SERVICE,
    description="ECS services deploy with the circuit breaker on and rollback on failure.",
    remediation='Set deployment_circuit_breaker={"enable": True, "rollback": True} (and check that the service '
                'runs the intended task definition after the update: a rollback still ends in a steady state).',
)
def ecs_circuit_breaker(service: Resource):
    breaker = get(service.props, "deploymentCircuitBreaker")
    if is_unknown(breaker) or get(service.props, "deploymentController", "type") in ("CODE_DEPLOY", "EXTERNAL"):
        return
    if breaker is None or _not_true(get(breaker, "enable")):
        yield "no deployment circuit breaker: a failing rollout replaces tasks forever"
    elif _not_true(get(breaker, "rollback")):
        yield "the circuit breaker stops a failing rollout but does not roll back"


@resource_rule(
    "SB-MS-002", ECS_SERVICE, LAUNCH_TEMPLATE, EC2_INSTANCE,
    description="Tasks and instances get no public IP address; they sit in private subnets behind a load balancer.",
    remediation="Set assign_public_ip=False (ECS), associate_public_ip_address=False (instances, launch template "
                "network interfaces), and place them in private subnets.",
)
def no_public_ip(resource: Resource):
    if resource.resource_type == ECS_SERVICE:
        if _true(get(resource.props, "networkConfiguration", "assignPublicIp")):
            yield "tasks are given public IP addresses"
    elif resource.resource_type == LAUNCH_TEMPLATE:
        for index, interface in enumerate(as_list(get(resource.props, "networkInterfaces"))):
            if _true(get(interface, "associatePublicIpAddress")):
                yield f"network interface {index} associates a public IP address"
    elif _true(get(resource.props, "associatePublicIpAddress")):
        yield "the instance gets a public IP address"


def _plain_http_findings(listener: Resource):
    """Why a listener serves plain HTTP (an action other than a redirect to HTTPS); nothing if it doesn't."""
    protocol = get(listener.props, "protocol")
    if is_unknown(protocol) or protocol in ("HTTPS", "TLS", "TCP", "UDP", "TCP_UDP", "GENEVE"):
        return
    actions = get(listener.props, "defaultActions")
    if is_unknown(actions):
        return
    for index, action in enumerate(as_list(actions)):
        kind = get(action, "type")
        if is_unknown(kind):
            continue
        if kind != "redirect":
            yield f"HTTP listener action {index} is {kind!s}, not a redirect to HTTPS"
        elif get(action, "redirect", "protocol") != "HTTPS":
            yield f"HTTP listener action {index} redirects to {get(action, 'redirect', 'protocol')}, not HTTPS"


def _listeners(stack: Stack, internal: bool):
    """Listeners whose load balancer is (internal=True) or may be (False: internet-facing or unknown) internal."""
    for listener in stack.of_type(*LISTENERS):
        balancer = stack.resolve_one(listener, "loadBalancerArn", get(listener.props, "loadBalancerArn"),
                                     *LOAD_BALANCERS)
        is_internal = balancer is not None and get(balancer.props, "internal") is True
        if is_internal == internal:
            yield listener


@stack_rule(
    "SB-MS-003",
    description="Listeners of internet-facing ALBs serve HTTPS only; a plain HTTP listener only redirects to HTTPS.",
    remediation='Use protocol="HTTPS" with an ssl_policy such as ELBSecurityPolicy-TLS13-1-2-2021-06; on port 80 '
                'keep one default action {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", '
                '"status_code": "HTTP_301"}}.',
)
def https_only_listener(stack: Stack):
    for listener in _listeners(stack, internal=False):
        for message in _plain_http_findings(listener):
            yield listener, message


@stack_rule(
    "SB-MS-006",
    description="Listeners of internal ALBs serve HTTPS too (advisory: the VPC is the boundary, e.g. behind a "
                "CloudFront VPC origin).",
    remediation="Give the internal ALB a certificate for a name in a private hosted zone and listen on HTTPS.",
    level=ADVISORY,
)
def https_internal_listener(stack: Stack):
    for listener in _listeners(stack, internal=True):
        for message in _plain_http_findings(listener):
            yield listener, message


@resource_rule(
    "SB-MS-004", RDS_INSTANCE, RDS_CLUSTER,
    description="RDS databases are encrypted at rest and accept IAM database authentication.",
    remediation="Set storage_encrypted=True (only at creation) and iam_database_authentication_enabled=True.",
)
def rds_encryption_and_iam_auth(database: Resource):
    if _not_true(get(database.props, "storageEncrypted")):
        yield "storage is not encrypted"
    if _not_true(get(database.props, "iamDatabaseAuthenticationEnabled")):
        yield "IAM database authentication is off: clients need a stored password"


@resource_rule(
    "SB-MS-005", REPLICATION_GROUP,
    description="ElastiCache replication groups encrypt in transit and at rest, and require authentication.",
    remediation="Set transit_encryption_enabled=True, at_rest_encryption_enabled=True, and auth_token (kept in "
                "Secrets Manager) or user_group_ids (RBAC / IAM auth).",
)
def elasticache_tls_and_auth(group: Resource):
    if _not_true(get(group.props, "transitEncryptionEnabled")):
        yield "TLS in transit is off"
    elif get(group.props, "transitEncryptionMode") == "preferred":
        yield "TLS in transit is only preferred: clients may still connect in plain text"
    if _not_true(get(group.props, "atRestEncryptionEnabled")):
        yield "encryption at rest is off"
    token, users = get(group.props, "authToken"), get(group.props, "userGroupIds")
    if token is None and not is_unknown(users) and not as_list(users):
        yield "no AUTH token and no user group: anyone who reaches the port can read the cache"


def _limits_to_endpoints(statement: dict) -> bool:
    """A Deny of calls not from given VPC endpoints (or VPCs), or an Allow only for calls from them."""
    condition = statement.get("Condition") if isinstance(statement.get("Condition"), dict) else {}
    operator = "StringNotEquals" if statement.get("Effect") == "Deny" else "StringEquals"
    keys = {str(k).lower() for k in (condition.get(operator) or {})} if isinstance(condition.get(operator), dict) else set()
    return bool(keys & set(_ENDPOINT_KEYS))


@resource_rule(
    "SB-MS-007", REST_API,
    description="A PRIVATE REST API has a resource policy that admits calls only through its VPC endpoints.",
    remediation='Give it a policy that denies execute-api:Invoke unless aws:SourceVpce is one of its endpoints '
                '(LambdaRestApi endpoint_type="PRIVATE" with vpc_endpoint_ids does), and no Allow for "*" '
                'without that condition.',
)
def private_api_endpoint_policy(api: Resource):
    types = get(api.props, "endpointConfiguration", "types")
    if is_unknown(types) or "PRIVATE" not in as_list(types):
        return
    document = parse_json(get(api.props, "policy"))
    if is_unknown(document):
        return
    if document is None:
        yield "PRIVATE API without a resource policy: API Gateway admits no call, or any VPC's once one is added"
        return
    statements = [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]
    if not any(_limits_to_endpoints(s) for s in statements):
        yield "the resource policy doesn't limit calls to the API's VPC endpoints (aws:SourceVpce)"
    for statement in statements:
        if statement.get("Effect") == "Allow" and statement.get("Principal") in ("*", {"AWS": "*"}) \
                and not _limits_to_endpoints(statement) and not any(
                    _limits_to_endpoints({**d, "Effect": "Deny"}) for d in statements if d.get("Effect") == "Deny"):
            yield f"statement {statement.get('Sid') or '?'} allows everyone, from any VPC endpoint"

