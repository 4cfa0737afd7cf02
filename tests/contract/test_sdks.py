"""Each stack exports, for each REST API, how to download the client SDKs API Gateway generates (GetSdk:
JavaScript, Java, Android, iOS in Objective-C and Swift, Ruby) for its stage; with `fetch=True` the
program calls GetSdk for each and exports each download's id and size, never the bytes."""
from __future__ import annotations

import json

import pulumi
import pytest

from offline.harness import evaluate_program
from offline.openapi_docs import STACKS
from serverless_blueprints import openapi
from serverless_blueprints.serverless_rest_api import ServerlessRestApi


@pytest.mark.parametrize("stack", STACKS)
def test_every_rest_api_exports_its_sdk_downloads(built, stack):
    exported = built[stack].snapshot.exports["apiSdks"]
    assert set(exported) == {name for name, _ in built[stack].values()}
    for name, downloads in exported.items():
        assert downloads["stage"] == "v1" and set(downloads["sdks"]) == set(openapi.SDK_TYPES), name
        for sdk_type, sdk in downloads["sdks"].items():
            assert sdk["command"].startswith(f"aws apigateway get-sdk --rest-api-id {downloads['restApiId']} "
                                             f"--stage-name v1 --sdk-type {sdk_type}")
    assert len(json.dumps(exported)) < 64 * 1024, "the exports describe the SDKs; they don't carry them"


def test_each_sdk_type_gets_the_parameters_api_gateway_requires():
    required = {"javascript": set(), "java": {"serviceName", "javaPackageName"},
                "android": {"groupId", "invokerPackage", "artifactId", "artifactVersion"},
                "objectivec": {"classPrefix"}, "swift": {"classPrefix"},
                "ruby": {"service.name", "ruby.gem-name", "ruby.gem-version"}}
    for sdk_type, names in required.items():
        assert names <= set(openapi.sdk_parameters(sdk_type, "todo-api", "1.0.0")), sdk_type


def test_fetching_calls_get_sdk_for_each_type_and_exports_sizes_only():
    def program():
        ServerlessRestApi("todo")
        [api] = openapi.published_apis()
        pulumi.export("sdks", openapi.sdk_downloads(api, fetch=True))

    sdks = evaluate_program(program).exports["sdks"]["sdks"]
    assert set(sdks) == set(openapi.SDK_TYPES)
    for sdk_type, sdk in sdks.items():
        assert sdk["download"]["bytes"] > 0 and sdk["download"]["contentDisposition"].endswith(f'{sdk_type}_sdk.zip"')
        assert set(sdk["download"]) == {"id", "contentType", "contentDisposition", "bytes"}
