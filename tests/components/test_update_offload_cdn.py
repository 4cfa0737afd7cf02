"""UpdateOffloadCdn under Pulumi mocks: the distribution, the lock-down, the demo origin, the config section."""
import base64
import json
import re

import pulumi_aws as aws
import pytest

import stack_config
from serverless_blueprints.cloudfront_defaults import (
    ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID,
    CACHING_DISABLED_POLICY_ID,
    HSTS_MAX_AGE_SECONDS,
)
from serverless_blueprints.args import ArgsError
from serverless_blueprints.update_offload_cdn import (
    ORIGIN_FACING_PREFIX_LIST_WEIGHT,
    ORIGIN_SHIELD_REGIONS,
    SECURITY_GROUP_INBOUND_RULE_QUOTA,
    UpdateOffloadCdn,
    check_load_balancer_name,
    resolve_args,
)
from serverless_blueprints.secure_bucket import SecureBucket
from offline.harness import evaluate_program
from tests.conftest import statements_of

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/updates/0123456789abcdef/fedcba9876543210"
TARGET_GROUP = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/updates-app/0123456789abcdef"
VPC = "vpc-0123456789abcdef0"
LOCK = {"listener_arn": LISTENER, "target_group_arn": TARGET_GROUP, "forward_rule_priority": 10}
ZONE = "Z0123456789EXAMPLE"
ALARMS = {"topic_arn": "arn:aws:sns:eu-west-1:123456789012:ops", "us_east_1_topic_arn": "arn:aws:sns:us-east-1:123456789012:ops"}
DEMO_TYPES = ("aws:ec2/vpc:Vpc", "aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup",
              "aws:autoscaling/group:Group", "aws:efs/fileSystem:FileSystem", "aws:ec2/launchTemplate:LaunchTemplate")


def build(args: dict, name: str = "updates"):
    """Evaluate one UpdateOffloadCdn (with a us-east-1 provider) under the mocks, in eu-west-1."""
    def program():
        east = aws.Provider("us-east-1", region="us-east-1")
        UpdateOffloadCdn(name, {"us_east_1_provider": east, **args})
    return evaluate_program(program, region="eu-west-1")


@pytest.fixture(scope="module")
def existing():
    """An existing ELB origin, locked down (generated secret, its own security group), with a custom domain."""
    return build({"origin_domain_name": "updates-origin.example.com",
                  "lock_down": {**LOCK, "vpc_id": VPC},
                  "custom_domain": {"domain_name": "updates.example.com", "hosted_zone_id": ZONE},
                  "alarms": ALARMS})


@pytest.fixture(scope="module")
def bare():
    """Only the required arg: no lock-down, no custom domain, no demo."""
    return build({"origin_domain_name": "my-alb-123.eu-west-1.elb.amazonaws.com"})


@pytest.fixture(scope="module")
def demo():
    """The dev demo origin without a certificate: a private ALB behind a CloudFront VPC origin."""
    return build({"demo_origin": {"availability_zones": 3}})


def distribution(snapshot):
    """The props of this component's distribution (a stack may hold other components' too)."""
    (component,) = snapshot.of_type("serverless-blueprints:index:UpdateOffloadCdn")
    (found,) = [r for r in snapshot.children_of(component.urn) if r.resource_type == DISTRIBUTION]
    return found.props


def origin(snapshot) -> dict:
    (found,) = distribution(snapshot)["origins"]
    return found


def update_behaviour(snapshot) -> dict:
    (found,) = distribution(snapshot)["orderedCacheBehaviors"]
    return found


def one(snapshot, resource_type: str):
    (found,) = snapshot.of_type(resource_type)
    return found


# --- the "under mocks" list --------------------------------------------------------------

def test_origin_is_https_only_with_tls12(existing):
    config = origin(existing)["customOriginConfig"]
    assert config["originProtocolPolicy"] == "https-only"
    assert config["originSslProtocols"] == ["TLSv1.2"]
    assert origin(existing)["domainName"] == "updates-origin.example.com"


def test_update_behaviour_cache_key_is_minimal(existing):
    policy = one(existing, "aws:cloudfront/cachePolicy:CachePolicy")
    key = policy.props["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["cookiesConfig"] == {"cookieBehavior": "none"}
    assert key["headersConfig"] == {"headerBehavior": "none"}
    assert key["queryStringsConfig"] == {"queryStringBehavior": "whitelist", "queryStrings": {"items": ["version"]}}
    assert update_behaviour(existing)["cachePolicyId"] == policy.outputs["id"]


def test_dynamic_default_behaviour_does_not_cache(existing):
    default = distribution(existing)["defaultCacheBehavior"]
    assert default["cachePolicyId"] == CACHING_DISABLED_POLICY_ID
    assert default["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID
    assert {"POST", "PUT", "DELETE"} <= set(default["allowedMethods"])


def test_secret_origin_header_exists_and_is_marked_secret(existing):
    password = one(existing, "random:index/randomPassword:RandomPassword")
    (header,) = origin(existing)["customHeaders"]
    assert header == {"name": "X-Origin-Verify", "value": password.outputs["result"]}
    assert password.props == {"length": 48, "special": False}
    assert "origins" in existing.named("updates-cdn").secret_inputs
    assert "conditions" in existing.named("updates-forward-verified").secret_inputs


def test_listener_rule_rejects_requests_without_the_header(existing):
    forward, reject = existing.named("updates-forward-verified"), existing.named("updates-reject-direct")
    assert forward.props["priority"] == 10
    assert forward.props["conditions"] == [{"httpHeader": {
        "httpHeaderName": "X-Origin-Verify", "values": [origin(existing)["customHeaders"][0]["value"]]}}]
    assert forward.props["actions"] == [{"type": "forward", "targetGroupArn": TARGET_GROUP}]
    assert reject.props["priority"] == 50000
    assert reject.props["conditions"] == [{"pathPattern": {"values": ["*"]}}]
    assert reject.props["actions"] == [{"type": "fixed-response", "fixedResponse": {
        "contentType": "text/plain", "statusCode": "403", "messageBody": "Forbidden"}}]
    assert {forward.props["listenerArn"], reject.props["listenerArn"]} == {LISTENER}


def test_demo_origin_appears_only_when_enabled(bare, demo):
    for resource_type in DEMO_TYPES:
        assert bare.of_type(resource_type) == [], resource_type
        assert demo.of_type(resource_type), resource_type


def test_config_rejects_an_origin_that_is_not_a_hostname():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.originDomainName: expected the ELB's DNS name"):
        parse({"originDomainName": "https://updates.example.com/files", "lockDown": {"enabled": False}})


def test_config_rejects_a_malformed_path_pattern():
    with pytest.raises(stack_config.ConfigError,
                       match=r"updateCdn\.updatePathPattern: expected a CloudFront path pattern"):
        parse({"originDomainName": "updates-origin.example.com", "updatePathPattern": "updates/*",
               "lockDown": {"enabled": False}})


def test_config_rejects_lock_down_without_a_listener():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.lockDown\.listenerArn: required with lockDown on "
                                                        r"an existing origin.*or leave lockDown out"):
        parse({"originDomainName": "updates-origin.example.com", "lockDown": {"enabled": True}})


# --- the name-length guard --------------------------------------------------------------------

def test_longest_demo_name_fits_the_32_character_alb_limit_after_auto_naming():
    snapshot = build({"demo_origin": {}}, name="u" * 20)  # "u"*20 + "-alb" = 24, + 8 = 32
    for resource_type in ("aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"):
        (resource,) = snapshot.of_type(resource_type)
        assert len(resource.outputs["name"]) <= 32


def test_demo_with_a_component_name_too_long_for_alb_names_is_rejected():
    with pytest.raises(ArgsError, match=r"with demo_origin: 'u{21}-alb' is 25 characters.*at most 24"):
        build({"demo_origin": {}}, name="u" * 21)


def test_load_balancer_names_with_invalid_characters_are_rejected():
    with pytest.raises(ValueError, match="letters, digits and inner hyphens"):
        check_load_balancer_name("my_updates-alb")


# --- distribution defaults, one by one ---------------------------------------------------------

def test_viewers_are_redirected_to_https_on_both_behaviours(existing):
    assert update_behaviour(existing)["viewerProtocolPolicy"] == "redirect-to-https"
    assert distribution(existing)["defaultCacheBehavior"]["viewerProtocolPolicy"] == "redirect-to-https"


def test_update_behaviour_serves_the_configured_path_with_get_and_head_only_compressed(existing):
    behaviour = update_behaviour(existing)
    assert behaviour["pathPattern"] == "/updates/*"
    assert behaviour["allowedMethods"] == ["GET", "HEAD"]
    assert behaviour["cachedMethods"] == ["GET", "HEAD"]
    assert behaviour["compress"] is True


def test_update_cache_policy_has_long_ttls_and_honours_origin_cache_control(existing):
    props = one(existing, "aws:cloudfront/cachePolicy:CachePolicy").props
    assert (props["minTtl"], props["defaultTtl"], props["maxTtl"]) == (0, 86_400, 31_536_000)


def test_update_cache_policy_accepts_compressed_encodings(existing):
    key = one(existing, "aws:cloudfront/cachePolicy:CachePolicy").props["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["enableAcceptEncodingGzip"] is True
    assert key["enableAcceptEncodingBrotli"] is True


def test_no_versioning_query_strings_means_none_in_the_cache_key():
    snapshot = build({"origin_domain_name": "updates-origin.example.com", "versioning_query_strings": []})
    key = one(snapshot, "aws:cloudfront/cachePolicy:CachePolicy").props["parametersInCacheKeyAndForwardedToOrigin"]
    assert key["queryStringsConfig"] == {"queryStringBehavior": "none"}


def test_http2_and_http3_ipv6_and_the_cheapest_price_class_by_default(bare):
    props = distribution(bare)
    assert props["httpVersion"] == "http2and3"
    assert props["isIpv6Enabled"] is True
    assert props["priceClass"] == "PriceClass_100"


def test_origin_shield_defaults_to_the_origins_region(bare):
    assert origin(bare)["originShield"] == {"enabled": True, "originShieldRegion": "eu-west-1"}


def test_origin_shield_region_is_configurable():
    snapshot = build({"origin_domain_name": "updates-origin.example.com", "origin_shield_region": "eu-central-1"})
    assert origin(snapshot)["originShield"]["originShieldRegion"] == "eu-central-1"


def test_without_lock_down_there_is_no_secret_header_and_no_listener_rule(bare):
    assert "customHeaders" not in origin(bare)
    assert bare.of_type(LISTENER_RULE) == []
    assert bare.of_type("random:index/randomPassword:RandomPassword") == []


def test_a_secret_from_config_is_used_instead_of_a_generated_one():
    secret = "s" * 40
    snapshot = build({"origin_domain_name": "updates-origin.example.com",
                      "lock_down": {**LOCK, "header_value": secret}})
    assert snapshot.of_type("random:index/randomPassword:RandomPassword") == []
    assert origin(snapshot)["customHeaders"] == [{"name": "X-Origin-Verify", "value": secret}]
    assert "origins" in snapshot.named("updates-cdn").secret_inputs


def test_catch_all_403_waits_for_the_forward_rule_and_the_distribution(existing):
    reject = existing.named("updates-reject-direct")
    assert existing.named("updates-forward-verified").urn in reject.dependencies
    assert existing.named("updates-cdn").urn in reject.dependencies


INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def test_cloudfront_prefix_list_goes_into_a_security_group_of_its_own_in_the_albs_vpc(existing):
    group = existing.named("updates-origin-sg")
    assert group.props["vpcId"] == VPC
    rules = [r for r in existing.of_type(INGRESS) + existing.of_type(EGRESS)
             if r.props["securityGroupId"] == group.outputs["id"]]
    (rule,) = rules  # the prefix list alone: 55 of the 60 inbound rules a group holds by default
    assert rule.props["prefixListId"].startswith("pl-")
    assert (rule.props["ipProtocol"], rule.props["fromPort"], rule.props["toPort"]) == ("tcp", 443, 443)
    assert "com.amazonaws.global.cloudfront.origin-facing" in rule.props["description"]
    assert ORIGIN_FACING_PREFIX_LIST_WEIGHT + len(rules) - 1 <= SECURITY_GROUP_INBOUND_RULE_QUOTA


def test_the_apps_own_security_group_is_never_touched(existing):
    assert all(r.props["securityGroupId"] == existing.named("updates-origin-sg").outputs["id"]
               for r in existing.of_type(INGRESS) + existing.of_type(EGRESS))


def test_without_a_vpc_id_no_security_group_is_made():
    snapshot = build({"origin_domain_name": "updates-origin.example.com", "lock_down": LOCK})
    assert snapshot.of_type("aws:ec2/securityGroup:SecurityGroup") == []


def test_access_logs_use_standard_logging_v2_in_us_east_1_without_cookies(existing):
    assert "loggingConfig" not in distribution(existing)
    source, delivery = existing.named("updates-access-logs-source"), existing.named("updates-access-logs")
    destination = existing.named("updates-access-logs-s3")
    assert source.props["resourceArn"] == existing.named("updates-cdn").outputs["arn"]
    assert destination.props["deliveryDestinationConfiguration"] == {
        "destinationResourceArn": existing.named("updates-logs").outputs["arn"]}
    assert "cs(Cookie)" not in delivery.props["recordFields"]
    for resource in (source, destination, delivery):
        assert existing.provider_of(resource).props["region"] == "us-east-1"


def test_log_bucket_keeps_acls_disabled_and_public_access_blocked(existing):
    ownership = existing.named("updates-logs-ownership").props
    assert ownership["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    block = existing.named("updates-logs-public-access").props
    assert all(block[flag] for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                        "restrictPublicBuckets"))
    statements = {s["Sid"]: s for s in statements_of(existing.named("updates-logs-policy"))}
    assert set(statements) == {"DenyInsecureTransport", "LogDeliveryWrite", "LogDeliveryAclCheck"}
    assert statements["LogDeliveryWrite"]["Principal"] == {"Service": "delivery.logs.amazonaws.com"}


def test_log_delivery_waits_for_the_bucket_policy(existing):
    assert existing.named("updates-logs-policy").urn in existing.named("updates-access-logs").dependencies


def test_other_secure_buckets_keep_acls_disabled():
    snapshot = evaluate_program(lambda: SecureBucket("plain"))
    assert snapshot.named("plain-ownership").props["rule"] == {"objectOwnership": "BucketOwnerEnforced"}


def test_response_headers_policy_sends_hsts_on_both_behaviours(existing):
    policy = one(existing, "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    hsts = policy.props["securityHeadersConfig"]["strictTransportSecurity"]
    assert hsts == {"accessControlMaxAgeSec": HSTS_MAX_AGE_SECONDS, "includeSubdomains": True, "preload": False,
                    "override": True}
    assert HSTS_MAX_AGE_SECONDS >= 31_536_000
    assert update_behaviour(existing)["responseHeadersPolicyId"] == policy.outputs["id"]
    assert distribution(existing)["defaultCacheBehavior"]["responseHeadersPolicyId"] == policy.outputs["id"]


def test_without_a_custom_domain_the_cloudfront_certificate_is_used(bare):
    assert distribution(bare)["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}
    assert bare.of_type("aws:acm/certificate:Certificate") == []


def test_custom_domain_certificate_is_dns_validated_in_us_east_1(existing):
    certificate = one(existing, "aws:acm/certificate:Certificate")
    validation = one(existing, "aws:acm/certificateValidation:CertificateValidation")
    assert certificate.props == {"domainName": "updates.example.com", "validationMethod": "DNS"}
    assert existing.provider_of(certificate).props["region"] == "us-east-1"
    assert existing.provider_of(validation).props["region"] == "us-east-1"
    option = certificate.outputs["domainValidationOptions"][0]
    record = existing.named("updates-cert-validation-record").props
    assert (record["zoneId"], record["name"], record["type"], record["records"]) == (
        ZONE, option["resourceRecordName"], option["resourceRecordType"], [option["resourceRecordValue"]])
    assert validation.props["certificateArn"] == certificate.outputs["arn"]
    assert validation.property_dependencies["validationRecordFqdns"] == [
        existing.named("updates-cert-validation-record").urn]


def test_custom_domain_uses_sni_and_tls12_2021(existing):
    props = distribution(existing)
    assert props["aliases"] == ["updates.example.com"]
    viewer = props["viewerCertificate"]
    assert viewer["sslSupportMethod"] == "sni-only"
    assert viewer["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert viewer["acmCertificateArn"].startswith("arn:aws:acm:us-east-1:")


def test_custom_domain_gets_ipv4_and_ipv6_alias_records(existing):
    for name, record_type in (("updates-alias-a", "A"), ("updates-alias-aaaa", "AAAA")):
        props = existing.named(name).props
        assert (props["zoneId"], props["name"], props["type"]) == (ZONE, "updates.example.com", record_type)
        assert props["aliases"][0]["name"] == existing.named("updates-cdn").outputs["domainName"]


def test_custom_domain_without_a_zone_waits_for_manual_validation():
    snapshot = build({"origin_domain_name": "updates-origin.example.com",
                      "custom_domain": {"domain_name": "updates.example.com"}})
    assert "validationRecordFqdns" not in one(snapshot, "aws:acm/certificateValidation:CertificateValidation").props
    assert snapshot.of_type("aws:route53/record:Record") == []


# --- visibility ----------------------------------------------------------------------------------

def test_additional_metrics_are_enabled_for_cache_hit_rate(existing):
    subscription = one(existing, "aws:cloudfront/monitoringSubscription:MonitoringSubscription")
    assert subscription.props["monitoringSubscription"] == {
        "realtimeMetricsSubscriptionConfig": {"realtimeMetricsSubscriptionStatus": "Enabled"}}
    assert subscription.props["distributionId"] == existing.named("updates-cdn").outputs["id"]


def test_cache_hit_rate_alarm_is_in_us_east_1(existing):
    alarm = existing.named("updates-cache-hit-rate")
    props = alarm.props
    assert (props["namespace"], props["metricName"], props["comparisonOperator"], props["threshold"]) == (
        "AWS/CloudFront", "CacheHitRate", "LessThanThreshold", 80)
    assert props["dimensions"] == {"DistributionId": existing.named("updates-cdn").outputs["id"], "Region": "Global"}
    assert props["alarmActions"] == ["arn:aws:sns:us-east-1:123456789012:ops"]
    assert alarm.region == "us-east-1"
    assert existing.named("updates-metrics").urn in alarm.dependencies


def test_origin_5xx_alarm_is_in_us_east_1(existing):
    alarm = existing.named("updates-5xx-rate")
    assert (alarm.props["metricName"], alarm.props["comparisonOperator"], alarm.props["threshold"]) == (
        "5xxErrorRate", "GreaterThanThreshold", 5)
    assert alarm.props["treatMissingData"] == "notBreaching"
    assert alarm.props["alarmActions"] == alarm.props["okActions"] == [ALARMS["us_east_1_topic_arn"]]
    assert alarm.region == "us-east-1"


def test_dashboard_charts_the_alarmed_metrics_from_us_east_1(existing):
    dashboard = existing.named("updates-dashboard")
    body = json.loads(dashboard.props["dashboardBody"])
    graphs = [widget["properties"] for widget in body["widgets"] if widget["type"] == "metric"]
    assert {graph["metrics"][0][1] for graph in graphs} == {"CacheHitRate", "5xxErrorRate"}
    assert {graph["region"] for graph in graphs} == {"us-east-1"}
    assert dashboard.props["dashboardName"] == "serverless-blueprints-unit-updates"


def test_without_alarms_there_are_no_alarms_and_no_dashboard(bare):
    assert not bare.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert not bare.of_type("aws:cloudwatch/dashboard:Dashboard")


# --- the demo origin -----------------------------------------------------------------------------

VPC_ORIGIN = "aws:cloudfront/vpcOrigin:VpcOrigin"


def test_demo_origin_is_a_vpc_origin_to_an_internal_alb(demo):
    (vpc_origin,) = demo.of_type(VPC_ORIGIN)
    assert origin(demo)["vpcOriginConfig"] == {"vpcOriginId": vpc_origin.outputs["id"]}
    assert "customOriginConfig" not in origin(demo)
    assert origin(demo)["domainName"] == demo.named("updates-alb").outputs["dnsName"]
    config = vpc_origin.props["vpcOriginEndpointConfig"]
    assert config["arn"] == demo.named("updates-alb").outputs["arn"]
    assert config["originProtocolPolicy"] == "http-only"  # inside the VPC: nothing crosses the internet
    assert config["originSslProtocols"] == {"items": ["TLSv1.2"], "quantity": 1}
    alb = demo.named("updates-alb").props
    assert alb["internal"] is True
    assert set(alb["subnets"]) == {r.outputs["id"] for r in demo.of_type("aws:ec2/subnet:Subnet")}
    listener = demo.named("updates-listener").props
    assert (listener["port"], listener["protocol"]) == (80, "HTTP")
    assert demo.named("updates-listener").urn in vpc_origin.dependencies


def test_demo_needs_no_secret_header_and_no_listener_rules(demo):
    assert "customHeaders" not in origin(demo)
    assert demo.of_type(LISTENER_RULE) == [] and demo.of_type("random:index/randomPassword:RandomPassword") == []


def test_demo_refuses_lock_down():
    with pytest.raises(ArgsError, match="lock_down: leave it out with demo_origin: the demo origin is a private ALB"):
        build({"demo_origin": {}, "lock_down": {}})


def test_demo_alb_logs_its_requests_to_the_log_bucket(demo):
    alb = demo.named("updates-alb")
    assert alb.props["accessLogs"] == {"bucket": demo.named("updates-logs").outputs["bucket"], "prefix": "alb",
                                       "enabled": True}
    assert demo.named("updates-logs-policy").urn in alb.dependencies
    statements = {s["Sid"]: s for s in statements_of(demo.named("updates-logs-policy"))}
    elb = statements["LoadBalancerAccessLogs"]
    assert elb["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com",
                                "AWS": "arn:aws:iam::156460612806:root"}  # eu-west-1 predates the service principal
    assert elb["Resource"].endswith("/alb/AWSLogs/123456789012/*")
    sources = statements["LogDeliveryWrite"]["Condition"]["ArnLike"]["aws:SourceArn"]
    assert sources == ["arn:aws:logs:us-east-1:123456789012:delivery-source:*",
                       "arn:aws:logs:eu-west-1:123456789012:*"]


def test_demo_vpc_logs_its_flows_to_the_log_bucket(demo):
    flow = one(demo, "aws:ec2/flowLog:FlowLog").props
    assert flow["vpcId"] == demo.named("updates-vpc").outputs["id"]
    assert (flow["trafficType"], flow["logDestinationType"]) == ("ALL", "s3")
    assert flow["logDestination"] == demo.named("updates-logs").outputs["arn"]


def test_demo_vpcs_default_security_group_has_no_rules(demo):
    default = one(demo, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").props
    assert default["vpcId"] == demo.named("updates-vpc").outputs["id"]
    assert not default.get("ingress") and not default.get("egress")


def test_every_demo_security_group_rule_says_what_it_is_for(demo):
    rules = demo.of_type(INGRESS) + demo.of_type(EGRESS)
    assert len(rules) == 3 + 5
    assert all(r.props.get("description") for r in rules), [r.name for r in rules if not r.props.get("description")]


def test_demo_origin_with_a_certificate_is_https_only_on_its_own_name():
    snapshot = build({"demo_origin": {
        "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
        "domain_name": "origin.dev.example.com", "hosted_zone_id": ZONE}})
    (vpc_origin,) = snapshot.of_type(VPC_ORIGIN)
    assert vpc_origin.props["vpcOriginEndpointConfig"]["originProtocolPolicy"] == "https-only"
    assert origin(snapshot)["domainName"] == "origin.dev.example.com"
    listener = snapshot.named("updates-listener").props
    assert (listener["port"], listener["protocol"], listener["sslPolicy"]) == (
        443, "HTTPS", "ELBSecurityPolicy-TLS13-1-2-2021-06")
    alias = snapshot.named("updates-origin-alias").props
    assert alias["aliases"][0]["name"] == snapshot.named("updates-alb").outputs["dnsName"]


def test_demo_vpc_spans_the_requested_availability_zones(demo):
    subnets = demo.of_type("aws:ec2/subnet:Subnet")
    assert {s.props["availabilityZone"] for s in subnets} == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}
    # Private subnets only: nothing of the demo is on the internet.
    assert {s.props["cidrBlock"] for s in subnets} == {"10.30.100.0/24", "10.30.101.0/24", "10.30.102.0/24"}
    assert all(s.props["mapPublicIpOnLaunch"] is False for s in subnets)
    assert len(demo.of_type("aws:efs/mountTarget:MountTarget")) == 3


def test_demo_alb_admits_only_the_vpc_origins_subnets_on_the_listener_port(demo):
    alb_sg = demo.named("updates-alb-sg").outputs["id"]
    ingress = [r.props for r in demo.of_type(INGRESS) if r.props["securityGroupId"] == alb_sg]
    assert sorted(r["cidrIpv4"] for r in ingress) == ["10.30.100.0/24", "10.30.101.0/24", "10.30.102.0/24"]
    assert {(r["fromPort"], r["toPort"]) for r in ingress} == {(80, 80)}
    assert not any(r.props.get("cidrIpv4") == "0.0.0.0/0" for r in demo.of_type(INGRESS))


def test_demo_efs_is_encrypted_and_tls_only(demo):
    assert demo.named("updates-files").props["encrypted"] is True
    statements = statements_of(demo.named("updates-files-policy"))
    deny = next(s for s in statements if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allow = next(s for s in statements if s["Effect"] == "Allow")
    assert allow["Condition"] == {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}


def test_demo_servers_use_al2023_arm64_imdsv2_and_encrypted_disks(demo):
    template = demo.named("updates-server").props
    assert template["imageId"] == "ami-0a1b2c3d4e5f60718"  # the SSM public parameter's mock answer
    assert template["instanceType"] == "t4g.micro"
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert template["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


def test_demo_servers_mount_efs_over_tls_and_serve_it(demo):
    script = base64.b64decode(demo.named("updates-server").props["userData"]).decode()
    file_system = demo.named("updates-files").outputs["id"]
    assert f"{file_system}:/ /srv/updates efs _netdev,tls" in script
    assert "python3 -m http.server 8080 --directory /srv/updates" in script


def test_demo_asg_runs_in_private_subnets_after_the_mount_targets(demo):
    group = demo.named("updates-servers")
    private = {r.outputs["id"] for r in demo.of_type("aws:ec2/subnet:Subnet")}
    assert set(group.props["vpcZoneIdentifiers"]) == private
    assert group.props["healthCheckType"] == "ELB"
    assert (group.props["minSize"], group.props["maxSize"]) == (1, 2)
    for target in demo.of_type("aws:efs/mountTarget:MountTarget"):
        assert target.urn in group.dependencies


# --- component guards ------------------------------------------------------------------------------

GOOD = {"origin_domain_name": "updates-origin.example.com"}


CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
BAD_ARGS = [  # (case, args, what the ArgsError says)
    ("origin-not-a-hostname", {"origin_domain_name": "https://x.example.com/"},
     "origin_domain_name: expected the ELB's DNS name, a hostname"),
    ("origin-missing", {}, "origin_domain_name: required without demo_origin"),
    ("path-without-slash", {**GOOD, "update_path_pattern": "updates/*"},
     r"update_path_pattern: expected a CloudFront path pattern .*got 'updates/\*'"),
    ("path-catch-all", {**GOOD, "update_path_pattern": "/*"}, "not the catch-all"),
    ("query-string-name", {**GOOD, "versioning_query_strings": ["v&x"]}, "versioning_query_strings: expected"),
    ("query-strings-over-10", {**GOOD, "versioning_query_strings": [f"q{i}" for i in range(11)]},
     r"versioning_query_strings: .*at most 10 per cache policy \(0 to 10\)"),
    ("ttls-out-of-order", {**GOOD, "default_ttl_seconds": 10, "max_ttl_seconds": 5},
     r"default_ttl_seconds: TTLs \(min, default, max\) \(0, 10, 5\)"),
    ("ttl-over-a-year", {**GOOD, "max_ttl_seconds": 31536001}, "max_ttl_seconds: 31536001 is out of range"),
    ("price-class", {**GOOD, "price_class": "PriceClass_Cheap"},
     "price_class: 'PriceClass_Cheap' is not allowed; allowed values: PriceClass_100"),
    ("origin-shield-region", {**GOOD, "origin_shield_region": "eu-north-1"},
     "origin_shield_region: 'eu-north-1' is not allowed; allowed values: us-east-1"),
    ("lock-down-without-listener", {**GOOD, "lock_down": {"target_group_arn": TARGET_GROUP}},
     "lock_down.listener_arn: required with lock_down on an existing origin"),
    ("lock-down-without-target-group", {**GOOD, "lock_down": {"listener_arn": LISTENER}},
     "lock_down.target_group_arn: required with lock_down on an existing origin"),
    ("lock-down-without-forward-priority", {**GOOD, "lock_down": {"listener_arn": LISTENER,
                                                                  "target_group_arn": TARGET_GROUP}},
     "lock_down.forward_rule_priority: required with lock_down on an existing origin.*a priority free on that "
     "listener"),
    ("listener-arn", {**GOOD, "lock_down": {**LOCK, "listener_arn": "arn:aws:elasticloadbalancing:x"}},
     "lock_down.listener_arn: expected an ALB listener ARN"),
    ("vpc-id", {**GOOD, "lock_down": {**LOCK, "vpc_id": "vpc-xyz"}}, "lock_down.vpc_id: expected a VPC id"),
    ("old-security-group-arg", {**GOOD, "lock_down": {**LOCK, "security_group_id": "sg-0123456789abcdef0"}},
     "lock_down.security_group_id: unknown arg"),
    ("header-value-wildcard", {**GOOD, "lock_down": {**LOCK, "header_value": "short*"}},
     "lock_down.header_value: expected 32-128 characters"),
    ("header-name-reserved", {**GOOD, "lock_down": {**LOCK, "header_name": "X-Amz-Secret"}},
     "lock_down.header_name: expected an HTTP header name"),
    ("rule-priorities", {**GOOD, "lock_down": {**LOCK, "forward_rule_priority": 50000}},
     "lock_down.forward_rule_priority: 50000 must be below reject_rule_priority 50000"),
    ("custom-domain", {**GOOD, "custom_domain": {"domain_name": "not a domain"}},
     "custom_domain.domain_name: expected a hostname"),
    ("demo-and-origin", {**GOOD, "demo_origin": {}},
     "origin_domain_name: leave it out with demo_origin.*exclude each other"),
    ("demo-with-lock-down", {"demo_origin": {}, "lock_down": {"listener_arn": LISTENER}},
     "lock_down: leave it out with demo_origin"),
    ("demo-zones", {"demo_origin": {"availability_zones": 4}},
     "demo_origin.availability_zones: 4 is out of range; allowed 2 to 3"),
    ("demo-sizes", {"demo_origin": {"min_instances": 3, "max_instances": 2}},
     "demo_origin.min_instances: 3 is above max_instances 2"),
    ("demo-instance-type", {"demo_origin": {"instance_type": "t3.micro"}},
     "demo_origin.instance_type: expected a Graviton"),
    ("demo-certificate-arn", {"demo_origin": {"certificate_arn": "arn:aws:acm:eu-west-1:1:certificate/x"}},
     "demo_origin.certificate_arn: expected a regional ACM certificate ARN"),
    ("demo-certificate-without-domain", {"demo_origin": {"certificate_arn": CERTIFICATE}},
     "demo_origin.certificate_arn: needs domain_name"),
    ("alarm-percent", {**GOOD, "alarms": {**ALARMS, "thresholds": {"cloudfront_cache_hit_rate_percent": 120}}},
     r"alarms.thresholds.cloudfront_cache_hit_rate_percent: expected a number from 0 to 100"),
    ("alarms-without-us-east-1-topic", {**GOOD, "alarms": {"topic_arn": ALARMS["topic_arn"]}},
     "alarms.us_east_1_topic_arn: required: CloudFront's metrics"),
    ("misspelt-arg", {**GOOD, "originShieldRegion": "eu-west-1"},
     r"originShieldRegion: unknown arg \(did you mean 'origin_shield_region'\?\)"),
]


@pytest.mark.parametrize("args, message", [pytest.param(a, m, id=case) for case, a, m in BAD_ARGS])
def test_component_rejects_bad_args_naming_the_arg(args, message):
    with pytest.raises(ArgsError, match=message):
        build(args)


def test_a_bad_header_secret_is_never_echoed():
    with pytest.raises(ArgsError) as error:
        resolve_args("updates", {**GOOD, "us_east_1_provider": object(), "lock_down": {
            **LOCK, "header_value": "tooshort*"}})
    assert "tooshort" not in str(error.value)


def test_the_header_secret_stays_out_of_the_resolved_repr():
    resolved = resolve_args("updates", {**GOOD, "us_east_1_provider": object(), "lock_down": {
        **LOCK, "header_value": "k" * 40}})
    assert resolved.lock_down.header_value == "k" * 40 and "k" * 40 not in repr(resolved)


def test_component_requires_the_us_east_1_provider():
    with pytest.raises(ArgsError, match="UpdateOffloadCdn 'updates': us_east_1_provider: required"):
        evaluate_program(lambda: UpdateOffloadCdn("updates", dict(GOOD)))


def test_analyzer_accepts_the_component():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([UpdateOffloadCdn])
    component = result["component_definitions"]["UpdateOffloadCdn"]
    required = {key for key, value in component.inputs.items() if not value.optional}
    assert required == {"usEast1Provider"}
    assert {"originDomainName", "updatePathPattern", "versioningQueryStrings", "minTtlSeconds", "defaultTtlSeconds",
            "maxTtlSeconds", "priceClass", "originShieldRegion", "lockDown", "demoOrigin", "customDomain",
            "alarms", "deletionProtection"} == set(component.inputs) - required
    assert set(component.outputs) == {"distributionId", "domainName", "url", "originDomainName", "originProtocol",
                                      "originSecurityGroupId", "logBucketName", "dashboardName"}
    lock = result["type_definitions"]["LockDownArgs"]
    assert "vpcId" in lock.properties and "securityGroupId" not in lock.properties
    assert {"LockDownArgs", "DemoOriginArgs", "CustomDomainArgs"} <= set(result["type_definitions"])


# --- the stacks -------------------------------------------------------------------------------------

def test_dev_stack_enables_the_cdn_with_the_demo_origin(dev_stack):
    (component,) = dev_stack.of_type("serverless-blueprints:index:UpdateOffloadCdn")
    inside = dev_stack.descendants_of(component.urn)
    assert [r.props["internal"] for r in inside if r.resource_type == "aws:lb/loadBalancer:LoadBalancer"] == [True]
    assert "vpcOriginConfig" in origin(dev_stack) and "customOriginConfig" not in origin(dev_stack)
    assert not any(r.resource_type == LISTENER_RULE for r in inside)
    assert dev_stack.exports["updateCdn"]["originProtocol"] == "http-only"  # inside the VPC


def test_prod_stack_points_at_the_existing_origin_locked_down(prod_stack):
    (component,) = prod_stack.of_type("serverless-blueprints:index:UpdateOffloadCdn")
    assert [r.name for r in prod_stack.descendants_of(component.urn) if r.resource_type in DEMO_TYPES] == []
    assert origin(prod_stack)["domainName"] == "updates-origin.example.com"
    assert origin(prod_stack)["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert prod_stack.named("updates-forward-verified").props["listenerArn"].startswith(
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/updates-origin/")
    assert prod_stack.named("updates-forward-verified").props["priority"] == 10
    assert prod_stack.named("updates-origin-sg").props["vpcId"] == "vpc-0123456789abcdef0"
    assert prod_stack.exports["updateCdn"]["originSecurityGroup"] == prod_stack.named("updates-origin-sg").outputs["id"]
    assert prod_stack.named("updates-logs").props["forceDestroy"] is False
    assert distribution(prod_stack)["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert prod_stack.exports["updateCdn"]["url"] == "https://updates.example.com"


def test_stacks_put_cloudfront_alarms_in_us_east_1(dev_stack, prod_stack):
    for stack in (dev_stack, prod_stack):
        for alarm in ("updates-cache-hit-rate", "updates-5xx-rate"):
            assert stack.provider_of(stack.named(alarm)).props["region"] == "us-east-1"


# --- the config section ----------------------------------------------------------------------------

def parse(section: dict, env: str = "dev", region: str = "eu-west-1") -> stack_config.StackSettings:
    return stack_config.parse({"environment": env, "updateCdn": {"enabled": True, **section}}, region)


PROD_LOCK = {"listenerArn": LISTENER, "targetGroupArn": TARGET_GROUP, "forwardRulePriority": 10}
EXISTING = {"originDomainName": "updates-origin.example.com", "lockDown": PROD_LOCK}


def test_config_section_is_the_components_args_plus_what_the_stack_knows():
    args = parse(EXISTING, env="prod").update_cdn
    assert args == {"origin_domain_name": "updates-origin.example.com",
                    "lock_down": {"listener_arn": LISTENER, "target_group_arn": TARGET_GROUP,
                                  "forward_rule_priority": 10},
                    "deletion_protection": True, "origin_shield_region": "eu-west-1"}
    resolved = resolve_args("updates", {**args, "us_east_1_provider": object()})
    assert resolved.update_path_pattern == "/updates/*" and resolved.versioning_query_strings == ("version",)
    assert (resolved.min_ttl_seconds, resolved.default_ttl_seconds, resolved.max_ttl_seconds) == (0, 86400, 31536000)
    assert resolved.lock_down.header_name == "X-Origin-Verify" and resolved.demo_origin is None


def test_config_rejects_the_demo_origin_in_prod():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.demoOrigin: the demo origin is dev only"):
        parse({"demoOrigin": {"enabled": True}}, env="prod")


def test_config_requires_an_origin_without_the_demo():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.originDomainName: required without demoOrigin"):
        parse({"lockDown": {"enabled": False}})


def test_config_rejects_an_origin_together_with_the_demo():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.originDomainName: leave it out with demoOrigin"):
        parse({"originDomainName": "updates-origin.example.com", "demoOrigin": {"enabled": True}})


def test_config_rejects_lock_down_without_a_target_group():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.lockDown\.targetGroupArn: required"):
        parse({"originDomainName": "updates-origin.example.com", "lockDown": {"listenerArn": LISTENER}})


def test_config_rejects_a_malformed_listener_arn():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.lockDown\.listenerArn: expected an ALB listener"):
        parse({"originDomainName": "updates-origin.example.com",
               "lockDown": {**PROD_LOCK, "listenerArn": "arn:aws:elasticloadbalancing:eu-west-1:1:listener/x"}})


def test_config_rejects_listener_details_with_the_demo_origin():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.lockDown: leave it out with demoOrigin"):
        parse({"demoOrigin": {"enabled": True}, "lockDown": PROD_LOCK})


def test_config_rejects_a_bad_header_secret_without_echoing_it():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.lockDown\.headerValue: expected 32-128") as error:
        parse({**EXISTING, "lockDown": {**PROD_LOCK, "headerValue": "tooshort*"}})
    assert "tooshort" not in str(error.value)


def test_config_passes_the_header_secret_to_the_component():
    args = parse({**EXISTING, "lockDown": {**PROD_LOCK, "headerValue": "k" * 40}}).update_cdn
    assert args["lock_down"]["header_value"] == "k" * 40


def test_config_rejects_forward_priority_not_below_reject_priority():
    with pytest.raises(stack_config.ConfigError,
                       match=r"updateCdn\.lockDown\.forwardRulePriority: 9 must be below rejectRulePriority 9"):
        parse({**EXISTING, "lockDown": {**PROD_LOCK, "forwardRulePriority": 9, "rejectRulePriority": 9}})


def test_config_rejects_ttls_out_of_order():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.defaultTtlSeconds: TTLs \(min, default, max\)"):
        parse({**EXISTING, "defaultTtlSeconds": 100, "maxTtlSeconds": 10})


def test_config_rejects_too_many_versioning_query_strings():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.versioningQueryStrings: .*at most 10"):
        parse({**EXISTING, "versioningQueryStrings": [f"q{i}" for i in range(11)]})


def test_config_rejects_an_unknown_price_class_listing_the_allowed_ones():
    with pytest.raises(stack_config.ConfigError,
                       match=r"updateCdn\.priceClass: 'cheap' is not allowed; allowed values: PriceClass_100, "
                             r"PriceClass_200, PriceClass_All"):
        parse({**EXISTING, "priceClass": "cheap"})


def test_config_rejects_an_origin_shield_region_without_origin_shield():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.originShieldRegion: 'eu-north-1' is not allowed; "
                                                        r"allowed values: us-east-1"):
        parse({**EXISTING, "originShieldRegion": "eu-north-1"})


def test_config_asks_for_an_origin_shield_region_when_the_stack_region_has_none():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.originShieldRegion: required.*eu-north-1"):
        parse(EXISTING, region="eu-north-1")
    assert "eu-north-1" not in ORIGIN_SHIELD_REGIONS
    assert parse({**EXISTING, "originShieldRegion": "eu-central-1"}, region="eu-north-1").update_cdn[
        "origin_shield_region"] == "eu-central-1"


def test_config_rejects_a_non_graviton_demo_instance_type():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.demoOrigin\.instanceType: expected a Graviton"):
        parse({"demoOrigin": {"enabled": True, "instanceType": "t3.micro"}})


def test_config_rejects_a_demo_certificate_without_its_domain():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.demoOrigin\.certificateArn: needs domainName"):
        parse({"demoOrigin": {"enabled": True, "certificateArn": CERTIFICATE}})


def test_config_rejects_unknown_keys_in_the_section():
    with pytest.raises(stack_config.ConfigError, match=r"updateCdn\.originDns: unknown key \(did you mean "
                                                        r"'originDomainName'\?\)"):
        parse({**EXISTING, "originDns": "x.example.com"})


def test_config_leaves_the_us_east_1_provider_to_main():
    assert "us_east_1_provider" not in parse(EXISTING).update_cdn


MALFORMED = [  # (key, section override, expected text)
    ("lockDown.targetGroupArn", {"lockDown": {**PROD_LOCK, "targetGroupArn": "arn:aws:elasticloadbalancing:x"}},
     "expected a target group ARN"),
    ("lockDown.vpcId", {"lockDown": {**PROD_LOCK, "vpcId": "sg-xyz"}},
     "expected a VPC id"),
    ("lockDown.headerName", {"lockDown": {**PROD_LOCK, "headerName": "X-Amz-Secret"}}, "expected an HTTP header name"),
    ("versioningQueryStrings", {"versioningQueryStrings": ["v x"]}, "expected a list of query string names"),
    ("customDomain.domainName", {"customDomain": {"domainName": "not a domain"}}, "expected a hostname"),
    ("customDomain.hostedZoneId", {"customDomain": {"domainName": "u.example.com", "hostedZoneId": "zone"}},
     "expected a Route 53 hosted zone id"),
    ("customDomain.domainName", {"customDomain": {"hostedZoneId": ZONE}}, "required"),
]


@pytest.mark.parametrize("key, override, expected",
                         [pytest.param(k, o, e, id=f"{k}-{i}") for i, (k, o, e) in enumerate(MALFORMED)])
def test_config_rejects_malformed_values_naming_the_key(key, override, expected):
    section = {**EXISTING, **override}
    with pytest.raises(stack_config.ConfigError, match=rf"updateCdn\.{re.escape(key)}: {expected}"):
        parse(section)


@pytest.mark.parametrize("key, demo, expected", [
    ("minInstances", {"minInstances": 3, "maxInstances": 2}, "3 is above maxInstances 2"),
    ("certificateArn", {"certificateArn": "arn:aws:acm:eu-west-1:1:certificate/x"}, "expected a regional ACM"),
    ("availabilityZones", {"availabilityZones": 4}, "4 is out of range; allowed 2 to 3"),
])
def test_config_rejects_bad_demo_settings_naming_the_key(key, demo, expected):
    with pytest.raises(stack_config.ConfigError, match=rf"updateCdn\.demoOrigin\.{key}: {expected}"):
        parse({"demoOrigin": {"enabled": True, **demo}})


def test_cloudfront_log_bucket_expires_old_logs(dev_stack):
    from serverless_blueprints import defaults
    rules = {r["id"]: r for r in dev_stack.named("updates-logs-lifecycle").props["rules"]}
    assert rules["expire-current-objects"]["expiration"] == {"days": defaults.ACCESS_LOG_EXPIRATION_DAYS}


def test_the_demo_origins_alb_and_servers_alarm_at_home_on_5xx_unhealthy_hosts_and_too_few_instances():
    snapshot = build({"demo_origin": {"min_instances": 2, "max_instances": 3},
                      "alarms": {**ALARMS, "thresholds": {"alb_target_server_errors": 10}}})
    alb = snapshot.named("updates-alb").outputs["arnSuffix"]
    group = snapshot.named("updates-servers")
    target_5xx, unhealthy = snapshot.named("updates-alb-target-5xx"), snapshot.named("updates-alb-unhealthy")
    assert target_5xx.props["metricName"] == "HTTPCode_Target_5XX_Count" and target_5xx.props["threshold"] == 10
    assert unhealthy.props["dimensions"]["LoadBalancer"] == alb
    below = snapshot.named("updates-servers-below-min")
    assert (below.props["namespace"], below.props["metricName"], below.props["threshold"]) == (
        "AWS/AutoScaling", "GroupInServiceInstances", 2)
    assert below.props["dimensions"] == {"AutoScalingGroupName": group.outputs["name"]}
    assert below.props["treatMissingData"] == "breaching"
    assert "GroupInServiceInstances" in group.props["enabledMetrics"]
    for alarm in (target_5xx, unhealthy, below):
        assert alarm.region == "eu-west-1" and alarm.props["alarmActions"] == [ALARMS["topic_arn"]]
