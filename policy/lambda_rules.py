"""Lambda functions, their permissions and their log groups."""
from __future__ import annotations

import re

from . import tokens
from .model import Resource, get, is_known, is_unknown
from .registry import ADVISORY, resource_rule, stack_rule
from .stack import Stack, physical_name

# Runtimes AWS supports and hasn't scheduled for deprecation, as of 2026-11 (from the Lambda
# runtimes page). Review when AWS announces a deprecation.
SUPPORTED_RUNTIMES = frozenset({
    "python3.11", "python3.12", "python3.13", "python3.14",
    "nodejs22.x", "nodejs24.x",
    "java17", "java21", "java25",
    "dotnet10",
    "ruby3.3", "ruby3.4",
    "provided.al2023",
})

API_GATEWAY_TIMEOUT_SECONDS = 29
API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"

# Names that smell like a secret; a value that is a reference (ARN, SSM path) is fine.
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|ACCESS_?KEY", re.I)
_REFERENCE_SUFFIX = re.compile(r"_(ARN|NAME|ID|PARAM|PARAMETER|PATH|SSM|TABLE|BUCKET|QUEUE|TOPIC|TTL|SECONDS)$", re.I)
_SECRET_VALUE = re.compile(r"(?:AKIA|ASIA)[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----")
_INTEGRATION_FUNCTION_ARN = re.compile(r"functions/(arn:[^/]+)/invocations")


@resource_rule(
    "SB-LAMBDA-001", tokens.FUNCTION,
    description="Lambda functions set an explicit timeout and memory size.",
    remediation="Pass timeout= and memory_size= to aws.lambda_.Function (the defaults, 3 s and 128 MB, are rarely right).",
)
def explicit_timeout_and_memory(function: Resource):
    for prop in ("timeout", "memorySize"):
        if get(function.props, prop) is None:
            yield f"'{prop}' is not set"


@stack_rule(
    "SB-LAMBDA-002",
    description="A function invoked by API Gateway times out in under 29 s.",
    remediation="Set timeout < 29 on functions behind API Gateway (its integration gives up at 29 s); move longer work behind a queue.",
)
def api_function_timeout(stack: Stack):
    for function in stack.of_type(tokens.FUNCTION):
        timeout = get(function.props, "timeout")
        if not is_known(timeout) or timeout < API_GATEWAY_TIMEOUT_SECONDS:
            continue
        if invoked_by_api_gateway(stack, function):
            yield function, f"timeout {timeout} s is not under {API_GATEWAY_TIMEOUT_SECONDS} s but API Gateway invokes it"


def invoked_by_api_gateway(stack: Stack, function: Resource) -> bool:
    """An apigateway Permission on the function, or an Integration whose uri names it."""
    for permission in stack.of_type(tokens.PERMISSION):
        if get(permission.props, "principal") != API_GATEWAY_PRINCIPAL:
            continue
        if function in (stack.resolve(permission, "function", get(permission.props, "function"), [function]) or []):
            return True
    for integration in stack.of_type(tokens.INTEGRATION):
        uri = get(integration.props, "uri")
        match = _INTEGRATION_FUNCTION_ARN.search(uri) if is_known(uri) and isinstance(uri, str) else None
        value = match.group(1) if match else uri
        if function in (stack.resolve(integration, "uri", value, [function]) or []):
            return True
    return False


@resource_rule(
    "SB-LAMBDA-003", tokens.FUNCTION,
    description="Lambda functions use a supported runtime.",
    remediation=f"Use one of: {', '.join(sorted(SUPPORTED_RUNTIMES))}.",
)
def supported_runtime(function: Resource):
    if get(function.props, "packageType") == "Image":
        return
    runtime = get(function.props, "runtime")
    if runtime is None:
        yield "no runtime is set for a zip-packaged function"
    elif is_known(runtime) and runtime not in SUPPORTED_RUNTIMES:
        yield f"runtime '{runtime}' is deprecated or unknown"


@resource_rule(
    "SB-LAMBDA-004", tokens.FUNCTION,
    description="Lambda functions have active X-Ray tracing.",
    remediation='Set tracing_config={"mode": "Active"} and grant xray:PutTraceSegments/PutTelemetryRecords.',
    level=ADVISORY,
)
def active_tracing(function: Resource):
    mode = get(function.props, "tracingConfig", "mode")
    if not is_unknown(mode) and mode != "Active":
        yield f"tracing mode is {mode or 'not set'}"


@stack_rule(
    "SB-LAMBDA-005",
    description="Every function logs to a log group this stack manages, with a retention period.",
    remediation="Create an aws.cloudwatch.LogGroup with retention_in_days and point the function's logging_config.log_group at it.",
)
def function_log_group(stack: Stack):
    log_groups = stack.of_type(tokens.LOG_GROUP)
    for function in stack.of_type(tokens.FUNCTION):
        configured = get(function.props, "loggingConfig", "logGroup")
        if configured is not None:
            found = stack.resolve(function, "loggingConfig", configured, log_groups)
            if found is None:
                continue
            if not found:
                yield function, f"log group '{configured}' is not managed by this stack, so its retention is unchecked"
                continue
        else:
            name = physical_name(function)
            if is_unknown(name):
                continue
            found = [g for g in log_groups if _is_default_log_group(g, function, name)]
            if not found:
                yield function, "no log group is configured or managed for it; Lambda would create one that never expires"
                continue
        for group in found:
            retention = get(group.props, "retentionInDays")
            if not is_unknown(retention) and not retention:
                yield function, f"its log group '{group.name}' has no retention period"


def _is_default_log_group(group: Resource, function: Resource, function_name) -> bool:
    group_name = get(group.props, "name")
    if not is_known(group_name):
        return False
    if is_known(function_name):
        return group_name == f"/aws/lambda/{function_name}"
    return re.fullmatch(rf"/aws/lambda/{re.escape(function.name)}(-[a-z0-9]{{7}})?", group_name) is not None


@resource_rule(
    "SB-LOGS-001", tokens.LOG_GROUP,
    description="Log groups have a retention period.",
    remediation="Set retention_in_days on the aws.cloudwatch.LogGroup (e.g. 30 in dev, 365 in prod).",
)
def log_group_retention(group: Resource):
    retention = get(group.props, "retentionInDays")
    if not is_unknown(retention) and not retention:
        yield "no retentionInDays: logs are kept forever"


@resource_rule(
    "SB-LAMBDA-006", tokens.FUNCTION,
    description="No secrets in plain Lambda environment variables.",
    remediation="Keep secrets in Secrets Manager or SSM SecureString and pass only their name or ARN (e.g. DB_SECRET_ARN).",
)
def no_plain_secrets(function: Resource):
    variables = get(function.props, "environment", "variables")
    if not isinstance(variables, dict):
        return
    for key, value in variables.items():
        if not is_known(value) or not isinstance(value, str):
            continue
        if _SECRET_VALUE.search(value):
            yield f"variable '{key}' holds what looks like a credential"
        elif _SECRET_NAME.search(key) and not _REFERENCE_SUFFIX.search(key) and not _is_reference(value):
            yield f"variable '{key}' looks like a secret in plain text"


def _is_reference(value: str) -> bool:
    return value.startswith(("arn:", "/", "{{resolve:")) or value == ""


@resource_rule(
    "SB-LAMBDA-007", tokens.PERMISSION,
    description="A Lambda permission never grants '*' and scopes service principals by source.",
    remediation="Name the principal, and for a service principal set source_arn (and source_account for S3).",
)
def scoped_permission(permission: Resource):
    principal = get(permission.props, "principal")
    if not is_known(principal):
        return
    if principal == "*":
        yield "principal is '*'"
        return
    if principal.endswith((".amazonaws.com", ".amazonaws.com.cn")):
        if get(permission.props, "sourceArn") is None and get(permission.props, "sourceAccount") is None:
            yield f"service principal {principal} without sourceArn or sourceAccount"


@resource_rule(
    "SB-LAMBDA-008", tokens.FUNCTION_RECURSION_CONFIG,
    description="Lambda's recursive-loop detection is never switched to Allow.",
    remediation='Leave recursive_loop at "Terminate" (or drop the FunctionRecursionConfig) and break the loop in the design.',
)
def no_recursive_loop_allow(config: Resource):
    if get(config.props, "recursiveLoop") == "Allow":
        yield "recursiveLoop is Allow"
