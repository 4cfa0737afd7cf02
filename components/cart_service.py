"""CartService: the shop's carts, an API Gateway REST API on Lambda, carts kept in ElastiCache (Valkey).

    checkout instances ── HTTPS + SigV4 (AWS_IAM) ──▶ API Gateway REST (LambdaRestApi): REGIONAL with an
    (their role may invoke only these routes)          optional custom domain cart.<domain>, or PRIVATE
                                                       through the VPC's execute-api endpoint (vpc_endpoint_ids)
                                                            │ proxy integration
                                                            ▼
    catalog table stream ── MODIFY, REMOVE ──▶ Lambda cart_api (private subnets) ── HTTPS ──▶ catalog
    (mapping: bisect, 3 retries, partial                    │ 6379 only, TLS + AUTH token      (CATALOG_URL)
     batch failures; then the on-failure queue)             ▼
                                 ElastiCache Valkey replication group (isolated subnets): TLS in transit
                                 (required), encrypted at rest, parameter group; Multi-AZ + automatic
                                 failover + daily snapshots in prod
    AUTH token: generated, kept in Secrets Manager; the function gets the secret's ARN, never the token.

Why IAM, not Cognito, on this API: its caller is another service, not a person. With AWS_IAM the
checkout instances sign requests with the role credentials they already have (no client secret to
store and rotate, no token endpoint on the request path), access is granted per route in the caller's
role, and API Gateway logs the calling role. A Cognito authorizer on LambdaRestApi accepts ID tokens of
users; a machine client would need a pool user with a stored password.

Why PRIVATE when the VPC has an execute-api endpoint: its private DNS sends every execute-api name in the
VPC to the endpoint, which serves PRIVATE APIs only, so a REGIONAL cart would be out of checkout's reach
there; and PRIVATE keeps checkout -> cart inside the VPC without a NAT.
"""
import json
import re
from dataclasses import dataclass
from typing import Any, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from . import defaults, monitoring
from .args import ArgsError, ArgsReader
from .canary import CanaryArgs, ResolvedCanary, read_canary
from .iam import allow
from .lambda_function import LambdaFunction
from .rest_api import ApiRoute, LambdaRestApi, LambdaRestApiArgs
from .secure_queue import SecureQueue
from .service_domain import ServiceDomainRef, alias_records, read_domain_ref
from .service_network import https_egress, port_between

REDIS_PORT = 6379
ENGINES = {"valkey": ("8.0", "valkey8"), "redis": ("7.1", "redis7")}
"""Engine -> (version, parameter group family)."""
CACHE_ID_LIMIT = 40
AUTONAME_SUFFIX = 8
ROUTES = (("POST", "/carts"), ("GET", "/carts/{cartId}"), ("DELETE", "/carts/{cartId}"),
          ("POST", "/carts/{cartId}/items"), ("PUT", "/carts/{cartId}/items/{sku}"),
          ("DELETE", "/carts/{cartId}/items/{sku}"), ("POST", "/quotes"))
"""The routes cart_api.handler serves; API Gateway answers anything else 403 before the function runs."""
STREAM_EVENT_NAMES = ("MODIFY", "REMOVE")
"""Catalog stream records the function gets: a changed price or a removed product. An INSERT is filtered out:
a new SKU can't be in the price cache (misses aren't cached), so its first lookup fills it."""
STREAM_BATCH_SIZE = 100
_NODE_TYPE = re.compile(r"cache\.[a-z0-9]+\.[a-z0-9]+")
_CACHE_ID = re.compile(r"[a-z](?!.*--)[a-z0-9-]*")
_STREAM_ARN = re.compile(r"arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[A-Za-z0-9_.-]+/stream/.+")


def cache_id_problem(logical: str) -> Optional[str]:
    """Why an ElastiCache replication group's auto-name (logical + 8) would be refused, or None."""
    if len(logical) + AUTONAME_SUFFIX > CACHE_ID_LIMIT:
        return (f"{logical!r} is {len(logical)} characters: ElastiCache ids are at most {CACHE_ID_LIMIT} and "
                f"auto-naming adds {AUTONAME_SUFFIX}; shorten the component name")
    if not _CACHE_ID.fullmatch(logical):
        return f"{logical!r}: ElastiCache ids take lower-case letters, digits and single hyphens, a letter first"
    return None


class CartServiceArgs(TypedDict, total=False):
    vpc_id: Required[pulumi.Input[str]]
    """The VPC (a ServiceNetwork's vpc_id, or your own)."""
    private_subnet_ids: Required[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Subnets of the function's network interfaces."""
    cache_subnet_ids: Required[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Subnets of the cache nodes (isolated: no route out)."""
    domain: Optional[ServiceDomainRef]
    """Custom domain (REGIONAL API Gateway domain name); None serves the execute-api URL only."""
    vpc_endpoint_ids: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """execute-api interface endpoints (ServiceNetwork's execute_api_endpoint_ids): given, the API is PRIVATE
    and reachable only through them (no custom domain); absent, REGIONAL."""
    catalog_url: Required[pulumi.Input[str]]
    """Base URL of the catalog service the function calls (CATALOG_URL): CatalogService's url."""
    catalog_stream_arn: Required[pulumi.Input[str]]
    """The catalog table's stream (NEW_AND_OLD_IMAGES): CatalogService's table_stream_arn. Its price
    changes and removals refresh the function's price cache."""
    engine: str
    """valkey (default) or redis."""
    node_type: str
    """Cache node type (default cache.t4g.micro)."""
    multi_az: bool
    """One replica in another AZ, automatic failover (prod; default false: a single node)."""
    snapshot_retention_days: int
    """Daily snapshots kept (0-35, default 0: none; prod: 7)."""
    memory_mb: int
    """Function memory (default 512)."""
    timeout_seconds: int
    """Function timeout, under API Gateway's 29 s (default 10)."""
    log_retention_days: int
    """Retention of the function's and the API's logs (default 30)."""
    cloudwatch_account: Optional[aws.apigateway.Account]
    """The region's API Gateway account settings the stage's logging needs."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""
    canary: Optional[CanaryArgs]
    """Release the function through the alias `live` with CodeDeploy, rolled back on its errors and p99 duration;
    left out, a deploy replaces its code at once."""


ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.API, monitoring.QUEUE,
                                         monitoring.STREAM_CONSUMER, monitoring.REDIS)
"""The function's errors and throttles, the stage's 5xx and p99 latency, the stream failures' first record, how
far it is behind catalog's stream, and each cache node's engine CPU and memory."""

DEFAULTS: dict[str, Any] = {
    "domain": None, "vpc_endpoint_ids": None, "engine": "valkey", "node_type": "cache.t4g.micro", "multi_az": False,
    "snapshot_retention_days": 0, "memory_mb": 512, "timeout_seconds": 10, "log_retention_days": 30,
    "cloudwatch_account": None, "alarms": None,
}


@dataclass(frozen=True)
class ResolvedCartService:
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Any
    cache_subnet_ids: Any
    domain: Optional[dict]
    vpc_endpoint_ids: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]]
    catalog_url: pulumi.Input[str]
    catalog_stream_arn: pulumi.Input[str]
    engine: str
    node_type: str
    multi_az: bool
    snapshot_retention_days: int
    memory_mb: int
    timeout_seconds: int
    log_retention_days: int
    cloudwatch_account: Optional[pulumi.Resource]
    alarms: Optional[monitoring.ResolvedAlarms] = None
    canary: Optional[ResolvedCanary] = None


def resolve_args(name: str, args: Optional[CartServiceArgs]) -> ResolvedCartService:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("CartService", name, args, CartServiceArgs, DEFAULTS)
    problem = cache_id_problem(f"{name}-cache")
    if problem:
        raise ArgsError(r.owner, (), problem)
    domain, endpoints = read_domain_ref(r), r.input("vpc_endpoint_ids")
    if domain is not None and endpoints is not None:
        r.fail("domain", "a PRIVATE API (vpc_endpoint_ids) is called by its execute-api URL inside the VPC; a "
                         "REGIONAL custom domain can't map it: leave out domain, or vpc_endpoint_ids")
    return ResolvedCartService(
        vpc_id=r.input("vpc_id"), private_subnet_ids=r.input("private_subnet_ids"),
        cache_subnet_ids=r.input("cache_subnet_ids"), domain=domain, vpc_endpoint_ids=endpoints,
        catalog_url=r.string("catalog_url", check=lambda u: u.startswith("https://"), expected="an https:// URL"),
        catalog_stream_arn=r.string("catalog_stream_arn", check=_STREAM_ARN.fullmatch,
                                    expected="a DynamoDB stream ARN (...:table/<name>/stream/<label>)"),
        engine=r.choice("engine", tuple(ENGINES)),
        node_type=r.string("node_type", check=_NODE_TYPE.fullmatch, expected="a node type such as cache.t4g.micro"),
        multi_az=r.flag("multi_az"),
        snapshot_retention_days=r.integer("snapshot_retention_days", low=0, high=35),
        memory_mb=r.integer("memory_mb", low=128, high=10240),
        timeout_seconds=r.integer("timeout_seconds", low=1, high=defaults.API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1),
        log_retention_days=defaults.read_log_retention(r), cloudwatch_account=r.input("cloudwatch_account"),
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS), canary=read_canary(r))


class CartService(pulumi.ComponentResource):
    """REST API (AWS_IAM) -> Lambda in the VPC -> Valkey with TLS, AUTH and (prod) Multi-AZ."""

    url: pulumi.Output[str]
    """https://<domain> with a domain, else the stage's invoke URL (PRIVATE: resolvable inside the VPC only)."""
    api_url: pulumi.Output[str]
    """The stage's execute-api invoke URL."""
    invoke_arn_prefix: pulumi.Output[str]
    """`<execution arn>/<stage>`: callers get execute-api:Invoke on `<this>/<METHOD>/<path>`."""
    invoke_arns: pulumi.Output[list[str]]
    """One execute-api ARN per route: what a caller's role needs to call the cart (CheckoutService's
    cart_invoke_arns)."""
    cache_endpoint: pulumi.Output[str]
    """Primary endpoint of the replication group (TLS, port 6379)."""
    cache_auth_secret_arn: pulumi.Output[str]
    """Secrets Manager secret holding the AUTH token."""
    function_name: pulumi.Output[str]
    """The cart_api function."""
    function_security_group_id: pulumi.Output[str]
    """The function's security group."""
    stream_failure_queue_arn: pulumi.Output[str]
    """Where catalog stream batches that still fail after the retries are recorded (alarmed)."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    def __init__(self, name: str, args: CartServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        s = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:CartService", name, None, opts)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)

        function_sg, cache_sg = self._security_groups(s)
        secret, token = self._auth_token()
        cache = self._cache(s, cache_sg, token)
        failure_queue = SecureQueue(f"{name}-stream-failed", {"dead_letter": False}, opts=self._child)
        function = self._function(s, function_sg, cache, secret, failure_queue)
        self._catalog_stream(s, function, failure_queue)
        api = self._api(s, function)
        url = self._custom_domain(s, api)
        t = s.alarms.thresholds if s.alarms else ALARM_THRESHOLDS
        nodes = [pulumi.Output.format("{0}-{1:03d}", cache.id, n) for n in range(1, 3 if s.multi_az else 2)]
        monitored = monitoring.watch(name, s.alarms, [
            *function.watches(t), *api.watches(t), failure_queue.depth_watch(t),
            monitoring.iterator_age_watch(function._name, function.name, t["iterator_age_seconds"]),
            *monitoring.redis_watches(cache._name, nodes, t)], parent=self,
            created=function.canary.watches if function.canary else ())
        self.dashboard_name = monitored.dashboard_name if monitored else None

        self.url = url if url is not None else api.url
        self.api_url = api.url
        self.invoke_arn_prefix = api.stage_arn_prefix
        self.invoke_arns = pulumi.Output.all(*[pulumi.Output.format(
            "{0}/{1}{2}", api.stage_arn_prefix, method, re.sub(r"{[^}]+}", "*", path)) for method, path in ROUTES])
        self.cache_endpoint = cache.primary_endpoint_address
        self.cache_auth_secret_arn = secret.arn
        self.function_name = function.name
        self.function_security_group_id = function_sg.id
        self.stream_failure_queue_arn = failure_queue.arn
        self.register_outputs({
            "url": self.url, "api_url": self.api_url, "invoke_arn_prefix": self.invoke_arn_prefix,
            "invoke_arns": self.invoke_arns,
            "cache_endpoint": self.cache_endpoint, "cache_auth_secret_arn": self.cache_auth_secret_arn,
            "function_name": self.function_name, "function_security_group_id": self.function_security_group_id,
            "stream_failure_queue_arn": self.stream_failure_queue_arn})

    def _security_groups(self, s: ResolvedCartService) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup]:
        """The function reaches the cache on 6379 only; nothing else reaches the cache at all."""
        function_sg = aws.ec2.SecurityGroup(f"{self._name}-fn-sg", vpc_id=s.vpc_id,
                                            description=f"{self._name} function: out only", opts=self._child)
        cache_sg = aws.ec2.SecurityGroup(f"{self._name}-cache-sg", vpc_id=s.vpc_id,
                                         description=f"{self._name} cache: Redis port from the function only",
                                         opts=self._child)
        port_between(f"{self._name}-fn-to-cache", self, function_sg.id, cache_sg.id, REDIS_PORT, "Valkey/Redis")
        https_egress(f"{self._name}-fn", self, function_sg.id)
        return function_sg, cache_sg

    def _auth_token(self) -> tuple[aws.secretsmanager.Secret, pulumi.Output[str]]:
        """A generated AUTH token, kept in Secrets Manager (the function reads it there at cold start)."""
        password = random.RandomPassword(f"{self._name}-cache-auth", length=64, special=False,
                                         opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["result"]))
        secret = aws.secretsmanager.Secret(f"{self._name}-cache-auth", description=f"{self._name}: cache AUTH token",
                                           recovery_window_in_days=7, opts=self._child)
        aws.secretsmanager.SecretVersion(f"{self._name}-cache-auth", secret_id=secret.id,
                                         secret_string=password.result, opts=self._child)
        return secret, pulumi.Output.secret(password.result)

    def _cache(self, s: ResolvedCartService, cache_sg: aws.ec2.SecurityGroup,
               token: pulumi.Output[str]) -> aws.elasticache.ReplicationGroup:
        version, family = ENGINES[s.engine]
        subnets = aws.elasticache.SubnetGroup(f"{self._name}-cache", subnet_ids=s.cache_subnet_ids,
                                              description=f"{self._name} cache: isolated subnets", opts=self._child)
        parameters = aws.elasticache.ParameterGroup(
            f"{self._name}-cache", family=family, description=f"{self._name} cache",
            parameters=[{"name": "maxmemory-policy", "value": "volatile-lru"}], opts=self._child)
        return aws.elasticache.ReplicationGroup(
            f"{self._name}-cache", description=f"{self._name}: carts", engine=s.engine, engine_version=version,
            node_type=s.node_type, port=REDIS_PORT, num_cache_clusters=2 if s.multi_az else 1,
            automatic_failover_enabled=s.multi_az, multi_az_enabled=s.multi_az,
            parameter_group_name=parameters.name, subnet_group_name=subnets.name, security_group_ids=[cache_sg.id],
            at_rest_encryption_enabled=True, transit_encryption_enabled=True, transit_encryption_mode="required",
            auth_token=token, auth_token_update_strategy="ROTATE",
            snapshot_retention_limit=s.snapshot_retention_days,
            snapshot_window="03:00-04:00" if s.snapshot_retention_days else None,
            maintenance_window="sun:04:30-sun:05:30", auto_minor_version_upgrade=True,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["auth_token"]))

    def _function(self, s: ResolvedCartService, function_sg: aws.ec2.SecurityGroup,
                  cache: aws.elasticache.ReplicationGroup, secret: aws.secretsmanager.Secret,
                  failure_queue: SecureQueue) -> LambdaFunction:
        # cart_api.settings reads these; the AUTH token itself only by the secret's ARN.
        environment: dict[str, pulumi.Input[str]] = {
            "REDIS_HOST": cache.primary_endpoint_address, "REDIS_PORT": str(REDIS_PORT),
            "REDIS_TLS": "true", "REDIS_AUTH_SECRET_ARN": secret.arn, "CATALOG_URL": s.catalog_url}
        streams = pulumi.Output.from_input(s.catalog_stream_arn).apply(
            lambda arn: arn.split("/stream/", 1)[0] + "/stream/*")
        return LambdaFunction(f"{self._name}-api", {
            "code": "cart_api", "memory_mb": s.memory_mb, "timeout_seconds": s.timeout_seconds,
            "invoked_by_api_gateway": True, "log_retention_days": s.log_retention_days, "environment": environment,
            "vpc_config": {"subnet_ids": s.private_subnet_ids, "security_group_ids": [function_sg.id]},
            "policy_statements": [
                allow(["secretsmanager:GetSecretValue"], [secret.arn], sid="CacheAuthToken"),
                allow(["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                      [s.catalog_stream_arn], sid="ReadCatalogStream"),
                # AWS's DynamoDB docs scope ListStreams to the table's streams as well.
                allow(["dynamodb:ListStreams"], [streams], sid="ListCatalogStreams"),
                # The mapping sends on-failure records with the function's role.
                allow(["sqs:SendMessage"], [failure_queue.arn], sid="StreamOnFailureDestination")],
            "canary": s.canary.args(s.alarms.topic_arn if s.alarms else None) if s.canary else None},
            opts=self._child)

    def _catalog_stream(self, s: ResolvedCartService, function: LambdaFunction, failure_queue: SecureQueue) -> None:
        """Price changes and removals from the catalog table to the function (cart_api.handler's stream branch)."""
        aws.lambda_.EventSourceMapping(
            f"{self._name}-catalog-stream", event_source_arn=s.catalog_stream_arn,
            function_name=function.function.arn,
            # TRIM_HORIZON: no gap between the function's deploy and the mapping; replays are harmless
            # (writes are a compare-and-set on the product's version).
            starting_position="TRIM_HORIZON",
            filter_criteria={"filters": [{"pattern": json.dumps({"eventName": list(STREAM_EVENT_NAMES)})}]},
            batch_size=STREAM_BATCH_SIZE,
            bisect_batch_on_function_error=True,
            maximum_retry_attempts=defaults.STREAM_MAXIMUM_RETRY_ATTEMPTS,
            maximum_record_age_in_seconds=defaults.STREAM_MAXIMUM_RECORD_AGE_SECONDS,
            destination_config={"on_failure": {"destination_arn": failure_queue.arn}},
            # cart_api.handler answers stream batches with process_partial_response.
            function_response_types=["ReportBatchItemFailures"],
            opts=self._child)

    def _api(self, s: ResolvedCartService, function: LambdaFunction) -> LambdaRestApi:
        routes: list[ApiRoute] = [{"method": method, "path": path, "function": function} for method, path in ROUTES]
        args: LambdaRestApiArgs = {"routes": routes, "authorization": "iam", "log_retention_days": s.log_retention_days}
        if s.vpc_endpoint_ids is not None:
            args["endpoint_type"], args["vpc_endpoint_ids"] = "PRIVATE", s.vpc_endpoint_ids
        if s.cloudwatch_account is not None:
            args["cloudwatch_account"] = s.cloudwatch_account
        return LambdaRestApi(f"{self._name}-rest", args, opts=self._child)

    def _custom_domain(self, s: ResolvedCartService, api: LambdaRestApi) -> Optional[pulumi.Output[str]]:
        if s.domain is None:
            return None
        domain = aws.apigateway.DomainName(
            f"{self._name}-domain", domain_name=s.domain["domain_name"],
            regional_certificate_arn=s.domain["certificate_arn"], endpoint_configuration={"types": "REGIONAL"},
            security_policy="TLS_1_2", opts=self._child)
        aws.apigateway.BasePathMapping(f"{self._name}-domain", domain_name=domain.domain_name,
                                       rest_api=api.rest_api.id, stage_name=api.stage.stage_name, opts=self._child)
        alias_records(self._name, self, s.domain, domain.regional_domain_name, domain.regional_zone_id)
        return pulumi.Output.format("https://{0}", s.domain["domain_name"])
