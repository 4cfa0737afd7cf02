"""Deploy-time limits that mocks don't check: physical names, regions, creation order.

Name length: with no explicit name, Pulumi auto-names a resource "<logical name>-<7 random
characters>" (8 more than the logical name); a `namePrefix` gets Terraform's 26 generated
characters. FIFO queues and topics also carry ".fifo".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from . import tokens
from .apigateway_rules import api_of, same_api
from .documents import grants, principal_values, statements
from .model import Resource, as_list, attribute, get, is_known, is_unknown, region_of
from .registry import LIMITS, resource_rule, stack_rule
from .stack import Stack

AUTONAME_SUFFIX = "-abcdefg"        # stands in for Pulumi's "-" + 7 random characters
TERRAFORM_PREFIX_SUFFIX_LENGTH = 26  # Terraform's unique suffix after a name_prefix
CLOUDFRONT_REGION = "us-east-1"


@dataclass(frozen=True)
class NameLimit:
    prop: str
    max_length: int
    min_length: int = 1
    pattern: Optional[str] = None       # the whole physical name must match
    rule_hint: str = ""
    prefix_prop: Optional[str] = "namePrefix"
    prefix_max: Optional[int] = None    # when Terraform caps the prefix itself
    fifo_prop: Optional[str] = None     # bool prop that appends ".fifo"
    reserved: tuple = ()                # substrings AWS refuses


_ALNUM_HYPHEN_LETTER_FIRST = r"[a-zA-Z](?!.*--)[a-zA-Z0-9-]*(?<!-)"

NAME_LIMITS: dict = {
    tokens.DAX_CLUSTER: NameLimit("clusterName", 20, pattern=_ALNUM_HYPHEN_LETTER_FIRST,
                                  rule_hint="a letter first, then letters, digits, single hyphens", prefix_prop=None),
    **{t: NameLimit("name", 32, pattern=r"(?!internal-)[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?",
                    rule_hint="letters, digits and hyphens, no hyphen at either end", prefix_max=6)
       for t in tokens.LOAD_BALANCERS + tokens.TARGET_GROUPS},
    "aws:elasticache/cluster:Cluster": NameLimit("clusterId", 40, pattern=_ALNUM_HYPHEN_LETTER_FIRST,
                                                 rule_hint="a letter first, then letters, digits, single hyphens", prefix_prop=None),
    "aws:elasticache/replicationGroup:ReplicationGroup": NameLimit("replicationGroupId", 40, pattern=_ALNUM_HYPHEN_LETTER_FIRST,
                                                                   rule_hint="a letter first, then letters, digits, single hyphens", prefix_prop=None),
    "aws:elasticache/serverlessCache:ServerlessCache": NameLimit("name", 40, pattern=_ALNUM_HYPHEN_LETTER_FIRST,
                                                                 rule_hint="a letter first, then letters, digits, single hyphens", prefix_prop=None),
    tokens.FUNCTION: NameLimit("name", 64, pattern=r"[a-zA-Z0-9_-]+", rule_hint="letters, digits, - and _", prefix_prop=None),
    tokens.ROLE: NameLimit("name", 64, pattern=r"[\w+=,.@-]+", rule_hint="letters, digits and +=,.@_-"),
    "aws:iam/user:User": NameLimit("name", 64, pattern=r"[\w+=,.@-]+", rule_hint="letters, digits and +=,.@_-", prefix_prop=None),
    tokens.MANAGED_POLICY: NameLimit("name", 128, pattern=r"[\w+=,.@-]+", rule_hint="letters, digits and +=,.@_-"),
    tokens.ROLE_POLICY: NameLimit("name", 128, pattern=r"[\w+=,.@-]+", rule_hint="letters, digits and +=,.@_-"),
    "aws:iam/instanceProfile:InstanceProfile": NameLimit("name", 128),
    tokens.USER_POOL_DOMAIN: NameLimit("domain", 63, pattern=r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?",
                                       rule_hint="lower-case letters, digits and hyphens", prefix_prop=None,
                                       reserved=("aws", "amazon", "cognito")),
    tokens.USER_POOL: NameLimit("name", 128, prefix_prop=None),
    tokens.IDENTITY_POOL: NameLimit("identityPoolName", 128, prefix_prop=None),
    tokens.BUCKET: NameLimit("bucket", 63, min_length=3, pattern=r"(?!.*\.\.)[a-z0-9][a-z0-9.-]*[a-z0-9]",
                             rule_hint="lower-case letters, digits, dots and hyphens", prefix_prop="bucketPrefix"),
    tokens.QUEUE: NameLimit("name", 80, pattern=r"[a-zA-Z0-9_-]+(\.fifo)?", rule_hint="letters, digits, - and _",
                            fifo_prop="fifoQueue"),
    tokens.TOPIC: NameLimit("name", 256, pattern=r"[a-zA-Z0-9_-]+(\.fifo)?", rule_hint="letters, digits, - and _",
                            fifo_prop="fifoTopic"),
    tokens.TABLE: NameLimit("name", 255, min_length=3, pattern=r"[a-zA-Z0-9_.-]+", rule_hint="letters, digits and _.-",
                            prefix_prop=None),
    tokens.LOG_GROUP: NameLimit("name", 512, pattern=r"[.\-_/#A-Za-z0-9]+", rule_hint="letters, digits and ._-/#"),
    tokens.EVENT_RULE: NameLimit("name", 64, pattern=r"[.\-_A-Za-z0-9]+", rule_hint="letters, digits and ._-"),
    tokens.EVENT_BUS: NameLimit("name", 256, prefix_prop=None),
    "aws:cloudwatch/metricAlarm:MetricAlarm": NameLimit("name", 255, prefix_prop=None),
    "aws:sfn/stateMachine:StateMachine": NameLimit("name", 80, pattern=r"[a-zA-Z0-9_-]+", rule_hint="letters, digits, - and _"),
    tokens.KINESIS_STREAM: NameLimit("name", 128, pattern=r"[a-zA-Z0-9_.-]+", rule_hint="letters, digits and _.-", prefix_prop=None),
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": NameLimit("name", 64, pattern=r"[a-zA-Z0-9_.-]+",
                                                                         rule_hint="letters, digits and _.-", prefix_prop=None),
    tokens.SCHEDULE: NameLimit("name", 64, pattern=r"[0-9a-zA-Z-_.]+", rule_hint="letters, digits and -_."),
    "aws:scheduler/scheduleGroup:ScheduleGroup": NameLimit("name", 64, pattern=r"[0-9a-zA-Z-_.]+", rule_hint="letters, digits and -_."),
    "aws:pipes/pipe:Pipe": NameLimit("name", 64, pattern=r"[\.\-_A-Za-z0-9]+", rule_hint="letters, digits and ._-"),
    tokens.WEB_ACL: NameLimit("name", 128, pattern=r"[\w-]+", rule_hint="letters, digits, - and _"),
    "aws:cloudfront/originAccessControl:OriginAccessControl": NameLimit("name", 64, prefix_prop=None),
    "aws:cloudfront/function:Function": NameLimit("name", 64, pattern=r"[a-zA-Z0-9-_]+", rule_hint="letters, digits, - and _", prefix_prop=None),
    "aws:cloudfront/cachePolicy:CachePolicy": NameLimit("name", 128, prefix_prop=None),
    "aws:cloudfront/originRequestPolicy:OriginRequestPolicy": NameLimit("name", 128, prefix_prop=None),
    tokens.RESPONSE_HEADERS_POLICY: NameLimit("name", 128, prefix_prop=None),
    "aws:cloudfront/keyGroup:KeyGroup": NameLimit("name", 128, prefix_prop=None),
    "aws:cloudfront/publicKey:PublicKey": NameLimit("name", 128),
    tokens.STAGE: NameLimit("stageName", 128, pattern=r"[a-zA-Z0-9_-]+", rule_hint="letters, digits, - and _", prefix_prop=None),
    "aws:ec2/securityGroup:SecurityGroup": NameLimit("name", 255),
    "aws:secretsmanager/secret:Secret": NameLimit("name", 512, pattern=r"[\w/+=.@-]+", rule_hint="letters, digits and /_+=.@-"),
    "aws:ecr/repository:Repository": NameLimit("name", 256, pattern=r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*",
                                               rule_hint="lower-case letters, digits and ._-/", prefix_prop=None),
}


def planned_name(resource: Resource, limit: NameLimit) -> tuple:
    """(name, how) the resource will be created with; name None when it can't be known yet.

    For a prefix the name is the prefix plus a placeholder for the generated part.
    """
    explicit = get(resource.props, limit.prop)
    if explicit is not None:
        return (None if is_unknown(explicit) else explicit), "name"
    prefix = get(resource.props, limit.prefix_prop) if limit.prefix_prop else None
    if prefix is not None:
        if is_unknown(prefix):
            return None, "prefix"
        return prefix + "0" * TERRAFORM_PREFIX_SUFFIX_LENGTH, "prefix"
    name = resource.name + AUTONAME_SUFFIX
    if limit.fifo_prop and get(resource.props, limit.fifo_prop) is True:
        name += ".fifo"
    return name, "auto-name"


@resource_rule(
    "SB-LIMIT-001", *NAME_LIMITS,
    description="Physical names fit AWS's length and character rules, counting Pulumi's auto-name suffix.",
    remediation="Shorten the logical name (auto-naming adds 8 characters) or pass an explicit name that fits.",
    category=LIMITS,
)
def physical_name_limits(resource: Resource):
    limit = NAME_LIMITS[resource.resource_type]
    name, how = planned_name(resource, limit)
    if name is None or not isinstance(name, str):
        return
    kind = resource.resource_type.rsplit(":", 1)[-1]
    described = {
        "name": f"name '{name}'",
        "auto-name": f"auto-name '{resource.name}' + 8 characters",
        "prefix": f"{limit.prefix_prop} '{name[:-TERRAFORM_PREFIX_SUFFIX_LENGTH]}' + {TERRAFORM_PREFIX_SUFFIX_LENGTH} generated characters",
    }[how]
    if how == "prefix" and limit.prefix_max is not None:
        prefix = name[:-TERRAFORM_PREFIX_SUFFIX_LENGTH]
        if len(prefix) > limit.prefix_max:
            yield f"{limit.prefix_prop} '{prefix}' is {len(prefix)} characters; the {kind} limit is {limit.prefix_max}"
        return
    if len(name) > limit.max_length:
        yield f"{described} is {len(name)} characters; the {kind} limit is {limit.max_length}"
    if len(name) < limit.min_length:
        yield f"{described} is {len(name)} characters; the {kind} minimum is {limit.min_length}"
    if (resource.resource_type == tokens.USER_POOL_DOMAIN and get(resource.props, "certificateArn") is not None):
        return  # a custom domain is a DNS name, not a prefix
    if limit.pattern and not re.fullmatch(limit.pattern, name):
        yield f"{described} ('{name}') breaks the {kind} naming rule: {limit.rule_hint}"
    for word in limit.reserved:
        if word in name:
            yield f"{described} contains the reserved word '{word}'"
    if limit.fifo_prop and get(resource.props, limit.fifo_prop) is True and not name.endswith(".fifo"):
        yield f"{described} must end in '.fifo' for a FIFO {kind}"


def _certificate_region(stack: Stack, source: Resource, prop: str, arn) -> tuple:
    """(region, label) of a certificate reference: the stack's Certificate's region if linked,
    else the region in a known ARN."""
    certificate = stack.resolve_one(source, prop, arn, tokens.CERTIFICATE)
    if certificate is not None:
        return region_of(certificate), f"certificate '{certificate.name}'"
    if is_known(arn) and isinstance(arn, str) and arn.startswith("arn:"):
        return arn.split(":")[3], f"certificate {arn}"
    return None, ""


@stack_rule(
    "SB-LIMIT-002",
    description="Certificates used by CloudFront (distributions, Cognito custom domains, edge API domains) are in us-east-1.",
    remediation="Create the aws.acm.Certificate with a us-east-1 provider (or region=\"us-east-1\").",
    category=LIMITS,
)
def cloudfront_certificates_in_us_east_1(stack: Stack):
    uses = [(d, "viewerCertificate", get(d.props, "viewerCertificate", "acmCertificateArn"))
            for d in stack.of_type(tokens.DISTRIBUTION)]
    uses += [(d, "certificateArn", get(d.props, "certificateArn")) for d in stack.of_type(tokens.USER_POOL_DOMAIN)]
    uses += [(d, "certificateArn", get(d.props, "certificateArn")) for d in stack.of_type(tokens.API_DOMAIN_NAME)]
    for user, prop, arn in uses:
        if arn is None:
            continue
        region, label = _certificate_region(stack, user, prop, arn)
        if region is not None and region != CLOUDFRONT_REGION:
            yield user, f"{label} is in {region}; CloudFront only uses certificates from {CLOUDFRONT_REGION}"


@stack_rule(
    "SB-LIMIT-003",
    description="WAF web ACLs for CloudFront (scope CLOUDFRONT) are in us-east-1, and distributions use only those.",
    remediation='Create the aws.wafv2.WebAcl with scope="CLOUDFRONT" on a us-east-1 provider and pass its ARN as web_acl_id.',
    category=LIMITS,
)
def cloudfront_web_acls(stack: Stack):
    for acl in stack.of_type(tokens.WEB_ACL):
        if get(acl.props, "scope") == "CLOUDFRONT":
            region = region_of(acl)
            if region is not None and region != CLOUDFRONT_REGION:
                yield acl, f"scope CLOUDFRONT in {region}; it must be created in {CLOUDFRONT_REGION}"
    for distribution in stack.of_type(tokens.DISTRIBUTION):
        value = get(distribution.props, "webAclId")
        if value is None:
            continue
        acl = stack.resolve_one(distribution, "webAclId", value, tokens.WEB_ACL)
        if acl is not None:
            scope = get(acl.props, "scope")
            if is_known(scope) and scope != "CLOUDFRONT":
                yield distribution, f"web ACL '{acl.name}' has scope {scope}, not CLOUDFRONT"
        elif is_known(value) and isinstance(value, str) and value.startswith("arn:aws:wafv2:"):
            if value.split(":")[3] != CLOUDFRONT_REGION or ":global/" not in value:
                yield distribution, f"web ACL {value} is not a CLOUDFRONT-scope ACL in {CLOUDFRONT_REGION}"


AWS_MANAGED_MESSAGING_KEYS = ("alias/aws/sqs", "alias/aws/sns")


def _service_deliveries(stack: Stack):
    """(publisher, publishing service, prop, target reference) for every service push into a queue or topic."""
    for notification in stack.of_type(tokens.BUCKET_NOTIFICATION):
        for kind, key in (("queues", "queueArn"), ("topics", "topicArn")):
            for entry in as_list(get(notification.props, kind)):
                yield notification, "S3", kind, get(entry, key)
    for target in stack.of_type(tokens.EVENT_TARGET):
        yield target, "EventBridge", "arn", get(target.props, "arn")
    for subscription in stack.of_type(tokens.TOPIC_SUBSCRIPTION):
        if get(subscription.props, "protocol") == "sqs":
            yield subscription, "SNS", "endpoint", get(subscription.props, "endpoint")


@stack_rule(
    "SB-LIMIT-004",
    description="Queues and topics that S3, SNS or EventBridge deliver to aren't encrypted with the AWS managed key.",
    remediation="Use sqs_managed_sse_enabled=True for such queues, or a customer managed KMS key whose policy lets the service use it.",
    category=LIMITS,
)
def service_delivery_encryption(stack: Stack):
    targets = stack.of_type(tokens.QUEUE, tokens.TOPIC)
    for publisher, service, prop, value in _service_deliveries(stack):
        for target in stack.resolve(publisher, prop, value, targets) or []:
            key = get(target.props, "kmsMasterKeyId")
            if key in AWS_MANAGED_MESSAGING_KEYS:
                yield target, f"{service} delivers here but {key} can't be used by {service}; deliveries fail"


def _allows_service(stack: Stack, documents: list, service: str, action: str) -> Optional[bool]:
    verdicts = []
    for document in documents:
        found = statements(document)
        if found is None:
            return None
        verdicts.append(any(grants(s, action) is True and service in principal_values(s.principal, "Service") for s in found))
    return any(verdicts)


@stack_rule(
    "SB-ORDER-001",
    description="A bucket notification is created after the permission that lets S3 reach each target.",
    remediation="Pass depends_on=[permission] (lambda.Permission for s3.amazonaws.com) or [queue_policy]/[topic_policy] to the aws.s3.BucketNotification.",
    category=LIMITS,
)
def bucket_notification_order(stack: Stack):
    for notification in stack.of_type(tokens.BUCKET_NOTIFICATION):
        for entry in as_list(get(notification.props, "lambdaFunctions")):
            for function in stack.resolve(notification, "lambdaFunctions", get(entry, "lambdaFunctionArn"),
                                          stack.of_type(tokens.FUNCTION)) or []:
                yield from _function_permission_order(stack, notification, function)
        for kind, key, arn_key, policy_type, link, action in (
                ("queues", tokens.QUEUE, "queueArn", tokens.QUEUE_POLICY, "queueUrl", "sqs:SendMessage"),
                ("topics", tokens.TOPIC, "topicArn", tokens.TOPIC_POLICY, "arn", "sns:Publish")):
            for entry in as_list(get(notification.props, kind)):
                for target in stack.resolve(notification, kind, get(entry, arn_key), stack.of_type(key)) or []:
                    yield from _resource_policy_order(stack, notification, target, policy_type, link, action)


def _function_permission_order(stack: Stack, notification: Resource, function: Resource):
    permissions, undetermined = [], False
    for permission in stack.of_type(tokens.PERMISSION):
        found = stack.resolve(permission, "function", get(permission.props, "function"), [function])
        principal = get(permission.props, "principal")
        if found is None or is_unknown(principal):
            undetermined = True
        elif found and principal == "s3.amazonaws.com":
            permissions.append(permission)
    if not permissions:
        if not undetermined:
            yield notification, f"no lambda Permission lets s3.amazonaws.com invoke '{function.name}'; S3 rejects the notification"
    elif not any(stack.depends_on(notification, p) for p in permissions):
        yield notification, f"doesn't depend on Permission '{permissions[0].name}' for '{function.name}'; S3 may validate it first"


def _resource_policy_order(stack: Stack, notification: Resource, target: Resource, policy_type: str, link: str, action: str):
    policies, undetermined = stack.referrers(target, policy_type, link)
    inline = get(target.props, "policy")
    documents = [get(p.props, "policy") for p in policies] + ([inline] if inline is not None else [])
    allowed = _allows_service(stack, documents, "s3.amazonaws.com", action)
    if allowed is None or (not allowed and undetermined):
        return
    if not allowed:
        yield notification, f"no policy on '{target.name}' allows s3.amazonaws.com {action}; S3 rejects the notification"
        return
    holders = policies + ([target] if inline is not None else [])
    if not any(stack.depends_on(notification, h) for h in holders):
        yield notification, f"doesn't depend on the policy of '{target.name}'; S3 may validate the notification first"


@stack_rule(
    "SB-ORDER-002",
    description="An API Gateway deployment is created after every Method and Integration of its API.",
    remediation="Pass depends_on=[*methods, *integrations] to aws.apigateway.Deployment (and triggers hashing them so changes redeploy).",
    category=LIMITS,
)
def deployment_order(stack: Stack):
    for deployment in stack.of_type(tokens.DEPLOYMENT):
        api = api_of(stack, deployment)
        for part in stack.of_type(tokens.METHOD, tokens.INTEGRATION):
            belongs = (api_of(stack, part) is api) if api is not None else same_api(stack, deployment, part)
            if belongs and not stack.depends_on(deployment, part):
                kind = part.resource_type.rsplit(":", 1)[-1]
                yield deployment, f"doesn't depend on {kind} '{part.name}'; the deployment may snapshot an API without it"


@stack_rule(
    "SB-ORDER-003",
    description="An event source mapping is created after the role policies that let its function read the source.",
    remediation="Pass depends_on=[role_policy, ...] to the EventSourceMapping (or to the function), or put the policy inline in the Role.",
    category=LIMITS,
)
def event_source_mapping_order(stack: Stack):
    for mapping in stack.of_type(tokens.EVENT_SOURCE_MAPPING):
        function = stack.resolve_one(mapping, "functionName", get(mapping.props, "functionName"), tokens.FUNCTION)
        if function is None:
            continue
        role = stack.resolve_one(function, "role", get(function.props, "role"), tokens.ROLE)
        if role is None:
            continue
        attached = stack.referrers(role, tokens.ROLE_POLICY, "role")[0] + stack.referrers(role, tokens.ROLE_POLICY_ATTACHMENT, "role")[0]
        for policy in attached:
            if not stack.depends_on(mapping, policy):
                yield mapping, f"doesn't depend on '{policy.name}' of role '{role.name}'; AWS checks the role's access when the mapping is created"


@stack_rule(
    "SB-ORDER-004",
    description="API Gateway logging is set up after the account's CloudWatch role (aws.apigateway.Account).",
    remediation="Pass depends_on=[api_gateway_account] to stages with access logs and to MethodSettings that set a logging level.",
    category=LIMITS,
)
def api_logging_after_account(stack: Stack):
    accounts = stack.of_type(tokens.API_ACCOUNT)
    if not accounts:
        return
    logging = [s for s in stack.of_type(tokens.STAGE) if get(s.props, "accessLogSettings") is not None]
    logging += [m for m in stack.of_type(tokens.METHOD_SETTINGS)
                if get(m.props, "settings", "loggingLevel") not in (None, "OFF")]
    for resource in logging:
        if not any(stack.depends_on(resource, account) for account in accounts):
            yield resource, f"logs without depending on '{accounts[0].name}'; AWS refuses until the CloudWatch role is set"


@stack_rule(
    "SB-ORDER-005",
    description="A function's /aws/lambda/<name> log group is created before the function.",
    remediation="Create the LogGroup first and pass logging_config={'log_group': log_group.name} (or depends_on=[log_group]) to the function.",
    category=LIMITS,
)
def log_group_before_function(stack: Stack):
    groups = stack.of_type(tokens.LOG_GROUP)
    for function in stack.of_type(tokens.FUNCTION):
        name = attribute(function, "name")
        if not is_known(name):
            continue
        for group in groups:
            if get(group.props, "name") == f"/aws/lambda/{name}" and not stack.depends_on(function, group):
                yield function, f"doesn't depend on log group '{group.name}'; if it logs first, Lambda creates the group and the LogGroup create fails"
