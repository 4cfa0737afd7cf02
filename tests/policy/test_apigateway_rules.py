import json

import pytest

from policy import UNKNOWN, Resource
from policy.tokens import (API_RESOURCE, AUTHORIZER, DEPLOYMENT, INTEGRATION, METHOD, METHOD_SETTINGS,
                           REQUEST_VALIDATOR, REST_API, STAGE)

ACCESS_LOG_FORMAT = json.dumps({"requestId": "$context.requestId", "status": "$context.status", "user": "$context.authorizer.claims.sub"})


def api(**tags):
    return Resource(REST_API, {"id": "api1", "rootResourceId": "root1", "name": "todo", **({"tags": tags} if tags else {})}, name="todo-api")


ITEMS = Resource(API_RESOURCE, {"id": "res-items", "restApi": "api1", "parentId": "root1", "pathPart": "items"}, name="items")


def method(verb="GET", authorization="COGNITO_USER_POOLS", **props):
    base = {"restApi": "api1", "resourceId": "res-items", "httpMethod": verb, "authorization": authorization,
            "requestParameters": {"method.request.header.Authorization": True}}
    base.update(props)
    return Resource(METHOD, {k: v for k, v in base.items() if v is not None}, name=f"items-{verb.lower()}")


def integration(verb="GET", keys=("method.request.header.Authorization",)):
    props = {"restApi": "api1", "resourceId": "res-items", "httpMethod": verb, "type": "AWS_PROXY",
             "cacheKeyParameters": list(keys)}
    return Resource(INTEGRATION, props, name=f"items-{verb.lower()}-integration")


def stage(**overrides):
    props = {"restApi": "api1", "stageName": "prod", "deployment": "dep1", "xrayTracingEnabled": True,
             "cacheClusterEnabled": True, "cacheClusterSize": "0.5",
             "accessLogSettings": {"destinationArn": "arn:aws:logs:eu-west-1:1:log-group:api", "format": ACCESS_LOG_FORMAT}}
    props.update(overrides)
    return Resource(STAGE, {k: v for k, v in props.items() if v is not None}, name="prod-stage")


def settings(path="*/*", **values):
    base = {"throttlingBurstLimit": 100, "throttlingRateLimit": 50, "cachingEnabled": True, "cacheDataEncrypted": True,
            "cacheTtlInSeconds": 60, "dataTraceEnabled": False, "loggingLevel": "ERROR", "metricsEnabled": True}
    base.update(values)
    return Resource(METHOD_SETTINGS, {"restApi": "api1", "stageName": "prod", "methodPath": path,
                                      "settings": {k: v for k, v in base.items() if v is not None}}, name=f"settings-{path}")


# SB-APIGW-001 authorization

def test_authorized_method_passes(violations):
    assert violations("SB-APIGW-001", api(), method()) == []


def test_unauthorized_method_is_reported(violations):
    assert violations("SB-APIGW-001", api(), method(authorization="NONE")) == [
        "GET has authorization NONE on an API not tagged api-access=public"]


def test_iam_authorized_method_without_an_authorizer_passes(violations):
    """LambdaRestApi's authorization "iam": SigV4 callers, no authorizer resource, nothing declared public."""
    assert violations("SB-APIGW-001", api(), method(authorization="AWS_IAM", authorizerId=None)) == []


def test_options_preflight_may_be_open(violations):
    assert violations("SB-APIGW-001", api(), method("OPTIONS", authorization="NONE")) == []


def test_explicitly_public_api_may_be_open(violations):
    assert violations("SB-APIGW-001", api(**{"api-access": "public"}), method(authorization="NONE")) == []


def test_method_of_unknown_api_is_not_reported(violations):
    assert violations("SB-APIGW-001", method(authorization="NONE", restApi=UNKNOWN)) == []


# SB-APIGW-002 request validator

def test_post_with_body_validator_passes(violations):
    validator = Resource(REQUEST_VALIDATOR, {"id": "val1", "restApi": "api1", "validateRequestBody": True}, name="body")
    assert violations("SB-APIGW-002", method("POST", requestValidatorId="val1"), validator) == []


def test_post_without_validator_is_reported(violations):
    assert violations("SB-APIGW-002", method("POST")) == ["POST has no request validator"]


def test_validator_that_skips_the_body_is_reported(violations):
    validator = Resource(REQUEST_VALIDATOR, {"id": "val1", "restApi": "api1", "validateRequestParameters": True}, name="params")
    assert violations("SB-APIGW-002", method("PUT", requestValidatorId="val1"), validator) == [
        "PUT validator 'params' doesn't validate the body"]


def test_get_needs_no_validator(violations):
    assert violations("SB-APIGW-002", method("GET")) == []


# SB-APIGW-003 JSON access logs

def test_json_access_logs_pass(violations):
    assert violations("SB-APIGW-003", stage()) == []


def test_stage_without_access_logs_is_reported(violations):
    assert violations("SB-APIGW-003", stage(accessLogSettings=None)) == ["no access log settings"]


def test_clf_access_log_format_is_reported(violations):
    clf = {"destinationArn": "arn:aws:logs:eu-west-1:1:log-group:api", "format": "$context.identity.sourceIp [$context.requestTime]"}
    assert violations("SB-APIGW-003", stage(accessLogSettings=clf)) == ["access log format is not JSON"]


def test_unquoted_context_variables_still_count_as_json(violations):
    raw = {"destinationArn": "arn:aws:logs:eu-west-1:1:log-group:api", "format": '{"status": $context.status}'}
    assert violations("SB-APIGW-003", stage(accessLogSettings=raw)) == []


# SB-APIGW-004 X-Ray

def test_stage_with_xray_passes(violations):
    assert violations("SB-APIGW-004", stage()) == []


def test_stage_without_xray_is_reported(violations):
    assert violations("SB-APIGW-004", stage(xrayTracingEnabled=None)) == ["X-Ray tracing is off"]


# SB-APIGW-005 data trace off

def test_settings_without_data_trace_pass(violations):
    assert violations("SB-APIGW-005", settings()) == []


def test_data_trace_is_reported(violations):
    assert violations("SB-APIGW-005", settings(dataTraceEnabled=True)) == ["data trace is on for */*"]


# SB-APIGW-006 stage-wide throttling

def test_stage_wide_throttling_passes(violations):
    assert violations("SB-APIGW-006", api(), stage(), settings()) == []


def test_stage_without_method_settings_is_reported(violations):
    assert violations("SB-APIGW-006", api(), stage()) == ["no */* method settings, so no stage-wide throttling"]


def test_stage_wide_settings_without_limits_are_reported(violations):
    found = violations("SB-APIGW-006", api(), stage(), settings(throttlingBurstLimit=None, throttlingRateLimit=-1))
    assert found == ["throttlingBurstLimit is not set", "throttlingRateLimit is not set"]


def test_settings_for_another_stage_do_not_count(violations):
    other = settings()
    other.props["stageName"] = "dev"
    assert violations("SB-APIGW-006", api(), stage(), other) == ["no */* method settings, so no stage-wide throttling"]


def test_settings_with_unknown_stage_name_keep_the_rule_silent(violations):
    unknown = settings()
    unknown.props["stageName"] = UNKNOWN
    assert violations("SB-APIGW-006", api(), stage(), unknown) == []


# SB-APIGW-007 encrypted cache

def test_encrypted_cache_passes(violations):
    assert violations("SB-APIGW-007", api(), stage(), settings()) == []


def test_unencrypted_cache_is_reported(violations):
    found = violations("SB-APIGW-007", api(), stage(), settings(cacheDataEncrypted=None))
    assert found == ["caching on for */* without cacheDataEncrypted",
                     "cache cluster on (GETs are cached by default) but */* settings don't set cacheDataEncrypted"]


def test_stage_without_cache_needs_no_encryption(violations):
    assert violations("SB-APIGW-007", api(), stage(cacheClusterEnabled=False), settings(cachingEnabled=False, cacheDataEncrypted=None)) == []


# SB-APIGW-008 cache key includes the caller

def cached_api(*extra):
    return [api(), ITEMS, stage(), settings(), *extra]


def test_cached_get_keyed_on_authorization_passes(violations):
    assert violations("SB-APIGW-008", *cached_api(method(), integration())) == []


def test_cached_get_without_caller_in_cache_key_is_reported(violations):
    assert violations("SB-APIGW-008", *cached_api(method(), integration(keys=()))) == [
        "cached GET on stage 'prod' without method.request.header.Authorization in its cache key"]


def test_cache_key_parameter_must_be_declared_on_the_method(violations):
    assert violations("SB-APIGW-008", *cached_api(method(requestParameters=None), integration())) == [
        "cache key uses method.request.header.Authorization but the method declares no requestParameters"]


def test_method_override_that_disables_caching_passes(violations):
    resources = cached_api(method(), integration(keys=()), settings("items/GET", cachingEnabled=False))
    assert violations("SB-APIGW-008", *resources) == []


def test_uncached_stage_needs_no_identity_in_key(violations):
    resources = [api(), ITEMS, stage(cacheClusterEnabled=False), settings(cachingEnabled=False), method(), integration(keys=())]
    assert violations("SB-APIGW-008", *resources) == []


def test_unknown_cache_keys_are_not_reported(violations):
    unknown = integration()
    unknown.props["cacheKeyParameters"] = UNKNOWN
    assert violations("SB-APIGW-008", *cached_api(method(), unknown)) == []


ID_TOKEN_HEADER = "method.request.header.X-Id-Token"


def id_token_authorizer(identity_source=ID_TOKEN_HEADER):
    props = {"id": "auth1", "restApi": "api1", "type": "COGNITO_USER_POOLS", "identitySource": identity_source,
             "providerArns": ["arn:aws:cognito-idp:eu-west-1:1:userpool/eu-west-1_abc"]}
    return Resource(AUTHORIZER, {k: v for k, v in props.items() if v is not None}, name="cognito")


def id_token_method(**props):
    return method(authorizerId="auth1", requestParameters={ID_TOKEN_HEADER: True}, **props)


def test_cached_get_keyed_on_the_authorizers_identity_source_header_passes(violations):
    resources = cached_api(id_token_authorizer(), id_token_method(), integration(keys=(ID_TOKEN_HEADER,)))
    assert violations("SB-APIGW-008", *resources) == []


def test_identity_source_header_is_matched_case_insensitively(violations):
    resources = cached_api(id_token_authorizer(), id_token_method(), integration(keys=("method.request.header.x-id-token",)))
    assert violations("SB-APIGW-008", *resources) == []


def test_cache_keyed_on_authorization_when_the_authorizer_reads_another_header_is_reported(violations):
    """The caller's own X-Id-Token authorizes the call; an Authorization value copied from someone else would hit their entry."""
    resources = cached_api(id_token_authorizer(), method(authorizerId="auth1"), integration())
    assert violations("SB-APIGW-008", *resources) == [
        "cached GET on stage 'prod' without method.request.header.X-Id-Token in its cache key"]


def test_identity_source_header_must_be_declared_on_the_method(violations):
    resources = cached_api(id_token_authorizer(), method(authorizerId="auth1"), integration(keys=(ID_TOKEN_HEADER,)))
    assert violations("SB-APIGW-008", *resources) == [
        "cache key uses method.request.header.X-Id-Token but the method doesn't declare it in requestParameters"]


def test_authorizer_without_identity_source_means_the_authorization_header(violations):
    resources = cached_api(id_token_authorizer(identity_source=None), method(authorizerId="auth1"), integration())
    assert violations("SB-APIGW-008", *resources) == []


def test_unknown_identity_source_is_not_reported(violations):
    resources = cached_api(id_token_authorizer(identity_source=UNKNOWN), method(authorizerId="auth1"), integration(keys=()))
    assert violations("SB-APIGW-008", *resources) == []


# SB-APIGW-009 deployment triggers (advisory)

def test_deployment_with_triggers_passes(violations):
    assert violations("SB-APIGW-009", Resource(DEPLOYMENT, {"restApi": "api1", "triggers": {"redeployment": "abc"}}, name="d")) == []


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_deployment_without_triggers_is_advisory(environment):
    from policy import evaluate
    report = evaluate([Resource(DEPLOYMENT, {"restApi": "api1"}, name="d")], environment, rules=["SB-APIGW-009"])
    assert [f.level for f in report.findings] == ["advisory"]
