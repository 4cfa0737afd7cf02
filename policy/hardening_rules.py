"""Hardening (issue 12): network rules that say why, keys with a policy, logs without ACLs, private origins.

SB-HARD-001  security group rules carry a description
SB-HARD-002  customer-managed KMS keys have an explicit key policy
SB-HARD-003  WAF web ACLs log
SB-HARD-004  no log bucket takes writes through ACLs (CloudFront legacy logging, ACL-enabled ownership)
SB-HARD-005  an ALB a distribution fronts is private (VPC origin) or locked down (secret header + 403)
SB-HARD-006  a security group holding the CloudFront origin-facing prefix list stays within its rule quota
"""
from __future__ import annotations

from collections import defaultdict

from . import tokens
from .model import Resource, as_list, attribute, get, is_known, is_unknown
from .registry import LIMITS, resource_rule, stack_rule
from .s3_rules import ACL_LOG_OWNERSHIP, bucket_configs, log_buckets
from .stack import Stack, identifies

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
WEB_ACL_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
VPC_ORIGIN = "aws:cloudfront/vpcOrigin:VpcOrigin"
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
ROUTE53_RECORD = "aws:route53/record:Record"

CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
CLOUDFRONT_PREFIX_LIST_WEIGHT = 55  # rules it counts as against the group's quota
SECURITY_GROUP_INBOUND_QUOTA = 60   # default inbound rules per security group


# --- SB-HARD-001 ------------------------------------------------------------------------------------

@resource_rule(
    "SB-HARD-001", SECURITY_GROUP, DEFAULT_SECURITY_GROUP, INGRESS_RULE, EGRESS_RULE, LEGACY_RULE,
    description="Every security group rule says what it admits and why (a description).",
    remediation="Set description= on each aws.vpc.SecurityGroupIngressRule/EgressRule (or inline ingress/egress entry): "
                "who the peer is and what for.",
)
def security_group_rule_descriptions(resource: Resource):
    if resource.resource_type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        for direction in ("ingress", "egress"):
            entries = get(resource.props, direction)
            if is_unknown(entries):
                continue
            for index, entry in enumerate(as_list(entries)):
                if isinstance(entry, dict) and not get(entry, "description"):
                    yield f"inline {direction} rule {index} has no description"
        return
    description = get(resource.props, "description")
    if not is_unknown(description) and not description:
        yield "rule has no description"


# --- SB-HARD-002 ------------------------------------------------------------------------------------

@stack_rule(
    "SB-HARD-002",
    description="Customer-managed KMS keys have an explicit key policy (not KMS's default, which defers to any IAM policy).",
    remediation="Pass policy= to aws.kms.Key (or add an aws.kms.KeyPolicy): the account administers the key, and each "
                "service that uses it is allowed through kms:ViaService or its service principal "
                "(serverless_blueprints.kms_keys builds these).",
)
def kms_key_policies(stack: Stack):
    for key in stack.of_type(KMS_KEY):
        if get(key.props, "policy") is not None:
            continue
        policies, undetermined = stack.referrers(key, KMS_KEY_POLICY, "keyId")
        if not policies and not undetermined:
            yield key, "no key policy: KMS's default lets any principal of the account that IAM allows use the key"


# --- SB-HARD-003 ------------------------------------------------------------------------------------

@stack_rule(
    "SB-HARD-003",
    description="WAF web ACLs log their requests.",
    remediation="Add aws.wafv2.WebAclLoggingConfiguration(resource_arn=acl.arn, log_destination_configs=[log group "
                "named aws-waf-logs-*]) in the ACL's region, with redacted_fields for credentials and cookies.",
)
def web_acl_logging(stack: Stack):
    for acl in stack.of_type(tokens.WEB_ACL):
        configs, undetermined = stack.referrers(acl, WEB_ACL_LOGGING, "resourceArn")
        if not configs and not undetermined:
            yield acl, "no logging configuration: blocked and allowed requests leave no trace"


# --- SB-HARD-004 ------------------------------------------------------------------------------------

@stack_rule(
    "SB-HARD-004",
    description="No log bucket takes writes through ACLs: CloudFront logs through standard logging v2, buckets are BucketOwnerEnforced.",
    remediation="Drop the distribution's logging_config; add aws.cloudwatch.LogDeliverySource/LogDeliveryDestination/"
                "LogDelivery in us-east-1 (serverless_blueprints.cloudfront_defaults.standard_logging) and set the "
                "log bucket's object ownership to BucketOwnerEnforced.",
)
def no_acl_log_buckets(stack: Stack):
    for distribution in stack.of_type(tokens.DISTRIBUTION):
        if get(distribution.props, "loggingConfig", "bucket") is not None:
            yield distribution, "uses legacy standard logging, which needs a log bucket with ACLs enabled"
    access, cloudfront, _ = log_buckets(stack)
    for bucket in access | cloudfront:
        controls, _ = bucket_configs(stack, bucket, tokens.BUCKET_OWNERSHIP_CONTROLS)
        for control in controls:
            ownership = get(control.props, "rule", "objectOwnership")
            if ownership in ACL_LOG_OWNERSHIP:
                yield bucket, f"log bucket with object ownership {ownership}: ACLs are enabled"


# --- SB-HARD-005 ------------------------------------------------------------------------------------

def _origins(distribution: Resource) -> list:
    return [o for o in as_list(get(distribution.props, "origins")) if isinstance(o, dict)]


def _albs_named(stack: Stack, domain, albs: list) -> list:
    """The stack's ALBs an origin domain reaches: the ALB's DNS name, or a Route 53 alias to it."""
    if not is_known(domain):
        return []
    found = [alb for alb in albs if attribute(alb, "dnsName") == domain]
    for record in stack.of_type(ROUTE53_RECORD):
        if get(record.props, "name") != domain:
            continue
        for alias in as_list(get(record.props, "aliases")):
            found += [alb for alb in albs if is_known(get(alias, "name")) and attribute(alb, "dnsName") == get(alias, "name")]
    return found


def _locked_down(stack: Stack, alb: Resource, origin: dict) -> bool:
    """A listener of the ALB forwards only requests carrying one of the origin's custom headers, and answers a
    catch-all fixed response to the rest."""
    headers = {str(get(h, "headerName") or get(h, "name")).lower() for h in as_list(get(origin, "customHeaders"))}
    listeners = [listener for listener in stack.of_type(LISTENERS)
                 if (stack.resolve(listener, "loadBalancerArn", get(listener.props, "loadBalancerArn"), [alb]) or [])]
    for listener in listeners:
        rules = [rule for rule in stack.of_type(LISTENER_RULES)
                 if (stack.resolve(rule, "listenerArn", get(rule.props, "listenerArn"), [listener]) or [])]
        verified = any(get(condition, "httpHeader", "httpHeaderName") is not None
                       and str(get(condition, "httpHeader", "httpHeaderName")).lower() in headers
                       for rule in rules for condition in as_list(get(rule.props, "conditions")))
        refused = any(get(action, "type") == "fixed-response"
                      for rule in rules for action in as_list(get(rule.props, "actions")))
        if verified and refused:
            return True
    return False


@stack_rule(
    "SB-HARD-005",
    description="An ALB a distribution fronts is private behind a CloudFront VPC origin, or locked down (secret header rule + catch-all 403).",
    remediation="Make the ALB internal and reach it with aws.cloudfront.VpcOrigin (origins[].vpc_origin_config), or "
                "send a secret origin header and add listener rules: forward when it matches, fixed 403 otherwise.",
)
def alb_behind_cloudfront_is_private_or_locked_down(stack: Stack):
    albs = stack.of_type(tokens.LOAD_BALANCERS)
    vpc_origins = stack.of_type(VPC_ORIGIN)
    for distribution in stack.of_type(tokens.DISTRIBUTION):
        for origin in _origins(distribution):
            origin_id = get(origin, "originId") or "?"
            vpc_origin_id = get(origin, "vpcOriginConfig", "vpcOriginId")
            if vpc_origin_id is not None:
                for vpc_origin in [v for v in vpc_origins if identifies(vpc_origin_id, v)]:
                    arn = get(vpc_origin.props, "vpcOriginEndpointConfig", "arn")
                    for alb in [a for a in albs if identifies(arn, a)]:
                        if get(alb.props, "internal") is not True and not is_unknown(get(alb.props, "internal")):
                            yield alb, (f"is internet-facing but reached through VPC origin '{vpc_origin.name}': "
                                        f"clients can still go around CloudFront")
                continue
            for alb in _albs_named(stack, get(origin, "domainName"), albs):
                if get(alb.props, "internal") is True:
                    continue
                if not _locked_down(stack, alb, origin):
                    yield alb, (f"is the origin '{origin_id}' of '{distribution.name}' on the internet without a VPC "
                                f"origin or the lock-down (secret header rule + catch-all 403)")


# --- SB-HARD-006 ------------------------------------------------------------------------------------

def _is_cloudfront_prefix_list_rule(rule: Resource) -> bool:
    description = get(rule.props, "description")
    return (get(rule.props, "prefixListId") is not None and is_known(description)
            and isinstance(description, str) and "cloudfront" in description.lower())


@stack_rule(
    "SB-HARD-006",
    description="A security group holding the CloudFront origin-facing prefix list (55 rules) has at most 5 other inbound rules.",
    remediation="Put the prefix list in a security group of its own (UpdateOffloadCdn lock_down.vpc_id makes one) and "
                f"attach it to the ALB; name {CLOUDFRONT_PREFIX_LIST} in the rule's description so this check sees it.",
    category=LIMITS,
)
def cloudfront_prefix_list_quota(stack: Stack):
    by_group: dict = defaultdict(list)
    for rule in stack.of_type(INGRESS_RULE):
        group = get(rule.props, "securityGroupId")
        if is_known(group) and isinstance(group, str):
            by_group[group].append(rule)
    groups = {attribute(g, "id"): g for g in stack.of_type(SECURITY_GROUP)}
    for group_id, rules in by_group.items():
        holders = [r for r in rules if _is_cloudfront_prefix_list_rule(r)]
        if not holders:
            continue
        inline = groups.get(group_id)
        inline_count = sum(1 for _ in as_list(get(inline.props, "ingress"))) if inline is not None else 0
        others = len(rules) - 1 + inline_count
        limit = SECURITY_GROUP_INBOUND_QUOTA - CLOUDFRONT_PREFIX_LIST_WEIGHT
        if others > limit:
            yield holders[0], (f"security group {group_id} holds the CloudFront prefix list ({CLOUDFRONT_PREFIX_LIST_WEIGHT} "
                               f"rules) and {others} other inbound rules: over the {SECURITY_GROUP_INBOUND_QUOTA}-rule "
                               f"quota by {others - limit}")
