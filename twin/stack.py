"""The twin's data plane: every stateful resource of a recorded stack, created on one moto server.

Everything comes from the graph `offline.harness.evaluate_stack` records: a table's keys, indexes,
stream and TTL, a queue's redrive, a bucket's notifications, a rule's pattern and targets. Nothing
here knows which components exist, so a component change changes the twin.

Names: the twin keeps the physical names the functions receive (tables, queues, buckets, the bus,
SES names), and moto uses the same account (123456789012), so ARNs match too. Where moto picks its
own ids (Cognito pools and clients, DynamoDB stream labels), `TwinNames` is the one place that
translates a recorded value into the twin's.

Deliveries moto makes itself are kept real: S3 -> SQS/SNS, SNS -> SQS, EventBridge rule -> SQS.
A delivery to a Lambda function (which moto would try to run in Docker) goes to a private
"shim" queue instead; the twin's Lambda service drains it into the function (`LambdaShim`).
"""
from __future__ import annotations

import contextlib
import functools
import json
import logging
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import boto3
from botocore.config import Config

from offline.harness import ACCOUNT_ID, RecordedResource, StackSnapshot

TABLE = "aws:dynamodb/table:Table"
QUEUE = "aws:sqs/queue:Queue"
TOPIC = "aws:sns/topic:Topic"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKET_CORS = "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
EVENT_BUS = "aws:cloudwatch/eventBus:EventBus"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
EVENT_ARCHIVE = "aws:cloudwatch/eventArchive:EventArchive"
SES_IDENTITY = "aws:sesv2/emailIdentity:EmailIdentity"
SES_V1_DOMAIN_IDENTITY = "aws:ses/domainIdentity:DomainIdentity"
SES_V1_EMAIL_IDENTITY = "aws:ses/emailIdentity:EmailIdentity"
SES_CONFIGURATION_SET = "aws:sesv2/configurationSet:ConfigurationSet"
SES_TEMPLATE = "aws:ses/template:Template"
USER_POOL = "aws:cognito/userPool:UserPool"
USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
DAX_CLUSTER = "aws:dax/cluster:Cluster"
LAMBDA_FUNCTION = "aws:lambda/function:Function"

TWIN_CREDENTIALS = {"aws_access_key_id": "twin", "aws_secret_access_key": "twin"}
"""moto accepts any key; explicit dummy credentials keep the twin off any real account."""

_log = logging.getLogger(__name__)


class TwinNames:
    """Recorded physical names/ids/ARNs -> the twin's. Identity for everything moto lets us name."""

    def __init__(self) -> None:
        self._exact: dict[str, str] = {}
        self._fragments: dict[str, str] = {}

    def map(self, recorded: str, twin: str, *, fragment: bool = False) -> None:
        """Record that `recorded` is `twin` in the twin; a fragment is also replaced inside longer
        values (a Cognito pool id inside its ARN or issuer URL)."""
        if recorded and recorded != twin:
            (self._fragments if fragment else self._exact)[recorded] = twin

    def twin(self, value: Any) -> Any:
        """The twin's form of a recorded value (strings, and strings inside lists and dicts)."""
        if isinstance(value, str):
            if value in self._exact:
                return self._exact[value]
            for recorded, twin in self._fragments.items():
                value = value.replace(recorded, twin)
            return value
        if isinstance(value, list):
            return [self.twin(v) for v in value]
        if isinstance(value, dict):
            return {k: self.twin(v) for k, v in value.items()}
        return value

    def recorded(self, value: str) -> str:
        """The recorded form of a twin value (reverse of `twin`), for reading the graph."""
        for recorded, twin in self._exact.items():
            if value == twin:
                return recorded
        for recorded, twin in self._fragments.items():
            value = value.replace(twin, recorded)
        return value

    def items(self) -> list[tuple[str, str]]:
        """(recorded, twin) pairs."""
        return sorted({**self._exact, **self._fragments}.items())

    def to_recorded(self) -> dict[str, str]:
        """twin -> recorded, the form the permissions judge reads (it maps ARN parts too)."""
        return {twin: recorded for recorded, twin in self.items()}


@dataclass(frozen=True)
class LambdaShim:
    """A moto-native delivery to a Lambda function, rerouted through a private queue."""
    kind: str
    """s3 | sns | events: the shape of the event the function receives."""
    function_arn: str
    queue_url: str
    source_arn: str
    """The bucket, topic or rule that delivers."""
    region: str = "us-east-1"
    subscription_arn: Optional[str] = None


@dataclass
class PlaneNote:
    """Something the twin can't reproduce, said in the report."""
    resource: str
    text: str


@dataclass
class DataPlane:
    """The stack's stateful resources on a moto server: clients, name translation, notes."""
    snapshot: StackSnapshot
    endpoint_url: str
    region: str
    names: TwinNames = field(default_factory=TwinNames)
    shims: list[LambdaShim] = field(default_factory=list)
    notes: list[PlaneNote] = field(default_factory=list)
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    """Function name -> environment overrides the twin needs (e.g. DAX off: moto has no DAX data plane)."""
    dax_functions: set[str] = field(default_factory=set)
    """Functions that reach DynamoDB through DAX when deployed; the twin runs them against DynamoDB."""
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: Optional[str] = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = _session().client(
                service, region_name=key[1], endpoint_url=self.endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": 2},
                              s3={"addressing_style": "path"}))
        return self._clients[key]

    def queue_url(self, queue_arn: str) -> str:
        arn = self.names.twin(queue_arn)
        region, account, name = arn.split(":")[3], arn.split(":")[4], arn.split(":")[5]
        return self.client("sqs", region).get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]

    def drain_queue(self, queue_arn: str) -> list[dict]:
        """Every message in the queue (received and deleted); for assertions on DLQs and destinations."""
        sqs, url = self.client("sqs", queue_arn.split(":")[3]), self.queue_url(queue_arn)
        found: list[dict] = []
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"],
                                        WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return found
            found += batch
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])

    def queue_depth(self, queue_arn: str) -> int:
        attributes = self.client("sqs", queue_arn.split(":")[3]).get_queue_attributes(
            QueueUrl=self.queue_url(queue_arn),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def ses_sent_messages(self, region: Optional[str] = None) -> list[Any]:
        """What moto's SES recorded as sent (the server runs in this process, so its backend is ours)."""
        from moto.backends import get_backend

        return list(get_backend("ses")[ACCOUNT_ID][region or self.region].sent_messages)


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """One moto server for one twin run, on a free local port; yields its endpoint URL.

    The server runs in this process, so its backends (moto's global state) are shared with any other
    server here: they are reset on start, and twins of two stacks run one after the other.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()
    try:
        yield endpoint
    finally:
        server.stop()


@functools.lru_cache(maxsize=1)
def _session() -> boto3.session.Session:
    # One session for every plane: botocore loads each service model once.
    return boto3.session.Session(**TWIN_CREDENTIALS)


# ----------------------------------------------------------------------------------------------------
# Building the plane from the graph

def build_data_plane(snapshot: StackSnapshot, endpoint_url: str) -> DataPlane:
    """Create every stateful resource of `snapshot` on the moto server at `endpoint_url`."""
    region = _home_region(snapshot)
    plane = DataPlane(snapshot=snapshot, endpoint_url=endpoint_url, region=region)
    for step in (_tables, _queues, _topics, _buckets, _event_buses, _ses, _user_pools, _secrets, _unemulated):
        step(plane)
    return plane


def _home_region(snapshot: StackSnapshot) -> str:
    regions = [r.region for r in snapshot.of_type(LAMBDA_FUNCTION) if r.region]
    return max(set(regions), key=regions.count) if regions else "us-east-1"


def _region(plane: DataPlane, resource: RecordedResource) -> str:
    return resource.region or plane.region


def _tables(plane: DataPlane) -> None:
    for table in plane.snapshot.of_type(TABLE):
        props, name, region = table.props, table.outputs["name"], _region(plane, table)
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": [{"AttributeName": a["name"], "AttributeType": a["type"]}
                                     for a in props.get("attributes", [])],
            "KeySchema": _key_schema(props.get("hashKey"), props.get("rangeKey")),
        }
        if props.get("billingMode", "PROVISIONED") == "PAY_PER_REQUEST":
            request["BillingMode"] = "PAY_PER_REQUEST"
        else:
            request["ProvisionedThroughput"] = {"ReadCapacityUnits": props.get("readCapacity", 5),
                                                "WriteCapacityUnits": props.get("writeCapacity", 5)}
        indexes = [_gsi(index, request) for index in props.get("globalSecondaryIndexes", [])]
        if indexes:
            request["GlobalSecondaryIndexes"] = indexes
        local = [{"IndexName": i["name"], "KeySchema": _key_schema(props.get("hashKey"), i["rangeKey"]),
                  "Projection": _projection(i)} for i in props.get("localSecondaryIndexes", [])]
        if local:
            request["LocalSecondaryIndexes"] = local
        if props.get("streamEnabled"):
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": props["streamViewType"]}
        dynamodb = plane.client("dynamodb", region)
        created = dynamodb.create_table(**request)["TableDescription"]
        if created.get("LatestStreamArn") and table.outputs.get("streamArn"):
            plane.names.map(table.outputs["streamArn"], created["LatestStreamArn"])
        ttl = props.get("ttl") or {}
        if ttl.get("enabled"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl["attributeName"]})
        replicas = [r.get("regionName") for r in props.get("replicas") or []]
        if replicas:
            plane.notes.append(PlaneNote(table.name, f"global table replicas {replicas} are not emulated; "
                                                     f"the twin has the home-region table only"))


def _key_schema(hash_key: Optional[str], range_key: Optional[str]) -> list[dict]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def _projection(index: dict) -> dict:
    projection: dict[str, Any] = {"ProjectionType": index.get("projectionType", "ALL")}
    if index.get("nonKeyAttributes"):
        projection["NonKeyAttributes"] = index["nonKeyAttributes"]
    return projection


def _gsi(index: dict, table_request: dict) -> dict:
    hash_key = index.get("hashKey") or next(k["attributeName"] for k in index.get("keySchemas", [])
                                           if k.get("keyType") == "HASH")
    gsi: dict[str, Any] = {"IndexName": index["name"], "KeySchema": _key_schema(hash_key, index.get("rangeKey")),
                           "Projection": _projection(index)}
    if "ProvisionedThroughput" in table_request:
        gsi["ProvisionedThroughput"] = {"ReadCapacityUnits": index.get("readCapacity", 5),
                                        "WriteCapacityUnits": index.get("writeCapacity", 5)}
    return gsi


_QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout", "messageRetentionSeconds": "MessageRetentionPeriod",
    "delaySeconds": "DelaySeconds", "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "maxMessageSize": "MaximumMessageSize", "fifoQueue": "FifoQueue",
    "contentBasedDeduplication": "ContentBasedDeduplication", "sqsManagedSseEnabled": "SqsManagedSseEnabled",
}


def _queues(plane: DataPlane) -> None:
    # Dead-letter queues first: moto checks a redrive target exists.
    queues = sorted(plane.snapshot.of_type(QUEUE), key=lambda q: bool(q.props.get("redrivePolicy")))
    for queue in queues:
        attributes = {aws: _attribute_text(queue.props[key]) for key, aws in _QUEUE_ATTRIBUTES.items()
                      if queue.props.get(key) is not None}
        if queue.props.get("redrivePolicy"):
            attributes["RedrivePolicy"] = json.dumps(plane.names.twin(json.loads(queue.props["redrivePolicy"])))
        plane.client("sqs", _region(plane, queue)).create_queue(QueueName=queue.outputs["name"],
                                                                Attributes=attributes)


def _attribute_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _topics(plane: DataPlane) -> None:
    for topic in plane.snapshot.of_type(TOPIC):
        attributes = {}
        if topic.props.get("fifoTopic"):
            attributes["FifoTopic"] = "true"
        plane.client("sns", _region(plane, topic)).create_topic(Name=topic.outputs["name"], Attributes=attributes)
    for subscription in plane.snapshot.of_type(TOPIC_SUBSCRIPTION):
        props, region = subscription.props, _region(plane, subscription)
        topic_arn = plane.names.twin(props["topic"])
        if props["protocol"] == "lambda":
            _shim(plane, "sns", props["endpoint"], topic_arn, region)
            continue
        attributes = {}
        if props.get("rawMessageDelivery"):
            attributes["RawMessageDelivery"] = "true"
        if props.get("filterPolicy"):
            attributes["FilterPolicy"] = props["filterPolicy"]
        plane.client("sns", region).subscribe(TopicArn=topic_arn, Protocol=props["protocol"],
                                              Endpoint=plane.names.twin(props["endpoint"]), Attributes=attributes)


def _shim(plane: DataPlane, kind: str, function_arn: str, source_arn: str, region: str) -> LambdaShim:
    """A private queue standing in for `function_arn` as a moto delivery target."""
    name = f"twin-shim-{kind}-{len(plane.shims)}"
    sqs = plane.client("sqs", region)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    subscription = None
    if kind == "sns":
        subscription = plane.client("sns", region).subscribe(
            TopicArn=source_arn, Protocol="sqs", Endpoint=f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}",
            ReturnSubscriptionArn=True)["SubscriptionArn"]
    shim = LambdaShim(kind=kind, function_arn=plane.names.twin(function_arn), queue_url=url,
                      source_arn=source_arn, region=region, subscription_arn=subscription)
    plane.shims.append(shim)
    return shim


def _buckets(plane: DataPlane) -> None:
    for bucket in plane.snapshot.of_type(BUCKET) + plane.snapshot.of_type(BUCKET_V2):
        region, name = _region(plane, bucket), bucket.outputs.get("bucket") or bucket.outputs["name"]
        request: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            request["CreateBucketConfiguration"] = {"LocationConstraint": region}
        plane.client("s3", region).create_bucket(**request)
    for cors in plane.snapshot.of_type(BUCKET_CORS):
        rules = [{_pascal(k): v for k, v in rule.items()} for rule in cors.props.get("corsRules", [])]
        plane.client("s3", _region(plane, cors)).put_bucket_cors(
            Bucket=plane.names.twin(cors.props["bucket"]), CORSConfiguration={"CORSRules": rules})
    for versioning in plane.snapshot.of_type(BUCKET_VERSIONING):
        status = (versioning.props.get("versioningConfiguration") or {}).get("status")
        if status in ("Enabled", "Suspended"):
            plane.client("s3", _region(plane, versioning)).put_bucket_versioning(
                Bucket=plane.names.twin(versioning.props["bucket"]), VersioningConfiguration={"Status": status})
    for notification in plane.snapshot.of_type(BUCKET_NOTIFICATION):
        _bucket_notification(plane, notification)


def _pascal(key: str) -> str:
    return {"maxAgeSeconds": "MaxAgeSeconds", "exposeHeaders": "ExposeHeaders", "id": "ID"}.get(
        key, key[0].upper() + key[1:])


def _bucket_notification(plane: DataPlane, notification: RecordedResource) -> None:
    props, region = notification.props, _region(plane, notification)
    bucket = plane.names.twin(props["bucket"])

    def entry(target_key: str, target_arn: str, config: dict) -> dict:
        rules = [{"Name": name, "Value": config[key]} for name, key in (("prefix", "filterPrefix"),
                                                                         ("suffix", "filterSuffix"))
                 if config.get(key)]
        out: dict[str, Any] = {target_key: target_arn, "Events": config["events"]}
        if config.get("id"):
            out["Id"] = config["id"]
        if rules:
            out["Filter"] = {"Key": {"FilterRules": rules}}
        return out

    queues = [entry("QueueArn", plane.names.twin(q["queueArn"]), q) for q in props.get("queues") or []]
    topics = [entry("TopicArn", plane.names.twin(t["topicArn"]), t) for t in props.get("topics") or []]
    shims: dict[str, LambdaShim] = {}
    for function in props.get("lambdaFunctions") or []:
        arn = function["lambdaFunctionArn"]
        if arn not in shims:
            shims[arn] = _shim(plane, "s3", arn, f"arn:aws:s3:::{bucket}", region)
        queues.append(entry("QueueArn", f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{shims[arn].queue_url.rsplit('/', 1)[1]}",
                            function))
    configuration: dict[str, Any] = {}
    if queues:
        configuration["QueueConfigurations"] = queues
    if topics:
        configuration["TopicConfigurations"] = topics
    if props.get("eventbridge"):
        configuration["EventBridgeConfiguration"] = {}
    s3 = plane.client("s3", region)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    # S3 sends one s3:TestEvent per target when the configuration is saved; drop them, as the
    # queues of a real stack would have long consumed theirs.
    sqs = plane.client("sqs", region)
    for arn in {q["QueueArn"] for q in queues}:
        url = sqs.get_queue_url(QueueName=arn.split(":")[5])["QueueUrl"]
        sqs.purge_queue(QueueUrl=url)


def _event_buses(plane: DataPlane) -> None:
    for bus in plane.snapshot.of_type(EVENT_BUS):
        plane.client("events", _region(plane, bus)).create_event_bus(Name=bus.outputs["name"])
    for rule in plane.snapshot.of_type(EVENT_RULE):
        props = rule.props
        request: dict[str, Any] = {"Name": rule.outputs["name"], "State": props.get("state", "ENABLED")
                                   if props.get("isEnabled", True) else "DISABLED"}
        if props.get("eventBusName"):
            request["EventBusName"] = plane.names.twin(props["eventBusName"])
        if props.get("eventPattern"):
            request["EventPattern"] = props["eventPattern"]
        if props.get("scheduleExpression"):
            request["ScheduleExpression"] = props["scheduleExpression"]
        plane.client("events", _region(plane, rule)).put_rule(**request)
    for target in plane.snapshot.of_type(EVENT_TARGET):
        props, region = target.props, _region(plane, target)
        arn = plane.names.twin(props["arn"])
        rule_name = plane.names.twin(props["rule"])
        bus = plane.names.twin(props.get("eventBusName") or "default")
        if ":lambda:" in arn:
            rule_arn = f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{bus}/{rule_name}"
            shim = _shim(plane, "events", arn, rule_arn, region)
            arn = f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{shim.queue_url.rsplit('/', 1)[1]}"
        entry: dict[str, Any] = {"Id": props.get("targetId") or target.outputs["name"][:64], "Arn": arn}
        for key, aws in (("input", "Input"), ("inputPath", "InputPath")):
            if props.get(key):
                entry[aws] = props[key]
        if props.get("inputTransformer"):
            entry["InputTransformer"] = {"InputPathsMap": props["inputTransformer"].get("inputPaths", {}),
                                         "InputTemplate": props["inputTransformer"]["inputTemplate"]}
        if props.get("deadLetterConfig"):
            entry["DeadLetterConfig"] = {"Arn": plane.names.twin(props["deadLetterConfig"]["arn"])}
        if props.get("retryPolicy"):
            entry["RetryPolicy"] = {"MaximumRetryAttempts": props["retryPolicy"]["maximumRetryAttempts"],
                                    "MaximumEventAgeInSeconds": props["retryPolicy"]["maximumEventAgeInSeconds"]}
        plane.client("events", region).put_targets(Rule=rule_name, EventBusName=bus, Targets=[entry])
    for archive in plane.snapshot.of_type(EVENT_ARCHIVE):
        plane.client("events", _region(plane, archive)).create_archive(
            ArchiveName=archive.props.get("name") or archive.outputs["name"],
            EventSourceArn=plane.names.twin(archive.props["eventSourceArn"]),
            RetentionDays=int(archive.props.get("retentionDays", 0)))


def _ses(plane: DataPlane) -> None:
    for identity in plane.snapshot.of_type(SES_IDENTITY):
        plane.client("sesv2", _region(plane, identity)).create_email_identity(
            EmailIdentity=identity.props["emailIdentity"])
    for identity in plane.snapshot.of_type(SES_V1_EMAIL_IDENTITY):
        plane.client("ses", _region(plane, identity)).verify_email_identity(EmailAddress=identity.props["email"])
    for identity in plane.snapshot.of_type(SES_V1_DOMAIN_IDENTITY):
        plane.client("ses", _region(plane, identity)).verify_domain_identity(Domain=identity.props["domain"])
    for config_set in plane.snapshot.of_type(SES_CONFIGURATION_SET):
        plane.client("sesv2", _region(plane, config_set)).create_configuration_set(
            ConfigurationSetName=config_set.props.get("configurationSetName") or config_set.outputs["name"])
    for template in plane.snapshot.of_type(SES_TEMPLATE):
        props = template.props
        plane.client("ses", _region(plane, template)).create_template(Template={
            "TemplateName": props.get("name") or template.outputs["name"], "SubjectPart": props.get("subject", ""),
            "HtmlPart": props.get("html", ""), "TextPart": props.get("text", "")})


def _user_pools(plane: DataPlane) -> None:
    pools: dict[str, str] = {}
    for pool in plane.snapshot.of_type(USER_POOL):
        props, region = pool.props, _region(plane, pool)
        request: dict[str, Any] = {"PoolName": pool.outputs["name"]}
        for key, aws in (("usernameAttributes", "UsernameAttributes"), ("aliasAttributes", "AliasAttributes"),
                         ("autoVerifiedAttributes", "AutoVerifiedAttributes"),
                         ("mfaConfiguration", "MfaConfiguration")):
            if props.get(key):
                request[aws] = props[key]
        if props.get("passwordPolicy"):
            request["Policies"] = {"PasswordPolicy": {_pascal(k): v for k, v in props["passwordPolicy"].items()}}
        if props.get("adminCreateUserConfig"):
            request["AdminCreateUserConfig"] = {
                "AllowAdminCreateUserOnly": bool(props["adminCreateUserConfig"].get("allowAdminCreateUserOnly"))}
        created = plane.client("cognito-idp", region).create_user_pool(**request)["UserPool"]
        pools[pool.outputs["id"]] = created["Id"]
        # The pool id also appears inside its ARN, endpoint and token issuer.
        plane.names.map(pool.outputs["id"], created["Id"], fragment=True)
    for client in plane.snapshot.of_type(USER_POOL_CLIENT):
        props = client.props
        request = {"UserPoolId": pools[props["userPoolId"]], "ClientName": client.outputs["name"],
                   "GenerateSecret": bool(props.get("generateSecret"))}
        if props.get("explicitAuthFlows"):
            request["ExplicitAuthFlows"] = props["explicitAuthFlows"]
        created = plane.client("cognito-idp", _region(plane, client)).create_user_pool_client(**request)
        plane.names.map(client.outputs["id"], created["UserPoolClient"]["ClientId"])


def _secrets(plane: DataPlane) -> None:
    values = {v.props.get("secretId"): v.props.get("secretString") for v in plane.snapshot.of_type(SECRET_VERSION)}
    for secret in plane.snapshot.of_type(SECRET):
        name = secret.props.get("name") or secret.outputs["name"]
        request: dict[str, Any] = {"Name": name}
        value = values.get(secret.outputs.get("arn")) or values.get(secret.outputs.get("id"))
        if value is not None:
            request["SecretString"] = value
        plane.client("secretsmanager", _region(plane, secret)).create_secret(**request)


def _unemulated(plane: DataPlane) -> None:
    """What moto has no data plane for, and how the twin stands in for it."""
    for cluster in plane.snapshot.of_type(DAX_CLUSTER):
        endpoint_hosts = {cluster.outputs.get("clusterAddress"), cluster.outputs.get("configurationEndpoint")}
        for function in plane.snapshot.of_type(LAMBDA_FUNCTION):
            variables = (function.props.get("environment") or {}).get("variables") or {}
            for key, value in variables.items():
                if isinstance(value, str) and any(host and host.split(":")[0] in value for host in endpoint_hosts):
                    # An empty endpoint selects plain DynamoDB (the function's settings treat "" as no DAX).
                    plane.overrides.setdefault(function.outputs["name"], {})[key] = ""
                    plane.dax_functions.add(function.outputs["name"])
                    plane.notes.append(PlaneNote(
                        cluster.name, f"moto has no DAX data plane: {function.outputs['name']} runs with "
                                      f"{key}='' against the twin's DynamoDB (same table, no item cache); its DynamoDB "
                                      f"data calls are judged as the dax: calls they are when deployed"))


def functions_of(snapshot: StackSnapshot) -> list[RecordedResource]:
    return snapshot.of_type(LAMBDA_FUNCTION)
