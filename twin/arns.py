"""What IAM checks for one recorded AWS call: the action, the resource ARN(s) and the request context.

Actions come from data where data exists. For every service but S3 the IAM action is the botocore
operation under the service's IAM prefix, which is how moto's `IAMRequest` derives it (we take the
prefix from botocore's signing name, which moto uses too). S3's actions are not its operation names;
they come from moto's `ACTION_MAP` (HTTP method + sub-resource), fed with botocore's request URI.
What no package ships is the mapping from a call's parameters to ARNs, so each operation we know has
a small builder here, with ARN formats from the AWS Service Authorization Reference. An operation
without one raises `UnmappedOperation`: the judge never allows what it cannot name.

Physical names in calls may be the twin's; `names` maps them back to the recorded ones first.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Optional, Protocol

import botocore.session
from moto.s3.responses import ACTION_MAP as _MOTO_S3_ACTION_MAP

from offline.harness import ACCOUNT_ID, StackSnapshot


class AwsCallLike(Protocol):
    """One API call a function made, as the twin's runner records it."""
    service: str
    operation: str
    params: dict
    region: str
    error_code: Optional[str]


class UnmappedOperation(LookupError):
    """A (service, operation) this module has no IAM mapping for."""


@dataclass(frozen=True)
class Requirement:
    """One authorization IAM makes for a call: `action` on `resource`, with the request's context."""
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Condition keys (lower case) the request carries, each with its values."""
    known_keys: frozenset[str] = frozenset()
    """Service condition keys (lower case) whose presence or absence we determined from the call;
    a condition on any other service key can't be evaluated and is listed instead."""
    implied_by: Optional[str] = None
    """Set when AWS makes this check on the caller's behalf (e.g. DynamoDB using a table's KMS key)."""


# ------------------------------------------------------------------------------------------------
# Facts the derivation needs from the recorded stack


@dataclass
class StackFacts:
    """What ARN derivation needs to know about the recorded stack."""
    account: str = ACCOUNT_ID
    table_partition_keys: dict[str, str] = field(default_factory=dict)
    """Physical table name -> its partition key attribute (for dynamodb:LeadingKeys)."""
    table_kms_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    """(physical table name, region) -> the customer managed KMS key ARN encrypting it there."""
    ses_identities: set[str] = field(default_factory=set)
    """Verified SES identities: email addresses and domains."""
    dax_clusters: dict[str, str] = field(default_factory=dict)
    """DAX cluster address -> cluster ARN."""
    secrets: dict[str, str] = field(default_factory=dict)
    """Secret name -> its ARN."""
    kms_aliases: dict[str, str] = field(default_factory=dict)
    """"alias/name" -> target key ARN."""
    glue_tables: dict[tuple[str, str], str] = field(default_factory=dict)
    """(database, table) -> the s3:// location Athena reads it from (its projection template, else its location)."""
    athena_results: dict[str, str] = field(default_factory=dict)
    """Athena workgroup name -> its enforced s3:// query result location."""

    @classmethod
    def from_snapshot(cls, snapshot: StackSnapshot) -> "StackFacts":
        facts = cls()
        for table in snapshot.of_type("aws:dynamodb/table:Table"):
            name = table.outputs.get("name") or table.props.get("name")
            facts.table_partition_keys[name] = table.props.get("hashKey")
            sse = table.props.get("serverSideEncryption") or {}
            if sse.get("kmsKeyArn"):
                facts.table_kms_keys[(name, table.region)] = sse["kmsKeyArn"]
            for replica in table.props.get("replicas") or []:
                if replica.get("kmsKeyArn"):
                    facts.table_kms_keys[(name, replica["regionName"])] = replica["kmsKeyArn"]
        for kind, key in (("aws:sesv2/emailIdentity:EmailIdentity", "emailIdentity"),
                          ("aws:ses/emailIdentity:EmailIdentity", "email"),
                          ("aws:ses/domainIdentity:DomainIdentity", "domain")):
            facts.ses_identities |= {r.props[key] for r in snapshot.of_type(kind) if r.props.get(key)}
        for cluster in snapshot.of_type("aws:dax/cluster:Cluster"):
            facts.dax_clusters[cluster.outputs.get("clusterAddress", "")] = cluster.outputs["arn"]
        for secret in snapshot.of_type("aws:secretsmanager/secret:Secret"):
            facts.secrets[secret.outputs.get("name") or secret.props.get("name")] = secret.outputs["arn"]
        keys = {k.outputs.get("keyId"): k.outputs["arn"] for k in snapshot.of_type("aws:kms/key:Key")}
        for alias in snapshot.of_type("aws:kms/alias:Alias"):
            target = alias.props.get("targetKeyId", "")
            facts.kms_aliases[alias.props.get("name")] = keys.get(target, target)
        for table in snapshot.of_type("aws:glue/catalogTable:CatalogTable"):
            location = (table.props.get("parameters") or {}).get("storage.location.template") or \
                (table.props.get("storageDescriptor") or {}).get("location", "")
            facts.glue_tables[(table.props["databaseName"], table.props.get("name") or table.outputs["name"])] = location
        for workgroup in snapshot.of_type("aws:athena/workgroup:Workgroup"):
            result = ((workgroup.props.get("configuration") or {}).get("resultConfiguration") or {})
            if result.get("outputLocation"):
                facts.athena_results[workgroup.props.get("name") or workgroup.outputs["name"]] = result["outputLocation"]
        return facts


@dataclass
class CallScope:
    """Everything but the call itself: stack facts, the twin->recorded names, the function's environment."""
    facts: StackFacts
    names: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    region: str = "us-east-1"
    """The function's region, for a call recorded without one."""

    @property
    def account(self) -> str:
        return self.facts.account

    def recorded(self, value: Any) -> Any:
        """The recorded form of a twin value: an exact name, or a segment of an ARN or URL."""
        if not isinstance(value, str) or not self.names:
            return value
        if value in self.names:
            return self.names[value]
        parts = re.split(r"([:/])", value)
        return "".join(self.names.get(p, p) for p in parts)


# ------------------------------------------------------------------------------------------------
# The action: data from botocore and moto

_BOTOCORE = botocore.session.get_session()
_SERVICE_ALIASES = {
    # endpoint prefixes, which some recorders report instead of the service name
    "monitoring": "cloudwatch", "streams.dynamodb": "dynamodbstreams",
}
_IAM_PREFIX_OVERRIDES = {"monitoring": "cloudwatch"}
"""Signing names that are not the IAM prefix (botocore signs CloudWatch as `monitoring`)."""


@functools.lru_cache(maxsize=None)
def _model(service: str) -> Any:
    return _BOTOCORE.get_service_model(service)


@functools.lru_cache(maxsize=None)
def _operations(service: str) -> frozenset[str]:
    return frozenset(_model(service).operation_names)


def service_name(call: AwsCallLike) -> str:
    """botocore's service name for a recorded call (`email` is SES v1 or v2, told apart by operation)."""
    service = _SERVICE_ALIASES.get(call.service, call.service)
    if service == "email":
        service = "ses" if call.operation in _operations("ses") and "Content" not in call.params else "sesv2"
    return service


def iam_prefix(service: str) -> str:
    signing = _model(service).signing_name
    return _IAM_PREFIX_OVERRIDES.get(signing, signing)


def default_action(service: str, operation: str) -> str:
    """`<prefix>:<Operation>`, for an operation botocore knows."""
    if operation not in _operations(service):
        raise UnmappedOperation(f"botocore's {service} has no operation {operation}")
    return f"{iam_prefix(service)}:{operation}"


_S3_OVERRIDES = {
    "HeadBucket": "ListBucket",          # moto names it HeadBucket; IAM checks s3:ListBucket
    "ListObjectsV2": "ListBucket",       # ?list-type=2 is not a sub-resource in moto's map
    "ListObjects": "ListBucket",
}


def s3_action(operation: str, params: Mapping[str, Any]) -> str:
    """The IAM action of an S3 operation, from moto's ACTION_MAP and botocore's request URI."""
    if operation in _S3_OVERRIDES:
        return f"s3:{_S3_OVERRIDES[operation]}"
    op = _model("s3").operation_model(operation)
    uri = op.http["requestUri"]
    path, _, query = uri.partition("?")
    subresources = [q.split("=")[0] for q in query.split("&") if q]
    for member, shape in op.input_shape.members.items():
        if shape.serialization.get("location") == "querystring" and member in params:
            subresources.append(shape.serialization["name"])
    kind = "KEY" if "{Key+}" in path else "BUCKET"
    by_subresource = _MOTO_S3_ACTION_MAP[kind].get(op.http["method"], {})
    for subresource, action in by_subresource.items():
        if subresource in subresources:
            return f"s3:{action}"
    if query or "DEFAULT" not in by_subresource:
        # moto would fall back to the default action for an unknown sub-resource: a guess, not a mapping
        raise UnmappedOperation(f"moto's S3 action map has no entry for {operation} ({op.http['method']} {uri})")
    return f"s3:{by_subresource['DEFAULT']}"


# ------------------------------------------------------------------------------------------------
# Resources and context, per operation

Builder = Callable[[AwsCallLike, CallScope], list[Requirement]]
_BUILDERS: dict[tuple[str, str], Builder] = {}


def _builds(service: str, *operations: str) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        for operation in operations:
            _BUILDERS[(service, operation)] = builder
        return builder
    return register


def mapped_operations() -> list[tuple[str, str]]:
    """Every (service, operation) this module maps, sorted."""
    return sorted(_BUILDERS)


def requirements_for(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    """What IAM authorizes for `call`; raises UnmappedOperation for an operation we have no mapping for."""
    service = service_name(call)
    builder = _BUILDERS.get((service, call.operation))
    if builder is None:
        raise UnmappedOperation(f"no action mapping for {service}:{call.operation}; add it to twin/arns.py")
    if service != "dax":
        default_action(service, call.operation)  # an operation botocore doesn't know is a recording bug
    if not call.region:
        call = _RegionalCall(call.service, call.operation, call.params, scope.region, call.error_code)
    return [Requirement(r.action, r.resource, {"aws:requestedregion": (call.region,), **r.context}, r.known_keys,
                        r.implied_by)
            for r in builder(call, scope)]


@dataclass
class _RegionalCall:
    """A call recorded without a region, placed in the function's."""
    service: str
    operation: str
    params: dict
    region: str
    error_code: Optional[str]


def _req(action: str, resource: str, known: Iterable[str] = (), context: Optional[Mapping[str, Any]] = None, *,
         implied_by: Optional[str] = None) -> Requirement:
    """A requirement; each context key given is known, and a None value means the request lacks it."""
    values: dict[str, tuple[str, ...]] = {}
    known_keys = {k.lower() for k in known}
    for name, value in (context or {}).items():
        key = name.lower()
        known_keys.add(key)
        if value is None:
            continue
        values[key] = tuple(str(v) for v in value) if isinstance(value, (list, tuple, set, frozenset)) else (str(value),)
    return Requirement(action, resource, values, frozenset(known_keys), implied_by)


def _split_arn_or_name(value: str) -> str:
    """The name in an ARN's last segment, or the value itself."""
    return re.split(r"[:/]", value)[-1] if value.startswith("arn:") else value


# --- DynamoDB ------------------------------------------------------------------------------------

_DDB_KEYS = ("dynamodb:LeadingKeys", "dynamodb:EnclosingOperation", "dynamodb:ReturnValues", "dynamodb:Select")


def _table_arn(scope: CallScope, region: str, table: str) -> str:
    if table.startswith("arn:"):
        return table
    return f"arn:aws:dynamodb:{region}:{scope.account}:table/{table}"


def _attribute_text(value: Mapping[str, Any]) -> str:
    (kind, raw), = value.items()
    return str(raw)


def _leading_key(scope: CallScope, table: str, key_or_item: Optional[Mapping[str, Any]]) -> Optional[str]:
    attribute = scope.facts.table_partition_keys.get(table)
    if not attribute or not key_or_item or attribute not in key_or_item:
        return None
    return _attribute_text(key_or_item[attribute])


def _item_requirement(scope: CallScope, action: str, region: str, table: str, key_or_item: Optional[Mapping],
                      enclosing: Optional[str] = None, params: Optional[Mapping[str, Any]] = None) -> list[Requirement]:
    params = params or {}
    table = scope.recorded(table)
    name = _split_arn_or_name(table)
    leading = _leading_key(scope, name, key_or_item)
    known = [k for k in _DDB_KEYS if k != "dynamodb:LeadingKeys" or leading is not None]
    requirement = _req(action, _table_arn(scope, region, table), known,
                       {"dynamodb:LeadingKeys": [leading] if leading is not None else None,
                          "dynamodb:EnclosingOperation": enclosing,
                          "dynamodb:ReturnValues": params.get("ReturnValues"),
                          "dynamodb:Select": params.get("Select")})
    return [requirement, *_table_key_use(scope, region, name)]


def _table_key_use(scope: CallScope, region: str, table: str) -> list[Requirement]:
    """DynamoDB decrypts a table's key with the caller's permissions when a customer managed key encrypts it."""
    key = scope.facts.table_kms_keys.get((table, region))
    if not key:
        return []
    return [_req("kms:Decrypt", key, ["kms:ViaService", "kms:CallerAccount"],
                 {"kms:ViaService": f"dynamodb.{region}.amazonaws.com", "kms:CallerAccount": scope.account},
                 implied_by=f"DynamoDB decrypts table {table}'s key with the caller's permissions")]


@_builds("dynamodb", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable")
def _dynamodb_item(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    p = call.params
    if call.operation == "DescribeTable":
        return [_req(f"dynamodb:{call.operation}", _table_arn(scope, call.region, scope.recorded(p["TableName"])))]
    key = p.get("Item") if call.operation == "PutItem" else p.get("Key")
    return _item_requirement(scope, f"dynamodb:{call.operation}", call.region, p["TableName"], key, params=p)


def _query_leading_key(scope: CallScope, table: str, params: Mapping[str, Any]) -> Optional[str]:
    """The partition key value of a table Query's `<pk> = :v` key condition, if it has that shape."""
    attribute = scope.facts.table_partition_keys.get(table)
    expression = params.get("KeyConditionExpression")
    if not attribute or not expression:
        return None
    aliases = params.get("ExpressionAttributeNames") or {}
    for name, placeholder in re.findall(r"(#?[\w.]+)\s*=\s*(:\w+)", expression):
        if aliases.get(name, name) == attribute:
            value = (params.get("ExpressionAttributeValues") or {}).get(placeholder)
            return _attribute_text(value) if value else None
    return None


@_builds("dynamodb", "Query", "Scan")
def _dynamodb_query(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    p = call.params
    table = scope.recorded(p["TableName"])
    name = _split_arn_or_name(table)
    resource = _table_arn(scope, call.region, table)
    index = p.get("IndexName")
    if index:
        resource = f"{resource}/index/{scope.recorded(index)}"
    # LeadingKeys names the table's partition key; an index query's isn't derived here.
    leading = _query_leading_key(scope, name, p) if call.operation == "Query" and not index else None
    known = [k for k in _DDB_KEYS if k != "dynamodb:LeadingKeys" or leading is not None]
    return [_req(f"dynamodb:{call.operation}", resource, known,
                 {"dynamodb:LeadingKeys": [leading] if leading is not None else None,
                    "dynamodb:EnclosingOperation": None, "dynamodb:ReturnValues": None,
                    "dynamodb:Select": p.get("Select")}),
            *_table_key_use(scope, call.region, name)]


_TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                     "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


@_builds("dynamodb", "TransactWriteItems", "TransactGetItems")
def _dynamodb_transaction(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    """No IAM action for the transaction itself: one check per item, with EnclosingOperation set."""
    requirements: list[Requirement] = []
    for item in call.params["TransactItems"]:
        (kind, body), = item.items()
        key = body.get("Item") if kind == "Put" else body.get("Key")
        for r in _item_requirement(scope, f"dynamodb:{_TRANSACT_ACTIONS[kind]}", call.region, body["TableName"],
                                   key, enclosing=call.operation):
            if r not in requirements:
                requirements.append(r)
    return requirements


@_builds("dynamodb", "BatchWriteItem", "BatchGetItem")
def _dynamodb_batch(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    """One check of the batch action per table, with every partition key written or read there."""
    requirements: list[Requirement] = []
    for table, requests in call.params["RequestItems"].items():
        table = scope.recorded(table)
        name = _split_arn_or_name(table)
        if call.operation == "BatchWriteItem":
            keys = [(r.get("PutRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key")
                    for r in requests]
        else:
            keys = list(requests.get("Keys") or [])
        leading = [_leading_key(scope, name, k) for k in keys]
        known = [k for k in _DDB_KEYS if k != "dynamodb:LeadingKeys" or None not in leading]
        requirements.append(_req(f"dynamodb:{call.operation}", _table_arn(scope, call.region, table), known,
                                 {"dynamodb:LeadingKeys": sorted({k for k in leading if k is not None}) if None not in leading else None,
                                    "dynamodb:EnclosingOperation": None, "dynamodb:ReturnValues": None,
                                    "dynamodb:Select": None}))
        requirements += _table_key_use(scope, call.region, name)
    return requirements


@_builds("dynamodbstreams", "DescribeStream", "GetRecords", "GetShardIterator", "ListStreams")
def _dynamodb_streams(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    p = call.params
    if call.operation == "GetRecords":
        # a shard iterator is opaque; the twin's runner passes the stream it came from when it can
        stream = p.get("StreamArn")
        if not stream:
            raise UnmappedOperation("dynamodbstreams:GetRecords: the stream ARN can't be derived from a "
                                    "ShardIterator; record StreamArn in the call's params")
    elif call.operation == "ListStreams":
        table = scope.recorded(p.get("TableName", "*"))
        stream = f"{_table_arn(scope, call.region, table)}/stream/*"
    else:
        stream = p["StreamArn"]
    return [_req(f"dynamodb:{call.operation}", scope.recorded(stream))]


# --- DAX (not botocore: the runner records its client's calls as service "dax") ------------------

@_builds("dax", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
         "BatchWriteItem", "TransactWriteItems", "TransactGetItems", "ConditionCheckItem")
def _dax(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    endpoint = scope.environment.get("DAX_ENDPOINT", "")
    address = re.sub(r"^daxs?://", "", endpoint).split(":")[0]
    cluster = scope.facts.dax_clusters.get(address)
    if cluster is None:
        raise UnmappedOperation(f"dax:{call.operation}: no DAX cluster in the stack answers DAX_ENDPOINT={endpoint!r}")
    return [_req(f"dax:{call.operation}", cluster)]


# --- S3 ------------------------------------------------------------------------------------------

_S3_KEYS = ("s3:prefix", "s3:delimiter", "s3:max-keys", "s3:x-amz-acl", "s3:x-amz-server-side-encryption",
            "s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:VersionId")
_MISSING_KEY = {"NoSuchKey", "404", "NotFound"}


def _s3_context(params: Mapping[str, Any]) -> dict[str, Any]:
    return {"s3:prefix": params.get("Prefix"), "s3:delimiter": params.get("Delimiter"),
            "s3:max-keys": params.get("MaxKeys"), "s3:x-amz-acl": params.get("ACL"),
            "s3:x-amz-server-side-encryption": params.get("ServerSideEncryption"),
            "s3:x-amz-server-side-encryption-aws-kms-key-id": params.get("SSEKMSKeyId"),
            "s3:VersionId": params.get("VersionId")}


def _s3_req(action: str, resource: str, params: Mapping[str, Any]) -> Requirement:
    context = _s3_context(params)
    return _req(action, resource, _S3_KEYS, context)


@_builds("s3", "PutObject", "GetObject", "HeadObject", "DeleteObject", "GetObjectTagging", "PutObjectTagging",
         "GetObjectAcl", "PutObjectAcl", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload",
         "AbortMultipartUpload", "RestoreObject", "ListObjectsV2", "ListObjects", "HeadBucket",
         "GetBucketLocation", "ListObjectVersions")
def _s3(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    p = call.params
    bucket = scope.recorded(p["Bucket"])
    action = s3_action(call.operation, p)
    if "Key" not in p:
        return [_s3_req(action, f"arn:aws:s3:::{bucket}", p)]
    requirements = [_s3_req(action, f"arn:aws:s3:::{bucket}/{p['Key']}", p)]
    if call.operation in ("GetObject", "HeadObject") and call.error_code in _MISSING_KEY:
        # S3 answers 404 for a missing key only to a caller that may list the bucket, 403 otherwise.
        requirements.append(_req("s3:ListBucket", f"arn:aws:s3:::{bucket}", _S3_KEYS))
    return requirements


@_builds("s3", "CopyObject")
def _s3_copy(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    p = call.params
    source = p["CopySource"]
    if isinstance(source, Mapping):
        source_bucket, source_key = source["Bucket"], source["Key"]
    else:
        source_bucket, _, source_key = source.lstrip("/").partition("/")
        source_key = source_key.split("?versionId=")[0]
    return [_s3_req("s3:PutObject", f"arn:aws:s3:::{scope.recorded(p['Bucket'])}/{p['Key']}", p),
            _s3_req("s3:GetObject", f"arn:aws:s3:::{scope.recorded(source_bucket)}/{source_key}", {})]


@_builds("s3", "DeleteObjects")
def _s3_delete_many(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    bucket = scope.recorded(call.params["Bucket"])
    return [_s3_req("s3:DeleteObject", f"arn:aws:s3:::{bucket}/{o['Key']}", {})
            for o in call.params["Delete"]["Objects"]]


# --- SQS, SNS, EventBridge -----------------------------------------------------------------------

def queue_arn(queue_url: str, region: str, account: str = ACCOUNT_ID) -> str:
    """https://sqs.<region>.amazonaws.com/<account>/<name> (or a twin's localhost URL) -> the queue ARN;
    `region` and `account` stand in for what the URL doesn't say."""
    parts = queue_url.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2].isdigit():
        account = parts[-2]
    match = re.match(r"(?:sqs\.)?([a-z]{2}(?:-[a-z]+)+-\d)\.", parts[2] if len(parts) > 2 else "")
    return f"arn:aws:sqs:{match.group(1) if match else region}:{account}:{parts[-1]}"


def _queue_arn(scope: CallScope, region: str, queue_url: str) -> str:
    parts = queue_url.rstrip("/").rsplit("/", 1)
    return queue_arn(f"{parts[0]}/{scope.recorded(parts[-1])}" if len(parts) == 2 else scope.recorded(queue_url),
                     region, scope.account)


_SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}


@_builds("sqs", "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
         "ChangeMessageVisibility", "ChangeMessageVisibilityBatch", "GetQueueAttributes", "GetQueueUrl",
         "PurgeQueue")
def _sqs(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    p = call.params
    if call.operation == "GetQueueUrl":
        account = p.get("QueueOwnerAWSAccountId", scope.account)
        arn = f"arn:aws:sqs:{call.region}:{account}:{scope.recorded(p['QueueName'])}"
    else:
        arn = _queue_arn(scope, call.region, p["QueueUrl"])
    return [_req(f"sqs:{_SQS_ACTIONS.get(call.operation, call.operation)}", arn)]


@_builds("sns", "Publish", "PublishBatch")
def _sns(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    p = call.params
    target = p.get("TopicArn") or p.get("TargetArn")
    # SMS to a phone number has no resource ARN
    resource = scope.recorded(target) if target else "*"
    return [_req("sns:Publish", resource)]


@_builds("events", "PutEvents")
def _events(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    """One check per event bus the entries name (the account's default bus when they name none)."""
    by_bus: dict[str, list[Mapping[str, Any]]] = {}
    for entry in call.params["Entries"]:
        bus = scope.recorded(entry.get("EventBusName") or "default")
        arn = bus if bus.startswith("arn:") else f"arn:aws:events:{call.region}:{scope.account}:event-bus/{bus}"
        by_bus.setdefault(arn, []).append(entry)
    return [_req("events:PutEvents", arn, ["events:source", "events:detail-type"],
                 {"events:source": sorted({e.get("Source", "") for e in entries}),
                    "events:detail-type": sorted({e.get("DetailType", "") for e in entries})})
            for arn, entries in by_bus.items()]


# --- SES v1 and v2 -------------------------------------------------------------------------------

_SES_KEYS = ("ses:FromAddress", "ses:FromDisplayName", "ses:Recipients", "ses:FeedbackAddress", "ses:ApiVersion")


def _address(value: str) -> tuple[str, Optional[str]]:
    """'Name <a@b>' -> ('a@b', 'Name')."""
    match = re.match(r"\s*(.*?)\s*<([^>]+)>\s*$", value)
    return (match.group(2), match.group(1).strip('"') or None) if match else (value.strip(), None)


def _identity_arn(scope: CallScope, region: str, address: str) -> str:
    """SES authorizes the identity the address is verified through: the address itself, else its domain."""
    domain = address.rpartition("@")[2]
    identity = address if address in scope.facts.ses_identities or domain not in scope.facts.ses_identities else domain
    return f"arn:aws:ses:{region}:{scope.account}:identity/{identity}"


def _ses_requirements(scope: CallScope, region: str, action: str, source: str, identity_arn: Optional[str],
                      recipients: list[str], config_set: Optional[str], template: Optional[str],
                      feedback: Optional[str], version: str) -> list[Requirement]:
    address, display = _address(source)
    resources = [identity_arn or _identity_arn(scope, region, address)]
    if config_set:
        resources.append(f"arn:aws:ses:{region}:{scope.account}:configuration-set/{scope.recorded(config_set)}")
    if template:
        template = scope.recorded(template)
        resources.append(template if template.startswith("arn:")
                         else f"arn:aws:ses:{region}:{scope.account}:template/{template}")
    context = {"ses:FromAddress": address, "ses:FromDisplayName": display,
               "ses:Recipients": [_address(r)[0] for r in recipients] or None,
               "ses:FeedbackAddress": feedback, "ses:ApiVersion": version}
    return [_req(action, resource, _SES_KEYS, context) for resource in resources]


def _destinations(destination: Optional[Mapping[str, Any]]) -> list[str]:
    destination = destination or {}
    return [*destination.get("ToAddresses", []), *destination.get("CcAddresses", []),
            *destination.get("BccAddresses", [])]


@_builds("ses", "SendEmail", "SendTemplatedEmail", "SendRawEmail", "SendBulkTemplatedEmail")
def _ses_v1(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    p = call.params
    recipients = _destinations(p.get("Destination")) or list(p.get("Destinations") or [])
    if call.operation == "SendBulkTemplatedEmail":
        recipients = [a for d in p.get("Destinations", []) for a in _destinations(d.get("Destination"))]
    return _ses_requirements(scope, call.region, f"ses:{call.operation}", p.get("Source", ""), p.get("SourceArn"),
                             recipients, p.get("ConfigurationSetName"),
                             p.get("Template") or p.get("TemplateArn"), p.get("ReturnPath"), "1")


@_builds("sesv2", "SendEmail", "SendBulkEmail")
def _ses_v2(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    p = call.params
    content = p.get("Content") or p.get("DefaultContent") or {}
    template = content.get("Template") or {}
    recipients = _destinations(p.get("Destination")) or [
        a for e in p.get("BulkEmailEntries", []) for a in _destinations(e.get("Destination"))]
    return _ses_requirements(scope, call.region, f"ses:{call.operation}", p.get("FromEmailAddress", ""),
                             p.get("FromEmailAddressIdentityArn"), recipients, p.get("ConfigurationSetName"),
                             template.get("TemplateArn") or template.get("TemplateName"),
                             p.get("FeedbackForwardingEmailAddress"), "2")


# --- KMS, Secrets Manager ------------------------------------------------------------------------

def _key_arn(scope: CallScope, region: str, key_id: str) -> str:
    key_id = scope.recorded(key_id)
    if key_id.startswith("alias/"):
        if key_id not in scope.facts.kms_aliases:
            raise UnmappedOperation(f"kms: alias {key_id} is not in the recorded stack")
        return scope.facts.kms_aliases[key_id]
    if key_id.startswith("arn:"):
        if ":alias/" in key_id:
            return _key_arn(scope, region, "alias/" + key_id.split(":alias/")[1])
        return key_id
    return f"arn:aws:kms:{region}:{scope.account}:key/{key_id}"


@_builds("kms", "Encrypt", "Decrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "DescribeKey",
         "ReEncrypt", "Sign", "Verify", "GenerateMac", "VerifyMac")
def _kms(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    key_id = call.params.get("KeyId") or call.params.get("DestinationKeyId")
    if not key_id:
        raise UnmappedOperation(f"kms:{call.operation} without KeyId: the key is inside the ciphertext, "
                                f"so the judge can't name it; pass KeyId")
    action = "kms:ReEncryptFrom" if call.operation == "ReEncrypt" else f"kms:{call.operation}"
    return [_req(action, _key_arn(scope, call.region, key_id), ["kms:ViaService", "kms:CallerAccount",
                                                                 "kms:EncryptionAlgorithm"],
                 {"kms:ViaService": None, "kms:CallerAccount": scope.account,
                    "kms:EncryptionAlgorithm": call.params.get("EncryptionAlgorithm")})]


@_builds("secretsmanager", "GetSecretValue", "DescribeSecret", "PutSecretValue", "UpdateSecret",
         "UpdateSecretVersionStage", "ListSecretVersionIds")
def _secretsmanager(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    secret = scope.recorded(call.params["SecretId"])
    if not secret.startswith("arn:"):
        # A name stands for the secret whose ARN is the name plus "-" and six random characters.
        secret = scope.facts.secrets.get(
            secret, f"arn:aws:secretsmanager:{call.region}:{scope.account}:secret:{secret}-AbCdEf")
    return [_req(f"secretsmanager:{call.operation}", secret,
                 ["secretsmanager:SecretId", "secretsmanager:VersionStage", "secretsmanager:VersionId"],
                 {"secretsmanager:SecretId": call.params["SecretId"],
                    "secretsmanager:VersionStage": call.params.get("VersionStage"),
                    "secretsmanager:VersionId": call.params.get("VersionId")})]


# --- API Gateway (management calls a function makes) ---------------------------------------------

@_builds("apigateway", "FlushStageCache")
def _apigateway_flush_stage_cache(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    # API Gateway's IAM actions are HTTP verbs on the resource path: DELETE .../cache/data.
    api, stage = scope.recorded(call.params["restApiId"]), call.params["stageName"]
    return [_req("apigateway:DELETE", f"arn:aws:apigateway:{call.region}::/restapis/{api}/stages/{stage}/cache/data")]


# --- CloudFront, Cognito, Lambda -----------------------------------------------------------------

@_builds("cloudfront", "CreateInvalidation", "GetInvalidation", "GetDistribution", "GetDistributionConfig")
def _cloudfront(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    distribution = scope.recorded(call.params.get("DistributionId") or call.params["Id"])
    return [_req(f"cloudfront:{call.operation}", f"arn:aws:cloudfront::{scope.account}:distribution/{distribution}")]


# Public keys and key groups have no resource type in the Service Authorization Reference: "*" only.
@_builds("cloudfront", "CreatePublicKey", "GetPublicKey", "GetPublicKeyConfig", "UpdatePublicKey", "DeletePublicKey",
         "ListPublicKeys", "CreateKeyGroup", "GetKeyGroup", "GetKeyGroupConfig", "UpdateKeyGroup", "DeleteKeyGroup",
         "ListKeyGroups")
def _cloudfront_unscopable(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    return [_req(f"cloudfront:{call.operation}", "*")]


@_builds("cognito-idp", "AdminGetUser", "AdminCreateUser", "AdminDeleteUser", "AdminUpdateUserAttributes",
         "AdminDeleteUserAttributes", "AdminAddUserToGroup", "AdminRemoveUserFromGroup", "AdminListGroupsForUser",
         "AdminDisableUser", "AdminEnableUser", "AdminSetUserPassword", "AdminResetUserPassword",
         "AdminInitiateAuth", "AdminRespondToAuthChallenge", "AdminUserGlobalSignOut", "ListUsers",
         "ListUsersInGroup", "DescribeUserPool", "DescribeUserPoolClient")
def _cognito(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    pool = scope.recorded(call.params["UserPoolId"])
    region = pool.split("_")[0] if "_" in pool else call.region
    return [_req(f"cognito-idp:{call.operation}", f"arn:aws:cognito-idp:{region}:{scope.account}:userpool/{pool}")]


@_builds("lambda", "Invoke", "InvokeAsync")
def _lambda(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    name = scope.recorded(call.params["FunctionName"])
    if not name.startswith("arn:"):
        name = f"arn:aws:lambda:{call.region}:{scope.account}:function:{name}"
    qualifier = call.params.get("Qualifier")
    return [_req("lambda:InvokeFunction", f"{name}:{qualifier}" if qualifier else name)]


@_builds("lambda", "GetAlias")
def _lambda_alias(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    name = _split_arn_or_name(scope.recorded(call.params["FunctionName"]))
    return [_req("lambda:GetAlias", f"arn:aws:lambda:{call.region}:{scope.account}:function:{name}:"
                                    f"{call.params['Name']}")]


# --- CloudWatch alarms: the shop's health reads its services' alarms by name prefix ----------------

@_builds("cloudwatch", "DescribeAlarms")
def _describe_alarms(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    names = call.params.get("AlarmNames") or [f"{call.params.get('AlarmNamePrefix', '')}*"]
    return [_req("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{call.region}:{scope.account}:alarm:{name}")
            for name in names]


# --- CodeDeploy: a canary's release function deploys its own group ---------------------------------

@_builds("codedeploy", "CreateDeployment")
def _codedeploy_deployment(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    application = scope.recorded(call.params["applicationName"])
    group = scope.recorded(call.params["deploymentGroupName"])
    return [_req("codedeploy:CreateDeployment",
                 f"arn:aws:codedeploy:{call.region}:{scope.account}:deploymentgroup:{application}/{group}")]


# --- Unscopable actions: X-Ray, Rekognition, CloudWatch metrics; CloudWatch Logs -------------------

@_builds("xray", "PutTraceSegments", "PutTelemetryRecords", "GetSamplingRules", "GetSamplingTargets",
         "GetSamplingStatisticSummaries")
def _xray(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    return [_req(default_action("xray", call.operation), "*")]


@_builds("rekognition", "DetectLabels", "DetectModerationLabels")
def _rekognition(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    """No resource type: "*". An S3Object image is read with the caller's permissions."""
    found = [_req(default_action("rekognition", call.operation), "*")]
    s3_object = (call.params.get("Image") or {}).get("S3Object")
    if isinstance(s3_object, dict):
        found.append(_req("s3:GetObject", f"arn:aws:s3:::{s3_object.get('Bucket')}/{s3_object.get('Name')}",
                          implied_by=f"rekognition:{call.operation} reads the image with the caller's permissions"))
    return found


@_builds("cloudwatch", "PutMetricData")
def _cloudwatch(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    return [_req("cloudwatch:PutMetricData", "*", ["cloudwatch:namespace"],
                 {"cloudwatch:namespace": call.params.get("Namespace")})]


@_builds("logs", "CreateLogStream", "PutLogEvents", "CreateLogGroup")
def _logs(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    group = scope.recorded(call.params["logGroupName"])
    arn = f"arn:aws:logs:{call.region}:{scope.account}:log-group:{group}"
    stream = call.params.get("logStreamName")
    return [_req(f"logs:{call.operation}", f"{arn}:log-stream:{stream}" if stream else arn)]


@_builds("sts", "GetCallerIdentity")
def _sts_identity(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    return []  # AWS answers it for any principal, even under an explicit Deny


# --- Athena, Glue ----------------------------------------------------------------------------------

_QUERY_TABLE = re.compile(r'"(?P<database>[^"]+)"\s*\.\s*"(?P<table>[^"]+)"')
_UNLOAD_TO = re.compile(r"\)\s*TO\s*'s3://(?P<bucket>[^/']+)/(?P<prefix>[^']*)'", re.I)


def _s3_location(uri: str) -> str:
    """s3://bucket/prefix/key=${key}/... -> arn:aws:s3:::bucket/prefix/ (the folders before any placeholder)."""
    path = uri.removeprefix("s3://")
    if "$" in path:
        path = path.split("$", 1)[0].rsplit("/", 1)[0] + "/"
    return "arn:aws:s3:::" + path


def _glue_table(scope: CallScope, region: str, database: str, table: str) -> list[str]:
    """glue:GetTable & co. authorize the catalog, the database and the table."""
    glue = f"arn:aws:glue:{region}:{scope.account}"
    return [f"{glue}:catalog", f"{glue}:database/{database}", f"{glue}:table/{database}/{table}"]


def _workgroup(call: AwsCallLike, scope: CallScope, workgroup: Optional[str] = None) -> str:
    workgroup = workgroup or call.params.get("WorkGroup")
    if not workgroup:
        raise UnmappedOperation(f"athena:{call.operation}: the workgroup can't be derived from a query execution "
                                f"id; the twin records WorkGroup in the call's params (AthenaStandIn.with_workgroups)")
    return scope.recorded(f"arn:aws:athena:{call.region}:{scope.account}:workgroup/{workgroup}")


@_builds("athena", "GetQueryExecution", "StopQueryExecution", "GetQueryResults", "GetWorkGroup")
def _athena(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    return [_req(f"athena:{call.operation}", _workgroup(call, scope))]


@_builds("athena", "StartQueryExecution")
def _athena_start(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    """The workgroup, and what Athena then does with the caller's own permissions: read the Glue catalog
    and the tables' S3 data, write an UNLOAD's destination, and write the workgroup's query results."""
    query = call.params.get("QueryString", "")
    workgroup = call.params.get("WorkGroup") or "primary"
    requirements = [_req("athena:StartQueryExecution", _workgroup(call, scope, workgroup))]
    athena = "Athena runs the query with the caller's permissions"
    for database, table in sorted(set(_QUERY_TABLE.findall(query))):
        database, table = scope.recorded(database), scope.recorded(table)
        for action in ("glue:GetDatabase", "glue:GetTable"):
            resources = _glue_table(scope, call.region, database, table)
            for resource in (resources[:2] if action == "glue:GetDatabase" else resources):
                requirements.append(_req(action, resource, implied_by=athena))
        location = scope.facts.glue_tables.get((database, table))
        if location:
            data = _s3_location(location)
            requirements += [_req("s3:ListBucket", data.split("/", 1)[0], implied_by=athena),
                             _req("s3:GetObject", data, implied_by=athena)]
    unload = _UNLOAD_TO.search(query)
    if unload and query.lstrip().upper().startswith("UNLOAD"):
        bucket = scope.recorded(unload["bucket"])
        requirements += [_req("s3:ListBucket", f"arn:aws:s3:::{bucket}", implied_by=athena),
                         _req("s3:PutObject", f"arn:aws:s3:::{bucket}/{unload['prefix']}", implied_by=athena)]
    results = (call.params.get("ResultConfiguration") or {}).get("OutputLocation") or \
        scope.facts.athena_results.get(scope.recorded(workgroup))
    if results:
        requirements.append(_req("s3:PutObject", _s3_location(results), implied_by=athena))
    return requirements


@_builds("glue", "GetTable", "GetTables", "GetTableVersion", "GetTableVersions", "GetPartition", "GetPartitions",
         "GetDatabase")
def _glue(call: AwsCallLike, scope: CallScope) -> list[Requirement]:
    p = call.params
    database = scope.recorded(p.get("DatabaseName") or p["Name"])
    table = p.get("TableName") or (p.get("Name") if call.operation != "GetDatabase" else None)
    resources = _glue_table(scope, call.region, database, scope.recorded(table) if table else "")
    if call.operation == "GetDatabase":
        resources = resources[:2]
    elif call.operation == "GetTables":
        resources = [*resources[:2], f"arn:aws:glue:{call.region}:{scope.account}:table/{database}/*"]
    return [_req(f"glue:{call.operation}", resource) for resource in resources]

