"""CatalogService: the shop's catalog, an ASGI app on ECS Fargate behind an HTTPS-only ALB, data in DynamoDB.

    clients ── HTTPS (TLS 1.3 policy; :80 only redirects) ──▶ ALB (public subnets, access logs, WAF optional)
                                                               │ :8080, only from the ALB's security group
                                                               ▼
    ECR (IMMUTABLE tags, scan on push) ── image ──▶ Fargate tasks, arm64 (private subnets, no public IP)
      ▲ built and pushed at deploy time                         │ task role: this table only
      │ (pulumi-docker-build, services/catalog/Dockerfile)      ▼
                                                              DynamoDB table (PITR, encrypted)
                                                                │ stream NEW_AND_OLD_IMAGES
                                                                ▼ (table_stream_arn)
                                                              CartService's price cache
    ECS: circuit breaker with rollback + wait_for_steady_state; `pulumi up` then FAILS if ECS rolled back
    Autoscaling: CPU and ALB requests per target

Why a check after the service: with rollback on, ECS answers a failed rollout by going back to the
previous task definition and becoming stable again, so the provider's steady-state wait succeeds and
`pulumi up` reports success while the old version runs (pulumi/pulumi-awsx#1848, pulumi/pulumi-aws#4487).
`confirm_rollout` compares the task definition the live service runs with the one this update registered
and raises when they differ; it runs once the service's update has returned, and never in preview.
"""
import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from . import defaults, monitoring
from .args import ArgsError, ArgsReader
from .iam import allow, policy_document, service_trust_policy
from .service_domain import ServiceDomainRef, alias_records, read_domain_ref
from .service_network import FrontDoor, alb_to_targets, check_load_balancer_name, https_egress, https_front_door

CONTAINER_NAME = "catalog"
APP_PORT = 8080
"""The port services/catalog/Dockerfile serves on (EXPOSE, uvicorn --port, HEALTHCHECK): fixed by the image."""
STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
"""The table's stream: CartService refreshes its price cache from it."""
FARGATE_SIZES = {256: (512, 1024, 2048), 512: tuple(range(1024, 4097, 1024)), 1024: tuple(range(2048, 8193, 1024)),
                 2048: tuple(range(4096, 16385, 1024)), 4096: tuple(range(8192, 30721, 1024))}
"""Fargate's valid (CPU units -> memory MB) combinations."""
TABLE_ACTIONS = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
                 "dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                 "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"]
IMAGE_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
_IGNORED = {"__pycache__", ".pytest_cache", "tests", ".venv"}


class RolloutRolledBack(RuntimeError):
    """ECS rolled the service back: the update did not deploy what it registered."""


def confirm_rollout(service: str, intended: str, running: Optional[str]) -> str:
    """The running task definition, if it is the intended one; raises RolloutRolledBack otherwise.

    Skipped in preview: nothing has been deployed yet, and an unchanged service would only repeat itself.
    """
    if pulumi.runtime.is_dry_run() or running == intended:
        return running or intended
    raise RolloutRolledBack(
        f"ECS service {service} runs {running}, not {intended}: the deployment circuit breaker rolled the "
        f"update back (see the service's events and the stopped tasks' reasons). Fix the image or health "
        f"check and run `pulumi up` again.")


def catalog_source() -> Path:
    """services/catalog/ (Dockerfile, requirements, catalog_app), wherever this package is installed."""
    root = resources.files(f"{__package__}.services")
    if not isinstance(root, Path):
        raise RuntimeError(f"serverless_blueprints.services is at {root}, not in a folder: install unzipped")
    return root / "catalog"


def source_digest(folder: Path) -> str:
    """A hash of every file the image is built from: the image tag, so a tag never names two images."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not _IGNORED & set(p.parts)
                       and p.suffix not in (".pyc", ".pyo")):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


class CatalogServiceArgs(TypedDict, total=False):
    vpc_id: Required[pulumi.Input[str]]
    """The VPC (a ServiceNetwork's vpc_id, or your own)."""
    public_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of an internet-facing ALB (required unless internal)."""
    private_subnet_ids: Required[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Subnets of the tasks (and of an internal ALB)."""
    domain: Required[ServiceDomainRef]
    """Hostname, regional certificate and hosted zone(s) of the service."""
    internal: bool
    """Internal ALB (reachable only inside the VPC, e.g. through a private hosted zone); default false."""
    desired_count: int
    """Tasks at first deploy (1-20, default 1); autoscaling moves it between min_tasks and max_tasks."""
    min_tasks: int
    """Autoscaling minimum (default 1; 2+ in prod to span AZs)."""
    max_tasks: int
    """Autoscaling maximum (default 4)."""
    cpu: int
    """Task CPU units: 256 (default), 512, 1024, 2048 or 4096."""
    memory_mb: int
    """Task memory, a Fargate combination with cpu (default 512)."""
    cpu_target_percent: int
    """Average CPU autoscaling keeps the service at (default 60)."""
    requests_per_target: int
    """ALB requests per task per minute autoscaling aims for (default 600)."""
    health_check_path: str
    """Path the ALB and the container health check request (default /health)."""
    ingress_cidrs: Sequence[str]
    """Who may reach the ALB (default anywhere; the VPC's CIDR for an internal one)."""
    web_acl_arn: Optional[pulumi.Input[str]]
    """A REGIONAL WAFv2 web ACL to associate with the ALB."""
    log_retention_days: int
    """Retention of the tasks' log group (default 30)."""
    deletion_protection: bool
    """Keep the table (deletion protection) and the image repository and logs on destroy (prod)."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS); without it, no alarms and no dashboard."""


ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LOAD_BALANCER, monitoring.ECS_SERVICE, monitoring.TABLE)
"""The ALB's target 5xx and unhealthy targets, the tasks' CPU and memory (and none running), the table's throttling."""

DEFAULTS: dict[str, Any] = {
    "public_subnet_ids": None, "internal": False, "desired_count": 1, "min_tasks": 1, "max_tasks": 4, "cpu": 256,
    "memory_mb": 512, "cpu_target_percent": 60, "requests_per_target": 600,
    "health_check_path": "/health", "ingress_cidrs": ["0.0.0.0/0"], "web_acl_arn": None,
    "log_retention_days": 30, "deletion_protection": False, "alarms": None,
}


@dataclass(frozen=True)
class ResolvedCatalogService:
    vpc_id: pulumi.Input[str]
    alb_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    domain: dict
    internal: bool
    desired_count: int
    min_tasks: int
    max_tasks: int
    cpu: int
    memory_mb: int
    cpu_target_percent: int
    requests_per_target: int
    health_check_path: str
    ingress_cidrs: tuple[str, ...]
    web_acl_arn: Optional[pulumi.Input[str]]
    log_retention_days: int
    deletion_protection: bool
    alarms: Optional[monitoring.ResolvedAlarms] = None


_CIDR = re.compile(r"\d{1,3}(\.\d{1,3}){3}/\d{1,2}")
_PATH = re.compile(r"/[A-Za-z0-9/_.-]*")


def resolve_args(name: str, args: Optional[CatalogServiceArgs]) -> ResolvedCatalogService:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("CatalogService", name, args, CatalogServiceArgs, DEFAULTS)
    internal = r.flag("internal")
    if not internal and not r.given("public_subnet_ids"):
        r.fail("public_subnet_ids", "required for an internet-facing ALB (or set internal=True)")
    for logical in (f"{name}-alb", f"{name}-tg"):
        problem = check_load_balancer_name(logical)
        if problem:
            raise ArgsError(r.owner, (), problem)
    cpu = r.choice("cpu", tuple(FARGATE_SIZES))
    memory = r.integer("memory_mb", low=512, high=30720)
    if memory not in FARGATE_SIZES[cpu]:
        r.fail("memory_mb", f"{memory} is not a Fargate size for cpu {cpu}; allowed: "
                            f"{', '.join(map(str, FARGATE_SIZES[cpu]))}")
    low, high = r.integer("min_tasks", low=1, high=100), r.integer("max_tasks", low=1, high=100)
    if low > high:
        r.fail("min_tasks", f"{low} is above max_tasks {high}")
    desired = r.integer("desired_count", low=1, high=100)
    if not low <= desired <= high:
        r.fail("desired_count", f"{desired} must lie between min_tasks {low} and max_tasks {high}")
    domain = read_domain_ref(r)
    if domain is None:
        r.fail("domain", "required: the HTTPS-only ALB needs a hostname and its certificate")
    return ResolvedCatalogService(
        vpc_id=r.input("vpc_id"),
        alb_subnet_ids=r.input("private_subnet_ids") if internal else r.input("public_subnet_ids"),
        private_subnet_ids=r.input("private_subnet_ids"), domain=domain, internal=internal,
        desired_count=desired, min_tasks=low, max_tasks=high, cpu=cpu, memory_mb=memory,
        cpu_target_percent=r.integer("cpu_target_percent", low=10, high=90),
        requests_per_target=r.integer("requests_per_target", low=10, high=100_000),
        health_check_path=r.string("health_check_path", check=_PATH.fullmatch, expected="a path such as /health"),
        ingress_cidrs=tuple(r.strings("ingress_cidrs", check=_CIDR.fullmatch, min_items=1,
                                      expected="a list of IPv4 CIDRs")),
        web_acl_arn=r.input("web_acl_arn"), log_retention_days=defaults.read_log_retention(r),
        deletion_protection=r.flag("deletion_protection"), alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS))


class _Image(NamedTuple):
    repository: aws.ecr.Repository
    ref: pulumi.Output[str]


class _Roles(NamedTuple):
    execution: aws.iam.Role
    task: aws.iam.Role


class CatalogService(pulumi.ComponentResource):
    """ECS Fargate behind an HTTPS-only ALB, DynamoDB behind it, and a rollout that fails loudly."""

    url: pulumi.Output[str]
    """https://<domain>."""
    load_balancer_dns_name: pulumi.Output[str]
    """The ALB's own DNS name."""
    table_name: pulumi.Output[str]
    """The catalog table."""
    table_stream_arn: pulumi.Output[str]
    """The table's stream (NEW_AND_OLD_IMAGES): CartService's catalog_stream_arn."""
    repository_url: pulumi.Output[str]
    """The private ECR repository."""
    image_ref: pulumi.Output[str]
    """The image the tasks run, pinned by digest."""
    cluster_name: pulumi.Output[str]
    """The ECS cluster."""
    service_name: pulumi.Output[str]
    """The ECS service."""
    task_security_group_id: pulumi.Output[str]
    """The tasks' security group (give it egress to what the app calls)."""
    running_task_definition_arn: pulumi.Output[str]
    """The task definition the service runs after this update (checked against the intended one)."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    def __init__(self, name: str, args: CatalogServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        s = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:CatalogService", name, None, opts)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)

        table = self._table(s)
        image = self._image(s)
        log_group = aws.cloudwatch.LogGroup(f"{name}-logs", retention_in_days=s.log_retention_days,
                                            opts=self._child)
        roles = self._roles(table, image.repository, log_group)
        task_definition = self._task_definition(s, image, roles, table, log_group)
        front = https_front_door(name, self, vpc_id=s.vpc_id, subnet_ids=s.alb_subnet_ids, internal=s.internal,
                                 certificate_arn=s.domain["certificate_arn"], target_port=APP_PORT,
                                 target_type="ip", health_check_path=s.health_check_path,
                                 web_acl_arn=s.web_acl_arn, deletion_protection=s.deletion_protection,
                                 ingress_cidrs=s.ingress_cidrs)
        tasks_sg = self._task_security_group(s, front)
        cluster, service = self._service(s, task_definition, front, tasks_sg)
        self._autoscaling(s, cluster, service, front)
        running = self._rollout_check(cluster, service, task_definition)
        t = s.alarms.thresholds if s.alarms else ALARM_THRESHOLDS
        monitored = monitoring.watch(name, s.alarms, [
            *monitoring.load_balancer_watches(name, front.load_balancer.arn_suffix, front.target_group.arn_suffix, t),
            *monitoring.ecs_service_watches(service._name, cluster.name, service.name, t),
            *monitoring.table_watches(table._name, table.name, t)], parent=self)
        self.dashboard_name = monitored.dashboard_name if monitored else None
        alias_records(name, self, s.domain, front.load_balancer.dns_name, front.load_balancer.zone_id,
                      public=not s.internal)

        self.url = pulumi.Output.format("https://{0}", s.domain["domain_name"])
        self.load_balancer_dns_name = front.load_balancer.dns_name
        self.table_name = table.name
        self.table_stream_arn = table.stream_arn
        self.repository_url = image.repository.repository_url
        self.image_ref = image.ref
        self.cluster_name = cluster.name
        self.service_name = service.name
        self.task_security_group_id = tasks_sg.id
        self.running_task_definition_arn = running
        self.register_outputs({
            "url": self.url, "load_balancer_dns_name": self.load_balancer_dns_name, "table_name": self.table_name,
            "table_stream_arn": self.table_stream_arn,
            "repository_url": self.repository_url, "image_ref": self.image_ref, "cluster_name": self.cluster_name,
            "service_name": self.service_name, "task_security_group_id": self.task_security_group_id,
            "running_task_definition_arn": self.running_task_definition_arn})

    def _table(self, s: ResolvedCatalogService) -> aws.dynamodb.Table:
        return aws.dynamodb.Table(
            f"{self._name}-table", billing_mode="PAY_PER_REQUEST", hash_key="sku",
            attributes=[{"name": "sku", "type": "S"}],  # catalog_app.store: one item per SKU
            point_in_time_recovery={"enabled": True}, server_side_encryption={"enabled": True},
            stream_enabled=True, stream_view_type=STREAM_VIEW_TYPE,
            deletion_protection_enabled=s.deletion_protection, opts=self._child)

    def _image(self, s: ResolvedCatalogService) -> _Image:
        """Private repository (immutable tags, scan on push, lifecycle), and the image built into it."""
        repository = aws.ecr.Repository(
            f"{self._name}-images", image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "AES256"}],
            force_delete=not s.deletion_protection, opts=self._child)
        aws.ecr.LifecyclePolicy(f"{self._name}-images", repository=repository.name, policy=json.dumps({"rules": [
            {"rulePriority": 1, "description": "Drop untagged layers after a day",
             "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days",
                           "countNumber": 1}, "action": {"type": "expire"}},
            {"rulePriority": 2, "description": "Keep the 20 newest images (rollback needs the previous ones)",
             "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 20},
             "action": {"type": "expire"}}]}), opts=self._child)
        source = catalog_source()
        token = aws.ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self))
        image = docker_build.Image(
            f"{self._name}-image", context={"location": str(source)},
            dockerfile={"location": str(source / "Dockerfile")},
            platforms=[docker_build.Platform.LINUX_ARM64], push=True, build_on_preview=False,
            tags=[pulumi.Output.format("{0}:{1}", repository.repository_url, source_digest(source))],
            registries=[{"address": repository.repository_url, "username": token.user_name,
                         "password": pulumi.Output.secret(token.password)}], opts=self._child)
        return _Image(repository, pulumi.Output.format("{0}@{1}", repository.repository_url, image.digest))

    def _roles(self, table: aws.dynamodb.Table, repository: aws.ecr.Repository,
               log_group: aws.cloudwatch.LogGroup) -> _Roles:
        """Execution role: pull this image, write this log group. Task role: this table only."""
        trust = service_trust_policy("ecs-tasks.amazonaws.com")
        execution = aws.iam.Role(f"{self._name}-execution-role", assume_role_policy=trust, opts=self._child)
        aws.iam.RolePolicy(f"{self._name}-execution-policy", role=execution.id, policy=policy_document([
            allow(["ecr:GetAuthorizationToken"], ["*"], sid="RegistryLoginUnscopable"),
            allow(IMAGE_PULL_ACTIONS, [repository.arn], sid="PullOwnImage"),
            allow(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.Output.format("{0}:*", log_group.arn)],
                  sid="WriteOwnLogs")]), opts=self._child)
        task = aws.iam.Role(f"{self._name}-task-role", assume_role_policy=trust, opts=self._child)
        aws.iam.RolePolicy(f"{self._name}-task-policy", role=task.id, policy=policy_document([
            allow(TABLE_ACTIONS, [table.arn, pulumi.Output.format("{0}/index/*", table.arn)], sid="CatalogTable")]),
            opts=self._child)
        return _Roles(execution, task)

    def _task_definition(self, s: ResolvedCatalogService, image: _Image, roles: _Roles, table: aws.dynamodb.Table,
                         log_group: aws.cloudwatch.LogGroup) -> aws.ecs.TaskDefinition:
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        health = (f"python -c \"import urllib.request; urllib.request.urlopen("
                  f"'http://127.0.0.1:{APP_PORT}{s.health_check_path}', timeout=2)\"")
        containers = pulumi.Output.json_dumps([{
            "name": CONTAINER_NAME, "image": image.ref, "essential": True,
            "portMappings": [{"containerPort": APP_PORT, "protocol": "tcp"}],
            # catalog_app reads only this (the port is the image's own).
            "environment": [{"name": "CATALOG_TABLE", "value": table.name}],
            "healthCheck": {"command": ["CMD-SHELL", health], "interval": 15, "timeout": 5, "retries": 3,
                            "startPeriod": 30},
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": log_group.name, "awslogs-region": region, "awslogs-stream-prefix": "catalog"}},
        }])
        return aws.ecs.TaskDefinition(
            f"{self._name}-task", family=f"{self._name}-catalog", network_mode="awsvpc",
            requires_compatibilities=["FARGATE"], cpu=str(s.cpu), memory=str(s.memory_mb),
            runtime_platform={"cpu_architecture": "ARM64", "operating_system_family": "LINUX"},
            execution_role_arn=roles.execution.arn, task_role_arn=roles.task.arn, container_definitions=containers,
            # A rollback returns to the previous revision: keep it registered (ACTIVE) when this one replaces it.
            skip_destroy=True, opts=self._child)

    def _task_security_group(self, s: ResolvedCatalogService, front: FrontDoor) -> aws.ec2.SecurityGroup:
        group = aws.ec2.SecurityGroup(f"{self._name}-tasks", vpc_id=s.vpc_id,
                                      description=f"{self._name} tasks: from the ALB only", opts=self._child)
        alb_to_targets(self._name, self, front.security_group, group.id, APP_PORT)
        https_egress(f"{self._name}-tasks", self, group.id)
        return group

    def _service(self, s: ResolvedCatalogService, task_definition: aws.ecs.TaskDefinition, front: FrontDoor,
                 tasks_sg: aws.ec2.SecurityGroup) -> tuple[aws.ecs.Cluster, aws.ecs.Service]:
        cluster = aws.ecs.Cluster(f"{self._name}-cluster", settings=[{"name": "containerInsights",
                                                                      "value": "enabled"}], opts=self._child)
        service = aws.ecs.Service(
            f"{self._name}-service", cluster=cluster.arn, task_definition=task_definition.arn,
            launch_type="FARGATE", platform_version="LATEST", desired_count=s.desired_count,
            network_configuration={"subnets": s.private_subnet_ids, "security_groups": [tasks_sg.id],
                                   "assign_public_ip": False},
            load_balancers=[{"target_group_arn": front.target_group.arn, "container_name": CONTAINER_NAME,
                             "container_port": APP_PORT}],
            deployment_circuit_breaker={"enable": True, "rollback": True},
            deployment_minimum_healthy_percent=100, deployment_maximum_percent=200,
            health_check_grace_period_seconds=60, wait_for_steady_state=True, propagate_tags="SERVICE",
            enable_execute_command=False,
            # Autoscaling owns the count after the first deploy; the target group needs its listener first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[front.https_listener],
                                        ignore_changes=["desiredCount"]))
        return cluster, service

    def _autoscaling(self, s: ResolvedCatalogService, cluster: aws.ecs.Cluster, service: aws.ecs.Service,
                     front: FrontDoor) -> None:
        target = aws.appautoscaling.Target(
            f"{self._name}-scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.format("service/{0}/{1}", cluster.name, service.name),
            min_capacity=s.min_tasks, max_capacity=s.max_tasks, opts=self._child)
        tracking = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs
        metric = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs
        label = pulumi.Output.format("{0}/{1}", front.load_balancer.arn_suffix, front.target_group.arn_suffix)
        policies = (("cpu", metric(predefined_metric_type="ECSServiceAverageCPUUtilization"), s.cpu_target_percent),
                    ("requests", metric(predefined_metric_type="ALBRequestCountPerTarget", resource_label=label),
                     s.requests_per_target))
        for key, specification, value in policies:
            aws.appautoscaling.Policy(
                f"{self._name}-{key}", policy_type="TargetTrackingScaling", resource_id=target.resource_id,
                scalable_dimension=target.scalable_dimension, service_namespace=target.service_namespace,
                target_tracking_scaling_policy_configuration=tracking(
                    predefined_metric_specification=specification, target_value=value,
                    scale_in_cooldown=120, scale_out_cooldown=60), opts=self._child)

    def _rollout_check(self, cluster: aws.ecs.Cluster, service: aws.ecs.Service,
                       task_definition: aws.ecs.TaskDefinition) -> pulumi.Output[str]:
        """After the service's update returns: fail the deployment if ECS runs another task definition."""
        live = aws.ecs.get_service_output(cluster_arn=cluster.arn, service_name=service.name,
                                          opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[service]))
        return pulumi.Output.all(service.name, task_definition.arn, live.task_definition).apply(
            lambda found: confirm_rollout(*found))
