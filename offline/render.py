"""Render a recorded stack as a tree of components → resources, with the settings a reviewer checks."""
from __future__ import annotations

import json
from typing import Any

from offline.harness import RecordedResource, StackSnapshot

# For each resource type, the inputs worth showing in review (dotted paths into props).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region", "defaultTags.tags"),
    "aws:lambda/function:Function": ("runtime", "architectures", "memorySize", "timeout", "tracingConfig.mode",
                                     "reservedConcurrentExecutions", "vpcConfig.subnetIds"),
    "aws:lambda/eventSourceMapping:EventSourceMapping": (
        "batchSize", "maximumBatchingWindowInSeconds", "functionResponseTypes", "bisectBatchOnFunctionError",
        "maximumRetryAttempts", "maximumRecordAgeInSeconds", "filterCriteria.filters",
        "scalingConfig.maximumConcurrency", "destinationConfig.onFailure.destinationArn"),
    "aws:lambda/permission:Permission": ("principal", "sourceArn", "sourceAccount"),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": (
        "maximumRetryAttempts", "destinationConfig.onFailure.destination"),
    "aws:cloudwatch/logGroup:LogGroup": ("retentionInDays",),
    "aws:dynamodb/table:Table": ("billingMode", "hashKey", "rangeKey", "pointInTimeRecovery.enabled",
                                 "serverSideEncryption.enabled", "deletionProtectionEnabled", "streamViewType",
                                 "ttl.attributeName", "replicas"),
    "aws:dax/cluster:Cluster": ("nodeType", "replicationFactor", "serverSideEncryption.enabled",
                                "clusterEndpointEncryptionType"),
    "aws:dax/parameterGroup:ParameterGroup": ("parameters",),
    "aws:sqs/queue:Queue": ("visibilityTimeoutSeconds", "sqsManagedSseEnabled", "kmsMasterKeyId",
                            "redrivePolicy"),
    "aws:sns/topic:Topic": ("kmsMasterKeyId",),
    "aws:s3/bucket:Bucket": ("forceDestroy",),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (
        "blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": ("rule.objectOwnership",),
    "aws:s3/bucketVersioning:BucketVersioning": ("versioningConfiguration.status",),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "rules",),
    "aws:cognito/userPool:UserPool": ("usernameAttributes", "mfaConfiguration", "deletionProtection",
                                      "passwordPolicy.minimumLength"),
    "aws:cognito/userPoolClient:UserPoolClient": ("generateSecret", "explicitAuthFlows", "idTokenValidity",
                                                  "refreshTokenValidity"),
    "aws:cognito/identityPool:IdentityPool": ("allowUnauthenticatedIdentities",),
    "aws:cognito/identityPoolProviderPrincipalTag:IdentityPoolProviderPrincipalTag": ("principalTags",),
    "aws:apigateway/restApi:RestApi": ("endpointConfiguration.types",),
    "aws:apigateway/method:Method": ("httpMethod", "authorization", "requestValidatorId"),
    "aws:apigateway/integration:Integration": ("type", "cacheKeyParameters"),
    "aws:apigateway/stage:Stage": ("stageName", "xrayTracingEnabled", "cacheClusterEnabled", "cacheClusterSize"),
    "aws:apigateway/methodSettings:MethodSettings": (
        "methodPath", "settings.throttlingRateLimit", "settings.throttlingBurstLimit", "settings.cachingEnabled",
        "settings.cacheTtlInSeconds", "settings.cacheDataEncrypted", "settings.dataTraceEnabled"),
    "aws:cloudfront/distribution:Distribution": ("priceClass", "httpVersion", "isIpv6Enabled",
                                                 "viewerCertificate.minimumProtocolVersion"),
    "aws:cloudwatch/eventRule:EventRule": ("eventPattern",),
    "aws:cloudwatch/eventTarget:EventTarget": ("retryPolicy", "deadLetterConfig.arn"),
    "aws:cloudwatch/eventArchive:EventArchive": ("retentionDays",),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("metricName", "threshold", "comparisonOperator"),
    "aws:ec2/securityGroup:SecurityGroup": ("description",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("fromPort", "toPort",
                                                                  "referencedSecurityGroupId", "cidrIpv4"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcEndpointType"),
}


def _dig(props: dict, path: str) -> Any:
    value: Any = props
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _short_type(resource_type: str) -> str:
    if resource_type.startswith("serverless-blueprints:"):
        return resource_type.rsplit(":", 1)[-1]
    if resource_type.startswith("pulumi:providers:"):
        return "provider:" + resource_type.rsplit(":", 1)[-1]
    package, module_path, kind = resource_type.split(":")
    return f"{package}.{module_path.split('/')[0]}.{kind}"


def _shown_values(resource: RecordedResource) -> list[tuple[str, Any]]:
    shown = []
    for path in KEY_SETTINGS.get(resource.resource_type, ()):
        value = _dig(resource.props, path)
        if value not in (None, [], {}):
            shown.append((path, value))
    return shown


def _settings(resource: RecordedResource) -> str:
    return "  ".join(f"{path.split('.')[-1] if path.count('.') > 1 else path}={_compact(value)}"
                     for path, value in _shown_values(resource))


def _compact(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 90 else text[:87] + "..."


def render_tree(snapshot: StackSnapshot) -> str:
    """Components and their resources, indented by parentage, each with its key settings."""
    env = next((p.props.get("defaultTags", {}).get("tags", {}).get("environment")
                for p in snapshot.providers.values()), "?")
    custom = sum(1 for r in snapshot.resources if r.custom)
    lines = [f"stack {snapshot.stack} (environment {env}): {custom} resources in "
             f"{sum(1 for r in snapshot.resources if not r.custom)} components"]
    urns = {r.urn for r in snapshot.resources}
    roots = [r for r in snapshot.resources if r.parent not in urns]

    def walk(resource: RecordedResource, prefix: str, last: bool) -> None:
        branch = "└─ " if last else "├─ "
        settings = _settings(resource)
        lines.append(f"{prefix}{branch}{_short_type(resource.resource_type)} {resource.name}"
                     + (f"  [{settings}]" if settings else ""))
        children = snapshot.children_of(resource.urn)
        for index, child in enumerate(children):
            walk(child, prefix + ("   " if last else "│  "), index == len(children) - 1)

    for index, root in enumerate(roots):
        walk(root, "", index == len(roots) - 1)
    if snapshot.exports:
        lines.append("outputs: " + ", ".join(sorted(snapshot.exports)))
    from offline.diff import Placeholders
    from offline.harness import ACCOUNT_ID

    is_placeholder = Placeholders(snapshot)
    if any(is_placeholder(value) for r in snapshot.resources for _, value in _shown_values(r)):
        lines.append(f"note: ids and ARNs in this tree (account {ACCOUNT_ID}, <name>-<hash>-id) are placeholders "
                     "made up by the offline mocks; the real ones are known only after `pulumi up`")
    return "\n".join(lines)
