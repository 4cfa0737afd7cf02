"""LambdaFunction: one function from `functions/<name>/`, with its own least-privilege role.

Every function in this project is built here, so each gets the same defaults:
python3.13 on arm64, explicit memory and timeout, active X-Ray tracing, JSON logs
into its own log group with retention, its third-party dependencies in a layer
built for its architecture, and an on-failure destination for async invocations.
"""
import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults, lambda_packaging, monitoring
from .args import ArgsError, ArgsReader
from .canary import ALIAS, CanaryArgs, LambdaCanary, ResolvedCanary, read_canary
from .iam import PolicyStatement, allow, policy_document, service_trust_policy

# Actions AWS does not let you scope to a resource ARN.
_XRAY_ACTIONS = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
_VPC_ENI_ACTIONS = ["ec2:AssignPrivateIpAddresses", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface",
                    "ec2:DescribeNetworkInterfaces", "ec2:UnassignPrivateIpAddresses"]
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# A function behind API Gateway must answer within its integration timeout.
API_MAX_TIMEOUT_SECONDS = defaults.API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 1


class FunctionSizing(TypedDict, total=False):
    """Memory and timeout of one of a component's functions."""
    memory_mb: int
    """Memory in MB, 128 to 10240 (it also buys CPU)."""
    timeout_seconds: int
    """Timeout in seconds, 1 to 900 (1 to 28 behind API Gateway)."""


@dataclass(frozen=True)
class ResolvedSizing:
    memory_mb: int
    timeout_seconds: int


def read_memory(r: ArgsReader, key: str = "memory_mb", *, low: int = defaults.LAMBDA_MEMORY_MB_RANGE[0],
                default: Any = None) -> int:
    """Lambda memory: `low` (128 unless the workload needs more) to 10240 MB."""
    kwargs = {} if default is None else {"default": default}
    return r.integer(key, low=low, high=defaults.LAMBDA_MEMORY_MB_RANGE[1], **kwargs)


def read_timeout(r: ArgsReader, key: str = "timeout_seconds", *, invoked_by_api_gateway: bool = False,
                 low: int = 1, default: Any = None) -> int:
    """Lambda timeout: 1 to 900 s, or under API Gateway's 29 s integration limit behind it."""
    kwargs = {} if default is None else {"default": default}
    if not invoked_by_api_gateway:
        return r.integer(key, low=low, high=defaults.LAMBDA_MAX_TIMEOUT_SECONDS, **kwargs)
    try:
        return r.integer(key, low=low, high=API_MAX_TIMEOUT_SECONDS, **kwargs)
    except ArgsError as error:
        raise error.because(f"under API Gateway's {defaults.API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS} s "
                            f"integration limit") from None


def read_sizing(r: ArgsReader, key: str, *, memory_mb: int, timeout_seconds: int,
                invoked_by_api_gateway: bool = False) -> ResolvedSizing:
    """A component's `FunctionSizing` arg, over the component's own defaults for that function."""
    given = r.section(key, FunctionSizing, {})
    s = given if given is not None else ArgsReader(r.component, r.name, {}, FunctionSizing, {}, (*r.path, key))
    return ResolvedSizing(memory_mb=read_memory(s, default=memory_mb),
                          timeout_seconds=read_timeout(s, invoked_by_api_gateway=invoked_by_api_gateway,
                                                       default=timeout_seconds))


class LambdaVpcConfig(TypedDict):
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets the function's network interfaces are placed in."""
    security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Security groups of the function."""


class LambdaFunctionArgs(TypedDict, total=False):
    code: Required[str]
    """Folder name under functions/; the handler is `<code>.handler.handler`."""
    memory_mb: Required[int]
    """Memory in MB, 128 to 10240 (also buys CPU)."""
    timeout_seconds: Required[int]
    """Timeout, 1 to 900 s; under 29 s when API Gateway invokes the function."""
    environment: dict[str, pulumi.Input[str]]
    """Environment variables; configuration only, never secrets."""
    policy_statements: Sequence[PolicyStatement]
    """What the function may do, scoped to ARNs. Logging and tracing are added for you."""
    log_retention_days: Required[int]
    """Retention of the function's log group (a value CloudWatch offers)."""
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
    canary: Optional[CanaryArgs]
    """Publish versions behind the alias `live` and release each new one with CodeDeploy (canary.py);
    left out, callers invoke the function's latest code directly."""


DEFAULTS: dict[str, Any] = {
    "architecture": defaults.LAMBDA_ARCHITECTURE,
    "environment": {},
    "policy_statements": [],
    "invoked_by_api_gateway": False,
}
"""What a function gets without asking (memory, timeout and log retention are always explicit)."""


@dataclass(frozen=True)
class ResolvedLambdaFunction:
    code: str
    memory_mb: int
    timeout_seconds: int
    environment: dict[str, pulumi.Input[str]]
    policy_statements: list
    log_retention_days: int
    architecture: str
    vpc_config: Optional[aws.lambda_.FunctionVpcConfigArgsDict]
    reserved_concurrency: Optional[int]
    async_on_failure_destination_arn: Any
    invoked_by_api_gateway: bool
    canary: Optional[ResolvedCanary] = None


def resolve_args(name: str, args: Optional[LambdaFunctionArgs]) -> ResolvedLambdaFunction:
    """The caller's args over DEFAULTS, each checked; raises ArgsError naming the arg."""
    r = ArgsReader("LambdaFunction", name, args, LambdaFunctionArgs, DEFAULTS)
    api = r.flag("invoked_by_api_gateway")
    vpc = r.section("vpc_config", LambdaVpcConfig)
    environment = r.get("environment")
    if not isinstance(environment, dict):
        r.fail("environment", f"expected a mapping of variable names to values, got {environment!r}")
    statements = r.get("policy_statements")
    if isinstance(statements, (str, bytes, dict)) or not isinstance(statements, Sequence):
        r.fail("policy_statements", f"expected a list of policy statements, got {statements!r}")
    return ResolvedLambdaFunction(
        code=r.string("code", check=_CODE.match, expected="a folder name under functions/, such as todo_api"),
        memory_mb=read_memory(r),
        timeout_seconds=read_timeout(r, invoked_by_api_gateway=api),
        environment=dict(environment),
        policy_statements=list(statements),
        log_retention_days=defaults.read_log_retention(r),
        architecture=r.choice("architecture", defaults.LAMBDA_ARCHITECTURES),
        vpc_config=None if vpc is None else {"subnet_ids": vpc.input("subnet_ids"),
                                             "security_group_ids": vpc.input("security_group_ids")},
        reserved_concurrency=r.optional_integer("reserved_concurrency", low=0, high=100_000),
        async_on_failure_destination_arn=r.input("async_on_failure_destination_arn"),
        invoked_by_api_gateway=api,
        canary=read_canary(r),
    )


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
    canary: Optional[LambdaCanary]
    """With the `canary` arg: the alias `live`, its CodeDeploy deployment group and rollback alarms."""
    invoke_arn: pulumi.Output[str]
    """What API Gateway integrates: the alias `live` with a canary, else the function."""
    qualifier: Optional[str]
    """The alias callers must name (`live`) with a canary, else None."""

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:LambdaFunction", name, None, opts)
        s = resolve_args(name, args)
        code, architecture = s.code, s.architecture
        child = pulumi.ResourceOptions(parent=self)

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", retention_in_days=s.log_retention_days, opts=child)

        statements: list[PolicyStatement] = [
            allow(["logs:CreateLogStream", "logs:PutLogEvents"],
                  [self.log_group.arn, self.log_group.arn.apply(lambda arn: f"{arn}:*")], sid="WriteOwnLogs"),
            allow(_XRAY_ACTIONS, ["*"], sid="XRayUnscopable"),
            *s.policy_statements,
        ]
        if s.vpc_config:
            statements.append(allow(_VPC_ENI_ACTIONS, ["*"], sid="VpcNetworkInterfacesUnscopable"))
        on_failure = s.async_on_failure_destination_arn
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

        environment: aws.lambda_.FunctionEnvironmentArgsDict = {
            "variables": {"POWERTOOLS_SERVICE_NAME": name, **s.environment}}
        logging_config: aws.lambda_.FunctionLoggingConfigArgsDict = {
            "log_format": "JSON", "log_group": self.log_group.name}
        self.function = aws.lambda_.Function(
            f"{name}-fn",
            runtime=defaults.LAMBDA_RUNTIME,
            architectures=[architecture],
            handler=f"{code}.handler.handler",
            code=pulumi.FileArchive(str(lambda_packaging.code_zip(code))),
            role=self.role.arn,
            memory_size=s.memory_mb,
            timeout=s.timeout_seconds,
            layers=layers,
            environment=environment,
            tracing_config={"mode": "Active"},
            logging_config=logging_config,
            vpc_config=s.vpc_config,
            reserved_concurrent_executions=s.reserved_concurrency,
            publish=s.canary is not None,
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

        self.canary = None if s.canary is None else LambdaCanary(f"{name}-canary", {
            "function": self.function, "canary": args["canary"] or {},
            "log_retention_days": s.log_retention_days}, opts=child)
        self.invoke_arn = self.canary.alias.invoke_arn if self.canary else self.function.invoke_arn
        self.qualifier = ALIAS if self.canary else None
        self.arn = self.function.arn
        self.name = self.function.name
        self.register_outputs({"arn": self.arn, "name": self.name, "role_arn": self.role.arn})

    def watches(self, thresholds: Mapping[str, float]) -> list[monitoring.Watch]:
        """Its errors and throttles, for the owning component's alarms and dashboard (monitoring.watch)."""
        return monitoring.lambda_watches(self._name, self.function.name, thresholds)
