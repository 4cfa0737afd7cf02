"""ServerlessRestApi: the MyTodoList mobile backend.

    mobile app ──SRP──▶ Cognito User Pool ──ID token──▶ API Gateway (REST, REGIONAL, stage cache)
        │                                                   │ Cognito authorizer on every method but OPTIONS
        │                                                   ▼
        │                                          Lambda todo_api (arm64, VPC when DAX is on)
        │                                             │ eventually consistent reads + write-through
        │                                             ▼
        │                                     DAX (private subnets, TLS) ──▶ DynamoDB todos table
        │                                             │ presigned POST/GET, users/<sub>/ only
        └──identity pool credentials (PrincipalTag userSub)──▶ S3 files bucket, users/<sub>/

The same folder, `users/<user pool sub>/`, is reached both ways: the identity
pool maps the user pool's `sub` claim to the session tag `userSub`, the
authenticated role's policy allows only `users/${aws:PrincipalTag/userSub}/*`,
and the Lambda builds keys from the authorizer's `sub` claim.

Uploads go through the API only: a presigned POST carries the size and content-type limits, and S3
enforces them on the POST. The identity pool's credentials read, list and delete in the folder but
never write (no s3:PutObject), since a direct PutObject would carry neither limit.
"""
import datetime
import email.utils
import hashlib
import json
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, monitoring
from .args import ArgsReader
from .canary import CanaryArgs, ResolvedCanary, read_canary
from .iam import allow, policy_document
from .lambda_function import FunctionSizing, LambdaFunction, ResolvedSizing, read_sizing
from .rest_api import ApiCache, ApiRoute, ApiThrottle, LambdaRestApi, ResolvedCache, ResolvedThrottle, read_cache, \
    read_throttle
from .secure_bucket import SecureBucket
from .user_pool import (MFA_CHOICES, HostedSignIn, ResolvedUserPoolEmail, ResolvedUserPoolOAuth, UserPoolEmail,
                        UserPoolOAuth, hosted_sign_in_domain, read_email, read_oauth, user_pool_with_app_client)

DAX_TLS_PORT = 9111
DAX_CLUSTER_NAME_LIMIT = 20
DAX_NODE_TYPES = ("dax.t3.small", "dax.t3.medium", "dax.r5.large", "dax.r5.xlarge", "dax.r5.2xlarge",
                  "dax.r5.4xlarge", "dax.r5.8xlarge", "dax.r5.12xlarge", "dax.r5.16xlarge", "dax.r5.24xlarge")
DAX_MAX_NODES = 11
DAX_MAX_TTL_SECONDS = 86400
PRESIGNED_URL_MAX_SECONDS = 900
UPLOAD_MAX_BYTES_LIMIT = 5 * 1024 ** 3  # a single presigned POST
USER_FOLDER_TAG = "userSub"
USER_FOLDER = "users/${aws:PrincipalTag/" + USER_FOLDER_TAG + "}"
# The ID token travels here, not in Authorization: a forced cache refresh must be SigV4-signed
# (identity-pool credentials), and SigV4 needs the Authorization header for itself.
TOKEN_HEADER = "X-Id-Token"

API_VERSIONS = ("v1", "v2")
"""The major versions functions/todo_api serves (v2 adds a to-do's `priority`); each is a stage of the one API."""

# The API's route table: (method, path, cached GET?, query strings). docs/openapi/todo-api.json mirrors it.
ROUTES: tuple[tuple[str, str, bool, tuple[str, ...]], ...] = (
    ("GET", "/todos", True, ("limit", "cursor")),
    ("POST", "/todos", False, ()),
    ("GET", "/todos/{todoId}", True, ()),
    ("PUT", "/todos/{todoId}", False, ()),
    ("DELETE", "/todos/{todoId}", False, ()),
    ("POST", "/files/upload-url", False, ()),
    ("GET", "/files/download-url", False, ("key",)),
)


def dax_cluster_name(component: str, stack: str) -> str:
    """A DAX cluster name: unique per component and stack, lower case, and at most 20 characters."""
    wanted = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", f"{component}-{stack}".lower())).strip("-")
    if not wanted[:1].isalpha():
        wanted = "dax-" + wanted
    if len(wanted) <= DAX_CLUSTER_NAME_LIMIT:
        return wanted
    digest = hashlib.sha256(wanted.encode()).hexdigest()[:5]
    return f"{wanted[:DAX_CLUSTER_NAME_LIMIT - 6].rstrip('-')}-{digest}"


def is_cidr16(value: str) -> bool:
    """An IPv4 /16 such as 10.20.0.0/16 (the created VPC is cut into three /20 subnets)."""
    parts = value.split("/")
    octets = parts[0].split(".")
    return (len(parts) == 2 and parts[1] == "16" and len(octets) == 4
            and all(o.isdigit() and 0 <= int(o) <= 255 for o in octets))


class DaxArgs(TypedDict, total=False):
    """A DAX cluster in front of the to-do table."""
    node_type: str
    """DAX node type, e.g. dax.t3.small (default)."""
    nodes: int
    """Replication factor, 1 to 11 (default 3, spread across AZs)."""
    item_ttl_seconds: int
    """Item cache TTL, 0 to 86400 (default 300)."""
    query_ttl_seconds: int
    """Query cache TTL, 0 to 86400 (default 300)."""
    subnet_ids: Sequence[str]
    """Existing private subnets (subnet-...); when empty a VPC is created."""
    vpc_cidr: str
    """IPv4 /16 CIDR of the created VPC (default 10.20.0.0/16)."""


DAX_DEFAULTS: dict[str, Any] = {"node_type": "dax.t3.small", "nodes": 3, "item_ttl_seconds": 300,
                                "query_ttl_seconds": 300, "subnet_ids": [], "vpc_cidr": "10.20.0.0/16"}


class ApiDeprecationArgs(TypedDict, total=False):
    """An older served version on its way out: every answer of its stage says so (RFC 9745, RFC 8594)."""
    version: str
    """The deprecated version: served, and not the newest served (e.g. v1 beside v2)."""
    since: str
    """ISO date (YYYY-MM-DD) it is deprecated from: the `Deprecation` header."""
    sunset: str
    """ISO date (YYYY-MM-DD), after `since`, from which it may stop answering: the `Sunset` header."""
    link: str
    """https URL of the migration guide: the `Link` header's rel="deprecation" target."""


class ServerlessRestApiArgs(TypedDict, total=False):
    function: FunctionSizing
    """Memory (default 256 MB) and timeout (default 10 s, under 29) of the API's function."""
    throttle: ApiThrottle
    """Stage-wide throttling (default 20 requests per second, burst 40)."""
    cache: Optional[ApiCache]
    """API Gateway stage cache for the GET routes; left out, there is none."""
    dax: Optional[DaxArgs]
    """DAX in front of the table; left out, the function reads DynamoDB directly."""
    mfa: str
    """Cognito MFA: OFF, OPTIONAL (default) or ON."""
    email: Optional[UserPoolEmail]
    """The user pool's email through your SES identity; left out, Cognito's built-in email (capped daily)."""
    oauth: Optional[UserPoolOAuth]
    """Hosted sign-in: a Cognito domain and the authorization code grant with PKCE; left out, SRP only."""
    upload_max_bytes: int
    """Largest file a presigned POST accepts (default 10 MiB)."""
    allowed_content_types: Sequence[str]
    """Content types a presigned POST accepts (default JPEG, PNG, PDF and plain text)."""
    url_expiry_seconds: int
    """Presigned URL lifetime, 1 to 900 (default 300)."""
    cors_origins: Sequence[str]
    """Origins allowed by the API and the bucket's CORS (default *); the first one answers preflight."""
    log_retention_days: int
    """Retention of every log group (default 30)."""
    deletion_protection: bool
    """Protect the user pool and table, and keep the bucket on destroy (default false)."""
    cloudwatch_account: Optional[aws.apigateway.Account]
    """The region's API Gateway logging settings, if this stack manages them."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""
    api_versions: Sequence[str]
    """The major versions served, each a stage of the same API (default [v1]); [v1, v2] during a migration,
    then [v2] once v1 is retired (docs/components/serverless-rest-api.md, "Versions side by side")."""
    canary: Optional[CanaryArgs]
    """Release the function through the alias `live` with CodeDeploy (e.g. LambdaCanary10Percent5Minutes),
    rolled back on the alias's errors and p99 duration; left out, a deploy replaces the code at once."""
    deprecation: Optional[ApiDeprecationArgs]
    """Mark an older served version deprecated: Deprecation, Sunset and Link headers on all its answers
    (docs/components/serverless-rest-api.md, "Retiring a version"); left out, no version is deprecated."""


ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.API, monitoring.TABLE, monitoring.DAX)
"""The function's errors and throttles, the stage's 5xx and p99 latency, the table's throttling, and with DAX its
nodes' CPU and throttled requests."""

DEFAULTS: dict[str, Any] = {
    "function": {"memory_mb": 256, "timeout_seconds": 10},
    "throttle": {"rate_limit": 20, "burst_limit": 40},
    "mfa": "OPTIONAL",
    "upload_max_bytes": 10 * 1024 * 1024,
    "allowed_content_types": ["image/jpeg", "image/png", "application/pdf", "text/plain"],
    "url_expiry_seconds": 300,
    "cors_origins": ["*"],
    "log_retention_days": 30,
    "deletion_protection": False,
    "api_versions": ["v1"],
}
"""What you get without asking: no DAX, no stage cache, optional MFA, 20 rps, a month of logs."""


@dataclass(frozen=True)
class ResolvedDax:
    node_type: str
    nodes: int
    item_ttl_seconds: int
    query_ttl_seconds: int
    subnet_ids: list[str]
    vpc_cidr: str


@dataclass(frozen=True)
class ResolvedServerlessRestApi:
    function: ResolvedSizing
    throttle: ResolvedThrottle
    cache: Optional[ResolvedCache]
    dax: Optional[ResolvedDax]
    mfa: str
    email: Optional[ResolvedUserPoolEmail]
    oauth: Optional[ResolvedUserPoolOAuth]
    upload_max_bytes: int
    allowed_content_types: list[str]
    url_expiry_seconds: int
    cors_origins: list[str]
    log_retention_days: int
    deletion_protection: bool
    cloudwatch_account: Optional[pulumi.Resource]
    alarms: Optional[monitoring.ResolvedAlarms] = None
    canary: Optional[ResolvedCanary] = None
    api_versions: tuple[str, ...] = ("v1",)
    deprecation: Optional["ResolvedDeprecation"] = None


@dataclass(frozen=True)
class ResolvedDeprecation:
    version: str
    since: datetime.date
    sunset: datetime.date
    link: str

    def headers(self) -> dict[str, str]:
        """The answer headers of the deprecated version: RFC 9745's Deprecation (an sf-date, `@` Unix seconds),
        RFC 8594's Sunset (an HTTP-date) and the Link to the migration guide."""
        def midnight_utc(day: datetime.date) -> datetime.datetime:
            return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.timezone.utc)
        return {"Deprecation": f"@{int(midnight_utc(self.since).timestamp())}",
                "Sunset": email.utils.format_datetime(midnight_utc(self.sunset), usegmt=True),
                "Link": f'<{self.link}>; rel="deprecation"; type="text/html"'}


def _iso_date(value: object) -> bool:
    return isinstance(value, str) and bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and _parses(value)


def _parses(day: str) -> bool:
    try:
        datetime.date.fromisoformat(day)
    except ValueError:
        return False
    return True


def _https_url(value: object) -> bool:
    # It goes into a Link header between < and >: no whitespace, quotes or angle brackets.
    if not isinstance(value, str) or re.search(r'[\s<>"]', value):
        return False
    url = urllib.parse.urlsplit(value)
    return url.scheme == "https" and bool(url.hostname)


def _read_deprecation(r: ArgsReader, served: tuple[str, ...]) -> Optional[ResolvedDeprecation]:
    d = r.section("deprecation", ApiDeprecationArgs)
    if d is None:
        return None
    newest = max(served, key=API_VERSIONS.index)
    older = [v for v in served if v != newest]
    version = d.get("version")
    if not older:
        d.fail("version", f"nothing to deprecate: only {newest} is served (api_versions); serve its successor "
                          "beside it first")
    if version not in older:
        d.fail("version", f"{version!r} can't be deprecated; allowed values: {', '.join(older)} "
                          f"(a served version older than the newest, {newest})")
    iso = "an ISO date (YYYY-MM-DD)"
    since = datetime.date.fromisoformat(d.string("since", check=_iso_date, expected=iso))
    sunset = datetime.date.fromisoformat(d.string("sunset", check=_iso_date, expected=iso))
    if sunset <= since:
        d.fail("sunset", f"{sunset} is not after since ({since}); expected a later ISO date")
    return ResolvedDeprecation(version=version, since=since, sunset=sunset,
                               link=d.string("link", check=_https_url, expected="an https:// URL"))


def _read_dax(r: ArgsReader) -> Optional[ResolvedDax]:
    d = r.section("dax", DaxArgs, DAX_DEFAULTS)
    if d is None:
        return None
    return ResolvedDax(
        node_type=d.choice("node_type", DAX_NODE_TYPES),
        nodes=d.integer("nodes", low=1, high=DAX_MAX_NODES),
        item_ttl_seconds=d.integer("item_ttl_seconds", low=0, high=DAX_MAX_TTL_SECONDS),
        query_ttl_seconds=d.integer("query_ttl_seconds", low=0, high=DAX_MAX_TTL_SECONDS),
        subnet_ids=d.strings("subnet_ids", check=lambda v: v.startswith("subnet-"),
                             expected="a list of subnet ids (subnet-...)"),
        vpc_cidr=d.string("vpc_cidr", check=is_cidr16, expected="an IPv4 /16 CIDR"))


def resolve_args(name: str, args: Optional[ServerlessRestApiArgs]) -> ResolvedServerlessRestApi:
    """The caller's args over DEFAULTS, each checked; raises ArgsError naming the arg and what is allowed."""
    r = ArgsReader("ServerlessRestApi", name, args, ServerlessRestApiArgs, DEFAULTS)
    api_versions = tuple(r.strings("api_versions", check=API_VERSIONS.__contains__, min_items=1, distinct=True,
                                   expected=f"a list of the versions the function serves ({', '.join(API_VERSIONS)})"))
    return ResolvedServerlessRestApi(
        function=read_sizing(r, "function", **DEFAULTS["function"], invoked_by_api_gateway=True),
        throttle=read_throttle(r, "throttle", DEFAULTS["throttle"]),
        cache=read_cache(r),
        dax=_read_dax(r),
        mfa=r.choice("mfa", MFA_CHOICES),
        email=read_email(r),
        oauth=read_oauth(r),
        upload_max_bytes=r.integer("upload_max_bytes", low=1, high=UPLOAD_MAX_BYTES_LIMIT),
        allowed_content_types=r.strings("allowed_content_types", check=lambda v: "/" in v,
                                        expected="a list of MIME types", min_items=1, distinct=True),
        url_expiry_seconds=r.integer("url_expiry_seconds", low=1, high=PRESIGNED_URL_MAX_SECONDS),
        cors_origins=r.strings("cors_origins", expected="a list of origins", min_items=1, distinct=True),
        log_retention_days=defaults.read_log_retention(r),
        deletion_protection=r.flag("deletion_protection"),
        cloudwatch_account=r.input("cloudwatch_account"),
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS),
        canary=read_canary(r),
        api_versions=api_versions,
        deprecation=_read_deprecation(r, api_versions),
    )


def _oauth_client_config(oauth: ResolvedUserPoolOAuth, sign_in: HostedSignIn) -> dict[str, Any]:
    """What an OAuth library (AppAuth, Amplify) needs for the code grant with PKCE on the hosted sign-in."""
    return {"domain": sign_in.base_url, "authorizeEndpoint": sign_in.authorize_endpoint,
            "tokenEndpoint": sign_in.token_endpoint, "logoutEndpoint": sign_in.logout_endpoint,
            "revokeEndpoint": sign_in.revoke_endpoint, "responseType": "code", "codeChallengeMethod": "S256",
            "scopes": list(oauth.scopes), "redirectUris": {"signIn": list(oauth.callback_urls),
                                                           "signOut": list(oauth.logout_urls)}}


class Identity(NamedTuple):
    user_pool: aws.cognito.UserPool
    client: aws.cognito.UserPoolClient
    identity_pool: aws.cognito.IdentityPool
    sign_in: Optional[HostedSignIn]


class DaxNetwork(NamedTuple):
    subnet_ids: list
    lambda_sg: aws.ec2.SecurityGroup
    dax_sg: aws.ec2.SecurityGroup


class DaxAccess(NamedTuple):
    endpoint: pulumi.Output[str]
    network: DaxNetwork
    statements: list
    cluster: aws.dax.Cluster


class ServerlessRestApi(pulumi.ComponentResource):
    api_url: pulumi.Output[str]
    """Invoke URL of the API stage (the first of api_versions)."""
    api_urls: dict[str, pulumi.Output[str]]
    """Invoke URL of each served version's stage."""
    user_pool_id: pulumi.Output[str]
    """Cognito user pool id."""
    user_pool_client_id: pulumi.Output[str]
    """App client id (no secret)."""
    identity_pool_id: pulumi.Output[str]
    """Cognito identity pool id."""
    bucket_name: pulumi.Output[str]
    """Bucket holding the per-user folders."""
    table_name: pulumi.Output[str]
    """To-do table."""
    region: pulumi.Output[str]
    """Region of all of the above."""
    client_config: pulumi.Output[str]
    """JSON a mobile app loads as it is."""
    dax_endpoint: Optional[pulumi.Output[str]]
    """daxs:// endpoint when DAX is on."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    # Every arg has a default, so `args` may be left out; it is typed without Optional for Pulumi's analyzer.
    def __init__(self, name: str, args: ServerlessRestApiArgs = None,  # type: ignore[assignment]
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:ServerlessRestApi", name, None, opts)
        s = resolve_args(name, args)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)
        self.region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region

        identity = self._identity(s)
        table, files = self._table(s), self._files_bucket(s)
        dax = self._dax_access(s.dax, table) if s.dax else None
        self.dax_endpoint = dax.endpoint if dax else None
        function = self._function(s, table, files, dax)
        api = self._api(s, function, identity.user_pool)
        # Authenticated identities: their own folder, and the right to bypass the API cache for
        # their own GETs (API Gateway checks execute-api:InvalidateCache on Cache-Control: max-age=0).
        self._authenticated_role(name, identity.identity_pool, files, api, self._child)
        t = s.alarms.thresholds if s.alarms else ALARM_THRESHOLDS
        monitored = monitoring.watch(name, s.alarms, [
            *function.watches(t), *api.watches(t), *monitoring.table_watches(table._name, table.name, t),
            *(monitoring.dax_watches(dax.cluster._name, dax.cluster.cluster_name, t) if dax else [])], parent=self,
            # Each version's requests: a deprecated version is removed from api_versions once its count is zero.
            graphs=[monitoring.rest_api_traffic(f"{name} API {version}", api.rest_api.name, stage.stage_name)
                    for version, stage in api.stages.items()],
            created=function.canary.watches if function.canary else ())
        self.dashboard_name = monitored.dashboard_name if monitored else None

        self.api_url = api.url
        self.api_urls = {version: stage.invoke_url for version, stage in api.stages.items()}
        self.user_pool_id = identity.user_pool.id
        self.user_pool_client_id = identity.client.id
        self.identity_pool_id = identity.identity_pool.id
        self.bucket_name = files.name
        self.table_name = table.name
        self.client_config = pulumi.Output.json_dumps({
            "region": self.region, "apiUrl": self.api_url,
            "auth": {"userPoolId": self.user_pool_id, "userPoolClientId": self.user_pool_client_id,
                     "identityPoolId": self.identity_pool_id, "authenticationFlowType": "USER_SRP_AUTH",
                     "idTokenHeader": TOKEN_HEADER,
                     **({"oauth": _oauth_client_config(s.oauth, identity.sign_in)}
                        if s.oauth and identity.sign_in else {})},
            "storage": {"bucket": self.bucket_name, "userFolderPrefix": "users/{sub}/",
                        "uploads": "POST /files/upload-url, then the presigned POST (direct PutObject is denied)"},
            "cache": {"ttlSeconds": s.cache.ttl_seconds if s.cache else 0,
                      "forceRefresh": "GET with Cache-Control: max-age=0, SigV4-signed with identity pool credentials"},
        })
        self.register_outputs({
            "api_url": self.api_url, "user_pool_id": self.user_pool_id,
            "user_pool_client_id": self.user_pool_client_id, "identity_pool_id": self.identity_pool_id,
            "bucket_name": self.bucket_name, "table_name": self.table_name, "region": self.region,
            "client_config": self.client_config,
        })

    # --- identity: user pool, app client, identity pool with the per-user folder tag ------------
    def _identity(self, s: ResolvedServerlessRestApi) -> Identity:
        name, child = self._name, self._child
        user_pool, client = user_pool_with_app_client(
            f"{name}-users", f"{name}-mobile-client", parent=self, deletion_protection=s.deletion_protection,
            mfa=s.mfa, email=s.email, oauth=s.oauth)
        sign_in = hosted_sign_in_domain(name, user_pool, s.oauth, parent=self, region=self.region) if s.oauth else None
        identity_pool = aws.cognito.IdentityPool(
            f"{name}-identities", identity_pool_name=f"{name}_identities".replace("-", "_"),
            allow_unauthenticated_identities=False, allow_classic_flow=False,
            cognito_identity_providers=[{"client_id": client.id, "provider_name": user_pool.endpoint,
                                         "server_side_token_check": True}], opts=child)
        aws.cognito.IdentityPoolProviderPrincipalTag(
            f"{name}-user-folder-tag", identity_pool_id=identity_pool.id,
            identity_provider_name=user_pool.endpoint, use_defaults=False,
            principal_tags={USER_FOLDER_TAG: "sub"}, opts=child)
        return Identity(user_pool, client, identity_pool, sign_in)

    # --- data: the to-do table and the files bucket -----------------------------------------------
    def _table(self, s: ResolvedServerlessRestApi) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            f"{self._name}-todos", billing_mode="PAY_PER_REQUEST", hash_key="userId", range_key="todoId",
            attributes=[{"name": "userId", "type": "S"}, {"name": "todoId", "type": "S"}],
            point_in_time_recovery={"enabled": True}, server_side_encryption={"enabled": True},
            # POST /todos Idempotency-Key markers expire (functions/todo_api/todo_store.py).
            ttl={"attribute_name": "expiresAt", "enabled": True},
            deletion_protection_enabled=s.deletion_protection, opts=self._child)

    def _files_bucket(self, s: ResolvedServerlessRestApi) -> SecureBucket:
        return SecureBucket(f"{self._name}-files", {
            "force_destroy": not s.deletion_protection,
            # No PUT: uploads are presigned POSTs; app credentials can't write (see _authenticated_role).
            "cors_rules": [{"allowed_methods": ["GET", "POST", "DELETE", "HEAD"],
                            "allowed_origins": s.cors_origins, "allowed_headers": ["*"],
                            "expose_headers": ["ETag"], "max_age_seconds": 3000}],
        }, opts=self._child)

    def _dax_access(self, dax: ResolvedDax, table: aws.dynamodb.Table) -> DaxAccess:
        network = self._network(self._name, dax, self._child)
        cluster = self._dax(self._name, dax, table, network, self._child)
        return DaxAccess(
            cluster=cluster, endpoint=pulumi.Output.concat("daxs://", cluster.cluster_address), network=network,
            statements=[allow(["dax:DeleteItem", "dax:GetItem", "dax:PutItem", "dax:Query", "dax:UpdateItem"],
                              [cluster.arn], sid="TodosThroughDax")])

    # --- the function and the API in front of it -------------------------------------------------
    def _function(self, s: ResolvedServerlessRestApi, table: aws.dynamodb.Table, files: SecureBucket,
                  dax: Optional[DaxAccess]) -> LambdaFunction:
        # With DAX on, every read and write goes through the cluster: the function needs no table access.
        table_statements = [] if dax else [allow(
            ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
            [table.arn], sid="TodosTable")]
        return LambdaFunction(f"{self._name}-handler", {
            "code": "todo_api",
            "memory_mb": s.function.memory_mb,
            "timeout_seconds": s.function.timeout_seconds,
            "invoked_by_api_gateway": True,
            "log_retention_days": s.log_retention_days,
            "environment": {
                "TABLE_NAME": table.name, "BUCKET_NAME": files.name,
                "DAX_ENDPOINT": dax.endpoint if dax else "",
                "UPLOAD_MAX_BYTES": str(s.upload_max_bytes),
                "ALLOWED_CONTENT_TYPES": ",".join(s.allowed_content_types),
                "URL_EXPIRY_SECONDS": str(s.url_expiry_seconds),
                "CORS_ALLOW_ORIGIN": s.cors_origins[0],
                # One function serves every stage; it adds these to each answer of the version named here.
                "DEPRECATED_VERSIONS": json.dumps(
                    {s.deprecation.version: s.deprecation.headers()} if s.deprecation else {}),
            },
            "policy_statements": [
                *table_statements,
                # Presigned URLs carry the function's authority, limited to the per-user folders.
                allow(["s3:GetObject", "s3:PutObject"], [files.arn.apply(lambda arn: f"{arn}/users/*")],
                      sid="UserFolders"),
                *(dax.statements if dax else []),
            ],
            "vpc_config": {"subnet_ids": dax.network.subnet_ids,
                           "security_group_ids": [dax.network.lambda_sg.id]} if dax else None,
            "canary": s.canary.args(s.alarms.topic_arn if s.alarms else None) if s.canary else None,
        }, opts=self._child)

    def _api(self, s: ResolvedServerlessRestApi, function: LambdaFunction,
             user_pool: aws.cognito.UserPool) -> LambdaRestApi:
        return LambdaRestApi(f"{self._name}-api", {
            "routes": [ApiRoute(method=m, path=p, function=function, cached=cached, query_parameters=q)
                       for m, p, cached, q in ROUTES],
            "cognito_user_pool_arns": [user_pool.arn],
            "cors_allow_origin": s.cors_origins[0],
            "throttle_rate_limit": s.throttle.rate_limit,
            "throttle_burst_limit": s.throttle.burst_limit,
            "cache": {"size_gb": s.cache.size_gb, "ttl_seconds": s.cache.ttl_seconds} if s.cache else None,
            "log_retention_days": s.log_retention_days,
            "cloudwatch_account": s.cloudwatch_account,
            "token_header": TOKEN_HEADER,
            "stage_name": s.api_versions[0],
            "migration_stages": list(s.api_versions[1:]),
        }, opts=self._child)

    def _authenticated_role(self, name: str, identity_pool: aws.cognito.IdentityPool, files: SecureBucket,
                            api: LambdaRestApi, child: pulumi.ResourceOptions) -> aws.iam.Role:
        trust = policy_document([{
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            # TagSession: the identity pool passes the `userSub` principal tag.
            "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool.id},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
            },
        }])
        role = aws.iam.Role(f"{name}-authenticated", assume_role_policy=trust, opts=child)
        aws.iam.RolePolicy(f"{name}-authenticated-policy", role=role.id, policy=policy_document([
            allow(["s3:ListBucket"], [files.arn], sid="ListOwnFolder",
                  condition={"StringLike": {"s3:prefix": [f"{USER_FOLDER}/", f"{USER_FOLDER}/*"]}}),
            # Reads and deletes only: a direct PutObject would skip the presigned POST's size and type limits.
            allow(["s3:DeleteObject", "s3:GetObject"],
                  [files.arn.apply(lambda arn: f"{arn}/{USER_FOLDER}/*")], sid="ReadDeleteOwnFolder"),
            allow(["execute-api:InvalidateCache"],
                  [api.stage_arn_prefix.apply(lambda prefix: f"{prefix}/GET/todos*")], sid="RefreshOwnGets"),
        ]), opts=child)
        aws.cognito.IdentityPoolRoleAttachment(
            f"{name}-identity-roles", identity_pool_id=identity_pool.id,
            roles={"authenticated": role.arn}, opts=child)
        return role

    # --- DAX: private subnets, security groups, the cluster -----------------------------------------
    def _network(self, name: str, dax: ResolvedDax, child: pulumi.ResourceOptions) -> DaxNetwork:
        """Private subnets for DAX and the function, with gateway endpoints and no route to the internet."""
        given = list(dax.subnet_ids)
        subnet_ids: list[pulumi.Input[str]]
        route_table_ids: list[pulumi.Input[str]]
        vpc_id: pulumi.Output[str]
        if given:
            looked_up = aws.ec2.get_subnet_output(id=given[0], opts=pulumi.InvokeOutputOptions(parent=self))
            vpc_id, subnet_ids, route_table_ids = looked_up.vpc_id, list(given), []
        else:
            vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=dax.vpc_cidr,
                              enable_dns_hostnames=True, enable_dns_support=True, opts=child)
            zones = aws.get_availability_zones_output(state="available",
                                                      opts=pulumi.InvokeOutputOptions(parent=self))
            route_table = aws.ec2.RouteTable(f"{name}-private", vpc_id=vpc.id, opts=child)
            subnet_ids = []
            base = dax.vpc_cidr.split(".")
            for index in range(3):
                subnet = aws.ec2.Subnet(
                    f"{name}-private-{index}", vpc_id=vpc.id,
                    cidr_block=f"{base[0]}.{base[1]}.{index * 16}.0/20",
                    availability_zone=zones.names[index], map_public_ip_on_launch=False, opts=child)
                aws.ec2.RouteTableAssociation(f"{name}-private-{index}", subnet_id=subnet.id,
                                              route_table_id=route_table.id, opts=child)
                subnet_ids.append(subnet.id)
            vpc_id, route_table_ids = vpc.id, [route_table.id]

        lambda_sg = aws.ec2.SecurityGroup(f"{name}-fn-sg", vpc_id=vpc_id,
                                          description="todo API function: egress to DAX and the gateway endpoints only",
                                          opts=child)
        dax_sg = aws.ec2.SecurityGroup(f"{name}-dax-sg", vpc_id=vpc_id,
                                       description="DAX: TLS port from the todo API function only", opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-dax-from-fn", security_group_id=dax_sg.id,
                                         referenced_security_group_id=lambda_sg.id, ip_protocol="tcp",
                                         from_port=DAX_TLS_PORT, to_port=DAX_TLS_PORT,
                                         description="DAX TLS from the todo API function", opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-fn-to-dax", security_group_id=lambda_sg.id,
                                        referenced_security_group_id=dax_sg.id, ip_protocol="tcp",
                                        from_port=DAX_TLS_PORT, to_port=DAX_TLS_PORT,
                                        description="todo API function to the DAX cluster (TLS)", opts=child)
        region = self.region
        if route_table_ids:
            # Gateway endpoints (free, via the route table). The function itself talks only to DAX and
            # presigns locally; these keep direct DynamoDB/S3 calls possible without a NAT.
            for service in ("dynamodb", "s3"):
                endpoint = aws.ec2.VpcEndpoint(
                    f"{name}-{service}-endpoint", vpc_id=vpc_id, vpc_endpoint_type="Gateway",
                    service_name=pulumi.Output.concat("com.amazonaws.", region, f".{service}"),
                    route_table_ids=route_table_ids, opts=child)
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-fn-to-{service}", security_group_id=lambda_sg.id, ip_protocol="tcp",
                    from_port=443, to_port=443, prefix_list_id=endpoint.prefix_list_id,
                    description=f"todo API function to {service} through its gateway endpoint", opts=child)
        return DaxNetwork(subnet_ids, lambda_sg, dax_sg)

    def _dax(self, name: str, dax: ResolvedDax, table: aws.dynamodb.Table, network: DaxNetwork,
             child: pulumi.ResourceOptions) -> aws.dax.Cluster:
        role = aws.iam.Role(f"{name}-dax-role", assume_role_policy=policy_document([{
            "Effect": "Allow", "Principal": {"Service": "dax.amazonaws.com"}, "Action": "sts:AssumeRole"}]),
            opts=child)
        role_policy = aws.iam.RolePolicy(f"{name}-dax-table", role=role.id, policy=policy_document([
            allow(["dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem",
                   "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
                   "dynamodb:UpdateItem"], [table.arn], sid="TodosTable")]), opts=child)
        subnets = aws.dax.SubnetGroup(f"{name}-dax-subnets", subnet_ids=network.subnet_ids, opts=child)
        parameters = aws.dax.ParameterGroup(f"{name}-dax-ttl", parameters=[
            {"name": "record-ttl-millis", "value": str(dax.item_ttl_seconds * 1000)},
            {"name": "query-ttl-millis", "value": str(dax.query_ttl_seconds * 1000)},
        ], opts=child)
        return aws.dax.Cluster(
            f"{name}-dax", cluster_name=dax_cluster_name(name, pulumi.get_stack()), node_type=dax.node_type,
            replication_factor=dax.nodes, iam_role_arn=role.arn,
            subnet_group_name=subnets.name, parameter_group_name=parameters.name,
            security_group_ids=[network.dax_sg.id],
            server_side_encryption={"enabled": True}, cluster_endpoint_encryption_type="TLS",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy]))
