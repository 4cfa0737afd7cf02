"""Which input changes make Pulumi replace a resource, and which resources hold state a replace loses.

Source: the pulumi-aws 7.x schema marks these inputs `willReplaceOnChanges` (bridged from the
Terraform AWS provider's `ForceNew`); pulumi-random marks every RandomPassword input the same way.
The table is written by hand for the resource types this project creates (plus the stateful ones
a blueprint may add: RDS, EFS, Kinesis, ElastiCache, Secrets Manager), because the plan runs
without the provider binary that carries the schema. A type not listed here is compared input by
input and shown as an update: add its entry when a component starts using it.

Paths are camelCase input names; a nested path ("usernameConfiguration") covers everything below
it; "*" means any input. In pulumi-aws 7 every regional resource also takes `region`, which forces
a replacement (REGIONAL_INPUT).
"""
from __future__ import annotations

from typing import Callable, Optional

REGIONAL_INPUT = "region"

BUCKET_CHILD = ("bucket", "expectedBucketOwner")

REPLACE_ON_CHANGES: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region",),
    "random:index/randomPassword:RandomPassword": ("*",),
    # Stateful
    "aws:dynamodb/table:Table": ("name", "hashKey", "rangeKey", "localSecondaryIndexes", "restoreSourceName",
                                 "restoreSourceTableArn", "restoreDateTime", "restoreToLatestTime"),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:s3/bucketV2:BucketV2": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:cognito/userPool:UserPool": ("name", "usernameAttributes", "aliasAttributes", "usernameConfiguration"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keySpec", "keyUsage", "multiRegion", "customKeyStoreId",
                        "xksKeyId"),
    "aws:rds/instance:Instance": ("identifier", "identifierPrefix", "engine", "dbName", "username",
                                  "storageEncrypted", "kmsKeyId", "availabilityZone", "characterSetName",
                                  "timezone"),
    "aws:rds/cluster:Cluster": ("clusterIdentifier", "clusterIdentifierPrefix", "engine", "databaseName",
                                "masterUsername", "storageEncrypted", "kmsKeyId", "availabilityZones"),
    "aws:efs/fileSystem:FileSystem": ("creationToken", "encrypted", "kmsKeyId", "performanceMode",
                                      "availabilityZoneName"),
    "aws:sqs/queue:Queue": ("name", "namePrefix", "fifoQueue"),
    "aws:kinesis/stream:Stream": ("name",),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:cloudwatch/eventArchive:EventArchive": ("name", "eventSourceArn"),
    # Stateless
    "aws:sns/topic:Topic": ("name", "namePrefix", "fifoTopic"),
    "aws:lambda/function:Function": ("name", "packageType"),
    "aws:lambda/layerVersion:LayerVersion": ("*",),  # layer versions are immutable
    "aws:lambda/permission:Permission": ("*",),
    "aws:lambda/eventSourceMapping:EventSourceMapping": ("eventSourceArn", "startingPosition",
                                                         "startingPositionTimestamp", "selfManagedEventSource"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "aws:iam/policy:Policy": ("name", "namePrefix", "path"),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix", "logGroupClass"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name",),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName",),
    "aws:cloudwatch/eventBus:EventBus": ("name",),
    "aws:cloudwatch/eventRule:EventRule": ("name", "namePrefix", "eventBusName"),
    "aws:cloudwatch/eventTarget:EventTarget": ("rule", "targetId", "eventBusName"),
    "aws:dax/cluster:Cluster": ("clusterName", "nodeType", "serverSideEncryption", "subnetGroupName",
                                "iamRoleArn", "clusterEndpointEncryptionType", "availabilityZones"),
    "aws:dax/parameterGroup:ParameterGroup": ("name",),
    "aws:dax/subnetGroup:SubnetGroup": ("name",),
    "aws:apigateway/resource:Resource": ("restApi",),
    "aws:apigateway/method:Method": ("restApi", "resourceId", "httpMethod"),
    "aws:apigateway/integration:Integration": ("restApi", "resourceId", "httpMethod"),
    "aws:apigateway/methodResponse:MethodResponse": ("restApi", "resourceId", "httpMethod", "statusCode"),
    "aws:apigateway/integrationResponse:IntegrationResponse": ("restApi", "resourceId", "httpMethod",
                                                               "statusCode"),
    "aws:apigateway/stage:Stage": ("restApi", "stageName"),
    "aws:apigateway/deployment:Deployment": ("restApi", "triggers", "variables"),
    "aws:apigateway/methodSettings:MethodSettings": ("restApi", "stageName", "methodPath"),
    "aws:apigateway/authorizer:Authorizer": ("restApi",),
    "aws:apigateway/model:Model": ("restApi", "name", "contentType"),
    "aws:apigateway/requestValidator:RequestValidator": ("restApi",),
    "aws:apigateway/response:Response": ("restApi", "responseType"),
    "aws:cognito/userPoolClient:UserPoolClient": ("userPoolId", "generateSecret"),
    "aws:cognito/identityPool:IdentityPool": (),
    "aws:cognito/userPoolDomain:UserPoolDomain": ("domain", "userPoolId"),
    "aws:cloudfront/function:Function": ("name",),
    "aws:wafv2/webAcl:WebAcl": ("name", "namePrefix", "scope"),
    "aws:acm/certificate:Certificate": ("domainName", "subjectAlternativeNames", "keyAlgorithm"),
    "aws:acm/certificateValidation:CertificateValidation": ("certificateArn", "validationRecordFqdns"),
    "aws:route53/record:Record": ("zoneId", "name"),
    "aws:sesv2/emailIdentity:EmailIdentity": ("emailIdentity",),
    "aws:sesv2/configurationSet:ConfigurationSet": ("configurationSetName",),
    "aws:ses/template:Template": ("name",),
    "aws:sqs/queuePolicy:QueuePolicy": ("queueUrl",),
    "aws:sns/topicPolicy:TopicPolicy": ("arn",),
    "aws:s3/bucketObjectv2:BucketObjectv2": ("bucket", "key"),
    "aws:s3/bucketPolicy:BucketPolicy": BUCKET_CHILD,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": BUCKET_CHILD,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": BUCKET_CHILD,
    "aws:s3/bucketVersioning:BucketVersioning": BUCKET_CHILD,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": BUCKET_CHILD,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": BUCKET_CHILD,
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": BUCKET_CHILD,
    "aws:s3/bucketLogging:BucketLogging": BUCKET_CHILD,
    "aws:s3/bucketNotification:BucketNotification": ("bucket",),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "description", "vpcId"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": ("securityGroupId",),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("securityGroupId",),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpcId", "serviceName", "vpcEndpointType"),
    "aws:ec2/natGateway:NatGateway": ("subnetId", "allocationId", "connectivityType"),
    "aws:ec2/launchTemplate:LaunchTemplate": ("name", "namePrefix"),
    "aws:lb/loadBalancer:LoadBalancer": ("name", "namePrefix", "internal", "loadBalancerType"),
    "aws:lb/targetGroup:TargetGroup": ("name", "namePrefix", "port", "protocol", "vpcId", "targetType",
                                       "protocolVersion"),
    "aws:lb/listener:Listener": ("loadBalancerArn",),
    "aws:lb/listenerRule:ListenerRule": ("listenerArn",),
    "aws:autoscaling/group:Group": ("name", "namePrefix"),
    "aws:elasticache/cluster:Cluster": ("clusterId", "engine", "subnetGroupName", "availabilityZone"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId", "atRestEncryptionEnabled",
                                                          "subnetGroupName", "kmsKeyId"),
}

# What a delete or replacement loses, one line each. Buckets depend on forceDestroy (see consequence()).
STATEFUL: dict[str, str] = {
    "aws:dynamodb/table:Table": "every item is lost (point-in-time backups go with the table)",
    "aws:s3/bucket:Bucket": "",
    "aws:s3/bucketV2:BucketV2": "",
    "aws:cognito/userPool:UserPool": "every user, password and MFA enrolment is lost; issued tokens stop working",
    "aws:kms/key:Key": "the key is scheduled for deletion: data encrypted under it is unreadable once the wait ends",
    "aws:rds/instance:Instance": "the database is lost unless a final snapshot is taken",
    "aws:rds/cluster:Cluster": "the database is lost unless a final snapshot is taken",
    "aws:efs/fileSystem:FileSystem": "every file on it is lost",
    "aws:sqs/queue:Queue": "messages waiting in the queue are lost",
    "aws:kinesis/stream:Stream": "records not yet read are lost",
    "aws:secretsmanager/secret:Secret": "the secret value is scheduled for deletion",
    "aws:cloudwatch/eventArchive:EventArchive": "archived events can no longer be replayed",
}


def _key_attribute_types(props: dict) -> dict:
    keys = {props.get("hashKey"), props.get("rangeKey")} - {None}
    return {a.get("name"): a.get("type") for a in props.get("attributes") or [] if a.get("name") in keys}


# Replacements no path list can express.
CUSTOM_CHECKS: dict[str, Callable[[dict, dict], Optional[str]]] = {
    # DynamoDB can't change a key attribute's type in place.
    "aws:dynamodb/table:Table": lambda old, new: "attributes" if (
        _key_attribute_types(old) != _key_attribute_types(new)
        and (old.get("hashKey"), old.get("rangeKey")) == (new.get("hashKey"), new.get("rangeKey"))) else None,
}


def _covers(rule: str, path: str) -> bool:
    return rule == "*" or path == rule or path.startswith(rule + ".") or path.startswith(rule + "[")


def replaces(resource_type: str, path: str) -> bool:
    """Whether a change at `path` (dotted, [i] for lists) of this type's inputs forces a replacement."""
    rules = REPLACE_ON_CHANGES.get(resource_type, ())
    if resource_type.startswith("aws:") and _covers(REGIONAL_INPUT, path):
        return True
    return any(_covers(rule, path) for rule in rules)


def custom_replacement(resource_type: str, old: dict, new: dict) -> Optional[str]:
    check = CUSTOM_CHECKS.get(resource_type)
    return check(old, new) if check else None


def is_stateful(resource_type: str) -> bool:
    return resource_type in STATEFUL


def consequence(resource_type: str, props: dict) -> Optional[str]:
    """One line: what deleting (or replacing) a resource of this type with these inputs loses."""
    if resource_type not in STATEFUL:
        return None
    if resource_type in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):
        line = ("its objects are deleted with it (forceDestroy)" if props.get("forceDestroy")
                else "the delete fails while it holds objects; emptying it loses them")
    else:
        line = STATEFUL[resource_type]
    if props.get("deletionProtectionEnabled") or props.get("deletionProtection") in (True, "ACTIVE"):
        line += "; deletion protection blocks it until turned off"
    return line
