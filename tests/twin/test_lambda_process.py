"""The twin's runner: a function's real code zip and layer, in an isolated python3.13, against moto."""
from __future__ import annotations

import concurrent.futures
import dataclasses
import stat
import textwrap

import pulumi
import pytest

from serverless_blueprints import lambda_packaging, lambda_runtime
from twin import find_python
from twin.lambda_process import (LAMBDA_FUNCTION, AwsCall, FunctionArtifact, LambdaProcess,
                                 artifact_from_resource)

pytestmark = pytest.mark.network  # layers are built from the package registry once, then cached

REGION = "eu-west-1"

PROBE = '''
import importlib.util
import logging
import os
import sys

import boto3
import botocore
import typing_extensions  # only the layer has it

invocations = 0


def handler(event, context):
    global invocations
    invocations += 1
    action = event.get("action")
    if action == "list_buckets":
        return {"buckets": len(boto3.client("s3").list_buckets()["Buckets"])}
    if action == "failing_call":
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="twin-probe", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        s3.put_object(Bucket="twin-probe", Key="k", Body=b"abcd")
        try:
            s3.get_object(Bucket="twin-probe-missing", Key="k")
        except s3.exceptions.NoSuchBucket:
            return "caught"
    if action == "sandbox":
        return {"version": list(sys.version_info[:2]), "isolated": sys.flags.isolated, "no_site": sys.flags.no_site,
                "path": sys.path, "boto3": boto3.__version__, "botocore": botocore.__version__,
                "typing_extensions": typing_extensions.__file__,
                "importable": {name: importlib.util.find_spec(name) is not None
                               for name in ("pydantic", "pulumi", "moto", "pytest", "serverless_blueprints")}}
    if action == "context":
        return {"function_name": context.function_name, "memory": context.memory_limit_in_mb,
                "arn": context.invoked_function_arn, "request_id": context.aws_request_id,
                "remaining": context.get_remaining_time_in_millis(),
                "env": {k: os.environ.get(k) for k in event["env"]}, "cwd": os.getcwd()}
    if action == "output":
        print("printed")
        logging.getLogger().warning("logged")
        os.write(1, b"written to fd 1\\n")
        return "ok"
    if action == "stdin":
        return [sys.stdin.read(), os.read(0, 100).decode()]
    if action == "raise":
        raise KeyError("no such order")
    if action == "count":
        return invocations
    if action == "sleep":
        import time
        time.sleep(event["seconds"])
    if action == "exit":
        os._exit(3)
    if action == "unserializable":
        return {"value": object()}
    return None
'''


@pytest.fixture(scope="module")
def functions(tmp_path_factory):
    """A functions root holding `probe` (needs typing-extensions from its layer), used instead of functions/."""
    root = tmp_path_factory.mktemp("functions")
    (root / "probe").mkdir()
    (root / "probe" / "__init__.py").write_text("")
    (root / "probe" / "handler.py").write_text(textwrap.dedent(PROBE))
    (root / "probe" / "requirements.txt").write_text("typing-extensions==4.16.0\n")
    return root


def probe_process(functions, endpoint_url: str, **overrides) -> LambdaProcess:
    """A sandbox of the probe function; its code zip is built from `functions` instead of functions/."""
    fields = dict(name="probe-fn", code="probe", handler="probe.handler.handler", environment={"TABLE_NAME": "t"},
                  layer_requirements=["typing-extensions==4.16.0"], memory_mb=256, timeout_seconds=5,
                  architecture="arm64", function_name="probe-fn-1234567")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lambda_packaging, "functions_root", lambda: functions)
        return LambdaProcess(FunctionArtifact(**{**fields, **overrides}), endpoint_url=endpoint_url, region=REGION)


@pytest.fixture(scope="module")
def probe(functions, python313, moto_endpoint_url):
    """One warm sandbox of the probe function for the whole module."""
    with probe_process(functions, moto_endpoint_url) as process:
        yield process


def test_aws_calls_go_to_the_endpoint_and_are_recorded(probe):
    result = probe.invoke({"action": "list_buckets"})
    assert result.error is None, result.error
    assert isinstance(result.response["buckets"], int)
    assert result.calls[-1] == AwsCall(service="s3", operation="ListBuckets", params={}, region=REGION,
                                       error_code=None)


def test_a_failed_call_records_its_error_code_and_bytes_become_a_length_marker(probe):
    result = probe.invoke({"action": "failing_call"})
    assert result.response == "caught"
    put, get = result.calls[-2:]
    assert (put.operation, put.params["Body"]) == ("PutObject", "<bytes: 4>")
    assert (get.operation, get.error_code) == ("GetObject", "NoSuchBucket")


def test_the_sandbox_holds_nothing_from_the_venv(probe, python313):
    sandbox = probe.invoke({"action": "sandbox"}).response
    assert sandbox["version"] == [3, 13]
    assert sandbox["isolated"] and sandbox["no_site"]
    assert not any(sandbox["importable"].values()), sandbox["importable"]
    assert sandbox["boto3"] == lambda_runtime.RUNTIME_PROVIDED["boto3"]
    assert sandbox["botocore"] == lambda_runtime.RUNTIME_PROVIDED["botocore"]
    assert "/python/typing_extensions.py" in sandbox["typing_extensions"]
    assert not [p for p in sandbox["path"] if "site-packages" in p and "/python/lib/" not in p]


def test_sys_path_is_lambdas_order_code_then_layer_then_stdlib_then_runtime(probe):
    path = probe.invoke({"action": "sandbox"}).response["path"]
    assert path[0] == str(probe.sandbox.task_root)
    assert path[1:3] == [str(p) for p in probe.sandbox.opt]
    assert path[-1] == str(probe.sandbox.runtime)


def test_a_handler_exception_is_returned_as_lambda_reports_it(probe):
    result = probe.invoke({"action": "raise"})
    assert result.response is None
    assert result.error["errorType"] == "KeyError"
    assert result.error["errorMessage"] == "'no such order'"
    assert "probe/handler.py" in result.error["stackTrace"][0]


def test_handler_output_comes_back_as_logs_and_never_corrupts_the_protocol(probe):
    result = probe.invoke({"action": "output"})
    assert result.response == "ok"
    assert "printed\n" in result.logs and "logged" in result.logs
    assert "written to fd 1\n" in result.logs


def test_the_handler_reads_an_empty_stdin_never_the_protocol(probe):
    assert probe.invoke({"action": "stdin"}).response == ["", ""]
    assert probe.invoke({"action": "count"}).error is None


def test_the_context_and_environment_are_lambdas(probe, moto_endpoint_url):
    names = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "_HANDLER", "LAMBDA_TASK_ROOT",
             "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "TABLE_NAME",
             "AWS_EXECUTION_ENV"]
    result = probe.invoke({"action": "context", "env": names}, request_id="req-1")
    context = result.response
    assert context["function_name"] == "probe-fn-1234567"
    assert context["memory"] == "256"
    assert context["arn"] == f"arn:aws:lambda:{REGION}:123456789012:function:probe-fn-1234567"
    assert context["request_id"] == "req-1"
    assert 0 < context["remaining"] <= 5000
    assert context["cwd"] == str(probe.sandbox.task_root)
    assert context["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "probe-fn-1234567", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "_HANDLER": "probe.handler.handler", "LAMBDA_TASK_ROOT": str(probe.sandbox.task_root),
        "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": moto_endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing", "TABLE_NAME": "t", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13"}


def test_the_sandbox_stays_warm_across_invocations(probe):
    first = probe.invoke({"action": "count"}).response
    assert probe.invoke({"action": "count"}).response == first + 1


def test_an_unserializable_response_is_a_marshal_error(probe):
    assert probe.invoke({"action": "unserializable"}).error["errorType"] == "Runtime.MarshalError"


def test_a_layer_without_the_dependency_fails_to_import_as_in_lambda(functions, python313, moto_endpoint_url):
    """typing_extensions is in this venv, but not in the layer: the sandbox must not find it."""
    with probe_process(functions, moto_endpoint_url, layer_requirements=[]) as process:
        result = process.invoke({"action": "count"})
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    assert result.error["errorMessage"] == \
        "Unable to import module 'probe.handler': No module named 'typing_extensions'"
    assert any("probe/handler.py" in frame for frame in result.error["stackTrace"])


def test_a_missing_handler_function_is_reported(functions, python313, moto_endpoint_url):
    with probe_process(functions, moto_endpoint_url, handler="probe.handler.nope") as process:
        assert process.start().error["errorType"] == "Runtime.HandlerNotFound"


def test_a_timeout_kills_the_sandbox_and_the_next_invoke_starts_cold(functions, python313, moto_endpoint_url):
    with probe_process(functions, moto_endpoint_url, timeout_seconds=1) as process:
        assert process.invoke({"action": "count"}).response == 1
        timed_out = process.invoke({"action": "sleep", "seconds": 1.3}, request_id="req-slow")
        assert timed_out.error["errorType"] == "Sandbox.Timedout"
        assert timed_out.error["errorMessage"] == "req-slow Task timed out after 1.00 seconds"
        assert process.invoke({"action": "count"}).response == 1


def test_a_crash_is_an_exit_error_and_the_next_invoke_starts_cold(functions, python313, moto_endpoint_url):
    with probe_process(functions, moto_endpoint_url) as process:
        crashed = process.invoke({"action": "exit"})
        assert crashed.error["errorType"] == "Runtime.ExitError"
        assert "exit status 3" in crashed.error["errorMessage"]
        assert process.invoke({"action": "count"}).response == 1


def test_reserved_environment_variables_are_refused(functions, python313):
    with pytest.raises(ValueError, match="AWS_REGION"):
        probe_process(functions, "http://127.0.0.1:1", environment={"AWS_REGION": "us-east-1"})


# --- the real functions --------------------------------------------------------------------------

def test_artifact_from_resource_reads_the_recorded_function(dev_stack):
    resource = next(r for r in dev_stack.of_type(LAMBDA_FUNCTION) if r.props["handler"].startswith("todo_api."))
    artifact = artifact_from_resource(resource)
    assert artifact.name == resource.name
    assert artifact.function_name == resource.outputs.get("name", resource.name)
    assert (artifact.code, artifact.handler) == ("todo_api", "todo_api.handler.handler")
    assert artifact.layer_requirements == lambda_packaging.function_requirements("todo_api")
    assert artifact.environment == resource.props["environment"]["variables"]
    assert (artifact.memory_mb, artifact.timeout_seconds) == (resource.props["memorySize"], resource.props["timeout"])
    assert artifact.architecture == "arm64"


def test_artifact_from_resource_refuses_what_the_twin_cannot_reproduce(dev_stack):
    resource = next(iter(dev_stack.of_type(LAMBDA_FUNCTION)))
    with pytest.raises(ValueError, match="not a aws:lambda/function:Function"):
        artifact_from_resource(next(r for r in dev_stack.resources if r.resource_type != LAMBDA_FUNCTION))
    def changed(**props):
        return type(resource)(**{**vars(resource), "props": {**resource.props, **props}})

    with pytest.raises(ValueError, match="reproduces exactly the layer"):
        artifact_from_resource(changed(layers=[*resource.props["layers"], "arn:aws:lambda:eu-west-1:1:layer:x:1"]))
    with pytest.raises(ValueError, match="the twin runs python3.13"):
        artifact_from_resource(changed(runtime="nodejs22.x"))
    with pytest.raises(ValueError, match="is not in its code archive"):
        artifact_from_resource(changed(code=pulumi.FileArchive("/cache/functions/other.zip")))


def test_every_dev_function_imports_cleanly_from_its_real_artifacts(dev_stack, python313, moto_endpoint_url):
    """The check that would have caught the missing typing_extensions: Lambda's init, for every function."""
    def init_error(resource):
        with LambdaProcess(artifact_from_resource(resource), endpoint_url=moto_endpoint_url,
                           region=resource.region or REGION) as process:
            return process.start().error

    functions = dev_stack.of_type(LAMBDA_FUNCTION)
    assert functions
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        errors = dict(zip((r.name for r in functions), pool.map(init_error, functions)))
    assert {name: error for name, error in errors.items() if error is not None} == {}


def test_a_real_function_whose_layer_lacks_typing_extensions_fails_its_init(dev_stack, python313,
                                                                          moto_endpoint_url):
    """The bug that shipped, reproduced: Powertools in the layer, typing-extensions not."""
    resource = next(r for r in dev_stack.of_type(LAMBDA_FUNCTION) if r.props["handler"].startswith("todo_api."))
    artifact = artifact_from_resource(resource)
    broken = dataclasses.replace(artifact, layer_requirements=[
        r for r in artifact.layer_requirements if not r.startswith("typing-extensions==")])
    with LambdaProcess(broken, endpoint_url=moto_endpoint_url, region=REGION) as process:
        init = process.start()
    assert init.error["errorType"] == "Runtime.ImportModuleError"
    assert init.error["errorMessage"].endswith("No module named 'typing_extensions'")


# --- finding python3.13 --------------------------------------------------------------------------

def test_a_python_that_is_not_313_is_skipped_with_a_fix_in_the_message(tmp_path, monkeypatch):
    fake = tmp_path / "python3.13"
    fake.write_text("#!/bin/sh\nexit 127\n")  # like a pyenv shim with no 3.13 selected
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv(find_python.PYTHON_ENV, str(fake))
    find_python.find_python313.cache_clear()
    try:
        with pytest.raises(find_python.PythonNotFound, match="pyenv install 3.13"):
            find_python.find_python313()
    finally:
        find_python.find_python313.cache_clear()


def test_find_python_returns_a_working_313(python313):
    assert find_python._version_of(python313) == (3, 13)
