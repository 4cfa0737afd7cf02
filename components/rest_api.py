"""LambdaRestApi: an API Gateway REST API (v1) in front of Lambda functions, secure by default.

Shared by every component that serves HTTP. What each API gets:
- REGIONAL endpoint; Lambda proxy integrations; one invoke permission per route,
  scoped to that method and path. Or `endpoint_type="PRIVATE"`: reachable only through
  the given execute-api VPC interface endpoints, which its resource policy enforces.
- A Cognito User Pools authorizer on every method except the CORS preflight, unless the
  API is explicitly `public`, or `authorization="iam"`: callers sign with SigV4 and their
  own IAM policy must grant execute-api:Invoke on the route (service-to-service calls).
- Preflight answered by a MOCK integration without auth; CORS headers on 4XX/5XX
  gateway responses too, so browsers see the real error.
- A request validator and a JSON-object model on every method that takes a body.
- A stage with JSON access logs, X-Ray, data trace off, stage-wide throttling,
  and (optionally) an encrypted cache for the GET routes that ask for it. On an
  authorized API the cache key of those GETs includes the caller's token header, so
  one user is never served another user's cached response.
- The deployment depends on every method and integration, and is replaced whenever
  anything a stage serves changes (AWS: "updates to REST APIs that require redeployment"):
  routes and integrations, the authorizer, gateway responses, CORS preflight answers,
  request validation and binary media types. Each is hashed from the very values its
  resources are built from, under its own key of the deployment's `triggers`.
"""
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, monitoring
from .args import ArgsReader
from .iam import allow, policy_document, service_trust_policy
from .lambda_function import LambdaFunction

_BODY_METHODS = {"POST", "PUT", "PATCH"}
_ALLOWED_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
_CORS_HEADERS = ("Content-Type,Authorization,X-Amz-Date,X-Amz-Security-Token,Idempotency-Key,Cache-Control,"
                 "X-Correlation-Id")
_PATH = re.compile(r"^(/([A-Za-z0-9._-]+|\{[A-Za-z][A-Za-z0-9]*\}))+$")
_STAGE_NAME = re.compile(r"^[A-Za-z0-9_]{1,128}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_MEDIA_TYPE = re.compile(r"^[\w.+*-]+/[\w.+*-]+$")
_PREFLIGHT_TEMPLATES = {"application/json": '{"statusCode": 200}'}
_GATEWAY_RESPONSE_TYPES = ("DEFAULT_4XX", "DEFAULT_5XX")


class _ValidatorArgs(TypedDict):
    """The RequestValidator's args (also part of the redeploy digest)."""
    validate_request_body: bool
    validate_request_parameters: bool


_VALIDATOR: _ValidatorArgs = {"validate_request_body": True, "validate_request_parameters": True}
PUBLIC_API_TAG = ("api-access", "public")
"""Tag on a `public` API's RestApi, saying its methods skip authorization on purpose."""
AUTHORIZATION_MODES = {"cognito": "COGNITO_USER_POOLS", "iam": "AWS_IAM"}
"""`authorization` arg -> the methods' API Gateway authorization type (a `public` API's is NONE)."""
ENDPOINT_TYPES = ("REGIONAL", "PRIVATE")
STAGE_VERSION_VARIABLE = "apiVersion"
"""The stage variable that tells a function which major version (stage) a request came through."""

# Sizes (GB) the API Gateway stage cache is offered in, and the longest TTL it allows.
API_CACHE_SIZES_GB = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")
API_CACHE_MAX_TTL_SECONDS = 3600
# Stage and method throttling this project accepts: requests per second, and burst.
THROTTLE_RATE_RANGE = (1, 10000)
THROTTLE_BURST_RANGE = (1, 5000)

ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp", "caller": "$context.authorizer.claims.sub",
    "requestTime": "$context.requestTime", "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath", "status": "$context.status",
    "protocol": "$context.protocol", "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency", "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}, separators=(",", ":"))


def access_log_format(s: "ResolvedLambdaRestApi") -> str:
    """ACCESS_LOG_FORMAT; on an IAM-authorized API the caller is the signing principal's ARN."""
    if s.authorization != "AWS_IAM":
        return ACCESS_LOG_FORMAT
    return json.dumps({**json.loads(ACCESS_LOG_FORMAT), "caller": "$context.identity.userArn"}, separators=(",", ":"))


class ApiThrottle(TypedDict, total=False):
    """Steady-state and burst request limits of an API stage (or of one method)."""
    rate_limit: float
    """Requests per second, 1 to 10000."""
    burst_limit: int
    """Burst, 1 to 5000 requests."""


class ApiCache(TypedDict, total=False):
    """The API Gateway stage cache (encrypted), for the GET routes that ask for it."""
    size_gb: str
    """Stage cache size in GB; one of 0.5 (default), 1.6, 6.1, 13.5, 28.4, 58.2, 118, 237."""
    ttl_seconds: int
    """Time a cached response may be served, 0 to 3600 (default 300)."""


CACHE_DEFAULTS: dict[str, Any] = {"size_gb": "0.5", "ttl_seconds": 300}


@dataclass(frozen=True)
class ResolvedThrottle:
    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class ResolvedCache:
    size_gb: str
    ttl_seconds: int


def read_throttle(r: ArgsReader, key: str, defaults_: dict[str, Any]) -> ResolvedThrottle:
    """An `ApiThrottle` arg over the caller's defaults ({"rate_limit", "burst_limit"})."""
    given = r.section(key, ApiThrottle, defaults_)
    t = given if given is not None else ArgsReader(r.component, r.name, {}, ApiThrottle, defaults_, (*r.path, key))
    rate = t.number("rate_limit", low=THROTTLE_RATE_RANGE[0], high=THROTTLE_RATE_RANGE[1])
    return ResolvedThrottle(rate_limit=int(rate) if rate.is_integer() else rate,
                            burst_limit=t.integer("burst_limit", low=THROTTLE_BURST_RANGE[0],
                                                  high=THROTTLE_BURST_RANGE[1]))


def read_cache(r: ArgsReader, key: str = "cache") -> Optional[ResolvedCache]:
    """An optional `ApiCache` arg: None leaves the stage without a cache."""
    c = r.section(key, ApiCache, CACHE_DEFAULTS)
    if c is None:
        return None
    return ResolvedCache(size_gb=c.choice("size_gb", API_CACHE_SIZES_GB),
                         ttl_seconds=c.integer("ttl_seconds", low=0, high=API_CACHE_MAX_TTL_SECONDS))


class ApiRoute(TypedDict, total=False):
    method: str
    """HTTP method: GET, POST, PUT, PATCH or DELETE."""
    path: str
    """Resource path, e.g. /todos/{todoId}."""
    function: LambdaFunction
    """The function that serves it (proxy integration)."""
    cached: bool
    """Cache this GET in the stage cache (when the API has one)."""
    query_parameters: Sequence[str]
    """Query strings the function reads; on a cached GET they are part of the cache key."""
    request_schema: dict
    """JSON schema the body must match; defaults to 'a JSON object'."""
    throttle: Optional[ApiThrottle]
    """Per-route {'rate_limit', 'burst_limit'}, tighter than the stage default."""


class LambdaRestApiArgs(TypedDict, total=False):
    routes: Sequence[ApiRoute]
    """The routes."""
    cognito_user_pool_arns: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """User pools whose ID tokens authorize every method. Required with authorization cognito, unless public."""
    public: bool
    """Serve without authorization (say so explicitly)."""
    authorization: str
    """cognito (default: the pools' ID tokens) or iam (SigV4; the caller's IAM policy grants
    execute-api:Invoke per route). A `public` API takes neither."""
    endpoint_type: str
    """REGIONAL (default) or PRIVATE (only through vpc_endpoint_ids; no custom domain here)."""
    vpc_endpoint_ids: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """execute-api interface endpoints a PRIVATE API is reached through (its resource policy denies
    every other path); required with PRIVATE, refused with REGIONAL."""
    cors_allow_origin: str
    """Access-Control-Allow-Origin for preflight and gateway error responses."""
    stage_name: str
    """Stage name (default v1)."""
    throttle_rate_limit: float
    """Stage-wide steady-state requests per second."""
    throttle_burst_limit: int
    """Stage-wide burst."""
    cache: Optional[ApiCache]
    """Stage cache; None disables caching."""
    log_retention_days: int
    """Retention of the access log group."""
    cloudwatch_account: Optional[pulumi.Resource]
    """The region's API Gateway account settings, when this stack manages them (the stage then waits for
    them); left out, they must already exist (managed by another stack of the account and region)."""
    token_header: str
    """Header carrying the Cognito ID token (default Authorization). Another header leaves
    Authorization free for SigV4, which API Gateway requires to honour Cache-Control: max-age=0."""
    binary_media_types: Sequence[str]
    """Content types API Gateway passes through as binary, e.g. image/png (default none)."""
    migration_stages: Sequence[str]
    """More major versions served beside stage_name by the same deployment during a migration (e.g. [v2]):
    each is a stage with its own logs, throttling, cache and metrics, and every stage tells the function
    which one a request came through in the stage variable `apiVersion` (default none)."""


DEFAULTS: dict[str, Any] = {
    "public": False,
    "authorization": "cognito",
    "endpoint_type": "REGIONAL",
    "vpc_endpoint_ids": None,
    "cors_allow_origin": "*",
    "stage_name": "v1",
    "throttle_rate_limit": 50,
    "throttle_burst_limit": 100,
    "log_retention_days": 30,
    "token_header": "Authorization",
    "binary_media_types": [],
    "migration_stages": [],
}
"""What an API gets without asking: Cognito-authorized, stage v1, 50 rps / burst 100, no cache."""


@dataclass(frozen=True)
class ResolvedRoute:
    method: str
    path: str
    function: LambdaFunction
    cached: bool
    query_parameters: list[str]
    request_schema: dict
    throttle: Optional[ResolvedThrottle]

    @property
    def key(self) -> str:
        return f"{self.method}-{_slug(self.path)}"


@dataclass(frozen=True)
class ResolvedLambdaRestApi:
    routes: list[ResolvedRoute]
    cognito_user_pool_arns: Any
    public: bool
    cors_allow_origin: str
    stage_name: str
    throttle: ResolvedThrottle
    cache: Optional[ResolvedCache]
    log_retention_days: int
    cloudwatch_account: Optional[pulumi.Resource]
    token_header: str
    binary_media_types: list[str]
    authorization: str = "COGNITO_USER_POOLS"
    """The methods' authorization type: NONE (public), COGNITO_USER_POOLS or AWS_IAM."""
    endpoint_type: str = "REGIONAL"
    vpc_endpoint_ids: Any = None
    migration_stages: tuple[str, ...] = ()

    @property
    def stage_variables(self) -> Optional[dict[str, dict[str, str]]]:
        """Stage name -> its variables: `apiVersion` on every stage once a migration serves more than one."""
        if not self.migration_stages:
            return None
        return {stage: {STAGE_VERSION_VARIABLE: stage} for stage in (self.stage_name, *self.migration_stages)}

    @property
    def identity_source(self) -> str:
        return f"method.request.header.{self.token_header}"

    @property
    def cors_headers(self) -> str:
        return ",".join(dict.fromkeys(_CORS_HEADERS.split(",") + [self.token_header]))


_DEFAULT_REQUEST_SCHEMA = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "root"


def _digest(value: Any) -> str:
    """A stable hash of plain data (dict keys sorted)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _read_route(r: ArgsReader, index: int, route: Any) -> ResolvedRoute:
    rr = ArgsReader(r.component, r.name, route, ApiRoute, {"cached": False, "query_parameters": [],
                                                            "request_schema": _DEFAULT_REQUEST_SCHEMA},
                    (*r.path, "routes", str(index)))
    method = rr.choice("method", sorted(_ALLOWED_METHODS))
    path = rr.string("path", check=_PATH.match, expected="a resource path like /todos/{todoId}")
    function = rr.get("function")
    if not isinstance(function, LambdaFunction):
        rr.fail("function", f"expected a LambdaFunction, got {type(function).__name__}")
    cached = rr.flag("cached")
    if cached and method != "GET":
        rr.fail("cached", f"only GET routes can be cached ({method} {path})")
    return ResolvedRoute(
        method=method, path=path, function=function, cached=cached,
        query_parameters=rr.strings("query_parameters", check=re.compile(r"^[A-Za-z0-9._~-]+$").match,
                                    expected="a list of query string names"),
        request_schema=rr.get("request_schema"),
        throttle=None if rr.get("throttle") is None else read_throttle(rr, "throttle", {}))


def resolve_args(name: str, args: Optional[LambdaRestApiArgs]) -> ResolvedLambdaRestApi:
    """The caller's args over DEFAULTS, each checked; raises ArgsError naming the arg."""
    r = ArgsReader("LambdaRestApi", name, args, LambdaRestApiArgs, DEFAULTS)
    raw_routes = r.get("routes") or []
    if isinstance(raw_routes, (str, bytes, dict)) or not isinstance(raw_routes, Sequence) or not raw_routes:
        r.fail("routes", "an API needs at least one route")
    routes = [_read_route(r, index, route) for index, route in enumerate(raw_routes)]
    seen: set[tuple[str, str]] = set()
    for route in routes:
        if (route.method, route.path) in seen:
            r.fail("routes", f"route {route.method} {route.path} is declared twice")
        seen.add((route.method, route.path))
    public = r.flag("public")
    pools = r.input("cognito_user_pool_arns")
    mode = r.choice("authorization", tuple(AUTHORIZATION_MODES))
    if public and r.given("authorization"):
        r.fail("authorization", "a public API has no authorization; leave out public, or authorization")
    if public and pools is not None:
        r.fail("cognito_user_pool_arns", "an API is either public or authorized by Cognito, not both")
    if mode == "iam" and pools is not None:
        r.fail("cognito_user_pool_arns", "an IAM-authorized API takes no user pools (callers sign with SigV4)")
    if mode == "cognito" and not public and pools is None:
        r.fail("cognito_user_pool_arns", "required: give cognito_user_pool_arns, authorization='iam' for SigV4 "
                                         "callers, or set public=True to serve without auth")
    if mode == "iam" and r.get("cache") is not None:
        for route in routes:
            if route.cached:
                r.fail("routes", f"{route.method} {route.path} is cached, but an IAM-authorized API can't key the "
                                 f"stage cache by caller (one caller would get another's response); don't cache it")
    endpoint_type = r.choice("endpoint_type", ENDPOINT_TYPES)
    endpoints = r.input("vpc_endpoint_ids")
    if endpoint_type == "PRIVATE" and endpoints is None:
        r.fail("vpc_endpoint_ids", "required with endpoint_type PRIVATE: the execute-api interface endpoints "
                                   "callers come through (e.g. ServiceNetwork's execute_api_endpoint_ids)")
    if endpoint_type == "REGIONAL" and endpoints is not None:
        r.fail("vpc_endpoint_ids", "only for endpoint_type PRIVATE; a REGIONAL API is reached over the internet")
    stage_name = r.string("stage_name", check=_STAGE_NAME.match, expected="a stage name (letters, digits, _)")
    migration_stages = r.strings("migration_stages", check=_STAGE_NAME.match, distinct=True, max_items=3,
                                 expected="a list of stage names (letters, digits, _)")
    if stage_name in migration_stages:
        r.fail("migration_stages", f"{stage_name!r} is already the API's stage_name; list only the other versions")
    return ResolvedLambdaRestApi(
        routes=routes,
        cognito_user_pool_arns=pools, public=public,
        cors_allow_origin=r.string("cors_allow_origin"),
        stage_name=stage_name,
        throttle=ResolvedThrottle(
            rate_limit=_whole(r.number("throttle_rate_limit", low=THROTTLE_RATE_RANGE[0],
                                       high=THROTTLE_RATE_RANGE[1])),
            burst_limit=r.integer("throttle_burst_limit", low=THROTTLE_BURST_RANGE[0],
                                  high=THROTTLE_BURST_RANGE[1])),
        cache=read_cache(r),
        log_retention_days=defaults.read_log_retention(r),
        cloudwatch_account=r.input("cloudwatch_account"),
        token_header=r.string("token_header", check=_HEADER_NAME.match, expected="an HTTP header name"),
        binary_media_types=r.strings("binary_media_types", check=_MEDIA_TYPE.match,
                                     expected="a list of media types such as image/png or */*", distinct=True),
        authorization="NONE" if public else AUTHORIZATION_MODES[mode],
        endpoint_type=endpoint_type, vpc_endpoint_ids=endpoints,
        migration_stages=tuple(migration_stages),
    )


def _whole(value: float) -> Any:
    """50.0 -> 50, so the stage settings read as the caller wrote them."""
    return int(value) if float(value).is_integer() else value


def method_path(route_path: str, method: str) -> str:
    """The `{resource_path}/{METHOD}` form MethodSettings uses (no leading slash)."""
    return f"{route_path.lstrip('/')}/{method}"


class RouteSpec(NamedTuple):
    """What one route's Method and Integration are built from, besides ids."""
    request_parameters: dict[str, bool]
    cache_key: list[str]
    request_schema: Optional[dict]
    """The body model's schema (body methods only)."""


def route_spec(s: ResolvedLambdaRestApi, route: ResolvedRoute) -> RouteSpec:
    path_params = re.findall(r"\{(\w+)\}", route.path)
    request_parameters = {f"method.request.path.{p}": True for p in path_params}
    request_parameters.update({f"method.request.querystring.{q}": False for q in route.query_parameters})
    cache_key: list[str] = []
    if route.cached and s.cache:
        cache_key = [f"method.request.path.{p}" for p in path_params] + \
                    [f"method.request.querystring.{q}" for q in route.query_parameters]
        if s.authorization == "COGNITO_USER_POOLS":
            request_parameters[s.identity_source] = True
            cache_key.insert(0, s.identity_source)
    return RouteSpec(request_parameters, cache_key,
                     route.request_schema if route.method in _BODY_METHODS else None)


def gateway_response_parameters(s: ResolvedLambdaRestApi) -> dict[str, str]:
    """The CORS headers of API Gateway's own 4XX/5XX answers."""
    return {"gatewayresponse.header.Access-Control-Allow-Origin": f"'{s.cors_allow_origin}'",
            "gatewayresponse.header.Access-Control-Allow-Headers": f"'{s.cors_headers}'"}


def preflight_headers(s: ResolvedLambdaRestApi) -> dict[str, dict[str, str]]:
    """Resource path -> the headers its OPTIONS (MOCK) integration answers with."""
    answers = {}
    for path in sorted({r.path for r in s.routes}):
        allowed = ",".join(sorted({r.method for r in s.routes if r.path == path} | {"OPTIONS"}))
        answers[path] = {
            "method.response.header.Access-Control-Allow-Origin": f"'{s.cors_allow_origin}'",
            "method.response.header.Access-Control-Allow-Methods": f"'{allowed}'",
            "method.response.header.Access-Control-Allow-Headers": f"'{s.cors_headers}'",
            "method.response.header.Access-Control-Max-Age": "'600'",
        }
    return answers


REDEPLOY_TRIGGERS = ("routes", "authorizer", "gatewayResponses", "preflight", "requestValidation", "binaryMediaTypes")
"""Keys of a deployment's `triggers`: one per kind of change a stage only serves after a redeployment."""


def redeploy_triggers(s: ResolvedLambdaRestApi) -> dict[str, pulumi.Input[str]]:
    """A hash per REDEPLOY_TRIGGERS key, of the same values the API's resources are built from.

    Function invoke ARNs and user pool ARNs are Outputs: a replaced function or pool redeploys too.
    """
    specs = {route.key: route_spec(s, route) for route in s.routes}
    route_table = sorted(({"method": r.method, "path": r.path, "function": r.function._name,
                           "requestParameters": specs[r.key].request_parameters,
                           "cacheKey": specs[r.key].cache_key} for r in s.routes),
                         key=lambda r: (r["path"], r["method"]))
    invoke_arns = [route.function.invoke_arn for route in sorted(s.routes, key=lambda r: r.key)]
    pools = None if s.public else s.cognito_user_pool_arns
    # Who may call, and by which path; the IAM and PRIVATE parts only when used, so the hash of an
    # API that uses neither stays what it was before they existed.
    access: list[Any] = [s.public, s.identity_source, pools]
    if s.authorization == "AWS_IAM":
        access.append(s.authorization)
    if s.endpoint_type == "PRIVATE":
        access += [s.endpoint_type, s.vpc_endpoint_ids]
    return {
        "routes": pulumi.Output.all(route_table, invoke_arns).apply(_digest),
        "authorizer": pulumi.Output.all(*access).apply(_digest),
        "gatewayResponses": _digest({t: gateway_response_parameters(s) for t in _GATEWAY_RESPONSE_TYPES}),
        "preflight": _digest({"headers": preflight_headers(s), "templates": _PREFLIGHT_TEMPLATES}),
        "requestValidation": _digest({"validator": _VALIDATOR,
                                      "models": {key: spec.request_schema for key, spec in specs.items()
                                                 if spec.request_schema is not None}}),
        "binaryMediaTypes": _digest(sorted(s.binary_media_types)),
    }


def private_api_policy(s: ResolvedLambdaRestApi) -> pulumi.Output[str]:
    """A PRIVATE API's resource policy: every call that doesn't come through one of its VPC endpoints is denied.

    With AWS_IAM the deny is all of it: for a caller of the same account API Gateway allows when its IAM
    policy or the resource policy allows, so an Allow here would let every signed principal in the VPC in,
    whatever its own grants. Without IAM (Cognito, public) the policy must also allow the endpoints' calls.
    """
    through = {"aws:SourceVpce": s.vpc_endpoint_ids}
    statements: list[dict[str, Any]] = [
        {"Sid": "OnlyThroughTheVpcEndpoints", "Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
         "Resource": "execute-api:/*", "Condition": {"StringNotEquals": through}}]
    if s.authorization != "AWS_IAM":
        statements.append({"Sid": "CallsThroughTheVpcEndpoints", "Effect": "Allow", "Principal": "*",
                           "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
                           "Condition": {"StringEquals": through}})
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


class RouteResources(NamedTuple):
    method: aws.apigateway.Method
    integration: aws.apigateway.Integration


class StageResources(NamedTuple):
    stage: aws.apigateway.Stage
    access_logs: aws.cloudwatch.LogGroup


class LambdaRestApi(pulumi.ComponentResource):
    rest_api: aws.apigateway.RestApi
    """The REST API."""
    stage: aws.apigateway.Stage
    """Its stage."""
    stages: dict[str, aws.apigateway.Stage]
    """Every stage by name: the stage, then the migration stages (e.g. {"v1": ..., "v2": ...})."""
    deployment: aws.apigateway.Deployment
    """The deployment the stage serves."""
    methods: dict[str, aws.apigateway.Method]
    """Methods by route key (e.g. GET-todos-todoid), OPTIONS included."""
    integrations: dict[str, aws.apigateway.Integration]
    """Integrations by route key."""
    url: pulumi.Output[str]
    """Invoke URL of the stage."""
    execution_arn: pulumi.Output[str]
    """Execution ARN of the API (for execute-api IAM statements)."""
    stage_arn_prefix: pulumi.Output[str]
    """`<execution arn>/<stage>`: append `/<METHOD>/<path>` to scope execute-api actions."""
    domain: pulumi.Output[str]
    """`<api id>.execute-api.<region>.amazonaws.com`, for a CloudFront origin."""

    def __init__(self, name: str, args: LambdaRestApiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:LambdaRestApi", name, None, opts)
        s = resolve_args(name, args)
        child = pulumi.ResourceOptions(parent=self)
        self._name, self._child = name, child

        self.rest_api = self._rest_api(s)
        authorizer = self._authorizer(s)
        validator = aws.apigateway.RequestValidator(
            f"{name}-validator", rest_api=self.rest_api.id, **_VALIDATOR, opts=child)
        resources = self._resources(name, s.routes, child)
        self.methods, self.integrations = {}, {}
        deployment_deps: list[pulumi.Resource] = []
        for route in s.routes:
            served = self._route(s, route, resources[route.path], authorizer, validator)
            self.methods[route.key], self.integrations[route.key] = served.method, served.integration
            deployment_deps += [served.method, served.integration]
        deployment_deps += self._cors(name, s, resources, child)
        deployment_deps += self._gateway_responses(s)
        self.deployment = self._deployment(s, deployment_deps)
        self.stage = self._stage(s).stage
        self._method_settings(s, self.stage)
        self.stages = {s.stage_name: self.stage}
        for version in s.migration_stages:
            self.stages[version] = self._stage(s, version).stage
            self._method_settings(s, self.stages[version], f"{self._name}-{version}")
        self.openapi_document = self._documentation(s)

        self.url = self.stage.invoke_url
        self.execution_arn = self.rest_api.execution_arn
        # Output.format, not concat: under the plain mocks of Pulumi's docs these inputs are None.
        self.stage_arn_prefix = self.stage.execution_arn  # arn:aws:execute-api:<region>:<account>:<api>/<stage>
        self.domain = pulumi.Output.format("{0}.execute-api.{1}.amazonaws.com", self.rest_api.id,
                                           aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region)
        self.register_outputs({"url": self.url, "execution_arn": self.execution_arn})

    # --- the OpenAPI document of the routes, published as documentation parts ----------------------
    def _documentation(self, s: ResolvedLambdaRestApi) -> dict:
        """The OpenAPI document built from the routes (ours are committed under docs/openapi/)."""
        from .openapi import publish_documentation  # imported here: openapi builds on this module's route specs
        return publish_documentation(self._name, self.rest_api, self.stage, s, self._child).document

    # --- the API and who may call it ---------------------------------------------------------------
    def _rest_api(self, s: ResolvedLambdaRestApi) -> aws.apigateway.RestApi:
        private = s.endpoint_type == "PRIVATE"
        endpoint: aws.apigateway.RestApiEndpointConfigurationArgsDict = {"types": s.endpoint_type}
        if private:
            endpoint["vpc_endpoint_ids"] = s.vpc_endpoint_ids
        return aws.apigateway.RestApi(
            self._name, endpoint_configuration=endpoint, policy=private_api_policy(s) if private else None,
            description=f"{self._name} (serverless-blueprints)",
            # Declares the missing authorizers deliberate (the guardrail pack's SB-APIGW-001 reads this tag).
            tags={PUBLIC_API_TAG[0]: PUBLIC_API_TAG[1]} if s.public else None,
            binary_media_types=s.binary_media_types or None, opts=self._child)

    def _authorizer(self, s: ResolvedLambdaRestApi) -> Optional[aws.apigateway.Authorizer]:
        if s.authorization != "COGNITO_USER_POOLS":
            return None
        return aws.apigateway.Authorizer(
            f"{self._name}-cognito", rest_api=self.rest_api.id, type="COGNITO_USER_POOLS",
            provider_arns=s.cognito_user_pool_arns, identity_source=s.identity_source, opts=self._child)

    # --- one route: method, integration, invoke permission --------------------------------------
    def _route(self, s: ResolvedLambdaRestApi, route: ResolvedRoute, resource: aws.apigateway.Resource,
               authorizer: Optional[aws.apigateway.Authorizer],
               validator: aws.apigateway.RequestValidator) -> RouteResources:
        name, key, child, api_id = self._name, route.key, self._child, self.rest_api.id
        method, path = route.method, route.path
        request_parameters, cache_key, request_schema = route_spec(s, route)

        models = None
        if request_schema is not None:
            model = aws.apigateway.Model(
                f"{name}-{key}-body", rest_api=api_id, content_type="application/json",
                name=re.sub(r"[^A-Za-z0-9]", "", key.title()) + "Body",
                schema=json.dumps(request_schema), opts=child)
            models = {"application/json": model.name}

        api_method = aws.apigateway.Method(
            f"{name}-{key}", rest_api=api_id, resource_id=resource.id, http_method=method,
            authorization=s.authorization,
            authorizer_id=None if authorizer is None else authorizer.id,
            request_parameters=request_parameters or None,
            request_validator_id=validator.id if (models or request_parameters) else None,
            request_models=models, opts=child)
        integration = aws.apigateway.Integration(
            f"{name}-{key}-integration", rest_api=api_id, resource_id=resource.id,
            http_method=api_method.http_method, type="AWS_PROXY",
            # With a canary, the alias `live` (CodeDeploy moves it), else the function.
            integration_http_method="POST", uri=route.function.invoke_arn,
            cache_key_parameters=cache_key or None,
            cache_namespace=resource.id if cache_key else None, opts=child)
        aws.lambda_.Permission(
            f"{name}-{key}-invoke", action="lambda:InvokeFunction",
            function=route.function.function.name, qualifier=route.function.qualifier,
            principal="apigateway.amazonaws.com",
            source_arn=self.rest_api.execution_arn.apply(
                lambda arn: f"{arn}/*/{method}{re.sub(r'{[^}]+}', '*', path)}"),
            opts=child)
        return RouteResources(api_method, integration)

    def _gateway_responses(self, s: ResolvedLambdaRestApi) -> list[aws.apigateway.Response]:
        """CORS headers on API Gateway's own 4XX/5XX answers, so browsers see the real error."""
        return [aws.apigateway.Response(
            f"{self._name}-{response_type.lower().replace('_', '-')}", rest_api_id=self.rest_api.id,
            response_type=response_type, response_parameters=gateway_response_parameters(s),
            opts=self._child) for response_type in _GATEWAY_RESPONSE_TYPES]

    def watches(self, thresholds: Mapping[str, float]) -> list[monitoring.Watch]:
        """Each stage's 5xx responses and p99 latency, for the owning component's alarms and dashboard."""
        return [*monitoring.rest_api_watches(self._name, self.rest_api.name, self.stage.stage_name, thresholds),
                *(w for version, stage in self.stages.items() if stage is not self.stage
                  for w in monitoring.rest_api_watches(f"{self._name}-{version}", self.rest_api.name,
                                                       stage.stage_name, thresholds))]

    # --- deployment, stage, method settings ------------------------------------------------------
    def _deployment(self, s: ResolvedLambdaRestApi, deps: list[pulumi.Resource]) -> aws.apigateway.Deployment:
        return aws.apigateway.Deployment(
            f"{self._name}-deployment", rest_api=self.rest_api.id, triggers=redeploy_triggers(s),
            opts=pulumi.ResourceOptions(parent=self, depends_on=deps))

    def _stage(self, s: ResolvedLambdaRestApi, migration_stage: Optional[str] = None) -> StageResources:
        """The API's stage, or (given `migration_stage`) another version's, serving the same deployment."""
        prefix = f"{self._name}-{migration_stage}" if migration_stage else self._name
        stage_name = migration_stage or s.stage_name
        access_logs = aws.cloudwatch.LogGroup(
            f"{prefix}-access-logs", retention_in_days=s.log_retention_days, opts=self._child)
        stage = aws.apigateway.Stage(
            f"{prefix}-stage", rest_api=self.rest_api.id, deployment=self.deployment.id,
            stage_name=stage_name, xray_tracing_enabled=True,
            variables=s.stage_variables[stage_name] if s.stage_variables else None,
            cache_cluster_enabled=bool(s.cache), cache_cluster_size=s.cache.size_gb if s.cache else None,
            access_log_settings={"destination_arn": access_logs.arn, "format": access_log_format(s)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[s.cloudwatch_account] if s.cloudwatch_account
                                        else []))
        return StageResources(stage, access_logs)

    def _method_settings(self, s: ResolvedLambdaRestApi, stage: aws.apigateway.Stage,
                         prefix: Optional[str] = None) -> list[aws.apigateway.MethodSettings]:
        """Stage-wide throttling and metrics; a method override for each cached or throttled route."""
        name, api_id, stage_name = prefix or self._name, self.rest_api.id, stage.stage_name
        throttle: aws.apigateway.MethodSettingsSettingsArgsDict = {
            "throttling_rate_limit": s.throttle.rate_limit, "throttling_burst_limit": s.throttle.burst_limit}
        operations: aws.apigateway.MethodSettingsSettingsArgsDict = {"metrics_enabled": True, "logging_level": "ERROR", "data_trace_enabled": False}
        settings = [aws.apigateway.MethodSettings(
            f"{name}-all-methods", rest_api=api_id, stage_name=stage_name, method_path="*/*",
            settings={**operations, **throttle, "caching_enabled": False, "cache_data_encrypted": bool(s.cache)},
            opts=self._child)]
        for route in s.routes:
            cached = bool(route.cached and s.cache)
            if not cached and not route.throttle:
                continue
            # A method override replaces the stage defaults for that method, so it restates them.
            route_throttle = throttle
            if route.throttle:
                route_throttle = {"throttling_rate_limit": route.throttle.rate_limit,
                                  "throttling_burst_limit": route.throttle.burst_limit}
            cache_settings: aws.apigateway.MethodSettingsSettingsArgsDict = {"caching_enabled": False}
            if cached and s.cache is not None:  # cached implies a cache
                cache_settings = {"caching_enabled": True, "cache_ttl_in_seconds": s.cache.ttl_seconds,
                                  "cache_data_encrypted": True,
                                  "require_authorization_for_cache_control": True,
                                  "unauthorized_cache_control_header_strategy": "FAIL_WITH_403"}
            settings.append(aws.apigateway.MethodSettings(
                f"{name}-{route.key}-settings", rest_api=api_id, stage_name=stage_name,
                method_path=method_path(route.path, route.method),
                settings={**operations, **route_throttle, **cache_settings}, opts=self._child))
        return settings

    # --- resources and CORS preflight ------------------------------------------------------------
    def _resources(self, name: str, routes: list[ResolvedRoute],
                   child: pulumi.ResourceOptions) -> dict[str, aws.apigateway.Resource]:
        resources: dict[str, aws.apigateway.Resource] = {}
        for route in sorted(routes, key=lambda r: r.path):
            parent_id: pulumi.Input[str] = self.rest_api.root_resource_id
            current = ""
            for segment in route.path.strip("/").split("/"):
                current += "/" + segment
                if current not in resources:
                    resources[current] = aws.apigateway.Resource(
                        f"{name}-{_slug(current)}", rest_api=self.rest_api.id,
                        parent_id=parent_id, path_part=segment, opts=child)
                parent_id = resources[current].id
        return resources

    def _cors(self, name: str, s: ResolvedLambdaRestApi, resources: dict[str, aws.apigateway.Resource],
              child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """OPTIONS on every routed path: a MOCK answer, never authorized, so preflight works."""
        created: list[pulumi.Resource] = []
        for path, headers in preflight_headers(s).items():
            key = f"OPTIONS-{_slug(path)}"
            resource_id = resources[path].id
            method = aws.apigateway.Method(
                f"{name}-{key}", rest_api=self.rest_api.id, resource_id=resource_id,
                http_method="OPTIONS", authorization="NONE", opts=child)
            integration = aws.apigateway.Integration(
                f"{name}-{key}-integration", rest_api=self.rest_api.id, resource_id=resource_id,
                http_method=method.http_method, type="MOCK",
                request_templates=_PREFLIGHT_TEMPLATES, opts=child)
            response = aws.apigateway.MethodResponse(
                f"{name}-{key}-200", rest_api=self.rest_api.id, resource_id=resource_id,
                http_method=method.http_method, status_code="200",
                response_parameters={header: True for header in headers}, opts=child)
            integration_response = aws.apigateway.IntegrationResponse(
                f"{name}-{key}-integration-200", rest_api=self.rest_api.id, resource_id=resource_id,
                http_method=method.http_method, status_code=response.status_code,
                response_parameters=headers,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[integration]))
            self.methods[key] = method
            self.integrations[key] = integration
            created += [method, integration, response, integration_response]
        return created


def api_gateway_cloudwatch_account(name: str, opts: Optional[pulumi.ResourceOptions] = None) -> aws.apigateway.Account:
    """The per-region API Gateway setting that lets stages write logs (one per account and region).

    Its role may write only to log groups of this account and region; AWS's managed
    AmazonAPIGatewayPushToCloudWatchLogs policy would allow every region.

    It is shared by every API of the account and region, so exactly one stack should manage it, and
    the role, its policy and the setting are all retained on delete: deleting `aws_api_gateway_account`
    resets the setting, and destroying that stack would otherwise stop every other stack's stage logs.
    """
    invoke = pulumi.InvokeOutputOptions(parent=opts.parent if opts else None,
                                        provider=opts.provider if opts else None)
    region = aws.get_region_output(opts=invoke).region
    account = aws.get_caller_identity_output(opts=invoke).account_id
    log_groups = pulumi.Output.concat("arn:aws:logs:", region, ":", account, ":log-group:*")
    opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True))
    role = aws.iam.Role(f"{name}-role", assume_role_policy=service_trust_policy("apigateway.amazonaws.com"),
                        opts=opts)
    policy = aws.iam.RolePolicy(f"{name}-push-logs", role=role.id, policy=policy_document([allow(
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
         "logs:FilterLogEvents", "logs:GetLogEvents", "logs:PutLogEvents"], [log_groups], sid="PushApiLogs")]),
        opts=opts)
    return aws.apigateway.Account(name, cloudwatch_role_arn=role.arn,
                                  opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy])))
