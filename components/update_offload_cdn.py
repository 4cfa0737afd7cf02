"""UpdateOffloadCdn: CloudFront in front of an existing ELB that serves software updates, app unchanged.

    updaters, browsers
        │ HTTPS (HTTP redirects), HTTP/2 + HTTP/3; custom domain: ACM cert (us-east-1), TLSv1.2_2021
        ▼
    CloudFront ─ /updates/*  cached: long TTLs, origin Cache-Control honoured, key = path + versioning
        │                    query strings, compressed, GET/HEAD          ──standard logs──▶ S3 log bucket
        │      └ default (*) not cached: managed CachingDisabled + AllViewerExceptHostHeader (as before)
        ▼
    Origin Shield (the origin's region) ── only cache misses go on
        │ HTTPS only, TLSv1.2, + secret header X-Origin-Verify (random, secret in state)
        ▼
    ELB listener ── rule P:     header matches  → the app's target group    security group: admits the
        │           rule 50000: anything else   → fixed 403                 CloudFront origin-facing prefix list
        ▼
    ASG of EC2 ──▶ EFS (the update files)

    us-east-1: CloudWatch dashboard + alarms on CacheHitRate (additional metrics on) and 5xxErrorRate

With `demo_origin` (dev only) the ELB, ASG and EFS are created here as a stand-in for the
existing application; without a certificate that origin is plain HTTP (see DemoOriginArgs).
The lock-down rules sit on a listener this component does not own: see `LockDownArgs`.
"""
import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from . import cloudfront_defaults as cdn
from . import defaults
from .args import ArgsError, ArgsReader, is_output
from .iam import deny_insecure_transport, policy_document
from .secure_bucket import SecureBucket

CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
AL2023_ARM64_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"

# Regions that host Origin Shield (CloudFront Developer Guide, "Choosing the AWS Region for Origin Shield").
ORIGIN_SHIELD_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
                         "ap-southeast-1", "ap-southeast-2", "eu-central-1", "eu-west-1", "eu-west-2", "sa-east-1",
                         "me-central-1")
ORIGIN_HEADER_NAME = "X-Origin-Verify"
# ALB header conditions treat * and ? as wildcards and hold at most 128 characters.
ORIGIN_SECRET_PATTERN = r"[A-Za-z0-9_-]{32,128}"
LISTENER_RULE_PRIORITIES = (1, 50_000)
# ALB and target group names: <= 32 characters; Pulumi auto-naming appends "-" and 7 characters.
LOAD_BALANCER_NAME_LIMIT = 32
AUTONAME_SUFFIX = 8
DEMO_VPC_CIDR = "10.30.0.0/16"  # public subnets 10.30.<az>.0/24, private 10.30.<100 + az>.0/24
DEMO_SERVER_PORT = 8080


def is_header_name(value: str) -> bool:
    """A custom origin header name CloudFront accepts (not one of its own X-Amz-/X-Edge- headers)."""
    return (re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,63}", value) is not None
            and not value.lower().startswith(("x-amz-", "x-amzn-", "x-edge-", "x-cache")))


def is_origin_secret(value: str) -> bool:
    return re.fullmatch(ORIGIN_SECRET_PATTERN, value) is not None


def check_load_balancer_name(logical: str) -> str:
    """Fail early on an ALB / target group logical name whose auto-named form AWS would reject."""
    if len(logical) + AUTONAME_SUFFIX > LOAD_BALANCER_NAME_LIMIT:
        raise ValueError(f"{logical!r} is {len(logical)} characters: ALB and target group names are at most "
                         f"{LOAD_BALANCER_NAME_LIMIT} and auto-naming adds {AUTONAME_SUFFIX}, so at most "
                         f"{LOAD_BALANCER_NAME_LIMIT - AUTONAME_SUFFIX}; shorten the component name")
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?", logical) or logical.startswith("internal-"):
        raise ValueError(f"{logical!r}: ALB and target group names take letters, digits and inner hyphens only")
    return logical


class LockDownArgs(TypedDict, total=False):
    listener_arn: pulumi.Input[str]
    """The existing ALB listener CloudFront connects to (required on an existing origin; leave out with
    demo_origin: its own is used)."""
    target_group_arn: pulumi.Input[str]
    """Where requests carrying the secret header go: the target group the listener forwards to today."""
    security_group_id: Optional[pulumi.Input[str]]
    """The ALB's security group (sg-...): gets an ingress rule from the CloudFront origin-facing prefix list."""
    header_name: str
    """Name of the secret origin header (default X-Origin-Verify)."""
    header_value: Optional[pulumi.Input[str]]
    """The secret (32-128 of A-Z a-z 0-9 _ -), e.g. from a Pulumi config secret; generated when absent."""
    forward_rule_priority: int
    """Priority of the rule forwarding requests that carry the header (default 1: before the app's rules)."""
    reject_rule_priority: int
    """Priority of the catch-all 403 rule (default 50000, the lowest ALB allows); above forward_rule_priority."""


class DemoOriginArgs(TypedDict, total=False):
    availability_zones: int
    """AZs of the stand-in VPC (2 or 3, default 2)."""
    instance_type: str
    """Graviton instance type for the AL2023 arm64 AMI (default t4g.micro)."""
    min_instances: int
    """ASG minimum (1-10, default 1)."""
    max_instances: int
    """ASG maximum (min_instances-10, default 2)."""
    certificate_arn: Optional[pulumi.Input[str]]
    """Regional ACM certificate for domain_name: HTTPS listener and https-only origin. Absent: HTTP only."""
    domain_name: Optional[str]
    """Name the certificate covers; an alias record points it at the ALB (required with certificate_arn)."""
    hosted_zone_id: Optional[pulumi.Input[str]]
    """Route 53 zone of domain_name (required with certificate_arn)."""


class UpdateOffloadCdnArgs(TypedDict, total=False):
    origin_domain_name: pulumi.Input[str]
    """The existing origin: the ELB's DNS name, or a name the ALB's certificate covers (required, unless demo)."""
    update_path_pattern: str
    """Path pattern of the cached update files (default /updates/*)."""
    versioning_query_strings: Sequence[str]
    """The only query strings in the cache key (default ["version"]; empty: none; at most 10)."""
    min_ttl_seconds: int
    """Lowest TTL (default 0, so an origin's no-cache / max-age=0 is honoured)."""
    default_ttl_seconds: int
    """TTL when the origin sends no Cache-Control (default 1 day)."""
    max_ttl_seconds: int
    """Highest TTL an origin's Cache-Control can ask for (default 1 year)."""
    price_class: str
    """PriceClass_100, PriceClass_200 or PriceClass_All (default PriceClass_100)."""
    origin_shield_region: Optional[str]
    """Origin Shield region, one that has it (default: this provider's region, where the origin is)."""
    lock_down: Optional[LockDownArgs]
    """Secret header + listener rules + prefix-list ingress; None leaves the origin reachable directly."""
    demo_origin: Optional[DemoOriginArgs]
    """Create a stand-in VPC/ALB/ASG/EFS origin (dev only) instead of using origin_domain_name."""
    custom_domain: Optional[cdn.CustomDomainArgs]
    """Viewer-facing custom domain; None uses the *.cloudfront.net name."""
    us_east_1_provider: Required[aws.Provider]
    """aws provider for us-east-1: the certificate, CloudFront metrics, alarms and dashboard live there."""
    alarm_actions: Sequence[pulumi.Input[str]]
    """SNS topic ARNs (in us-east-1) notified by the alarms."""
    cache_hit_rate_alarm_percent: float
    """Alarm when CacheHitRate stays below this (default 80)."""
    error_rate_5xx_alarm_percent: float
    """Alarm when 5xxErrorRate stays above this (default 5)."""
    deletion_protection: bool
    """Keep the log bucket (and its logs) on destroy."""


DEFAULTS: dict[str, Any] = {
    "origin_domain_name": None, "update_path_pattern": "/updates/*", "versioning_query_strings": ["version"],
    "min_ttl_seconds": 0, "default_ttl_seconds": 86_400, "max_ttl_seconds": cdn.ONE_YEAR_SECONDS,
    "price_class": "PriceClass_100", "origin_shield_region": None, "lock_down": None, "demo_origin": None,
    "custom_domain": None, "alarm_actions": [], "cache_hit_rate_alarm_percent": 80,
    "error_rate_5xx_alarm_percent": 5, "deletion_protection": False,
}
LOCK_DOWN_DEFAULTS: dict[str, Any] = {
    "listener_arn": None, "target_group_arn": None, "security_group_id": None, "header_name": ORIGIN_HEADER_NAME,
    "header_value": None, "forward_rule_priority": LISTENER_RULE_PRIORITIES[0],
    "reject_rule_priority": LISTENER_RULE_PRIORITIES[1],
}
DEMO_ORIGIN_DEFAULTS: dict[str, Any] = {
    "availability_zones": 2, "instance_type": "t4g.micro", "min_instances": 1, "max_instances": 2,
    "certificate_arn": None, "domain_name": None, "hosted_zone_id": None,
}
_ELB_ARN = r"arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
LISTENER_ARN = re.compile(_ELB_ARN + r"listener/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}/[0-9a-f]{16}")
TARGET_GROUP_ARN = re.compile(_ELB_ARN + r"targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}")
SECURITY_GROUP_ID = re.compile(r"sg-[0-9a-f]{8}(?:[0-9a-f]{9})?")
ACM_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}")
GRAVITON_INSTANCE_TYPE = re.compile(r"[a-z]+\d+g[a-z]*\.[a-z0-9]+")


@dataclass(frozen=True)
class ResolvedLockDown:
    listener_arn: Optional[pulumi.Input[str]]
    target_group_arn: Optional[pulumi.Input[str]]
    security_group_id: Optional[pulumi.Input[str]]
    header_name: str
    header_value: Optional[pulumi.Input[str]] = field(repr=False)
    """None: generated."""
    forward_rule_priority: int
    reject_rule_priority: int


@dataclass(frozen=True)
class ResolvedDemoOrigin:
    availability_zones: int
    instance_type: str
    min_instances: int
    max_instances: int
    certificate_arn: Optional[pulumi.Input[str]]
    domain_name: Optional[str]
    hosted_zone_id: Optional[pulumi.Input[str]]


@dataclass(frozen=True)
class ResolvedUpdateOffloadCdn:
    origin_domain_name: Optional[pulumi.Input[str]]
    """None with demo_origin."""
    update_path_pattern: str
    versioning_query_strings: tuple[str, ...]
    min_ttl_seconds: int
    default_ttl_seconds: int
    max_ttl_seconds: int
    price_class: str
    origin_shield_region: Optional[str]
    """None: the provider's region."""
    lock_down: Optional[ResolvedLockDown]
    demo_origin: Optional[ResolvedDemoOrigin]
    custom_domain: Optional[cdn.ResolvedCustomDomain]
    us_east_1_provider: aws.Provider
    alarm_actions: tuple[pulumi.Input[str], ...]
    cache_hit_rate_alarm_percent: float
    error_rate_5xx_alarm_percent: float
    deletion_protection: bool


def _matches(pattern: "re.Pattern[str]") -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value) is not None


def resolve_args(name: str, args: Optional[UpdateOffloadCdnArgs]) -> ResolvedUpdateOffloadCdn:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("UpdateOffloadCdn", name, args, UpdateOffloadCdnArgs, DEFAULTS)
    demo = _demo_origin(r, name)
    if demo is not None and r.given("origin_domain_name"):
        r.fail("origin_domain_name", "leave it out with demo_origin: the demo origin is the origin "
                                     "(origin_domain_name and demo_origin exclude each other)")
    if demo is None and not r.given("origin_domain_name"):
        r.fail("origin_domain_name", "required without demo_origin: the existing ELB's DNS name")
    origin = r.optional_string(
        "origin_domain_name", check=cdn.is_hostname,
        expected="the ELB's DNS name, a hostname without scheme or path (e.g. my-alb-123.eu-west-1.elb.amazonaws.com)")
    ttls = [r.integer(key, low=0, high=cdn.ONE_YEAR_SECONDS)
            for key in ("min_ttl_seconds", "default_ttl_seconds", "max_ttl_seconds")]
    if not ttls[0] <= ttls[1] <= ttls[2]:
        r.fail("default_ttl_seconds", f"TTLs (min, default, max) {tuple(ttls)} must satisfy min_ttl_seconds <= "
                                      f"default_ttl_seconds <= max_ttl_seconds")
    return ResolvedUpdateOffloadCdn(
        origin_domain_name=origin,
        update_path_pattern=r.string("update_path_pattern", check=cdn.is_path_pattern,
                                     expected="a CloudFront path pattern starting with /, such as /updates/* (not "
                                              "the catch-all /*, the default behaviour)"),
        versioning_query_strings=tuple(r.strings(
            "versioning_query_strings", check=cdn.is_query_string_name, max_items=cdn.MAX_CACHE_KEY_QUERY_STRINGS,
            expected="a list of query string names (letters, digits, . _ ~ -), at most "
                     f"{cdn.MAX_CACHE_KEY_QUERY_STRINGS} per cache policy")),
        min_ttl_seconds=ttls[0], default_ttl_seconds=ttls[1], max_ttl_seconds=ttls[2],
        price_class=r.choice("price_class", cdn.PRICE_CLASSES),
        origin_shield_region=(r.choice("origin_shield_region", ORIGIN_SHIELD_REGIONS)
                              if r.given("origin_shield_region") else None),
        lock_down=_lock_down(r, demo is not None), demo_origin=demo, custom_domain=cdn.read_custom_domain(r),
        us_east_1_provider=r.input("us_east_1_provider"),
        alarm_actions=tuple(r.strings("alarm_actions", expected="a list of SNS topic ARNs")),
        cache_hit_rate_alarm_percent=r.number("cache_hit_rate_alarm_percent", low=0, high=100),
        error_rate_5xx_alarm_percent=r.number("error_rate_5xx_alarm_percent", low=0, high=100),
        deletion_protection=r.flag("deletion_protection"))


def _lock_down(r: ArgsReader, demo: bool) -> Optional[ResolvedLockDown]:
    lock = r.section("lock_down", LockDownArgs, LOCK_DOWN_DEFAULTS)
    if lock is None:
        return None
    owned = ("listener_arn", "target_group_arn", "security_group_id")
    for key in owned:
        if demo and lock.given(key):
            lock.fail(key, "leave it out with demo_origin: the demo origin's own listener, target group and security "
                           "group are locked down")
        if not demo and key != "security_group_id" and not lock.given(key):
            lock.fail(key, "required with lock_down on an existing origin (the rules that let only CloudFront in "
                           "sit on its ALB listener); or leave lock_down out")
    arns = {key: lock.optional_string(key, check=_matches(pattern), expected=expected) for key, pattern, expected in (
        ("listener_arn", LISTENER_ARN, "an ALB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:"
                                       "listener/app/<alb>/<id>/<id>)"),
        ("target_group_arn", TARGET_GROUP_ARN, "a target group ARN (arn:aws:elasticloadbalancing:<region>:"
                                               "<account>:targetgroup/<name>/<id>)"),
        ("security_group_id", SECURITY_GROUP_ID, "a security group id (sg-...)"))}
    header_value = lock.get("header_value")
    if header_value is not None and not is_output(header_value) and not (
            isinstance(header_value, str) and is_origin_secret(header_value)):
        # Never echo it: it is a secret.
        lock.fail("header_value", "expected 32-128 characters of A-Z a-z 0-9 _ - (ALB header conditions treat * and "
                                  "? as wildcards; value not shown: it is a secret)")
    low, high = LISTENER_RULE_PRIORITIES
    forward = lock.integer("forward_rule_priority", low=low, high=high)
    reject = lock.integer("reject_rule_priority", low=low, high=high)
    if forward >= reject:
        lock.fail("forward_rule_priority", f"{forward} must be below reject_rule_priority {reject}: the forward rule "
                                           f"has to match first")
    return ResolvedLockDown(
        listener_arn=arns["listener_arn"], target_group_arn=arns["target_group_arn"],
        security_group_id=arns["security_group_id"],
        header_name=lock.string("header_name", check=is_header_name,
                                expected="an HTTP header name CloudFront lets you set, such as X-Origin-Verify"),
        header_value=header_value, forward_rule_priority=forward, reject_rule_priority=reject)


def _demo_origin(r: ArgsReader, name: str) -> Optional[ResolvedDemoOrigin]:
    demo = r.section("demo_origin", DemoOriginArgs, DEMO_ORIGIN_DEFAULTS)
    if demo is None:
        return None
    sizes = (demo.integer("min_instances", low=1, high=10), demo.integer("max_instances", low=1, high=10))
    if sizes[0] > sizes[1]:
        demo.fail("min_instances", f"{sizes[0]} is above max_instances {sizes[1]}")
    resolved = ResolvedDemoOrigin(
        availability_zones=demo.integer("availability_zones", low=2, high=3),
        instance_type=demo.string("instance_type", check=_matches(GRAVITON_INSTANCE_TYPE),
                                  expected="a Graviton (arm64) instance type such as t4g.micro, for the AL2023 "
                                           "arm64 AMI"),
        min_instances=sizes[0], max_instances=sizes[1],
        certificate_arn=demo.optional_string("certificate_arn", check=_matches(ACM_CERTIFICATE_ARN),
                                             expected="a regional ACM certificate ARN"),
        domain_name=demo.optional_string("domain_name", check=cdn.is_hostname, expected="a hostname"),
        hosted_zone_id=demo.optional_string("hosted_zone_id", check=cdn.is_hosted_zone_id,
                                            expected="a Route 53 hosted zone id (Z...)"))
    if resolved.certificate_arn is not None and (resolved.domain_name is None or resolved.hosted_zone_id is None):
        demo.fail("certificate_arn", "needs domain_name (a hostname the certificate covers) and hosted_zone_id: "
                                     "CloudFront checks the origin's certificate against that name")
    for logical in (f"{name}-alb", f"{name}-tg"):
        try:
            check_load_balancer_name(logical)
        except ValueError as error:
            raise ArgsError(r.owner, (), f"with demo_origin: {error}") from None
    return resolved


class _Origin(NamedTuple):
    domain_name: pulumi.Input[str]
    protocol_policy: str
    port: int
    listener_arn: Optional[pulumi.Input[str]]
    target_group_arn: Optional[pulumi.Input[str]]


class UpdateOffloadCdn(pulumi.ComponentResource):
    """CloudFront in front of an existing ELB that serves software updates, the app unchanged.

    Python callers also get the child `distribution` (aws.cloudfront.Distribution).
    """

    distribution_id: pulumi.Output[str]
    """Distribution id (for invalidations)."""
    domain_name: pulumi.Output[str]
    """The distribution's *.cloudfront.net name."""
    url: pulumi.Output[str]
    """https:// URL viewers use (the custom domain when set)."""
    origin_domain_name: pulumi.Output[str]
    """The origin CloudFront fetches from."""
    origin_protocol: pulumi.Output[str]
    """https-only, or http-only for a demo origin without a certificate."""
    log_bucket_name: pulumi.Output[str]
    """Bucket receiving the CloudFront standard logs."""
    dashboard_name: pulumi.Output[str]
    """CloudWatch dashboard (us-east-1)."""

    def __init__(self, name: str, args: UpdateOffloadCdnArgs, opts: Optional[pulumi.ResourceOptions] = None):
        cdn_args = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:UpdateOffloadCdn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        lock_down, demo = cdn_args.lock_down, cdn_args.demo_origin
        prefix_list_id = None
        if demo is not None or (lock_down is not None and lock_down.security_group_id is not None):
            prefix_list_id = aws.ec2.get_managed_prefix_list_output(
                name=CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST, opts=pulumi.InvokeOutputOptions(parent=self)).id
        if demo is not None:
            origin = self._demo_origin(name, demo, prefix_list_id, child)
        else:
            origin = _Origin(cdn_args.origin_domain_name, "https-only", 443,
                             lock_down.listener_arn if lock_down else None,
                             lock_down.target_group_arn if lock_down else None)

        secret = self._origin_secret(name, lock_down)
        logs = SecureBucket(f"{name}-logs", {"log_delivery_acls": True,
                                             "force_destroy": not cdn_args.deletion_protection,
                                             "expire_objects_after_days": defaults.ACCESS_LOG_EXPIRATION_DAYS},
                            opts=child)
        self.distribution = self._distribution(name, cdn_args, origin, secret, logs, child)

        # --- origin lock-down ----------------------------------------------------------------------
        if secret is not None:
            self._lock_down(name, lock_down, origin, secret)
        if lock_down is not None and lock_down.security_group_id is not None:
            # The component can't own the group's other rules: remove any 0.0.0.0/0 ingress yourself.
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-sg-from-cloudfront", security_group_id=lock_down.security_group_id,
                prefix_list_id=prefix_list_id, ip_protocol="tcp", from_port=origin.port, to_port=origin.port,
                description="CloudFront origin-facing servers only", opts=child)

        # --- visibility (CloudFront metrics are published in us-east-1) ----------------------------
        self.dashboard_name = self._monitoring(name, cdn_args)

        custom_domain = cdn_args.custom_domain
        self.distribution_id = self.distribution.id
        self.domain_name = self.distribution.domain_name
        self.url = (pulumi.Output.from_input(f"https://{custom_domain.domain_name}") if custom_domain
                    else pulumi.Output.format("https://{0}", self.distribution.domain_name))
        self.origin_domain_name = pulumi.Output.from_input(origin.domain_name)
        self.origin_protocol = pulumi.Output.from_input(origin.protocol_policy)
        self.log_bucket_name = logs.name
        self.register_outputs({
            "distribution_id": self.distribution_id, "domain_name": self.domain_name, "url": self.url,
            "origin_domain_name": self.origin_domain_name, "origin_protocol": self.origin_protocol,
            "log_bucket_name": self.log_bucket_name, "dashboard_name": self.dashboard_name})

    def _origin_secret(self, name: str, lock_down: Optional[ResolvedLockDown]) -> Optional[pulumi.Output[str]]:
        """The caller's secret header value, or a generated one (kept secret in state)."""
        if lock_down is None:
            return None
        given = lock_down.header_value
        if given is None:
            given = random.RandomPassword(
                f"{name}-origin-secret", length=48, special=False,
                opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"])).result
        return pulumi.Output.secret(given)

    def _distribution(self, name: str, cdn_args: ResolvedUpdateOffloadCdn, origin: _Origin,
                      secret: Optional[pulumi.Output[str]], logs: SecureBucket,
                      child: pulumi.ResourceOptions) -> aws.cloudfront.Distribution:
        """/updates/* cached with long TTLs and a minimal key; everything else passes through uncached."""
        query_strings = list(cdn_args.versioning_query_strings)
        update_cache = aws.cloudfront.CachePolicy(
            f"{name}-updates",
            comment="Update files: long TTLs, origin Cache-Control honoured, minimal cache key",
            min_ttl=cdn_args.min_ttl_seconds, default_ttl=cdn_args.default_ttl_seconds,
            max_ttl=cdn_args.max_ttl_seconds,
            parameters_in_cache_key_and_forwarded_to_origin={
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "none"},
                "query_strings_config": (
                    {"query_string_behavior": "whitelist", "query_strings": {"items": query_strings}}
                    if query_strings else {"query_string_behavior": "none"}),
                "enable_accept_encoding_gzip": True,
                "enable_accept_encoding_brotli": True,
            }, opts=child)
        # The app behind the default behaviour keeps its own frame and referrer headers.
        security_headers = cdn.security_headers_policy(
            f"{name}-security-headers", child, override_origin=False,
            comment="HSTS and nosniff enforced; the app's own frame and referrer headers win")
        custom_domain = cdn_args.custom_domain
        certificate_arn = None
        if custom_domain is not None:
            certificate_arn = cdn.dns_validated_certificate(name, custom_domain.domain_name,
                                                            custom_domain.hosted_zone_id,
                                                            parent=self, us_east_1=cdn_args.us_east_1_provider)

        origin_id = "update-origin"
        shield = cdn_args.origin_shield_region or aws.get_region_output(
            opts=pulumi.InvokeOutputOptions(parent=self)).region
        origin_spec = {
            "origin_id": origin_id, "domain_name": origin.domain_name,
            "custom_origin_config": {"origin_protocol_policy": origin.protocol_policy,
                                     "http_port": 80, "https_port": 443, "origin_ssl_protocols": ["TLSv1.2"]},
            "origin_shield": {"enabled": True, "origin_shield_region": shield},
        }
        if secret is not None:
            origin_spec["custom_headers"] = [{"name": cdn_args.lock_down.header_name, "value": secret}]
        both = {"target_origin_id": origin_id, "viewer_protocol_policy": "redirect-to-https",
                "response_headers_policy_id": security_headers.id}
        distribution = aws.cloudfront.Distribution(
            f"{name}-cdn",
            comment=f"{name}: software update offload",
            enabled=True, is_ipv6_enabled=True, http_version=cdn.HTTP_VERSION,
            price_class=cdn_args.price_class,
            origins=[origin_spec],
            ordered_cache_behaviors=[{
                **both, "path_pattern": cdn_args.update_path_pattern, "cache_policy_id": update_cache.id,
                "compress": True, "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"]}],
            default_cache_behavior={
                **both, "cache_policy_id": cdn.CACHING_DISABLED_POLICY_ID,
                "origin_request_policy_id": cdn.ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID,
                "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                "cached_methods": ["GET", "HEAD"]},
            aliases=[custom_domain.domain_name] if custom_domain else None,
            viewer_certificate=cdn.viewer_certificate(certificate_arn),
            logging_config={"bucket": logs.bucket.bucket_domain_name, "prefix": "cloudfront/",
                            "include_cookies": False},
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            # The log bucket's ownership controls must allow ACLs before CloudFront checks them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs], additional_secret_outputs=["origins"]))
        if custom_domain is not None and custom_domain.hosted_zone_id is not None:
            cdn.alias_records(name, custom_domain.hosted_zone_id, custom_domain.domain_name, distribution, child)
        return distribution

    def _lock_down(self, name: str, lock_down: ResolvedLockDown, origin: _Origin,
                   secret: pulumi.Output[str]) -> None:
        """Forward only requests carrying the secret header; answer everything else 403.

        The listener's default action belongs to the app's stack, so it is left as it is: the
        catch-all rule at the lowest priority answers first, so the default is no longer reached
        (and takes over again if this component is removed). Rules the app already has with a
        priority between the two still match without the header: give them the header condition.
        """
        forward = aws.lb.ListenerRule(
            f"{name}-forward-verified", listener_arn=origin.listener_arn,
            priority=lock_down.forward_rule_priority,
            conditions=[{"http_header": {"http_header_name": lock_down.header_name, "values": [secret]}}],
            actions=[{"type": "forward", "target_group_arn": origin.target_group_arn}],
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["conditions"]))
        # Only once CloudFront sends the header (the distribution is deployed) may the rest be refused.
        aws.lb.ListenerRule(
            f"{name}-reject-direct", listener_arn=origin.listener_arn,
            priority=lock_down.reject_rule_priority,
            conditions=[{"path_pattern": {"values": ["*"]}}],
            actions=[{"type": "fixed-response", "fixed_response": {
                "content_type": "text/plain", "status_code": "403", "message_body": "Forbidden"}}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[forward, self.distribution]))

    def _monitoring(self, name: str, cdn_args: ResolvedUpdateOffloadCdn) -> pulumi.Output[str]:
        """Additional metrics (CacheHitRate), two alarms and a dashboard, all in us-east-1."""
        us_east_1 = cdn_args.us_east_1_provider
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=us_east_1)
        subscription = aws.cloudfront.MonitoringSubscription(
            f"{name}-metrics", distribution_id=self.distribution.id,
            monitoring_subscription={"realtime_metrics_subscription_config": {
                "realtime_metrics_subscription_status": "Enabled"}}, opts=in_us_east_1)
        dimensions = {"DistributionId": self.distribution.id, "Region": "Global"}
        actions = list(cdn_args.alarm_actions)
        alarms = (("cache-hit-rate", "CacheHitRate", "LessThanThreshold", cdn_args.cache_hit_rate_alarm_percent,
                   "Update downloads are missing the cache: check Cache-Control and the cache key"),
                  ("origin-5xx", "5xxErrorRate", "GreaterThanThreshold", cdn_args.error_rate_5xx_alarm_percent,
                   "5xx responses, mostly from the origin (502/504: CloudFront could not reach it)"))
        for suffix, metric, comparison, threshold, description in alarms:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{suffix}", namespace="AWS/CloudFront", metric_name=metric, dimensions=dimensions,
                statistic="Average", period=300, evaluation_periods=3, datapoints_to_alarm=3,
                threshold=threshold, comparison_operator=comparison, treat_missing_data="notBreaching",
                alarm_description=description, alarm_actions=actions, ok_actions=actions,
                opts=pulumi.ResourceOptions(parent=self, provider=us_east_1, depends_on=[subscription]))

        def widget(title: str, metrics: list[str], stat: str, x: int, y: int) -> dict:
            return {"type": "metric", "x": x, "y": y, "width": 12, "height": 6, "properties": {
                "title": title, "region": defaults.CERTIFICATE_REGION, "stat": stat, "period": 300,
                "metrics": [["AWS/CloudFront", metric, "DistributionId", self.distribution.id, "Region", "Global"]
                            for metric in metrics]}}
        dashboard_name = re.sub(r"[^A-Za-z0-9_-]", "-", f"{name}-update-cdn-{pulumi.get_stack()}")
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=dashboard_name,
            dashboard_body=pulumi.Output.json_dumps({"widgets": [
                widget("Cache hit rate (%)", ["CacheHitRate"], "Average", 0, 0),
                widget("Error rates (%)", ["5xxErrorRate", "4xxErrorRate"], "Average", 12, 0),
                widget("Requests", ["Requests"], "Sum", 0, 6),
                widget("Bytes downloaded", ["BytesDownloaded"], "Sum", 12, 6)]}),
            opts=in_us_east_1)
        return dashboard.dashboard_name

    def _demo_origin(self, name: str, demo: ResolvedDemoOrigin, prefix_list_id: pulumi.Output[str],
                     child: pulumi.ResourceOptions) -> _Origin:
        """A stand-in for the app of the seeds: VPC over 2-3 AZs, ALB, ASG of small instances, EFS.

        Instances sit in private subnets with no NAT: dnf reaches the AL2023 repositories (in S3)
        through the S3 gateway endpoint, EFS is mounted over TLS, and python3's http.server serves it.
        """
        https = demo.certificate_arn is not None
        port = 443 if https else 80
        if not https:
            pulumi.log.warn(f"{name}: demo origin without certificate_arn: CloudFront reaches it over plain "
                            f"HTTP (http-only). Dev only.", self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region

        # --- network ---------------------------------------------------------------------------------
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=DEMO_VPC_CIDR, enable_dns_support=True,
                          enable_dns_hostnames=True, tags={"Name": f"{name}-demo-origin"}, opts=child)
        zones = aws.get_availability_zones_output(state="available", opts=invoke)
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public_routes = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id,
                                           routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}], opts=child)
        private_routes = aws.ec2.RouteTable(f"{name}-private", vpc_id=vpc.id, opts=child)
        public, private = [], []
        for index in range(demo.availability_zones):
            for tier, routes, subnets, third_octet in (("public", public_routes, public, index),
                                                       ("private", private_routes, private, 100 + index)):
                subnet = aws.ec2.Subnet(f"{name}-{tier}-{index}", vpc_id=vpc.id,
                                        cidr_block=DEMO_VPC_CIDR.replace(".0.0/16", f".{third_octet}.0/24"),
                                        availability_zone=zones.names[index],
                                        map_public_ip_on_launch=False, opts=child)
                aws.ec2.RouteTableAssociation(f"{name}-{tier}-{index}", subnet_id=subnet.id,
                                              route_table_id=routes.id, opts=child)
                subnets.append(subnet)
        s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint", vpc_id=vpc.id, vpc_endpoint_type="Gateway",
            service_name=pulumi.Output.concat("com.amazonaws.", region, ".s3"),
            route_table_ids=[private_routes.id], opts=child)

        # --- security groups: CloudFront -> ALB -> instances -> EFS --------------------------------
        alb_sg = aws.ec2.SecurityGroup(f"{name}-alb-sg", vpc_id=vpc.id,
                                       description="Demo update ALB: CloudFront origin-facing servers only", opts=child)
        server_sg = aws.ec2.SecurityGroup(f"{name}-server-sg", vpc_id=vpc.id,
                                          description="Demo update servers: from the ALB only", opts=child)
        efs_sg = aws.ec2.SecurityGroup(f"{name}-efs-sg", vpc_id=vpc.id,
                                       description="Demo update files: NFS from the servers only", opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-alb-from-cloudfront", security_group_id=alb_sg.id,
                                         prefix_list_id=prefix_list_id, ip_protocol="tcp", from_port=port,
                                         to_port=port, opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-alb-to-servers", security_group_id=alb_sg.id,
                                        referenced_security_group_id=server_sg.id, ip_protocol="tcp",
                                        from_port=DEMO_SERVER_PORT, to_port=DEMO_SERVER_PORT, opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-servers-from-alb", security_group_id=server_sg.id,
                                         referenced_security_group_id=alb_sg.id, ip_protocol="tcp",
                                         from_port=DEMO_SERVER_PORT, to_port=DEMO_SERVER_PORT, opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-servers-to-efs", security_group_id=server_sg.id,
                                        referenced_security_group_id=efs_sg.id, ip_protocol="tcp",
                                        from_port=2049, to_port=2049, opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-servers-to-s3", security_group_id=server_sg.id,
                                        prefix_list_id=s3_endpoint.prefix_list_id, ip_protocol="tcp",
                                        from_port=443, to_port=443, opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-efs-from-servers", security_group_id=efs_sg.id,
                                         referenced_security_group_id=server_sg.id, ip_protocol="tcp",
                                         from_port=2049, to_port=2049, opts=child)

        # --- EFS: encrypted at rest, TLS-only in transit ------------------------------------------
        files = aws.efs.FileSystem(f"{name}-files", encrypted=True, tags={"Name": f"{name}-update-files"},
                                   opts=child)
        aws.efs.FileSystemPolicy(f"{name}-files-policy", file_system_id=files.id, policy=policy_document([
            {"Sid": "MountThroughMountTargets", "Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess",
                        "elasticfilesystem:ClientWrite"],
             "Resource": files.arn, "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}},
            deny_insecure_transport([files.arn], principal={"AWS": "*"})]), opts=child)
        mount_targets = [aws.efs.MountTarget(f"{name}-files-{index}", file_system_id=files.id, subnet_id=subnet.id,
                                             security_groups=[efs_sg.id], opts=child)
                         for index, subnet in enumerate(private)]

        # --- ALB -> target group -> ASG ------------------------------------------------------------
        alb = aws.lb.LoadBalancer(f"{name}-alb", load_balancer_type="application", internal=False,
                                  security_groups=[alb_sg.id], subnets=[s.id for s in public],
                                  drop_invalid_header_fields=True, opts=child)
        target_group = aws.lb.TargetGroup(
            f"{name}-tg", vpc_id=vpc.id, port=DEMO_SERVER_PORT, protocol="HTTP", target_type="instance",
            deregistration_delay=30,
            health_check={"path": "/", "matcher": "200", "protocol": "HTTP", "interval": 15}, opts=child)
        listener = aws.lb.Listener(
            f"{name}-listener", load_balancer_arn=alb.arn, port=port, protocol="HTTPS" if https else "HTTP",
            certificate_arn=demo.certificate_arn,
            ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06" if https else None,
            default_actions=[{"type": "forward", "target_group_arn": target_group.arn}], opts=child)

        ami = aws.ssm.get_parameter_output(name=AL2023_ARM64_AMI_PARAMETER, opts=invoke).insecure_value
        template = aws.ec2.LaunchTemplate(
            f"{name}-server", image_id=ami, instance_type=demo.instance_type,
            vpc_security_group_ids=[server_sg.id],
            user_data=files.id.apply(lambda fs: base64.b64encode(_demo_user_data(fs).encode()).decode()),
            metadata_options={"http_tokens": "required", "http_endpoint": "enabled",
                              "http_put_response_hop_limit": 1},
            block_device_mappings=[{"device_name": "/dev/xvda",
                                    "ebs": {"encrypted": "true", "volume_type": "gp3",
                                            "delete_on_termination": "true"}}],
            update_default_version=True, opts=child)
        aws.autoscaling.Group(
            f"{name}-servers", min_size=demo.min_instances, max_size=demo.max_instances,
            vpc_zone_identifiers=[s.id for s in private], target_group_arns=[target_group.arn],
            health_check_type="ELB", health_check_grace_period=300,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            instance_refresh={"strategy": "Rolling", "preferences": {"min_healthy_percentage": 50}},
            tags=[{"key": "Name", "value": f"{name}-update-server", "propagate_at_launch": True}],
            # User data mounts EFS at boot: the mount targets must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=mount_targets))

        if https:
            aws.route53.Record(f"{name}-origin-alias", zone_id=demo.hosted_zone_id, name=demo.domain_name,
                               type="A", aliases=[{"name": alb.dns_name, "zone_id": alb.zone_id,
                                                   "evaluate_target_health": True}], opts=child)
            return _Origin(demo.domain_name, "https-only", port, listener.arn, target_group.arn)
        return _Origin(alb.dns_name, "http-only", port, listener.arn, target_group.arn)


def _demo_user_data(file_system_id: str) -> str:
    """Boot script of a demo server: mount EFS over TLS and serve it read-only on DEMO_SERVER_PORT."""
    return f"""#!/bin/bash
set -euo pipefail
dnf install -y amazon-efs-utils
mkdir -p /srv/updates
echo "{file_system_id}:/ /srv/updates efs _netdev,tls 0 0" >> /etc/fstab
for attempt in $(seq 1 30); do mount -a && break; sleep 10; done  # mount target DNS can lag
mkdir -p /srv/updates/updates
[ -f /srv/updates/index.html ] || echo "demo update origin" > /srv/updates/index.html
[ -f /srv/updates/updates/hello.txt ] || echo "hello from the demo update origin" > /srv/updates/updates/hello.txt
cat > /etc/systemd/system/update-files.service <<'UNIT'
[Unit]
Description=Demo update origin: serve /srv/updates
After=network-online.target remote-fs.target
[Service]
ExecStart=/usr/bin/python3 -m http.server {DEMO_SERVER_PORT} --directory /srv/updates
DynamicUser=yes
Restart=always
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now update-files.service
"""
