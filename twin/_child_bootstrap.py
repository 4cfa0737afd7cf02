"""The twin's Lambda sandbox: runs inside `python3.13 -I -S`, with nothing of the parent's venv.

Started by twin.lambda_process with one JSON argument:
  {"task_root": ..., "opt": [...], "runtime": ..., "handler": "pkg.handler.handler",
   "function_name": ..., "memory_mb": ..., "timeout_seconds": ..., "function_arn": ...}
sys.path becomes what Lambda's is: the code (/var/task), the layer (/opt/python), the standard
library, then the runtime's own packages (boto3 and its dependencies). Before the handler is
imported (Lambda's init phase), every botocore session gets hooks that record the AWS calls.

Protocol, one JSON object per line: the parent writes requests on stdin ({"op": "invoke",
"event": ..., "request_id": ...}); the sandbox answers on a private copy of its stdout. The
first answer reports the init phase. The handler's own stdout/stderr (print, logging) is
captured per invocation and returned as "logs"; it sees an empty stdin, and fd 1 is pointed at
stderr, so nothing a library reads or writes directly can touch the protocol.

Only the standard library may be imported before sys.path is set.
"""
import datetime
import decimal
import importlib
import io
import json
import os
import sys
import time
import traceback

_calls = []


class _CapturedOutput(io.TextIOBase):
    """sys.stdout/sys.stderr of the sandbox: everything written goes to the current invocation's logs.

    One long-lived object, so a logging handler created at import time (Powertools' Logger keeps
    sys.stdout) still writes into whichever invocation is running.
    """

    def __init__(self):
        self.parts = []

    def writable(self):
        return True

    def write(self, text):
        self.parts.append(str(text))
        return len(text)

    def take(self):
        text, self.parts = "".join(self.parts), []
        return text


def _json_safe(value):
    """A JSON-safe copy of API parameters: bytes and streams become length markers."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_json_safe(v) for v in value), key=repr)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<bytes: {len(value)}>"
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if hasattr(value, "read"):
        return "<stream>"
    return repr(value)


def _record_call(params, model, context, **_):
    if context.get("is_presign_request"):
        return  # a presigned URL or POST is signed here but called by someone else: no call is made
    call = {"service": model.service_model.service_name, "operation": model.name,
            "params": _json_safe(params), "region": context.get("client_region"), "error_code": None}
    context["twin_call"] = call
    _calls.append(call)


def _record_response(parsed, context, **_):
    call = context.get("twin_call")
    if call is not None and isinstance(parsed, dict) and "Error" in parsed:
        call["error_code"] = parsed["Error"].get("Code")


def _record_failure(exception, context, **_):
    call = context.get("twin_call")
    if call is not None and call["error_code"] is None:
        call["error_code"] = type(exception).__name__


def _install_call_recorder():
    """Register the recorder on every botocore session, before the handler can create a client."""
    import botocore.session

    original_init = botocore.session.Session.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        # First on provide-client-params: the caller's params, before botocore's own handlers rewrite them.
        self.get_component("event_emitter").register_first("provide-client-params", _record_call,
                                                           unique_id="twin-record-call")
        self.register("after-call", _record_response, unique_id="twin-record-response")
        self.register("after-call-error", _record_failure, unique_id="twin-record-failure")

    botocore.session.Session.__init__ = recording_init


class LambdaContext:
    """The fields and method of the Lambda context object that handlers use."""

    def __init__(self, config, request_id, deadline):
        self.function_name = config["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = config["function_arn"]
        self.memory_limit_in_mb = str(config["memory_mb"])
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(exception, error_type=None, message=None):
    # Lambda's trace starts in the function's code: leave out this bootstrap and the import machinery.
    frames = [frame for frame in traceback.extract_tb(exception.__traceback__)
              if frame.filename != __file__ and not frame.filename.startswith("<frozen ")]
    return {"errorType": error_type or type(exception).__name__,
            "errorMessage": str(exception) if message is None else message,
            "stackTrace": traceback.format_list(frames)}


def _decimal_default(value):
    # Lambda's runtime marshals Decimal (DynamoDB numbers) as numbers.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _init(config):
    """Lambda's init phase: load the handler. Returns (handler or None, error or None)."""
    module_name, function_name = config["handler"].rsplit(".", 1)
    try:
        module = importlib.import_module(module_name)
    except Exception as failure:  # Lambda reports any import failure this way
        return None, _error(failure, "Runtime.ImportModuleError",
                            f"Unable to import module '{module_name}': {failure}")
    handler = getattr(module, function_name, None)
    if not callable(handler):
        return None, {"errorType": "Runtime.HandlerNotFound", "stackTrace": [],
                      "errorMessage": f"Handler '{function_name}' missing on module '{module_name}'"}
    return handler, None


def _invoke(handler, config, request):
    context = LambdaContext(config, request["request_id"], time.monotonic() + config["timeout_seconds"])
    started = time.perf_counter()
    try:
        result = handler(request["event"], context)
    except Exception as failure:  # the function's error, returned as Lambda returns it
        return None, _error(failure), (time.perf_counter() - started) * 1000
    duration = (time.perf_counter() - started) * 1000
    try:
        return json.loads(json.dumps(result, default=_decimal_default)), None, duration
    except (TypeError, ValueError) as failure:
        return None, {"errorType": "Runtime.MarshalError", "stackTrace": [],
                      "errorMessage": f"Unable to marshal response: {failure}"}, duration


def main():
    config = json.loads(sys.argv[1])
    # The protocol keeps private copies of fds 0 and 1; the handler gets an empty stdin, and fd 1
    # goes to stderr, so nothing it reads or writes can touch the protocol.
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    sys.stdin = open(os.devnull, encoding="utf-8")
    output = _CapturedOutput()
    sys.stdout = sys.stderr = output
    # Lambda's order: /var/task, /opt/python, the standard library, then the runtime's packages.
    sys.path[:0] = [config["task_root"], *config["opt"]]
    sys.path.append(config["runtime"])
    _install_call_recorder()  # a failure here is the twin's, not the function's: it ends the sandbox

    started = time.perf_counter()
    handler, init_error = _init(config)
    protocol.write(json.dumps({"init": True, "error": init_error, "calls": _calls[:], "logs": output.take(),
                               "duration_ms": (time.perf_counter() - started) * 1000}) + "\n")
    for line in requests:
        request = json.loads(line)
        del _calls[:]
        if request["op"] == "exit":
            break
        if handler is None:
            response, error, duration = None, init_error, 0.0
        else:
            response, error, duration = _invoke(handler, config, request)
        protocol.write(json.dumps({"response": response, "error": error, "calls": _calls[:],
                                   "logs": output.take(), "duration_ms": duration}, default=repr) + "\n")


if __name__ == "__main__":
    main()
