"""Stack configuration: the one place that reads `pulumi.Config`.

It turns the raw values of `Pulumi.<stack>.yaml` into typed, validated settings,
and fails at preview with a message that names the key and the allowed values.
Components never read config: `__main__.py` hands them these settings as args.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

from components import defaults

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

    def section(self, key: str, default_empty: bool = True) -> "Section":
        return Section(self.key(key), self._get(key, {} if default_empty else _MISSING))

    def done(self) -> None:
        unknown = sorted(set(self.raw) - set(self._known))
        if unknown:
            raise ConfigError(f"{self.key(unknown[0])}: unknown key; known keys here: {', '.join(sorted(self._known))}")


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


# --- the stack -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StackSettings:
    environment: str
    region: str
    log_retention_days: int
    todo_api: Optional[TodoApiSettings] = None
    thumbnails: Optional[Any] = None
    blog: Optional[Any] = None
    outbox: Optional[Any] = None
    update_cdn: Optional[Any] = None

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
