"""Hardening rules (SB-HARD-*): a compliant and a non-compliant fixture for each."""
import json

from policy import UNKNOWN, Resource, evaluate, rule_by_id
from policy.hardening_rules import (
    DEFAULT_SECURITY_GROUP,
    INGRESS_RULE,
    KMS_KEY,
    KMS_KEY_POLICY,
    LISTENER_RULES,
    LISTENERS,
    SECURITY_GROUP,
    VPC_ORIGIN,
    WEB_ACL_LOGGING,
)
from policy.tokens import BUCKET, BUCKET_LOGGING, BUCKET_OWNERSHIP_CONTROLS, DISTRIBUTION, WEB_ACL

ACCOUNT = "123456789012"
ALB_ARN = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:loadbalancer/app/demo-alb/0123456789abcdef"
ALB_DNS = "demo-alb-1234567890.eu-west-1.elb.amazonaws.com"
LISTENER_ARN = f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:listener/app/demo-alb/0123456789abcdef/fedcba"


# SB-HARD-001 security group rules have descriptions (advisory)

def ingress(name="alb-from-cloudfront", group="sg-0aaa", **props):
    base = {"securityGroupId": group, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
            "cidrIpv4": "10.0.0.0/24", "description": "HTTPS from the load balancer subnets"}
    base.update(props)
    return Resource(INGRESS_RULE, {k: v for k, v in base.items() if v is not None}, name=name)


def test_described_rules_pass(violations):
    assert violations("SB-HARD-001", ingress()) == []


def test_rule_without_description_is_reported(violations):
    assert violations("SB-HARD-001", ingress(description=None)) == ["rule has no description"]


def test_inline_rules_without_description_are_reported(violations):
    group = Resource(SECURITY_GROUP, {"ingress": [{"fromPort": 443, "toPort": 443, "protocol": "tcp",
                                                   "cidrBlocks": ["0.0.0.0/0"]}],
                                      "egress": [{"fromPort": 0, "toPort": 0, "protocol": "-1",
                                                  "cidrBlocks": ["0.0.0.0/0"], "description": "all egress"}]},
                     name="web-sg")
    assert violations("SB-HARD-001", group) == ["inline ingress rule 0 has no description"]


def test_a_default_security_group_without_rules_passes(violations):
    assert violations("SB-HARD-001", Resource(DEFAULT_SECURITY_GROUP, {"vpcId": "vpc-1"}, name="default")) == []


def test_description_rule_is_mandatory():
    assert rule_by_id("SB-HARD-001").level == "mandatory"


# SB-HARD-002 customer-managed keys have an explicit policy

KEY = Resource(KMS_KEY, {"enableKeyRotation": True}, name="table-key",
               outputs={"id": "key-1", "keyId": "key-1", "arn": f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/key-1"})


def test_key_with_an_inline_policy_passes(violations):
    key = Resource(KMS_KEY, {"enableKeyRotation": True, "policy": json.dumps({"Statement": []})}, name="k")
    assert violations("SB-HARD-002", key) == []


def test_key_with_a_key_policy_resource_passes(violations):
    policy = Resource(KMS_KEY_POLICY, {"keyId": "key-1", "policy": json.dumps({"Statement": []})}, name="kp")
    assert violations("SB-HARD-002", KEY, policy) == []


def test_key_without_a_policy_is_reported(violations):
    assert violations("SB-HARD-002", KEY) == [
        "no key policy: KMS's default lets any principal of the account that IAM allows use the key"]


def test_key_policy_naming_an_unknown_key_is_not_reported(violations):
    policy = Resource(KMS_KEY_POLICY, {"keyId": UNKNOWN}, name="kp", property_dependencies={"keyId": [KEY]})
    assert violations("SB-HARD-002", KEY, policy) == []


def test_a_key_without_a_policy_fails_the_pack():
    """Mandatory: every component's created key has a policy now (IngestionPipeline's was the last)."""
    assert rule_by_id("SB-HARD-002").level == "mandatory"
    report = evaluate([KEY], "dev", rules=["SB-HARD-002"], suppressions=())
    assert not report.ok and [f.name for f in report.mandatory] == ["table-key"]


# SB-HARD-003 WAF web ACLs log

ACL = Resource(WEB_ACL, {"scope": "CLOUDFRONT"}, name="site-waf",
               outputs={"id": "acl-1", "arn": f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/site-waf/acl-1"})


def test_web_acl_with_logging_passes(violations):
    logging = Resource(WEB_ACL_LOGGING, {"resourceArn": ACL.outputs["arn"], "logDestinationConfigs": [
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:aws-waf-logs-site"]}, name="site-waf-logging")
    assert violations("SB-HARD-003", ACL, logging) == []


def test_web_acl_without_logging_is_reported(violations):
    assert violations("SB-HARD-003", ACL) == ["no logging configuration: blocked and allowed requests leave no trace"]


# SB-HARD-004 no ACL-enabled log buckets

LOGS = Resource(BUCKET, {"bucket": "logs-1a2b3c4"}, name="logs", outputs={
    "id": "logs-1a2b3c4", "arn": "arn:aws:s3:::logs-1a2b3c4", "bucketDomainName": "logs-1a2b3c4.s3.amazonaws.com"})
SITE = Resource(BUCKET, {"bucket": "site-1a2b3c4"}, name="site",
                outputs={"id": "site-1a2b3c4", "arn": "arn:aws:s3:::site-1a2b3c4"})
ACCESS_LOGGING = Resource(BUCKET_LOGGING[0], {"bucket": "site-1a2b3c4", "targetBucket": "logs-1a2b3c4"},
                          name="site-access-logs")


def ownership(value):
    return Resource(BUCKET_OWNERSHIP_CONTROLS, {"bucket": "logs-1a2b3c4", "rule": {"objectOwnership": value}},
                    name="logs-ownership")


def cdn(**props):
    return Resource(DISTRIBUTION, {"origins": [], **props}, name="cdn",
                    outputs={"id": "E1", "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1"})


def test_acl_free_log_bucket_and_v2_logging_pass(violations):
    assert violations("SB-HARD-004", LOGS, SITE, ACCESS_LOGGING, ownership("BucketOwnerEnforced"), cdn()) == []


def test_legacy_cloudfront_logging_is_reported(violations):
    legacy = cdn(loggingConfig={"bucket": "logs-1a2b3c4.s3.amazonaws.com", "prefix": "cloudfront/"})
    assert violations("SB-HARD-004", LOGS, ownership("BucketOwnerEnforced"), legacy) == [
        "uses legacy standard logging, which needs a log bucket with ACLs enabled"]


def test_log_bucket_with_acls_enabled_is_reported(violations):
    assert violations("SB-HARD-004", LOGS, SITE, ACCESS_LOGGING, ownership("BucketOwnerPreferred")) == [
        "log bucket with object ownership BucketOwnerPreferred: ACLs are enabled"]


def test_legacy_logging_fails_the_pack_in_every_environment():
    """Mandatory: PaidContent, the last legacy-logged distribution, logs through standard logging v2 now."""
    assert rule_by_id("SB-HARD-004").level == "mandatory"
    legacy = cdn(loggingConfig={"bucket": "logs-1a2b3c4.s3.amazonaws.com", "prefix": "cloudfront/"})
    for environment in ("dev", "prod"):
        report = evaluate([LOGS, ownership("BucketOwnerPreferred"), legacy], environment, rules=["SB-HARD-004"],
                          suppressions=())
        assert not report.ok and {f.name for f in report.mandatory} == {"cdn", "logs"}, environment


# SB-HARD-005 an ALB a distribution fronts is private (VPC origin) or locked down

def alb(internal):
    return Resource("aws:lb/loadBalancer:LoadBalancer", {"internal": internal, "loadBalancerType": "application"},
                    name="demo-alb", outputs={"id": ALB_ARN, "arn": ALB_ARN, "dnsName": ALB_DNS})


VPC_ORIGIN_RESOURCE = Resource(VPC_ORIGIN, {"vpcOriginEndpointConfig": {
    "arn": ALB_ARN, "originProtocolPolicy": "http-only", "httpPort": 80, "httpsPort": 443}},
    name="demo-vpc-origin", outputs={"id": "vo_123", "arn": f"arn:aws:cloudfront::{ACCOUNT}:vpcorigin/vo_123"})
LISTENER = Resource(LISTENERS[0], {"loadBalancerArn": ALB_ARN, "port": 443, "protocol": "HTTPS"}, name="listener",
                    outputs={"id": LISTENER_ARN, "arn": LISTENER_ARN})


def fronting(origin):
    return cdn(origins=[{"originId": "update-origin", "domainName": ALB_DNS, **origin}])


def lock_down_rules():
    forward = Resource(LISTENER_RULES[0], {"listenerArn": LISTENER_ARN, "priority": 10, "conditions": [
        {"httpHeader": {"httpHeaderName": "X-Origin-Verify", "values": ["secret"]}}],
        "actions": [{"type": "forward", "targetGroupArn": "tg"}]}, name="forward-verified")
    reject = Resource(LISTENER_RULES[0], {"listenerArn": LISTENER_ARN, "priority": 50000, "conditions": [
        {"pathPattern": {"values": ["*"]}}], "actions": [{"type": "fixed-response"}]}, name="reject-direct")
    return [forward, reject]


HTTPS_ORIGIN = {"customOriginConfig": {"originProtocolPolicy": "https-only", "originSslProtocols": ["TLSv1.2"]}}


def test_internal_alb_behind_a_vpc_origin_passes(violations):
    origin = {"vpcOriginConfig": {"vpcOriginId": "vo_123"}}
    assert violations("SB-HARD-005", alb(True), VPC_ORIGIN_RESOURCE, fronting(origin)) == []


def test_public_alb_locked_down_with_the_header_passes(violations):
    origin = {**HTTPS_ORIGIN, "customHeaders": [{"name": "X-Origin-Verify", "value": "secret"}]}
    assert violations("SB-HARD-005", alb(False), LISTENER, *lock_down_rules(), fronting(origin)) == []


def test_public_alb_fronted_without_lock_down_is_reported(violations):
    assert violations("SB-HARD-005", alb(False), LISTENER, fronting(HTTPS_ORIGIN)) == [
        "is the origin 'update-origin' of 'cdn' on the internet without a VPC origin or the lock-down "
        "(secret header rule + catch-all 403)"]


def test_public_alb_behind_a_vpc_origin_is_reported(violations):
    origin = {"vpcOriginConfig": {"vpcOriginId": "vo_123"}}
    assert violations("SB-HARD-005", alb(False), VPC_ORIGIN_RESOURCE, fronting(origin)) == [
        "is internet-facing but reached through VPC origin 'demo-vpc-origin': clients can still go around CloudFront"]


# SB-HARD-006 the CloudFront prefix list's group stays within the rule quota (limits)

def prefix_list_rule(group="sg-0aaa"):
    return ingress("from-cloudfront", group=group, cidrIpv4=None, prefixListId="pl-4fa04526",
                   description="CloudFront origin-facing servers (com.amazonaws.global.cloudfront.origin-facing)")


def test_prefix_list_in_a_group_of_its_own_passes(violations):
    others = [ingress(f"other-{i}", group="sg-0bbb") for i in range(20)]
    assert violations("SB-HARD-006", prefix_list_rule(), *others) == []


def test_prefix_list_with_five_other_rules_passes(violations):
    others = [ingress(f"other-{i}") for i in range(5)]
    assert violations("SB-HARD-006", prefix_list_rule(), *others) == []


def test_prefix_list_with_six_other_rules_is_reported(violations):
    others = [ingress(f"other-{i}") for i in range(6)]
    assert violations("SB-HARD-006", prefix_list_rule(), *others) == [
        "security group sg-0aaa holds the CloudFront prefix list (55 rules) and 6 other inbound rules: over the "
        "60-rule quota by 1"]


def test_quota_rule_is_a_deploy_time_limit():
    assert rule_by_id("SB-HARD-006").category == "limits"


def test_every_hardening_rule_has_a_reason_and_a_fix():
    for rule_id in ("SB-HARD-001", "SB-HARD-002", "SB-HARD-003", "SB-HARD-004", "SB-HARD-005", "SB-HARD-006"):
        rule = rule_by_id(rule_id)
        assert rule.description and rule.remediation, rule_id


# The real stacks: the CloudFront / network components comply.

def test_stacks_components_of_this_issue_comply(dev_stack, prod_stack):
    ours = ("updates", "blog-site", "blog-table")
    for snapshot in (dev_stack, prod_stack):
        report = evaluate(snapshot.resources, snapshot.stack)
        found = [(f.rule_id, f.name) for f in report.findings
                 if f.rule_id.startswith("SB-HARD") and f.name.startswith(ours)]
        assert found == [], snapshot.stack


def test_ingestion_key_and_paid_content_logs_comply_on_the_real_stacks(dev_stack, prod_stack):
    for snapshot in (dev_stack, prod_stack):
        report = evaluate(snapshot.resources, snapshot.stack)
        assert report.for_rule("SB-HARD-002") == [] and report.for_rule("SB-HARD-004") == [], snapshot.stack
