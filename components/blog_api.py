"""BlogApi: the public, cached blog API (posts and newsletter subscriptions) over the blog's table.

    CloudFront /api/* ──HTTPS──▶ API Gateway REST (REGIONAL, public, stage "v1")
                                   ├ GET  /api/posts?limit&cursor   cached (stage cache in prod), key = limit, cursor
                                   ├ GET  /api/posts/{slug}         cached, key = slug
                                   └ POST /api/subscribe            JSON schema, own throttle, never cached
                                          │ Lambda proxy
                                          ▼
                                   Lambda blog_api ──▶ DynamoDB global table (home region)
                                     GetItem POST#*, Query published-posts, PutItem SUBSCRIBER#* only

The function sets `Cache-Control: public, max-age=<posts_max_age_seconds>` on posts and `no-store`
on everything else, so CloudFront, the stage cache and browsers agree on one TTL. `origin`
describes the API for StaticSite's `/api/*` behaviours.
"""
from __future__ import annotations

from typing import Optional, TypedDict

import pulumi

from .global_table import GlobalTable, GlobalTableIndex, table_key_statements
from .iam import allow
from .lambda_function import LambdaFunction
from .rest_api import ApiCache, ApiRoute, LambdaRestApi
from .static_site import ApiOriginArgs

STAGE_NAME = "v1"
PATH_PATTERN = "/api/*"
SUBSCRIBE_PATH = "/api/subscribe"
# The only query strings the function reads (functions/blog_api/handler.py): the cache keys hold these alone.
POSTS_QUERY_STRINGS = ("limit", "cursor")
# The function's single-table layout (functions/blog_api/posts.py): a sparse index of published posts.
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


class Throttle(TypedDict):
    rate_limit: float
    """Steady-state requests per second."""
    burst_limit: int
    """Burst."""


class BlogApiArgs(TypedDict, total=False):
    table: GlobalTable
    """The blog's table (posts and subscribers), with the published-posts index."""
    posts_max_age_seconds: int
    """TTL of post responses at CloudFront, in the stage cache and in browsers (1-3600, default 60)."""
    cache: Optional[ApiCache]
    """Stage cache for the GET routes (its TTL is posts_max_age_seconds); None turns it off."""
    throttle_rate_limit: float
    """Stage-wide requests per second."""
    throttle_burst_limit: int
    """Stage-wide burst."""
    subscribe_throttle: Throttle
    """POST /api/subscribe's own, tighter limits (default 2 rps, burst 5)."""
    cors_allow_origin: str
    """Origin allowed to call the API cross-site (default *: it's public; pages call it same-origin)."""
    memory_mb: int
    """Lambda memory."""
    timeout_seconds: int
    """Lambda timeout (< 29 s)."""
    log_retention_days: int
    """Retention of the function's and the stage's logs."""
    cloudwatch_account: Optional[pulumi.Resource]
    """The region's API Gateway logging settings, if this stack manages them."""


def _check_args(name: str, args: BlogApiArgs) -> None:
    if args.get("table") is None:
        raise ValueError(f"{name}: table (the blog's GlobalTable) is required")
    max_age = args.get("posts_max_age_seconds", 60)
    if not 1 <= max_age <= MAX_POSTS_MAX_AGE_SECONDS:
        raise ValueError(f"{name}: posts_max_age_seconds={max_age} must be 1..{MAX_POSTS_MAX_AGE_SECONDS} "
                         f"(0 would leave CloudFront unable to key on the query strings)")
    subscribe = args.get("subscribe_throttle", {"rate_limit": 2, "burst_limit": 5})
    stage = (args.get("throttle_rate_limit", 50), args.get("throttle_burst_limit", 100))
    if subscribe["rate_limit"] > stage[0] or subscribe["burst_limit"] > stage[1]:
        raise ValueError(f"{name}: subscribe_throttle {subscribe} must be within the stage's limits "
                         f"(rate {stage[0]}, burst {stage[1]}): it exists to be tighter")


class BlogApi(pulumi.ComponentResource):
    function: LambdaFunction
    """The blog_api function."""
    api: LambdaRestApi
    """The REST API."""
    url: pulumi.Output[str]
    """Invoke URL of the stage (direct; viewers go through CloudFront)."""
    origin: ApiOriginArgs
    """What StaticSite needs to serve this API under /api/*."""

    def __init__(self, name: str, args: BlogApiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        _check_args(name, args)
        super().__init__("serverless-blueprints:index:BlogApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        table: GlobalTable = args["table"]
        max_age = args.get("posts_max_age_seconds", 60)
        retention = args.get("log_retention_days", 30)
        cors_origin = args.get("cors_allow_origin", "*")
        subscribe = args.get("subscribe_throttle", {"rate_limit": 2, "burst_limit": 5})

        leading = "dynamodb:LeadingKeys"
        self.function = LambdaFunction(f"{name}-handler", {
            "code": "blog_api",
            "memory_mb": args.get("memory_mb", 256),
            "timeout_seconds": args.get("timeout_seconds", 10),
            "invoked_by_api_gateway": True,
            "log_retention_days": retention,
            "environment": {"TABLE_NAME": table.name, "POSTS_MAX_AGE": str(max_age),
                            "CORS_ALLOW_ORIGIN": cors_origin},
            "policy_statements": [
                allow(["dynamodb:GetItem"], [table.arn], sid="ReadPosts",
                      condition={"ForAllValues:StringLike": {leading: [f"{POST_KEY_PREFIX}*"]}}),
                allow(["dynamodb:Query"], [table.arn.apply(
                    lambda arn: f"{arn}/index/{PUBLISHED_POSTS_INDEX['name']}")], sid="ListPublishedPosts"),
                # A new subscriber only: the API can't overwrite or create any other kind of item.
                allow(["dynamodb:PutItem"], [table.arn], sid="StoreSubscribers",
                      condition={"ForAllValues:StringLike": {leading: [f"{SUBSCRIBER_KEY_PREFIX}*"]}}),
                *table_key_statements(table, ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt",
                                              "kms:GenerateDataKey"], sid="TableKeyThroughDynamoDB"),
            ],
        }, opts=child)

        cache = args.get("cache")
        self.api = LambdaRestApi(f"{name}-rest", {
            "routes": [
                ApiRoute(method="GET", path="/api/posts", function=self.function, cached=True,
                         query_parameters=list(POSTS_QUERY_STRINGS)),
                ApiRoute(method="GET", path="/api/posts/{slug}", function=self.function, cached=True),
                ApiRoute(method="POST", path=SUBSCRIBE_PATH, function=self.function,
                         request_schema=SUBSCRIBE_SCHEMA, throttle=dict(subscribe)),
            ],
            "public": True,
            "cors_allow_origin": cors_origin,
            "stage_name": STAGE_NAME,
            "throttle_rate_limit": args.get("throttle_rate_limit", 50),
            "throttle_burst_limit": args.get("throttle_burst_limit", 100),
            "cache": {"size_gb": cache["size_gb"], "ttl_seconds": max_age} if cache else None,
            "log_retention_days": retention,
            "cloudwatch_account": args.get("cloudwatch_account"),
        }, opts=child)

        self.url = self.api.url
        self.origin = ApiOriginArgs(
            domain_name=self.api.domain, origin_path=f"/{STAGE_NAME}", path_pattern=PATH_PATTERN,
            cache_key_query_strings=list(POSTS_QUERY_STRINGS),
            default_ttl_seconds=max_age, max_ttl_seconds=max_age,
            uncached_path_patterns=[SUBSCRIBE_PATH])
        self.register_outputs({"url": self.url, "function_name": self.function.name})
