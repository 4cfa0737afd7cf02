"""An in-process stand-in for twin.lambda_process (same interface), and a scripted permissions judge.

The stand-in imports the function's package from functions/ in this interpreter, with the
function's environment patched in while it imports and runs, and records every botocore call
it makes. The twin itself uses the real runner (a child python3.13 from the real zip + layer);
tests use this one where they exercise the twin's wiring rather than the runtime.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import botocore.client
from botocore.exceptions import ClientError

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"


@dataclass(frozen=True)
class FunctionArtifact:
    name: str
    code: str
    handler: str
    environment: dict[str, str]
    layer_requirements: list[str]
    memory_mb: int
    timeout_seconds: int
    architecture: str


@dataclass
class AwsCall:
    service: str
    operation: str
    params: dict
    region: str
    error_code: Optional[str]


@dataclass
class InvokeResult:
    response: Any
    error: Optional[dict]
    calls: list[AwsCall]
    logs: str
    duration_ms: float


def artifact_from_resource(resource) -> FunctionArtifact:
    props = resource.props
    return FunctionArtifact(
        name=resource.outputs["name"], code=str(props.get("code")), handler=props["handler"],
        environment=dict((props.get("environment") or {}).get("variables") or {}), layer_requirements=[],
        memory_mb=int(props.get("memorySize", 128)), timeout_seconds=int(props.get("timeout", 3)),
        architecture=(props.get("architectures") or ["x86_64"])[0])


_recording = threading.local()
_original_make_api_call = botocore.client.BaseClient._make_api_call


def _install_recorder() -> None:
    """Record botocore calls made while `_recording.calls` is set (only inside invoke); pass others on."""
    botocore.client.BaseClient._make_api_call = _recording_make_api_call


def _recording_make_api_call(self, operation_name, api_params):
    calls = getattr(_recording, "calls", None)
    if calls is None:
        return _original_make_api_call(self, operation_name, api_params)
    call = AwsCall(service=self.meta.service_model.endpoint_prefix, operation=operation_name,
                   params=dict(api_params), region=self.meta.region_name, error_code=None)
    calls.append(call)
    try:
        return _original_make_api_call(self, operation_name, api_params)
    except ClientError as err:
        call.error_code = err.response.get("Error", {}).get("Code")
        raise


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class _Context:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/twin"
    log_stream_name: str = "twin"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class LambdaProcess:
    """Runs `artifact`'s handler in this interpreter; same interface as twin.lambda_process.LambdaProcess."""

    def __init__(self, artifact: FunctionArtifact, *, endpoint_url: str, region: str,
                 extra_env: Optional[dict[str, str]] = None):
        self.artifact = artifact
        self.env = {**artifact.environment, "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
                    "AWS_ENDPOINT_URL": endpoint_url, "AWS_ACCESS_KEY_ID": "twin", "AWS_SECRET_ACCESS_KEY": "twin",
                    "AWS_LAMBDA_FUNCTION_NAME": artifact.name, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE":
                    str(artifact.memory_mb), "POWERTOOLS_LOG_LEVEL": "WARNING", **(extra_env or {})}
        self.region = region
        self._handler: Optional[Callable] = None
        _install_recorder()

    def _load(self) -> Callable:
        module_name, function = self.artifact.handler.rsplit(".", 1)
        package = module_name.split(".")[0]
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]  # a fresh "cold start" with this function's environment
        if str(FUNCTIONS_DIR) not in sys.path:
            sys.path.insert(0, str(FUNCTIONS_DIR))
        return getattr(importlib.import_module(module_name), function)

    def invoke(self, event: dict, *, request_id: Optional[str] = None) -> InvokeResult:
        calls: list[AwsCall] = []
        started = time.monotonic()
        context = _Context(self.artifact.name, self.artifact.memory_mb,
                           f"arn:aws:lambda:{self.region}:123456789012:function:{self.artifact.name}",
                           request_id or str(uuid.uuid4()), started + self.artifact.timeout_seconds)
        response, error = None, None
        with _environ(self.env):
            _recording.calls = calls
            try:
                if self._handler is None:
                    self._handler = self._load()
                response = self._handler(event, context)
            except Exception as exc:  # the function's error, as Lambda reports it
                error = {"errorType": type(exc).__name__, "errorMessage": str(exc),
                         "stackTrace": traceback.format_exception(exc)}
            finally:
                _recording.calls = None
        return InvokeResult(response=response, error=error, calls=calls, logs="",
                            duration_ms=(time.monotonic() - started) * 1000)

    def close(self) -> None:
        self._handler = None

    def __enter__(self) -> "LambdaProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@dataclass
class PermissionReport:
    denied: list[AwsCall] = field(default_factory=list)
    unused_actions: list[str] = field(default_factory=list)


class ScriptedJudge:
    """A permissions judge that denies exactly the calls `deny(call)` says; records what it saw."""

    def __init__(self, deny: Callable[[AwsCall], bool] = lambda call: False):
        self.deny = deny
        self.seen: list[AwsCall] = []

    def __call__(self, snapshot, function_resource, calls, names=None) -> PermissionReport:
        self.seen += list(calls)
        return PermissionReport(denied=[c for c in calls if self.deny(c)])


class ScriptedRunner:
    """A runner factory whose functions answer as `script(function_name, event)` says: a response, or
    an exception raised (reported as the function's error). Records every event it was given."""

    def __init__(self, script: Callable[[str, dict], Any]):
        self.script = script
        self.events: list[tuple[str, dict]] = []

    def __call__(self, artifact: FunctionArtifact, *, endpoint_url: str, region: str,
                 extra_env: Optional[dict[str, str]] = None) -> "_ScriptedProcess":
        return _ScriptedProcess(self, artifact)

    def events_of(self, function: str) -> list[dict]:
        return [event for name, event in self.events if name == function]


class _ScriptedProcess:
    def __init__(self, runner: ScriptedRunner, artifact: FunctionArtifact):
        self.runner, self.artifact = runner, artifact

    def invoke(self, event: dict, *, request_id: Optional[str] = None) -> InvokeResult:
        self.runner.events.append((self.artifact.name, event))
        try:
            return InvokeResult(self.runner.script(self.artifact.name, event), None, [], "", 1.0)
        except Exception as exc:
            return InvokeResult(None, {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": []},
                                [], "", 1.0)

    def close(self) -> None:
        pass
