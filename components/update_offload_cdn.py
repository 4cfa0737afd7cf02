"""UpdateOffloadCdn: CloudFront in front of an existing ELB that serves software updates, app unchanged.

    updaters, browsers
        │ HTTPS (HTTP redirects), HTTP/2 + HTTP/3; custom domain: ACM cert (us-east-1), TLSv1.2_2021
        ▼
    CloudFront ─ /updates/*  cached: long TTLs, origin Cache-Control honoured, key = path + versioning
        │                    query strings, compressed, GET/HEAD    ──standard logs v2 (us-east-1)──▶ S3 log bucket
        │      └ default (*) not cached: managed CachingDisabled + AllViewerExceptHostHeader (as before)
        ▼
    Origin Shield (the origin's region) ── only cache misses go on
        │ HTTPS only, TLSv1.2, + secret header X-Origin-Verify (random, secret in state)
        ▼
    ELB listener ── rule P:     header matches  → the app's target group    + a security group this component
        │           rule 50000: anything else   → fixed 403                   owns: only the CloudFront origin-
        ▼                                                                     facing prefix list (attach it)
    ASG of EC2 ──▶ EFS (the update files)

    us-east-1: alarms on CacheHitRate (additional metrics on) and 5xxErrorRate; their dashboard (monitoring.py)
    home region (demo_origin): alarms on the ALB's target 5xx and unhealthy hosts, and the ASG below its minimum

With `demo_origin` (dev only) the ALB, ASG and EFS are created here as a stand-in for the
existing application: an internal ALB in private subnets that CloudFront reaches through a VPC
origin, so nothing of it is on the internet and no secret header is needed (see DemoOriginArgs).
The lock-down rules sit on a listener this component does not own: see `LockDownArgs`.
"""
import base64
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from . import cloudfront_defaults as cdn
from . import defaults, monitoring
from .args import ArgsError, ArgsReader, is_output
from .iam import PolicyStatement, deny_insecure_transport, policy_document
from .secure_bucket import SecureBucket

CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
AL2023_ARM64_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"

# Regions that host Origin Shield (CloudFront Developer Guide, "Choosing the AWS Region for Origin Shield").
ORIGIN_SHIELD_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
                         "ap-southeast-1", "ap-southeast-2", "eu-central-1", "eu-west-1", "eu-west-2", "sa-east-1",
                         "me-central-1")
# The origin-facing prefix list counts as this many rules against a security group's rule quota (60 inbound by
# default): a group holding it can hold at most 5 other inbound rules, hence a group of our own.
ORIGIN_FACING_PREFIX_LIST_WEIGHT = 55
SECURITY_GROUP_INBOUND_RULE_QUOTA = 60
ORIGIN_HEADER_NAME = "X-Origin-Verify"
# ALB header conditions treat * and ? as wildcards and hold at most 128 characters.
ORIGIN_SECRET_PATTERN = r"[A-Za-z0-9_-]{32,128}"
LISTENER_RULE_PRIORITIES = (1, 50_000)
# ALB and target group names: <= 32 characters; Pulumi auto-naming appends "-" and 7 characters.
LOAD_BALANCER_NAME_LIMIT = 32
AUTONAME_SUFFIX = 8
DEMO_VPC_CIDR = "10.30.0.0/16"  # private subnets 10.30.<100 + az>.0/24 (nothing public)
DEMO_SERVER_PORT = 8080
DEMO_ALB_LOG_PREFIX = "alb"
# Elastic Load Balancing's log-delivery accounts of some regions that predate its service principal
# (Application Load Balancer guide, "Enable access logs"). Elsewhere only the service principal is
# granted: in an older region missing here, enabling the logs fails loudly (AccessDenied) until you add
# that region's account from the guide. Never guess one: the account gets write access to the bucket.
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
ELB_LEGACY_LOG_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
    "eu-central-1": "054676820928", "ap-northeast-1": "582318560864", "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266", "sa-east-1": "507241528517",
}
is_header_name = cdn.is_header_name


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
    vpc_id: Optional[pulumi.Input[str]]
    """The ALB's VPC (vpc-...): a security group admitting only CloudFront's origin-facing servers is made there,
    for you to attach to the ALB (output origin_security_group_id)."""
    header_name: str
    """Name of the secret origin header (default X-Origin-Verify)."""
    header_value: Optional[pulumi.Input[str]]
    """The secret (32-128 of A-Z a-z 0-9 _ -), e.g. from a Pulumi config secret; generated when absent."""
    forward_rule_priority: int
    """Priority of the rule forwarding requests that carry the header: one free on the listener (required)."""
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
    """Regional ACM certificate for domain_name: HTTPS listener and an https-only VPC origin. Absent: HTTP,
    inside the VPC only."""
    domain_name: Optional[str]
    """Name the certificate covers; an alias record points it at the internal ALB (required with
    certificate_arn)."""
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
    """Secret header + listener rules + a CloudFront-only security group; None leaves the origin reachable directly.
    Not with demo_origin (a VPC origin is private)."""
    demo_origin: Optional[DemoOriginArgs]
    """Create a stand-in private VPC/ALB/ASG/EFS origin behind a CloudFront VPC origin (dev only)."""
    custom_domain: Optional[cdn.CustomDomainArgs]
    """Viewer-facing custom domain; None uses the *.cloudfront.net name."""
    us_east_1_provider: Required[aws.Provider]
    """aws provider for us-east-1: the certificate, CloudFront metrics, alarms and dashboard live there."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topics (CloudFront's alarms notify us_east_1_topic_arn) and threshold overrides
    (ALARM_THRESHOLDS: cache hit rate below 80 %, 5xx rate above 5 %); without it, no alarms and no dashboard."""
    deletion_protection: bool
    """Keep the log bucket (and its logs) on destroy."""


DEFAULTS: dict[str, Any] = {
    "origin_domain_name": None, "update_path_pattern": "/updates/*", "versioning_query_strings": ["version"],
    "min_ttl_seconds": 0, "default_ttl_seconds": 86_400, "max_ttl_seconds": cdn.ONE_YEAR_SECONDS,
    "price_class": "PriceClass_100", "origin_shield_region": None, "lock_down": None, "demo_origin": None,
    "custom_domain": None, "alarms": None, "deletion_protection": False,
}
ALARM_THRESHOLDS = monitoring.thresholds(monitoring.CLOUDFRONT, ("cloudfront_cache_hit_rate_percent",),
                                         monitoring.LOAD_BALANCER)
"""The distribution's 5xx rate and cache hit rate (the offload is the point: a falling hit rate is a fault)."""
LOCK_DOWN_DEFAULTS: dict[str, Any] = {
    "listener_arn": None, "target_group_arn": None, "vpc_id": None, "header_name": ORIGIN_HEADER_NAME,
    "header_value": None, "reject_rule_priority": LISTENER_RULE_PRIORITIES[1],
}
"""No forward_rule_priority: a default (it was 1) collides with a listener's existing rule (PriorityInUse)."""
DEMO_ORIGIN_DEFAULTS: dict[str, Any] = {
    "availability_zones": 2, "instance_type": "t4g.micro", "min_instances": 1, "max_instances": 2,
    "certificate_arn": None, "domain_name": None, "hosted_zone_id": None,
}
_ELB_ARN = r"arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
LISTENER_ARN = re.compile(_ELB_ARN + r"listener/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}/[0-9a-f]{16}")
TARGET_GROUP_ARN = re.compile(_ELB_ARN + r"targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}")
VPC_ID = re.compile(r"vpc-[0-9a-f]{8}(?:[0-9a-f]{9})?")
ACM_CERTIFICATE_ARN = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}")
GRAVITON_INSTANCE_TYPE = re.compile(r"[a-z]+\d+g[a-z]*\.[a-z0-9]+")


@dataclass(frozen=True)
class ResolvedLockDown:
    listener_arn: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    vpc_id: Optional[pulumi.Input[str]]
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
    alarms: Optional[monitoring.ResolvedAlarms]
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
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS, us_east_1=True),
        deletion_protection=r.flag("deletion_protection"))


def _lock_down(r: ArgsReader, demo: bool) -> Optional[ResolvedLockDown]:
    lock = r.section("lock_down", LockDownArgs, LOCK_DOWN_DEFAULTS)
    if lock is None:
        return None
    if demo:
        r.fail("lock_down", "leave it out with demo_origin: the demo origin is a private ALB behind a CloudFront VPC "
                            "origin, which only CloudFront reaches (no secret header, no listener rules)")
    for key in ("listener_arn", "target_group_arn", "forward_rule_priority"):
        if not lock.given(key):
            lock.fail(key, "required with lock_down on an existing origin (the rules that let only CloudFront in "
                           "sit on its ALB listener; forward_rule_priority: a priority free on that listener, "
                           "see the preflight in docs/components/update-offload-cdn.md); or leave lock_down out")
    arns = {key: lock.optional_string(key, check=_matches(pattern), expected=expected) for key, pattern, expected in (
        ("listener_arn", LISTENER_ARN, "an ALB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:"
                                       "listener/app/<alb>/<id>/<id>)"),
        ("target_group_arn", TARGET_GROUP_ARN, "a target group ARN (arn:aws:elasticloadbalancing:<region>:"
                                               "<account>:targetgroup/<name>/<id>)"),
        ("vpc_id", VPC_ID, "a VPC id (vpc-...): the ALB's VPC"))}
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
        vpc_id=arns["vpc_id"],
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
    vpc_origin_id: Optional[pulumi.Output[str]] = None
    """Set when CloudFront reaches the origin through a VPC origin (the demo)."""
    watches: tuple[monitoring.Watch, ...] = ()
    """The origin's vital signs when the component owns it (the demo's ALB and instances)."""


class _RulePeer(TypedDict, total=False):
    """The other side of a demo security group rule: a group or a prefix list."""
    referenced_security_group_id: pulumi.Input[str]
    prefix_list_id: pulumi.Input[str]


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
    """https-only, or http-only for a demo origin without a certificate (inside its VPC, never the internet)."""
    origin_security_group_id: Optional[pulumi.Output[str]]
    """The CloudFront-only security group to attach to the existing ALB (lock_down with vpc_id), else None."""
    log_bucket_name: pulumi.Output[str]
    """Bucket receiving the CloudFront standard logs (v2), and the demo's ALB access and VPC flow logs."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    def __init__(self, name: str, args: UpdateOffloadCdnArgs, opts: Optional[pulumi.ResourceOptions] = None):
        cdn_args = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:UpdateOffloadCdn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        lock_down, demo = cdn_args.lock_down, cdn_args.demo_origin
        logs, log_policy = self._log_bucket(name, cdn_args, child)
        if demo is not None:
            origin = self._demo_origin(name, demo, logs, log_policy, child,
                                       cdn_args.alarms.thresholds if cdn_args.alarms else ALARM_THRESHOLDS)
        else:
            assert cdn_args.origin_domain_name is not None  # resolve_args requires it without demo_origin
            origin = _Origin(cdn_args.origin_domain_name, "https-only", 443,
                             lock_down.listener_arn if lock_down else None,
                             lock_down.target_group_arn if lock_down else None)

        secret = self._origin_secret(name, lock_down)
        self.distribution = self._distribution(name, cdn_args, origin, secret, child)
        self.access_logs = cdn.standard_logging(name, self.distribution, logs.arn, parent=self,
                                                us_east_1=cdn_args.us_east_1_provider, depends_on=[log_policy])

        # --- origin lock-down ----------------------------------------------------------------------
        if lock_down is not None and secret is not None:  # a secret comes with lock_down only
            self._lock_down(name, lock_down, origin, secret)
        self.origin_security_group_id = None
        if lock_down is not None and lock_down.vpc_id is not None:
            self.origin_security_group_id = self._origin_security_group(name, lock_down.vpc_id, origin.port).id

        # --- visibility (CloudFront metrics are published in us-east-1) ----------------------------
        self.dashboard_name = self._monitoring(name, cdn_args, origin)

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
            "origin_security_group_id": self.origin_security_group_id,
            "log_bucket_name": self.log_bucket_name, "dashboard_name": self.dashboard_name})

    def _log_bucket(self, name: str, cdn_args: ResolvedUpdateOffloadCdn,
                    child: pulumi.ResourceOptions) -> tuple[SecureBucket, aws.s3.BucketPolicy]:
        """One bucket, ACLs off: CloudFront's standard logs (v2) and, with the demo, its VPC flow logs
        (both vended by CloudWatch Logs) and its ALB's access logs."""
        logs = SecureBucket(f"{name}-logs", {"force_destroy": not cdn_args.deletion_protection, "defer_policy": True,
                                             "expire_objects_after_days": defaults.ACCESS_LOG_EXPIRATION_DAYS},
                            opts=child)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        sources = [cdn.cloudfront_log_sources(account)]
        statements: list[PolicyStatement] = []
        if cdn_args.demo_origin is not None:
            region = aws.get_region_output(opts=invoke).region
            sources.append(pulumi.Output.concat("arn:aws:logs:", region, ":", account, ":*"))  # VPC flow logs
            statements = self._demo_log_statements(logs, account)
        policy = logs.attach_policy([*cdn.log_delivery_statements(logs.arn, account, sources), *statements])
        return logs, policy

    def _origin_security_group(self, name: str, vpc_id: pulumi.Input[str], port: int) -> aws.ec2.SecurityGroup:
        """A group of our own in the ALB's VPC that admits CloudFront's origin-facing servers and nothing else.

        The prefix list counts as ORIGIN_FACING_PREFIX_LIST_WEIGHT rules: in the app's existing group it
        would fail once that group holds more than 5 other inbound rules. This group holds it alone; you
        attach it to the ALB (an ALB takes up to 5 groups) and drop the app group's public ingress.
        """
        prefix_list = aws.ec2.get_managed_prefix_list_output(
            name=CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST, opts=pulumi.InvokeOutputOptions(parent=self))
        group = aws.ec2.SecurityGroup(
            f"{name}-origin-sg", vpc_id=vpc_id,
            description="Update ALB: CloudFront origin-facing servers only (attach to the existing ALB)",
            tags={"Name": f"{name}-cloudfront-origin-facing"}, opts=pulumi.ResourceOptions(parent=self))
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-origin-sg-from-cloudfront", security_group_id=group.id, prefix_list_id=prefix_list.id,
            ip_protocol="tcp", from_port=port, to_port=port,
            description=f"CloudFront origin-facing servers ({CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST}) on the listener port",
            opts=pulumi.ResourceOptions(parent=self))
        return group

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
                      secret: Optional[pulumi.Output[str]],
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
        origin_spec: aws.cloudfront.DistributionOriginArgsDict = {
            "origin_id": origin_id, "domain_name": origin.domain_name,
            "origin_shield": {"enabled": True, "origin_shield_region": shield}}
        if origin.vpc_origin_id is not None:
            origin_spec["vpc_origin_config"] = {"vpc_origin_id": origin.vpc_origin_id}
        else:
            origin_spec["custom_origin_config"] = {"origin_protocol_policy": origin.protocol_policy, "http_port": 80,
                                                   "https_port": 443, "origin_ssl_protocols": ["TLSv1.2"]}
        if cdn_args.lock_down is not None and secret is not None:  # a secret comes with lock_down only
            origin_spec["custom_headers"] = [{"name": cdn_args.lock_down.header_name, "value": secret}]
        passthrough: aws.cloudfront.DistributionDefaultCacheBehaviorArgsDict = {
            "target_origin_id": origin_id, "viewer_protocol_policy": "redirect-to-https",
            "response_headers_policy_id": security_headers.id, "cache_policy_id": cdn.CACHING_DISABLED_POLICY_ID,
            "origin_request_policy_id": cdn.ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID,
            "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
            "cached_methods": ["GET", "HEAD"]}
        updates: aws.cloudfront.DistributionOrderedCacheBehaviorArgsDict = {
            "target_origin_id": origin_id, "viewer_protocol_policy": "redirect-to-https",
            "response_headers_policy_id": security_headers.id, "path_pattern": cdn_args.update_path_pattern,
            "cache_policy_id": update_cache.id, "compress": True, "allowed_methods": ["GET", "HEAD"],
            "cached_methods": ["GET", "HEAD"]}
        distribution = aws.cloudfront.Distribution(
            f"{name}-cdn",
            comment=f"{name}: software update offload",
            enabled=True, is_ipv6_enabled=True, http_version=cdn.HTTP_VERSION,
            price_class=cdn_args.price_class,
            origins=[origin_spec],
            ordered_cache_behaviors=[updates],
            default_cache_behavior=passthrough,
            aliases=[custom_domain.domain_name] if custom_domain else None,
            viewer_certificate=cdn.viewer_certificate(certificate_arn),
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["origins"]))
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

    def _monitoring(self, name: str, cdn_args: ResolvedUpdateOffloadCdn,
                    origin: _Origin) -> Optional[pulumi.Output[str]]:
        """Additional metrics (CacheHitRate) in us-east-1, then the alarms on them (and on the demo origin, at
        home) and the dashboard."""
        subscription = aws.cloudfront.MonitoringSubscription(
            f"{name}-metrics", distribution_id=self.distribution.id,
            monitoring_subscription={"realtime_metrics_subscription_config": {
                "realtime_metrics_subscription_status": "Enabled"}},
            opts=pulumi.ResourceOptions(parent=self, provider=cdn_args.us_east_1_provider))
        alarms = cdn_args.alarms
        monitored = monitoring.watch(name, alarms, [*monitoring.cloudfront_watches(
            name, self.distribution.id, alarms.thresholds if alarms else ALARM_THRESHOLDS, depends_on=[subscription]),
            *origin.watches], parent=self, us_east_1_provider=cdn_args.us_east_1_provider)
        return monitored.dashboard_name if monitored else None

    def _demo_origin(self, name: str, demo: ResolvedDemoOrigin, logs: SecureBucket, log_policy: aws.s3.BucketPolicy,
                     child: pulumi.ResourceOptions, thresholds: Mapping[str, float]) -> _Origin:
        """A stand-in for the app of the seeds: VPC over 2-3 AZs, an internal ALB, ASG of small instances, EFS.

        Nothing is public: the ALB is internal, in private subnets, and CloudFront reaches it through a
        VPC origin (its ENIs sit in those subnets). Instances have no NAT: dnf reaches the AL2023
        repositories (in S3) through the S3 gateway endpoint, EFS is mounted over TLS, and python3's
        http.server serves it. The VPC logs its flows, the ALB its requests, both to the log bucket.
        """
        https = demo.certificate_arn is not None
        port = 443 if https else 80
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region

        # --- network: private subnets only; the internet gateway is a VPC origin prerequisite ---------
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=DEMO_VPC_CIDR, enable_dns_support=True,
                          enable_dns_hostnames=True, tags={"Name": f"{name}-demo-origin"}, opts=child)
        # The default security group admits its members and all egress: strip every rule.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, tags={"Name": f"{name}-default-unused"},
                                     opts=child)
        aws.ec2.FlowLog(f"{name}-flow-logs", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="s3",
                        log_destination=logs.arn, max_aggregation_interval=600,
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[log_policy]))
        zones = aws.get_availability_zones_output(state="available", opts=invoke)
        aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        private_routes = aws.ec2.RouteTable(f"{name}-private", vpc_id=vpc.id, opts=child)
        private, cidrs = [], []
        for index in range(demo.availability_zones):
            cidr = DEMO_VPC_CIDR.replace(".0.0/16", f".{100 + index}.0/24")
            subnet = aws.ec2.Subnet(f"{name}-private-{index}", vpc_id=vpc.id, cidr_block=cidr,
                                    availability_zone=zones.names[index], map_public_ip_on_launch=False, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=subnet.id,
                                          route_table_id=private_routes.id, opts=child)
            private.append(subnet)
            cidrs.append(cidr)
        s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint", vpc_id=vpc.id, vpc_endpoint_type="Gateway",
            service_name=pulumi.Output.concat("com.amazonaws.", region, ".s3"),
            route_table_ids=[private_routes.id], opts=child)

        # --- security groups: CloudFront's VPC origin ENIs -> ALB -> instances -> EFS -----------------
        alb_sg = aws.ec2.SecurityGroup(f"{name}-alb-sg", vpc_id=vpc.id,
                                       description="Demo update ALB: the CloudFront VPC origin only", opts=child)
        server_sg = aws.ec2.SecurityGroup(f"{name}-server-sg", vpc_id=vpc.id,
                                          description="Demo update servers: from the ALB only", opts=child)
        efs_sg = aws.ec2.SecurityGroup(f"{name}-efs-sg", vpc_id=vpc.id,
                                       description="Demo update files: NFS from the servers only", opts=child)
        # The VPC origin's ENIs get addresses in the ALB's subnets (and AWS's CloudFront-VPCOrigins-Service-SG,
        # which exists only after the VPC origin does): admit those subnets, on the listener port only.
        for index, cidr in enumerate(cidrs):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-alb-from-vpc-origin-{index}", security_group_id=alb_sg.id, cidr_ipv4=cidr,
                ip_protocol="tcp", from_port=port, to_port=port,
                description="CloudFront VPC origin ENIs in this private subnet", opts=child)
        rules = (
            (aws.vpc.SecurityGroupEgressRule, "alb-to-servers", alb_sg,
             _RulePeer(referenced_security_group_id=server_sg.id), DEMO_SERVER_PORT,
             "Forward requests to the update servers"),
            (aws.vpc.SecurityGroupIngressRule, "servers-from-alb", server_sg,
             _RulePeer(referenced_security_group_id=alb_sg.id), DEMO_SERVER_PORT, "Requests from the demo ALB"),
            (aws.vpc.SecurityGroupEgressRule, "servers-to-efs", server_sg,
             _RulePeer(referenced_security_group_id=efs_sg.id), 2049, "NFS over TLS to the update files (EFS)"),
            (aws.vpc.SecurityGroupEgressRule, "servers-to-s3", server_sg,
             _RulePeer(prefix_list_id=s3_endpoint.prefix_list_id), 443,
             "HTTPS to S3 (dnf repositories) via the gateway"),
            (aws.vpc.SecurityGroupIngressRule, "efs-from-servers", efs_sg,
             _RulePeer(referenced_security_group_id=server_sg.id), 2049, "NFS from the update servers"),
        )
        for rule_type, suffix, group, peer, rule_port, description in rules:
            rule_type(f"{name}-{suffix}", security_group_id=group.id, ip_protocol="tcp", from_port=rule_port,
                      to_port=rule_port, description=description, opts=child, **peer)

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

        # --- internal ALB (access logs on) -> target group -> ASG --------------------------------------
        alb = aws.lb.LoadBalancer(f"{name}-alb", load_balancer_type="application", internal=True,
                                  security_groups=[alb_sg.id], subnets=[s.id for s in private],
                                  drop_invalid_header_fields=True,
                                  access_logs={"bucket": logs.name, "prefix": DEMO_ALB_LOG_PREFIX, "enabled": True},
                                  # ELB checks that it may write to the bucket when logging is turned on.
                                  opts=pulumi.ResourceOptions(parent=self, depends_on=[log_policy]))
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
        servers = aws.autoscaling.Group(
            f"{name}-servers", min_size=demo.min_instances, max_size=demo.max_instances,
            vpc_zone_identifiers=[s.id for s in private], target_group_arns=[target_group.arn],
            health_check_type="ELB", health_check_grace_period=300,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            instance_refresh={"strategy": "Rolling", "preferences": {"min_healthy_percentage": 50}},
            tags=[{"key": "Name", "value": f"{name}-update-server", "propagate_at_launch": True}],
            # Group metrics are free: the below-minimum alarm reads GroupInServiceInstances.
            metrics_granularity="1Minute", enabled_metrics=[aws.autoscaling.Metric.GROUP_IN_SERVICE_INSTANCES],
            # User data mounts EFS at boot: the mount targets must exist first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=mount_targets))

        watches = (*monitoring.load_balancer_watches(f"{name}-alb", alb.arn_suffix, target_group.arn_suffix,
                                                     thresholds),
                   monitoring.autoscaling_group_watch(servers._name, servers.name, demo.min_instances))

        # --- the CloudFront VPC origin: CloudFront's own ENIs in the private subnets -------------------
        protocol = "https-only" if https else "http-only"  # http-only never leaves the VPC
        vpc_origin = aws.cloudfront.VpcOrigin(f"{name}-vpc-origin", vpc_origin_endpoint_config={
            "name": re.sub(r"[^A-Za-z0-9_-]", "-", f"{name}-{pulumi.get_stack()}-demo-origin"),
            "arn": alb.arn, "http_port": 80, "https_port": 443, "origin_protocol_policy": protocol,
            "origin_ssl_protocols": {"items": ["TLSv1.2"], "quantity": 1}},
            # CloudFront refuses a VPC origin for a load balancer without a listener.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[listener]))

        if https:
            assert demo.domain_name is not None  # resolve_args: certificate_arn needs domain_name
            aws.route53.Record(f"{name}-origin-alias", zone_id=demo.hosted_zone_id, name=demo.domain_name,
                               type="A", aliases=[{"name": alb.dns_name, "zone_id": alb.zone_id,
                                                   "evaluate_target_health": True}], opts=child)
            return _Origin(demo.domain_name, protocol, port, listener.arn, target_group.arn, vpc_origin.id, watches)
        return _Origin(alb.dns_name, protocol, port, listener.arn, target_group.arn, vpc_origin.id, watches)

    def _demo_log_statements(self, logs: SecureBucket, account: pulumi.Output[str]) -> list[PolicyStatement]:
        """The demo's ALB writes access logs under alb/: ELB's service principal, and in the regions that predate
        it, ELB's log-delivery account of the region."""
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        principals = region.apply(lambda r: {"Service": ELB_LOG_DELIVERY_SERVICE, **(
            {"AWS": f"arn:aws:iam::{ELB_LEGACY_LOG_ACCOUNTS[r]}:root"} if r in ELB_LEGACY_LOG_ACCOUNTS else {})})
        return [{"Sid": "LoadBalancerAccessLogs", "Effect": "Allow", "Principal": principals,
                 "Action": "s3:PutObject",
                 "Resource": pulumi.Output.concat(logs.arn, f"/{DEMO_ALB_LOG_PREFIX}/AWSLogs/", account, "/*")}]


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
