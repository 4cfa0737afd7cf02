"""The Lambda service of the twin: what invokes each function, emulated from the recorded wiring.

- Event source mappings (`aws:lambda/eventSourceMapping:EventSourceMapping`): SQS and DynamoDB
  streams are polled on the twin's moto server, honouring the recorded batch size, filter criteria
  (evaluated by moto's own EventBridge pattern engine), starting position, ReportBatchItemFailures,
  bisect on error, bounded retries, maximum record age and the on-failure destination.
- S3 / SNS / EventBridge -> Lambda: moto delivers into a private shim queue (see twin.stack),
  drained here into the function with the event shape that service would send.
- Firehose (Kinesis source, Lambda transform, Parquet): twin/firehose.py, polled like a mapping
  (`FirehoseDelivery`); EventBridge Scheduler schedules fire on demand (`LambdaService.fire_schedule`).
- Deploy-time invocations (`aws:lambda/invocation:Invocation`): run once, in graph order, with the
  recorded input, as `pulumi up` runs them before anyone calls the stack (`LambdaService.deploy`).
- API Gateway REST (v1) proxy integrations, from the recorded RestApi, Resource (path from the
  parent chain), Method, Integration, Authorizer, Model, Stage and MethodSettings: Cognito user-pool
  authorization with real ID tokens from the twin's Cognito, required parameters and body models,
  and the stage cache (key = method + resource path + the integration's cache key parameters), emptied
  by a function's FlushStageCache of that stage when its role allows it.

Time is compressed: a retry happens at the next poll, not after a visibility timeout or backoff.
Every invocation goes through `LambdaService.invoke`, which keeps the ledger the report is built from.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import re
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Optional

from moto.events.models import EventPattern

from offline.harness import ACCOUNT_ID, RecordedResource, StackSnapshot
from twin.stack import KEY_GROUP, DataPlane, LambdaShim, PlaneNote, functions_of, key_group
from twin.stack import FIREHOSE_DELIVERY_STREAM, GLUE_TABLE, ScheduledTarget, aliases_of

ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
REST_API = "aws:apigateway/restApi:RestApi"
API_RESOURCE = "aws:apigateway/resource:Resource"
API_METHOD = "aws:apigateway/method:Method"
API_INTEGRATION = "aws:apigateway/integration:Integration"
API_INTEGRATION_RESPONSE = "aws:apigateway/integrationResponse:IntegrationResponse"
API_AUTHORIZER = "aws:apigateway/authorizer:Authorizer"
API_MODEL = "aws:apigateway/model:Model"
API_STAGE = "aws:apigateway/stage:Stage"
API_METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
INVOCATION = "aws:lambda/invocation:Invocation"
FUNCTION_EVENT_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"

DAX_OPERATIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem",
                            "BatchWriteItem", "TransactGetItems", "TransactWriteItems"})
"""The DynamoDB data-plane operations DAX serves (a DAX-fronted function makes these through DAX)."""
MAX_TWIN_RETRIES = 25
"""Cap on retries where AWS would retry until the record expires (maximumRetryAttempts -1)."""
ASYNC_RETRIES = 2
"""Lambda's default retries of an asynchronous invocation (S3, SNS, EventBridge)."""


# ----------------------------------------------------------------------------------------------------
# Invocations and the ledger

@dataclass
class Invocation:
    function: str
    """The function's physical name."""
    source: str
    """What invoked it: `apigateway:<api> <METHOD> <path>`, `esm:<mapping>`, `s3:<bucket>`..."""
    request_id: str
    result: Any
    """The runner's InvokeResult: response, error, calls, logs, duration_ms."""
    denied: list = field(default_factory=list)
    """Calls the permissions judge denied."""
    unused_actions: list = field(default_factory=list)
    unjudged: list[str] = field(default_factory=list)
    """Why the judge could not decide this invocation's calls (each fails the report)."""

    @property
    def failed(self) -> bool:
        return self.result.error is not None


def _default_runner() -> tuple[Callable, Callable]:
    from twin import lambda_process

    return lambda_process.LambdaProcess, lambda_process.artifact_from_resource


TWIN_JUDGE = object()
"""Use twin.permissions.evaluate_calls (pass None to judge nothing, or another callable with its signature)."""


def default_judge() -> Optional[Callable]:
    """twin.permissions.evaluate_calls, or None while it doesn't exist.

    HOOK: without a judge no call is checked, and the report says so (and fails).
    """
    try:
        from twin.permissions import evaluate_calls
    except ImportError:
        return None
    return evaluate_calls


class LambdaService:
    """Every function of the stack, warm in its runner, and everything that invokes them."""

    def __init__(self, plane: DataPlane, *, runner: Optional[Callable] = None,
                 artifact_for: Optional[Callable] = None, judge: Any = TWIN_JUDGE):
        self.plane = plane
        self.snapshot: StackSnapshot = plane.snapshot
        if runner is None or artifact_for is None:
            default_runner, default_artifact = _default_runner()
            runner, artifact_for = runner or default_runner, artifact_for or default_artifact
        self._runner, self._artifact_for = runner, artifact_for
        self.judge: Optional[Callable] = default_judge() if judge is TWIN_JUDGE else judge
        self.functions: dict[str, RecordedResource] = {}
        for function in functions_of(self.snapshot):
            self.functions[function.outputs["name"]] = function
        self.aliases = aliases_of(self.snapshot)
        """(function, alias) -> the version it serves: a call through `live` runs that version's code."""
        self._processes: dict[str, Any] = {}
        self.ledger: list[Invocation] = []
        self.mappings = [_mapping(self, esm) for esm in self.snapshot.of_type(ESM)]
        self.shims = [ShimPump(self, shim) for shim in plane.shims]
        self.deliveries = [FirehoseDelivery(self, stream) for stream in self.snapshot.of_type(FIREHOSE_DELIVERY_STREAM)
                           if FirehoseDelivery.emulated(stream)]
        self.deployments: Optional[dict[str, Invocation]] = None
        """Recorded Invocation logical name -> the deploy-time invocation; None until `deploy()` ran."""
        self.stage_cache_flushes: dict[tuple[str, str], int] = {}
        """(recorded REST API id, stage) -> FlushStageCache calls the caller's role allowed; gateways honour them."""
        self.refused: list[RefusedRequest] = []
        """Signed requests to AWS_IAM methods that the caller's role may not make: each is a denied call."""

    # -- functions ----------------------------------------------------------------------------------
    def function_name(self, reference: str) -> str:
        """The physical name of a function given its name, ARN (qualified or not) or invoke ARN."""
        reference = self.plane.names.recorded(reference)
        match = re.search(r"function:([^:/]+)(?::([^:/]+))?", reference)
        name = match.group(1) if match else reference
        if name not in self.functions:
            raise KeyError(f"no function {reference!r} in the recorded stack; functions: {sorted(self.functions)}")
        if match and match.group(2):
            self.served_version(name, match.group(2))
        return name

    def served_version(self, name: str, qualifier: str) -> str:
        """The version a call qualified by an alias or version runs; the twin has the recorded code only, so a
        qualifier that resolves to any other version (or an alias the stack lacks) is refused."""
        published = str(self.functions[name].outputs.get("version") or "$LATEST")
        if qualifier == "$LATEST" or qualifier.isdigit():
            version = qualifier
        elif (name, qualifier) in self.aliases:
            version = self.aliases[(name, qualifier)]
        else:
            raise KeyError(f"{name} has no alias {qualifier!r} in the recorded stack")
        if version not in (published, "$LATEST"):
            raise KeyError(f"{name}:{qualifier} serves version {version}; the twin runs the recorded code, "
                           f"version {published}")
        return version

    def process(self, name: str) -> Any:
        if name not in self._processes:
            resource = self.functions[name]
            artifact = self._artifact_for(resource)
            environment = dict(getattr(artifact, "environment", {}) or {})
            extra = {k: self.plane.names.twin(v) for k, v in environment.items() if self.plane.names.twin(v) != v}
            extra.update(self.plane.overrides.get(name, {}))
            self._processes[name] = self._runner(artifact, endpoint_url=self.plane.endpoint_url,
                                                 region=resource.region or self.plane.region, extra_env=extra)
        return self._processes[name]

    def warm(self, workers: int = 4) -> None:
        """Start every function's sandbox now, several at once: their cold starts overlap instead of
        adding up. (A runner without `start()` starts on its first invoke.)"""
        from concurrent.futures import ThreadPoolExecutor

        processes = [self.process(name) for name in self.functions]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda p: p.start() if hasattr(p, "start") else None, processes))
        # The stack is up once `pulumi up` has run its deploy-time invocations: do them before any caller.
        self.deploy()

    def deploy(self) -> dict[str, Invocation]:
        """Run the stack's `aws:lambda/invocation:Invocation`s once, as `pulumi up` creates them.

        In registration order (an Invocation registers after what it depends on), each function gets its
        recorded input in the twin's names, plus the provider's `tf` block for a CRUD lifecycle. A
        CloudFront key group whose items are Invocation results is created from the twin's results."""
        if self.deployments is not None:
            return self.deployments
        self.deployments = {}
        results: dict[str, Any] = {}
        for resource in self.snapshot.resources:
            if resource.resource_type == INVOCATION:
                event = self.plane.names.twin(json.loads(resource.props["input"]))
                if resource.props.get("lifecycleScope") == "CRUD":
                    event[resource.props.get("terraformKey") or "tf"] = {"action": "create", "prev_input": None}
                invocation = self.invoke(resource.props["functionName"], event, source=f"pulumi:{resource.name}")
                self.deployments[resource.name] = invocation
                results[resource.urn] = invocation.result.response
                step = f" ({event['step']})" if isinstance(event.get("step"), str) else ""
                outcome = "failed: " + str(invocation.result.error.get("errorMessage", ""))[:200] \
                    if invocation.failed else "ok"
                self.plane.notes.append(PlaneNote(resource.name, f"deploy-time invocation{step} of "
                                                                 f"{invocation.function} before the scenarios: {outcome}"))
            elif resource.resource_type == KEY_GROUP:
                sources = resource.property_dependencies.get("items") or []
                if sources and all(urn in results for urn in sources):
                    key_ids = [r["keyId"] for urn in sources if isinstance(r := results[urn], dict) and r.get("keyId")]
                    key_group(self.plane, resource, key_ids)
        return self.deployments

    def invoke(self, reference: str, event: dict, *, source: str) -> Invocation:
        name = self.function_name(reference)
        request_id = str(uuid.uuid4())
        result = self.process(name).invoke(event, request_id=request_id)
        invocation = Invocation(function=name, source=source, request_id=request_id, result=result)
        if self.judge is not None:
            calls = result.calls
            if name in self.plane.dax_functions:
                calls = [dataclasses.replace(c, service="dax") if c.service == "dynamodb" and c.operation
                         in DAX_OPERATIONS else c for c in calls]
            for stand_in in self.plane.athena.values():
                calls = stand_in.with_workgroups(calls)
            try:
                report = self.judge(self.snapshot, self.functions[name], calls,
                                    names=self.plane.names.to_recorded())
            except Exception as exc:  # e.g. twin.permissions.UnmappedOperation: a call nobody judged
                invocation.unjudged.append(f"{type(exc).__name__}: {exc}")
            else:
                invocation.denied = list(report.denied)
                invocation.unused_actions = list(getattr(report, "unused_actions", None) or [])
        self._count_stage_cache_flushes(invocation)
        self.ledger.append(invocation)
        return invocation

    def _count_stage_cache_flushes(self, invocation: Invocation) -> None:
        """A FlushStageCache that succeeded and that the role allows empties that stage's cache (as in AWS, a denied
        call changes nothing; the twin's moto server answers it either way, see twin.stack.moto_server)."""
        if invocation.unjudged:
            return
        for call in getattr(invocation.result, "calls", None) or []:
            if (call.service, call.operation) != ("apigateway", "FlushStageCache") or call.error_code is not None:
                continue
            if any(d.call is call or d.call == call for d in invocation.denied):
                continue
            key = (self.plane.names.recorded(call.params["restApiId"]), call.params["stageName"])
            self.stage_cache_flushes[key] = self.stage_cache_flushes.get(key, 0) + 1

    # -- asynchronous sources -------------------------------------------------------------------------
    def pump(self, *, max_rounds: int = 200) -> int:
        """Poll every mapping and shim until nothing moves; returns the number of invocations made."""
        before = len(self.ledger)
        for _ in range(max_rounds):
            sources: list[EventSourceMapping | ShimPump | FirehoseDelivery] = [*self.mappings, *self.shims,
                                                                               *self.deliveries]
            moved = sum(source.poll() for source in sources)
            if not moved:
                return len(self.ledger) - before
        raise RuntimeError(f"event sources still busy after {max_rounds} rounds: a retry loop?")

    def fire_schedule(self, schedule: ScheduledTarget) -> list[Invocation]:
        """One run of an EventBridge Scheduler schedule: Scheduler invokes its target function asynchronously
        with the recorded input. A function error is then Lambda's to retry (the function's recorded
        FunctionEventInvokeConfig, else Lambda's default of 2) and to send to its on-failure destination, as
        Lambda's record; the schedule's own retry policy and DLQ are for deliveries Lambda refused."""
        event = json.loads(schedule.input) if schedule.input else {}
        name = self.function_name(schedule.function_arn)
        refs = {name, self.functions[name].outputs.get("arn")}
        config = next((c.props for c in self.snapshot.of_type(FUNCTION_EVENT_INVOKE_CONFIG)
                       if c.props.get("functionName") in refs), {})
        retries = int(config.get("maximumRetryAttempts", ASYNC_RETRIES))
        attempts: list[Invocation] = []
        for _ in range(1 + retries):
            attempts.append(self.invoke(schedule.function_arn, event, source=f"scheduler:{schedule.name}"))
            if not attempts[-1].failed:
                return attempts
        destination = ((config.get("destinationConfig") or {}).get("onFailure") or {}).get("destination")
        if destination:
            error = attempts[-1].result.error or {}
            _send_to_destination(self.plane, self.plane.names.twin(destination), {
                "version": "1.0", "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                "requestContext": {"requestId": attempts[-1].request_id,
                                   "functionArn": f"{self.functions[name].outputs['arn']}:$LATEST",
                                   "condition": "RetriesExhausted", "approximateInvokeCount": len(attempts)},
                "requestPayload": event,
                "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
                "responsePayload": error})
        return attempts

    def mapping_for(self, function_reference: str) -> list["EventSourceMapping"]:
        name = self.function_name(function_reference)
        return [m for m in self.mappings if m.function == name]

    def close(self) -> None:
        for process in self._processes.values():
            process.close()
        self._processes.clear()


# ----------------------------------------------------------------------------------------------------
# Event source mappings

@dataclass
class MappingStats:
    received: int = 0
    filtered_out: int = 0
    invocations: int = 0
    retries: int = 0
    bisects: int = 0
    sent_to_destination: int = 0
    expired: int = 0


class EventSourceMapping:
    """What both kinds share: the recorded settings and the filter."""

    def __init__(self, service: LambdaService, esm: RecordedResource):
        props = esm.props
        self.service, self.resource, self.props = service, esm, props
        self.name = esm.name
        self.function = service.function_name(props["functionName"])
        self.source_arn = service.plane.names.twin(props["eventSourceArn"])
        self.region = self.source_arn.split(":")[3]
        self.batch_size = int(props.get("batchSize") or self.default_batch_size)
        self.report_item_failures = "ReportBatchItemFailures" in (props.get("functionResponseTypes") or [])
        patterns = [f["pattern"] for f in ((props.get("filterCriteria") or {}).get("filters") or [])]
        self.filters = [EventPattern.load(p) for p in patterns]
        self.enabled = props.get("enabled", True) is not False
        self.stats = MappingStats()

    default_batch_size = 10

    def matches(self, record: dict) -> bool:
        return not self.filters or any(f.matches_event(record) for f in self.filters)  # type: ignore[arg-type]

    def invoke(self, records: list[dict]) -> tuple[Invocation, Optional[set[str]]]:
        """Invoke with `records`; returns the invocation and the failed item ids (None: all failed)."""
        invocation = self.service.invoke(self.function, {"Records": records}, source=f"esm:{self.name}")
        self.stats.invocations += 1
        if invocation.failed:
            return invocation, None
        if not self.report_item_failures:
            return invocation, set()
        response = invocation.result.response
        failures = response.get("batchItemFailures") if isinstance(response, dict) else None
        if failures is None:
            return invocation, set()
        ids = {self.item_id(r) for r in records}
        failed = set()
        for failure in failures:
            item = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not item or item not in ids:
                return invocation, None  # Lambda treats a malformed report as a failure of the whole batch
            failed.add(item)
        return invocation, failed

    def item_id(self, record: dict) -> str:
        raise NotImplementedError

    def poll(self) -> int:
        raise NotImplementedError


class SqsMapping(EventSourceMapping):
    def __init__(self, service: LambdaService, esm: RecordedResource):
        super().__init__(service, esm)
        self.sqs = service.plane.client("sqs", self.region)
        self.queue_url = service.plane.queue_url(self.source_arn)

    def item_id(self, record: dict) -> str:
        return record["messageId"]

    def poll(self) -> int:
        if not self.enabled:
            return 0
        messages: list[dict] = []
        while len(messages) < self.batch_size:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                AttributeNames=["All"], MessageAttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                break
            messages += batch
        if not messages:
            return 0
        self.stats.received += len(messages)
        records = [sqs_record(m, self.source_arn, self.region) for m in messages]
        kept = []
        for record in records:
            if self.matches(sqs_filter_view(record)):
                kept.append(record)
            else:
                self.stats.filtered_out += 1
                self._delete([record])  # Lambda deletes messages its filter drops
        if not kept:
            return 1
        _, failed = self.invoke(kept)
        if failed is None:
            self._release(kept)
        else:
            self._delete([r for r in kept if r["messageId"] not in failed])
            self._release([r for r in kept if r["messageId"] in failed])
        return 1

    def _delete(self, records: list[dict]) -> None:
        if records:
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)])

    def _release(self, records: list[dict]) -> None:
        """Visible again at once (compressed time); the queue's redrive policy counts the receives."""
        if records:
            self.stats.retries += len(records)
            self.sqs.change_message_visibility_batch(QueueUrl=self.queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": 0}
                for i, r in enumerate(records)])


def sqs_record(message: dict, queue_arn: str, region: str) -> dict:
    """An SQS message as Lambda hands it to a function."""
    attributes = {k: v for k, v in (message.get("Attributes") or {}).items()}
    return {
        "messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": {name: {"stringValue": value.get("StringValue"), "binaryValue": value.get("BinaryValue"),
                                     "stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
                              for name, value in (message.get("MessageAttributes") or {}).items()},
        "md5OfBody": message.get("MD5OfBody"), "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_filter_view(record: dict) -> dict:
    """What a filter pattern sees: the record, with a JSON body parsed (Lambda's rule)."""
    view = dict(record)
    try:
        view["body"] = json.loads(record["body"])
    except ValueError:
        pass
    return view


@dataclass
class _ShardState:
    iterator: Optional[str]
    pending: list[dict] = field(default_factory=list)
    attempts: int = 0
    limit: Optional[int] = None
    """A bisected batch's size; None: the mapping's batch size."""


class StreamMapping(EventSourceMapping):
    default_batch_size = 100

    def __init__(self, service: LambdaService, esm: RecordedResource):
        super().__init__(service, esm)
        self.streams = service.plane.client("dynamodbstreams", self.region)
        self.starting_position = self.props.get("startingPosition", "LATEST")
        self.max_retries = int(self.props.get("maximumRetryAttempts", -1))
        self.max_age = int(self.props.get("maximumRecordAgeInSeconds", -1))
        self.bisect = bool(self.props.get("bisectBatchOnFunctionError"))
        self.destination = ((self.props.get("destinationConfig") or {}).get("onFailure") or {}).get("destinationArn")
        self.destination = service.plane.names.twin(self.destination) if self.destination else None
        self.shards: dict[str, _ShardState] = {}
        self._discover()

    def item_id(self, record: dict) -> str:
        return record["dynamodb"]["SequenceNumber"]

    def _discover(self) -> None:
        description = self.streams.describe_stream(StreamArn=self.source_arn)["StreamDescription"]
        for shard in description["Shards"]:
            if shard["ShardId"] not in self.shards:
                iterator = self.streams.get_shard_iterator(
                    StreamArn=self.source_arn, ShardId=shard["ShardId"],
                    ShardIteratorType=self.starting_position)["ShardIterator"]
                self.shards[shard["ShardId"]] = _ShardState(iterator)

    def poll(self) -> int:
        if not self.enabled:
            return 0
        self._discover()
        return sum(self._poll_shard(shard_id, state) for shard_id, state in self.shards.items())

    def _poll_shard(self, shard_id: str, state: _ShardState) -> int:
        if state.iterator and len(state.pending) < self.batch_size:
            page = self.streams.get_records(ShardIterator=state.iterator, Limit=1000)
            state.iterator = page.get("NextShardIterator")
            for raw in page.get("Records", []):
                record = stream_record(raw, self.source_arn, self.region)
                self.stats.received += 1
                if self.matches(record):
                    state.pending.append(record)
                else:
                    self.stats.filtered_out += 1
        if not state.pending:
            return 0
        if self.max_age >= 0:
            now = time.time()
            expired = [r for r in state.pending if now - r["dynamodb"]["ApproximateCreationDateTime"] > self.max_age]
            if expired:
                self.stats.expired += len(expired)
                self._give_up(shard_id, expired, "RecordAgeExceeded", state.attempts)
                state.pending = [r for r in state.pending if r not in expired]
                if not state.pending:
                    return 1
        batch = state.pending[:state.limit or self.batch_size]
        invocation, failed = self.invoke(batch)
        if failed is not None and not failed:
            state.pending = state.pending[len(batch):]
            state.attempts, state.limit = 0, None
            return 1
        if failed is None and self.bisect and len(batch) > 1:
            # Split and retry the halves; a bisect doesn't use up a retry.
            self.stats.bisects += 1
            state.limit = len(batch) // 2
            return 1
        if failed:
            # Retry from the first failed record; the ones before it are done.
            first = min(i for i, r in enumerate(batch) if self.item_id(r) in failed)
            state.pending = state.pending[first:]
            batch = batch[first:]
        state.attempts += 1
        self.stats.retries += 1
        limit = self.max_retries if self.max_retries >= 0 else MAX_TWIN_RETRIES
        if state.attempts > limit:
            self._give_up(shard_id, batch, "RetryAttemptsExhausted", state.attempts, invocation)
            state.pending = state.pending[len(batch):]
            state.attempts, state.limit = 0, None
        return 1

    def _give_up(self, shard_id: str, records: list[dict], condition: str, attempts: int,
                 invocation: Optional[Invocation] = None) -> None:
        """Send Lambda's on-failure record (batch info, not the records) to the destination."""
        if not self.destination:
            return
        error = invocation.result.error if invocation is not None else None
        failure = {
            "requestContext": {"requestId": invocation.request_id if invocation else str(uuid.uuid4()),
                               "functionArn": self.service.functions[self.function].outputs["arn"],
                               "condition": condition, "approximateInvokeCount": attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled" if error else None},
            "version": "1.0", "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id, "startSequenceNumber": self.item_id(records[0]),
                "endSequenceNumber": self.item_id(records[-1]),
                "approximateArrivalOfFirstRecord": _iso(records[0]["dynamodb"]["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _iso(records[-1]["dynamodb"]["ApproximateCreationDateTime"]),
                "batchSize": len(records), "streamArn": self.source_arn},
        }
        _send_to_destination(self.service.plane, self.destination, failure)
        self.stats.sent_to_destination += len(records)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="milliseconds")


def _send_to_destination(plane: DataPlane, arn: str, document: dict) -> None:
    if ":sqs:" in arn:
        plane.client("sqs", arn.split(":")[3]).send_message(QueueUrl=plane.queue_url(arn),
                                                            MessageBody=json.dumps(document))
    elif ":sns:" in arn:
        plane.client("sns", arn.split(":")[3]).publish(TopicArn=arn, Message=json.dumps(document))
    else:
        raise NotImplementedError(f"on-failure destination {arn} is neither SQS nor SNS")


def stream_record(raw: dict, stream_arn: str, region: str) -> dict:
    """A DynamoDB stream record as Lambda hands it to a function (epoch seconds, the source's region)."""
    change = dict(raw["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = created.timestamp()
    elif created is None:
        change["ApproximateCreationDateTime"] = time.time()
    return {"eventID": raw["eventID"], "eventName": raw["eventName"], "eventVersion": raw.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb", "awsRegion": region, "dynamodb": change, "eventSourceARN": stream_arn}


def _mapping(service: LambdaService, esm: RecordedResource) -> EventSourceMapping:
    source = esm.props["eventSourceArn"]
    if ":sqs:" in source:
        return SqsMapping(service, esm)
    if ":dynamodb:" in source and "/stream/" in source:
        return StreamMapping(service, esm)
    raise NotImplementedError(f"{esm.name}: the twin has no poller for event source {source}")


# ----------------------------------------------------------------------------------------------------
# S3 / SNS / EventBridge -> Lambda, through the shim queues

class ShimPump:
    def __init__(self, service: LambdaService, shim: LambdaShim):
        self.service, self.shim = service, shim
        self.sqs = service.plane.client("sqs", shim.region)

    def poll(self) -> int:
        messages = self.sqs.receive_message(QueueUrl=self.shim.queue_url, MaxNumberOfMessages=10,
                                            WaitTimeSeconds=0).get("Messages", [])
        for message in messages:
            event = self._event(json.loads(message["Body"]))
            if event is not None:
                for _ in range(1 + ASYNC_RETRIES):
                    if not self.service.invoke(self.shim.function_arn, event,
                                               source=f"{self.shim.kind}:{self.shim.source_arn}").failed:
                        break
            self.sqs.delete_message(QueueUrl=self.shim.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _event(self, body: dict) -> Optional[dict]:
        if self.shim.kind == "s3":
            return None if body.get("Event") == "s3:TestEvent" else body
        if self.shim.kind == "sns":
            return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                                 "EventSubscriptionArn": self.shim.subscription_arn, "Sns": body}]}
        return body


# ----------------------------------------------------------------------------------------------------
# Firehose delivery streams with a Kinesis source (twin/firehose.py)

class FirehoseDelivery:
    """A recorded Kinesis-sourced delivery stream, emulated by twin/firehose.py: each poll reads the stream,
    invokes the transform through the Lambda service (the real runner, judged like any invocation) and, as
    time is compressed, flushes its buffers to the twin's S3 at once (a buffering interval elapsing)."""

    def __init__(self, service: LambdaService, stream: RecordedResource):
        from twin.firehose import DeliveryConfig, FirehoseEmulator

        self.service, self.resource, self.name = service, stream, stream.outputs["name"]
        names, props = service.plane.names, stream.props
        schema = props["extendedS3Configuration"]["dataFormatConversionConfiguration"]["schemaConfiguration"]
        table = next(t for t in service.snapshot.of_type(GLUE_TABLE) if t.props["databaseName"] ==
                     schema["databaseName"] and (t.props.get("name") or t.outputs["name"]) == schema["tableName"])
        self.region = stream.region or service.plane.region
        self.kinesis_stream_arn = names.twin(props["kinesisSourceConfiguration"]["kinesisStreamArn"])
        config = DeliveryConfig.from_recorded(props, table.props, region=self.region, delivery_stream_name=self.name)
        self.config = dataclasses.replace(config, bucket=names.twin(config.bucket),
                                          kinesis_stream_arn=self.kinesis_stream_arn)
        self.emulator = FirehoseEmulator.at_endpoint(self.config, service.plane.endpoint_url, self._transform)

    @staticmethod
    def emulated(stream: RecordedResource) -> bool:
        """What twin/firehose.py reproduces: a Kinesis source, a Lambda processor, Parquet from a Glue table."""
        s3 = stream.props.get("extendedS3Configuration") or {}
        processors = ((s3.get("processingConfiguration") or {}).get("processors")) or []
        return bool(stream.props.get("kinesisSourceConfiguration") and any(p.get("type") == "Lambda" for p in processors)
                    and (s3.get("dataFormatConversionConfiguration") or {}).get("schemaConfiguration"))

    def _transform(self, event: dict) -> dict:
        invocation = self.service.invoke(self.config.lambda_arn, event, source=f"firehose:{self.name}")
        if invocation.failed:
            raise RuntimeError(f"Lambda.FunctionError: {invocation.result.error.get('errorMessage', '')}")
        return invocation.result.response

    def poll(self) -> int:
        kinesis = self.service.plane.client("kinesis", self.region)
        read = self.emulator.pump_kinesis(kinesis, self.kinesis_stream_arn.rsplit("/", 1)[1])
        if read:
            self.emulator.flush()
        return read

    def role_checks(self) -> list:
        """Firehose's own access so far, judged against the delivery role (twin.permissions `Check`s): reading
        the stream, invoking the transform, reading the table's schema, each object written, and the KMS
        keys behind the encrypted stream and bucket. Firehose is no Lambda function: nothing here is in the
        ledger, so a scenario asserts these."""
        from twin.arns import Requirement
        from twin.permissions import judge_for

        props, snapshot, region = self.resource.props, self.service.snapshot, self.region
        s3 = props["extendedS3Configuration"]
        fake_function = dataclasses.replace(self.resource, props={"role": s3["roleArn"]})
        judge = judge_for(snapshot, fake_function)
        stream = props["kinesisSourceConfiguration"]["kinesisStreamArn"]
        schema = s3["dataFormatConversionConfiguration"]["schemaConfiguration"]
        glue = f"arn:aws:glue:{schema.get('region') or region}:{schema.get('catalogId') or ACCOUNT_ID}"
        bucket = s3["bucketArn"]
        why = f"Firehose ({self.name}) with its delivery role"

        def need(action: str, resource: str, via: Optional[str] = None) -> Requirement:
            context = {"kms:viaservice": (f"{via}.{region}.amazonaws.com",)} if via else {}
            return Requirement(action, resource, {"aws:requestedregion": (region,), **context},
                               frozenset(context), implied_by=why)

        required = [need(f"kinesis:{a}", stream) for a in ("DescribeStream", "ListShards", "GetShardIterator",
                                                            "GetRecords")]
        required += [need(f"lambda:{a}", self.config.lambda_arn) for a in ("InvokeFunction", "GetFunctionConfiguration")]
        required += [need("glue:GetTableVersions", f"{glue}:{kind}") for kind in (
            "catalog", f"database/{schema['databaseName']}", f"table/{schema['databaseName']}/{schema['tableName']}")]
        required.append(need("s3:ListBucket", bucket))
        report = self.emulator.report
        required += [need("s3:PutObject", f"{bucket}/{key}") for key in [*report.objects, *report.error_objects]]
        stream_key = next((k.props.get("kmsKeyId") for k in snapshot.of_type("aws:kinesis/stream:Stream")
                           if k.outputs.get("arn") == stream and k.props.get("encryptionType") == "KMS"), None)
        if stream_key:
            required.append(need("kms:Decrypt", stream_key, via="kinesis"))
        if s3.get("kmsKeyArn"):
            required.append(need("kms:GenerateDataKey", s3["kmsKeyArn"], via="s3"))
        return [judge.decide(r) for r in required]


# ----------------------------------------------------------------------------------------------------
# API Gateway REST (v1)

@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: str
    invocation: Optional[Invocation] = None
    """The function invocation behind it; None when the gateway answered (401, cache hit, MOCK)."""
    cached: bool = False
    header_values: dict[str, list[str]] = field(default_factory=dict)
    """Each header's values as sent, one per header line (Set-Cookie can't be joined with commas)."""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def reason(self) -> Any:
        """The JSON answer's `reason` (our APIs' 4xx say why), else None."""
        try:
            return (self.json() or {}).get("reason")
        except ValueError:
            return None

    def describe(self) -> str:
        """Status, the start of the body and the function's error, for a failed check's detail."""
        error = self.invocation.result.error if self.invocation is not None else None
        return f"{self.status} {self.body[:200]}" + (f" / function error: {error.get('errorMessage')}"
                                                     if error else "")


@dataclass
class ApiAuthorizer:
    kind: str
    identity_header: str
    issuers: list[str]


@dataclass
class ApiRoute:
    method: str
    resource_path: str
    resource_id: str
    authorizer: Optional[ApiAuthorizer]
    required_parameters: list[str]
    body_schema: Optional[dict]
    integration_type: str
    function_arn: Optional[str]
    mock_headers: dict[str, str]
    cache_key_parameters: list[str]
    cache_ttl: Optional[int]
    """Seconds a response is cached; None when this method isn't cached."""
    iam: bool = False
    """AWS_IAM: the caller signs with SigV4; the gateway checks the signature and judges execute-api:Invoke
    against the signing role (RestApiGateway._judge_caller)."""

    def match(self, path: str) -> Optional[dict[str, str]]:
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.resource_path))
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


class RestApiGateway:
    """One recorded REST API's stage, serving requests into the twin's functions."""

    def __init__(self, service: LambdaService, rest_api: RecordedResource, stage_name: Optional[str] = None):
        self.service, self.rest_api = service, rest_api
        snapshot, names = service.snapshot, service.plane.names
        self.api_id = rest_api.outputs["id"]
        self.region = rest_api.region or service.plane.region
        mine = lambda typ: [r for r in snapshot.of_type(typ)  # noqa: E731
                            if (r.props.get("restApi") or r.props.get("restApiId")) == self.api_id]
        stages = mine(API_STAGE)
        self.stage_names = [s.props["stageName"] for s in stages]
        """Every stage of the API (two while a migration serves v1 and v2); this gateway serves one."""
        stage = next((s for s in stages if stage_name in (None, s.props["stageName"])), None)
        if stage_name is not None and stage is None:
            raise KeyError(f"{rest_api.name} has no stage {stage_name!r}; stages: {self.stage_names}")
        self.stage_name = stage.props["stageName"] if stage else "v1"
        self.stage_variables: Optional[dict[str, str]] = (stage.props.get("variables") or None) if stage else None
        cache_cluster = bool(stage and stage.props.get("cacheClusterEnabled"))
        settings = {s.props["methodPath"]: s.props.get("settings") or {} for s in mine(API_METHOD_SETTINGS)
                    if s.props.get("stageName") in (None, self.stage_name)}
        paths = self._resource_paths(mine(API_RESOURCE))
        authorizers = {a.outputs["id"]: self._authorizer(a) for a in mine(API_AUTHORIZER)}
        models = {m.props.get("name") or m.outputs["name"]: json.loads(m.props["schema"]) for m in mine(API_MODEL)}
        integrations = {(i.props["resourceId"], i.props["httpMethod"]): i for i in mine(API_INTEGRATION)}
        mock_headers: dict[tuple[str, str], dict[str, str]] = {}
        for response in mine(API_INTEGRATION_RESPONSE):
            mock_headers[(response.props["resourceId"], response.props["httpMethod"])] = {
                k.rsplit(".", 1)[1]: v.strip("'") for k, v in (response.props.get("responseParameters") or {}).items()}
        self.routes: list[ApiRoute] = []
        for method in mine(API_METHOD):
            props = method.props
            key = (props["resourceId"], props["httpMethod"])
            integration = integrations.get(key)
            path = paths[props["resourceId"]]
            method_path = f"{path.lstrip('/')}/{props['httpMethod']}"
            cached = settings.get(method_path, settings.get("*/*", {}))
            uri = (integration.props.get("uri") or "") if integration else ""
            function = re.search(r"functions/(arn:[^/]+)/invocations", uri)
            self.routes.append(ApiRoute(
                method=props["httpMethod"], resource_path=path, resource_id=props["resourceId"],
                authorizer=authorizers.get(props.get("authorizerId")) if props.get("authorization") != "NONE" else None,
                required_parameters=[p for p, required in (props.get("requestParameters") or {}).items() if required],
                body_schema=next((models.get(m) for m in (props.get("requestModels") or {}).values()), None),
                integration_type=integration.props.get("type", "") if integration else "",
                function_arn=names.twin(function.group(1)) if function else None,
                mock_headers=mock_headers.get(key, {}),
                cache_key_parameters=list((integration.props.get("cacheKeyParameters") or []) if integration else []),
                cache_ttl=int(cached.get("cacheTtlInSeconds", 300))
                if cache_cluster and cached.get("cachingEnabled") else None,
                iam=props.get("authorization") == "AWS_IAM"))
        self._cache: dict[tuple, tuple[float, HttpResponse]] = {}
        self._flushes_seen = 0
        self.cache_hits = 0
        self._jwks: dict[str, Any] = {}
        self.vpc_endpoint_ids = list((rest_api.props.get("endpointConfiguration") or {}).get("vpcEndpointIds") or [])
        """A PRIVATE API's execute-api endpoints: the twin's callers are taken to come through the first one."""

    def _resource_paths(self, resources: list[RecordedResource]) -> dict[str, str]:
        by_id = {r.outputs["id"]: r for r in resources}
        root = self.rest_api.outputs.get("rootResourceId")

        def path(resource_id: str) -> str:
            if resource_id == root:
                return ""
            resource = by_id[resource_id]
            return f"{path(resource.props['parentId'])}/{resource.props['pathPart']}"

        paths = {resource_id: path(resource_id) for resource_id in by_id}
        paths[root] = "/"
        return paths

    def _authorizer(self, authorizer: RecordedResource) -> ApiAuthorizer:
        props, names = authorizer.props, self.service.plane.names
        header = (props.get("identitySource") or "method.request.header.Authorization").rsplit(".", 1)[1]
        issuers = []
        for arn in props.get("providerArns") or []:
            twin_arn = names.twin(arn)
            issuers.append(f"https://cognito-idp.{twin_arn.split(':')[3]}.amazonaws.com/{twin_arn.rsplit('/', 1)[1]}")
        return ApiAuthorizer(kind=props.get("type", "COGNITO_USER_POOLS"), identity_header=header, issuers=issuers)

    @property
    def url(self) -> str:
        return f"https://{self.api_id}.execute-api.{self.region}.amazonaws.com/{self.stage_name}"

    def stage(self, stage_name: str) -> "RestApiGateway":
        """The same API through another of its stages (e.g. v2 beside v1)."""
        return RestApiGateway(self.service, self.rest_api, stage_name)

    def request(self, method: str, path: str, *, headers: Optional[dict[str, str]] = None,
                query: Optional[dict[str, str]] = None, body: Any = None) -> HttpResponse:
        headers = dict(headers or {})
        if body is not None and not isinstance(body, str):
            body = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        route, path_parameters = self._route(method, path)
        if route is None:
            return _gateway_error(403, "Missing Authentication Token")
        if route.integration_type == "MOCK":
            return HttpResponse(200, dict(route.mock_headers), "")
        lookup = {k.lower(): v for k, v in headers.items()}
        if route.iam:
            refusal = self._judge_caller(route, method, path, headers, query, body)
            if refusal is not None:
                return refusal
        claims = None
        if route.authorizer is not None:
            claims = self._authorize(route.authorizer, lookup.get(route.authorizer.identity_header.lower()))
            if claims is None:
                return _gateway_error(401, "Unauthorized")
        values = {**{f"method.request.header.{k}": v for k, v in headers.items()},
                  **{f"method.request.header.{k.lower()}": v for k, v in headers.items()},
                  **{f"method.request.querystring.{k}": v for k, v in (query or {}).items()},
                  **{f"method.request.path.{k}": v for k, v in path_parameters.items()}}
        missing = [p.rsplit(".", 1)[1] for p in route.required_parameters
                   if p not in values and p.lower() not in {k.lower() for k in values}]
        if missing:
            return _gateway_error(400, f"Missing required request parameters: [{', '.join(missing)}]")
        if route.body_schema is not None and not _valid_body(route.body_schema, body):
            return _gateway_error(400, "Invalid request body")
        cache_key = None
        if route.cache_ttl is not None:
            lowered = {k.lower(): v for k, v in values.items()}
            cache_key = (route.method, route.resource_path,
                         tuple((p, lowered.get(p.lower())) for p in route.cache_key_parameters))
            self._honour_flushes()
            hit = self._cache.get(cache_key)
            if hit and hit[0] > time.time():
                self.cache_hits += 1
                cached = hit[1]
                return HttpResponse(cached.status, dict(cached.headers), cached.body, None, cached=True,
                                    header_values=dict(cached.header_values))
        if route.function_arn is None:
            return _gateway_error(500, f"{route.integration_type or 'no'} integration: the twin serves AWS_PROXY and MOCK")
        event = self._proxy_event(route, method, path, headers, query, body, path_parameters, claims)
        invocation = self.service.invoke(route.function_arn, event,
                                         source=f"apigateway:{self.rest_api.name} {method} {route.resource_path}")
        if invocation.failed or not isinstance(invocation.result.response, dict) \
                or "statusCode" not in invocation.result.response:
            return HttpResponse(502, {"Content-Type": "application/json"},
                                json.dumps({"message": "Internal server error"}), invocation)
        answer = invocation.result.response
        response_body = answer.get("body") or ""
        if answer.get("isBase64Encoded"):
            response_body = base64.b64decode(response_body).decode("utf-8", "replace")
        response_headers = {k: str(v) for k, v in (answer.get("headers") or {}).items()}
        header_values = {k: [str(v)] for k, v in response_headers.items()}
        for k, v in (answer.get("multiValueHeaders") or {}).items():
            response_headers[k] = ",".join(map(str, v))
            header_values[k] = [str(one) for one in v]
        response = HttpResponse(int(answer["statusCode"]), response_headers, response_body, invocation,
                                header_values=header_values)
        if cache_key is not None and route.cache_ttl is not None and response.status == 200:
            self._cache[cache_key] = (time.time() + route.cache_ttl, response)
        return response

    # -- AWS_IAM: whose signature, and may that role invoke this method ------------------------------
    def _judge_caller(self, route: ApiRoute, method: str, path: str, headers: dict[str, str],
                      query: Optional[dict[str, str]], body: Optional[str]) -> Optional[HttpResponse]:
        """None when the request is signed by a role that may invoke the method, else API Gateway's 403.

        The caller's role comes from the signature's access key: a session moto's STS issued for a recorded
        role (AssumeRole, as an instance profile's credentials are). The signature is checked with that
        session's secret; then execute-api:Invoke on the method's ARN is judged against the role's policies
        and the API's resource policy, as the judge decides a function's calls. A denial is recorded in
        `LambdaService.refused` and fails the report like any denied call."""
        authorization = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        credential = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/", authorization)
        if credential is None:
            return _gateway_error(403, "Missing Authentication Token")
        session = _sts_session(credential.group(1))
        if session is None:
            return _iam_error("UnrecognizedClientException", "The security token included in the request is invalid.")
        if not self._signature_matches(method, path, headers, query, body, session, authorization):
            return _iam_error("InvalidSignatureException", "The request signature we calculated does not match "
                                                           "the signature you provided.")
        if self.service.judge is None:
            return None
        from twin.arns import Requirement
        from twin.permissions import judge_for_role

        snapshot = self.service.snapshot
        role_arn = self.service.plane.names.recorded(session.role_arn)
        role = next((r for r in snapshot.of_type("aws:iam/role:Role") if r.outputs.get("arn") == role_arn), None)
        if role is None:
            return _iam_error("AccessDeniedException", f"User: {session.arn} is not authorized to perform: "
                                                       f"execute-api:Invoke (no recorded role {role_arn})")
        resource = (f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:{self.api_id}/{self.stage_name}/"
                    f"{method}{path}")
        context = {"aws:sourcevpce": (self.vpc_endpoint_ids[0],)} if self.vpc_endpoint_ids else {}
        check = judge_for_role(snapshot, role).decide(
            Requirement("execute-api:Invoke", resource, context, frozenset({"aws:sourcevpce"})))
        if check.allowed:
            return None
        self.service.refused.append(RefusedRequest(
            role.name, f"apigateway:{self.rest_api.name} {method} {route.resource_path}", check))
        return _iam_error("AccessDeniedException", f"User: {session.arn} is not authorized to perform: "
                                                   f"execute-api:Invoke on resource: {resource}")

    def _signature_matches(self, method: str, path: str, headers: dict[str, str], query: Optional[dict[str, str]],
                           body: Optional[str], session: Any, authorization: str) -> bool:
        """Recompute the SigV4 signature over the headers the caller signed, with the session's secret."""
        import hmac
        from urllib.parse import urlencode

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        signed = re.search(r"SignedHeaders=([^,\s]+)", authorization)
        signature = re.search(r"Signature=([0-9a-f]+)", authorization)
        lookup = {k.lower(): v for k, v in headers.items()}
        if signed is None or signature is None or "x-amz-date" not in lookup:
            return False
        url = f"{self.url}{path}" + (f"?{urlencode(query)}" if query else "")
        request = AWSRequest(method=method, url=url, data=body,
                             headers={h: lookup[h] for h in signed.group(1).split(";") if h in lookup})
        request.context["timestamp"] = lookup["x-amz-date"]
        signer = SigV4Auth(Credentials(session.access_key_id, session.secret_access_key, session.session_token),
                           "execute-api", self.region)
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        return hmac.compare_digest(expected, signature.group(1))

    def _honour_flushes(self) -> None:
        """Empty the stage cache after an allowed FlushStageCache of this API's stage (LambdaService counts them)."""
        flushes = self.service.stage_cache_flushes.get((self.api_id, self.stage_name), 0)
        if flushes != self._flushes_seen:
            self._cache.clear()
            self._flushes_seen = flushes

    def _route(self, method: str, path: str) -> tuple[Optional[ApiRoute], dict[str, str]]:
        # Static paths before templated ones, as API Gateway prefers the most specific resource.
        for route in sorted(self.routes, key=lambda r: (r.resource_path.count("{"), -len(r.resource_path))):
            if route.method not in (method, "ANY"):
                continue
            parameters = route.match(path)
            if parameters is not None:
                return route, parameters
        return None, {}

    def _authorize(self, authorizer: ApiAuthorizer, token: Optional[str]) -> Optional[dict[str, str]]:
        """The token's claims if it is a valid, unexpired ID token from one of the authorizer's pools."""
        if not token or authorizer.kind != "COGNITO_USER_POOLS":
            return None
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            unverified = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            issuer = unverified.get("iss")
            if issuer not in authorizer.issuers:
                return None
            claims = jwt.decode(token, self._keys(issuer), algorithms=["RS256"]).claims
        except (JoseError, ValueError, IndexError):
            return None
        if claims.get("token_use") != "id" or float(claims.get("exp", 0)) <= time.time():
            return None
        # API Gateway hands the function every claim as a string; a REST API's Cognito authorizer joins a
        # list claim (cognito:groups) with commas: "premium-admins" or "editors,premium-admins".
        return {k: v if isinstance(v, str) else ",".join(map(str, v)) if isinstance(v, list)
                else json.dumps(v) if isinstance(v, dict) else str(v) for k, v in claims.items()}

    def _keys(self, issuer: str) -> Any:
        from joserfc.jwk import KeySet

        if issuer not in self._jwks:
            pool_id = issuer.rsplit("/", 1)[1]
            # moto serves the pool's JWKS; it recognises a Cognito request by this header.
            request = urllib.request.Request(
                f"{self.service.plane.endpoint_url}/{pool_id}/.well-known/jwks.json",
                headers={"Authorization": f"AWS4-HMAC-SHA256 Credential=twin/20260101/{self.region}/"
                                          f"cognito-idp/aws4_request, SignedHeaders=host, Signature=twin"})
            with urllib.request.urlopen(request, timeout=5) as answer:
                self._jwks[issuer] = KeySet.import_key_set(json.loads(answer.read()))
        return self._jwks[issuer]

    def _proxy_event(self, route: ApiRoute, method: str, path: str, headers: dict[str, str],
                     query: Optional[dict[str, str]], body: Optional[str], path_parameters: dict[str, str],
                     claims: Optional[dict[str, str]]) -> dict:
        now = datetime.now(timezone.utc)
        request_id = str(uuid.uuid4())
        headers = {"Host": f"{self.api_id}.execute-api.{self.region}.amazonaws.com",
                   "User-Agent": "serverless-blueprints-twin", "X-Forwarded-Proto": "https", **headers}
        context: dict[str, Any] = {
            "resourceId": route.resource_id, "resourcePath": route.resource_path, "httpMethod": method,
            "extendedRequestId": request_id[:16], "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{self.stage_name}{path}", "accountId": ACCOUNT_ID, "protocol": "HTTP/1.1",
            "stage": self.stage_name, "domainPrefix": self.api_id, "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": request_id, "domainName": headers["Host"], "apiId": self.api_id,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers["User-Agent"], "accountId": None,
                         "caller": None, "user": None, "userArn": None, "cognitoIdentityId": None,
                         "cognitoIdentityPoolId": None, "cognitoAuthenticationType": None,
                         "cognitoAuthenticationProvider": None, "accessKey": None, "sourceIpV6": None},
        }
        if claims is not None:
            context["authorizer"] = {"claims": claims}
        return {
            "resource": route.resource_path, "path": path, "httpMethod": method,
            "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": dict(query) if query else None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": path_parameters or None,
            "stageVariables": dict(self.stage_variables) if self.stage_variables else None,
            "requestContext": context, "body": body, "isBase64Encoded": False,
        }


@dataclass(frozen=True)
class RefusedRequest:
    """A signed request to an AWS_IAM method that the signing role may not make: a 403, and a denied call."""
    caller: str
    """The recorded role's logical name (checkout-instance)."""
    source: str
    check: Any
    """twin.permissions.Check: execute-api:Invoke on the method's ARN, decided against the role."""

    def __str__(self) -> str:
        return (f"{self.caller}: {self.check.action} on {self.check.resource} denied ({self.check.reason()}); "
                f"calling {self.source}")


def _sts_session(access_key_id: str) -> Any:
    """The session moto's STS issued for this access key (AssumeRole), or None for any other key."""
    from moto.sts.models import sts_backends

    for account in list(sts_backends.keys()):
        session = sts_backends[account]["global"].get_assumed_role_from_access_key(access_key_id)
        if session is not None:
            return session
    return None


def _iam_error(error_type: str, message: str) -> HttpResponse:
    return HttpResponse(403, {"Content-Type": "application/json", "x-amzn-ErrorType": error_type},
                        json.dumps({"Message": message}))


def _gateway_error(status: int, message: str) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json", "x-amzn-ErrorType":
                                 {401: "UnauthorizedException", 403: "MissingAuthenticationTokenException"}.get(
                                     status, "BadRequestException")}, json.dumps({"message": message}))


def _valid_body(schema: dict, body: Optional[str]) -> bool:
    import jsonschema

    try:
        document = json.loads(body) if body else None
        jsonschema.validate(document, {k: v for k, v in schema.items() if k != "$schema"})
    except (ValueError, jsonschema.ValidationError):
        return False
    return True


def gateways(service: LambdaService) -> dict[str, RestApiGateway]:
    """A gateway per recorded REST API, by the API's logical name."""
    return {api.name: RestApiGateway(service, api) for api in service.snapshot.of_type(REST_API)}
