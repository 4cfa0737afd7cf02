"""CheckoutService: the shop's checkout, a Python wheel on Graviton instances behind an HTTPS-only ALB, on RDS.

    clients ── HTTPS (TLS 1.3 policy; :80 only redirects) ──▶ ALB ── :8080, from the ALB's group only
                                                                        ▼
    artifacts bucket (SecureBucket) ── checkout/<content hash>/<wheel> ─▶ ASG of arm64 instances (private
      ▲ built and uploaded by `pulumi up`                               subnets, no public IP, IMDSv2 only,
                                                                        encrypted EBS, no SSH key, SSM)
                                                                        │ user-data: venv + wheel, systemd
                                                                        │ `checkout-app` on :8080
                      cart API (SigV4, this role's routes only) ◀───────┤
                                                                        │ 5432 only, IAM auth, TLS
                                                                        ▼
    RDS PostgreSQL (isolated subnets): encrypted, master password managed by RDS (Secrets Manager),
    IAM database authentication; prod: Multi-AZ, deletion protection, 7-day backups, Performance
    Insights, final snapshot.

Rollout: a new wheel changes the user data, so the launch template gets a new version and the ASG
starts an instance refresh (min healthy 100 %, up to 200 %: new instances join before old ones leave);
if the target group's 5xx or unhealthy-host alarm fires during it, the refresh rolls back.
"""
import base64
import gzip
import hashlib
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, monitoring
from .args import ArgsError, ArgsReader
from .iam import allow, policy_document, service_trust_policy
from .lambda_packaging import cache_dir
from .secure_bucket import SecureBucket
from .service_domain import ServiceDomainRef, alias_records, read_domain_ref
from .service_network import (FrontDoor, alb_to_targets, check_load_balancer_name, https_egress, https_front_door,
                              port_between)

APP_PORT = 8080
POSTGRES_PORT = 5432
DB_NAME = "checkout"
DB_APP_USER = "checkout_app"
"""The database user the instances connect as with an IAM token (GRANT rds_iam TO checkout_app)."""
DB_ID_LIMIT = 63
AUTONAME_SUFFIX = 8
AL2023_ARM64_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
SSM_MANAGED_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
GRAVITON_INSTANCE_TYPE = re.compile(r"[a-z]+\d+g[a-z]*\.[a-z0-9]+")
DB_INSTANCE_CLASS = re.compile(r"db\.[a-z0-9]+\.[a-z0-9]+")
_IGNORED = {"__pycache__", ".pytest_cache", "build", "dist", ".venv"}
INSTANCE_PYTHON = "3.11"
"""The instances' Python (AL2023's python3.11 package): the wheelhouse is downloaded for it."""
INSTANCE_PLATFORMS = ("manylinux_2_28_aarch64", "manylinux2014_aarch64")


def checkout_source() -> Path:
    """services/checkout/ (pyproject.toml, checkout_app), wherever this package is installed."""
    root = resources.files(f"{__package__}.services")
    if not isinstance(root, Path):
        raise RuntimeError(f"serverless_blueprints.services is at {root}, not in a folder: install unzipped")
    return root / "checkout"


def source_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not _IGNORED & set(p.relative_to(folder).parts)
                       and not p.name.endswith((".pyc", ".egg-info")) and ".egg-info" not in str(p)):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_wheel(source: Path) -> tuple[Path, str]:
    """(the app's wheel, its source hash): built once per source into the cache, never into the package."""
    content = source_hash(source)
    out = cache_dir() / "checkout-wheels" / content
    built = sorted(out.glob("*.whl")) if out.is_dir() else []
    if built:
        return built[0], content
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "src"
        shutil.copytree(source, work, ignore=shutil.ignore_patterns(*_IGNORED, "*.egg-info"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                        "-w", str(Path(scratch) / "dist"), str(work)], check=True)
        (wheel,) = (Path(scratch) / "dist").glob("*.whl")
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy2(wheel, out / wheel.name)
    return out / wheel.name, content


def build_wheelhouse(wheel: Path, content: str) -> Path:
    """The wheel's dependency closure as arm64 / CPython 3.11 wheels in one tarball (cached per source hash).

    Instances then install with `pip --no-index`: no PyPI, so no NAT, at boot. Pin the app's whole closure
    in its pyproject.toml for the same bytes on every machine.
    """
    bundle = wheel.parent / "wheelhouse.tar.gz"
    if bundle.is_file():
        return bundle
    with tempfile.TemporaryDirectory() as scratch:
        house = Path(scratch) / "wheelhouse"
        platforms = [arg for platform in INSTANCE_PLATFORMS for arg in ("--platform", platform)]
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", *platforms,
                        "--python-version", INSTANCE_PYTHON, "--implementation", "cp", "-d", str(house), str(wheel)],
                       check=True)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for path in sorted(house.glob("*.whl")):
                info = tarfile.TarInfo(f"wheelhouse/{path.name}")
                info.size, info.mode = path.stat().st_size, 0o644
                archive.addfile(info, path.open("rb"))
        partial = bundle.with_name(f".{bundle.name}.tmp")
        partial.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
        partial.replace(bundle)
    return bundle


class CheckoutServiceArgs(TypedDict, total=False):
    vpc_id: Required[pulumi.Input[str]]
    """The VPC (a ServiceNetwork's vpc_id, or your own)."""
    public_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of an internet-facing ALB (required unless internal)."""
    private_subnet_ids: Required[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Subnets of the instances."""
    database_subnet_ids: Required[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Subnets of the database (isolated, at least two AZs)."""
    domain: Required[ServiceDomainRef]
    """Hostname, regional certificate and hosted zone(s) of the service."""
    internal: bool
    """Internal ALB (default false)."""
    instance_type: str
    """Graviton instance type (default t4g.small)."""
    min_instances: int
    """ASG minimum (default 1; 2+ in prod)."""
    max_instances: int
    """ASG maximum (default 2)."""
    min_healthy_percentage: int
    """Instance refresh: capacity kept in service, 0-100 (default 100)."""
    bundle_dependencies: bool
    """Upload the wheel's dependencies (arm64 wheels) beside it, so instances need no PyPI (default true);
    false: pip fetches them from PyPI at boot, through a NAT."""
    cart_url: Required[pulumi.Input[str]]
    """Base URL of the cart API the app calls (CART_URL): CartService's url. https://, so calls are SigV4-signed."""
    cart_invoke_arns: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """execute-api ARNs the instances may invoke: CartService's invoke_arns."""
    db_instance_class: str
    """Database instance class (default db.t4g.micro)."""
    db_allocated_storage_gb: int
    """Initial storage (default 20; grows up to 5x on its own)."""
    db_multi_az: bool
    """Standby in a second AZ (prod)."""
    db_backup_retention_days: int
    """Automated backups kept, 1-35 (default 1; prod 7)."""
    db_performance_insights: bool
    """Performance Insights (prod; not on the micro classes)."""
    ingress_cidrs: Sequence[str]
    """Who may reach the ALB (default anywhere)."""
    web_acl_arn: Optional[pulumi.Input[str]]
    """A REGIONAL WAFv2 web ACL to associate with the ALB."""
    alarms: Optional[monitoring.AlarmsArgs]
    """The alarm topic and threshold overrides (ALARM_THRESHOLDS); without it, the rollout alarms (which roll an
    instance refresh back) notify no one and there is no dashboard."""
    log_retention_days: int
    """Retention of the database's log export (default 30)."""
    deletion_protection: bool
    """Database deletion protection and a final snapshot; keep the artifacts and logs (prod)."""


DEFAULTS: dict[str, Any] = {
    "public_subnet_ids": None, "internal": False, "instance_type": "t4g.small", "min_instances": 1,
    "max_instances": 2, "min_healthy_percentage": 100, "bundle_dependencies": True, "cart_invoke_arns": None,
    "db_instance_class": "db.t4g.micro", "db_allocated_storage_gb": 20, "db_multi_az": False,
    "db_backup_retention_days": 1, "db_performance_insights": False, "ingress_cidrs": ["0.0.0.0/0"],
    "web_acl_arn": None, "alarms": None, "log_retention_days": 30, "deletion_protection": False,
}

ALARM_THRESHOLDS = monitoring.thresholds(monitoring.LOAD_BALANCER, monitoring.RDS)
"""The targets' 5xx and unhealthy targets (also what rolls an instance refresh back), the database's CPU and free
storage."""


@dataclass(frozen=True)
class ResolvedCheckoutService:
    vpc_id: pulumi.Input[str]
    alb_subnet_ids: Any
    private_subnet_ids: Any
    database_subnet_ids: Any
    domain: dict
    internal: bool
    instance_type: str
    min_instances: int
    max_instances: int
    min_healthy_percentage: int
    bundle_dependencies: bool
    cart_url: pulumi.Input[str]
    cart_invoke_arns: Optional[pulumi.Input[Sequence[pulumi.Input[str]]]]
    db_instance_class: str
    db_allocated_storage_gb: int
    db_multi_az: bool
    db_backup_retention_days: int
    db_performance_insights: bool
    ingress_cidrs: tuple[str, ...]
    web_acl_arn: Optional[pulumi.Input[str]]
    alarms: Optional[monitoring.ResolvedAlarms]
    log_retention_days: int
    deletion_protection: bool


def resolve_args(name: str, args: Optional[CheckoutServiceArgs]) -> ResolvedCheckoutService:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("CheckoutService", name, args, CheckoutServiceArgs, DEFAULTS)
    internal = r.flag("internal")
    if not internal and not r.given("public_subnet_ids"):
        r.fail("public_subnet_ids", "required for an internet-facing ALB (or set internal=True)")
    for logical in (f"{name}-alb", f"{name}-tg"):
        problem = check_load_balancer_name(logical)
        if problem:
            raise ArgsError(r.owner, (), problem)
    if len(f"{name}-db") + AUTONAME_SUFFIX > DB_ID_LIMIT:
        raise ArgsError(r.owner, (), f"'{name}-db' + {AUTONAME_SUFFIX} auto-name characters exceeds the RDS "
                                     f"identifier limit of {DB_ID_LIMIT}; shorten the component name")
    sizes = (r.integer("min_instances", low=1, high=20), r.integer("max_instances", low=1, high=20))
    if sizes[0] > sizes[1]:
        r.fail("min_instances", f"{sizes[0]} is above max_instances {sizes[1]}")
    domain = read_domain_ref(r)
    if domain is None:
        r.fail("domain", "required: the HTTPS-only ALB needs a hostname and its certificate")
    instance_class = r.string("db_instance_class", check=DB_INSTANCE_CLASS.fullmatch,
                              expected="an RDS instance class such as db.t4g.micro")
    insights = r.flag("db_performance_insights")
    if insights and instance_class.endswith((".micro", ".small")):
        r.fail("db_performance_insights", f"{instance_class} does not support Performance Insights; use "
                                          f"db.t4g.medium or larger")
    return ResolvedCheckoutService(
        vpc_id=r.input("vpc_id"),
        alb_subnet_ids=r.input("private_subnet_ids") if internal else r.input("public_subnet_ids"),
        private_subnet_ids=r.input("private_subnet_ids"), database_subnet_ids=r.input("database_subnet_ids"),
        domain=domain, internal=internal,
        instance_type=r.string("instance_type", check=GRAVITON_INSTANCE_TYPE.fullmatch,
                               expected="a Graviton (arm64) instance type such as t4g.small"),
        min_instances=sizes[0], max_instances=sizes[1],
        min_healthy_percentage=r.integer("min_healthy_percentage", low=0, high=100),
        bundle_dependencies=r.flag("bundle_dependencies"),
        cart_url=r.string("cart_url", check=lambda u: u.startswith("https://"), expected="an https:// URL"),
        cart_invoke_arns=r.input("cart_invoke_arns"),
        db_instance_class=instance_class,
        db_allocated_storage_gb=r.integer("db_allocated_storage_gb", low=20, high=65536),
        db_multi_az=r.flag("db_multi_az"),
        db_backup_retention_days=r.integer("db_backup_retention_days", low=1, high=35),
        db_performance_insights=insights,
        ingress_cidrs=tuple(r.strings("ingress_cidrs", min_items=1, expected="a list of IPv4 CIDRs")),
        web_acl_arn=r.input("web_acl_arn"), alarms=monitoring.read_alarms(r, ALARM_THRESHOLDS),
        log_retention_days=defaults.read_log_retention(r), deletion_protection=r.flag("deletion_protection"))


class _Artifact(NamedTuple):
    bucket: SecureBucket
    key: pulumi.Output[str]
    wheelhouse_key: str
    """"" when the dependencies come from PyPI."""


class _Groups(NamedTuple):
    instances: aws.ec2.SecurityGroup
    database: aws.ec2.SecurityGroup


class CheckoutService(pulumi.ComponentResource):
    """An ASG of Graviton instances running a wheel under systemd, behind an HTTPS-only ALB, on RDS."""

    url: pulumi.Output[str]
    """https://<domain>."""
    load_balancer_dns_name: pulumi.Output[str]
    """The ALB's own DNS name."""
    artifact_bucket_name: pulumi.Output[str]
    """Bucket holding the app's wheels."""
    artifact_key: pulumi.Output[str]
    """Key of the wheel the instances run (checkout/<content hash>/<wheel>)."""
    auto_scaling_group_name: pulumi.Output[str]
    """The instances' group."""
    database_endpoint: pulumi.Output[str]
    """host:port of the database."""
    database_master_secret_arn: pulumi.Output[str]
    """Secrets Manager secret of the master user (managed and rotated by RDS)."""
    instance_role_arn: pulumi.Output[str]
    """The instances' role."""
    dashboard_name: Optional[pulumi.Output[str]]
    """The component's CloudWatch dashboard (with alarms), else None."""

    def __init__(self, name: str, args: CheckoutServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        s = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:CheckoutService", name, None, opts)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)

        artifact = self._artifact(s)
        front = https_front_door(name, self, vpc_id=s.vpc_id, subnet_ids=s.alb_subnet_ids, internal=s.internal,
                                 certificate_arn=s.domain["certificate_arn"], target_port=APP_PORT,
                                 target_type="instance", health_check_path="/health", web_acl_arn=s.web_acl_arn,
                                 deletion_protection=s.deletion_protection, ingress_cidrs=s.ingress_cidrs)
        groups = self._security_groups(s, front)
        database = self._database(s, groups)
        profile, role = self._instance_profile(s, artifact, database)
        template = self._launch_template(s, groups, profile, artifact, database)
        t = s.alarms.thresholds if s.alarms else ALARM_THRESHOLDS
        rollout = monitoring.load_balancer_watches(name, front.load_balancer.arn_suffix, front.target_group.arn_suffix,
                                                   t)
        # Made with or without a topic: an instance refresh rolls back on them.
        alarms = [monitoring.alarm(w, s.alarms, self) for w in rollout]
        group = self._auto_scaling_group(s, template, front, alarms)
        servers = monitoring.autoscaling_group_watch(group._name, group.name, s.min_instances)
        monitored = monitoring.watch(name, s.alarms,
                                     [*monitoring.rds_watches(database._name, database.identifier, t), servers],
                                     parent=self, created=rollout)
        self.dashboard_name = monitored.dashboard_name if monitored else None
        alias_records(name, self, s.domain, front.load_balancer.dns_name, front.load_balancer.zone_id,
                      public=not s.internal)

        self.url = pulumi.Output.format("https://{0}", s.domain["domain_name"])
        self.load_balancer_dns_name = front.load_balancer.dns_name
        self.artifact_bucket_name = artifact.bucket.name
        self.artifact_key = artifact.key
        self.auto_scaling_group_name = group.name
        self.database_endpoint = database.endpoint
        self.database_master_secret_arn = database.master_user_secrets.apply(
            lambda secrets: (secrets[0].secret_arn if secrets else None) or "")
        self.instance_role_arn = role.arn
        self.register_outputs({
            "url": self.url, "load_balancer_dns_name": self.load_balancer_dns_name,
            "artifact_bucket_name": self.artifact_bucket_name, "artifact_key": self.artifact_key,
            "auto_scaling_group_name": self.auto_scaling_group_name, "database_endpoint": self.database_endpoint,
            "database_master_secret_arn": self.database_master_secret_arn,
            "instance_role_arn": self.instance_role_arn})

    def _artifact(self, s: ResolvedCheckoutService) -> _Artifact:
        """The app's wheel in a private, versioned bucket, under a key that changes with its source."""
        bucket = SecureBucket(f"{self._name}-artifacts", {"force_destroy": not s.deletion_protection},
                              opts=self._child)
        wheel, content = build_wheel(checkout_source())
        key = f"checkout/{content}/{wheel.name}"
        aws.s3.BucketObjectv2(f"{self._name}-wheel", bucket=bucket.bucket.id, key=key,
                              source=pulumi.FileAsset(str(wheel)), opts=self._child)
        wheelhouse_key = ""
        if s.bundle_dependencies:
            wheelhouse_key = f"checkout/{content}/wheelhouse.tar.gz"
            aws.s3.BucketObjectv2(f"{self._name}-wheelhouse", bucket=bucket.bucket.id, key=wheelhouse_key,
                                  source=pulumi.FileAsset(str(build_wheelhouse(wheel, content))), opts=self._child)
        return _Artifact(bucket, pulumi.Output.from_input(key), wheelhouse_key)

    def _security_groups(self, s: ResolvedCheckoutService, front: FrontDoor) -> _Groups:
        instances = aws.ec2.SecurityGroup(f"{self._name}-instances", vpc_id=s.vpc_id,
                                          description=f"{self._name} instances: from the ALB only", opts=self._child)
        database = aws.ec2.SecurityGroup(f"{self._name}-db-sg", vpc_id=s.vpc_id,
                                         description=f"{self._name} database: PostgreSQL from the instances only",
                                         opts=self._child)
        alb_to_targets(self._name, self, front.security_group, instances.id, APP_PORT)
        port_between(f"{self._name}-to-db", self, instances.id, database.id, POSTGRES_PORT, "PostgreSQL")
        https_egress(f"{self._name}-instances", self, instances.id)
        return _Groups(instances, database)

    def _database(self, s: ResolvedCheckoutService, groups: _Groups) -> aws.rds.Instance:
        subnets = aws.rds.SubnetGroup(f"{self._name}-db", subnet_ids=s.database_subnet_ids, opts=self._child)
        parameters = aws.rds.ParameterGroup(f"{self._name}-db", family="postgres16",
                                            parameters=[{"name": "rds.force_ssl", "value": "1"}], opts=self._child)
        keep = s.deletion_protection
        return aws.rds.Instance(
            f"{self._name}-db", engine="postgres", engine_version="16", instance_class=s.db_instance_class,
            allocated_storage=s.db_allocated_storage_gb, max_allocated_storage=5 * s.db_allocated_storage_gb,
            storage_type="gp3", storage_encrypted=True, db_name=DB_NAME, username="checkout_admin",
            manage_master_user_password=True, iam_database_authentication_enabled=True,
            db_subnet_group_name=subnets.name, parameter_group_name=parameters.name,
            vpc_security_group_ids=[groups.database.id], publicly_accessible=False, multi_az=s.db_multi_az,
            backup_retention_period=s.db_backup_retention_days, backup_window="02:00-03:00",
            maintenance_window="sun:03:30-sun:04:30", copy_tags_to_snapshot=True,
            performance_insights_enabled=s.db_performance_insights,
            performance_insights_retention_period=7 if s.db_performance_insights else None,
            enabled_cloudwatch_logs_exports=["postgresql"], auto_minor_version_upgrade=True,
            deletion_protection=keep, skip_final_snapshot=not keep,
            final_snapshot_identifier=f"{self._name}-db-final" if keep else None, opts=self._child)

    def _instance_profile(self, s: ResolvedCheckoutService, artifact: _Artifact,
                          database: aws.rds.Instance) -> tuple[aws.iam.InstanceProfile, aws.iam.Role]:
        """Session Manager, this app's wheels, an IAM token for its database user, and the cart's routes."""
        role = aws.iam.Role(f"{self._name}-instance", assume_role_policy=service_trust_policy("ec2.amazonaws.com"),
                            opts=self._child)
        aws.iam.RolePolicyAttachment(f"{self._name}-ssm", role=role.name, policy_arn=SSM_MANAGED_POLICY,
                                     opts=self._child)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        statements = [
            allow(["s3:GetObject"], [pulumi.Output.format("{0}/checkout/*", artifact.bucket.arn)], sid="AppWheels"),
            allow(["rds-db:connect"], [pulumi.Output.format("arn:aws:rds-db:{0}:{1}:dbuser:{2}/{3}", region, account,
                                                            database.resource_id, DB_APP_USER)], sid="DatabaseIamAuth")]
        if s.cart_invoke_arns is not None:
            statements.append({"Sid": "CallCart", "Effect": "Allow", "Action": "execute-api:Invoke",
                               "Resource": s.cart_invoke_arns})
        aws.iam.RolePolicy(f"{self._name}-instance", role=role.id, policy=policy_document(statements),
                           opts=self._child)
        profile = aws.iam.InstanceProfile(f"{self._name}-instance", role=role.name, opts=self._child)
        return profile, role

    def _launch_template(self, s: ResolvedCheckoutService, groups: _Groups, profile: aws.iam.InstanceProfile,
                         artifact: _Artifact, database: aws.rds.Instance) -> aws.ec2.LaunchTemplate:
        invoke = pulumi.InvokeOutputOptions(parent=self)
        ami = aws.ssm.get_parameter_output(name=AL2023_ARM64_AMI_PARAMETER, opts=invoke).insecure_value
        region = aws.get_region_output(opts=invoke).region
        unit = app_unit_file(checkout_source())
        user_data = pulumi.Output.all(bucket=artifact.bucket.name, key=artifact.key, region=region,
                                      host=database.address, cart=s.cart_url).apply(
            lambda v: base64.b64encode(instance_user_data(**v, unit=unit, wheelhouse_key=artifact.wheelhouse_key)
                                       .encode()).decode())
        return aws.ec2.LaunchTemplate(
            f"{self._name}-server", image_id=ami, instance_type=s.instance_type,
            iam_instance_profile={"arn": profile.arn}, vpc_security_group_ids=[groups.instances.id],
            user_data=user_data,
            metadata_options={"http_tokens": "required", "http_endpoint": "enabled",
                              "http_put_response_hop_limit": 1, "instance_metadata_tags": "disabled"},
            block_device_mappings=[{"device_name": "/dev/xvda", "ebs": {
                "encrypted": "true", "volume_type": "gp3", "volume_size": 20, "delete_on_termination": "true"}}],
            monitoring={"enabled": True}, update_default_version=True,
            tag_specifications=[{"resource_type": "instance", "tags": {"Name": f"{self._name}-server"}}],
            opts=self._child)

    def _auto_scaling_group(self, s: ResolvedCheckoutService, template: aws.ec2.LaunchTemplate, front: FrontDoor,
                            alarms: list[aws.cloudwatch.MetricAlarm]) -> aws.autoscaling.Group:
        return aws.autoscaling.Group(
            f"{self._name}-servers", min_size=s.min_instances, max_size=s.max_instances,
            vpc_zone_identifiers=s.private_subnet_ids, target_group_arns=[front.target_group.arn],
            health_check_type="ELB", health_check_grace_period=300,
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            instance_refresh={"strategy": "Rolling", "preferences": {
                "min_healthy_percentage": s.min_healthy_percentage, "max_healthy_percentage": 200,
                "instance_warmup": "120", "auto_rollback": True,
                "alarm_specification": {"alarms": [alarm.name for alarm in alarms]}}},
            tags=[{"key": "Name", "value": f"{self._name}-server", "propagate_at_launch": True}],
            # Group metrics are free: the below-minimum alarm reads GroupInServiceInstances.
            metrics_granularity="1Minute", enabled_metrics=[aws.autoscaling.Metric.GROUP_IN_SERVICE_INSTANCES],
            opts=self._child)


DEFAULT_UNIT = """[Unit]
Description=checkout app
After=network-online.target
Wants=network-online.target
[Service]
User=checkout
Group=checkout
EnvironmentFile=/etc/checkout/env
ExecStart=/opt/checkout/venv/bin/checkout-app
Restart=on-failure
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
[Install]
WantedBy=multi-user.target
"""
"""Used when the app ships no `checkout-app.service` of its own."""


def app_unit_file(source: Path) -> str:
    """The app's own systemd unit (services/checkout/checkout-app.service), else DEFAULT_UNIT."""
    unit = source / "checkout-app.service"
    return unit.read_text() if unit.is_file() else DEFAULT_UNIT


def instance_environment(region: str, host: str, cart: str) -> dict[str, str]:
    """/etc/checkout/env: what checkout_app.settings reads, as the app runs in AWS.

    No secret: the app asks RDS for an IAM token with the instance role's credentials (DB_IAM_AUTH), and
    signs its calls to cart with the same credentials in AWS_REGION (SigV4 is on for an https CART_URL).
    """
    return {"PORT": str(APP_PORT), "AWS_REGION": region, "DB_HOST": host, "DB_PORT": str(POSTGRES_PORT),
            "DB_NAME": DB_NAME, "DB_USER": DB_APP_USER, "DB_IAM_AUTH": "true", "DB_SSLMODE": "require",
            "CART_URL": cart}


def instance_user_data(bucket: str, key: str, region: str, host: str, cart: str, unit: str = DEFAULT_UNIT,
                       wheelhouse_key: str = "") -> str:
    """Boot script: the wheel into a venv, its settings (`instance_environment`) into /etc/checkout/env, run by
    systemd as `checkout`."""
    wheel = key.rsplit("/", 1)[-1]
    environment = "\n".join(f"{name}={value}" for name, value in instance_environment(region, host, cart).items())
    install = f'/opt/checkout/venv/bin/pip install --no-cache-dir "/opt/checkout/{wheel}"'
    if wheelhouse_key:
        install = (f'aws s3 cp "s3://{bucket}/{wheelhouse_key}" /opt/checkout/wheelhouse.tar.gz --region {region}\n'
                   f'tar -xzf /opt/checkout/wheelhouse.tar.gz -C /opt/checkout\n'
                   f'/opt/checkout/venv/bin/pip install --no-cache-dir --no-index '
                   f'--find-links /opt/checkout/wheelhouse "/opt/checkout/{wheel}"')
    return f"""#!/bin/bash
set -euo pipefail
dnf install -y python3.11 python3.11-pip
id checkout >/dev/null 2>&1 || useradd --system --home-dir /opt/checkout --shell /sbin/nologin checkout
install -d -o root -g root -m 0755 /opt/checkout /etc/checkout
aws s3 cp "s3://{bucket}/{key}" "/opt/checkout/{wheel}" --region {region}
python3.11 -m venv /opt/checkout/venv
{install}
cat > /etc/checkout/env <<'ENV'
{environment}
ENV
cat > /etc/systemd/system/checkout-app.service <<'UNIT'
{unit.rstrip()}
UNIT
systemctl daemon-reload
systemctl enable --now checkout-app.service
"""
