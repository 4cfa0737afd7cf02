"""ServiceNetwork: the VPC the microservices run in, and the HTTPS front door their ALBs share.

    10.x.0.0/16, 2 AZs (dev) or 3 (prod)
    ├ public   /24 per AZ   ALBs, NAT gateways (prod)           ── IGW
    ├ private  /20 per AZ   Fargate tasks, Lambda ENIs, EC2     ── NAT per AZ (prod) or none (dev)
    └ isolated /24 per AZ   RDS, ElastiCache                    ── no route out at all
    gateway endpoints:   S3, DynamoDB (free; ECR image layers come from S3)
    interface endpoints: ecr.api, ecr.dkr, logs, secretsmanager, ssm, ssmmessages, ec2messages, sts
                         (+ execute-api with private_api_endpoint), in the private subnets, private DNS on
    flow logs (ALL) -> CloudWatch Logs; the default security group keeps no rules

Nothing here reads config: the services take its ids as plain args, so a caller can bring their own VPC.
`https_front_door()` is the ALB every HTTP service of this package puts in front (catalog, checkout).
"""
import ipaddress
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
from .args import ArgsReader
from .iam import allow, policy_document, service_trust_policy
from .secure_bucket import SecureBucket

NAT_MODES = ("none", "per_az")
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "ssm", "ssmmessages", "ec2messages", "sts")
"""What the services need without a NAT: image pulls, logs, secrets, Session Manager, role credentials."""
OPTIONAL_INTERFACE_ENDPOINTS = ("execute-api", "elasticache", "rds", "ecs", "ecs-agent", "ecs-telemetry",
                                "kms", "monitoring", "autoscaling")
GATEWAY_ENDPOINTS = ("s3", "dynamodb")
TLS13_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# ALB and target group names: <= 32 characters; Pulumi auto-naming appends "-" and 7 characters.
LOAD_BALANCER_NAME_LIMIT = 32
AUTONAME_SUFFIX = 8
# Accounts ALB access logs are written by, in regions older than August 2022 (newer ones use the
# logdelivery.elasticloadbalancing.amazonaws.com principal, which this policy also allows).
ELB_LOG_ACCOUNTS = {
    "us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
    "us-west-2": "797873946194", "af-south-1": "098369216593", "ap-east-1": "754344448648",
    "ap-south-1": "718504428378", "ap-northeast-1": "582318560864", "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331", "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251", "eu-central-1": "054676820928", "eu-west-1": "156460612806",
    "eu-west-2": "652711504416", "eu-west-3": "009996457667", "eu-north-1": "897822967062",
    "eu-south-1": "635631232127", "me-south-1": "076674570225", "sa-east-1": "507241528517",
}


class ServiceNetworkArgs(TypedDict, total=False):
    cidr_block: str
    """The VPC's /16 (default 10.40.0.0/16)."""
    availability_zones: int
    """AZs to spread over: 2 (default, dev) or 3 (prod)."""
    nat: str
    """none (default: endpoints only, no internet from private subnets) or per_az (one NAT gateway per AZ)."""
    interface_endpoints: Sequence[str]
    """Interface endpoints in the private subnets (default: ECR api/dkr, logs, secretsmanager, SSM x3, sts)."""
    private_api_endpoint: bool
    """Add the execute-api endpoint (for PRIVATE API Gateway APIs; it hides public execute-api names)."""
    flow_log_retention_days: int
    """Retention of the flow log group (default 30)."""


DEFAULTS: dict[str, Any] = {
    "cidr_block": "10.40.0.0/16", "availability_zones": 2, "nat": "none",
    "interface_endpoints": list(INTERFACE_ENDPOINTS), "private_api_endpoint": False,
    "flow_log_retention_days": 30,
}


@dataclass(frozen=True)
class ResolvedServiceNetwork:
    cidr_block: str
    availability_zones: int
    nat: str
    interface_endpoints: tuple[str, ...]
    flow_log_retention_days: int


def _is_slash_16(value: str) -> bool:
    try:
        network = ipaddress.ip_network(value)
    except ValueError:
        return False
    return network.version == 4 and network.prefixlen == 16 and network.is_private


def resolve_args(name: str, args: Optional[ServiceNetworkArgs]) -> ResolvedServiceNetwork:
    """The caller's args merged over DEFAULTS and checked; raises ArgsError naming the arg."""
    r = ArgsReader("ServiceNetwork", name, args, ServiceNetworkArgs, DEFAULTS)
    allowed = INTERFACE_ENDPOINTS + OPTIONAL_INTERFACE_ENDPOINTS
    endpoints = r.strings("interface_endpoints", check=lambda s: s in allowed, distinct=True,
                          expected=f"a list of endpoint services from {', '.join(allowed)}")
    if r.flag("private_api_endpoint") and "execute-api" not in endpoints:
        endpoints.append("execute-api")
    return ResolvedServiceNetwork(
        cidr_block=r.string("cidr_block", check=_is_slash_16, expected="a private IPv4 /16 such as 10.40.0.0/16"),
        availability_zones=r.integer("availability_zones", low=2, high=3),
        nat=r.choice("nat", NAT_MODES),
        interface_endpoints=tuple(endpoints),
        flow_log_retention_days=defaults.read_log_retention(r, "flow_log_retention_days"))


def subnet_cidrs(cidr_block: str, zones: int) -> dict[str, list[str]]:
    """Per tier, one CIDR per AZ: public x.y.<az>.0/24, private x.y.<16(az+1)>.0/20, isolated x.y.<200+az>.0/24."""
    base = ipaddress.ip_network(cidr_block)
    at = lambda third, prefix: str(ipaddress.ip_network(  # noqa: E731
        (int(base.network_address) + third * 256, prefix)))
    return {"public": [at(az, 24) for az in range(zones)],
            "private": [at(16 * (az + 1), 20) for az in range(zones)],
            "isolated": [at(200 + az, 24) for az in range(zones)]}


class _Subnets(NamedTuple):
    public: list[aws.ec2.Subnet]
    private: list[aws.ec2.Subnet]
    isolated: list[aws.ec2.Subnet]
    private_route_tables: list[aws.ec2.RouteTable]
    isolated_route_table: aws.ec2.RouteTable
    public_route_table: aws.ec2.RouteTable


class _GatewayEndpoints(NamedTuple):
    s3_prefix_list_id: pulumi.Output[str]
    dynamodb_prefix_list_id: pulumi.Output[str]


class ServiceNetwork(pulumi.ComponentResource):
    """A three-tier VPC with flow logs, endpoints and (optionally) one NAT gateway per AZ."""

    vpc_id: pulumi.Output[str]
    """The VPC's id."""
    cidr_block: pulumi.Output[str]
    """The VPC's CIDR."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Public subnets, one per AZ (ALBs, NAT gateways)."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Private subnets, one per AZ (tasks, functions, instances)."""
    isolated_subnet_ids: pulumi.Output[list[str]]
    """Isolated subnets, one per AZ, no route out (databases, caches)."""
    endpoint_security_group_id: pulumi.Output[str]
    """Security group of the interface endpoints (HTTPS from the VPC)."""
    s3_prefix_list_id: pulumi.Output[str]
    """Prefix list of the S3 gateway endpoint (for security group egress)."""
    dynamodb_prefix_list_id: pulumi.Output[str]
    """Prefix list of the DynamoDB gateway endpoint."""
    nat_gateway_count: pulumi.Output[int]
    """NAT gateways created (0 with nat=none)."""
    execute_api_endpoint_ids: pulumi.Output[list[str]]
    """The execute-api interface endpoint with private_api_endpoint, else none: a PRIVATE API's
    vpc_endpoint_ids (CartService's)."""

    def __init__(self, name: str, args: ServiceNetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        s = resolve_args(name, args)
        super().__init__("serverless-blueprints:index:ServiceNetwork", name, None, opts)
        self._name, self._child = name, pulumi.ResourceOptions(parent=self)
        self._region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region

        self.vpc = aws.ec2.Vpc(name, cidr_block=s.cidr_block, enable_dns_support=True, enable_dns_hostnames=True,
                               tags={"Name": name}, opts=self._child)
        self._lock_default_security_group()
        self._flow_logs(s)
        subnets = self._subnets(s)
        nat_count = self._nat_gateways(s, subnets)
        gateways = self._gateway_endpoints(subnets)
        endpoint_sg, endpoints = self._interface_endpoints(s, subnets)

        self.vpc_id = self.vpc.id
        self.cidr_block = self.vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.all(*[x.id for x in subnets.public])
        self.private_subnet_ids = pulumi.Output.all(*[x.id for x in subnets.private])
        self.isolated_subnet_ids = pulumi.Output.all(*[x.id for x in subnets.isolated])
        self.endpoint_security_group_id = endpoint_sg.id
        self.s3_prefix_list_id = gateways.s3_prefix_list_id
        self.dynamodb_prefix_list_id = gateways.dynamodb_prefix_list_id
        self.nat_gateway_count = pulumi.Output.from_input(nat_count)
        execute_api = endpoints.get("execute-api")
        self.execute_api_endpoint_ids = pulumi.Output.all(*([execute_api.id] if execute_api else []))
        self.register_outputs({
            "vpc_id": self.vpc_id, "cidr_block": self.cidr_block, "public_subnet_ids": self.public_subnet_ids,
            "private_subnet_ids": self.private_subnet_ids, "isolated_subnet_ids": self.isolated_subnet_ids,
            "endpoint_security_group_id": self.endpoint_security_group_id,
            "s3_prefix_list_id": self.s3_prefix_list_id, "dynamodb_prefix_list_id": self.dynamodb_prefix_list_id,
            "nat_gateway_count": self.nat_gateway_count, "execute_api_endpoint_ids": self.execute_api_endpoint_ids})

    def _lock_default_security_group(self) -> aws.ec2.DefaultSecurityGroup:
        """Adopt the VPC's default group and strip its rules, so nothing lands in an open group by accident."""
        return aws.ec2.DefaultSecurityGroup(f"{self._name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[],
                                            opts=self._child)

    def _flow_logs(self, s: ResolvedServiceNetwork) -> aws.ec2.FlowLog:
        group = aws.cloudwatch.LogGroup(f"{self._name}-flow-logs", retention_in_days=s.flow_log_retention_days,
                                        opts=self._child)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        role = aws.iam.Role(f"{self._name}-flow-logs", assume_role_policy=service_trust_policy(
            "vpc-flow-logs.amazonaws.com", {"StringEquals": {"aws:SourceAccount": account}}), opts=self._child)
        policy = aws.iam.RolePolicy(f"{self._name}-flow-logs", role=role.id, policy=policy_document([allow(
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            [group.arn, pulumi.Output.format("{0}:*", group.arn)], sid="WriteFlowLogs")]), opts=self._child)
        return aws.ec2.FlowLog(f"{self._name}-flow-log", vpc_id=self.vpc.id, traffic_type="ALL",
                               log_destination_type="cloud-watch-logs", log_destination=group.arn,
                               iam_role_arn=role.arn, max_aggregation_interval=60,
                               opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))

    def _subnets(self, s: ResolvedServiceNetwork) -> _Subnets:
        zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
        cidrs = subnet_cidrs(s.cidr_block, s.availability_zones)
        gateway = aws.ec2.InternetGateway(f"{self._name}-igw", vpc_id=self.vpc.id, opts=self._child)
        public_routes = aws.ec2.RouteTable(f"{self._name}-public", vpc_id=self.vpc.id, routes=[
            {"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}], opts=self._child)
        isolated_routes = aws.ec2.RouteTable(f"{self._name}-isolated", vpc_id=self.vpc.id, opts=self._child)
        tiers: dict[str, list[aws.ec2.Subnet]] = {"public": [], "private": [], "isolated": []}
        private_routes = []
        for az in range(s.availability_zones):
            private_table = aws.ec2.RouteTable(f"{self._name}-private-{az}", vpc_id=self.vpc.id, opts=self._child)
            private_routes.append(private_table)
            for tier, table in (("public", public_routes), ("private", private_table), ("isolated", isolated_routes)):
                subnet = aws.ec2.Subnet(
                    f"{self._name}-{tier}-{az}", vpc_id=self.vpc.id, cidr_block=cidrs[tier][az],
                    availability_zone=zones.names[az], map_public_ip_on_launch=False,
                    tags={"Name": f"{self._name}-{tier}-{az}", "tier": tier}, opts=self._child)
                aws.ec2.RouteTableAssociation(f"{self._name}-{tier}-{az}", subnet_id=subnet.id,
                                              route_table_id=table.id, opts=self._child)
                tiers[tier].append(subnet)
        return _Subnets(tiers["public"], tiers["private"], tiers["isolated"], private_routes, isolated_routes,
                        public_routes)

    def _nat_gateways(self, s: ResolvedServiceNetwork, subnets: _Subnets) -> int:
        """One NAT gateway per AZ, each AZ's private subnet routed through its own (no cross-AZ failure)."""
        if s.nat == "none":
            return 0
        for az, (public, table) in enumerate(zip(subnets.public, subnets.private_route_tables)):
            address = aws.ec2.Eip(f"{self._name}-nat-{az}", domain="vpc", opts=self._child)
            nat = aws.ec2.NatGateway(f"{self._name}-nat-{az}", subnet_id=public.id, allocation_id=address.id,
                                     opts=self._child)
            aws.ec2.Route(f"{self._name}-private-{az}-default", route_table_id=table.id,
                          destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=self._child)
        return len(subnets.public)

    def _gateway_endpoints(self, subnets: _Subnets) -> _GatewayEndpoints:
        tables = [t.id for t in subnets.private_route_tables] + [subnets.isolated_route_table.id]
        found = {service: aws.ec2.VpcEndpoint(
            f"{self._name}-{service}", vpc_id=self.vpc.id, vpc_endpoint_type="Gateway",
            service_name=pulumi.Output.format("com.amazonaws.{0}.{1}", self._region, service),
            route_table_ids=tables, opts=self._child) for service in GATEWAY_ENDPOINTS}
        return _GatewayEndpoints(found["s3"].prefix_list_id, found["dynamodb"].prefix_list_id)

    def _interface_endpoints(self, s: ResolvedServiceNetwork,
                             subnets: _Subnets) -> tuple[aws.ec2.SecurityGroup, dict[str, aws.ec2.VpcEndpoint]]:
        group = aws.ec2.SecurityGroup(f"{self._name}-endpoints", vpc_id=self.vpc.id,
                                      description="Interface endpoints: HTTPS from inside the VPC", opts=self._child)
        aws.vpc.SecurityGroupIngressRule(f"{self._name}-endpoints-https", security_group_id=group.id,
                                         cidr_ipv4=s.cidr_block, ip_protocol="tcp", from_port=443, to_port=443,
                                         description="HTTPS from the VPC", opts=self._child)
        endpoints = {service: aws.ec2.VpcEndpoint(
            f"{self._name}-{service.replace('.', '-')}", vpc_id=self.vpc.id, vpc_endpoint_type="Interface",
            service_name=pulumi.Output.format("com.amazonaws.{0}.{1}", self._region, service),
            private_dns_enabled=True, subnet_ids=[x.id for x in subnets.private],
            security_group_ids=[group.id], opts=self._child) for service in s.interface_endpoints}
        return group, endpoints


# --- the HTTPS front door of an HTTP service (shared by CatalogService and CheckoutService) ----------

def check_load_balancer_name(logical: str) -> Optional[str]:
    """The problem with an ALB / target group logical name whose auto-named form AWS would reject, or None."""
    if len(logical) + AUTONAME_SUFFIX > LOAD_BALANCER_NAME_LIMIT:
        return (f"{logical!r} is {len(logical)} characters: ALB and target group names are at most "
                f"{LOAD_BALANCER_NAME_LIMIT} and auto-naming adds {AUTONAME_SUFFIX}; shorten the component name")
    return None


class FrontDoor(NamedTuple):
    load_balancer: aws.lb.LoadBalancer
    security_group: aws.ec2.SecurityGroup
    target_group: aws.lb.TargetGroup
    https_listener: aws.lb.Listener
    log_bucket: SecureBucket


def https_front_door(name: str, parent: pulumi.Resource, *, vpc_id: pulumi.Input[str],
                     subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]], internal: bool,
                     certificate_arn: pulumi.Input[str], target_port: int, target_type: str, health_check_path: str,
                     web_acl_arn: Optional[pulumi.Input[str]], deletion_protection: bool,
                     ingress_cidrs: Sequence[str]) -> FrontDoor:
    """An HTTPS-only ALB: TLS 1.3 policy, 80 only redirects to 443, invalid headers dropped, access logs, WAF.

    With deletion_protection the ALB refuses deletion and its logs are kept on destroy.

    The ALB's group admits 443 (and 80, to redirect) from `ingress_cidrs` and may only reach the targets'
    port; the caller adds the matching ingress on the targets' group (`alb_to_targets`).
    """
    child = pulumi.ResourceOptions(parent=parent)
    region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=parent)).region
    account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id
    logs = SecureBucket(f"{name}-alb-logs", {"defer_policy": True, "force_destroy": not deletion_protection,
                                             "expire_objects_after_days": defaults.ACCESS_LOG_EXPIRATION_DAYS},
                        opts=child)
    log_objects = pulumi.Output.format("{0}/alb/AWSLogs/{1}/*", logs.arn, account)
    writers = region.apply(lambda r: {"Service": "logdelivery.elasticloadbalancing.amazonaws.com",
                                      **({"AWS": f"arn:aws:iam::{ELB_LOG_ACCOUNTS[r]}:root"}
                                         if r in ELB_LOG_ACCOUNTS else {})})
    policy = logs.attach_policy([{"Sid": "AlbAccessLogs", "Effect": "Allow", "Principal": writers,
                                  "Action": "s3:PutObject", "Resource": log_objects}])

    group = aws.ec2.SecurityGroup(f"{name}-alb-sg", vpc_id=vpc_id, description=f"{name} ALB: HTTPS in, targets out",
                                  opts=child)
    for port in (443, 80):
        for index, cidr in enumerate(ingress_cidrs):
            aws.vpc.SecurityGroupIngressRule(f"{name}-alb-{port}-{index}", security_group_id=group.id,
                                             cidr_ipv4=cidr, ip_protocol="tcp", from_port=port, to_port=port,
                                             description="HTTPS" if port == 443 else "HTTP, redirected to HTTPS",
                                             opts=child)
    load_balancer = aws.lb.LoadBalancer(
        f"{name}-alb", load_balancer_type="application", internal=internal, security_groups=[group.id],
        subnets=subnet_ids, drop_invalid_header_fields=True, enable_deletion_protection=deletion_protection,
        access_logs={"bucket": logs.name, "prefix": "alb", "enabled": True},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]))
    target_group = aws.lb.TargetGroup(
        f"{name}-tg", vpc_id=vpc_id, port=target_port, protocol="HTTP", target_type=target_type,
        deregistration_delay=30,
        health_check={"path": health_check_path, "matcher": "200", "protocol": "HTTP", "interval": 15,
                      "healthy_threshold": 2, "unhealthy_threshold": 3, "timeout": 5}, opts=child)
    https = aws.lb.Listener(
        f"{name}-https", load_balancer_arn=load_balancer.arn, port=443, protocol="HTTPS",
        ssl_policy=TLS13_POLICY, certificate_arn=certificate_arn,
        default_actions=[{"type": "forward", "target_group_arn": target_group.arn}], opts=child)
    aws.lb.Listener(
        f"{name}-http", load_balancer_arn=load_balancer.arn, port=80, protocol="HTTP",
        default_actions=[{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443",
                                                           "status_code": "HTTP_301"}}], opts=child)
    if web_acl_arn is not None:
        aws.wafv2.WebAclAssociation(f"{name}-waf", resource_arn=load_balancer.arn, web_acl_arn=web_acl_arn,
                                    opts=child)
    return FrontDoor(load_balancer, group, target_group, https, logs)


def alb_to_targets(name: str, parent: pulumi.Resource, alb_group: aws.ec2.SecurityGroup,
                   target_group_id: pulumi.Input[str], port: int) -> None:
    """The only path into the targets: the ALB's group, on the targets' port (egress and ingress)."""
    child = pulumi.ResourceOptions(parent=parent)
    aws.vpc.SecurityGroupEgressRule(f"{name}-alb-to-targets", security_group_id=alb_group.id,
                                    referenced_security_group_id=target_group_id, ip_protocol="tcp",
                                    from_port=port, to_port=port, description="to the targets", opts=child)
    aws.vpc.SecurityGroupIngressRule(f"{name}-targets-from-alb", security_group_id=target_group_id,
                                     referenced_security_group_id=alb_group.id, ip_protocol="tcp",
                                     from_port=port, to_port=port, description="from the ALB only", opts=child)


def https_egress(name: str, parent: pulumi.Resource, group_id: pulumi.Input[str]) -> None:
    """HTTPS out: AWS APIs through the endpoints (or NAT), and the other services' HTTPS names."""
    aws.vpc.SecurityGroupEgressRule(f"{name}-https-out", security_group_id=group_id, cidr_ipv4="0.0.0.0/0",
                                    ip_protocol="tcp", from_port=443, to_port=443,
                                    description="HTTPS: AWS APIs, other services", opts=pulumi.ResourceOptions(
                                        parent=parent))


def port_between(name: str, parent: pulumi.Resource, client_group_id: pulumi.Input[str],
                 server_group_id: pulumi.Input[str], port: int, description: str) -> None:
    """One port from a client group to a server group, and nothing else (e.g. tasks -> Redis)."""
    child = pulumi.ResourceOptions(parent=parent)
    aws.vpc.SecurityGroupEgressRule(f"{name}-out", security_group_id=client_group_id,
                                    referenced_security_group_id=server_group_id, ip_protocol="tcp",
                                    from_port=port, to_port=port, description=description, opts=child)
    aws.vpc.SecurityGroupIngressRule(f"{name}-in", security_group_id=server_group_id,
                                     referenced_security_group_id=client_group_id, ip_protocol="tcp",
                                     from_port=port, to_port=port, description=description, opts=child)
