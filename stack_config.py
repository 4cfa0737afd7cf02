"""Stack configuration: the one place that reads `pulumi.Config`.

It turns the raw values of `Pulumi.<stack>.yaml` into typed, validated settings,
and fails at preview with a message that names the key and the allowed values.
Components never read config: `__main__.py` hands them these settings as args.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from serverless_blueprints import defaults

NAMESPACE = "serverless-blueprints"
ENVIRONMENTS = ("dev", "prod")
# Sizes (GB) the API Gateway stage cache is offered in.
API_CACHE_SIZES_GB = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")
API_CACHE_MAX_TTL_SECONDS = 3600
DAX_NODE_TYPES = ("dax.t3.small", "dax.t3.medium", "dax.r5.large", "dax.r5.xlarge", "dax.r5.2xlarge",
                  "dax.r5.4xlarge", "dax.r5.8xlarge", "dax.r5.12xlarge", "dax.r5.16xlarge", "dax.r5.24xlarge")
COGNITO_MFA = ("OFF", "OPTIONAL", "ON")
LAMBDA_MEMORY_MB = (128, 10240)


class ConfigError(ValueError):
    """A stack config value that cannot be deployed; the message names the key."""


_MISSING = object()


class Section:
    """Typed access to one config object, remembering which keys were read.

    `done()` rejects any key that was not read, listing the ones that are known.
    """

    def __init__(self, path: str, raw: Any):
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected an object, got {type(raw).__name__} {raw!r}")
        self.path, self.raw, self._known = path, raw, []

    def _get(self, key: str, default: Any) -> Any:
        self._known.append(key)
        value = self.raw.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise ConfigError(f"{self.key(key)}: required")
            return default
        return value

    def key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path != NAMESPACE else f"{NAMESPACE}:{key}"

    def bool(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.key(key)}: expected true or false, got {value!r}")
        return value

    def int(self, key: str, default: Any = _MISSING, *, low: int, high: int) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.key(key)}: expected a whole number from {low} to {high}, got {value!r}")
        if not low <= value <= high:
            raise ConfigError(f"{self.key(key)}: {value} is out of range; allowed {low} to {high}")
        return value

    def number(self, key: str, default: Any = _MISSING, *, low: float, high: float) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{self.key(key)}: expected a number from {low} to {high}, got {value!r}")
        if not low <= value <= high:
            raise ConfigError(f"{self.key(key)}: {value} is out of range; allowed {low} to {high}")
        return float(value)

    def choice(self, key: str, allowed: tuple, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and all(isinstance(a, str) for a in allowed):
            value = format(value, "g")  # YAML reads 0.5 as a number; the allowed values are strings
        if value not in allowed:
            raise ConfigError(f"{self.key(key)}: {value!r} is not allowed; allowed values: "
                              f"{', '.join(map(str, allowed))}")
        return value

    def str(self, key: str, default: Any = _MISSING, *, check: Optional[Callable[[str], bool]] = None,
            expected: str = "a string") -> str:
        value = self._get(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, str) or (check is not None and not check(value)):
            raise ConfigError(f"{self.key(key)}: expected {expected}, got {value!r}")
        return value

    def str_list(self, key: str, default: Any = _MISSING, *, check: Optional[Callable[[str], bool]] = None,
                 expected: str = "a list of strings") -> list[str]:
        value = self._get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) and (check is None or check(v))
                                                  for v in value):
            raise ConfigError(f"{self.key(key)}: expected {expected}, got {value!r}")
        return list(value)

    def int_list(self, key: str, default: Any = _MISSING, *, low: int, high: int, min_items: int = 1,
                 max_items: int = 100) -> list[int]:
        """A list of distinct whole numbers, each from low to high."""
        value = self._get(key, default)
        if (not isinstance(value, list) or not min_items <= len(value) <= max_items
                or len(set(value)) != len(value)
                or not all(isinstance(v, int) and not isinstance(v, bool) and low <= v <= high for v in value)):
            raise ConfigError(f"{self.key(key)}: expected {min_items} to {max_items} distinct whole numbers, "
                              f"each from {low} to {high}, got {value!r}")
        return list(value)

    def section(self, key: str, default_empty: bool = True) -> "Section":
        return Section(self.key(key), self._get(key, {} if default_empty else _MISSING))

    def done(self) -> None:
        unknown = sorted(set(self.raw) - set(self._known))
        if unknown:
            raise ConfigError(f"{self.key(unknown[0])}: unknown key; known keys here: {', '.join(sorted(self._known))}")


# --- YAML -> component args ----------------------------------------------------------------------
# Each component section of Pulumi.<stack>.yaml is its component's args in camelCase, plus `enabled`.
# The mapping is mechanical; the component's own resolve step does every check, and its ArgsError is
# turned back into the YAML key here, so stack users and library users get the same checks.

def snake_case(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def camel_case(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def yaml_key(prefix: str, path: tuple) -> str:
    """`serverless-blueprints:todoApi.cache.ttlSeconds` for prefix "todoApi" and ("cache", "ttl_seconds")."""
    return ".".join([f"{NAMESPACE}:{prefix}", *(camel_case(str(part)) for part in path)])


def to_args(raw: Any, prefix: str, path: tuple = ()) -> Any:
    """camelCase YAML objects to snake_case args, recursively; `{enabled: false}` means None (left out).

    A key beside `enabled: false` would be silently ignored, so it is refused with a message that says
    why; `enabled: true` is dropped (the section's presence is what enables it).
    """
    if isinstance(raw, list):
        return [to_args(item, prefix, (*path, index)) for index, item in enumerate(raw)]
    if not isinstance(raw, dict):
        return raw
    if "enabled" in raw:
        enabled = raw["enabled"]
        if not isinstance(enabled, bool):
            raise ConfigError(f"{yaml_key(prefix, (*path, 'enabled'))}: expected true or false, got {enabled!r}")
        if not enabled:
            extra = sorted(key for key in raw if key != "enabled")
            if extra:
                section = yaml_key(prefix, path)
                raise ConfigError(f"{yaml_key(prefix, (*path, snake_case(extra[0])))}: belongs to {section}, which "
                                  f"is disabled (enabled: false); remove it, or set enabled: true")
            return None
    return {snake_case(key): to_args(value, prefix, (*path, snake_case(key)))
            for key, value in raw.items() if key != "enabled"}


def checked_args(prefix: str, args: dict, resolve: Callable[[dict], Any]) -> dict:
    """Run a component's resolve step on args mapped from YAML, naming the YAML key on failure."""
    from serverless_blueprints.args import ArgsError

    try:
        resolve(args)
    except ArgsError as error:
        raise ConfigError(f"{yaml_key(prefix, error.path)}: {error.problem}") from None
    return args


# --- shared knobs ------------------------------------------------------------------------------

@dataclass(frozen=True)
class LambdaSizing:
    memory_mb: int
    timeout_seconds: int


def lambda_sizing(section: Section, memory_mb: int, timeout_seconds: int, max_timeout: int = 900) -> LambdaSizing:
    s = section.section("lambda")
    sizing = LambdaSizing(memory_mb=s.int("memoryMb", memory_mb, low=LAMBDA_MEMORY_MB[0], high=LAMBDA_MEMORY_MB[1]),
                          timeout_seconds=s.int("timeoutSeconds", timeout_seconds, low=1, high=max_timeout))
    s.done()
    return sizing


@dataclass(frozen=True)
class Throttle:
    rate_limit: float
    burst_limit: int


def throttle(section: Section, rate: float, burst: int) -> Throttle:
    s = section.section("throttle")
    value = Throttle(rate_limit=s.number("rateLimit", rate, low=1, high=10000),
                     burst_limit=s.int("burstLimit", burst, low=1, high=5000))
    s.done()
    return value


# --- ServerlessRestApi (MyTodoList) ----------------------------------------------------------------

@dataclass(frozen=True)
class ApiCacheSettings:
    size_gb: str
    ttl_seconds: int


@dataclass(frozen=True)
class DaxSettings:
    node_type: str
    nodes: int
    item_ttl_seconds: int
    query_ttl_seconds: int
    subnet_ids: list[str]
    vpc_cidr: str


@dataclass(frozen=True)
class TodoApiSettings:
    lambda_sizing: LambdaSizing
    throttle: Throttle
    cache: Optional[ApiCacheSettings]
    dax: Optional[DaxSettings]
    mfa: str
    upload_max_bytes: int
    allowed_content_types: list[str]
    url_expiry_seconds: int
    cors_origins: list[str]

    def args(self, stack: "StackSettings") -> dict:
        """ServerlessRestApiArgs for this stack."""
        return {
            "memory_mb": self.lambda_sizing.memory_mb, "timeout_seconds": self.lambda_sizing.timeout_seconds,
            "throttle_rate_limit": self.throttle.rate_limit, "throttle_burst_limit": self.throttle.burst_limit,
            "cache": {"size_gb": self.cache.size_gb, "ttl_seconds": self.cache.ttl_seconds} if self.cache else None,
            "dax": {"node_type": self.dax.node_type, "nodes": self.dax.nodes,
                    "item_ttl_seconds": self.dax.item_ttl_seconds, "query_ttl_seconds": self.dax.query_ttl_seconds,
                    "subnet_ids": self.dax.subnet_ids, "vpc_cidr": self.dax.vpc_cidr} if self.dax else None,
            "mfa": self.mfa, "upload_max_bytes": self.upload_max_bytes,
            "allowed_content_types": self.allowed_content_types, "url_expiry_seconds": self.url_expiry_seconds,
            "cors_origins": self.cors_origins, "log_retention_days": stack.log_retention_days,
            "deletion_protection": stack.deletion_protection,
        }


def _todo_api(s: Section, env: str) -> TodoApiSettings:
    prod = env == "prod"
    cache_s = s.section("cache")
    cache = None
    if cache_s.bool("enabled", prod):
        cache = ApiCacheSettings(size_gb=cache_s.choice("sizeGb", API_CACHE_SIZES_GB, "0.5"),
                                 ttl_seconds=cache_s.int("ttlSeconds", 300, low=0, high=API_CACHE_MAX_TTL_SECONDS))
    cache_s.done()
    dax_s = s.section("dax")
    dax = None
    if dax_s.bool("enabled", prod):
        dax = DaxSettings(
            node_type=dax_s.choice("nodeType", DAX_NODE_TYPES, "dax.t3.small"),
            nodes=dax_s.int("nodes", 3 if prod else 1, low=1, high=11),
            item_ttl_seconds=dax_s.int("itemTtlSeconds", 300, low=0, high=86400),
            query_ttl_seconds=dax_s.int("queryTtlSeconds", 300, low=0, high=86400),
            subnet_ids=dax_s.str_list("subnetIds", [], check=lambda v: v.startswith("subnet-"),
                                      expected="a list of subnet ids (subnet-...)"),
            vpc_cidr=dax_s.str("vpcCidr", "10.20.0.0/16", check=_is_cidr16, expected="an IPv4 /16 CIDR"))
    dax_s.done()
    files = s.section("files")
    settings = TodoApiSettings(
        lambda_sizing=lambda_sizing(s, 512 if prod else 256, 10,
                                    max_timeout=defaults.API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1),
        throttle=throttle(s, 50 if prod else 100, 100 if prod else 200),
        cache=cache, dax=dax,
        mfa=s.choice("mfa", COGNITO_MFA, "OPTIONAL"),
        upload_max_bytes=files.int("uploadMaxBytes", 10 * 1024 * 1024, low=1, high=5 * 1024 ** 3),
        allowed_content_types=files.str_list("allowedContentTypes",
                                             ["image/jpeg", "image/png", "application/pdf", "text/plain"],
                                             check=lambda v: "/" in v, expected="a list of MIME types"),
        url_expiry_seconds=files.int("urlExpirySeconds", 300, low=1, high=900),
        cors_origins=files.str_list("corsOrigins", ["*"]),
    )
    files.done()
    return settings


def _is_cidr16(value: str) -> bool:
    parts = value.split("/")
    octets = parts[0].split(".")
    return (len(parts) == 2 and parts[1] == "16" and len(octets) == 4
            and all(o.isdigit() and 0 <= int(o) <= 255 for o in octets))


# --- OutboxRelay (orders, transactional outbox, EventBridge) ----------------------------------------

@dataclass(frozen=True)
class OutboxSettings:
    order_service: LambdaSizing
    relay: LambdaSizing
    shipping_consumer: LambdaSizing
    throttle: Throttle
    user_pool_arn: Optional[str]
    cors_origin: str
    outbox_ttl_days: int
    batch_size: int
    batching_window_seconds: int
    maximum_retry_attempts: int
    maximum_record_age_seconds: int
    iterator_age_alarm_seconds: int
    archive_retention_days: int
    target_maximum_retry_attempts: int
    target_maximum_event_age_seconds: int

    def args(self, stack: "StackSettings") -> dict:
        """OutboxRelayArgs for this stack."""
        return {
            "user_pool_arn": self.user_pool_arn, "cors_allow_origin": self.cors_origin,
            "throttle_rate_limit": self.throttle.rate_limit, "throttle_burst_limit": self.throttle.burst_limit,
            "order_memory_mb": self.order_service.memory_mb,
            "order_timeout_seconds": self.order_service.timeout_seconds,
            "relay_memory_mb": self.relay.memory_mb, "relay_timeout_seconds": self.relay.timeout_seconds,
            "consumer_memory_mb": self.shipping_consumer.memory_mb,
            "consumer_timeout_seconds": self.shipping_consumer.timeout_seconds,
            "outbox_ttl_days": self.outbox_ttl_days,
            "batch_size": self.batch_size, "batching_window_seconds": self.batching_window_seconds,
            "maximum_retry_attempts": self.maximum_retry_attempts,
            "maximum_record_age_seconds": self.maximum_record_age_seconds,
            "iterator_age_alarm_seconds": self.iterator_age_alarm_seconds,
            "archive_retention_days": self.archive_retention_days,
            "target_maximum_retry_attempts": self.target_maximum_retry_attempts,
            "target_maximum_event_age_seconds": self.target_maximum_event_age_seconds,
            "log_retention_days": stack.log_retention_days, "deletion_protection": stack.deletion_protection,
        }


def _is_user_pool_arn(value: str) -> bool:
    return re.fullmatch(r"arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:\d{12}:userpool/[\w-]+_[0-9A-Za-z]+", value) is not None


def _outbox(s: Section, env: str) -> OutboxSettings:
    prod = env == "prod"
    orders = s.section("orderService")
    order_service = lambda_sizing(orders, 512 if prod else 256, 10,
                                  max_timeout=defaults.API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1)
    api_throttle = throttle(orders, 100 if prod else 10, 200 if prod else 20)
    user_pool_arn = orders.str(
        "userPoolArn", None, check=_is_user_pool_arn,
        expected="a Cognito user pool ARN (arn:aws:cognito-idp:<region>:<account>:userpool/<id>)")
    cors_origin = orders.str("corsOrigin", "*")
    orders.done()

    relay_s = s.section("relay")
    relay = lambda_sizing(relay_s, 256, 30)
    record_age = relay_s.int("maximumRecordAgeSeconds", defaults.STREAM_MAXIMUM_RECORD_AGE_SECONDS,
                             low=120, high=defaults.DYNAMODB_STREAM_RETENTION_SECONDS)
    batching = dict(
        batch_size=relay_s.int("batchSize", 100, low=1, high=10000),
        batching_window_seconds=relay_s.int("batchingWindowSeconds", 1, low=0, high=300),
        maximum_retry_attempts=relay_s.int("maximumRetryAttempts", defaults.OUTBOX_RELAY_MAXIMUM_RETRY_ATTEMPTS,
                                           low=0, high=10000),
        maximum_record_age_seconds=record_age,
        # The alarm must fire while the records can still be relayed.
        iterator_age_alarm_seconds=relay_s.int("iteratorAgeAlarmSeconds", min(300, record_age - 1),
                                               low=60, high=record_age - 1),
    )
    relay_s.done()

    bus = s.section("bus")
    delivery = dict(
        archive_retention_days=bus.int("archiveRetentionDays", 90 if prod else 7, low=1, high=3650),
        target_maximum_retry_attempts=bus.int("targetMaximumRetryAttempts", 20,
                                              low=0, high=defaults.EVENTBRIDGE_MAX_RETRY_ATTEMPTS),
        target_maximum_event_age_seconds=bus.int("targetMaximumEventAgeSeconds", 3600,
                                                 low=60, high=defaults.EVENTBRIDGE_MAX_EVENT_AGE_SECONDS),
    )
    bus.done()

    consumer = s.section("shippingConsumer")
    shipping_consumer = lambda_sizing(consumer, 256, 30)
    consumer.done()
    return OutboxSettings(
        order_service=order_service, relay=relay, shipping_consumer=shipping_consumer, throttle=api_throttle,
        user_pool_arn=user_pool_arn, cors_origin=cors_origin,
        outbox_ttl_days=s.int("outboxTtlDays", defaults.OUTBOX_MIN_TTL_DAYS,
                              low=defaults.OUTBOX_MIN_TTL_DAYS, high=3650),
        **batching, **delivery)


# --- UpdateOffloadCdn (software updates behind CloudFront) -------------------------------------------

_ELB_ARN = r"arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
_LISTENER_ARN = _ELB_ARN + r"listener/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}/[0-9a-f]{16}"
_TARGET_GROUP_ARN = _ELB_ARN + r"targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}"
_SECURITY_GROUP_ID = r"sg-[0-9a-f]{8}(?:[0-9a-f]{9})?"
HOSTED_ZONE_ID = r"Z[A-Z0-9]{1,31}"
_ACM_CERTIFICATE_ARN = r"arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}"


def _matches(pattern: str) -> Callable[[str], bool]:
    return lambda value: re.fullmatch(pattern, value) is not None


@dataclass(frozen=True)
class UpdateCdnLockDown:
    listener_arn: Optional[str]
    target_group_arn: Optional[str]
    security_group_id: Optional[str]
    header_name: str
    header_value: Optional[str] = field(repr=False)  # a Pulumi config secret; generated when absent
    forward_rule_priority: int
    reject_rule_priority: int


@dataclass(frozen=True)
class UpdateCdnDemoOrigin:
    availability_zones: int
    instance_type: str
    min_instances: int
    max_instances: int
    certificate_arn: Optional[str]
    domain_name: Optional[str]
    hosted_zone_id: Optional[str]


@dataclass(frozen=True)
class UpdateCdnSettings:
    origin_dns_name: Optional[str]
    path_pattern: str
    versioning_query_strings: list[str]
    price_class: str
    origin_shield_region: Optional[str]
    min_ttl_seconds: int
    default_ttl_seconds: int
    max_ttl_seconds: int
    lock_down: Optional[UpdateCdnLockDown]
    demo_origin: Optional[UpdateCdnDemoOrigin]
    domain_name: Optional[str]
    hosted_zone_id: Optional[str]

    def args(self, stack: "StackSettings") -> dict:
        """UpdateOffloadCdnArgs for this stack (without us_east_1_provider, which __main__ adds)."""
        from serverless_blueprints.update_offload_cdn import ORIGIN_SHIELD_REGIONS

        shield = self.origin_shield_region or stack.region
        if shield not in ORIGIN_SHIELD_REGIONS:
            raise ConfigError(f"updateCdn.originShieldRegion: required, as the stack region {stack.region} has no "
                              f"Origin Shield; allowed values: {', '.join(ORIGIN_SHIELD_REGIONS)}")
        lock, demo = self.lock_down, self.demo_origin
        return {
            "origin_domain_name": self.origin_dns_name, "update_path_pattern": self.path_pattern,
            "versioning_query_strings": self.versioning_query_strings, "price_class": self.price_class,
            "origin_shield_region": shield, "min_ttl_seconds": self.min_ttl_seconds,
            "default_ttl_seconds": self.default_ttl_seconds, "max_ttl_seconds": self.max_ttl_seconds,
            "lock_down": None if lock is None else {k: v for k, v in {
                "listener_arn": lock.listener_arn, "target_group_arn": lock.target_group_arn,
                "security_group_id": lock.security_group_id, "header_name": lock.header_name,
                "header_value": lock.header_value, "forward_rule_priority": lock.forward_rule_priority,
                "reject_rule_priority": lock.reject_rule_priority}.items() if v is not None},
            "demo_origin": None if demo is None else {
                "availability_zones": demo.availability_zones, "instance_type": demo.instance_type,
                "min_instances": demo.min_instances, "max_instances": demo.max_instances,
                "certificate_arn": demo.certificate_arn, "domain_name": demo.domain_name,
                "hosted_zone_id": demo.hosted_zone_id},
            "custom_domain": None if self.domain_name is None else {
                "domain_name": self.domain_name, "hosted_zone_id": self.hosted_zone_id},
            "deletion_protection": stack.deletion_protection,
        }


def _update_cdn(s: Section, env: str) -> UpdateCdnSettings:
    # The CloudFront rules live with the components; imported here so other sections stay light.
    from serverless_blueprints import cloudfront_defaults as cdn
    from serverless_blueprints import update_offload_cdn as offload

    demo_s = s.section("demoOrigin")
    demo = None
    if demo_s.bool("enabled", False):
        if env == "prod":
            raise ConfigError(f"{demo_s.key('enabled')}: the demo origin is dev only; prod points "
                              f"{s.key('originDnsName')} at the existing ELB")
        demo = UpdateCdnDemoOrigin(
            availability_zones=demo_s.int("availabilityZones", 2, low=2, high=3),
            instance_type=demo_s.str("instanceType", "t4g.micro", check=_matches(r"[a-z]+\d+g[a-z]*\.[a-z0-9]+"),
                                     expected="a Graviton (arm64) instance type such as t4g.micro, for the AL2023 "
                                              "arm64 AMI"),
            min_instances=demo_s.int("minInstances", 1, low=1, high=10),
            max_instances=demo_s.int("maxInstances", 2, low=1, high=10),
            certificate_arn=demo_s.str("certificateArn", None, check=_matches(_ACM_CERTIFICATE_ARN),
                                       expected="a regional ACM certificate ARN"),
            domain_name=demo_s.str("domainName", None, check=cdn.is_hostname, expected="a hostname"),
            hosted_zone_id=demo_s.str("hostedZoneId", None, check=_matches(HOSTED_ZONE_ID),
                                      expected="a Route 53 hosted zone id (Z...)"))
        if demo.min_instances > demo.max_instances:
            raise ConfigError(f"{demo_s.key('minInstances')}: {demo.min_instances} is above maxInstances "
                              f"{demo.max_instances}")
        if demo.certificate_arn and not (demo.domain_name and demo.hosted_zone_id):
            raise ConfigError(f"{demo_s.key('certificateArn')}: needs domainName and hostedZoneId too (the name "
                              f"the certificate covers, pointed at the demo ALB)")
        demo_s.done()

    origin = s.str("originDnsName", None, check=cdn.is_hostname,
                   expected="the ELB's DNS name, a hostname without scheme or path (e.g. "
                            "my-alb-123.eu-west-1.elb.amazonaws.com)")
    if demo and origin:
        raise ConfigError(f"{s.key('originDnsName')}: leave it out with demoOrigin.enabled (the demo is the origin)")
    if not demo and not origin:
        raise ConfigError(f"{s.key('originDnsName')}: required (the existing ELB's DNS name) unless "
                          f"demoOrigin.enabled")

    lock_s = s.section("lockDown")
    lock = None
    if lock_s.bool("enabled", True):
        arns = {key: lock_s.str(key, None, check=_matches(pattern), expected=expected) for key, pattern, expected in (
            ("listenerArn", _LISTENER_ARN, "an ALB listener ARN (arn:aws:elasticloadbalancing:<region>:<account>:"
                                          "listener/app/<alb>/<id>/<id>)"),
            ("targetGroupArn", _TARGET_GROUP_ARN, "a target group ARN (arn:aws:elasticloadbalancing:<region>:"
                                                 "<account>:targetgroup/<name>/<id>)"),
            ("securityGroupId", _SECURITY_GROUP_ID, "a security group id (sg-...)"))}
        given = [key for key, value in arns.items() if value]
        if demo and given:
            raise ConfigError(f"{lock_s.key(given[0])}: leave it out with demoOrigin.enabled (the demo origin's own "
                              f"listener, target group and security group are locked down)")
        for key in ("listenerArn", "targetGroupArn"):
            if not demo and not arns[key]:
                raise ConfigError(f"{lock_s.key(key)}: required when lockDown.enabled (the rules that let only "
                                  f"CloudFront in sit on the ALB listener); or set lockDown.enabled: false")
        header_value = lock_s.str("headerValue", None)
        if header_value is not None and not offload.is_origin_secret(header_value):
            raise ConfigError(f"{lock_s.key('headerValue')}: expected 32-128 characters of A-Z a-z 0-9 _ - "
                              f"(value not shown: it is a secret)")
        lock = UpdateCdnLockDown(
            listener_arn=arns["listenerArn"], target_group_arn=arns["targetGroupArn"],
            security_group_id=arns["securityGroupId"],
            header_name=lock_s.str("headerName", offload.ORIGIN_HEADER_NAME, check=offload.is_header_name,
                                   expected="an HTTP header name CloudFront lets you set, such as X-Origin-Verify"),
            header_value=header_value,
            forward_rule_priority=lock_s.int("forwardRulePriority", 1, low=1, high=49999),
            reject_rule_priority=lock_s.int("rejectRulePriority", 50000, low=2, high=50000))
        if lock.forward_rule_priority >= lock.reject_rule_priority:
            raise ConfigError(f"{lock_s.key('forwardRulePriority')}: {lock.forward_rule_priority} must be below "
                              f"rejectRulePriority {lock.reject_rule_priority}")
        lock_s.done()

    ttl = s.section("ttl")
    ttls = (ttl.int("minSeconds", 0, low=0, high=cdn.ONE_YEAR_SECONDS),
            ttl.int("defaultSeconds", 86400, low=0, high=cdn.ONE_YEAR_SECONDS),
            ttl.int("maxSeconds", cdn.ONE_YEAR_SECONDS, low=0, high=cdn.ONE_YEAR_SECONDS))
    if not ttls[0] <= ttls[1] <= ttls[2]:
        raise ConfigError(f"{s.key('ttl')}: expected minSeconds <= defaultSeconds <= maxSeconds, got {ttls}")
    ttl.done()

    query_strings = s.str_list("versioningQueryStrings", ["version"], check=cdn.is_query_string_name,
                               expected="a list of query string names (letters, digits, . _ ~ -)")
    if len(query_strings) > cdn.MAX_CACHE_KEY_QUERY_STRINGS:
        raise ConfigError(f"{s.key('versioningQueryStrings')}: {len(query_strings)} names; a cache policy allows "
                          f"at most {cdn.MAX_CACHE_KEY_QUERY_STRINGS}")
    domain = s.section("customDomain")
    settings = UpdateCdnSettings(
        origin_dns_name=origin,
        path_pattern=s.str("pathPattern", "/updates/*", check=cdn.is_path_pattern,
                           expected="a CloudFront path pattern starting with /, such as /updates/* (not /*, the "
                                    "default behaviour)"),
        versioning_query_strings=query_strings,
        price_class=s.choice("priceClass", cdn.PRICE_CLASSES, "PriceClass_100"),
        origin_shield_region=s.str("originShieldRegion", None, check=offload.ORIGIN_SHIELD_REGIONS.__contains__,
                                   expected="a region with Origin Shield, one of "
                                            + ", ".join(offload.ORIGIN_SHIELD_REGIONS)),
        min_ttl_seconds=ttls[0], default_ttl_seconds=ttls[1], max_ttl_seconds=ttls[2],
        lock_down=lock, demo_origin=demo,
        domain_name=domain.str("domainName", None, check=cdn.is_hostname, expected="a hostname"),
        hosted_zone_id=domain.str("hostedZoneId", None, check=_matches(HOSTED_ZONE_ID),
                                  expected="a Route 53 hosted zone id (Z...)"))
    if settings.hosted_zone_id and not settings.domain_name:
        raise ConfigError(f"{domain.key('hostedZoneId')}: needs domainName")
    domain.done()
    return settings


# --- ThumbnailPipeline (S3 uploads -> SQS -> thumbnails) -----------------------------------------

@dataclass(frozen=True)
class ThumbnailSettings:
    upload_prefix: str
    sizes: list[int]
    output_format: str
    quality: int
    max_bytes: int
    max_pixels: int
    failure_prefix: str
    transfer_acceleration: bool
    notifications: bool
    thumbnail_bucket_name: Optional[str]
    thumbnails_in_upload_bucket: bool
    batch_size: int
    batching_window_seconds: int
    max_concurrency: int
    lambda_sizing: LambdaSizing

    def args(self, stack: "StackSettings") -> dict:
        """ThumbnailPipelineArgs for this stack."""
        return {
            "upload_prefix": self.upload_prefix, "sizes": self.sizes, "output_format": self.output_format,
            "quality": self.quality, "max_bytes": self.max_bytes, "max_pixels": self.max_pixels,
            "failure_prefix": self.failure_prefix, "transfer_acceleration": self.transfer_acceleration,
            "notifications": self.notifications, "thumbnail_bucket_name": self.thumbnail_bucket_name,
            "thumbnails_in_upload_bucket": self.thumbnails_in_upload_bucket,
            "batch_size": self.batch_size, "batching_window_seconds": self.batching_window_seconds,
            "max_concurrency": self.max_concurrency,
            "memory_mb": self.lambda_sizing.memory_mb, "timeout_seconds": self.lambda_sizing.timeout_seconds,
            "log_retention_days": stack.log_retention_days, "deletion_protection": stack.deletion_protection,
        }


def _thumbnails(s: Section, env: str) -> ThumbnailSettings:
    from serverless_blueprints import thumbnail_pipeline as tp

    prod = env == "prod"
    safe_prefix = "a key prefix without a leading '/', '*', '?' or '${'"
    prefix = s.str("prefix", tp.DEFAULT_UPLOAD_PREFIX, check=tp.is_safe_key_prefix, expected=safe_prefix)
    failure_prefix = s.str("failurePrefix", tp.DEFAULT_FAILURE_PREFIX,
                           check=lambda v: bool(v.strip("/")) and tp.is_safe_key_prefix(v),
                           expected=f"a non-empty {safe_prefix}")
    sizes = sorted(s.int_list("sizes", list(tp.DEFAULT_SIZES), low=tp.SIZE_RANGE[0], high=tp.SIZE_RANGE[1],
                              max_items=tp.MAX_SIZES))
    max_bytes = s.int("maxBytes", tp.DEFAULT_MAX_BYTES, low=1024, high=2**30)
    max_pixels = s.int("maxPixels", tp.DEFAULT_MAX_PIXELS, low=1_000_000, high=tp.MAX_PIXELS_LIMIT)
    batch_size = s.int("batchSize", tp.DEFAULT_BATCH_SIZE, low=tp.BATCH_SIZE_RANGE[0], high=tp.BATCH_SIZE_RANGE[1])
    window = s.int("batchingWindowSeconds", tp.DEFAULT_BATCHING_WINDOW_SECONDS,
                   low=tp.BATCHING_WINDOW_RANGE[0], high=tp.BATCHING_WINDOW_RANGE[1])
    if batch_size > tp.UNBATCHED_MAX_BATCH_SIZE and window < 1:
        raise ConfigError(f"{s.key('batchingWindowSeconds')}: must be at least 1 when {s.key('batchSize')} is over "
                          f"{tp.UNBATCHED_MAX_BATCH_SIZE} (an SQS rule), got {window} with batchSize {batch_size}")
    bucket_name = s.str("thumbnailBucketName", None, check=tp.is_bucket_name,
                        expected="an existing S3 bucket name (3-63 lower-case letters, digits, '.', '-')")
    in_upload_bucket = s.bool("thumbnailsInUploadBucket", False)
    if bucket_name and in_upload_bucket:
        raise ConfigError(f"{s.key('thumbnailBucketName')}: set it or thumbnailsInUploadBucket, not both")
    if in_upload_bucket:
        try:
            tp.check_no_loop(prefix, sizes, failure_prefix)
        except tp.SourceDestinationOverlap as error:
            raise ConfigError(f"{s.key('prefix')}: with thumbnailsInUploadBucket, {error}") from None

    required_memory = tp.required_memory_mb(max_pixels, max_bytes)
    sizing = lambda_sizing(s, required_memory, tp.default_timeout_seconds(max_pixels, max_bytes, required_memory),
                           max_timeout=tp.LAMBDA_MAX_TIMEOUT_SECONDS)
    if sizing.memory_mb < required_memory:
        raise ConfigError(f"{s.key('lambda')}.memoryMb: {sizing.memory_mb} is too small for maxPixels {max_pixels} "
                          f"and maxBytes {max_bytes}; allowed {required_memory} to {LAMBDA_MEMORY_MB[1]}")
    required_timeout = tp.required_timeout_seconds(max_pixels, max_bytes, sizing.memory_mb)
    if sizing.timeout_seconds < required_timeout:
        raise ConfigError(f"{s.key('lambda')}.timeoutSeconds: {sizing.timeout_seconds} is too short for the largest "
                          f"allowed image at {sizing.memory_mb} MB; allowed {required_timeout} to "
                          f"{tp.LAMBDA_MAX_TIMEOUT_SECONDS}")
    return ThumbnailSettings(
        upload_prefix=prefix, sizes=sizes,
        output_format=s.choice("outputFormat", tp.OUTPUT_FORMATS, tp.DEFAULT_OUTPUT_FORMAT),
        quality=s.int("quality", tp.DEFAULT_QUALITY, low=tp.QUALITY_RANGE[0], high=tp.QUALITY_RANGE[1]),
        max_bytes=max_bytes, max_pixels=max_pixels, failure_prefix=failure_prefix,
        transfer_acceleration=s.bool("transferAcceleration", False),
        notifications=s.bool("notifications", prod),
        thumbnail_bucket_name=bucket_name, thumbnails_in_upload_bucket=in_upload_bucket,
        batch_size=batch_size, batching_window_seconds=window,
        max_concurrency=s.int("maxConcurrency", 20 if prod else 2,
                              low=tp.MAX_CONCURRENCY_RANGE[0], high=tp.MAX_CONCURRENCY_RANGE[1]),
        lambda_sizing=sizing)


# --- MyBlog.com: StaticSite + BlogApi + GlobalTable + WelcomeEmail ---------------------------------

BLOG_MIN_PROD_REPLICAS = 2


@dataclass(frozen=True)
class BlogSiteSettings:
    content_dir: str
    price_class: str
    html_max_age_seconds: int
    domain_name: Optional[str]
    hosted_zone_id: Optional[str]
    waf_rate_limit: Optional[int]  # None: no web ACL


@dataclass(frozen=True)
class BlogApiSettings:
    posts_max_age_seconds: int
    cache_size_gb: Optional[str]  # None: no stage cache
    throttle: Throttle
    subscribe_throttle: Throttle
    lambda_sizing: LambdaSizing


@dataclass(frozen=True)
class BlogEmailSettings:
    identity: str
    sender_address: str
    hosted_zone_id: Optional[str]
    sandbox_recipients: list[str]
    lambda_sizing: LambdaSizing


@dataclass(frozen=True)
class BlogSettings:
    site: BlogSiteSettings
    api: BlogApiSettings
    replica_regions_given: list[str]
    kms: str
    email: BlogEmailSettings

    def replica_regions(self, stack: "StackSettings") -> list[str]:
        """Replica regions, checked against the stack's home region (__main__ makes one provider each)."""
        if stack.region in self.replica_regions_given:
            raise ConfigError(f"blog.table.replicaRegions: {stack.region} is the home region (aws:region); "
                              f"list only the other regions")
        return list(self.replica_regions_given)

    def table_args(self, stack: "StackSettings") -> dict:
        """GlobalTableArgs (without replica_providers and indexes, which __main__ adds)."""
        self.replica_regions(stack)
        return {"kms": self.kms, "deletion_protection": stack.deletion_protection}

    def api_args(self, stack: "StackSettings") -> dict:
        """BlogApiArgs (without table and cloudwatch_account)."""
        api = self.api
        return {
            "posts_max_age_seconds": api.posts_max_age_seconds,
            "cache": {"size_gb": api.cache_size_gb, "ttl_seconds": api.posts_max_age_seconds}
            if api.cache_size_gb else None,
            "throttle_rate_limit": api.throttle.rate_limit, "throttle_burst_limit": api.throttle.burst_limit,
            "subscribe_throttle": {"rate_limit": api.subscribe_throttle.rate_limit,
                                   "burst_limit": api.subscribe_throttle.burst_limit},
            "cors_allow_origin": f"https://{self.site.domain_name}" if self.site.domain_name else "*",
            "memory_mb": api.lambda_sizing.memory_mb, "timeout_seconds": api.lambda_sizing.timeout_seconds,
            "log_retention_days": stack.log_retention_days,
        }

    def welcome_args(self, stack: "StackSettings") -> dict:
        """WelcomeEmailArgs (without table)."""
        email = self.email
        return {
            "identity": email.identity, "sender_address": email.sender_address,
            "hosted_zone_id": email.hosted_zone_id, "sandbox_recipients": email.sandbox_recipients,
            "memory_mb": email.lambda_sizing.memory_mb, "timeout_seconds": email.lambda_sizing.timeout_seconds,
            "log_retention_days": stack.log_retention_days, "deletion_protection": stack.deletion_protection,
        }

    def site_args(self, stack: "StackSettings") -> dict:
        """StaticSiteArgs (without api and us_east_1_provider)."""
        site = self.site
        return {
            "content_dir": site.content_dir, "price_class": site.price_class,
            "html_max_age_seconds": site.html_max_age_seconds,
            "custom_domain": None if site.domain_name is None else {
                "domain_name": site.domain_name, "hosted_zone_id": site.hosted_zone_id},
            "waf": None if site.waf_rate_limit is None else {"rate_limit": site.waf_rate_limit},
            "deletion_protection": stack.deletion_protection,
        }


def _blog(s: Section, env: str) -> BlogSettings:
    from serverless_blueprints import cloudfront_defaults as cdn
    from serverless_blueprints import global_table, static_site, welcome_email
    from serverless_blueprints.blog_api import MAX_POSTS_MAX_AGE_SECONDS

    prod = env == "prod"
    site_s = s.section("site")
    domain_s = site_s.section("customDomain")
    domain_name = domain_s.str("domainName", None, check=cdn.is_hostname, expected="a hostname such as blog.example.com")
    site_zone = domain_s.str("hostedZoneId", None, check=_matches(HOSTED_ZONE_ID),
                             expected="a Route 53 hosted zone id (Z...)")
    if site_zone and not domain_name:
        raise ConfigError(f"{domain_s.key('hostedZoneId')}: needs domainName")
    domain_s.done()
    waf_s = site_s.section("waf")
    waf_rate = None
    if waf_s.bool("enabled", prod):
        waf_rate = waf_s.int("rateLimit", 1000, low=static_site.WAF_RATE_LIMIT_RANGE[0],
                             high=static_site.WAF_RATE_LIMIT_RANGE[1])
    waf_s.done()
    site = BlogSiteSettings(
        content_dir=site_s.str("contentDir", "site", check=lambda v: bool(v) and ".." not in v.split("/"),
                               expected="a folder of the project, such as site"),
        price_class=site_s.choice("priceClass", cdn.PRICE_CLASSES, "PriceClass_100"),
        html_max_age_seconds=site_s.int("htmlMaxAgeSeconds", 60, low=0, high=static_site.HTML_EDGE_MAX_TTL_SECONDS),
        domain_name=domain_name, hosted_zone_id=site_zone, waf_rate_limit=waf_rate)
    site_s.done()

    api_s = s.section("api")
    cache_s = api_s.section("cache")
    cache_size = cache_s.choice("sizeGb", API_CACHE_SIZES_GB, "0.5") if cache_s.bool("enabled", prod) else None
    cache_s.done()
    subscribe_s = api_s.section("subscribeThrottle")
    subscribe = Throttle(rate_limit=subscribe_s.number("rateLimit", 2, low=1, high=10000),
                         burst_limit=subscribe_s.int("burstLimit", 5, low=1, high=5000))
    subscribe_s.done()
    api = BlogApiSettings(
        posts_max_age_seconds=api_s.int("postsMaxAgeSeconds", 300 if prod else 60, low=1,
                                        high=MAX_POSTS_MAX_AGE_SECONDS),
        cache_size_gb=cache_size, throttle=throttle(api_s, 100 if prod else 20, 200 if prod else 40),
        subscribe_throttle=subscribe,
        lambda_sizing=lambda_sizing(api_s, 256, 10, max_timeout=defaults.API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1))
    if subscribe.rate_limit > api.throttle.rate_limit or subscribe.burst_limit > api.throttle.burst_limit:
        raise ConfigError(f"{api_s.key('subscribeThrottle')}: {subscribe.rate_limit} rps / burst "
                          f"{subscribe.burst_limit} must be within the API's throttle ({api.throttle.rate_limit} / "
                          f"{api.throttle.burst_limit}); it exists to be tighter")
    api_s.done()

    table_s = s.section("table")
    regions = table_s.str_list("replicaRegions", [], check=global_table.is_region_name,
                               expected="a list of AWS region names such as us-east-1")
    if len(set(regions)) != len(regions):
        raise ConfigError(f"{table_s.key('replicaRegions')}: {regions} lists a region twice")
    if prod and len(regions) < BLOG_MIN_PROD_REPLICAS:
        raise ConfigError(f"{table_s.key('replicaRegions')}: prod needs at least {BLOG_MIN_PROD_REPLICAS} replica "
                          f"regions besides the home region, got {regions}")
    kms = table_s.choice("kms", global_table.KMS_CHOICES, "customer-managed" if prod else "aws-managed")
    table_s.done()

    email_s = s.section("email")
    identity = email_s.str("identity", check=lambda v: welcome_email.is_domain(v) or welcome_email.is_email_address(v),
                           expected="an SES identity: a domain (myblog.example.com) or an email address")
    sender = email_s.str("senderAddress", identity if "@" in identity else _MISSING,
                         check=welcome_email.is_email_address, expected="an email address")
    if not welcome_email.sender_covered_by(identity, sender):
        raise ConfigError(f"{email_s.key('senderAddress')}: {sender!r} is not covered by identity {identity!r}; "
                          f"allowed: the identity address itself, or an address in the identity's domain")
    email_zone = email_s.str("hostedZoneId", None, check=_matches(HOSTED_ZONE_ID),
                             expected="a Route 53 hosted zone id (Z...)")
    if email_zone and "@" in identity:
        raise ConfigError(f"{email_s.key('hostedZoneId')}: only for a domain identity (its DKIM records); "
                          f"an address identity is verified by the email SES sends it")
    email = BlogEmailSettings(
        identity=identity, sender_address=sender, hosted_zone_id=email_zone,
        sandbox_recipients=email_s.str_list("sandboxRecipients", [], check=welcome_email.is_email_address,
                                            expected="a list of verified email addresses"),
        lambda_sizing=lambda_sizing(email_s, 256, 30))
    email_s.done()
    return BlogSettings(site=site, api=api, replica_regions_given=regions, kms=kms, email=email)


# --- the stack -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StackSettings:
    environment: str
    region: str
    log_retention_days: int
    todo_api: Optional[TodoApiSettings] = None
    thumbnails: Optional[ThumbnailSettings] = None
    blog: Optional[BlogSettings] = None
    outbox: Optional[OutboxSettings] = None
    update_cdn: Optional[UpdateCdnSettings] = None

    @property
    def prod(self) -> bool:
        return self.environment == "prod"

    @property
    def deletion_protection(self) -> bool:
        """Tables, user pools and buckets survive `pulumi destroy` in prod; dev can be torn down."""
        return self.prod


# Each optional component: config key -> (parser, settings field). Disabled or absent means not deployed.
COMPONENT_SECTIONS: dict[str, tuple[Callable[[Section, str], Any], str]] = {
    "todoApi": (_todo_api, "todo_api"),
    "outbox": (_outbox, "outbox"),
    "updateCdn": (_update_cdn, "update_cdn"),
    "thumbnails": (_thumbnails, "thumbnails"),
    "blog": (_blog, "blog"),
}


def parse(raw: dict[str, Any], region: str) -> StackSettings:
    """Validate this project's config (keys without the namespace) into StackSettings."""
    root = Section(NAMESPACE, raw)
    environment = root.choice("environment", ENVIRONMENTS)
    retention = root.choice("logRetentionDays", defaults.LOG_RETENTION_DAYS, 7 if environment == "dev" else 365)
    enabled = {}
    for key, (parser, attribute) in COMPONENT_SECTIONS.items():
        section = root.section(key)
        if section.bool("enabled", False):  # a disabled component's other keys are kept, not validated
            enabled[attribute] = parser(section, environment)
            section.done()
    root.done()
    return StackSettings(environment=environment, region=region, log_retention_days=retention, **enabled)


def _decode(value: str) -> Any:
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value  # plain strings are stored unquoted


def load() -> StackSettings:
    """Read and validate the current stack's config (call from __main__.py only)."""
    import pulumi
    from pulumi.runtime.config import CONFIG

    prefix = f"{NAMESPACE}:"
    raw = {key[len(prefix):]: _decode(value) for key, value in CONFIG.get().items() if key.startswith(prefix)}
    region = pulumi.Config("aws").get("region")
    if not region:
        raise ConfigError("aws:region: required (the stack's home region, e.g. us-east-1)")
    try:
        return parse(raw, region)
    except ConfigError as error:
        raise ConfigError(f"stack {pulumi.get_stack()!r}: {error}") from None
