"""API Gateway REST APIs: authorization, validation, stages, caching.

Links: every API Gateway resource names its API in `restApi` (the RestApi id); a Method and its
Integration share restApi, resourceId and httpMethod; MethodSettings name the stage by
`stageName`; a cached method is addressed by `methodPath` "<resource path without leading />/<VERB>".
"""
from __future__ import annotations

import json
import re
from typing import Optional

from . import tokens
from .model import Resource, as_list, attribute, get, is_known, is_unknown
from .registry import ADVISORY, resource_rule, stack_rule
from .stack import Stack

PUBLIC_API_TAG = ("api-access", "public")
"""Tag a RestApi with api-access=public to declare that its methods may skip authorization."""
BODY_METHODS = ("POST", "PUT", "PATCH")
CALLER_IDENTITY_KEY = "method.request.header.Authorization"
_CONTEXT_VARIABLE = re.compile(r"\$context\.[A-Za-z0-9_.]+")


def api_of(stack: Stack, resource: Resource) -> Optional[Resource]:
    return stack.resolve_one(resource, "restApi", get(resource.props, "restApi"), tokens.REST_API)


def same_api(stack: Stack, a: Resource, b: Resource) -> Optional[bool]:
    """Whether two API Gateway resources belong to the same RestApi (None: can't tell)."""
    api_a, api_b = api_of(stack, a), api_of(stack, b)
    if api_a is not None and api_b is not None:
        return api_a is api_b
    value_a, value_b = get(a.props, "restApi"), get(b.props, "restApi")
    if is_known(value_a) and is_known(value_b):
        return value_a == value_b
    return None


def is_public_api(api: Optional[Resource]) -> bool:
    key, value = PUBLIC_API_TAG
    return api is not None and get(api.props, "tags", key) == value


def integration_for(stack: Stack, method: Resource) -> Optional[Resource]:
    """The Integration of a Method: same API, resourceId and httpMethod, or built from the Method."""
    for integration in stack.of_type(tokens.INTEGRATION):
        if any(method in targets for targets in integration.property_dependencies.values()):
            return integration
        if same_api(stack, method, integration) is not True:
            continue
        pairs = [(get(method.props, p), get(integration.props, p)) for p in ("resourceId", "httpMethod")]
        if all(is_known(x) and x == y for x, y in pairs):
            return integration
    return None


def resource_path(stack: Stack, method: Resource) -> Optional[str]:
    """"items/{id}" for a method on /items/{id}, "" on the root; None when it can't be told."""
    api = api_of(stack, method)
    root = attribute(api, "rootResourceId") if api is not None else None
    resource_id = get(method.props, "resourceId")
    path: list = []
    current_prop, current_value, source = "resourceId", resource_id, method
    for _ in range(50):
        if is_known(root) and current_value == root:
            return "/".join(reversed(path))
        node = stack.resolve_one(source, current_prop, current_value, tokens.API_RESOURCE)
        if node is None:
            return None
        known_path = attribute(node, "path")
        if is_known(known_path):
            return "/".join([known_path.strip("/")] + list(reversed(path))).strip("/")
        part = get(node.props, "pathPart")
        if not is_known(part):
            return None
        path.append(part)
        current_prop, current_value, source = "parentId", get(node.props, "parentId"), node
    return None


def stage_settings(stack: Stack, stage: Resource) -> tuple[list, bool]:
    """(MethodSettings of this stage, undetermined)."""
    found, undetermined = [], False
    stage_name = get(stage.props, "stageName")
    for settings in stack.of_type(tokens.METHOD_SETTINGS):
        api = same_api(stack, settings, stage)
        if api is False:
            continue
        name = get(settings.props, "stageName")
        if stage in settings.property_dependencies.get("stageName", ()):
            same_stage = True
        elif is_known(name) and is_known(stage_name):
            same_stage = name == stage_name
        else:
            same_stage = None
        if api is None or same_stage is None:
            undetermined = True
        elif same_stage:
            found.append(settings)
    return found, undetermined


def _methods_of(stack: Stack, api: Resource) -> list:
    return [m for m in stack.of_type(tokens.METHOD) if api_of(stack, m) is api]


@stack_rule(
    "SB-APIGW-001",
    description="Every method except OPTIONS requires authorization, unless the API is tagged public.",
    remediation=f"Set authorization=\"COGNITO_USER_POOLS\" (or AWS_IAM/CUSTOM) with an authorizer; for a deliberately public API tag the RestApi {PUBLIC_API_TAG[0]}={PUBLIC_API_TAG[1]}.",
)
def method_authorization(stack: Stack):
    for method in stack.of_type(tokens.METHOD):
        verb = get(method.props, "httpMethod")
        authorization = get(method.props, "authorization")
        if not is_known(verb) or verb == "OPTIONS" or not is_known(authorization) or authorization != "NONE":
            continue
        api = api_of(stack, method)
        if api is None and is_unknown(get(method.props, "restApi")):
            continue
        if not is_public_api(api):
            yield method, f"{verb} has authorization NONE on an API not tagged {PUBLIC_API_TAG[0]}={PUBLIC_API_TAG[1]}"


@stack_rule(
    "SB-APIGW-002",
    description="Methods that take a body (POST, PUT, PATCH) have a request validator that validates it.",
    remediation="Create an aws.apigateway.RequestValidator with validate_request_body=True, set request_validator_id and request_models on the method.",
)
def request_validator(stack: Stack):
    validators = stack.of_type(tokens.REQUEST_VALIDATOR)
    for method in stack.of_type(tokens.METHOD):
        verb = get(method.props, "httpMethod")
        if not is_known(verb) or verb not in BODY_METHODS:
            continue
        validator_id = get(method.props, "requestValidatorId")
        if validator_id is None:
            yield method, f"{verb} has no request validator"
            continue
        for validator in stack.resolve(method, "requestValidatorId", validator_id, validators) or []:
            body = get(validator.props, "validateRequestBody")
            if not is_unknown(body) and body is not True:
                yield method, f"{verb} validator '{validator.name}' doesn't validate the body"


@resource_rule(
    "SB-APIGW-003", tokens.STAGE,
    description="Stages write JSON access logs.",
    remediation='Set access_log_settings={"destination_arn": log_group.arn, "format": json.dumps({"requestId": "$context.requestId", ...})}.',
)
def json_access_logs(stage: Resource):
    settings = get(stage.props, "accessLogSettings")
    if settings is None:
        yield "no access log settings"
        return
    if is_unknown(settings):
        return
    if get(settings, "destinationArn") is None:
        yield "access logs have no destination"
    log_format = get(settings, "format")
    if log_format is None:
        yield "access log format is not set"
    elif is_known(log_format) and not _is_json_format(log_format):
        yield "access log format is not JSON"


def _is_json_format(log_format: str) -> bool:
    try:
        return isinstance(json.loads(_CONTEXT_VARIABLE.sub("0", log_format)), dict)
    except ValueError:
        return False


@resource_rule(
    "SB-APIGW-004", tokens.STAGE,
    description="Stages have X-Ray tracing on.",
    remediation="Set xray_tracing_enabled=True on the stage.",
)
def stage_xray(stage: Resource):
    value = get(stage.props, "xrayTracingEnabled")
    if not is_unknown(value) and value is not True:
        yield "X-Ray tracing is off"


@resource_rule(
    "SB-APIGW-005", tokens.METHOD_SETTINGS,
    description="Data trace (full request/response logging) stays off.",
    remediation='Set settings.data_trace_enabled=False; use logging_level="ERROR" or "INFO" with access logs instead.',
)
def data_trace_off(settings: Resource):
    if get(settings.props, "settings", "dataTraceEnabled") is True:
        yield f"data trace is on for {get(settings.props, 'methodPath')}"


@stack_rule(
    "SB-APIGW-006",
    description="Every stage has stage-wide throttling (MethodSettings on */*).",
    remediation='Add aws.apigateway.MethodSettings(method_path="*/*", settings={"throttling_burst_limit": ..., "throttling_rate_limit": ...}).',
)
def stage_throttling(stack: Stack):
    for stage in stack.of_type(tokens.STAGE):
        settings, undetermined = stage_settings(stack, stage)
        stage_wide = [s for s in settings if get(s.props, "methodPath") == "*/*"]
        if not stage_wide:
            if not undetermined:
                yield stage, "no */* method settings, so no stage-wide throttling"
            continue
        for item in stage_wide:
            for limit in ("throttlingBurstLimit", "throttlingRateLimit"):
                value = get(item.props, "settings", limit)
                if value is None or (is_known(value) and value <= 0):
                    yield stage, f"{limit} is not set"


@stack_rule(
    "SB-APIGW-007",
    description="Cached responses are encrypted whenever caching is on.",
    remediation='Set settings.cache_data_encrypted=True on the */* MethodSettings of a stage with cache_cluster_enabled, and on every caching override.',
)
def cache_encrypted(stack: Stack):
    for settings in stack.of_type(tokens.METHOD_SETTINGS):
        caching = get(settings.props, "settings", "cachingEnabled")
        encrypted = get(settings.props, "settings", "cacheDataEncrypted")
        if caching is True and not is_unknown(encrypted) and encrypted is not True:
            yield settings, f"caching on for {get(settings.props, 'methodPath')} without cacheDataEncrypted"
    for stage in stack.of_type(tokens.STAGE):
        if get(stage.props, "cacheClusterEnabled") is not True:
            continue
        settings, undetermined = stage_settings(stack, stage)
        stage_wide = [get(s.props, "settings", "cacheDataEncrypted") for s in settings if get(s.props, "methodPath") == "*/*"]
        if True in stage_wide or any(is_unknown(v) for v in stage_wide) or (undetermined and not stage_wide):
            continue
        yield stage, "cache cluster on (GETs are cached by default) but */* settings don't set cacheDataEncrypted"


def _method_cached(stack: Stack, method: Resource, settings: list, undetermined: bool) -> Optional[bool]:
    path = resource_path(stack, method)
    overrides = [s for s in settings if get(s.props, "methodPath") != "*/*"]
    if overrides:
        if path is None:
            return None
        for item in overrides:
            method_path = get(item.props, "methodPath")
            if is_unknown(method_path):
                return None
            if method_path.strip("/") == f"{path}/GET".strip("/"):
                value = get(item.props, "settings", "cachingEnabled")
                if value is not None:
                    return None if is_unknown(value) else value
    for item in settings:
        if get(item.props, "methodPath") == "*/*":
            value = get(item.props, "settings", "cachingEnabled")
            if value is not None:
                return None if is_unknown(value) else value
    return None if undetermined else True


@stack_rule(
    "SB-APIGW-008",
    description="A cached GET on an authorized API keys its cache on the caller's identity (the authorizer's identity source).",
    remediation=("Add the header the method's authorizer reads (its identity_source; "
                 f"{CALLER_IDENTITY_KEY} by default) to the integration's cache_key_parameters and declare it in "
                 "the method's request_parameters; otherwise one user gets another's cached response."),
)
def cache_key_includes_caller(stack: Stack):
    for stage in stack.of_type(tokens.STAGE):
        if get(stage.props, "cacheClusterEnabled") is not True:
            continue
        api = api_of(stack, stage)
        if api is None:
            continue
        methods = _methods_of(stack, api)
        authorized = [m for m in methods if is_known(get(m.props, "authorization")) and get(m.props, "authorization") != "NONE"]
        if not authorized:
            continue
        settings, undetermined = stage_settings(stack, stage)
        for method in authorized:
            if get(method.props, "httpMethod") != "GET":
                continue
            if _method_cached(stack, method, settings, undetermined) is not True:
                continue
            integration = integration_for(stack, method)
            if integration is None:
                continue
            expected = caller_identity_keys(stack, method, api)
            if expected is None:
                continue
            accepted = {k.lower() for k in expected}
            keys = get(integration.props, "cacheKeyParameters")
            if is_unknown(keys) or any(is_unknown(k) for k in as_list(keys)):
                continue
            identity = [k for k in as_list(keys) if isinstance(k, str) and k.lower() in accepted]
            if not identity:
                yield method, (f"cached GET on stage '{get(stage.props, 'stageName')}' without "
                               f"{' or '.join(expected)} in its cache key")
                continue
            declared = get(method.props, "requestParameters")
            if declared is None:
                yield method, f"cache key uses {identity[0]} but the method declares no requestParameters"
            elif isinstance(declared, dict) and identity[0].lower() not in {k.lower() for k in declared}:
                yield method, f"cache key uses {identity[0]} but the method doesn't declare it in requestParameters"


def caller_identity_keys(stack: Stack, method: Resource, api: Resource) -> Optional[list]:
    """The request parameters that carry a method's caller identity; None when unknown.

    A method whose authorizer is in the stack: that authorizer's identity sources (API Gateway's
    default, the Authorization header, when none is set). Keying on another header would let a
    caller authorized by their own token read a response cached under someone else's header.
    Otherwise (IAM authorization, or an authorizer that can't be linked): the Authorization header
    or any identity source of the API's authorizers.
    """
    authorizer_id = get(method.props, "authorizerId")
    if authorizer_id is not None:
        authorizer = stack.resolve_one(method, "authorizerId", authorizer_id, tokens.AUTHORIZER)
        if authorizer is not None:
            return _identity_sources_of(authorizer)
    sources = [CALLER_IDENTITY_KEY]
    for authorizer in stack.of_type(tokens.AUTHORIZER):
        if api_of(stack, authorizer) is api:
            found = _identity_sources_of(authorizer) or []
            sources += [s for s in found if s.lower() not in {k.lower() for k in sources}]
    return sources


def _identity_sources_of(authorizer: Resource) -> Optional[list]:
    value = get(authorizer.props, "identitySource")
    if value is None:
        return [CALLER_IDENTITY_KEY]
    if not is_known(value) or not isinstance(value, str):
        return None
    return [s.strip() for s in value.split(",") if s.strip()]


@resource_rule(
    "SB-APIGW-009", tokens.DEPLOYMENT,
    description="Deployments carry triggers, so a change to a method or integration redeploys the API.",
    remediation='Set triggers={"redeployment": <hash of the methods and integrations>} on aws.apigateway.Deployment.',
    level=ADVISORY,
)
def deployment_triggers(deployment: Resource):
    if get(deployment.props, "triggers") is None:
        yield "no triggers: later changes to methods won't be deployed"
