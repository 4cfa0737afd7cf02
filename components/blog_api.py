"""BlogApi: the public, cached blog API (posts and double opt-in subscriptions) over the blog's table.

    CloudFront /api/* ──HTTPS + X-Origin-Verify: <secret>──▶ API Gateway REST (REGIONAL, public, stage "v1")
                                   ├ GET  /api/posts?limit&cursor   cached (stage cache in prod), key = limit, cursor
                                   ├ GET  /api/posts/{slug}         cached, key = slug
                                   ├ POST /api/subscribe            JSON schema, own throttle, never cached
                                   ├ GET  /api/subscriptions/confirm?token       signed link, never cached
                                   └ GET  /api/subscriptions/unsubscribe?token   signed link, never cached
                                          │ Lambda proxy
                                          ▼
                                   Lambda blog_api ── origin header checked first (constant time), else 403 JSON
                                     │ secrets (cached 5 min): origin header value, subscription token key
                                     ▼
                                   DynamoDB global table (home region): GetItem POST#*, Query published-posts,
                                     PutItem/UpdateItem/DeleteItem SUBSCRIBER#* only

Direct calls to the execute-api URL skip CloudFront's WAF, so the API answers only requests that
carry the secret origin header CloudFront adds (`origin_header`: a per-stack random value in
Secrets Manager, never in the function's environment). The function sets `Cache-Control: public,
max-age=<posts_max_age_seconds>` on posts and `no-store` on everything else, so CloudFront, the
stage cache and browsers agree on one TTL. `origin` describes the API for StaticSite's `/api/*`
behaviours; subscription links are plain GETs there (their `token` is forwarded, never cached).
"""
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Required, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from . import defaults, monitoring
from .args import ArgsReader
from .canary import CanaryArgs, ResolvedCanary, read_canary
from .global_table import GlobalTableIndex, table_key_statements
from .iam import allow
from .lambda_function import LambdaFunction
from .rest_api import (
    API_CACHE_SIZES_GB,
    THROTTLE_BURST_RANGE,
    THROTTLE_RATE_RANGE,
    ApiRoute,
    ApiThrottle,
    LambdaRestApi,
    ResolvedThrottle,
    read_throttle,
)
from .static_site import ApiOriginArgs, OriginHeaderArgs

STAGE_NAME = "v1"
PATH_PATTERN = "/api/*"
SUBSCRIBE_PATH = "/api/subscribe"
CONFIRM_PATH = "/api/subscriptions/confirm"
UNSUBSCRIBE_PATH = "/api/subscriptions/unsubscribe"
# The only query strings the function reads (functions/blog_api/handler.py): the cache keys hold these alone.
POSTS_QUERY_STRINGS = ("limit", "cursor")
# The signed links' query string; CloudFront forwards it on /api/*, and no-store keeps those answers uncached.
TOKEN_QUERY_STRING = "token"
ORIGIN_HEADER_NAME = "X-Origin-Verify"
ORIGIN_SECRET_LENGTH = 48
TOKEN_KEY_LENGTH = 64
# The single-table layout (functions/blog_posts, shared by the read and authoring functions):
# a sparse index of published posts.
PUBLISHED_POSTS_INDEX: GlobalTableIndex = {
    "name": "published-posts", "hash_key": "publishedFeed", "range_key": "publishedAt",
    "projection_type": "INCLUDE", "non_key_attributes": ["slug", "title", "summary", "tags", "status"],
}
POST_KEY_PREFIX = "POST#"
SUBSCRIBER_KEY_PREFIX = "SUBSCRIBER#"
MAX_POSTS_MAX_AGE_SECONDS = 3600  # the stage cache's limit, so all three caches share one TTL
# What API Gateway checks before the function sees the body (the function checks it again, in depth).
SUBSCRIBE_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#", "type": "object", "required": ["email"],
    "additionalProperties": False,
    "properties": {"email": {"type": "string", "minLength": 3, "maxLength": 254},
                   "name": {"type": "string", "maxLength": 100}},
}


class CachedStage(TypedDict):
    """A REST API stage that has a cache: what API Gateway's FlushStageCache names."""
    rest_api_id: pulumi.Input[str]
    """The API's id."""
    stage_name: pulumi.Input[str]
    """The stage's name."""


class PostsCacheArgs(TypedDict, total=False):
    size_gb: Required[str]
    """Stage cache size in GB: one of the sizes API Gateway offers (0.5, 1.6, 6.1, ...)."""


class BlogApiArgs(TypedDict, total=False):
    table_name: Required[pulumi.Input[str]]
    """The blog's table (posts and subscribers, with the published-posts index) in this region:
    GlobalTable.name."""
    table_arn: Required[pulumi.Input[str]]
    """Its ARN (GlobalTable.arn)."""
    table_kms_key_arn: Optional[pulumi.Input[str]]
    """Its customer-managed key, if it has one (GlobalTable.home_kms_key_arn): the function may use it through
    DynamoDB only."""
    posts_max_age_seconds: int
    """TTL of post responses at CloudFront, in the stage cache and in browsers (1-3600, default 60)."""
    cache: Optional[PostsCacheArgs]
    """Stage cache for the GET routes (its TTL is posts_max_age_seconds); None turns it off."""
    throttle_rate_limit: float
    """Stage-wide requests per second (1-10000, default 50)."""
    throttle_burst_limit: int
    """Stage-wide burst (1-5000, default 100)."""
    subscribe_throttle: ApiThrottle
    """POST /api/subscribe's own limits, within the stage's (default 2 rps, burst 5)."""
    cors_allow_origin: str
    """Origin allowed to call the API cross-site (default *: it's public; pages call it same-origin)."""
    memory_mb: int
    """Lambda memory (128-10240, default 256)."""
    timeout_seconds: int
    """Lambda timeout (1-28, under API Gateway's 29 s; default 10)."""
    log_retention_days: int
    """Retention of the function's and the stage's logs (a value CloudWatch offers; default 30)."""
    cloudwatch_account: Optional[aws.apigateway.Account]
    """The region's API Gateway logging settings, if this stack manages them."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""
    canary: Optional[CanaryArgs]
    """Release the function through the alias `live` with CodeDeploy, rolled back on its errors and p99 duration;
    left out, a deploy replaces its code at once."""


ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.API)
"""The handler's errors and throttles, the stage's 5xx and p99 latency (the table is GlobalTable's)."""

DEFAULTS: dict[str, Any] = {
    "table_kms_key_arn": None, "posts_max_age_seconds": 60, "cache": None, "throttle_rate_limit": 50,
    "throttle_burst_limit": 100, "cors_allow_origin": "*", "memory_mb": 256, "timeout_seconds": 10,
    "log_retention_days": 30, "cloudwatch_account": None, "alarms": None,
}
SUBSCRIBE_THROTTLE_DEFAULTS: dict[str, Any] = {"rate_limit": 2, "burst_limit": 5}


@dataclass(frozen=True)
class ResolvedBlogApi:
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    table_kms_key_arn: Optional[pulumi.Input[str]]
    posts_max_age_seconds: int
    cache_size_gb: Optional[str]
    """None: no stage cache."""
    throttle_rate_limit: float
    throttle_burst_limit: int
    subscribe_throttle: ResolvedThrottle
    cors_allow_origin: str
    memory_mb: int
    timeout_seconds: int
    log_retention_days: int
    cloudwatch_account: Optional[pulumi.Resource]
    alarms: Optional[monitoring.ResolvedAlarms] = None
    canary: Optional[ResolvedCanary] = None


def resolve_args(name: str, args: Optional[BlogApiArgs]) -> ResolvedBlogApi:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("BlogApi", name, args, BlogApiArgs, DEFAULTS)
    rate = r.number("throttle_rate_limit", low=THROTTLE_RATE_RANGE[0], high=THROTTLE_RATE_RANGE[1])
    burst = r.integer("throttle_burst_limit", low=THROTTLE_BURST_RANGE[0], high=THROTTLE_BURST_RANGE[1])
    subscribe = read_throttle(r, "subscribe_throttle", SUBSCRIBE_THROTTLE_DEFAULTS)
    if subscribe.rate_limit > rate or subscribe.burst_limit > burst:
        r.fail("subscribe_throttle", f"{subscribe.rate_limit:g} rps / burst {subscribe.burst_limit} must be within "
                                     f"the stage's limits ({rate:g} rps / burst {burst}): it exists to be tighter")
    cache = r.section("cache", PostsCacheArgs)
    return ResolvedBlogApi(
        table_name=r.string("table_name", check=bool, expected="a table name (GlobalTable.name)"),
        table_arn=r.string("table_arn", check=lambda v: v.startswith("arn:") and ":dynamodb:" in v,
                           expected="a DynamoDB table ARN (GlobalTable.arn)"),
        table_kms_key_arn=r.optional_string("table_kms_key_arn", check=lambda v: v.startswith("arn:") and ":kms:" in v,
                                            expected="a KMS key ARN (GlobalTable.home_kms_key_arn)"),
        posts_max_age_seconds=r.integer("posts_max_age_seconds", low=1, high=MAX_POSTS_MAX_AGE_SECONDS),
        cache_size_gb=None if cache is None else cache.choice("size_gb", API_CACHE_SIZES_GB),
        throttle_rate_limit=rate, throttle_burst_limit=burst,
        subscribe_throttle=subscribe,
        cors_allow_origin=r.string("cors_allow_origin", check=bool, expected="an origin such as https://blog.example.com or *"),
        memory_mb=r.integer("memory_mb", low=defaults.LAMBDA_MEMORY_MB_RANGE[0], high=defaults.LAMBDA_MEMORY_MB_RANGE[1]),
        timeout_seconds=r.integer("timeout_seconds", low=1, high=defaults.API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1),
        log_retention_days=r.choice("log_retention_days", defaults.LOG_RETENTION_DAYS),
        cloudwatch_account=r.input("cloudwatch_account"),
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS),
        canary=read_canary(r))


class _Secrets(NamedTuple):
    origin: aws.secretsmanager.Secret
    """The value CloudFront sends in ORIGIN_HEADER_NAME."""
    origin_value: pulumi.Output[str]
    token_key: aws.secretsmanager.Secret
    """HMAC key of the subscription links (WelcomeEmail signs, this API verifies)."""


class BlogApi(pulumi.ComponentResource):
    """The public, cached blog API (posts and double opt-in subscriptions) over the blog's table.

    Python callers also get `origin` (the ApiOriginArgs StaticSite needs to serve this API under /api/*),
    `origin_header` ({name, value}: what CloudFront must send; the value is secret), and the children
    `function` (LambdaFunction) and `api` (LambdaRestApi).
    """

    url: pulumi.Output[str]
    """Invoke URL of the stage. Not an entry point: without CloudFront's origin header every call is refused
    (403); viewers use the site's /api."""
    function_name: pulumi.Output[str]
    """The blog_api function."""
    token_secret_arn: pulumi.Output[str]
    """Secrets Manager secret holding the subscription links' HMAC key (WelcomeEmail's token_secret_arn)."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    def __init__(self, name: str, args: BlogApiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        api = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:BlogApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        secrets = self._secrets(name, child)
        self.function = self._function(name, api, secrets, child)
        self.api = self._rest_api(name, api, self.function, child)
        t = api.alarms.thresholds if api.alarms else ALARM_THRESHOLDS
        monitored = monitoring.watch(name, api.alarms, [*self.function.watches(t), *self.api.watches(t)],
                                     parent=self, created=self.function.canary.watches if self.function.canary else ())
        self.dashboard_name = monitored.dashboard_name if monitored else None

        self.url = self.api.url
        self.function_name = self.function.name
        self.token_secret_arn = secrets.token_key.arn
        # Python callers only (BlogAuthoring flushes it on publish): the stage caching the post GETs, or None.
        self.cached_stage: Optional[CachedStage] = (
            CachedStage(rest_api_id=self.api.rest_api.id, stage_name=self.api.stage.stage_name)
            if api.cache_size_gb else None)
        self.origin_header = OriginHeaderArgs(name=ORIGIN_HEADER_NAME, value=secrets.origin_value)
        self.origin = ApiOriginArgs(
            domain_name=self.api.domain, origin_path=f"/{STAGE_NAME}", path_pattern=PATH_PATTERN,
            cache_key_query_strings=[*POSTS_QUERY_STRINGS, TOKEN_QUERY_STRING],
            default_ttl_seconds=api.posts_max_age_seconds, max_ttl_seconds=api.posts_max_age_seconds,
            uncached_path_patterns=[SUBSCRIBE_PATH], origin_header=self.origin_header)
        self.register_outputs({"url": self.url, "function_name": self.function_name,
                               "token_secret_arn": self.token_secret_arn})

    # --- secrets: generated per stack, kept secret in state, read by the function at run time ------
    @staticmethod
    def _secrets(name: str, child: pulumi.ResourceOptions) -> _Secrets:
        def generated(suffix: str, length: int,
                      description: str) -> tuple[aws.secretsmanager.Secret, pulumi.Output[str]]:
            value = random.RandomPassword(f"{name}-{suffix}-value", length=length, special=False,
                                          opts=pulumi.ResourceOptions.merge(
                                              child, pulumi.ResourceOptions(additional_secret_outputs=["result"])))
            result: pulumi.Input[str] = value.result
            kept_secret = pulumi.Output.secret(result)
            secret = aws.secretsmanager.Secret(f"{name}-{suffix}", description=description, opts=child)
            aws.secretsmanager.SecretVersion(f"{name}-{suffix}-version", secret_id=secret.id,
                                             secret_string=kept_secret, opts=child)
            return secret, kept_secret

        origin, origin_value = generated("origin-secret", ORIGIN_SECRET_LENGTH,
                                         f"{name}: the {ORIGIN_HEADER_NAME} value CloudFront sends to the API")
        token_key, _ = generated("token-key", TOKEN_KEY_LENGTH, f"{name}: HMAC key of subscription links")
        return _Secrets(origin=origin, origin_value=origin_value, token_key=token_key)

    def _function(self, name: str, api: ResolvedBlogApi, secrets: _Secrets,
                  child: pulumi.ResourceOptions) -> LambdaFunction:
        """Reads posts and the published index, writes subscribers only (IAM leading-key conditions)."""
        leading = "dynamodb:LeadingKeys"
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        table_arn = pulumi.Output.from_input(api.table_arn)
        return LambdaFunction(f"{name}-handler", {
            "code": "blog_api",
            "memory_mb": api.memory_mb,
            "timeout_seconds": api.timeout_seconds,
            "invoked_by_api_gateway": True,
            "log_retention_days": api.log_retention_days,
            "environment": {"TABLE_NAME": api.table_name, "POSTS_MAX_AGE": str(api.posts_max_age_seconds),
                            "CORS_ALLOW_ORIGIN": api.cors_allow_origin, "ORIGIN_HEADER_NAME": ORIGIN_HEADER_NAME,
                            # ARNs only: the values are read (and cached) at run time.
                            "ORIGIN_SECRET_ARN": secrets.origin.arn, "TOKEN_SECRET_ARN": secrets.token_key.arn},
            "policy_statements": [
                allow(["dynamodb:GetItem"], [api.table_arn], sid="ReadPosts",
                      condition={"ForAllValues:StringLike": {leading: [f"{POST_KEY_PREFIX}*"]}}),
                allow(["dynamodb:Query"], [table_arn.apply(
                    lambda arn: f"{arn}/index/{PUBLISHED_POSTS_INDEX['name']}")], sid="ListPublishedPosts"),
                # Subscribers only (store, confirm, forget): the API can't write any other kind of item.
                allow(["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], [api.table_arn],
                      sid="WriteSubscribers",
                      condition={"ForAllValues:StringLike": {leading: [f"{SUBSCRIBER_KEY_PREFIX}*"]}}),
                allow(["secretsmanager:GetSecretValue"], [secrets.origin.arn, secrets.token_key.arn],
                      sid="ReadOriginAndTokenSecrets"),
                *table_key_statements(api.table_kms_key_arn, region, ["kms:Decrypt", "kms:DescribeKey",
                                                                      "kms:Encrypt", "kms:GenerateDataKey"],
                                      sid="TableKeyThroughDynamoDB"),
            ],
            "canary": api.canary.args(api.alarms.topic_arn if api.alarms else None) if api.canary else None,
        }, opts=child)

    @staticmethod
    def _rest_api(name: str, api: ResolvedBlogApi, function: LambdaFunction,
                  child: pulumi.ResourceOptions) -> LambdaRestApi:
        return LambdaRestApi(f"{name}-rest", {
            "routes": [
                ApiRoute(method="GET", path="/api/posts", function=function, cached=True,
                         query_parameters=list(POSTS_QUERY_STRINGS)),
                ApiRoute(method="GET", path="/api/posts/{slug}", function=function, cached=True),
                ApiRoute(method="POST", path=SUBSCRIBE_PATH, function=function, request_schema=SUBSCRIBE_SCHEMA,
                         throttle={"rate_limit": api.subscribe_throttle.rate_limit,
                                   "burst_limit": api.subscribe_throttle.burst_limit}),
                # The links' answers change state: never in the stage cache.
                *(ApiRoute(method="GET", path=path, function=function, query_parameters=[TOKEN_QUERY_STRING],
                           throttle={"rate_limit": api.subscribe_throttle.rate_limit,
                                     "burst_limit": api.subscribe_throttle.burst_limit})
                  for path in (CONFIRM_PATH, UNSUBSCRIBE_PATH)),
            ],
            "public": True,
            "cors_allow_origin": api.cors_allow_origin,
            "stage_name": STAGE_NAME,
            "throttle_rate_limit": api.throttle_rate_limit,
            "throttle_burst_limit": api.throttle_burst_limit,
            "cache": ({"size_gb": api.cache_size_gb, "ttl_seconds": api.posts_max_age_seconds}
                      if api.cache_size_gb else None),
            "log_retention_days": api.log_retention_days,
            "cloudwatch_account": api.cloudwatch_account,
        }, opts=child)
