"""LambdaRestApi: an API Gateway REST API (v1) in front of Lambda functions, secure by default.

Shared by every component that serves HTTP. What each API gets:
- REGIONAL endpoint; Lambda proxy integrations; one invoke permission per route,
  scoped to that method and path.
- A Cognito User Pools authorizer on every method except the CORS preflight,
  unless the API is explicitly `public`.
- Preflight answered by a MOCK integration without auth; CORS headers on 4XX/5XX
  gateway responses too, so browsers see the real error.
- A request validator and a JSON-object model on every method that takes a body.
- A stage with JSON access logs, X-Ray, data trace off, stage-wide throttling,
  and (optionally) an encrypted cache for the GET routes that ask for it. On an
  authorized API the cache key of those GETs includes the caller's token header, so
  one user is never served another user's cached response.
- The deployment depends on every method and integration, and is replaced when
  the route table changes.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
from .iam import allow, policy_document, service_trust_policy
from .lambda_function import LambdaFunction

_BODY_METHODS = {"POST", "PUT", "PATCH"}
_ALLOWED_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
_CORS_HEADERS = ("Content-Type,Authorization,X-Amz-Date,X-Amz-Security-Token,Idempotency-Key,Cache-Control,"
                 "X-Correlation-Id")
_PATH = re.compile(r"^(/([A-Za-z0-9._-]+|\{[A-Za-z][A-Za-z0-9]*\}))+$")
PUBLIC_API_TAG = ("api-access", "public")
"""Tag on a `public` API's RestApi, saying its methods skip authorization on purpose."""

ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp", "caller": "$context.authorizer.claims.sub",
    "requestTime": "$context.requestTime", "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath", "status": "$context.status",
    "protocol": "$context.protocol", "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency", "errorMessage": "$context.error.message",
    "xrayTraceId": "$context.xrayTraceId",
}, separators=(",", ":"))


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
    throttle: Optional[dict]
    """Per-route {'rate_limit', 'burst_limit'}, tighter than the stage default."""


class ApiCache(TypedDict):
    size_gb: str
    """Stage cache size; one of the sizes API Gateway offers."""
    ttl_seconds: int
    """Time a cached response may be served (0-3600)."""


class LambdaRestApiArgs(TypedDict, total=False):
    routes: Sequence[ApiRoute]
    """The routes."""
    cognito_user_pool_arns: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """User pools whose ID tokens authorize every method. Required unless public."""
    public: bool
    """Serve without authorization (say so explicitly)."""
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
    """The region's API Gateway account settings (CloudWatch role) the stage's logging needs."""
    token_header: str
    """Header carrying the Cognito ID token (default Authorization). Another header leaves
    Authorization free for SigV4, which API Gateway requires to honour Cache-Control: max-age=0."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "root"


def _route_key(route: ApiRoute) -> str:
    return f"{route['method']}-{_slug(route['path'])}"


def _validate(name: str, args: LambdaRestApiArgs) -> None:
    routes = args.get("routes") or []
    if not routes:
        raise ValueError(f"{name}: an API needs at least one route")
    if args.get("public") and args.get("cognito_user_pool_arns") is not None:
        raise ValueError(f"{name}: an API is either public or authorized by Cognito, not both")
    if not args.get("public") and args.get("cognito_user_pool_arns") is None:
        raise ValueError(f"{name}: give cognito_user_pool_arns, or set public=True to serve without auth")
    seen = set()
    for route in routes:
        method, path = route["method"], route["path"]
        if method not in _ALLOWED_METHODS:
            raise ValueError(f"{name}: method {method!r} of {path} is not one of {sorted(_ALLOWED_METHODS)}")
        if not _PATH.match(path):
            raise ValueError(f"{name}: path {path!r} is not a resource path like /todos/{{todoId}}")
        if (method, path) in seen:
            raise ValueError(f"{name}: route {method} {path} is declared twice")
        seen.add((method, path))
        if route.get("cached") and method != "GET":
            raise ValueError(f"{name}: only GET routes can be cached ({method} {path})")


def method_path(route_path: str, method: str) -> str:
    """The `{resource_path}/{METHOD}` form MethodSettings uses (no leading slash)."""
    return f"{route_path.lstrip('/')}/{method}"


class LambdaRestApi(pulumi.ComponentResource):
    rest_api: aws.apigateway.RestApi
    """The REST API."""
    stage: aws.apigateway.Stage
    """Its stage."""
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
        _validate(name, args)
        child = pulumi.ResourceOptions(parent=self)
        routes = list(args["routes"])
        public = bool(args.get("public"))
        cache = args.get("cache")
        origin = args.get("cors_allow_origin", "*")
        stage_name = args.get("stage_name", "v1")
        identity = f"method.request.header.{args.get('token_header', 'Authorization')}"
        cors_headers = ",".join(dict.fromkeys(_CORS_HEADERS.split(",") + [args.get("token_header", "Authorization")]))

        self.rest_api = aws.apigateway.RestApi(
            name, endpoint_configuration={"types": "REGIONAL"},
            description=f"{name} (serverless-blueprints)",
            # Declares the missing authorizers deliberate (the guardrail pack's SB-APIGW-001 reads this tag).
            tags={PUBLIC_API_TAG[0]: PUBLIC_API_TAG[1]} if public else None, opts=child)
        api_id = self.rest_api.id

        authorizer = None
        if not public:
            authorizer = aws.apigateway.Authorizer(
                f"{name}-cognito", rest_api=api_id, type="COGNITO_USER_POOLS",
                provider_arns=args["cognito_user_pool_arns"],
                identity_source=identity, opts=child)

        validator = aws.apigateway.RequestValidator(
            f"{name}-validator", rest_api=api_id,
            validate_request_body=True, validate_request_parameters=True, opts=child)

        resources = self._resources(name, routes, child)
        self.methods, self.integrations = {}, {}
        deployment_deps: list[pulumi.Resource] = []

        for route in routes:
            key = _route_key(route)
            method, path = route["method"], route["path"]
            resource_id = resources[path].id
            path_params = re.findall(r"\{(\w+)\}", path)
            query = list(route.get("query_parameters", []))
            request_parameters = {f"method.request.path.{p}": True for p in path_params}
            request_parameters.update({f"method.request.querystring.{q}": False for q in query})
            cache_key: list[str] = []
            if route.get("cached") and cache:
                cache_key = [f"method.request.path.{p}" for p in path_params] + \
                            [f"method.request.querystring.{q}" for q in query]
                if not public:
                    request_parameters[identity] = True
                    cache_key.insert(0, identity)

            models = None
            if method in _BODY_METHODS:
                model = aws.apigateway.Model(
                    f"{name}-{key}-body", rest_api=api_id, content_type="application/json",
                    name=re.sub(r"[^A-Za-z0-9]", "", key.title()) + "Body",
                    schema=json.dumps(route.get("request_schema", {
                        "$schema": "http://json-schema.org/draft-04/schema#", "type": "object"})),
                    opts=child)
                models = {"application/json": model.name}

            self.methods[key] = aws.apigateway.Method(
                f"{name}-{key}", rest_api=api_id, resource_id=resource_id, http_method=method,
                authorization="NONE" if public else "COGNITO_USER_POOLS",
                authorizer_id=None if authorizer is None else authorizer.id,
                request_parameters=request_parameters or None,
                request_validator_id=validator.id if (models or request_parameters) else None,
                request_models=models, opts=child)
            self.integrations[key] = aws.apigateway.Integration(
                f"{name}-{key}-integration", rest_api=api_id, resource_id=resource_id,
                http_method=self.methods[key].http_method, type="AWS_PROXY",
                integration_http_method="POST", uri=route["function"].function.invoke_arn,
                cache_key_parameters=cache_key or None,
                cache_namespace=resource_id if cache_key else None, opts=child)
            aws.lambda_.Permission(
                f"{name}-{key}-invoke", action="lambda:InvokeFunction",
                function=route["function"].function.name, principal="apigateway.amazonaws.com",
                source_arn=self.rest_api.execution_arn.apply(
                    lambda arn, m=method, p=path: f"{arn}/*/{m}{re.sub(r'{[^}]+}', '*', p)}"),
                opts=child)
            deployment_deps += [self.methods[key], self.integrations[key]]

        deployment_deps += self._cors(name, routes, resources, origin, cors_headers, child)
        for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
            deployment_deps.append(aws.apigateway.Response(
                f"{name}-{response_type.lower().replace('_', '-')}", rest_api_id=api_id,
                response_type=response_type, response_parameters={
                    "gatewayresponse.header.Access-Control-Allow-Origin": f"'{origin}'",
                    "gatewayresponse.header.Access-Control-Allow-Headers": f"'{cors_headers}'"},
                opts=child))

        route_table = json.dumps(sorted(
            [{k: v for k, v in r.items() if k != "function"} | {"function": r["function"]._name}
             for r in routes], key=lambda r: (r["path"], r["method"])), sort_keys=True, default=str)
        self.deployment = aws.apigateway.Deployment(
            f"{name}-deployment", rest_api=api_id,
            triggers={"routes": hashlib.sha256(route_table.encode()).hexdigest()},
            opts=pulumi.ResourceOptions(parent=self, depends_on=deployment_deps))

        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs",
            retention_in_days=defaults.check_log_retention(args.get("log_retention_days", 30)), opts=child)
        stage_deps = [args["cloudwatch_account"]] if args.get("cloudwatch_account") else []
        self.stage = aws.apigateway.Stage(
            f"{name}-stage", rest_api=api_id, deployment=self.deployment.id, stage_name=stage_name,
            xray_tracing_enabled=True,
            cache_cluster_enabled=bool(cache), cache_cluster_size=cache["size_gb"] if cache else None,
            access_log_settings={"destination_arn": access_logs.arn, "format": ACCESS_LOG_FORMAT},
            opts=pulumi.ResourceOptions(parent=self, depends_on=stage_deps))

        throttle = {"throttling_rate_limit": args.get("throttle_rate_limit", 50),
                    "throttling_burst_limit": args.get("throttle_burst_limit", 100)}
        operations = {"metrics_enabled": True, "logging_level": "ERROR", "data_trace_enabled": False}
        aws.apigateway.MethodSettings(
            f"{name}-all-methods", rest_api=api_id, stage_name=self.stage.stage_name, method_path="*/*",
            settings={**operations, **throttle, "caching_enabled": False, "cache_data_encrypted": bool(cache)},
            opts=child)
        for route in routes:
            cached = bool(route.get("cached") and cache)
            if not cached and not route.get("throttle"):
                continue
            # A method override replaces the stage defaults for that method, so it restates them.
            route_throttle = throttle
            if route.get("throttle"):
                route_throttle = {"throttling_rate_limit": route["throttle"]["rate_limit"],
                                  "throttling_burst_limit": route["throttle"]["burst_limit"]}
            cache_settings = {"caching_enabled": False}
            if cached:
                cache_settings = {"caching_enabled": True, "cache_ttl_in_seconds": cache["ttl_seconds"],
                                  "cache_data_encrypted": True,
                                  "require_authorization_for_cache_control": True,
                                  "unauthorized_cache_control_header_strategy": "FAIL_WITH_403"}
            aws.apigateway.MethodSettings(
                f"{name}-{_route_key(route)}-settings", rest_api=api_id, stage_name=self.stage.stage_name,
                method_path=method_path(route["path"], route["method"]),
                settings={**operations, **route_throttle, **cache_settings}, opts=child)

        self.url = self.stage.invoke_url
        self.execution_arn = self.rest_api.execution_arn
        self.stage_arn_prefix = pulumi.Output.concat(self.rest_api.execution_arn, "/", self.stage.stage_name)
        self.domain = pulumi.Output.concat(self.rest_api.id, ".execute-api.",
                                           aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region,
                                           ".amazonaws.com")
        self.register_outputs({"url": self.url, "execution_arn": self.execution_arn})

    def _resources(self, name: str, routes: list[ApiRoute],
                   child: pulumi.ResourceOptions) -> dict[str, aws.apigateway.Resource]:
        resources: dict[str, aws.apigateway.Resource] = {}
        for route in sorted(routes, key=lambda r: r["path"]):
            parent_id: pulumi.Input[str] = self.rest_api.root_resource_id
            current = ""
            for segment in route["path"].strip("/").split("/"):
                current += "/" + segment
                if current not in resources:
                    resources[current] = aws.apigateway.Resource(
                        f"{name}-{_slug(current)}", rest_api=self.rest_api.id,
                        parent_id=parent_id, path_part=segment, opts=child)
                parent_id = resources[current].id
        return resources

    def _cors(self, name: str, routes: list[ApiRoute], resources: dict[str, aws.apigateway.Resource],
              origin: str, cors_headers: str, child: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """OPTIONS on every routed path: a MOCK answer, never authorized, so preflight works."""
        created: list[pulumi.Resource] = []
        for path in sorted({r["path"] for r in routes}):
            allowed = ",".join(sorted({r["method"] for r in routes if r["path"] == path} | {"OPTIONS"}))
            key = f"OPTIONS-{_slug(path)}"
            resource_id = resources[path].id
            headers = {
                "method.response.header.Access-Control-Allow-Origin": f"'{origin}'",
                "method.response.header.Access-Control-Allow-Methods": f"'{allowed}'",
                "method.response.header.Access-Control-Allow-Headers": f"'{cors_headers}'",
                "method.response.header.Access-Control-Max-Age": "'600'",
            }
            method = aws.apigateway.Method(
                f"{name}-{key}", rest_api=self.rest_api.id, resource_id=resource_id,
                http_method="OPTIONS", authorization="NONE", opts=child)
            integration = aws.apigateway.Integration(
                f"{name}-{key}-integration", rest_api=self.rest_api.id, resource_id=resource_id,
                http_method=method.http_method, type="MOCK",
                request_templates={"application/json": '{"statusCode": 200}'}, opts=child)
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
    """
    invoke = pulumi.InvokeOutputOptions(parent=opts.parent if opts else None,
                                        provider=opts.provider if opts else None)
    region = aws.get_region_output(opts=invoke).region
    account = aws.get_caller_identity_output(opts=invoke).account_id
    log_groups = pulumi.Output.concat("arn:aws:logs:", region, ":", account, ":log-group:*")
    role = aws.iam.Role(f"{name}-role", assume_role_policy=service_trust_policy("apigateway.amazonaws.com"),
                        opts=opts)
    policy = aws.iam.RolePolicy(f"{name}-push-logs", role=role.id, policy=policy_document([allow(
        ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams",
         "logs:FilterLogEvents", "logs:GetLogEvents", "logs:PutLogEvents"], [log_groups], sid="PushApiLogs")]),
        opts=opts)
    return aws.apigateway.Account(name, cloudwatch_role_arn=role.arn,
                                  opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy])))
