"""Unit test a Pulumi program that uses these components: mocks that answer like AWS, and a recorder.

    from serverless_blueprints.testing import evaluate
    from serverless_blueprints.thumbnail_pipeline import ThumbnailPipeline

    def test_photos_queue_has_a_dead_letter_queue():
        snapshot = evaluate(lambda: ThumbnailPipeline("photos"), region="eu-west-1")
        queue = snapshot.named("photos-queue")
        assert "deadLetterTargetArn" in queue.props["redrivePolicy"]

`evaluate` runs a program (a function, or a project folder with `__main__.py` and its
`Pulumi.<stack>.yaml`) under `pulumi.runtime.set_mocks`: no AWS, no Pulumi CLI. It records what
the engine would be told for every resource (type, logical name, inputs, parent, dependencies,
provider) and returns a `StackSnapshot` to query by type or name.

`BlueprintMocks` returns plausible ids, ARNs and computed attributes (a bucket's regional domain
name, a stage's invoke URL, ...) and answers the data sources these components call
(get_caller_identity, get_partition, get_region, get_availability_zones, ...). Any other data
source raises, so a missing answer fails loudly instead of returning nothing; pass your own
answers with `evaluate(..., extra_calls=[...])`.
"""
from __future__ import annotations

import asyncio
import contextvars
import gc
import hashlib
import json
import os
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

__all__ = ["ACCOUNT_ID", "DEFAULT_REGION", "BlueprintMocks", "CallAnswer", "RecordedResource", "StackSnapshot",
           "evaluate", "read_stack_config"]

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_PROJECT = "test"

CallAnswer = Callable[[str, dict, str], Optional[dict]]
"""An answer for data sources: (token, args, region) -> outputs, or None when it isn't this one's."""


@dataclass
class RecordedResource:
    """One resource as the engine would see it; attribute names follow pulumi_policy's PolicyResource."""
    urn: str
    resource_type: str
    name: str
    props: dict
    custom: bool
    parent: Optional[str] = None
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    provider: Optional[str] = None
    outputs: dict = field(default_factory=dict)
    secret_inputs: list[str] = field(default_factory=list)
    """Paths of inputs passed as secrets, e.g. "origins[0].customHeaders[0].value" (props show them in clear)."""
    retain_on_delete: bool = False
    """Registered with `retain_on_delete`: `pulumi destroy` (or removing it) leaves it in the cloud."""
    ignore_changes: list[str] = field(default_factory=list)
    """Properties registered with `ignore_changes`: after creation, Pulumi leaves them to something else."""

    @property
    def region(self) -> Optional[str]:
        return self.outputs.get("_region")

    @property
    def opts(self) -> "RecordedOptions":
        """The resource options a policy rule may read (as pulumi_policy's PolicyResource.opts)."""
        return RecordedOptions(retain_on_delete=self.retain_on_delete)


@dataclass(frozen=True)
class RecordedOptions:
    retain_on_delete: bool = False


@dataclass
class StackSnapshot:
    stack: str
    resources: list[RecordedResource]
    exports: dict[str, Any]
    providers: dict[str, RecordedResource]

    def of_type(self, resource_type: str) -> list[RecordedResource]:
        """Every resource of a type token, e.g. "aws:s3/bucket:Bucket", in registration order."""
        return [r for r in self.resources if r.resource_type == resource_type]

    def named(self, name: str) -> RecordedResource:
        """The resource with this logical name; a component and its main resource may share one,
        and then the AWS resource is meant (use component() for the component)."""
        matches = [r for r in self.resources if r.name == name]
        if len(matches) > 1:
            matches = [r for r in matches if r.custom]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources named {name!r} in stack {self.stack}")
        return matches[0]

    def component(self, name: str) -> RecordedResource:
        return next(r for r in self.resources if r.name == name and not r.custom)

    def by_urn(self, urn: str) -> RecordedResource:
        return next(r for r in self.resources if r.urn == urn)

    def children_of(self, urn: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent == urn]

    def descendants_of(self, urn: str) -> list[RecordedResource]:
        found, frontier = [], [urn]
        while frontier:
            children = [r for r in self.resources if r.parent in frontier]
            found += children
            frontier = [c.urn for c in children]
        return found

    def provider_of(self, resource: RecordedResource) -> Optional[RecordedResource]:
        """The explicit provider resource a custom resource was registered with."""
        if not resource.provider:
            return None
        return self.providers.get(resource.provider.rsplit("::", 1)[0])  # a provider ref is "<urn>::<id>"


def _physical_name(logical: str) -> str:
    """Pulumi auto-naming: the logical name plus '-' and 7 random characters (deterministic here)."""
    return f"{logical}-{hashlib.sha256(logical.encode()).hexdigest()[:7]}"


class BlueprintMocks:
    """Fake engine answers: plausible ids, ARNs and computed attributes for each resource."""

    def __init__(self, extra_calls: Optional[list[CallAnswer]] = None) -> None:
        self.provider_regions: dict[str, str] = {}
        self.api_resource_paths: dict[str, str] = {}
        """API Gateway resource id -> its full path, so a nested resource's `path` is real (/api/posts)."""
        self.extra_calls: list[CallAnswer] = list(extra_calls or [])
        """Answers for data sources beyond ours, tried in order before giving up."""
        self.ecs_services: dict[tuple[str, str], str] = {}
        """(cluster ARN, service name) -> the task definition it was given: what DescribeServices answers."""

    # pulumi.runtime.Mocks interface -------------------------------------------------------------
    def new_resource(self, args) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider-id", inputs
        region = self._region(args.provider)
        physical = inputs.get("name") or _physical_name(args.name)
        outputs = {**inputs, **_computed(args.typ, args.name, physical, inputs, region), "_region": region}
        if args.typ == "aws:apigateway/resource:Resource":
            parent = inputs.get("parentId")
            parent_path = self.api_resource_paths.get(parent, "") if isinstance(parent, str) else ""
            outputs["path"] = f"{parent_path}/{inputs.get('pathPart')}"
            self.api_resource_paths[outputs.get("id") or f"{physical}-id"] = outputs["path"]
        if args.typ == "aws:ecs/service:Service":
            self.ecs_services[(str(inputs.get("cluster")), outputs["name"])] = str(inputs.get("taskDefinition"))
        return outputs.get("id") or f"{physical}-id", outputs

    def call(self, args) -> dict:
        region = self._region(args.provider)
        token = args.token
        if token == "aws:index/getRegion:getRegion":
            return {"id": region, "name": region, "region": region, "endpoint": f"ec2.{region}.amazonaws.com",
                    "description": region}
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline",
                    "id": ACCOUNT_ID, "userId": "AIDAOFFLINE"}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [f"{region}a", f"{region}b", f"{region}c"],
                    "zoneIds": [f"{region[:3]}-az1", f"{region[:3]}-az2", f"{region[:3]}-az3"], "id": region}
        if token == "aws:ec2/getSubnet:getSubnet":
            return {"id": args.args.get("id"), "vpcId": "vpc-given", "cidrBlock": "10.0.0.0/16",
                    "availabilityZone": f"{region}a"}
        if token == "aws:ec2/getManagedPrefixList:getManagedPrefixList" \
                and args.args.get("name") == "com.amazonaws.global.cloudfront.origin-facing":
            pl_id = f"pl-{hashlib.sha256(region.encode()).hexdigest()[:8]}"
            return {"id": pl_id, "name": args.args["name"], "addressFamily": "IPv4", "maxEntries": 55,
                    "ownerId": "AWS", "arn": f"arn:aws:ec2:{region}:aws:prefix-list/{pl_id}", "version": 1,
                    "entries": [{"cidr": "130.176.0.0/18", "description": ""}], "tags": {}, "region": region}
        if token == "aws:ssm/getParameter:getParameter" \
                and args.args.get("name", "").startswith("/aws/service/ami-amazon-linux-latest/"):
            name = args.args["name"]
            return {"id": name, "name": name, "type": "String", "value": "ami-0a1b2c3d4e5f60718",
                    "insecureValue": "ami-0a1b2c3d4e5f60718", "version": 1, "withDecryption": True,
                    "arn": f"arn:aws:ssm:{region}::parameter{name}", "region": region}
        for handler in [*self.extra_calls, *EXTRA_CALLS]:
            answer = handler(token, args.args, region)
            if answer is not None:
                return answer
        # After the caller's answers: a test may answer these otherwise (a service ECS rolled back).
        if token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {"id": region, "userName": "AWS", "password": "offline-registry-password",
                    "authorizationToken": "QVdTOm9mZmxpbmU=", "expiresAt": "2030-01-01T00:00:00Z",
                    "proxyEndpoint": f"https://{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com"}
        if token == "aws:ecs/getService:getService" and \
                (args.args.get("clusterArn"), args.args.get("serviceName")) in self.ecs_services:
            # A service runs what it was last given (a rolled-back one wouldn't: answer that with extra_calls).
            cluster, service = args.args["clusterArn"], args.args["serviceName"]
            return {"id": service, "arn": f"arn:aws:ecs:{region}:{ACCOUNT_ID}:service/{service}",
                    "serviceName": service, "clusterArn": cluster, "desiredCount": 1, "launchType": "FARGATE",
                    "schedulingStrategy": "REPLICA", "taskDefinition": self.ecs_services[(cluster, service)],
                    "tags": {}}
        if token == "aws:apigateway/getSdk:getSdk":
            # A stand-in zip: what callers read is its size and names, never its bytes.
            a = args.args
            return {"id": f"{a.get('restApiId')}:{a.get('stageName')}:{a.get('sdkType')}",
                    "restApiId": a.get("restApiId"), "stageName": a.get("stageName"), "sdkType": a.get("sdkType"),
                    "parameters": a.get("parameters") or {}, "region": region, "body": "PK\x05\x06" + "\x00" * 18,
                    "contentType": "application/octet-stream",
                    "contentDisposition": f'attachment; filename="{a.get("sdkType")}_sdk.zip"'}
        raise NotImplementedError(f"the mocks don't know the data source {token!r} ({args.args}); "
                                  f"answer it with evaluate(..., extra_calls=[...])")

    def _region(self, provider_ref: Optional[str]) -> str:
        if provider_ref:
            urn = provider_ref.rsplit("::", 1)[0]
            if urn in self.provider_regions:
                return self.provider_regions[urn]
        return self.provider_regions.get("default", DEFAULT_REGION)


# Answers every BlueprintMocks tries after its own: (token, args, region) -> dict | None.
EXTRA_CALLS: list[CallAnswer] = []


def _computed(typ: str, logical: str, physical: str, inputs: dict, region: str) -> dict:
    """Attributes AWS computes, shaped like the real ones."""
    service = typ.split(":")[1].split("/")[0]
    arn = f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{physical}"
    out: dict[str, Any] = {"arn": arn, "name": physical, "id": f"{physical}-id"}
    kind = typ.split(":")[-1]
    if typ == "aws:s3/bucket:Bucket":
        bucket = (inputs.get("bucket") or physical).lower()
        out.update(id=bucket, bucket=bucket, arn=f"arn:aws:s3:::{bucket}",
                   bucketDomainName=f"{bucket}.s3.amazonaws.com",
                   bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com")
    elif typ == "aws:sqs/queue:Queue":
        out.update(id=f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{physical}",
                   url=f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{physical}",
                   arn=f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{physical}")
    elif typ == "aws:sns/topic:Topic":
        out.update(id=f"arn:aws:sns:{region}:{ACCOUNT_ID}:{physical}", arn=f"arn:aws:sns:{region}:{ACCOUNT_ID}:{physical}")
    elif typ == "aws:lambda/function:Function":
        fn_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{physical}"
        version = "1" if inputs.get("publish") else "$LATEST"  # publish: the first version
        out.update(arn=fn_arn, qualifiedArn=f"{fn_arn}:{version}", version=version,
                   invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{fn_arn}/invocations",
                   qualifiedInvokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
                                      f"{fn_arn}:{version}/invocations")
    elif typ == "aws:lambda/alias:Alias":
        alias_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{inputs.get('functionName')}:{physical}"
        out.update(arn=alias_arn, id=alias_arn,
                   invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{alias_arn}/invocations")
    elif typ == "aws:lambda/layerVersion:LayerVersion":
        out.update(arn=f"arn:aws:lambda:{region}:{ACCOUNT_ID}:layer:{inputs.get('layerName', physical)}:1")
    elif typ == "aws:dynamodb/table:Table":
        out.update(id=physical, arn=f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{physical}")
        if inputs.get("streamEnabled"):
            out["streamArn"] = f"{out['arn']}/stream/2026-01-01T00:00:00.000"
            out["streamLabel"] = "2026-01-01T00:00:00.000"
    elif typ == "aws:iam/role:Role":
        out.update(id=physical, arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{physical}", uniqueId=f"AROA{physical[:8]}")
    elif typ == "aws:iam/policy:Policy":
        out.update(arn=f"arn:aws:iam::{ACCOUNT_ID}:policy/{physical}")
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        out.update(id=physical, arn=f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{physical}")
    elif typ == "aws:apigateway/restApi:RestApi":
        api_id = hashlib.sha256(logical.encode()).hexdigest()[:10]
        out.update(id=api_id, rootResourceId=f"{api_id}-root",
                   arn=f"arn:aws:apigateway:{region}::/restapis/{api_id}",
                   executionArn=f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{api_id}")
    elif typ == "aws:apigateway/stage:Stage":
        rest_api, stage = inputs.get("restApi"), inputs.get("stageName")
        out.update(invokeUrl=f"https://{rest_api}.execute-api.{region}.amazonaws.com/{stage}",
                   arn=f"arn:aws:apigateway:{region}::/restapis/{rest_api}/stages/{stage}",
                   executionArn=f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{rest_api}/{stage}")
    elif typ == "aws:apigateway/resource:Resource":
        out.update(path=f"/{inputs.get('pathPart')}")
    elif typ == "aws:cognito/userPool:UserPool":
        pool_id = f"{region}_{hashlib.sha256(logical.encode()).hexdigest()[:9]}"
        out.update(id=pool_id, arn=f"arn:aws:cognito-idp:{region}:{ACCOUNT_ID}:userpool/{pool_id}",
                   endpoint=f"cognito-idp.{region}.amazonaws.com/{pool_id}")
    elif typ == "aws:cognito/userPoolDomain:UserPoolDomain":
        distribution = f"d{hashlib.sha256(logical.encode()).hexdigest()[:13]}.cloudfront.net"
        out.update(id=inputs.get("domain") or physical, cloudfrontDistribution=distribution,
                   cloudfrontDistributionZoneId="Z2FDTNDATAQYW2", awsAccountId=ACCOUNT_ID)
    elif typ == "aws:cognito/identityPool:IdentityPool":
        out.update(id=f"{region}:{hashlib.sha256(logical.encode()).hexdigest()[:8]}-0000-0000-0000-000000000000")
    elif typ == "aws:dax/cluster:Cluster":
        name = inputs.get("clusterName") or physical
        out.update(clusterName=name, arn=f"arn:aws:dax:{region}:{ACCOUNT_ID}:cache/{name}",
                   clusterAddress=f"{name}.abc123.dax-clusters.{region}.amazonaws.com",
                   configurationEndpoint=f"{name}.abc123.dax-clusters.{region}.amazonaws.com:9111")
    elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
        out.update(prefixListId=f"pl-{hashlib.sha256(logical.encode()).hexdigest()[:8]}")
    elif typ == "aws:ec2/vpc:Vpc":
        out.update(id=f"vpc-{hashlib.sha256(logical.encode()).hexdigest()[:8]}")
    elif typ == "aws:ec2/securityGroup:SecurityGroup":
        out.update(id=f"sg-{hashlib.sha256(logical.encode()).hexdigest()[:8]}")
    elif typ == "aws:ec2/subnet:Subnet":
        out.update(id=f"subnet-{hashlib.sha256(logical.encode()).hexdigest()[:8]}")
    elif typ == "aws:cloudfront/distribution:Distribution":
        dist_id = "E" + hashlib.sha256(logical.encode()).hexdigest()[:12].upper()
        out.update(id=dist_id, arn=f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{dist_id}",
                   domainName=f"d{dist_id[1:9].lower()}.cloudfront.net", hostedZoneId="Z2FDTNDATAQYW2")
    elif typ == "aws:cloudwatch/eventBus:EventBus":
        out.update(arn=f"arn:aws:events:{region}:{ACCOUNT_ID}:event-bus/{physical}")
    elif typ == "aws:cloudwatch/eventRule:EventRule":
        bus = inputs.get("eventBusName", "default")
        out.update(arn=f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{bus}/{physical}")
    elif typ == "aws:kms/key:Key":
        key_id = hashlib.sha256(logical.encode()).hexdigest()[:32]
        out.update(id=key_id, keyId=key_id, arn=f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}")
    elif typ == "aws:acm/certificate:Certificate":
        out.update(arn=f"arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/{physical}",
                   domainValidationOptions=[{"domainName": domain, "resourceRecordName": f"_x.{domain}.",
                                             "resourceRecordType": "CNAME",
                                             "resourceRecordValue": "_y.acm-validations.aws."}
                                            for domain in [inputs.get("domainName"),
                                                           *(inputs.get("subjectAlternativeNames") or [])]])
    elif typ in ("aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener"):
        digest = hashlib.sha256(logical.encode()).hexdigest()[:16]
        path = {"LoadBalancer": f"loadbalancer/app/{physical}/{digest}", "TargetGroup": f"targetgroup/{physical}/{digest}",
                "Listener": f"listener/app/{physical}/{digest}/{digest[::-1]}"}[kind]
        out.update(id=f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:{path}",
                   arn=f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:{path}", arnSuffix=path.split("/", 1)[1])
        if kind == "LoadBalancer":
            out.update(dnsName=f"{physical}-1234567890.{region}.elb.amazonaws.com", zoneId="Z32O12XQLNTSW2")
    elif typ == "aws:efs/fileSystem:FileSystem":
        fs_id = f"fs-{hashlib.sha256(logical.encode()).hexdigest()[:17]}"
        out.update(id=fs_id, arn=f"arn:aws:elasticfilesystem:{region}:{ACCOUNT_ID}:file-system/{fs_id}",
                   dnsName=f"{fs_id}.efs.{region}.amazonaws.com")
    elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
        out.update(id=f"lt-{hashlib.sha256(logical.encode()).hexdigest()[:17]}", latestVersion=1)
    elif typ == "random:index/randomPassword:RandomPassword":
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
        seed = hashlib.sha256(logical.encode()).digest() * 4
        out.update(id="none", result="".join(alphabet[b % len(alphabet)] for b in seed[:int(inputs["length"])]))
    elif typ == "aws:sesv2/emailIdentity:EmailIdentity":
        identity = inputs.get("emailIdentity")
        tokens = [hashlib.sha256(f"{identity}-{i}".encode()).hexdigest()[:32] for i in range(3)]
        out.update(id=identity, arn=f"arn:aws:ses:{region}:{ACCOUNT_ID}:identity/{identity}",
                   identityType="EMAIL_ADDRESS" if "@" in str(identity) else "DOMAIN",
                   dkimSigningAttributes={"tokens": tokens, "status": "PENDING",
                                          "signingAttributesOrigin": "AWS_SES"})
    elif typ == "aws:sesv2/configurationSet:ConfigurationSet":
        config_set = inputs.get("configurationSetName") or physical
        out.update(id=config_set, arn=f"arn:aws:ses:{region}:{ACCOUNT_ID}:configuration-set/{config_set}")
    elif typ == "aws:ses/template:Template":
        out.update(id=physical, arn=f"arn:aws:ses:{region}:{ACCOUNT_ID}:template/{physical}")
    elif typ == "aws:wafv2/webAcl:WebAcl":
        acl_id = hashlib.sha256(logical.encode()).hexdigest()[:36]
        scope = "global" if inputs.get("scope") == "CLOUDFRONT" else "regional"
        out.update(id=acl_id, arn=f"arn:aws:wafv2:{region}:{ACCOUNT_ID}:{scope}/webacl/{physical}/{acl_id}")
    elif typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        out.update(primaryEndpointAddress=f"master.{physical}.abc123.{region}.cache.amazonaws.com",
                   readerEndpointAddress=f"replica.{physical}.abc123.{region}.cache.amazonaws.com")
    elif typ == "aws:rds/instance:Instance":
        address = f"{physical}.c0ffee.{region}.rds.amazonaws.com"
        out.update(address=address, endpoint=f"{address}:{inputs.get('port', 5432)}",
                   resourceId=f"db-{hashlib.sha256(logical.encode()).hexdigest()[:26].upper()}",
                   masterUserSecrets=[{"secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:rds!{physical}",
                                       "secretStatus": "active", "kmsKeyId": ""}]
                   if inputs.get("manageMasterUserPassword") else [])
    elif typ == "aws:route53/zone:Zone":
        zone_id = "Z" + hashlib.sha256(logical.encode()).hexdigest()[:20].upper()
        out.update(id=zone_id, zoneId=zone_id, arn=f"arn:aws:route53:::hostedzone/{zone_id}",
                   nameServers=[] if inputs.get("vpcs") else [f"ns-{n}.awsdns-{n:02d}.org" for n in range(4)])
    elif typ == "aws:ecr/repository:Repository":
        out.update(id=physical, registryId=ACCOUNT_ID, arn=f"arn:aws:ecr:{region}:{ACCOUNT_ID}:repository/{physical}",
                   repositoryUrl=f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{physical}")
    elif typ == "docker-build:index:Image":
        out.update(digest=f"sha256:{hashlib.sha256(logical.encode()).hexdigest()}")
    elif kind in ("UserPoolClient",):
        out.update(id=hashlib.sha256(logical.encode()).hexdigest()[:26])
    return out


class RecordingMonitor:
    """Wraps pulumi's MockMonitor and keeps each registration's parent, dependencies and provider."""

    def __init__(self, mocks: BlueprintMocks):
        from pulumi.runtime.mocks import MockMonitor

        self.mocks = mocks
        self.inner = MockMonitor(_MocksAdapter(mocks))
        self.records: list[RecordedResource] = []

    def __getattr__(self, item):
        return getattr(self.inner, item)

    def RegisterResource(self, request):
        from pulumi.runtime import rpc

        response = self.inner.RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = rpc.deserialize_properties(request.object)
        state = rpc.deserialize_properties(response.object) if response.object else {}
        if request.type.startswith("pulumi:providers:"):
            # The engine hands providers their nested inputs as JSON strings.
            inputs = {k: _json_or_text(v) for k, v in inputs.items()}
            region = inputs.get("region")
            if region:
                self.mocks.provider_regions[response.urn] = region
        self.records.append(RecordedResource(
            urn=response.urn, resource_type=request.type, name=request.name, props=_plain(inputs),
            custom=request.custom, parent=request.parent or None, dependencies=list(request.dependencies),
            property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
            provider=request.provider or None, outputs=_plain(state), secret_inputs=_secret_paths(inputs),
            retain_on_delete=bool(request.retainOnDelete), ignore_changes=list(request.ignoreChanges)))
        return response


if TYPE_CHECKING:
    from pulumi.runtime import Mocks as _Mocks
else:
    _Mocks = object


class _MocksAdapter(_Mocks):
    """Adapts BlueprintMocks to pulumi.runtime.Mocks without inheriting its ABC at import time."""

    def __init__(self, mocks: BlueprintMocks):
        self._mocks = mocks

    def new_resource(self, args):
        return self._mocks.new_resource(args)

    def call(self, args):
        return self._mocks.call(args)

    def register_transform(self, transform):
        pass

    def register_invoke_transform(self, transform):
        pass


def _secret_paths(value: Any, path: str = "") -> list[str]:
    """Where `value` (deserialized inputs) holds secrets, as dotted paths with [index] for lists."""
    from pulumi.runtime import rpc

    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return [path]
        return [p for k, v in value.items() for p in _secret_paths(v, f"{path}.{k}" if path else k)]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in _secret_paths(v, f"{path}[{i}]")]
    return []


def _json_or_text(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def _plain(value: Any) -> Any:
    """Strip pulumi's secret wrappers and unknowns so assertions see plain JSON-like data."""
    from pulumi.runtime import rpc

    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


# --- stack config ---------------------------------------------------------------------------------

def project_name(project_dir: Path) -> str:
    """The `name:` of the project's Pulumi.yaml (the namespace of its unqualified config keys)."""
    import yaml

    path = Path(project_dir) / "Pulumi.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no Pulumi.yaml in {project_dir}")
    return (yaml.safe_load(path.read_text()) or {})["name"]


def read_stack_config(stack: str, project_dir: Union[str, Path], project: Optional[str] = None) -> dict[str, Any]:
    """The `config:` map of Pulumi.<stack>.yaml, keys fully qualified (project:key, aws:region)."""
    import yaml

    project_dir = Path(project_dir)
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no stack config {path.name}; stacks: "
                                f"{sorted(p.stem.split('.', 1)[1] for p in project_dir.glob('Pulumi.*.yaml'))}")
    project = project or project_name(project_dir)
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return _qualified(opaque_secrets(config), project)


SECRET_STAND_IN_PREFIX = "offline-secret-"


def opaque_secrets(value: Any) -> Any:
    """`{secure: <ciphertext>}` values (`pulumi config set --secret`) as opaque stand-ins.

    Only the Pulumi CLI can decrypt them; offline, each becomes `offline-secret-<digest of the ciphertext>`
    (A-Z a-z 0-9 and -, 55 characters), which reveals nothing and passes the usual format checks of a
    generated secret. Their config keys are passed to the program as secret keys, as the CLI does.
    """
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            return SECRET_STAND_IN_PREFIX + hashlib.sha256(value["secure"].encode()).hexdigest()[:40]
        return {key: opaque_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [opaque_secrets(item) for item in value]
    return value


def _qualified(config: dict[str, Any], project: str) -> dict[str, Any]:
    return {key if ":" in key else f"{project}:{key}": value for key, value in config.items()}


# --- evaluation -----------------------------------------------------------------------------------

Program = Union[Callable[[], Any], str, Path]


def evaluate(program: Program, stack: str = "test", config: Optional[dict[str, Any]] = None, *,
             region: Optional[str] = None, project: Optional[str] = None,
             extra_calls: Optional[list[CallAnswer]] = None,
             mocks: Optional[BlueprintMocks] = None) -> StackSnapshot:
    """Run a Pulumi program under the mocks and record every resource it registers.

    `program` is a function (e.g. `lambda: ThumbnailPipeline("photos")`) or a project: its folder,
    or its `__main__.py`. A project runs as `pulumi up` would run it: from its folder (relative paths
    resolve there), with the folder importable (its own packages), and, when `config` is None,
    with its `Pulumi.<stack>.yaml` if there is one. Its modules are forgotten afterwards, so two
    projects with a package of the same name can be evaluated in one process.

    `config` keys without a namespace belong to the project; `region` sets `aws:region` unless
    config does. Data sources beyond ours are answered by `extra_calls`, or by your own `mocks`.
    """
    project_dir = None
    if callable(program):
        run = program
    else:
        main = Path(program).absolute()
        main = main / "__main__.py" if main.is_dir() else main
        if not main.is_file():
            raise FileNotFoundError(f"no Pulumi program at {main}")
        project_dir = main.parent
        run = _project_program(main)
        if project is None and (project_dir / "Pulumi.yaml").is_file():
            project = project_name(project_dir)
        if config is None and (project_dir / f"Pulumi.{stack}.yaml").is_file():
            config = read_stack_config(stack, project_dir, project)
    project = project or DEFAULT_PROJECT
    config = _qualified(dict(config or {}), project)
    if region is not None:
        config.setdefault("aws:region", region)
    mocks = mocks or BlueprintMocks()
    mocks.extra_calls.extend(extra_calls or [])
    return contextvars.Context().run(_evaluate_in, stack, config, project, run, mocks, project_dir)


def _project_program(main: Path) -> Callable[[], Any]:
    def run() -> None:
        runpy.run_path(str(main), run_name="__main__")
    return run


def _evaluate_in(stack: str, config: dict[str, Any], project: str, program: Callable[[], Any],
                 mocks: BlueprintMocks, project_dir: Optional[Path]) -> StackSnapshot:
    if project_dir is None:
        return _run_program(stack, config, project, program, mocks)
    # As the Pulumi language host does: the project's folder is the working directory and on sys.path.
    # Its own top-level modules (say `components`) hide any loaded elsewhere under the same name,
    # and are forgotten afterwards.
    own = {path.stem for path in project_dir.iterdir()
           if (path.suffix == ".py" or (path / "__init__.py").is_file()) and path.stem != "__main__"}
    hidden = {name: module for name, module in sys.modules.items() if name.split(".")[0] in own}
    for name in hidden:
        del sys.modules[name]
    cwd = Path.cwd()
    sys.path.insert(0, str(project_dir))
    os.chdir(project_dir)
    try:
        return _run_program(stack, config, project, program, mocks)
    finally:
        os.chdir(cwd)
        sys.path.remove(str(project_dir))
        for name in [name for name, module in sys.modules.items() if name.split(".")[0] in own
                     or _is_under(getattr(module, "__file__", None), project_dir)]:
            del sys.modules[name]
        sys.modules.update(hidden)


def _is_under(path: Optional[str], folder: Path) -> bool:
    if not path:
        return False
    return Path(path).resolve().is_relative_to(folder.resolve())


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close a run's loop, leaving nothing of a failed program for the next evaluation.

    A program that fails inside an apply leaves tasks pending in pulumi's set of tracked
    outputs, which is shared between runs: the next run would wait on them, on this closed
    loop ("Event loop is closed"). Cancel them, as asyncio.run does, and forget them.
    """
    from pulumi.runtime.settings import SETTINGS

    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    SETTINGS.outputs.clear()
    loop.close()


def _run_program(stack: str, config: dict[str, Any], project: str, program: Callable[[], Any],
                mocks: Optional[BlueprintMocks] = None) -> StackSnapshot:
    """The engine loop under the mocks: `config` fully qualified, `program` a function."""
    import pulumi
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.settings import SETTINGS
    from pulumi.runtime.stack import run_pulumi_func

    asyncio.set_event_loop(asyncio.new_event_loop())
    config = _qualified(opaque_secrets(config), project)
    values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    set_all_config(values, [k for k, v in values.items() if SECRET_STAND_IN_PREFIX in v])
    recorder = mocks or BlueprintMocks()
    recorder.provider_regions["default"] = config.get("aws:region", DEFAULT_REGION)
    monitor = RecordingMonitor(recorder)
    # RecordingMonitor stands in for the MockMonitor it wraps (it delegates what it doesn't record).
    pulumi.runtime.set_mocks(_MocksAdapter(recorder), project=project, stack=stack, preview=False,
                             monitor=monitor)  # type: ignore[arg-type]
    # MockSettings keeps the previous run's output tasks; a run that raised leaves tasks bound to its
    # closed loop, which the next run would await ("Event loop is closed"). Start clean, as pulumi's own
    # @pulumi.runtime.test does.
    SETTINGS.outputs = set()
    SETTINGS.rpc_manager.clear()
    try:
        pulumi_mocks._sync_await(run_pulumi_func(program))
        root = pulumi.runtime.get_root_resource()
        exports = {name: pulumi_mocks._sync_await(pulumi.Output.from_input(value).future())
                   for name, value in getattr(root, "outputs", {}).items()}
    except BaseException:
        _close_loop(asyncio.get_event_loop())
        # A failed run leaves futures whose errors nobody read; asyncio logs each one, with its traceback,
        # when it is collected. Collect them here, on this thread: collected later on one of pulumi's
        # worker threads, that formatting (ast.parse, in Python 3.11's traceback) races any parse on
        # this thread, and CPython 3.11 then fails with "AST constructor recursion depth mismatch".
        gc.collect()
        raise
    _close_loop(asyncio.get_event_loop())
    providers = {r.urn: r for r in monitor.records if r.resource_type.startswith("pulumi:providers:")}
    return StackSnapshot(stack=stack, resources=monitor.records, exports=_plain(exports), providers=providers)
