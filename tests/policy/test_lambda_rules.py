from policy import UNKNOWN, Resource
from policy.tokens import FUNCTION, FUNCTION_RECURSION_CONFIG, INTEGRATION, LOG_GROUP, PERMISSION

ARN = "arn:aws:lambda:eu-west-1:123456789012:function:api-handler-1a2b3c4"


def function(name="api-handler", **props):
    base = {
        "name": "api-handler-1a2b3c4", "arn": ARN, "runtime": "python3.13", "timeout": 10, "memorySize": 256,
        "tracingConfig": {"mode": "Active"}, "loggingConfig": {"logGroup": "/aws/lambda/api-handler"},
    }
    base.update(props)
    return Resource(FUNCTION, {k: v for k, v in base.items() if v is not None}, name=name)


def log_group(name="api-handler-logs", group="/aws/lambda/api-handler", retention=14):
    props = {"name": group}
    if retention is not None:
        props["retentionInDays"] = retention
    return Resource(LOG_GROUP, props, name=name)


# SB-LAMBDA-001 explicit timeout and memory

def test_function_with_timeout_and_memory_passes(violations):
    assert violations("SB-LAMBDA-001", function()) == []


def test_function_without_timeout_or_memory_is_reported(violations):
    assert violations("SB-LAMBDA-001", function(timeout=None, memorySize=None)) == [
        "'timeout' is not set", "'memorySize' is not set"]


def test_unknown_timeout_counts_as_set(violations):
    assert violations("SB-LAMBDA-001", function(timeout=UNKNOWN)) == []


# SB-LAMBDA-002 API-invoked functions time out under 29 s

def apigw_permission(function_ref=ARN):
    return Resource(PERMISSION, {"function": function_ref, "principal": "apigateway.amazonaws.com",
                                 "action": "lambda:InvokeFunction", "sourceArn": "arn:aws:execute-api:eu-west-1:123456789012:abc/*"},
                    name="api-invoke")


def test_api_function_under_29_seconds_passes(violations):
    assert violations("SB-LAMBDA-002", function(timeout=28), apigw_permission()) == []


def test_api_function_at_29_seconds_is_reported(violations):
    assert violations("SB-LAMBDA-002", function(timeout=29), apigw_permission()) == [
        "timeout 29 s is not under 29 s but API Gateway invokes it"]


def test_long_timeout_is_fine_when_api_gateway_does_not_invoke(violations):
    assert violations("SB-LAMBDA-002", function(timeout=300)) == []


def test_integration_uri_links_the_function_to_the_api(violations):
    integration = Resource(INTEGRATION, {
        "type": "AWS_PROXY", "httpMethod": "GET", "resourceId": "r1", "restApi": "api1",
        "uri": f"arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/{ARN}/invocations"}, name="get-items")
    assert violations("SB-LAMBDA-002", function(timeout=60), integration) == [
        "timeout 60 s is not under 29 s but API Gateway invokes it"]


def test_permission_linked_only_by_property_dependency_counts(violations):
    fn = function(timeout=30)
    permission = apigw_permission(function_ref=UNKNOWN)
    permission.property_dependencies = {"function": [fn]}
    assert len(violations("SB-LAMBDA-002", fn, permission)) == 1


# SB-LAMBDA-003 supported runtime

def test_supported_runtime_passes(violations):
    assert violations("SB-LAMBDA-003", function(runtime="python3.13")) == []


def test_deprecated_runtime_is_reported(violations):
    assert violations("SB-LAMBDA-003", function(runtime="python3.9")) == ["runtime 'python3.9' is deprecated or unknown"]


def test_container_image_function_needs_no_runtime(violations):
    assert violations("SB-LAMBDA-003", function(runtime=None, packageType="Image")) == []


# SB-LAMBDA-004 active tracing (advisory)

def test_active_tracing_passes(violations):
    assert violations("SB-LAMBDA-004", function()) == []


def test_passthrough_tracing_is_reported_as_advisory():
    from policy import evaluate
    report = evaluate([function(tracingConfig={"mode": "PassThrough"})], "prod", rules=["SB-LAMBDA-004"])
    assert [f.level for f in report.findings] == ["advisory"]
    assert report.ok


# SB-LAMBDA-005 a managed log group with retention

def test_function_pointing_at_managed_log_group_with_retention_passes(violations):
    assert violations("SB-LAMBDA-005", function(), log_group()) == []


def test_default_log_group_found_by_function_name_passes(violations):
    fn = function(loggingConfig=None)
    assert violations("SB-LAMBDA-005", fn, log_group(group="/aws/lambda/api-handler-1a2b3c4")) == []


def test_function_without_managed_log_group_is_reported(violations):
    assert violations("SB-LAMBDA-005", function(loggingConfig=None)) == [
        "no log group is configured or managed for it; Lambda would create one that never expires"]


def test_log_group_without_retention_is_reported(violations):
    assert violations("SB-LAMBDA-005", function(), log_group(retention=None)) == [
        "its log group 'api-handler-logs' has no retention period"]


def test_unknown_log_group_name_is_not_reported(violations):
    assert violations("SB-LAMBDA-005", function(loggingConfig={"logGroup": UNKNOWN}), log_group()) == []


# SB-LOGS-001 every log group has retention

def test_log_group_with_retention_passes(violations):
    assert violations("SB-LOGS-001", log_group()) == []


def test_log_group_kept_forever_is_reported(violations):
    assert violations("SB-LOGS-001", log_group(retention=None)) == ["no retentionInDays: logs are kept forever"]


# SB-LAMBDA-006 no plain secrets

def test_references_to_secrets_pass(violations):
    env = {"variables": {"TABLE_NAME": "orders", "DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:db",
                         "API_KEY_PARAMETER": "/app/api-key", "TOKEN_TABLE": "tokens"}}
    assert violations("SB-LAMBDA-006", function(environment=env)) == []


def test_plain_password_is_reported(violations):
    env = {"variables": {"DB_PASSWORD": "hunter2"}}
    assert violations("SB-LAMBDA-006", function(environment=env)) == ["variable 'DB_PASSWORD' looks like a secret in plain text"]


def test_access_key_value_is_reported_whatever_its_name(violations):
    env = {"variables": {"SETTING": "AKIAABCDEFGHIJKLMNOP"}}
    assert violations("SB-LAMBDA-006", function(environment=env)) == ["variable 'SETTING' holds what looks like a credential"]


def test_unknown_secret_like_value_is_not_reported(violations):
    env = {"variables": {"API_TOKEN": UNKNOWN}}
    assert violations("SB-LAMBDA-006", function(environment=env)) == []


# SB-LAMBDA-007 scoped permissions

def test_service_permission_with_source_arn_passes(violations):
    assert violations("SB-LAMBDA-007", apigw_permission()) == []


def test_service_permission_without_source_is_reported(violations):
    permission = Resource(PERMISSION, {"function": ARN, "principal": "s3.amazonaws.com", "action": "lambda:InvokeFunction"}, name="p")
    assert violations("SB-LAMBDA-007", permission) == ["service principal s3.amazonaws.com without sourceArn or sourceAccount"]


def test_wildcard_principal_is_reported(violations):
    permission = Resource(PERMISSION, {"function": ARN, "principal": "*", "action": "lambda:InvokeFunctionUrl"}, name="p")
    assert violations("SB-LAMBDA-007", permission) == ["principal is '*'"]


def test_unknown_source_arn_counts_as_set(violations):
    permission = Resource(PERMISSION, {"function": ARN, "principal": "s3.amazonaws.com", "sourceArn": UNKNOWN}, name="p")
    assert violations("SB-LAMBDA-007", permission) == []


# SB-LAMBDA-008 recursion detection stays on

def test_recursion_terminate_passes(violations):
    config = Resource(FUNCTION_RECURSION_CONFIG, {"functionName": "f", "recursiveLoop": "Terminate"}, name="r")
    assert violations("SB-LAMBDA-008", config) == []


def test_recursion_allow_is_reported(violations):
    config = Resource(FUNCTION_RECURSION_CONFIG, {"functionName": "f", "recursiveLoop": "Allow"}, name="r")
    assert violations("SB-LAMBDA-008", config) == ["recursiveLoop is Allow"]
