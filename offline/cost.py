"""A monthly cost estimate of a recorded stack: what is deployed, priced at stated usage.

    estimate = estimate_stack(snapshot)            # usage: offline/usage.py + usage.<stack>.yaml
    print(render_cost_table(estimate))

What is counted comes from the recorded resources (KMS keys, DAX node type × nodes, API cache
size, ALBs, NAT gateways, instance types, alarms, a table's PITR and replicas, a distribution's
price class and Origin Shield). How much each is used comes from offline/usage.py. Unit prices are
list prices from one pinned file per region (offline/prices/<region>.json, with its source and
"as of" date); no network. Hours a month: 730. Free tiers are left out (they are per account), except
CloudFront's 1,000 free invalidation paths a month, which are part of its price: the stack's resources
share them, as one account's would.

UpdateOffloadCdn's transfer is priced by components/update_offload_cost.py, so the plan and
that model give the same numbers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Optional

from offline import usage as usage_module
from offline.harness import PROJECT_DIR, RecordedResource, StackSnapshot

PRICES_DIR = Path(__file__).resolve().parent / "prices"
HOURS_PER_MONTH = 730
STACK_LEVEL = "(stack)"
COMPONENT_PREFIX = "serverless-blueprints:index:"


@dataclass(frozen=True)
class LineItem:
    component: str
    """The top-level component's name, or "(stack)" for resources outside any component."""
    service: str
    resource: str
    what: str
    quantity: float
    unit_usd: float

    @property
    def monthly_usd(self) -> float:
        return self.quantity * self.unit_usd


@dataclass
class CostEstimate:
    stack: str
    environment: str
    items: list[LineItem] = field(default_factory=list)
    components: dict[str, str] = field(default_factory=dict)
    """Top-level component name -> its type (short)."""
    assumptions: dict[str, dict] = field(default_factory=dict)
    uncosted: list[str] = field(default_factory=list)
    """Component types with no entry in usage.PROFILES."""
    unpriced: list[str] = field(default_factory=list)
    """Resources whose size has no price in the region's file (e.g. an instance type)."""
    notes: list[str] = field(default_factory=list)
    price_sources: dict[str, str] = field(default_factory=dict)
    """Region -> "as of <date>" of the price files used."""

    @property
    def total(self) -> float:
        return sum(item.monthly_usd for item in self.items)

    def by_component(self) -> list[tuple[str, str, float]]:
        """(name, type, monthly USD) of each component, the most expensive first, the stack level last."""
        rows = sorted(((name, kind, sum(i.monthly_usd for i in self.items if i.component == name))
                       for name, kind in self.components.items()), key=lambda row: (-round(row[2], 2), row[0]))
        stack_level = sum(i.monthly_usd for i in self.items if i.component == STACK_LEVEL)
        return rows + ([(STACK_LEVEL, "", stack_level)] if stack_level else [])

    def biggest(self, count: int = 3) -> list[tuple[str, float]]:
        """The `count` biggest line items, summed over resources of one service and item in one component."""
        grouped: dict[tuple[str, str, str], float] = {}
        for item in self.items:
            key = (item.component, item.service, item.what)
            grouped[key] = grouped.get(key, 0.0) + item.monthly_usd
        rows = sorted(grouped.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(f"{component}: {service} {what}", usd) for (component, service, what), usd in rows[:count]]


# --- prices ------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def price_file(region: str) -> dict:
    path = PRICES_DIR / f"{region}.json"
    if not path.is_file():
        known = sorted(p.stem for p in PRICES_DIR.glob("*.json"))
        raise FileNotFoundError(f"no price file offline/prices/{region}.json; regions priced: {known}")
    return json.loads(path.read_text())


def prices(region: str) -> dict:
    return price_file(region)["prices"]


# --- per-service arithmetic (each tested against hand-computed cases) ---------------------------------

def lambda_usd(invocations: float, duration_ms: float, memory_mb: float, architecture: str, p: dict) -> dict:
    gb_seconds = invocations * duration_ms / 1000 * memory_mb / 1024
    rate = p["lambda"]["gb_second_arm64" if architecture == "arm64" else "gb_second_x86_64"]
    return {"requests": invocations / 1e6 * p["lambda"]["requests_per_million"], "gb_seconds": gb_seconds * rate}


def dynamodb_usd(reads: float, writes: float, storage_gb: float, pitr: bool, p: dict) -> dict:
    d = p["dynamodb"]
    return {"reads": reads / 1e6 * d["read_request_units_per_million"],
            "writes": writes / 1e6 * d["write_request_units_per_million"],
            "storage": storage_gb * d["storage_gb_month"],
            "pitr": storage_gb * d["pitr_gb_month"] if pitr else 0.0}


def cloudfront_usd(gb_out: float, requests: float, price_class: str, shield_requests: float, p: dict) -> dict:
    c = p["cloudfront"]
    return {"egress": gb_out * c["egress_gb_by_price_class"][price_class or "PriceClass_All"],
            "requests": requests / 1e6 * c["https_requests_per_million"],
            "origin_shield": shield_requests / 1e6 * c["origin_shield_requests_per_million"]}


# --- resource pricers ---------------------------------------------------------------------------------

@dataclass
class Context:
    snapshot: StackSnapshot
    component: str
    usage: dict
    resource: RecordedResource
    items: list[LineItem]
    unpriced: list[str]
    notes: list[str]
    peers: Callable[[str], int]
    """How many resources of a type the component has (shared drivers are split between them)."""
    allowances: dict[str, float] = field(default_factory=dict)
    """What is left this month of each free allowance the stack's resources share (an account's)."""

    @property
    def region(self) -> str:
        return self.resource.region or "us-east-1"

    @property
    def p(self) -> dict:
        return prices(self.region)

    def add(self, service: str, what: str, quantity: float, unit_usd: float) -> None:
        self.items.append(LineItem(self.component, service, self.resource.name, what, quantity, unit_usd))

    def fragment(self, driver: str, default: Any = None) -> Any:
        """The driver's entry for this resource: the longest fragment of its name, else "*"."""
        table = self.usage.get(driver) or {}
        own = self.resource.name[len(self.component):] if self.resource.name.startswith(self.component) \
            else self.resource.name
        matches = sorted((k for k in table if k != "*" and k in own), key=len, reverse=True)
        return table[matches[0]] if matches else table.get("*", default)

    def number(self, driver: str, default: float = 0.0) -> float:
        return float(self.usage.get(driver, default) or 0.0)

    def shared(self, driver: str, resource_type: str) -> float:
        return self.number(driver) / max(1, self.peers(resource_type))

    def beyond_free(self, allowance: str, quantity: float, free: float) -> float:
        """The part of `quantity` past what is left of a monthly allowance, which it uses up first."""
        left = self.allowances.setdefault(allowance, free)
        used = min(left, quantity)
        self.allowances[allowance] = left - used
        return quantity - used

    def sized(self, service: str, table: dict, size: Optional[str], what: str, count: float = 1) -> None:
        """An hourly charge by size (instance type, node type, cache size), `count` of them all month."""
        if size not in table:
            self.unpriced.append(f"{self.resource.resource_type} '{self.resource.name}': no {service} price "
                                 f"for {size!r} in offline/prices/{self.region}.json")
            return
        self.add(service, f"{size} {what} hours" + (f" x {count:g}" if count != 1 else ""),
                 HOURS_PER_MONTH * count, table[size])


def _lambda(ctx: Context) -> None:
    use = ctx.fragment("functions") or {}
    invocations, ms = float(use.get("invocations", 0)), float(use.get("duration_ms", 0))
    memory = float(ctx.resource.props.get("memorySize") or 128)
    arch = (ctx.resource.props.get("architectures") or ["x86_64"])[0]
    lam = ctx.p["lambda"]
    ctx.add("Lambda", "requests", invocations / 1e6, lam["requests_per_million"])
    rate = lam["gb_second_arm64" if arch == "arm64" else "gb_second_x86_64"]
    ctx.add("Lambda", f"GB-seconds ({arch})", invocations * ms / 1000 * memory / 1024, rate)
    # Rekognition has no resource: it is priced on the function that calls it (ThumbnailPipeline's analysis).
    if ((ctx.resource.props.get("environment") or {}).get("variables") or {}).get("ANALYSIS_ENABLED") == "true":
        ctx.add("Rekognition", "image API calls (1000s; moderation + labels)",
                ctx.number("analysed_images") * 2 / 1000, ctx.p["rekognition"]["image_api_calls_per_thousand"])
    # Invalidations have no resource either: priced on the function that requests them.
    _invalidation_paths(ctx, float(ctx.fragment("invalidation_paths", 0) or 0))


def _invalidation_paths(ctx: Context, paths: float) -> None:
    """CloudFront invalidation paths: the stack's first 1,000 a month are free (an account's), then per path."""
    if not paths:
        return
    cf = ctx.p["cloudfront"]
    free = cf["invalidation_paths_free_per_month"]
    ctx.add("CloudFront", f"invalidation paths past {free:,} free a month ({paths:,.0f} requested)",
            ctx.beyond_free("cloudfront invalidation paths", paths, free), cf["invalidation_path"])


def _rest_api(ctx: Context) -> None:
    ctx.add("API Gateway", "REST requests", ctx.number("api_requests") / 1e6,
            ctx.p["apigateway_rest"]["requests_per_million"])


def _stage(ctx: Context) -> None:
    props = ctx.resource.props
    if props.get("cacheClusterEnabled"):
        ctx.sized("API Gateway", ctx.p["apigateway_rest"]["cache_per_hour_by_gb"],
                  str(props.get("cacheClusterSize") or "0.5"), "GB cache")


def _table(ctx: Context) -> None:
    props = ctx.resource.props
    if props.get("billingMode") == "PROVISIONED":
        ctx.notes.append(f"table '{ctx.resource.name}' is provisioned: capacity not priced")
        return
    use = ctx.fragment("tables") or {}
    reads, writes, gb = (float(use.get(k, 0)) for k in ("reads", "writes", "storage_gb"))
    pitr = bool((props.get("pointInTimeRecovery") or {}).get("enabled"))
    d = ctx.p["dynamodb"]
    ctx.add("DynamoDB", "read request units", reads / 1e6, d["read_request_units_per_million"])
    ctx.add("DynamoDB", "write request units", writes / 1e6, d["write_request_units_per_million"])
    ctx.add("DynamoDB", "storage GB", gb, d["storage_gb_month"])
    if pitr:
        ctx.add("DynamoDB", "PITR GB", gb, d["pitr_gb_month"])
    for replica in props.get("replicas") or []:
        region = replica.get("regionName")
        r = prices(region)["dynamodb"]
        ctx.add("DynamoDB", f"replicated write units ({region})", writes / 1e6,
                r["replicated_write_request_units_per_million"])
        ctx.add("DynamoDB", f"storage GB ({region})", gb, r["storage_gb_month"])
        if replica.get("pointInTimeRecovery"):
            ctx.add("DynamoDB", f"PITR GB ({region})", gb, r["pitr_gb_month"])


def _dax(ctx: Context) -> None:
    props = ctx.resource.props
    ctx.sized("DAX", ctx.p["dax"]["node_per_hour"], props.get("nodeType"), "node",
              count=int(props.get("replicationFactor") or 1))


def _bucket(ctx: Context) -> None:
    use = ctx.fragment("buckets") or {}
    s3 = ctx.p["s3"]
    ctx.add("S3", "storage GB", float(use.get("storage_gb", 0)), s3["standard_gb_month"])
    ctx.add("S3", "PUT requests (1000s)", float(use.get("puts", 0)) / 1000, s3["put_per_thousand"])
    ctx.add("S3", "GET requests (1000s)", float(use.get("gets", 0)) / 1000, s3["get_per_thousand"])


def _distribution(ctx: Context) -> None:
    props = ctx.resource.props
    price_class = props.get("priceClass") or "PriceClass_All"
    cdn = ctx.usage.get("cdn") or {}
    offload = ctx.usage.get("offload")
    gb_out, requests = float(cdn.get("gb_out", 0)), float(cdn.get("requests", 0))
    hit_ratio = float(cdn.get("cache_hit_ratio", 0.9))
    cf = ctx.p["cloudfront"]
    if offload:
        from serverless_blueprints.update_offload_cost import estimate_monthly_offload

        model = estimate_monthly_offload(
            offload["release_size_gb"], offload["downloads_per_month"], offload["cache_hit_ratio"],
            internet_egress_usd_per_gb=ctx.p["ec2"]["internet_egress_gb"],
            alb_processing_usd_per_gb=ctx.p["alb"]["lcu_hour"],
            cloudfront_egress_usd_per_gb=cf["egress_gb_by_price_class"][price_class])
        gb_out += model.delivered_gb
        requests += offload["downloads_per_month"]
        hit_ratio = offload["cache_hit_ratio"]
        ctx.add("ALB", "LCU-hours for cache misses (origin ALB, 1 LCU = 1 GB/h)", model.origin_egress_gb,
                ctx.p["alb"]["lcu_hour"])
        ctx.notes.append(f"{ctx.component}: offloading {model.delivered_gb:,.0f} GB/month of updates saves "
                         f"${model.saving_usd:,.2f}/month in transfer against serving them from the ELB "
                         f"(components/update_offload_cost.py)")
    ctx.add("CloudFront", f"data out GB ({price_class})", gb_out, cf["egress_gb_by_price_class"][price_class])
    ctx.add("CloudFront", "HTTPS requests (millions)", requests / 1e6, cf["https_requests_per_million"])
    if any((o.get("originShield") or {}).get("enabled") for o in props.get("origins") or []):
        ctx.add("CloudFront", "Origin Shield requests (millions)", requests * (1 - hit_ratio) / 1e6,
                cf["origin_shield_requests_per_million"])
    # Every viewer request is counted as reaching the default behaviour (an upper bound when other
    # behaviours, such as /api/*, run no function); each viewer-request/-response function runs once.
    functions = len((props.get("defaultCacheBehavior") or {}).get("functionAssociations") or [])
    if functions:
        ctx.add("CloudFront", "Functions invocations (millions)", requests * functions / 1e6,
                cf["function_invocations_per_million"])


def _log_delivery(ctx: Context) -> None:
    """Standard logging v2: a distribution's access logs delivered to S3, billed per GB (vended logs)."""
    props = ctx.resource.props
    sources = [r for r in ctx.snapshot.of_type("aws:cloudwatch/logDeliverySource:LogDeliverySource")
               if r.props.get("name") == props.get("deliverySourceName")]
    destinations = [r for r in ctx.snapshot.of_type("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
                    if props.get("deliveryDestinationArn") in (r.outputs.get("arn"), r.outputs.get("id"))]
    source_arn = str(sources[0].props.get("resourceArn") or "") if sources else ""
    target = str(((destinations[0].props.get("deliveryDestinationConfiguration") or {})
                  .get("destinationResourceArn") or "")) if destinations else ""
    if ":cloudfront::" not in source_arn or not target.startswith("arn:aws:s3:::"):
        ctx.unpriced.append(f"aws:cloudwatch/logDelivery:LogDelivery '{ctx.resource.name}': only CloudFront logs "
                            f"delivered to S3 are priced (source {source_arn or '?'}, destination {target or '?'})")
        return
    ctx.add("CloudFront", "standard logs delivered to S3 (GB)",
            ctx.shared("access_logs_gb", "aws:cloudwatch/logDelivery:LogDelivery"),
            ctx.p["cloudfront"]["standard_logs_s3_gb"])


def _web_acl(ctx: Context) -> None:
    waf = ctx.p["waf"]
    requests = ctx.usage.get("waf_requests", (ctx.usage.get("cdn") or {}).get("requests", 0))
    ctx.add("WAF", "web ACL", 1, waf["web_acl_month"])
    ctx.add("WAF", "rules", len(ctx.resource.props.get("rules") or []), waf["rule_month"])
    ctx.add("WAF", "requests (millions)", float(requests) / 1e6, waf["requests_per_million"])


def _queue(ctx: Context) -> None:
    ctx.add("SQS", "requests (millions)", float(ctx.fragment("queues", 0) or 0) / 1e6,
            ctx.p["sqs"]["requests_per_million"])


def _topic(ctx: Context) -> None:
    ctx.add("SNS", "publishes (millions)", ctx.shared("topic_publishes", "aws:sns/topic:Topic") / 1e6,
            ctx.p["sns"]["publishes_per_million"])


def _event_bus(ctx: Context) -> None:
    ctx.add("EventBridge", "custom events (millions)", ctx.number("events") / 1e6,
            ctx.p["eventbridge"]["custom_events_per_million"])


def _event_archive(ctx: Context) -> None:
    ctx.add("EventBridge", "archived GB", ctx.number("archive_gb"), ctx.p["eventbridge"]["archive_gb_processed"])


def _email_identity(ctx: Context) -> None:
    ctx.add("SES", "emails (1000s)", ctx.number("emails") / 1000, ctx.p["ses"]["emails_per_thousand"])


def _kms_key(ctx: Context) -> None:
    ctx.add("KMS", "keys", 1, ctx.p["kms"]["key_month"])
    ctx.add("KMS", "requests (millions)", ctx.shared("kms_requests", "aws:kms/key:Key") / 1e6,
            ctx.p["kms"]["requests_per_million"])


def _user_pool(ctx: Context) -> None:
    ctx.add("Cognito", "MAUs (Essentials)", ctx.number("monthly_active_users"), ctx.p["cognito"]["mau_essentials"])


def _load_balancer(ctx: Context) -> None:
    if ctx.resource.props.get("loadBalancerType", "application") != "application":
        ctx.notes.append(f"load balancer '{ctx.resource.name}' isn't an ALB: not priced")
        return
    alb = ctx.p["alb"]
    ctx.add("ALB", "hours", HOURS_PER_MONTH, alb["hour"])
    ctx.add("ALB", "LCU-hours", ctx.number("alb_lcus") * HOURS_PER_MONTH, alb["lcu_hour"])


def _launch_template_of(ctx: Context, reference: dict) -> Optional[RecordedResource]:
    wanted = (reference or {}).get("id") or (reference or {}).get("name")
    for candidate in ctx.snapshot.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        if wanted in (candidate.outputs.get("id"), candidate.props.get("name"), candidate.outputs.get("name")):
            return candidate
    return None


def _volume_gb(ctx: Context, mappings: list) -> float:
    sizes = [float((m.get("ebs") or {}).get("volumeSize") or 0) for m in mappings or []]
    return sum(sizes) or ctx.number("ebs_gb", 8)


def _instances(ctx: Context, instance_type: Optional[str], count: float, volume_gb: float) -> None:
    ctx.sized("EC2", ctx.p["ec2"]["instance_per_hour"], instance_type, "instance", count=count)
    ctx.add("EBS", "gp3 GB", volume_gb * count, ctx.p["ebs"]["gp3_gb_month"])


def _autoscaling_group(ctx: Context) -> None:
    props = ctx.resource.props
    count = float(props.get("desiredCapacity") or props.get("minSize") or 0)
    template = _launch_template_of(ctx, props.get("launchTemplate"))
    template_props = template.props if template else {}
    _instances(ctx, template_props.get("instanceType"), count,
               _volume_gb(ctx, template_props.get("blockDeviceMappings") or []))


def _instance(ctx: Context) -> None:
    props = ctx.resource.props
    _instances(ctx, props.get("instanceType"), 1,
               float((props.get("rootBlockDevice") or {}).get("volumeSize") or ctx.number("ebs_gb", 8)))


def _volume(ctx: Context) -> None:
    ctx.add("EBS", "gp3 GB", float(ctx.resource.props.get("size") or 0), ctx.p["ebs"]["gp3_gb_month"])


def _file_system(ctx: Context) -> None:
    ctx.add("EFS", "standard GB", ctx.shared("efs_gb", "aws:efs/fileSystem:FileSystem"),
            ctx.p["efs"]["standard_gb_month"])


def _nat(ctx: Context) -> None:
    nat = ctx.p["nat"]
    ctx.add("NAT gateway", "hours", HOURS_PER_MONTH, nat["hour"])
    ctx.add("NAT gateway", "GB processed", ctx.shared("nat_gb", "aws:ec2/natGateway:NatGateway"), nat["gb_processed"])


def _vpc_endpoint(ctx: Context) -> None:
    props = ctx.resource.props
    if props.get("vpcEndpointType") == "Interface":
        azs = max(1, len(props.get("subnetIds") or []))
        ctx.add("VPC endpoint", f"interface hours x {azs} AZ", HOURS_PER_MONTH * azs,
                ctx.p["vpc_endpoint"]["interface_per_az_hour"])


def _kinesis(ctx: Context) -> None:
    k = ctx.p["kinesis"]
    ctx.add("Kinesis", "shard hours", HOURS_PER_MONTH * float(ctx.resource.props.get("shardCount") or 1),
            k["shard_hour"])
    ctx.add("Kinesis", "PUT payload units (millions)", ctx.number("kinesis_put_units") / 1e6,
            k["put_payload_units_per_million"])


def _firehose(ctx: Context) -> None:
    ctx.add("Firehose", "GB ingested", ctx.number("firehose_gb"), ctx.p["firehose"]["ingested_gb"])


def _athena(ctx: Context) -> None:
    ctx.add("Athena", "TB scanned", ctx.number("athena_tb_scanned"), ctx.p["athena"]["scanned_tb"])


def _elasticache(ctx: Context) -> None:
    props = ctx.resource.props
    ctx.sized("ElastiCache", ctx.p["elasticache"]["node_per_hour"], props.get("nodeType"), "node",
              count=int(props.get("numCacheNodes") or props.get("numCacheClusters") or 1))


def _rds_instance(ctx: Context) -> None:
    props = ctx.resource.props
    rds = ctx.p["rds"]
    ctx.sized("RDS", rds["instance_per_hour"], props.get("instanceClass"), "instance",
              count=2 if props.get("multiAz") else 1)
    if ctx.resource.resource_type == "aws:rds/instance:Instance":
        ctx.add("RDS", "gp3 GB", float(props.get("allocatedStorage") or ctx.number("rds_storage_gb")),
                rds["gp3_gb_month"])


def _task_definition_of(ctx: Context, arn: Any) -> Optional[RecordedResource]:
    for candidate in ctx.snapshot.of_type("aws:ecs/taskDefinition:TaskDefinition"):
        if arn in (candidate.outputs.get("arn"), candidate.outputs.get("id")):
            return candidate
    return None


def _fargate_service(ctx: Context) -> None:
    """Fargate: the tasks' vCPUs and GB, all month, at the task definition's architecture (desired count)."""
    props = ctx.resource.props
    if props.get("launchType", "FARGATE") != "FARGATE":
        ctx.notes.append(f"ECS service '{ctx.resource.name}' isn't on Fargate: its instances are priced as EC2")
        return
    definition = _task_definition_of(ctx, props.get("taskDefinition"))
    if definition is None:
        ctx.unpriced.append(f"aws:ecs/service:Service '{ctx.resource.name}': task definition not found")
        return
    d = definition.props
    arch = "arm64" if (d.get("runtimePlatform") or {}).get("cpuArchitecture") == "ARM64" else "x86_64"
    tasks = float(props.get("desiredCount") or 1)
    f = ctx.p["fargate"]
    ctx.add("Fargate", f"vCPU-hours ({arch})", tasks * float(d.get("cpu") or 256) / 1024 * HOURS_PER_MONTH,
            f[f"vcpu_hour_{arch}"])
    ctx.add("Fargate", f"GB-hours ({arch})", tasks * float(d.get("memory") or 512) / 1024 * HOURS_PER_MONTH,
            f[f"gb_hour_{arch}"])


def _secret(ctx: Context) -> None:
    sm = ctx.p["secretsmanager"]
    ctx.add("Secrets Manager", "secrets", 1, sm["secret_month"])
    ctx.add("Secrets Manager", "API calls (10,000s)",
            ctx.shared("secrets_api_calls", "aws:secretsmanager/secret:Secret") / 10_000,
            sm["api_calls_per_ten_thousand"])


def _log_group(ctx: Context) -> None:
    cw = ctx.p["cloudwatch"]
    ingested = ctx.shared("logs_gb", "aws:cloudwatch/logGroup:LogGroup")
    days = ctx.resource.props.get("retentionInDays") or 365  # "never expire": a year counted
    ctx.add("CloudWatch", "logs ingested GB", ingested, cw["logs_ingested_gb"])
    ctx.add("CloudWatch", "logs stored GB", ingested * min(days, 365) / 30, cw["logs_stored_gb_month"])


def _alarm(ctx: Context) -> None:
    ctx.add("CloudWatch", "alarms", 1, ctx.p["cloudwatch"]["alarm_month"])


def _dashboard(ctx: Context) -> None:
    ctx.add("CloudWatch", "dashboards", 1, ctx.p["cloudwatch"]["dashboard_month"])


PRICERS: dict[str, Callable[[Context], None]] = {
    "aws:lambda/function:Function": _lambda,
    "aws:apigateway/restApi:RestApi": _rest_api,
    "aws:apigateway/stage:Stage": _stage,
    "aws:dynamodb/table:Table": _table,
    "aws:dax/cluster:Cluster": _dax,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketV2:BucketV2": _bucket,
    "aws:cloudfront/distribution:Distribution": _distribution,
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    "aws:sqs/queue:Queue": _queue,
    "aws:sns/topic:Topic": _topic,
    "aws:cloudwatch/eventBus:EventBus": _event_bus,
    "aws:cloudwatch/eventArchive:EventArchive": _event_archive,
    "aws:sesv2/emailIdentity:EmailIdentity": _email_identity,
    "aws:kms/key:Key": _kms_key,
    "aws:cognito/userPool:UserPool": _user_pool,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:autoscaling/group:Group": _autoscaling_group,
    "aws:ec2/instance:Instance": _instance,
    "aws:ebs/volume:Volume": _volume,
    "aws:efs/fileSystem:FileSystem": _file_system,
    "aws:ec2/natGateway:NatGateway": _nat,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:kinesis/stream:Stream": _kinesis,
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": _firehose,
    "aws:athena/workgroup:Workgroup": _athena,
    "aws:elasticache/cluster:Cluster": _elasticache,
    "aws:elasticache/replicationGroup:ReplicationGroup": _elasticache,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:rds/clusterInstance:ClusterInstance": _rds_instance,
    "aws:ecs/service:Service": _fargate_service,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:cloudwatch/logDelivery:LogDelivery": _log_delivery,
}


# --- the stack ----------------------------------------------------------------------------------------

def component_types(snapshot: StackSnapshot) -> set[str]:
    return {r.resource_type for r in snapshot.resources if not r.custom
            and r.resource_type.startswith(COMPONENT_PREFIX)}


def top_level_components(snapshot: StackSnapshot) -> dict[str, RecordedResource]:
    """urn -> the outermost component each resource belongs to (absent: outside any component)."""
    by_urn = {r.urn: r for r in snapshot.resources}
    owner: dict[str, RecordedResource] = {}
    for resource in snapshot.resources:
        current, outermost = resource, None
        while current is not None:
            if not current.custom and current.resource_type.startswith(COMPONENT_PREFIX):
                outermost = current
            current = by_urn.get(current.parent) if current.parent else None
        if outermost is not None:
            owner[resource.urn] = outermost
    return owner


def environment_of(snapshot: StackSnapshot) -> str:
    from offline.report import stack_environment

    return stack_environment(snapshot) or "prod"


def estimate_stack(snapshot: StackSnapshot, overrides: Optional[dict[str, dict]] = None,
                   project_dir: Path = PROJECT_DIR) -> CostEstimate:
    """Price every resource of `snapshot` with its top-level component's usage assumptions.

    `overrides` defaults to usage.<stack>.yaml of `project_dir` (none: the defaults alone)."""
    environment = environment_of(snapshot)
    if overrides is None:
        overrides = usage_module.read_overrides(snapshot.stack, project_dir)
    estimate = CostEstimate(stack=snapshot.stack, environment=environment)
    owners = top_level_components(snapshot)
    estimate.uncosted = sorted(t for t in component_types(snapshot) if t not in usage_module.PROFILES)
    for resource in snapshot.resources:
        if not resource.custom and resource.urn in owners and owners[resource.urn].urn == resource.urn:
            estimate.components[resource.name] = resource.resource_type.rsplit(":", 1)[-1]
            estimate.assumptions[resource.name] = usage_module.assumptions_for(
                resource.resource_type, resource.name, environment, overrides) or {}
    component_of = {r.urn: owners[r.urn].name if r.urn in owners else STACK_LEVEL for r in snapshot.resources}
    counts: dict[tuple[str, str], int] = {}
    allowances: dict[str, float] = {}
    for resource in snapshot.resources:
        if resource.custom:
            key = (component_of[resource.urn], resource.resource_type)
            counts[key] = counts.get(key, 0) + 1
    for resource in snapshot.resources:
        pricer = PRICERS.get(resource.resource_type)
        if not resource.custom or pricer is None:
            continue
        component = component_of[resource.urn]

        def peers(resource_type: str, component: str = component) -> int:
            return counts.get((component, resource_type), 0)

        ctx = Context(snapshot=snapshot, component=component, usage=estimate.assumptions.get(component, {}),
                      resource=resource, items=estimate.items, unpriced=estimate.unpriced, notes=estimate.notes,
                      peers=peers, allowances=allowances)
        pricer(ctx)
        estimate.price_sources.setdefault(ctx.region, price_file(ctx.region)["as_of"])
    for item in estimate.items:
        for region in _regions_in(item.what):
            estimate.price_sources.setdefault(region, price_file(region)["as_of"])
    return estimate


def _regions_in(text: str) -> list[str]:
    return [p.stem for p in PRICES_DIR.glob("*.json") if f"({p.stem})" in text]


# --- rendering ----------------------------------------------------------------------------------------

def usd(value: float) -> str:
    return f"${value:,.2f}"


def _sources_line(estimate: CostEstimate) -> str:
    regions = ", ".join(f"{region} as of {date}" for region, date in sorted(estimate.price_sources.items()))
    return (f"AWS list prices (offline/prices/: {regions}), 730 h/month, no free tier; usage assumed "
            f"(offline/usage.py, usage.{estimate.stack}.yaml overrides)")


def render_cost_table(estimate: CostEstimate) -> str:
    """The plain-text table `make plan` prints: each component's monthly estimate, its top items, the total."""
    lines = [f"cost estimate (environment {estimate.environment}, USD/month): {usd(estimate.total)}"]
    rows = estimate.by_component()
    width = max([len(n) + len(k) + 3 for n, k, _ in rows] + [10])
    for name, kind, total in rows:
        label = f"{name} ({kind})" if kind else name
        top = sorted(((i.service + " " + i.what, i.monthly_usd) for i in _grouped(estimate, name)),
                     key=lambda kv: -kv[1])[:3]
        drivers = ", ".join(f"{what} {usd(amount)}" for what, amount in top if amount >= 0.005)
        lines.append(f"  {label.ljust(width)}  {usd(total):>12}" + (f"  ({drivers})" if drivers else ""))
    lines.append(f"  {'total'.ljust(width)}  {usd(estimate.total):>12}")
    for note in estimate.notes:
        lines.append(f"  note: {note}")
    for problem in estimate.unpriced:
        lines.append(f"  unpriced: {problem}")
    for kind in estimate.uncosted:
        lines.append(f"  UNCOSTED component type {kind}: add its usage profile to offline/usage.py PROFILES")
    lines.append(f"  {_sources_line(estimate)}")
    return "\n".join(lines)


def _grouped(estimate: CostEstimate, component: str) -> list[LineItem]:
    grouped: dict[tuple[str, str], float] = {}
    for item in estimate.items:
        if item.component == component:
            grouped[(item.service, item.what)] = grouped.get((item.service, item.what), 0.0) + item.monthly_usd
    return [LineItem(component, service, "", what, 1, amount) for (service, what), amount in grouped.items()]


def cost_document(estimate: CostEstimate) -> dict:
    """The estimate as JSON: totals per component and every line item (amounts rounded to the cent)."""
    return {
        "environment": estimate.environment, "currency": "USD", "period": "month",
        "total": round(estimate.total, 2),
        "components": [{"name": n, "type": k, "monthly": round(t, 2)} for n, k, t in estimate.by_component()],
        "items": [{"component": i.component, "service": i.service, "resource": i.resource, "what": i.what,
                   "quantity": round(i.quantity, 6), "unit_usd": i.unit_usd, "monthly": round(i.monthly_usd, 2)}
                  for i in estimate.items if i.monthly_usd >= 0.005],
        "notes": estimate.notes, "unpriced": estimate.unpriced, "uncosted": estimate.uncosted,
        "prices": {region: {"as_of": date, "source": price_file(region)["source"]}
                   for region, date in sorted(estimate.price_sources.items())},
    }


def render_cost_markdown(estimate: CostEstimate) -> str:
    lines = ["| component | type | USD/month |", "| --- | --- | ---: |"]
    lines += [f"| {n} | {k} | {usd(t)} |" for n, k, t in estimate.by_component()]
    lines.append(f"| **total** | | **{usd(estimate.total)}** |")
    lines += [""] + [f"- {note}" for note in estimate.notes]
    lines += [f"- unpriced: {p}" for p in estimate.unpriced]
    lines += [f"- **uncosted component type** `{k}`" for k in estimate.uncosted]
    lines.append(f"\n<sub>{_sources_line(estimate)}</sub>")
    return "\n".join(lines)


# --- the README snippet (docs/cost.md "## For the README") ------------------------------------------

PROJECT_README = Path(__file__).resolve().parent.parent / "README.md"
README_BEGIN = "<!-- cost-totals:begin (generated: python -m offline.cost --write-readme) -->"
README_END = "<!-- cost-totals:end -->"


def render_readme_snippet(estimates: list[CostEstimate]) -> str:
    """Each stack's total and its three biggest line items, as a Markdown table."""
    lines = [README_BEGIN, "| stack | USD/month | biggest line items |", "| --- | ---: | --- |"]
    for estimate in estimates:
        biggest = "; ".join(f"{what} {usd(amount)}" for what, amount in estimate.biggest(3))
        lines.append(f"| {estimate.stack} | {usd(estimate.total)} | {biggest} |")
    as_of = sorted({d for e in estimates for d in e.price_sources.values()})
    lines.append("")
    lines.append(f"List prices as of {', '.join(as_of)} (offline/prices/), at the usage assumed in "
                 "offline/usage.py; `make plan` prints the full table. See docs/cost.md.")
    lines.append(README_END)
    return "\n".join(lines)


def main() -> int:
    import sys

    from offline.harness import evaluate_stack

    if sys.argv[1:] not in (["--readme"], ["--write-readme"]):
        print("usage: python -m offline.cost --readme | --write-readme   (print, or rewrite in README.md, the "
              "cost totals of dev and prod)")
        return 2
    snippet = render_readme_snippet([estimate_stack(evaluate_stack(stack)) for stack in ("dev", "prod")])
    if sys.argv[1] == "--readme":
        print(snippet)
        return 0
    readme = PROJECT_README.read_text()
    begin, end = readme.index(README_BEGIN), readme.index(README_END) + len(README_END)
    PROJECT_README.write_text(readme[:begin] + snippet + readme[end:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
