"""Usage assumptions the cost estimate prices: per component type and environment, overridable per stack.

The recorded resources say what is deployed (a DAX cluster of 3 dax.t3.small nodes, a 0.5 GB API
cache, 3 KMS keys); these assumptions say how much it is used (requests a month, GB stored, GB
served). They belong to the plan, not to the components (components read no config), so they live
here, with one override file per stack at the repository root:

    # usage.prod.yaml
    usage:
      todo:                      # a component's name, or its type (ServerlessRestApi) for every one
        api_requests: 5000000
        functions:
          handler: {invocations: 5000000, duration_ms: 60}

Every component type has an entry in PROFILES (dev and prod); a type without one is reported as
uncosted, and the completeness test fails. Building blocks (LambdaFunction, SecureBucket, ...)
are priced with the usage of the component they are part of; their own profile applies only when
a stack creates one directly.

Drivers (all per month unless said otherwise; `fragment` = part of a resource's logical name
after the component's name, "*" for any):
    api_requests                       requests to each REST API
    functions.<fragment>               {invocations, duration_ms} per Lambda function
    tables.<fragment>                  {reads, writes, storage_gb} per table (request units, GB)
    buckets.<fragment>                 {storage_gb, puts, gets} per S3 bucket
    queues.<fragment>                  SQS requests per queue (a message is ~3: send, receive, delete)
    topic_publishes                    SNS publishes
    events, archive_gb                 EventBridge custom events put, GB archived
    emails                             SES emails sent
    cdn                                {gb_out, requests, cache_hit_ratio} per distribution
    offload                            {release_size_gb, downloads_per_month, cache_hit_ratio}
                                       (UpdateOffloadCdn: components/update_offload_cost.py)
    waf_requests                       requests the web ACL inspects (default: cdn.requests)
    monthly_active_users               Cognito MAUs per user pool
    kms_requests                       KMS API requests, shared by the component's keys
    logs_gb                            CloudWatch Logs ingested, shared by the component's log groups
    alb_lcus                           average LCUs per load balancer, beyond the hourly charge
    nat_gb, efs_gb, ebs_gb             NAT GB processed; EFS GB stored; root volume GB per instance
    kinesis_put_units, firehose_gb, athena_tb_scanned, secrets_api_calls, rds_storage_gb
    analysed_images                    images a function sends to Rekognition (moderation + labels: 2 calls
                                       each); priced only where the function has analysis on
    invalidation_paths.<fragment>      CloudFront invalidation paths a Lambda function requests (the stack's
                                       first 1,000 a month are free)
    access_logs_gb                     GB of CloudFront standard logs (v2) delivered to S3, shared by the
                                       component's log deliveries (a log line is ~0.5 KB: ~0.5 GB per 1M requests)
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Optional

import yaml

PACKAGE = "serverless-blueprints:index:"
ENVIRONMENTS = ("dev", "prod")

DRIVERS = {
    "api_requests": "number", "functions": "by fragment: {invocations, duration_ms}",
    "tables": "by fragment: {reads, writes, storage_gb}", "buckets": "by fragment: {storage_gb, puts, gets}",
    "queues": "by fragment: requests", "topic_publishes": "number", "events": "number", "archive_gb": "number",
    "emails": "number", "cdn": "{gb_out, requests, cache_hit_ratio}",
    "offload": "{release_size_gb, downloads_per_month, cache_hit_ratio}", "waf_requests": "number",
    "monthly_active_users": "number", "kms_requests": "number", "logs_gb": "number", "alb_lcus": "number",
    "nat_gb": "number", "efs_gb": "number", "ebs_gb": "number", "kinesis_put_units": "number",
    "firehose_gb": "number", "athena_tb_scanned": "number", "secrets_api_calls": "number",
    "rds_storage_gb": "number", "analysed_images": "number", "invalidation_paths": "by fragment: paths",
    "access_logs_gb": "number",
}
NESTED_KEYS = {"functions": ("invocations", "duration_ms"), "tables": ("reads", "writes", "storage_gb"),
               "buckets": ("storage_gb", "puts", "gets"), "cdn": ("gb_out", "requests", "cache_hit_ratio"),
               "offload": ("release_size_gb", "downloads_per_month", "cache_hit_ratio")}


class UsageError(ValueError):
    """An override names an unknown driver or gives a value that isn't a number >= 0."""


def _both(dev: dict, prod: dict) -> dict:
    return {"dev": dev, "prod": prod}


# A month is ~2.6M seconds: 1 request/s sustained is ~2.6M requests.
PROFILES: dict[str, dict[str, dict]] = {
    PACKAGE + "ServerlessRestApi": _both(
        {"api_requests": 100_000, "functions": {"*": {"invocations": 100_000, "duration_ms": 80}},
         "tables": {"*": {"reads": 300_000, "writes": 50_000, "storage_gb": 1}},
         "buckets": {"*": {"storage_gb": 5, "puts": 10_000, "gets": 50_000}},
         "monthly_active_users": 50, "logs_gb": 1},
        {"api_requests": 2_000_000, "functions": {"*": {"invocations": 2_000_000, "duration_ms": 60}},
         "tables": {"*": {"reads": 4_000_000, "writes": 600_000, "storage_gb": 20}},
         "buckets": {"*": {"storage_gb": 200, "puts": 200_000, "gets": 1_000_000}},
         "monthly_active_users": 5_000, "logs_gb": 10}),
    PACKAGE + "OutboxRelay": _both(
        {"api_requests": 20_000,
         "functions": {"order-service": {"invocations": 20_000, "duration_ms": 120},
                       "relay": {"invocations": 10_000, "duration_ms": 200},
                       "shipping": {"invocations": 10_000, "duration_ms": 100}},
         "tables": {"orders": {"reads": 40_000, "writes": 40_000, "storage_gb": 1},
                    "outbox": {"reads": 20_000, "writes": 40_000, "storage_gb": 0.1},
                    "*": {"reads": 20_000, "writes": 20_000, "storage_gb": 0.1}},
         "queues": {"shipping": 60_000, "*": 0}, "events": 20_000, "archive_gb": 0.02,
         "monthly_active_users": 20, "logs_gb": 1},
        {"api_requests": 1_000_000,
         "functions": {"order-service": {"invocations": 1_000_000, "duration_ms": 100},
                       "relay": {"invocations": 300_000, "duration_ms": 150},
                       "shipping": {"invocations": 300_000, "duration_ms": 80}},
         "tables": {"orders": {"reads": 2_000_000, "writes": 2_000_000, "storage_gb": 30},
                    "outbox": {"reads": 1_000_000, "writes": 2_000_000, "storage_gb": 2},
                    "*": {"reads": 1_000_000, "writes": 1_000_000, "storage_gb": 2}},
         "queues": {"shipping": 3_000_000, "*": 0}, "events": 1_000_000, "archive_gb": 1,
         "monthly_active_users": 2_000, "logs_gb": 8}),
    PACKAGE + "UpdateOffloadCdn": _both(
        {"offload": {"release_size_gb": 0.2, "downloads_per_month": 1_000, "cache_hit_ratio": 0.9},
         "cdn": {"requests": 50_000}, "efs_gb": 1, "logs_gb": 0.1, "buckets": {"*": {"storage_gb": 1}},
         "access_logs_gb": 0.03},
        {"offload": {"release_size_gb": 0.2, "downloads_per_month": 100_000, "cache_hit_ratio": 0.95},
         "cdn": {"requests": 5_000_000}, "buckets": {"*": {"storage_gb": 50, "puts": 100_000}},
         "access_logs_gb": 2.5}),
    PACKAGE + "ThumbnailPipeline": _both(
        {"functions": {"*": {"invocations": 2_000, "duration_ms": 1_500}},
         "buckets": {"uploads": {"storage_gb": 2, "puts": 2_000, "gets": 2_000},
                     "thumbnails": {"storage_gb": 0.5, "puts": 6_000, "gets": 20_000}},
         "queues": {"*": 6_000}, "topic_publishes": 0, "logs_gb": 0.2, "analysed_images": 2_000},
        {"functions": {"*": {"invocations": 200_000, "duration_ms": 1_200}},
         "buckets": {"uploads": {"storage_gb": 500, "puts": 200_000, "gets": 200_000},
                     "thumbnails": {"storage_gb": 100, "puts": 600_000, "gets": 5_000_000}},
         "queues": {"queue-dlq": 0, "*": 600_000}, "topic_publishes": 200_000, "logs_gb": 5,
         "analysed_images": 200_000}),
    PACKAGE + "GlobalTable": _both(
        {"tables": {"*": {"reads": 500_000, "writes": 20_000, "storage_gb": 0.5}}, "kms_requests": 10_000},
        {"tables": {"*": {"reads": 20_000_000, "writes": 500_000, "storage_gb": 5}}, "kms_requests": 1_000_000}),
    PACKAGE + "BlogApi": _both(
        {"api_requests": 200_000, "functions": {"*": {"invocations": 200_000, "duration_ms": 50}}, "logs_gb": 0.5},
        {"api_requests": 10_000_000, "functions": {"*": {"invocations": 3_000_000, "duration_ms": 40}},
         "logs_gb": 10}),
    # Posts are rarely written: a few authors, tens of writes a month. Each write that readers see asks for one
    # CloudFront invalidation of /api/posts* and the post's pages (2-4 paths; 4 with the site's two languages):
    # with the site's deploys, inside the 1,000 free paths.
    PACKAGE + "BlogAuthoring": _both(
        {"api_requests": 500, "functions": {"*": {"invocations": 500, "duration_ms": 120}},
         "monthly_active_users": 2, "logs_gb": 0.01, "invalidation_paths": {"*": 200}},
        {"api_requests": 5_000, "functions": {"*": {"invocations": 5_000, "duration_ms": 100}},
         "monthly_active_users": 10, "logs_gb": 0.1, "invalidation_paths": {"*": 400}}),
    PACKAGE + "WelcomeEmail": _both(
        {"functions": {"*": {"invocations": 200, "duration_ms": 300}}, "emails": 200,
         "tables": {"*": {"reads": 400, "writes": 400, "storage_gb": 0.01}}, "logs_gb": 0.05},
        {"functions": {"*": {"invocations": 20_000, "duration_ms": 250}}, "emails": 20_000,
         "tables": {"*": {"reads": 40_000, "writes": 40_000, "storage_gb": 0.1}}, "logs_gb": 0.5}),
    # The invalidator runs once per `pulumi up` (dev deploys often, prod a few times a week); each run that
    # finds changed pages asks for ~2-4 paths per page, far inside CloudFront's 1,000 free paths a month.
    PACKAGE + "StaticSite": _both(
        {"cdn": {"gb_out": 5, "requests": 200_000, "cache_hit_ratio": 0.9},
         "buckets": {"content": {"storage_gb": 0.1, "puts": 100, "gets": 20_000},
                     "logs": {"storage_gb": 1, "puts": 10_000}},
         "functions": {"invalidator": {"invocations": 100, "duration_ms": 400}},
         "invalidation_paths": {"invalidator": 150}, "access_logs_gb": 0.1},
        {"cdn": {"gb_out": 500, "requests": 20_000_000, "cache_hit_ratio": 0.95},
         "buckets": {"content": {"storage_gb": 1, "puts": 1_000, "gets": 1_000_000},
                     "logs": {"storage_gb": 30, "puts": 500_000}},
         "functions": {"invalidator": {"invocations": 20, "duration_ms": 400}},
         "invalidation_paths": {"invalidator": 60}, "access_logs_gb": 10}),
    PACKAGE + "PaidContent": _both(
        {"api_requests": 50_000,
         "functions": {"signer": {"invocations": 40_000, "duration_ms": 40},
                       "registration": {"invocations": 10_000, "duration_ms": 60},
                       "keys": {"invocations": 2, "duration_ms": 2_000}},
         "tables": {"*": {"reads": 50_000, "writes": 1_000, "storage_gb": 0.01}},
         "cdn": {"gb_out": 20, "requests": 200_000, "cache_hit_ratio": 0.9},
         "buckets": {"content": {"storage_gb": 5, "puts": 500, "gets": 20_000},
                     "logs": {"storage_gb": 1, "puts": 10_000}},
         "monthly_active_users": 50, "secrets_api_calls": 2_000, "kms_requests": 2_000, "logs_gb": 0.5,
         "access_logs_gb": 0.1},
        {"api_requests": 3_000_000,
         "functions": {"signer": {"invocations": 2_500_000, "duration_ms": 30},
                       "registration": {"invocations": 500_000, "duration_ms": 50},
                       "keys": {"invocations": 2, "duration_ms": 2_000}},
         "tables": {"*": {"reads": 3_000_000, "writes": 20_000, "storage_gb": 0.5}},
         "cdn": {"gb_out": 5_000, "requests": 30_000_000, "cache_hit_ratio": 0.95},
         "buckets": {"content": {"storage_gb": 500, "puts": 5_000, "gets": 1_500_000},
                     "logs": {"storage_gb": 50, "puts": 1_000_000}},
         "monthly_active_users": 10_000, "secrets_api_calls": 200_000, "kms_requests": 400_000, "logs_gb": 10,
         "access_logs_gb": 15}),
    PACKAGE + "IngestionPipeline": _both(
        {"functions": {"transform": {"invocations": 50_000, "duration_ms": 150},
                       "reports": {"invocations": 2_000, "duration_ms": 3_000}},
         "buckets": {"ingestion": {"storage_gb": 5, "puts": 50_000, "gets": 20_000},
                     "reporting": {"storage_gb": 0.5, "puts": 5_000, "gets": 5_000},
                     "results": {"storage_gb": 0.5, "puts": 5_000, "gets": 5_000}},
         "queues": {"*": 10_000}, "kinesis_put_units": 10_000_000, "firehose_gb": 5, "athena_tb_scanned": 0.01,
         "kms_requests": 100_000, "logs_gb": 1},
        {"functions": {"transform": {"invocations": 3_000_000, "duration_ms": 120},
                       "reports": {"invocations": 50_000, "duration_ms": 3_000}},
         "buckets": {"ingestion": {"storage_gb": 2_000, "puts": 1_000_000, "gets": 500_000},
                     "reporting": {"storage_gb": 50, "puts": 100_000, "gets": 200_000},
                     "results": {"storage_gb": 20, "puts": 100_000, "gets": 100_000}},
         "queues": {"*": 300_000}, "kinesis_put_units": 1_000_000_000, "firehose_gb": 2_000,
         "athena_tb_scanned": 1, "kms_requests": 10_000_000, "logs_gb": 20}),
    # The shop (issue 15). Its fixed costs dominate: ALB hours, Fargate tasks, cache nodes, the database, one
    # interface endpoint per AZ each, and in prod one NAT gateway per AZ (prod's nat_gb: instance updates and
    # anything without an endpoint). Dev has no NAT: every AWS call goes through the endpoints.
    PACKAGE + "ServiceNetwork": _both({"nat_gb": 0, "logs_gb": 0.5}, {"nat_gb": 50, "logs_gb": 10}),
    PACKAGE + "ServiceDomain": _both({}, {}),
    PACKAGE + "CatalogService": _both(
        {"tables": {"*": {"reads": 500_000, "writes": 20_000, "storage_gb": 0.5}}, "alb_lcus": 0.1,
         "buckets": {"*": {"storage_gb": 1, "puts": 10_000}}, "logs_gb": 0.5},
        {"tables": {"*": {"reads": 30_000_000, "writes": 200_000, "storage_gb": 2}}, "alb_lcus": 1,
         "buckets": {"*": {"storage_gb": 30, "puts": 500_000}}, "logs_gb": 10}),
    # Most cart requests are served from the cache: catalog sees the misses and the price changes.
    PACKAGE + "CartService": _both(
        {"api_requests": 100_000, "functions": {"*": {"invocations": 110_000, "duration_ms": 30}},
         "queues": {"*": 0}, "secrets_api_calls": 1_000, "logs_gb": 0.5},
        {"api_requests": 5_000_000, "functions": {"*": {"invocations": 5_200_000, "duration_ms": 20}},
         "queues": {"*": 0}, "secrets_api_calls": 50_000, "logs_gb": 10}),
    PACKAGE + "CheckoutService": _both(
        {"alb_lcus": 0.1, "buckets": {"*": {"storage_gb": 1, "puts": 5_000, "gets": 1_000}}, "logs_gb": 0.5},
        {"alb_lcus": 1, "buckets": {"*": {"storage_gb": 20, "puts": 300_000, "gets": 20_000}}, "logs_gb": 5}),
    # Polled by uptime checks: every answer reads the alarms' states (DescribeAlarms, within CloudWatch's free
    # API requests at these volumes).
    PACKAGE + "ShopHealth": _both(
        {"api_requests": 10_000, "functions": {"*": {"invocations": 10_000, "duration_ms": 60}}, "logs_gb": 0.01},
        {"api_requests": 260_000, "functions": {"*": {"invocations": 260_000, "duration_ms": 50}}, "logs_gb": 0.2}),
    # Building blocks: priced with their parent's usage; these apply when a stack creates one directly.
    PACKAGE + "LambdaFunction": _both({}, {}),
    PACKAGE + "LambdaRestApi": _both({}, {}),
    PACKAGE + "SecureBucket": _both({}, {}),
    PACKAGE + "SecureQueue": _both({}, {}),
    # CodeDeploy to Lambda is free; the release function runs once per deploy (its parent's usage covers the rest).
    PACKAGE + "LambdaCanary": _both({}, {}),
    # Alarms and dashboards are priced per resource (CloudWatch); the topic carries their notifications.
    PACKAGE + "AlarmTopic": _both({"topic_publishes": 200, "kms_requests": 400},
                                  {"topic_publishes": 1_000, "kms_requests": 2_000}),
}


def override_path(stack: str, project_dir: Path) -> Path:
    return project_dir / f"usage.{stack}.yaml"


def _check(where: str, key: str, value: Any) -> None:
    if key not in DRIVERS:
        raise UsageError(f"{where}: unknown usage driver {key!r}; allowed: {', '.join(sorted(DRIVERS))}")
    if key in NESTED_KEYS:
        entries = value.values() if key in ("functions", "tables", "buckets") else [value]
        if not isinstance(value, dict) or not all(isinstance(e, dict) for e in entries):
            raise UsageError(f"{where}.{key}: expected {DRIVERS[key]}, got {value!r}")
        for entry in entries:
            for name, number in entry.items():
                if name not in NESTED_KEYS[key]:
                    raise UsageError(f"{where}.{key}: unknown field {name!r}; allowed: "
                                     f"{', '.join(NESTED_KEYS[key])}")
                _number(f"{where}.{key}.{name}", number)
    elif key in ("queues", "invalidation_paths"):
        if not isinstance(value, dict):
            raise UsageError(f"{where}.{key}: expected {DRIVERS[key]}, got {value!r}")
        for fragment, number in value.items():
            _number(f"{where}.{key}.{fragment}", number)
    else:
        _number(f"{where}.{key}", value)


def _number(where: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise UsageError(f"{where}: expected a number >= 0, got {value!r}")


def _merge(base: dict, over: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in over.items():
        merged[key] = _merge(merged[key], value) if isinstance(value, dict) and isinstance(
            merged.get(key), dict) else copy.deepcopy(value)
    return merged


def read_overrides(stack: str, project_dir: Path) -> dict[str, dict]:
    """The `usage:` map of usage.<stack>.yaml ({} without the file), every driver checked."""
    path = override_path(stack, project_dir)
    if not path.is_file():
        return {}
    usage = (yaml.safe_load(path.read_text()) or {}).get("usage") or {}
    if not isinstance(usage, dict):
        raise UsageError(f"{path.name}: `usage:` must map component names or types to drivers")
    for target, drivers in usage.items():
        if not isinstance(drivers, dict):
            raise UsageError(f"{path.name}: usage.{target} must map drivers to values")
        for key, value in drivers.items():
            _check(f"{path.name}: usage.{target}", key, value)
    return usage


def assumptions_for(component_type: str, component_name: str, environment: str,
                    overrides: Optional[dict[str, dict]] = None) -> Optional[dict]:
    """The merged assumptions of one component: type defaults, then overrides by type, then by name.

    None when the type has no profile (an uncosted component)."""
    profile = PROFILES.get(component_type)
    if profile is None:
        return None
    merged = copy.deepcopy(profile.get(environment) or profile["prod"])
    overrides = overrides or {}
    for key in (component_type.rsplit(":", 1)[-1], component_type, component_name):
        if key in overrides:
            merged = _merge(merged, overrides[key])
    return merged
