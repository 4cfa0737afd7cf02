"""Run a function's real artifacts the way the Lambda python3.13 runtime does, in a separate interpreter.

What runs is what ships: the code zip (`lambda_packaging.code_zip`) and the dependency layer built
from the same pinned requirements, for x86_64 so this machine can load its native code
(`lambda_packaging.twin_layer_zip` checks it holds the same distributions at the same versions as
the deployed arm64 layer). The sandbox is CPython 3.13 started with `-I -S`: its sys.path holds the
unzipped code (Lambda's /var/task), the unzipped layer's `python/` (/opt/python), the standard
library and the runtime-provided packages at the runtime's versions (`lambda_runtime`), and nothing
from this venv. A dependency the layer lacks fails to import here as it would in AWS.

Every boto3 client in the sandbox talks to `endpoint_url` (e.g. a moto server) with fake
credentials, and every AWS API call is recorded (service, operation, JSON-safe params, region,
error code). One child process per function stays warm across invocations, like a warm sandbox;
an init failure, a crash or a timeout discards it, and the next invocation starts a new one.
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import tempfile
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from serverless_blueprints import lambda_packaging, lambda_runtime

from .find_python import PythonNotFound, find_python313

__all__ = ["FunctionArtifact", "AwsCall", "InvokeResult", "LambdaProcess", "artifact_from_resource",
           "PythonNotFound", "LAMBDA_FUNCTION", "TWIN_ARCHITECTURE"]

LAMBDA_FUNCTION = "aws:lambda/function:Function"
TWIN_ARCHITECTURE = "x86_64"
ACCOUNT_ID = "123456789012"
INIT_TIMEOUT_SECONDS = 60.0  # Lambda allows 10 s; a loaded CI machine needs more for a cold import
TIMEOUT_GRACE_SECONDS = 2.0  # wait this long past the function's timeout before killing the sandbox
# Lambda refuses these as function environment variables: the runtime sets them.
RESERVED_ENVIRONMENT = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"})


@dataclass(frozen=True)
class FunctionArtifact:
    name: str
    """Logical name of the aws:lambda/function:Function resource."""
    code: str
    """Function folder name under functions/, e.g. "todo_api"."""
    handler: str
    """e.g. "todo_api.handler.handler"."""
    environment: dict[str, str]
    """The function's environment variables, as deployed."""
    layer_requirements: list[str]
    """Pinned requirements of its layer (the x86_64 twin layer is built from these)."""
    memory_mb: int
    timeout_seconds: int
    architecture: str
    """As deployed (arm64); the twin runs the x86_64 twin layer."""
    function_name: str = ""
    """Physical name Lambda knows it by (AWS_LAMBDA_FUNCTION_NAME, context.function_name); `name` if empty."""


@dataclass
class AwsCall:
    service: str
    """botocore's service name, as passed to boto3.client ("s3", "dynamodb", "sesv2")."""
    operation: str
    """API operation name ("PutItem")."""
    params: dict
    """The call's parameters, JSON-safe: bytes become "<bytes: N>", streams "<stream>"."""
    region: str
    error_code: str | None
    """The AWS error code if the call failed ("ConditionalCheckFailedException"), else None."""


@dataclass
class InvokeResult:
    response: Any
    error: dict | None
    """Lambda's error shape: {"errorType", "errorMessage", "stackTrace"}; None on success."""
    calls: list[AwsCall] = field(default_factory=list)
    logs: str = ""
    """What the handler printed or logged (on a cold start, the init phase's output first)."""
    duration_ms: float = 0.0


@dataclass(frozen=True)
class Sandbox:
    """The files one function's sandbox runs from."""
    python: str
    task_root: Path
    opt: list[Path]
    runtime: Path


def _unzipped(archive: Path) -> Path:
    """`archive` extracted once into the cache, keyed by its bytes."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:24]
    folder = lambda_packaging.cache_dir() / "twin" / "unzipped" / digest
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".unzip-", dir=folder.parent) as tmp:
        with zipfile.ZipFile(archive) as source:
            source.extractall(Path(tmp) / "tree")
        try:
            os.rename(Path(tmp) / "tree", folder)
        except OSError:
            if not folder.is_dir():
                raise
    return folder


def prepare_sandbox(artifact: FunctionArtifact) -> Sandbox:
    """Build (or reuse from cache) and unzip what `artifact` runs from; raises PythonNotFound without 3.13."""
    python = find_python313()
    task_root = _unzipped(lambda_packaging.code_zip(artifact.code))
    opt: list[Path] = []
    if artifact.layer_requirements:
        layer = _unzipped(lambda_packaging.twin_layer_zip(artifact.layer_requirements, artifact.architecture))
        # Lambda puts both on the path for a layer mounted at /opt.
        opt = [layer / "python" / "lib" / f"python{lambda_runtime.PYTHON_VERSION}" / "site-packages",
               layer / "python"]
    return Sandbox(python, task_root, opt, lambda_packaging.runtime_packages_dir(TWIN_ARCHITECTURE))


class LambdaProcess:
    """One warm sandbox (a child python3.13) for one function, reused across invokes."""

    def __init__(self, artifact: FunctionArtifact, *, endpoint_url: str, region: str,
                 extra_env: dict[str, str] | None = None):
        reserved = sorted(RESERVED_ENVIRONMENT & artifact.environment.keys())
        if reserved:
            raise ValueError(f"{artifact.name}: Lambda reserves the environment variables {reserved}")
        self.artifact = artifact
        self.endpoint_url = endpoint_url
        self.region = region
        self.extra_env = dict(extra_env or {})
        self.sandbox = prepare_sandbox(artifact)
        self._process: subprocess.Popen | None = None
        self._replies: queue.Queue = queue.Queue()
        self._stderr = None
        self._stderr_path: Path | None = None
        self._init: InvokeResult | None = None
        self._timed_out = False
        self._lock = threading.Lock()

    @property
    def function_name(self) -> str:
        return self.artifact.function_name or self.artifact.name

    def environment(self) -> dict[str, str]:
        """The sandbox's whole environment: Lambda's variables, the function's, then the twin's."""
        function_name = self.function_name
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": str(self.sandbox.task_root), "LAMBDA_RUNTIME_DIR": str(self.sandbox.runtime),
            "_HANDLER": self.artifact.handler, "AWS_EXECUTION_ENV": f"AWS_Lambda_{lambda_runtime.RUNTIME}",
            "AWS_LAMBDA_FUNCTION_NAME": function_name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.artifact.memory_mb),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "twin/[$LATEST]sandbox",
            "AWS_REGION": self.region, "AWS_DEFAULT_REGION": self.region,
            **self.artifact.environment,
            # Every client goes to the twin's endpoint with fake credentials; no file or IMDS can
            # point it at a real account.
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            **self.extra_env,
        }

    def _config(self) -> dict[str, Any]:
        return {"task_root": str(self.sandbox.task_root), "opt": [str(p) for p in self.sandbox.opt],
                "runtime": str(self.sandbox.runtime), "handler": self.artifact.handler,
                "function_name": self.function_name, "memory_mb": self.artifact.memory_mb,
                "timeout_seconds": self.artifact.timeout_seconds,
                "function_arn": f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"}

    # --- the child process --------------------------------------------------------------------

    def start(self) -> InvokeResult:
        """Start the sandbox if it isn't running (Lambda's init: import the handler); the init's outcome."""
        with self._lock:
            return self._start()

    def _start(self) -> InvokeResult:
        if self._process is not None:
            return self._init
        bootstrap = resources.files(__package__) / "_child_bootstrap.py"
        # The sandbox's fds 1 and 2 append to a file we read from our own handle: what a library
        # writes there directly (not through sys.stdout) still reaches `logs`.
        descriptor, path = tempfile.mkstemp(prefix="lambda-stderr-")
        os.close(descriptor)
        self._stderr_path = Path(path)
        self._stderr = open(path, "rb")
        self._replies = queue.Queue()
        with open(path, "ab") as child_stderr:
            self._process = subprocess.Popen(
                [self.sandbox.python, "-I", "-S", str(bootstrap), json.dumps(self._config())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=child_stderr, env=self.environment(),
                cwd=self.sandbox.task_root, text=True, encoding="utf-8")
        threading.Thread(target=self._read_replies, args=(self._process, self._replies), daemon=True).start()
        reply = self._receive(INIT_TIMEOUT_SECONDS)
        if reply is None:
            self._init = InvokeResult(None, self._exit_error("init"))
            self._stop()
        else:
            self._init = self._result(reply)
        return self._init

    def _written_directly(self) -> str:
        """What the sandbox wrote to its fds 1/2 since the last call."""
        return self._stderr.read().decode("utf-8", "replace")

    @staticmethod
    def _read_replies(process: subprocess.Popen, replies: queue.Queue) -> None:
        try:
            for line in process.stdout:
                replies.put(json.loads(line))
        except (OSError, ValueError):
            pass  # closed by _stop
        replies.put(None)

    def _receive(self, timeout: float) -> dict | None:
        """The sandbox's next reply; None if it exited or did not answer in time (it is then killed)."""
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            self._process.kill()
            self._timed_out = True
            return None
        self._timed_out = False
        return reply

    def _exit_error(self, request_id: str) -> dict:
        if self._timed_out:
            return {"errorType": "Sandbox.Timedout", "stackTrace": [],
                    "errorMessage": f"{request_id} Task timed out after {self.artifact.timeout_seconds:.2f} seconds"}
        status = self._process.wait()
        tail = self._written_directly()[-2000:]
        return {"errorType": "Runtime.ExitError", "stackTrace": [],
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {status}"
                                + (f"\n{tail}" if tail else "")}

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.poll() is None:
                process.stdin.write(json.dumps({"op": "exit"}) + "\n")
                process.stdin.flush()
                process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        finally:
            for stream in (process.stdin, process.stdout, self._stderr):
                stream.close()
            self._stderr_path.unlink(missing_ok=True)

    def _result(self, reply: dict) -> InvokeResult:
        return InvokeResult(response=reply.get("response"), error=reply["error"],
                            calls=[AwsCall(**call) for call in reply["calls"]],
                            logs=reply["logs"] + self._written_directly(), duration_ms=reply["duration_ms"])

    # --- the interface ------------------------------------------------------------------------

    def invoke(self, event: dict, *, request_id: str | None = None) -> InvokeResult:
        """Invoke the handler with `event`, as Lambda does: a handler exception comes back as `error`."""
        request_id = request_id or str(uuid.uuid4())
        payload = json.dumps({"op": "invoke", "event": event, "request_id": request_id}) + "\n"
        with self._lock:
            cold = self._process is None
            init = self._start()
            if init.error is not None:
                self._stop()  # like Lambda, the next invoke tries a fresh init
                return init
            try:
                self._process.stdin.write(payload)
                self._process.stdin.flush()
            except OSError:
                pass  # it died; the reader reports the exit below
            reply = self._receive(self.artifact.timeout_seconds + TIMEOUT_GRACE_SECONDS)
            if reply is not None and reply["duration_ms"] > self.artifact.timeout_seconds * 1000:
                self._process.kill()
                self._timed_out, reply = True, None
            if reply is None:
                result = InvokeResult(None, self._exit_error(request_id),
                                      duration_ms=self.artifact.timeout_seconds * 1000 if self._timed_out else 0.0)
                self._stop()
            else:
                result = self._result(reply)
        if cold:  # a cold start's init output and calls belong to its first invocation
            result.calls[:0] = init.calls
            result.logs = init.logs + result.logs
        return result

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __enter__(self) -> LambdaProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def artifact_from_resource(resource) -> FunctionArtifact:
    """The artifact of a recorded `aws:lambda/function:Function` (offline.harness.RecordedResource).

    The code folder is the handler's package (`<code>.handler.handler`, as LambdaFunction sets it),
    checked against the code archive's file name; the layer is the one LambdaFunction builds from
    `functions/<code>/requirements.txt`, the only kind of layer the twin can reproduce.
    """
    if resource.resource_type != LAMBDA_FUNCTION:
        raise ValueError(f"{resource.name} is a {resource.resource_type}, not a {LAMBDA_FUNCTION}")
    props = resource.props
    if props.get("runtime") != lambda_runtime.RUNTIME:
        raise ValueError(f"{resource.name}: runtime {props.get('runtime')!r}; the twin runs {lambda_runtime.RUNTIME}")
    handler = props["handler"]
    code = handler.split(".", 1)[0]
    lambda_packaging.function_dir(code)
    archive = getattr(props.get("code"), "path", None)
    if archive is not None and Path(archive).name != f"{code}.zip":
        raise ValueError(f"{resource.name}: handler {handler!r} is not in its code archive {archive}")
    requirements = lambda_packaging.function_requirements(code)
    layers = list(props.get("layers") or [])
    if len(layers) != (1 if requirements else 0):
        raise ValueError(f"{resource.name}: {len(layers)} layer(s), but the twin reproduces exactly the layer of "
                         f"functions/{code}/requirements.txt ({'one' if requirements else 'none'})")
    return FunctionArtifact(
        name=resource.name, code=code, handler=handler,
        environment={k: str(v) for k, v in ((props.get("environment") or {}).get("variables") or {}).items()},
        layer_requirements=requirements, memory_mb=int(props.get("memorySize", 128)),
        timeout_seconds=int(props.get("timeout", 3)),
        architecture=(props.get("architectures") or ["x86_64"])[0],
        function_name=str((resource.outputs or {}).get("name") or resource.name))
