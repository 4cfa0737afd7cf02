"""BlogAuthoring: the blog's authoring API (Cognito, `authors` group) that writes posts and refreshes readers' caches.

    author ──ID token──▶ API Gateway REST (REGIONAL, stage "v1", Cognito authorizer on every method but OPTIONS)
                           ├ GET  /posts/{slug}             the post as stored (drafts too), with its version
                           ├ POST /posts                    create (draft or published)
                           ├ PUT  /posts/{slug}             update {version, ...}
                           └ POST /posts/{slug}/unpublish   {version}
                                  │ Lambda proxy
                                  ▼
                         Lambda blog_authoring ── not in the authors group ─▶ 403 JSON
                           │ GetItem/PutItem/UpdateItem POST#* only (conditional on the version)
                           ▼
                         DynamoDB (the blog's table, home region) ── the public BlogApi reads the same items
                           │ when readers could see the change, once per version
                           ▼
                         API Gateway FlushStageCache (BlogApi's stage, only when it has a cache), then
                         CloudFront CreateInvalidation (this distribution only): /api/posts* and the post's page

A separate API from BlogApi on purpose: that one is public and cached behind CloudFront; this one is
authorized, never cached, and called by the authors' tools directly. The pool is invite-only: an
administrator creates authors and adds them to `authors_group`.
"""
import re
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, monitoring
from .args import ArgsReader
from .blog_api import CachedStage
from .canary import CanaryArgs, ResolvedCanary, read_canary
from .global_table import table_key_statements
from .iam import allow
from .lambda_function import LambdaFunction, read_memory, read_timeout
from .rest_api import THROTTLE_BURST_RANGE, THROTTLE_RATE_RANGE, ApiRoute, LambdaRestApi
from .user_pool import MFA_CHOICES, ResolvedUserPoolEmail, UserPoolEmail, read_email, user_pool_with_app_client

STAGE_NAME = "v1"
API_POSTS_PATHS = "/api/posts*"
"""The public API's answers about posts (BlogApi's GET /api/posts and /api/posts/{slug}, any query string)."""
POST_KEY_PREFIX = "POST#"
TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
MAX_PAGE_PATHS = 10
# A viewer path with {slug} once; CloudFront allows `*` only as the last character of an invalidation path.
_PAGE_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*\*?$")
_GROUP_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
_DISTRIBUTION_ID = re.compile(r"^[A-Z0-9]{1,64}$")
_REST_API_ID = re.compile(r"^[a-z0-9]{10}$")
_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

# What API Gateway checks before the function sees a body (the function checks it again, in depth).
_CONTENT = {"title": {"type": "string", "minLength": 1, "maxLength": 200},
            "summary": {"type": "string", "maxLength": 500},
            "body": {"type": "string", "minLength": 1},
            "tags": {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 40}},
            "status": {"type": "string", "enum": ["draft", "published"]}}
_VERSION = {"version": {"type": "integer", "minimum": 1}}
_DRAFT4 = "http://json-schema.org/draft-04/schema#"
CREATE_SCHEMA = {"$schema": _DRAFT4, "type": "object", "additionalProperties": False,
                 "required": ["slug", "title", "body"],
                 "properties": {"slug": {"type": "string", "minLength": 1, "maxLength": 100}, **_CONTENT}}
UPDATE_SCHEMA = {"$schema": _DRAFT4, "type": "object", "additionalProperties": False,
                 "required": ["version", "title", "body"], "properties": {**_VERSION, **_CONTENT}}
UNPUBLISH_SCHEMA = {"$schema": _DRAFT4, "type": "object", "additionalProperties": False, "required": ["version"],
                    "properties": _VERSION}


class BlogAuthoringArgs(TypedDict, total=False):
    table_name: Required[pulumi.Input[str]]
    """The blog's table in this region (GlobalTable.name): the one BlogApi reads."""
    table_arn: Required[pulumi.Input[str]]
    """Its ARN (GlobalTable.arn)."""
    table_kms_key_arn: Optional[pulumi.Input[str]]
    """Its customer-managed key, if it has one (GlobalTable.home_kms_key_arn): used through DynamoDB only."""
    distribution_id: Required[pulumi.Input[str]]
    """The site's CloudFront distribution (StaticSite.distribution_id): the only one the function may invalidate."""
    post_page_paths: Sequence[str]
    """Viewer paths of a post's page, with `{slug}` (default ["/posts/{slug}/*"], StaticSite's pretty URLs); []
    when the site has no page per post. Invalidated with /api/posts* when readers could see the change."""
    authors_group: str
    """The Cognito group whose members may write (default authors)."""
    mfa: str
    """Authors' MFA: ON (default: TOTP at every sign-in; whoever holds an author's password can't publish
    alone), OPTIONAL or OFF."""
    deletion_protection: bool
    """Protect the user pool from deletion (default false; the stack sets it in prod)."""
    email: Optional[UserPoolEmail]
    """The authors' pool's email (invitations, verification codes) through your SES identity; left out, Cognito's
    built-in email, capped at a few dozen messages a day (dev only: the policy pack requires SES in prod)."""
    cors_allow_origin: str
    """Origin of the authoring tool allowed to call cross-site (default *: tokens travel in a header, not cookies)."""
    throttle_rate_limit: float
    """Stage-wide requests per second (1-10000, default 5: posts are rarely written)."""
    throttle_burst_limit: int
    """Stage-wide burst (1-5000, default 10)."""
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
    public_api_cache: Optional[CachedStage]
    """BlogApi's cached stage (BlogApi.cached_stage), flushed before each invalidation so readers see a change at
    once; None (default: BlogApi has no stage cache, as in dev) flushes nothing and grants nothing."""
    canary: Optional[CanaryArgs]
    """Release the function through the alias `live` with CodeDeploy, rolled back on its errors and p99 duration;
    left out, a deploy replaces its code at once."""


ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.API)
"""The handler's errors and throttles, the stage's 5xx and p99 latency (the table is GlobalTable's)."""

DEFAULTS: dict[str, Any] = {
    "table_kms_key_arn": None, "post_page_paths": ["/posts/{slug}/*"], "authors_group": "authors",
    "mfa": "ON", "deletion_protection": False, "email": None, "cors_allow_origin": "*", "throttle_rate_limit": 5,
    "throttle_burst_limit": 10, "memory_mb": 256, "timeout_seconds": 10, "log_retention_days": 30,
    "cloudwatch_account": None, "alarms": None, "public_api_cache": None,
}


@dataclass(frozen=True)
class ResolvedBlogAuthoring:
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    table_kms_key_arn: Optional[pulumi.Input[str]]
    distribution_id: pulumi.Input[str]
    post_page_paths: list[str]
    authors_group: str
    mfa: str
    deletion_protection: bool
    email: Optional[ResolvedUserPoolEmail]
    """The pool's SES email; None: Cognito's built-in email."""
    cors_allow_origin: str
    throttle_rate_limit: float
    throttle_burst_limit: int
    memory_mb: int
    timeout_seconds: int
    log_retention_days: int
    cloudwatch_account: Optional[pulumi.Resource]
    alarms: Optional[monitoring.ResolvedAlarms] = None
    public_api_cache: Optional[CachedStage] = None
    """The public API's cached stage to flush; None: nothing to flush."""
    canary: Optional[ResolvedCanary] = None

    @property
    def invalidation_paths(self) -> list[str]:
        """What one post's change makes stale, `{slug}` still in it (the function fills it in)."""
        return [API_POSTS_PATHS, *self.post_page_paths]


def is_page_path(value: str) -> bool:
    """A viewer path template with `{slug}` exactly once, `*` (if any) only at the end, not under /api/."""
    return (value.count("{slug}") == 1 and not value.startswith("/api/") and len(value) <= 256
            and _PAGE_PATH.match(value.replace("{slug}", "slug")) is not None)


def resolve_args(name: str, args: Optional[BlogAuthoringArgs]) -> ResolvedBlogAuthoring:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("BlogAuthoring", name, args, BlogAuthoringArgs, DEFAULTS)
    return ResolvedBlogAuthoring(
        table_name=r.string("table_name", check=bool, expected="a table name (GlobalTable.name)"),
        table_arn=r.string("table_arn", check=lambda v: v.startswith("arn:") and ":dynamodb:" in v,
                           expected="a DynamoDB table ARN (GlobalTable.arn)"),
        table_kms_key_arn=r.optional_string("table_kms_key_arn", check=lambda v: v.startswith("arn:") and ":kms:" in v,
                                            expected="a KMS key ARN (GlobalTable.home_kms_key_arn)"),
        distribution_id=r.string("distribution_id", check=_DISTRIBUTION_ID.match,
                                 expected="a CloudFront distribution id such as E2QWRUHAPOMQZL "
                                          "(StaticSite.distribution_id)"),
        post_page_paths=r.strings("post_page_paths", check=is_page_path, max_items=MAX_PAGE_PATHS, distinct=True,
                                  expected="viewer path templates holding {slug} once, such as /posts/{slug}/* or "
                                           "/en/posts/{slug}/* ('*' only at the end, nothing under /api/)"),
        authors_group=r.string("authors_group", check=_GROUP_NAME.match, expected="a Cognito group name"),
        mfa=r.choice("mfa", MFA_CHOICES),
        deletion_protection=r.flag("deletion_protection"),
        email=read_email(r),
        cors_allow_origin=r.string("cors_allow_origin", check=bool,
                                   expected="an origin such as https://admin.example.com or *"),
        throttle_rate_limit=r.number("throttle_rate_limit", low=THROTTLE_RATE_RANGE[0], high=THROTTLE_RATE_RANGE[1]),
        throttle_burst_limit=r.integer("throttle_burst_limit", low=THROTTLE_BURST_RANGE[0],
                                       high=THROTTLE_BURST_RANGE[1]),
        memory_mb=read_memory(r),
        timeout_seconds=read_timeout(r, invoked_by_api_gateway=True),
        log_retention_days=r.choice("log_retention_days", defaults.LOG_RETENTION_DAYS),
        cloudwatch_account=r.input("cloudwatch_account"),
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS),
        public_api_cache=read_cached_stage(r),
        canary=read_canary(r))


def read_cached_stage(r: ArgsReader, key: str = "public_api_cache") -> Optional[CachedStage]:
    """The optional `public_api_cache` arg: a REST API id and stage name (outputs pass through)."""
    c = r.section(key, CachedStage)
    if c is None:
        return None
    return CachedStage(rest_api_id=c.string("rest_api_id", check=_REST_API_ID.match,
                                            expected="a REST API id such as a1b2c3d4e5 (BlogApi.cached_stage)"),
                       stage_name=c.string("stage_name", check=_STAGE_NAME.match,
                                           expected="a stage name: letters, digits, - and _ (BlogApi.cached_stage)"))


class _Authors(NamedTuple):
    pool: aws.cognito.UserPool
    client: aws.cognito.UserPoolClient
    group: aws.cognito.UserGroup


class BlogAuthoring(pulumi.ComponentResource):
    """The blog's authoring API: members of the authors group create, update and unpublish posts in the blog's
    table; BlogApi's stage cache (with `public_api_cache`) is flushed, then CloudFront is asked to drop exactly the
    paths whose answers changed.

    Python callers also get the children `function` (LambdaFunction) and `api` (LambdaRestApi).
    """

    url: pulumi.Output[str]
    """Invoke URL of the stage (every method needs an author's ID token in Authorization)."""
    function_name: pulumi.Output[str]
    """The blog_authoring function."""
    user_pool_id: pulumi.Output[str]
    """The authors' user pool (invite-only)."""
    user_pool_client_id: pulumi.Output[str]
    """Its public app client (SRP sign-in, no secret)."""
    authors_group: pulumi.Output[str]
    """The group whose members may write."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    def __init__(self, name: str, args: BlogAuthoringArgs, opts: Optional[pulumi.ResourceOptions] = None):
        s = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:BlogAuthoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        authors = self._authors(name, s, child)
        self.function = self._function(name, s, child)
        self.api = self._rest_api(name, s, authors, self.function, child)
        self.dashboard_name = self._alarms(name, s)

        self.url = self.api.url
        self.function_name = self.function.name
        self.user_pool_id = authors.pool.id
        self.user_pool_client_id = authors.client.id
        self.authors_group = authors.group.name
        self.register_outputs({"url": self.url, "function_name": self.function_name,
                               "user_pool_id": self.user_pool_id, "user_pool_client_id": self.user_pool_client_id,
                               "authors_group": self.authors_group})

    def _alarms(self, name: str, s: ResolvedBlogAuthoring) -> Optional[pulumi.Output[str]]:
        """The function's errors and throttles, the stage's 5xx and latency; None without an alarm topic."""
        t = s.alarms.thresholds if s.alarms else ALARM_THRESHOLDS
        monitored = monitoring.watch(name, s.alarms, [*self.function.watches(t), *self.api.watches(t)], parent=self,
                                     created=self.function.canary.watches if self.function.canary else ())
        return monitored.dashboard_name if monitored else None

    # --- authors: an invite-only pool, and the group that may write ----------------------------------
    def _authors(self, name: str, s: ResolvedBlogAuthoring, child: pulumi.ResourceOptions) -> _Authors:
        pool, client = user_pool_with_app_client(f"{name}-users", f"{name}-client", parent=self,
                                                 deletion_protection=s.deletion_protection, mfa=s.mfa,
                                                 invite_only=True, email=s.email)
        group = aws.cognito.UserGroup(f"{name}-authors", name=s.authors_group, user_pool_id=pool.id,
                                      description="May create, update and unpublish blog posts", opts=child)
        return _Authors(pool=pool, client=client, group=group)

    # --- the function: post items only, this distribution only ---------------------------------------
    def _function(self, name: str, s: ResolvedBlogAuthoring, child: pulumi.ResourceOptions) -> LambdaFunction:
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        return LambdaFunction(f"{name}-handler", {
            "code": "blog_authoring",
            "memory_mb": s.memory_mb,
            "timeout_seconds": s.timeout_seconds,
            "invoked_by_api_gateway": True,
            "log_retention_days": s.log_retention_days,
            "environment": {"TABLE_NAME": s.table_name, "AUTHORS_GROUP": s.authors_group,
                            "DISTRIBUTION_ID": s.distribution_id,
                            "INVALIDATION_PATHS": pulumi.Output.json_dumps(s.invalidation_paths),
                            **self._flush_environment(s)},
            "policy_statements": [
                allow(TABLE_ACTIONS, [s.table_arn], sid="WritePosts",
                      condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{POST_KEY_PREFIX}*"]}}),
                allow(["cloudfront:CreateInvalidation"], [self._distribution_arn(s.distribution_id)],
                      sid="InvalidateThisDistribution"),
                *self._flush_statements(s, region),
                *table_key_statements(s.table_kms_key_arn, region, ["kms:Decrypt", "kms:DescribeKey",
                                                                    "kms:Encrypt", "kms:GenerateDataKey"],
                                      sid="TableKeyThroughDynamoDB"),
            ],
            "canary": s.canary.args(s.alarms.topic_arn if s.alarms else None) if s.canary else None,
        }, opts=child)

    @staticmethod
    def _flush_environment(s: ResolvedBlogAuthoring) -> dict[str, pulumi.Input[str]]:
        """PUBLIC_API_ID and PUBLIC_API_STAGE when the public API's stage has a cache; else nothing to flush."""
        c = s.public_api_cache
        return {} if c is None else {"PUBLIC_API_ID": c["rest_api_id"], "PUBLIC_API_STAGE": c["stage_name"]}

    def _flush_statements(self, s: ResolvedBlogAuthoring, region: pulumi.Input[str]) -> list[Any]:
        """FlushStageCache (apigateway:DELETE) on that stage's cache only; none without a cache."""
        c = s.public_api_cache
        if c is None:
            return []
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        cache_data = pulumi.Output.concat("arn:", partition, ":apigateway:", region, "::/restapis/", c["rest_api_id"],
                                          "/stages/", c["stage_name"], "/cache/data")
        return [allow(["apigateway:DELETE"], [cache_data], sid="FlushPublicApiStageCache")]

    def _distribution_arn(self, distribution_id: pulumi.Input[str]) -> pulumi.Output[str]:
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id
        return pulumi.Output.concat("arn:", partition, ":cloudfront::", account, ":distribution/", distribution_id)

    # --- the API: Cognito-authorized, never cached ----------------------------------------------------
    @staticmethod
    def _rest_api(name: str, s: ResolvedBlogAuthoring, authors: _Authors, function: LambdaFunction,
                  child: pulumi.ResourceOptions) -> LambdaRestApi:
        return LambdaRestApi(f"{name}-rest", {
            "routes": [
                ApiRoute(method="GET", path="/posts/{slug}", function=function),
                ApiRoute(method="POST", path="/posts", function=function, request_schema=CREATE_SCHEMA),
                ApiRoute(method="PUT", path="/posts/{slug}", function=function, request_schema=UPDATE_SCHEMA),
                ApiRoute(method="POST", path="/posts/{slug}/unpublish", function=function,
                         request_schema=UNPUBLISH_SCHEMA),
            ],
            "cognito_user_pool_arns": [authors.pool.arn],
            "cors_allow_origin": s.cors_allow_origin,
            "stage_name": STAGE_NAME,
            "throttle_rate_limit": s.throttle_rate_limit,
            "throttle_burst_limit": s.throttle_burst_limit,
            "log_retention_days": s.log_retention_days,
            "cloudwatch_account": s.cloudwatch_account,
        }, opts=child)



def site_post_page_paths(languages: Sequence[str] = ()) -> list[str]:
    """StaticSite's pages of a post: /posts/<slug>/ and, with languages, each /<language>/posts/<slug>/ (the
    unprefixed path is answered per viewer from a language folder, so both are cached)."""
    return ["/posts/{slug}/*", *(f"/{language}/posts/{{slug}}/*" for language in languages)]
