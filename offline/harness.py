"""Evaluate the real `__main__.py` for a stack under Pulumi mocks, and record every resource.

No AWS and no Pulumi CLI: `pulumi.runtime.set_mocks` stands in for the engine.
The recording monitor keeps what the engine would be told for each resource: its
type, logical name, inputs, parent, explicit dependencies and provider, so tests
and the offline plan can assert on the real wiring, not on resource counts.

The mocks answer only the data sources this project uses; any other call raises,
so a new data source can't silently return nothing.
"""
from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import runpy
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "serverless-blueprints"
ACCOUNT_ID = "123456789012"


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

    @property
    def region(self) -> Optional[str]:
        return self.outputs.get("_region")


@dataclass
class StackSnapshot:
    stack: str
    resources: list[RecordedResource]
    exports: dict[str, Any]
    providers: dict[str, RecordedResource]

    def of_type(self, resource_type: str) -> list[RecordedResource]:
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

    def __init__(self) -> None:
        self.provider_regions: dict[str, str] = {}
        self.api_resource_paths: dict[str, str] = {}
        """API Gateway resource id -> its full path, so a nested resource's `path` is real (/api/posts)."""

    # pulumi.runtime.Mocks interface -------------------------------------------------------------
    def new_resource(self, args) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider-id", inputs
        region = self._region(args.provider)
        physical = inputs.get("name") or _physical_name(args.name)
        outputs = {**inputs, **_computed(args.typ, args.name, physical, inputs, region), "_region": region}
        if args.typ == "aws:apigateway/resource:Resource":
            parent_path = self.api_resource_paths.get(inputs.get("parentId"), "")
            outputs["path"] = f"{parent_path}/{inputs.get('pathPart')}"
            self.api_resource_paths[outputs.get("id") or f"{physical}-id"] = outputs["path"]
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
        for handler in EXTRA_CALLS:
            answer = handler(token, args.args, region)
            if answer is not None:
                return answer
        raise NotImplementedError(f"offline mocks don't know the data source {token!r} ({args.args}); "
                                  f"add an answer in offline/harness.py")

    def _region(self, provider_ref: Optional[str]) -> str:
        if provider_ref:
            urn = provider_ref.rsplit("::", 1)[0]
            if urn in self.provider_regions:
                return self.provider_regions[urn]
        return self.provider_regions.get("default", "us-east-1")


# Components that need more data sources register an answer here: (token, args, region) -> dict | None.
EXTRA_CALLS: list[Callable[[str, dict, str], Optional[dict]]] = []


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
        out.update(arn=fn_arn, qualifiedArn=f"{fn_arn}:$LATEST",
                   invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{fn_arn}/invocations")
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
        out.update(invokeUrl=f"https://{inputs.get('restApi')}.execute-api.{region}.amazonaws.com/{inputs.get('stageName')}",
                   arn=f"arn:aws:apigateway:{region}::/restapis/{inputs.get('restApi')}/stages/{inputs.get('stageName')}")
    elif typ == "aws:apigateway/resource:Resource":
        out.update(path=f"/{inputs.get('pathPart')}")
    elif typ == "aws:cognito/userPool:UserPool":
        pool_id = f"{region}_{hashlib.sha256(logical.encode()).hexdigest()[:9]}"
        out.update(id=pool_id, arn=f"arn:aws:cognito-idp:{region}:{ACCOUNT_ID}:userpool/{pool_id}",
                   endpoint=f"cognito-idp.{region}.amazonaws.com/{pool_id}")
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
                   domainValidationOptions=[{"domainName": inputs.get("domainName"),
                                             "resourceRecordName": f"_x.{inputs.get('domainName')}.",
                                             "resourceRecordType": "CNAME",
                                             "resourceRecordValue": "_y.acm-validations.aws."}])
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
        from pulumi.runtime.mocks import _sync_await

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
            provider=request.provider or None, outputs=_plain(state), secret_inputs=_secret_paths(inputs)))
        return response


class _MocksAdapter:
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


def read_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The `config:` map of Pulumi.<stack>.yaml, keys fully qualified (project:key, aws:region)."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no stack config {path.name}; stacks: "
                                f"{sorted(p.stem.split('.', 1)[1] for p in project_dir.glob('Pulumi.*.yaml'))}")
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return {key if ":" in key else f"{PROJECT}:{key}": value for key, value in config.items()}


def evaluate_stack(stack: str, config: Optional[dict[str, Any]] = None,
                   project_dir: Path = PROJECT_DIR) -> StackSnapshot:
    """Run `__main__.py` for `stack` (with its YAML config, or `config` instead) and record it."""
    config = read_stack_config(stack, project_dir) if config is None else config
    program = lambda: runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")  # noqa: E731
    return contextvars.Context().run(_evaluate, stack, config, project_dir, program)


def evaluate_program(program: Callable[[], Any], stack: str = "unit", region: str = "eu-west-1",
                     config: Optional[dict[str, Any]] = None) -> StackSnapshot:
    """Run any Pulumi program (e.g. one component with explicit args) under the same mocks."""
    config = {"aws:region": region, **(config or {})}
    return contextvars.Context().run(_evaluate, stack, config, PROJECT_DIR, program)


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


def _evaluate(stack: str, config: dict[str, Any], project_dir: Path,
              program: Callable[[], Any]) -> StackSnapshot:
    import pulumi
    from pulumi.runtime import mocks as pulumi_mocks
    from pulumi.runtime.config import set_all_config
    from pulumi.runtime.settings import SETTINGS
    from pulumi.runtime.stack import run_pulumi_func

    asyncio.set_event_loop(asyncio.new_event_loop())
    set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
    recorder = BlueprintMocks()
    recorder.provider_regions["default"] = config.get("aws:region", "us-east-1")
    monitor = RecordingMonitor(recorder)
    pulumi.runtime.set_mocks(_MocksAdapter(recorder), project=PROJECT, stack=stack, preview=False,
                             monitor=monitor)
    # MockSettings keeps the previous run's output tasks; a run that raised leaves tasks bound to its
    # closed loop, which the next run would await ("Event loop is closed"). Start clean, as pulumi's own
    # @pulumi.runtime.test does.
    SETTINGS.outputs = set()
    SETTINGS.rpc_manager.clear()
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    try:
        pulumi_mocks._sync_await(run_pulumi_func(program))
        root = pulumi.runtime.get_root_resource()
        exports = {name: pulumi_mocks._sync_await(pulumi.Output.from_input(value).future())
                   for name, value in getattr(root, "outputs", {}).items()}
    finally:
        _close_loop(asyncio.get_event_loop())
    providers = {r.urn: r for r in monitor.records if r.resource_type.startswith("pulumi:providers:")}
    return StackSnapshot(stack=stack, resources=monitor.records, exports=_plain(exports), providers=providers)
