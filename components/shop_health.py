"""ShopHealth: GET /v1/health for the whole shop, from the alarms its services already have.

    client ──GET /v1/health──▶ API Gateway REST (REGIONAL, public, stage v1, 5 rps)
                                   │ Lambda proxy, through the alias `live` (canary)
                                   ▼
                               Lambda shop_health ──DescribeAlarms (state ALARM, name prefix <service>-)──▶ CloudWatch

A service is `ok` while none of its alarms fires, else `degraded`; the answer is 200 when every service is ok,
503 otherwise, so a load balancer, Route 53 or an uptime checker can act on the status alone. The body names
each service and how many of its alarms fire, never which ones (the endpoint is public).

This component is the worked example of docs/new-service.md: it was added by following that page.
"""
import re
from dataclasses import dataclass
from typing import Any, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, monitoring
from .args import ArgsReader
from .canary import CanaryArgs, ResolvedCanary, read_canary
from .iam import allow
from .lambda_function import LambdaFunction
from .rest_api import ApiRoute, ApiThrottle, LambdaRestApi, ResolvedThrottle, read_throttle

ROUTES = (("GET", "/health"),)
"""The API's route table; docs/openapi/shop-health.json is built from it."""
_SERVICE = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


class ShopHealthArgs(TypedDict, total=False):
    services: Required[Sequence[str]]
    """The services reported on; a service's alarms are those named `<service>-...` (e.g. catalog, cart)."""
    throttle: ApiThrottle
    """Stage-wide throttling (default 5 requests per second, burst 10)."""
    log_retention_days: int
    """Retention of the function's and the stage's logs (default 30)."""
    cloudwatch_account: Optional[aws.apigateway.Account]
    """The region's API Gateway logging settings, if this stack manages them."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""
    canary: Optional[CanaryArgs]
    """Release the function through the alias `live` with CodeDeploy; left out, a deploy replaces it at once."""


ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LAMBDA, monitoring.API)
DEFAULTS: dict[str, Any] = {"throttle": {"rate_limit": 5, "burst_limit": 10}, "log_retention_days": 30}
"""What you get without asking: 5 rps, a month of logs, no canary."""


@dataclass(frozen=True)
class ResolvedShopHealth:
    services: list[str]
    throttle: ResolvedThrottle
    log_retention_days: int
    cloudwatch_account: Optional[pulumi.Resource]
    alarms: Optional[monitoring.ResolvedAlarms]
    canary: Optional[ResolvedCanary]


def resolve_args(name: str, args: Optional[ShopHealthArgs]) -> ResolvedShopHealth:
    """The caller's args over DEFAULTS, each checked; raises ArgsError naming the arg."""
    r = ArgsReader("ShopHealth", name, args, ShopHealthArgs, DEFAULTS)
    return ResolvedShopHealth(
        services=r.strings("services", check=_SERVICE.match, min_items=1, max_items=20, distinct=True,
                           expected="a list of service names such as catalog (lower case, digits, -)"),
        throttle=read_throttle(r, "throttle", DEFAULTS["throttle"]),
        log_retention_days=defaults.read_log_retention(r),
        cloudwatch_account=r.input("cloudwatch_account"),
        alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS),
        canary=read_canary(r))


class ShopHealth(pulumi.ComponentResource):
    url: pulumi.Output[str]
    """Invoke URL of the stage (append /health)."""
    function_name: pulumi.Output[str]
    """The health function."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    def __init__(self, name: str, args: ShopHealthArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:ShopHealth", name, None, opts)
        s = resolve_args(name, args)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)

        function = self._function(s)
        api = LambdaRestApi(f"{name}-api", {
            "routes": [ApiRoute(method=m, path=p, function=function) for m, p in ROUTES], "public": True,
            "throttle_rate_limit": s.throttle.rate_limit, "throttle_burst_limit": s.throttle.burst_limit,
            "log_retention_days": s.log_retention_days, "cloudwatch_account": s.cloudwatch_account,
        }, opts=self._child)
        t = s.alarms.thresholds if s.alarms else ALARM_THRESHOLDS
        watched = monitoring.watch(name, s.alarms, [*function.watches(t), *api.watches(t)], parent=self,
                                   created=function.canary.watches if function.canary else ())

        self.url, self.function_name = api.url, function.name
        self.dashboard_name = watched.dashboard_name if watched else None
        self.register_outputs({"url": self.url, "function_name": self.function_name})

    def _function(self, s: ResolvedShopHealth) -> LambdaFunction:
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        return LambdaFunction(f"{self._name}-handler", {
            "code": "shop_health", "memory_mb": 128, "timeout_seconds": 5, "invoked_by_api_gateway": True,
            "log_retention_days": s.log_retention_days,
            "environment": {"SERVICES": ",".join(s.services)},
            # Only the services' own alarms: `<service>-*` in this account and region.
            "policy_statements": [allow(["cloudwatch:DescribeAlarms"], [
                pulumi.Output.concat("arn:aws:cloudwatch:", region, ":", account, ":alarm:", service, "-*")
                for service in s.services], sid="ReadTheServicesAlarms")],
            "canary": s.canary.args(s.alarms.topic_arn if s.alarms else None) if s.canary else None,
        }, opts=self._child)
