"""Stack configuration: the one place that reads `pulumi.Config`.

It turns the raw values of `Pulumi.<stack>.yaml` into typed, validated settings,
and fails at preview with a message that names the key and the allowed values.
Components never read config: `__main__.py` hands them these settings as args.

A component section (`todoApi`, `outbox`, `thumbnails`, `updateCdn`, and each of the blog's `site`, `api`,
`table`, `email`) is exactly its component's args in camelCase:
present means deployed (unless `enabled: false`), and the component's own resolve step checks it, so
a stack user and a library user get the same defaults and the same errors. The stack adds only what
is about stacks: the shared `logRetentionDays`, deletion protection in prod, and the stack's region
where a component needs it (`WiredComponentSection`); `__main__` wires components to each other.
"""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, NotRequired, Optional, TypedDict, cast

from serverless_blueprints import defaults

if TYPE_CHECKING:  # the components import pulumi: only their args types are needed here
    from serverless_blueprints.alarm_topic import AlarmTopicArgs
    from serverless_blueprints.blog_api import BlogApiArgs
    from serverless_blueprints.blog_authoring import BlogAuthoringArgs
    from serverless_blueprints.global_table import GlobalTableArgs
    from serverless_blueprints.ingestion_pipeline import IngestionPipelineArgs
    from serverless_blueprints.shop_health import ShopHealthArgs
    from serverless_blueprints.static_site import StaticSiteArgs
    from serverless_blueprints.thumbnail_pipeline import ThumbnailPipelineArgs
    from serverless_blueprints.welcome_email import WelcomeEmailArgs

NAMESPACE = "serverless-blueprints"
ENVIRONMENTS = ("dev", "prod")


class ConfigError(ValueError):
    """A stack config value that cannot be deployed; the message names the key."""


_MISSING = object()


class Section:
    """The project's top-level config keys, remembering which were read.

    `done()` rejects any key that was not read, listing the ones that are known, so a misspelled
    component section (`thumbnail:`) is an error, never a component silently left out.
    """

    def __init__(self, path: str, raw: Any):
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected an object, got {type(raw).__name__} {raw!r}")
        self.path, self.raw = path, raw
        self._known: list[str] = []

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

    def optional(self, key: str) -> Any:
        """The raw value, or None when the key is absent."""
        return self._get(key, None)

    def choice(self, key: str, allowed: tuple, default: Any = _MISSING) -> Any:
        value = self._get(key, default)
        if value not in allowed:
            raise ConfigError(f"{self.key(key)}: {value!r} is not allowed; allowed values: "
                              f"{', '.join(map(str, allowed))}")
        return value

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
    for key in raw:
        if key != "enabled" and difflib.get_close_matches(str(key), ["enabled"], n=1, cutoff=0.8):
            raise ConfigError(f"{yaml_key(prefix, (*path, snake_case(str(key))))}: unknown key (did you mean "
                              f"'enabled'?); a section is deployed when present, unless enabled: false")
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


_ARG_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def checked_args(prefix: str, args: dict, resolve: Callable[[dict], Any]) -> dict:
    """Run a component's resolve step on args mapped from YAML, naming the YAML key on failure.

    Arg names in the problem (`batch_size`, the allowed keys of an unknown one) are written as
    the YAML spells them (`batchSize`).
    """
    from serverless_blueprints.args import ArgsError

    try:
        resolve(args)
    except ArgsError as error:
        problem = _ARG_NAME.sub(lambda match: camel_case(match.group()), error.problem)
        if problem.startswith("unknown arg"):
            problem = "unknown key" + problem[len("unknown arg"):]
        raise ConfigError(f"{yaml_key(prefix, error.path)}: {problem}") from None
    return args


# --- component sections: YAML is the component's args -----------------------------------------------

ALARM_TARGETS = ("topic_arn", "us_east_1_topic_arn")
"""A component's `alarms` args __main__ sets from the stack's AlarmTopic (serverless-blueprints:alarms)."""


def _alarm_placeholders(key: str, args: dict) -> dict:
    """A component's `alarms` for the check: its YAML thresholds, with the stack topic's ARNs as placeholders.
    `alarms: {enabled: false}` (None) leaves the component without alarms."""
    if "alarms" in args and args["alarms"] is None:
        return {}
    alarms = args.get("alarms") or {}
    if not isinstance(alarms, dict):
        raise ConfigError(f"{yaml_key(key, ('alarms',))}: expected an object (thresholds, dashboard), got "
                          f"{alarms!r}")
    for target in ALARM_TARGETS:
        if target in alarms:
            raise ConfigError(f"{yaml_key(key, ('alarms', target))}: set by __main__ (the stack's alarm topic, "
                              f"{NAMESPACE}:alarms), not in the stack config")
    return {"alarms": {**alarms, **{target: _set_in_main(target) for target in ALARM_TARGETS}}}


@dataclass(frozen=True)
class ComponentSection:
    """A section of Pulumi.<stack>.yaml that is one component's args (camelCase), plus `enabled`."""
    attribute: str
    """StackSettings field holding the args (None when not deployed)."""
    module: str
    """serverless_blueprints module with the component's args type and `resolve_args`."""
    args_type: str
    """Name of the component's args TypedDict in that module."""
    name: str
    """The component's name in __main__.py (its resolve step's messages use it)."""

    def args(self, key: str, raw: Any, stack: "StackSettings") -> Optional[dict]:
        """The component's args for this stack (None: not deployed), checked by the component."""
        import importlib

        from serverless_blueprints.args import arg_names

        if not isinstance(raw, dict):
            raise ConfigError(f"{yaml_key(key, ())}: expected an object (the {self.args_type[:-4]} args, or "
                              f"enabled: false), got {type(raw).__name__} {raw!r}")
        args = to_args(raw, key)
        if args is None:
            return None
        module = importlib.import_module(f"serverless_blueprints.{self.module}")
        declared, _ = arg_names(getattr(module, self.args_type))
        for stack_key, value in (("log_retention_days", stack.log_retention_days),
                                 ("deletion_protection", stack.deletion_protection)):
            if stack_key in declared and stack_key not in args:
                args[stack_key] = value
        placeholders = self.completion(key, args, stack)
        if "alarms" in declared:
            placeholders.update(_alarm_placeholders(key, args))
        return checked_args(key, args, lambda checked: module.resolve_args(self.name, {**checked, **placeholders}))

    def completion(self, key: str, args: dict, stack: "StackSettings") -> dict:
        """The args __main__ adds, as placeholders for the check (none: the YAML is all of them)."""
        return {}


COMPONENT_ARGS: dict[str, ComponentSection] = {
    "todoApi": ComponentSection("todo_api", "serverless_rest_api", "ServerlessRestApiArgs", "todo"),
    "outbox": ComponentSection("outbox", "outbox_relay", "OutboxRelayArgs", "outbox"),
    "thumbnails": ComponentSection("thumbnails", "thumbnail_pipeline", "ThumbnailPipelineArgs", "photos"),
}
"""Config key -> the component it configures. Absent, or `enabled: false`, means not deployed."""


# --- sections that __main__ completes: UpdateOffloadCdn, and the blog's four components ------------

def _set_in_main(what: str) -> Any:
    """Stands in, while the YAML is checked, for an arg __main__ wires from another resource (a provider,
    another component's output): resolve steps pass Outputs through unchecked, as they do the real ones."""
    import pulumi

    class SetInMain(pulumi.Output):
        # Never awaited: it exists only for the check, before any Pulumi runtime (or event loop).
        def __init__(self) -> None:  # noqa: D107  (no futures on purpose)
            pass

        def __repr__(self) -> str:
            return f"<{what}, set by __main__>"

    return SetInMain()


def _wired(*names: str) -> Callable[[dict], dict]:
    return lambda args: {name: _set_in_main(name) for name in names}


@dataclass(frozen=True)
class WiredComponentSection(ComponentSection):
    """A component section (exactly its component's args) that __main__ completes with resources:
    `wired` args get placeholders while the YAML is checked, and `stack_args` adds what the stack
    knows (its region, say) before the component checks the rest."""
    wired: Callable[[dict], dict] = lambda args: {}
    """The args __main__ adds (providers, other components' outputs) -> their placeholders, given the args."""
    stack_args: Optional[Callable[[str, dict, "StackSettings"], None]] = None
    """Stack rules and stack-derived args: (YAML key, args, stack), may raise ConfigError."""

    def completion(self, key: str, args: dict, stack: "StackSettings") -> dict:
        if self.stack_args is not None:
            self.stack_args(key, args, stack)
        placeholders = self.wired(args)
        clash = sorted(set(placeholders) & set(args))
        if clash:
            raise ConfigError(f"{yaml_key(key, (clash[0],))}: set by __main__ (wired from another resource), not in "
                              f"the stack config")
        return placeholders


def _update_cdn_stack_args(key: str, args: dict, stack: "StackSettings") -> None:
    from serverless_blueprints.update_offload_cdn import ORIGIN_SHIELD_REGIONS

    if stack.prod and args.get("demo_origin") is not None:
        raise ConfigError(f"{yaml_key(key, ('demo_origin',))}: the demo origin is dev only; prod points "
                          f"{yaml_key(key, ('origin_domain_name',))} at the existing ELB")
    # The origin sits in the stack's region: Origin Shield goes there unless told otherwise.
    if args.get("origin_shield_region") is None:
        if stack.region not in ORIGIN_SHIELD_REGIONS:
            raise ConfigError(f"{yaml_key(key, ('origin_shield_region',))}: required, as the stack region "
                              f"{stack.region} has no Origin Shield; allowed values: {', '.join(ORIGIN_SHIELD_REGIONS)}")
        args["origin_shield_region"] = stack.region


UPDATE_CDN = WiredComponentSection("update_cdn", "update_offload_cdn", "UpdateOffloadCdnArgs", "updates",
                                   wired=_wired("us_east_1_provider"), stack_args=_update_cdn_stack_args)
"""updateCdn: UpdateOffloadCdnArgs (without us_east_1_provider, which __main__ adds)."""


def _blog_site_stack_args(key: str, args: dict, stack: "StackSettings") -> None:
    content_dir = args.get("content_dir")
    if isinstance(content_dir, str) and (".." in content_dir.split("/") or content_dir.startswith("/")):
        raise ConfigError(f"{yaml_key(key, ('content_dir',))}: expected a folder of the project, such as site, got "
                          f"{content_dir!r}")


def _blog_table_stack_args(key: str, args: dict, stack: "StackSettings") -> None:
    args.setdefault("home_region", stack.region)  # aws:region: the replicas go elsewhere


def _replica_providers(args: dict) -> dict:
    """__main__ makes one provider per replica region."""
    regions = args.get("replica_regions")
    return {"replica_providers": {region: _set_in_main(f"aws provider for {region}") for region in regions
                                  if isinstance(region, str)}} if isinstance(regions, list) else {}


@dataclass(frozen=True)
class BlogSection(ComponentSection):
    """blog: four components' args under `site`, `api`, `table` and `email`, each exactly its component's
    args (StaticSite, BlogApi, GlobalTable, WelcomeEmail), and the optional `authoring` (BlogAuthoring);
    __main__ wires them together."""
    parts: tuple[tuple[str, WiredComponentSection], ...] = ()
    optional_parts: tuple[str, ...] = ()
    """Parts the blog runs without (absent, or `enabled: false`, leaves them out)."""

    def args(self, key: str, raw: Any, stack: "StackSettings") -> Optional[dict]:
        if not isinstance(raw, dict):
            raise ConfigError(f"{yaml_key(key, ())}: expected an object (site, api, table, email), got "
                              f"{type(raw).__name__} {raw!r}")
        if raw.get("enabled") is False:
            return to_args(raw, key)  # None; refuses other keys beside enabled: false
        known = {"enabled", *(camel_case(part) for part, _ in self.parts)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{yaml_key(key, (snake_case(unknown[0]),))}: unknown key; known keys here: "
                              f"{', '.join(sorted(known))}")
        blog: dict[str, Optional[dict]] = {}
        for part, section in self.parts:
            if part in self.optional_parts:
                if raw.get(camel_case(part)) is not None:
                    optional = section.args(f"{key}.{camel_case(part)}", raw[camel_case(part)], stack)
                    if optional is not None:
                        blog[part] = optional
                continue
            blog[part] = section.args(f"{key}.{camel_case(part)}", raw.get(camel_case(part), {}), stack)
            if blog[part] is None:
                raise ConfigError(f"{yaml_key(key, (part, 'enabled'))}: the blog needs its {part} section; disable "
                                  f"the whole blog instead")
        return blog


BLOG = BlogSection("blog", "", "", "", parts=(
    ("site", WiredComponentSection("blog.site", "static_site", "StaticSiteArgs", "blog-site",
                                   wired=_wired("us_east_1_provider"), stack_args=_blog_site_stack_args)),
    ("api", WiredComponentSection("blog.api", "blog_api", "BlogApiArgs", "blog-api",
                                  wired=_wired("table_name", "table_arn"))),
    ("table", WiredComponentSection("blog.table", "global_table", "GlobalTableArgs", "blog-table",
                                    wired=_replica_providers, stack_args=_blog_table_stack_args)),
    ("email", WiredComponentSection("blog.email", "welcome_email", "WelcomeEmailArgs", "blog-welcome",
                                    wired=_wired("table_arn", "table_stream_arn", "site_url", "token_secret_arn"))),
    ("authoring", WiredComponentSection("blog.authoring", "blog_authoring", "BlogAuthoringArgs", "blog-authoring",
                                        wired=_wired("table_name", "table_arn", "distribution_id"))),
), optional_parts=("authoring",))
"""blog: {site: StaticSiteArgs, api: BlogApiArgs, table: GlobalTableArgs, email: WelcomeEmailArgs,
authoring?: BlogAuthoringArgs}, without what __main__ wires (us_east_1_provider, the table's outputs,
replica_providers, the posts index, the API origin and its CORS origin, the mails' site URL and token secret,
the authoring API's distribution and its post page paths, unless given)."""

COMPONENT_ARGS.update({"updateCdn": UPDATE_CDN, "blog": BLOG})

PAID_CONTENT = WiredComponentSection("paid_content", "paid_content", "PaidContentArgs", "media",
                                     wired=_wired("us_east_1_provider", "cloudwatch_account"))
"""PaidContentArgs, without what __main__ wires (us_east_1_provider, cloudwatch_account)."""
COMPONENT_ARGS["paidContent"] = PAID_CONTENT
COMPONENT_ARGS["ingestion"] = ComponentSection("ingestion", "ingestion_pipeline", "IngestionPipelineArgs", "ingest")


# --- the shop (issue 15): a network, a domain and three services, wired by __main__ ------------------

def _shop_network_stack_args(key: str, args: dict, stack: "StackSettings") -> None:
    args.setdefault("flow_log_retention_days", stack.log_retention_days)


def _shop_service(*names: str) -> Callable[[dict], dict]:
    """A service's wired args: `names` as placeholders, and its `domain` (a ServiceDomain ref, a mapping)."""
    def wired(args: dict) -> dict:
        return {**{name: _set_in_main(name) for name in names}, "domain": {
            "domain_name": "service.shop.invalid", "certificate_arn": _set_in_main("certificate_arn"),
            "hosted_zone_id": _set_in_main("hosted_zone_id"), "private_hosted_zone_id": _set_in_main("private zone")}}
    return wired


SHOP_SERVICES_WITH_A_DOMAIN = ("catalog", "checkout")
"""Services behind an HTTPS ALB: each needs its subdomain (a certificate) in shop.domain.services."""
SHOP_CART_WIRED = ("domain", "vpc_endpoint_ids")
"""cart args __main__ sets from the other parts: its subdomain when the domain lists cart, the network's
execute-api endpoint (a PRIVATE API) when it has one."""


@dataclass(frozen=True)
class ShopSection(ComponentSection):
    """shop: five components' args under `network`, `domain`, `catalog`, `cart` and `checkout`, each exactly
    its component's args (ServiceNetwork, ServiceDomain, CatalogService, CartService, CheckoutService);
    __main__ wires the network's subnets, the domain's certificates and the services' URLs between them."""
    parts: tuple[tuple[str, WiredComponentSection], ...] = ()

    def args(self, key: str, raw: Any, stack: "StackSettings") -> Optional[dict]:
        if not isinstance(raw, dict):
            raise ConfigError(f"{yaml_key(key, ())}: expected an object ({', '.join(p for p, _ in self.parts)}), got "
                              f"{type(raw).__name__} {raw!r}")
        if raw.get("enabled") is False:
            return to_args(raw, key)  # None; refuses other keys beside enabled: false
        known = {"enabled", *(camel_case(part) for part, _ in self.parts)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{yaml_key(key, (snake_case(unknown[0]),))}: unknown key; known keys here: "
                              f"{', '.join(sorted(known))}")
        cart = raw.get("cart")
        for wired in SHOP_CART_WIRED:
            if isinstance(cart, dict) and camel_case(wired) in cart:
                raise ConfigError(f"{yaml_key(key, ('cart', wired))}: set by __main__ (wired from the shop's domain "
                                  f"and network), not in the stack config")
        shop: dict[str, dict] = {}
        for part, section in self.parts:
            args = section.args(f"{key}.{camel_case(part)}", raw.get(camel_case(part), {}), stack)
            if args is None:
                raise ConfigError(f"{yaml_key(key, (part, 'enabled'))}: the shop needs its {part} section; disable "
                                  f"the whole shop instead")
            shop[part] = args
        from serverless_blueprints.service_domain import DEFAULT_SERVICES

        services = shop["domain"].get("services", list(DEFAULT_SERVICES))
        missing = [name for name in SHOP_SERVICES_WITH_A_DOMAIN if name not in services]
        if missing:
            raise ConfigError(f"{yaml_key(key, ('domain', 'services'))}: add {', '.join(missing)}: its HTTPS ALB "
                              f"needs a certificate for its subdomain")
        if shop["network"].get("private_api_endpoint") and "cart" in services:
            raise ConfigError(f"{yaml_key(key, ('domain', 'services'))}: remove cart: with "
                              f"{yaml_key(key, ('network', 'private_api_endpoint'))} its API is PRIVATE, called by "
                              f"its execute-api URL inside the VPC, and a subdomain can't map it")
        return shop


SHOP = ShopSection("shop", "", "", "", parts=(
    ("network", WiredComponentSection("shop.network", "service_network", "ServiceNetworkArgs", "shop",
                                      stack_args=_shop_network_stack_args)),
    ("domain", WiredComponentSection("shop.domain", "service_domain", "ServiceDomainArgs", "shop-domain",
                                     wired=_wired("private_zone_vpc_id"))),
    ("catalog", WiredComponentSection("shop.catalog", "catalog_service", "CatalogServiceArgs", "catalog",
                                      wired=_shop_service("vpc_id", "public_subnet_ids", "private_subnet_ids"))),
    ("cart", WiredComponentSection("shop.cart", "cart_service", "CartServiceArgs", "cart",
                                   wired=_wired("vpc_id", "private_subnet_ids", "cache_subnet_ids", "catalog_url",
                                                "catalog_stream_arn", "cloudwatch_account"))),
    ("checkout", WiredComponentSection("shop.checkout", "checkout_service", "CheckoutServiceArgs", "checkout",
                                       wired=_shop_service("vpc_id", "public_subnet_ids", "private_subnet_ids",
                                                           "database_subnet_ids", "cart_url", "cart_invoke_arns"))),
))
"""shop: {network: ServiceNetworkArgs, domain: ServiceDomainArgs, catalog: CatalogServiceArgs, cart: CartServiceArgs,
checkout: CheckoutServiceArgs}, without what __main__ wires (subnets, the private zone's VPC, each service's
domain, catalog's URL and stream for cart, cart's URL and invoke ARNs for checkout, cloudwatch_account)."""
COMPONENT_ARGS["shop"] = SHOP
COMPONENT_ARGS["shopHealth"] = ComponentSection("shop_health", "shop_health", "ShopHealthArgs", "shop-health")


# --- the stack -----------------------------------------------------------------------------------

class BlogSettings(TypedDict):
    """StackSettings.blog: each part's args, without what __main__ wires (see BLOG)."""
    site: StaticSiteArgs
    api: BlogApiArgs
    table: GlobalTableArgs
    email: WelcomeEmailArgs
    authoring: NotRequired[BlogAuthoringArgs]
    """Present when the blog has its authoring API."""


@dataclass(frozen=True)
class StackSettings:
    environment: str
    region: str
    log_retention_days: int
    manage_api_gateway_account: bool = False
    """This stack owns the account and region's API Gateway CloudWatch role setting (exactly one stack may)."""
    alarms: Optional[dict] = None
    """AlarmTopicArgs (email, https; without us_east_1_provider, which __main__ adds): who every alarm reaches."""
    todo_api: Optional[dict] = None
    """ServerlessRestApiArgs (without cloudwatch_account, which __main__ adds)."""
    thumbnails: Optional[ThumbnailPipelineArgs] = None
    """ThumbnailPipelineArgs."""
    blog: Optional[BlogSettings] = None
    """{site: StaticSiteArgs, api: BlogApiArgs, table: GlobalTableArgs, email: WelcomeEmailArgs} (see BLOG)."""
    outbox: Optional[dict] = None
    """OutboxRelayArgs (without cloudwatch_account, which __main__ adds)."""
    update_cdn: Optional[dict] = None
    """UpdateOffloadCdnArgs (without us_east_1_provider, which __main__ adds)."""
    ingestion: Optional[IngestionPipelineArgs] = None
    """IngestionPipelineArgs."""
    paid_content: Optional[dict] = None
    """PaidContentArgs (without us_east_1_provider and cloudwatch_account, which __main__ adds)."""
    shop: Optional[dict] = None
    """{network, domain, catalog, cart, checkout}: each part's args, without what __main__ wires (see SHOP)."""
    shop_health: Optional[ShopHealthArgs] = None
    """ShopHealthArgs (without cloudwatch_account, which __main__ adds): the shop's GET /v1/health."""

    @property
    def prod(self) -> bool:
        return self.environment == "prod"

    @property
    def deletion_protection(self) -> bool:
        """Tables, user pools and buckets survive `pulumi destroy` in prod; dev can be torn down."""
        return self.prod


def check_region(region: Any) -> str:
    """The stack's home region (aws:region), such as eu-west-1."""
    from serverless_blueprints.global_table import is_region_name

    if not region:
        raise ConfigError("aws:region: required (the stack's home region, e.g. us-east-1)")
    if not isinstance(region, str) or not is_region_name(region):
        raise ConfigError(f"aws:region: {region!r} is not an AWS region name; expected one such as eu-west-1")
    return region


def parse(raw: dict[str, Any], region: Optional[str]) -> StackSettings:
    """Validate this project's config (keys without the namespace) into StackSettings."""
    region = check_region(region)
    root = Section(NAMESPACE, raw)
    environment = root.choice("environment", ENVIRONMENTS)
    retention = root.choice("logRetentionDays", defaults.LOG_RETENTION_DAYS, 7 if environment == "dev" else 365)
    manage_account = root.optional("manageApiGatewayAccount")
    if manage_account is None:
        manage_account = False
    elif not isinstance(manage_account, bool):
        raise ConfigError(f"{root.key('manageApiGatewayAccount')}: expected true or false, got {manage_account!r}")
    alarms = _alarm_topic(root)
    stack = StackSettings(environment=environment, region=region, log_retention_days=retention,
                          manage_api_gateway_account=manage_account, alarms=alarms)
    enabled: dict[str, Any] = {}
    for key, section in COMPONENT_ARGS.items():
        value = root.optional(key)
        if value is not None:
            enabled[section.attribute] = section.args(key, value, stack)
    root.done()
    if environment == "prod":
        _require_own_email(enabled)
    return StackSettings(environment=environment, region=region, log_retention_days=retention,
                         manage_api_gateway_account=manage_account, alarms=alarms, **enabled)


def _alarm_topic(root: Section) -> dict:
    """serverless-blueprints:alarms: AlarmTopicArgs (who the stack's alarms reach)."""
    from serverless_blueprints import alarm_topic

    raw = root.optional("alarms")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{root.key('alarms')}: expected an object (email, https), got {raw!r}")
    if "usEast1Provider" in raw:
        raise ConfigError(f"{root.key('alarms')}.usEast1Provider: set by __main__, not in the stack config")
    # Prod's topic must reach someone: the policy pack says so (SB-CW-002), where a preview gates it.
    return checked_args("alarms", to_args(raw, "alarms") or {},
                        lambda checked: alarm_topic.resolve_args("alarms", cast("AlarmTopicArgs", checked)))


COGNITO_EMAIL_SECTIONS = (("todoApi", "todo_api", None), ("outbox", "outbox", "user_pool_arn"),
                          ("paidContent", "paid_content", "cognito_user_pool_arn"),
                          ("blog.authoring", "blog.authoring", None))
"""Sections whose component creates a user pool that emails users (codes, invitations), with the arg that
gives it an existing pool instead (then the pool's email is its owner's). A sub-section's attribute is
dotted: blog.authoring is StackSettings.blog["authoring"]."""


def _require_own_email(enabled: dict) -> None:
    """Prod user pools send through SES: Cognito's built-in email allows a few dozen messages a day."""
    for key, attribute, given_pool in COGNITO_EMAIL_SECTIONS:
        args: Any = enabled
        for part in attribute.split("."):
            args = args.get(part) if isinstance(args, dict) else None
        if args is not None and args.get("email") is None and (given_pool is None or args.get(given_pool) is None):
            raise ConfigError(f"{yaml_key(key, ('email',))}: required in prod (Cognito's built-in email caps sign-ups "
                              f"at a few dozen messages a day); set sourceArn (a verified SES identity out of the "
                              f"sandbox) and fromAddress")


# --- example placeholders ----------------------------------------------------------------------------
# The committed Pulumi.prod.yaml is a template: its domains, zones and ARNs are AWS's and RFC 2606's example
# values. A real `pulumi preview`/`up` of prod refuses them (load); the offline plan, which deploys nothing,
# renders the template and its policy report lists them as advisory findings (policy SB-CONFIG-001).

@dataclass(frozen=True)
class Placeholder:
    key: str
    """The YAML key, e.g. serverless-blueprints:blog.site.customDomain.domainName."""
    value: str
    what: str
    """Which example value it is."""
    hint: str
    """What to set instead."""


PLACEHOLDER_PATTERNS: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile(r"(^|[.@<:/\s])example\.(com|net|org)\b", re.IGNORECASE), "an example.com domain (RFC 2606)"),
    (re.compile(r"^Z0123456789EXAMPLE$"), "the example Route 53 zone id"),
    (re.compile(r"(^|:)123456789012(:|$)"), "AWS's example account id 123456789012"),
    (re.compile(r"0123456789abcdef"), "an example resource id"),
)
"""What an example value looks like: the committed prod YAML uses these where yours go."""

_PLACEHOLDER_HINTS = {
    "domainName": "your own domain, in the hosted zone of hostedZoneId",
    "hostedZoneId": "the Route 53 hosted zone id of your domain (aws route53 list-hosted-zones)",
    "originDomainName": "the DNS name of your existing origin (its load balancer)",
    "listenerArn": "the ARN of your load balancer's HTTPS listener (aws elbv2 describe-listeners)",
    "targetGroupArn": "the ARN of the target group that listener forwards to (aws elbv2 describe-target-groups)",
    "securityGroupId": "your load balancer's security group id (sg-...)",
    "vpcId": "the id of your load balancer's VPC (vpc-...)",
    "identity": "your SES identity: a domain you own, or one verified address",
    "email": "the address of whoever answers the alarms (they confirm SNS's first mail)",
    "senderAddress": "an address of that SES identity",
    "sourceArn": "the ARN of your verified SES identity in this region (aws sesv2 list-email-identities), "
                 "out of the SES sandbox",
    "fromAddress": "an address of that SES identity, e.g. 'MyTodoList <no-reply@your-domain>'",
}


def find_placeholders(raw: dict[str, Any]) -> list[Placeholder]:
    """Every example value in the project's config (keys without the namespace), with what to set instead."""
    found: list[Placeholder] = []

    def walk(value: Any, path: tuple) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, (*path, str(key)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, (*path, str(index)))
        elif isinstance(value, str):
            for pattern, what in PLACEHOLDER_PATTERNS:
                if pattern.search(value):
                    last = next((p for p in reversed(path) if not p.isdigit()), path[-1])
                    found.append(Placeholder(".".join([f"{NAMESPACE}:{path[0]}", *path[1:]]), value, what,
                                             _PLACEHOLDER_HINTS.get(last, "your own value")))
                    break

    for key, value in raw.items():
        walk(value, (key,))
    return found


def placeholder_error(stack: str, found: list[Placeholder]) -> ConfigError:
    lines = [f"  {p.key}: {p.value!r} is {p.what}; set {p.hint}" for p in found]
    return ConfigError(f"stack {stack!r} still has the example placeholders of the committed template; set each with "
                       f"`pulumi config set --path <key> <value>` (-s {stack}):\n" + "\n".join(lines))


def _under_mocks() -> bool:
    """The program runs under Pulumi's mocks (offline plan, unit tests): nothing can be deployed."""
    from pulumi.runtime.mocks import MockEngine
    from pulumi.runtime.settings import SETTINGS

    return isinstance(getattr(SETTINGS, "engine", None), MockEngine)


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
    try:
        settings = parse(raw, pulumi.Config("aws").get("region"))
    except ConfigError as error:
        raise ConfigError(f"stack {pulumi.get_stack()!r}: {error}") from None
    # Prod with example values: a real preview or update stops here, before any resource; under mocks the
    # offline plan renders the template and reports them (SB-CONFIG-001).
    placeholders = find_placeholders(raw) if settings.prod else []
    if placeholders and not _under_mocks():
        raise placeholder_error(pulumi.get_stack(), placeholders)
    return settings
