"""LambdaFunction: one function from `functions/<name>/`, with its own least-privilege role.

Every function in this project is built here, so each gets the same defaults:
python3.13 on arm64, explicit memory and timeout, active X-Ray tracing, JSON logs
into its own log group with retention, its third-party dependencies in a layer
built for its architecture, and an on-failure destination for async invocations.
"""
from __future__ import annotations

from typing import Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, lambda_packaging
from .iam import PolicyStatement, allow, policy_document, service_trust_policy

# Actions AWS does not let you scope to a resource ARN.
_XRAY_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
_VPC_ENI_ACTIONS = ["ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                    "ec2:DescribeNetworkInterfaces", "ec2:UnassignPrivateIpAddresses"]


class LambdaVpcConfig(TypedDict):
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets the function's network interfaces are placed in."""
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Security groups of the function."""


class LambdaFunctionArgs(TypedDict, total=False):
    code: str
    """Folder name under functions/; the handler is `<code>.handler.handler`."""
    memory_mb: int
    """Memory in MB (also buys CPU)."""
    timeout_seconds: int
    """Timeout; keep under 29 s when API Gateway invokes the function."""
    environment: dict[str, pulumi.Input[str]]
    """Environment variables; configuration only, never secrets."""
    policy_statements: Sequence[PolicyStatement]
    """What the function may do, scoped to ARNs. Logging and tracing are added for you."""
    log_retention_days: int
    """Retention of the function's log group."""
    architecture: str
    """arm64 (default) or x86_64; the dependency layer is built to match."""
    vpc_config: Optional[LambdaVpcConfig]
    """Place the function in a VPC (e.g. to reach DAX)."""
    reserved_concurrency: Optional[int]
    """Cap on concurrent executions, to protect downstream systems."""
    async_on_failure_destination_arn: Optional[pulumi.Input[str]]
    """SQS queue for async invocations that still fail after Lambda's retries."""
    invoked_by_api_gateway: bool
    """Enforces the 29 s integration limit on the timeout."""


class LambdaFunction(pulumi.ComponentResource):
    function: aws.lambda_.Function
    """The Lambda function."""
    role: aws.iam.Role
    """Its execution role."""
    log_group: aws.cloudwatch.LogGroup
    """Its log group."""
    arn: pulumi.Output[str]
    """The function's ARN."""
    name: pulumi.Output[str]
    """The function's physical name."""

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:LambdaFunction", name, None, opts)
        code = args["code"]
        architecture = args.get("architecture", defaults.LAMBDA_ARCHITECTURE)
        timeout = args["timeout_seconds"]
        if args.get("invoked_by_api_gateway") and timeout >= defaults.API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS:
            raise ValueError(f"{name}: timeout_seconds={timeout} must be under API Gateway's "
                             f"{defaults.API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS} s integration limit")
        child = pulumi.ResourceOptions(parent=self)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            retention_in_days=defaults.check_log_retention(args["log_retention_days"]),
            opts=child)

        statements: list[PolicyStatement] = [
            allow(["logs:CreateLogStream", "logs:PutLogEvents"],
                  [self.log_group.arn, self.log_group.arn.apply(lambda arn: f"{arn}:*")], sid="WriteOwnLogs"),
            allow(_XRAY_ACTIONS, ["*"], sid="XRayUnscopable"),
            *args.get("policy_statements", []),
        ]
        if args.get("vpc_config"):
            statements.append(allow(_VPC_ENI_ACTIONS, ["*"], sid="VpcNetworkInterfacesUnscopable"))
        on_failure = args.get("async_on_failure_destination_arn")
        if on_failure is not None:
            statements.append(allow(["sqs:SendMessage"], [on_failure], sid="AsyncOnFailureDestination"))

        self.role = aws.iam.Role(
            f"{name}-role", assume_role_policy=service_trust_policy("lambda.amazonaws.com"), opts=child)
        role_policy = aws.iam.RolePolicy(
            f"{name}-policy", role=self.role.id, policy=policy_document(statements), opts=child)

        layers = []
        layer_zip = lambda_packaging.function_layer_zip(code, architecture)
        if layer_zip is not None:
            layer = aws.lambda_.LayerVersion(
                f"{name}-deps",
                layer_name=f"{pulumi.get_project()}-{pulumi.get_stack()}-{name}-deps",
                code=pulumi.FileArchive(str(layer_zip)),
                compatible_architectures=[architecture],
                compatible_runtimes=[defaults.LAMBDA_RUNTIME],
                opts=child)
            layers.append(layer.arn)

        environment = {"POWERTOOLS_SERVICE_NAME": name, **args.get("environment", {})}
        vpc = args.get("vpc_config")
        self.function = aws.lambda_.Function(
            f"{name}-fn",
            runtime=defaults.LAMBDA_RUNTIME,
            architectures=[architecture],
            handler=f"{code}.handler.handler",
            code=pulumi.FileArchive(str(lambda_packaging.code_zip(code))),
            role=self.role.arn,
            memory_size=args["memory_mb"],
            timeout=timeout,
            layers=layers,
            environment={"variables": environment},
            tracing_config={"mode": "Active"},
            logging_config={"log_format": "JSON", "log_group": self.log_group.name},
            vpc_config={"subnet_ids": vpc["subnet_ids"], "security_group_ids": vpc["security_group_ids"]} if vpc else None,
            reserved_concurrent_executions=args.get("reserved_concurrency"),
            # The role's permissions must exist before the first invocation can use them.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role_policy, self.log_group]))

        if on_failure is not None:
            aws.lambda_.FunctionEventInvokeConfig(
                f"{name}-async",
                function_name=self.function.name,
                maximum_retry_attempts=2,
                maximum_event_age_in_seconds=3600,
                destination_config={"on_failure": {"destination": on_failure}},
                opts=child)

        self.arn = self.function.arn
        self.name = self.function.name
        self.register_outputs({"arn": self.arn, "name": self.name, "role_arn": self.role.arn})
