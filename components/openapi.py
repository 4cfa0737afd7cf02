"""The OpenAPI 3 document of a LambdaRestApi, built from its route table, and the API Gateway documentation
published from it.

One source of truth: the routes that build the API Gateway resources (methods, paths, auth, query strings,
request models and validators, cache keys, CORS preflight) also build the document, and the API's contract
(`api_contracts.py`: summaries, schemas, responses, examples) is merged over it. So the document can't
promise a route, a parameter or an auth mode the gateway doesn't serve; tests/contract compares the mocked
resources of both stacks with the committed documents, and replays the documents against the handlers.

What API Gateway itself enforces is written with its own extensions where one exists
(`x-amazon-apigateway-integration.cacheKeyParameters`, `x-amazon-apigateway-request-validator(s)`), and
with `x-gateway-*` where none does: the exact model API Gateway validates a body with (the documented body
schema may say more; the function checks the rest) and the CORS preflight answers.
"""
import contextvars
import dataclasses
import hashlib
import json
import re
from contextlib import contextmanager
from typing import Any, Iterator, NamedTuple, Optional

import pulumi
import pulumi_aws as aws

from .api_contracts import CONTRACTS, ERROR_SCHEMA, ApiContract
from .rest_api import (_BODY_METHODS, _VALIDATOR, ResolvedCache, ResolvedLambdaRestApi, ResolvedRoute, _slug,
                       preflight_headers, route_spec)

OPENAPI_VERSION = "3.0.3"
VALIDATOR_NAME = "all"
COGNITO_SCHEME = "CognitoUserPool"
SIGV4_SCHEME = "SigV4"
_ANY_CACHE = ResolvedCache(size_gb="0.5", ttl_seconds=300)
_PATH_PARAMETER = re.compile(r"\{(\w+)\}")


class ContractError(ValueError):
    """An API contract that names a route or parameter its route table doesn't serve."""


def contract_for(routes: list[ResolvedRoute]) -> Optional[ApiContract]:
    """The contract describing exactly these routes, if we have one (a library user's API has none)."""
    served = frozenset((r.method, r.path) for r in routes)
    return next((c for c in CONTRACTS if c.routes == served), None)


def document_name(name: str, s: ResolvedLambdaRestApi) -> str:
    """The document's file stem: the contract's, else the API's own name."""
    contract = contract_for(s.routes)
    return contract.document if contract else name


# --- the document ------------------------------------------------------------------------------------
def api_document(name: str, s: ResolvedLambdaRestApi, contract: Optional[ApiContract] = None) -> dict[str, Any]:
    """The OpenAPI 3 document of an API: its route table, with `contract` (default: ours for these routes)
    merged over it. Raises ContractError when the contract and the routes disagree."""
    contract = contract or contract_for(s.routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(s.routes, key=lambda r: (r.path, r.method)):
        extra = contract.operations.get(f"{route.method} {route.path}", {}) if contract else {}
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(name, s, route, extra)
    security = _security(s)
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {"title": contract.title if contract else name,
                 "version": contract.version if contract else "1.0.0",
                 "description": contract.description if contract else f"{name} (serverless-blueprints)"},
        "servers": [{"url": "https://{apiId}.execute-api.{region}.amazonaws.com/" + s.stage_name,
                     "variables": {"apiId": {"default": "example"}, "region": {"default": "eu-west-1"}}}],
    }
    if security:
        document["security"] = security
    document["paths"] = paths
    document["components"] = {"schemas": {"Error": ERROR_SCHEMA, **(contract.schemas if contract else {})}}
    if security:
        document["components"]["securitySchemes"] = _security_schemes(s)
    document["x-amazon-apigateway-request-validators"] = {VALIDATOR_NAME: {
        "validateRequestBody": _VALIDATOR["validate_request_body"],
        "validateRequestParameters": _VALIDATOR["validate_request_parameters"]}}
    headers = preflight_headers(s)
    any_path = next(iter(headers.values()))
    document["x-gateway-cors"] = {
        "allowHeaders": _unquote(any_path["method.response.header.Access-Control-Allow-Headers"]).split(","),
        "maxAge": int(_unquote(any_path["method.response.header.Access-Control-Max-Age"])),
        "allowOrigin": "per stack (cors_allow_origin)",
        "description": "Every path answers OPTIONS without auth (a MOCK integration), allowing its documented "
                       "methods; API Gateway's own 4XX/5XX answers carry the same CORS headers.",
    }
    return document


def _operation(name: str, s: ResolvedLambdaRestApi, route: ResolvedRoute, extra: dict[str, Any]) -> dict[str, Any]:
    where = f"contract of {name}: {route.method} {route.path}"
    # The document is the same for every stack: a cached GET's key is the one it has when the stage has a cache.
    spec = route_spec(dataclasses.replace(s, cache=s.cache or _ANY_CACHE), route)
    operation: dict[str, Any] = {
        "operationId": extra.get("operationId", _slug(f"{route.method} {route.path}").replace("-", "_")),
        **({"summary": extra["summary"]} if "summary" in extra else {}),
        **({"description": extra["description"]} if "description" in extra else {}),
        "security": _security(s),
    }
    parameters = _parameters(route, extra.get("parameters", []), where)
    if parameters:
        operation["parameters"] = parameters
    if route.method in _BODY_METHODS:
        model = {k: v for k, v in route.request_schema.items() if k != "$schema"}
        operation["requestBody"] = extra.get("requestBody", {"required": True,
                                                              "content": {"application/json": {"schema": model}}})
        operation["x-gateway-request-model"] = route.request_schema
    elif "requestBody" in extra:
        raise ContractError(f"{where}: a {route.method} takes no body")
    operation["responses"] = extra.get("responses", {"default": {
        "description": "The function's answer", "content": {"application/json": {"schema": {"type": "object"}}}}})
    if any(p["in"] in ("path", "query") for p in parameters) or route.method in _BODY_METHODS:
        operation["x-amazon-apigateway-request-validator"] = VALIDATOR_NAME
    integration: dict[str, Any] = {"type": "aws_proxy", "httpMethod": "POST", "passthroughBehavior": "when_no_match"}
    if route.cached:
        integration["cacheKeyParameters"] = spec.cache_key
    operation["x-amazon-apigateway-integration"] = integration
    operation.update({k: v for k, v in extra.items() if k.startswith("x-")})
    return operation


def _security(s: ResolvedLambdaRestApi) -> list[dict[str, list[str]]]:
    """Who may call each method: nobody needs to sign in (NONE), a Cognito ID token, or a SigV4 signature."""
    scheme = {"COGNITO_USER_POOLS": COGNITO_SCHEME, "AWS_IAM": SIGV4_SCHEME}.get(s.authorization)
    return [{scheme: []}] if scheme else []


def _security_schemes(s: ResolvedLambdaRestApi) -> dict[str, Any]:
    if s.authorization == "AWS_IAM":
        return {SIGV4_SCHEME: {"type": "apiKey", "in": "header", "name": "Authorization",
                               "x-amazon-apigateway-authtype": "awsSigv4"}}
    return {COGNITO_SCHEME: {"type": "apiKey", "in": "header", "name": s.token_header,
                             "x-amazon-apigateway-authtype": "cognito_user_pools"}}


def _parameters(route: ResolvedRoute, described: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """Path and query parameters from the route (only those), each with the contract's words over it."""
    served = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
              for p in _PATH_PARAMETER.findall(route.path)]
    served += [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
               for q in route.query_parameters]
    by_key = {(p["in"], p["name"]): p for p in served}
    headers = []
    for given in described:
        key = (given["in"], given["name"])
        if given["in"] == "header":
            headers.append(given)
        elif key not in by_key:
            raise ContractError(f"{where}: {given['in']} parameter {given['name']!r} is not in the route table "
                                f"(it serves {sorted(n for _, n in by_key) or 'none'})")
        else:
            by_key[key].update(given)
    return [*by_key.values(), *headers]


def _unquote(value: str) -> str:
    return value[1:-1] if value.startswith("'") and value.endswith("'") else value


def render(document: dict[str, Any]) -> str:
    """The committed form of a document."""
    return json.dumps(document, indent=2) + "\n"


# --- documentation parts ------------------------------------------------------------------------------
class DocumentationEntry(NamedTuple):
    key: str
    """Unique within the API, stable: the resource name's suffix."""
    location: dict[str, str]
    properties: dict[str, Any]


def documentation_entries(document: dict[str, Any]) -> list[DocumentationEntry]:
    """API Gateway documentation parts carrying the document's words: the API, each method, each described
    parameter, each response."""
    entries = [DocumentationEntry("api", {"type": "API"}, {"info": document["info"]})]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            at = {"path": path, "method": method.upper()}
            words = {k: operation[k] for k in ("operationId", "summary", "description") if k in operation}
            entries.append(DocumentationEntry(_slug(f"method {method} {path}"), {"type": "METHOD", **at}, words))
            for parameter in operation.get("parameters", []):
                if "description" not in parameter:
                    continue
                kind = {"path": "PATH_PARAMETER", "query": "QUERY_PARAMETER", "header": "REQUEST_HEADER"}[
                    parameter["in"]]
                entries.append(DocumentationEntry(
                    _slug(f"{parameter['in']} {method} {path} {parameter['name']}"),
                    {"type": kind, **at, "name": parameter["name"]}, {"description": parameter["description"]}))
            for status, response in operation["responses"].items():
                if status == "default":
                    continue
                entries.append(DocumentationEntry(
                    _slug(f"response {method} {path} {status}"), {"type": "RESPONSE", **at, "status_code": status},
                    {"description": response["description"]}))
    return entries


def documentation_version(document: dict[str, Any], stage_name: str) -> str:
    """`<stage>-<digest>`: a DocumentationVersion is a snapshot, so changed words publish a new one."""
    return f"{stage_name}-{hashlib.sha256(render(document).encode()).hexdigest()[:12]}"


class Documentation(NamedTuple):
    name: str
    """The document's name (docs/openapi/<name>.json for ours)."""
    document: dict[str, Any]
    parts: list[aws.apigateway.DocumentationPart]
    version: aws.apigateway.DocumentationVersion
    rest_api: aws.apigateway.RestApi
    stage: aws.apigateway.Stage


def publish_documentation(name: str, rest_api: aws.apigateway.RestApi, stage: aws.apigateway.Stage,
                          s: ResolvedLambdaRestApi, opts: pulumi.ResourceOptions) -> Documentation:
    """The API's document, as documentation parts and one documentation version of its stage."""
    document = api_document(name, s)
    parts = [aws.apigateway.DocumentationPart(
        f"{name}-doc-{entry.key}", rest_api_id=rest_api.id,
        location=aws.apigateway.DocumentationPartLocationArgs(**entry.location),
        properties=json.dumps(entry.properties, sort_keys=True), opts=opts)
        for entry in documentation_entries(document)]
    version = aws.apigateway.DocumentationVersion(
        f"{name}-doc-version", rest_api_id=rest_api.id, version=documentation_version(document, s.stage_name),
        description=f"{document['info']['title']} {document['info']['version']}, stage {s.stage_name}",
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=parts)))
    published = Documentation(document_name(name, s), document, parts, version, rest_api, stage)
    for recorder in _RECORDERS:
        recorder[name] = (published.name, document)
    _published().append(published)
    return published


_RECORDERS: list[dict[str, tuple[str, dict[str, Any]]]] = []


@contextmanager
def recording() -> Iterator[dict[str, tuple[str, dict[str, Any]]]]:
    """Collects, by API name, the (document name, document) of every LambdaRestApi built inside the block
    (for generators such as `python -m offline.openapi_docs`, and tests that evaluate a stack under mocks)."""
    documents: dict[str, tuple[str, dict[str, Any]]] = {}
    _RECORDERS.append(documents)
    try:
        yield documents
    finally:
        _RECORDERS.remove(documents)


# --- SDK downloads ------------------------------------------------------------------------------------
SDK_TYPES = ("javascript", "java", "android", "objectivec", "swift", "ruby")
"""The client SDKs API Gateway generates (GetSdk); Python isn't one: ours come from openapi-python-client."""
SDK_GROUP = "serverless.blueprints"

# Each program evaluation (a `pulumi up`, or one run under mocks) runs in its own context, so APIs of one
# stack never show up in another's exports.
_PUBLISHED: contextvars.ContextVar[list[Documentation]] = contextvars.ContextVar("published_api_documentation")


def _published() -> list[Documentation]:
    try:
        return _PUBLISHED.get()
    except LookupError:
        _PUBLISHED.set([])
        return _PUBLISHED.get()


def published_apis() -> list[Documentation]:
    """Every LambdaRestApi this program has built so far, with its document."""
    return list(_published())


def sdk_parameters(sdk_type: str, document: str, version: str) -> dict[str, str]:
    """GetSdk's parameters for an API's document name (e.g. todo-api) and info.version, per SDK type."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", document) if w]
    service, package = "".join(w.title() for w in words), "".join(w.lower() for w in words)
    prefix = "".join(w[0].upper() for w in words)[:3]
    return {
        "javascript": {},
        "java": {"serviceName": service, "javaPackageName": f"{SDK_GROUP}.{package}", "javaGroupId": SDK_GROUP,
                 "javaArtifactId": document, "javaArtifactVersion": version},
        "android": {"groupId": SDK_GROUP, "invokerPackage": f"{SDK_GROUP}.{package}", "artifactId": document,
                    "artifactVersion": version},
        "objectivec": {"classPrefix": prefix},
        "swift": {"classPrefix": prefix},
        "ruby": {"service.name": service, "ruby.gem-name": "_".join(w.lower() for w in words),
                 "ruby.gem-version": version},
    }[sdk_type]


def sdk_downloads(api: Documentation, fetch: bool = False) -> pulumi.Output[dict[str, Any]]:
    """How to download each SDK of `api`'s stage: the `aws apigateway get-sdk` command and its parameters.

    The SDKs themselves are megabytes each, generated on every read, and GetSdk is rate-limited per account:
    a stack output carries their description, not their bytes. `fetch=True` also calls GetSdk once per SDK
    type (aws.apigateway.get_sdk) and adds each download's id and size, to prove every one generates.
    """
    version = api.document["info"]["version"]
    sdks: dict[str, Any] = {}
    for sdk_type in SDK_TYPES:
        parameters = sdk_parameters(sdk_type, api.name, version)
        flags = " --parameters " + ",".join(f"{k}={v}" for k, v in parameters.items()) if parameters else ""
        entry: dict[str, Any] = {"parameters": parameters, "command": pulumi.Output.format(
            "aws apigateway get-sdk --rest-api-id {0} --stage-name {1} --sdk-type {2}{3} {4}-{2}-sdk.zip",
            api.rest_api.id, api.stage.stage_name, sdk_type, flags, api.name)}
        if fetch:
            sdk = aws.apigateway.get_sdk_output(rest_api_id=api.rest_api.id, stage_name=api.stage.stage_name,
                                                sdk_type=sdk_type, parameters=parameters or None,
                                                opts=pulumi.InvokeOutputOptions(parent=api.rest_api))
            entry["download"] = sdk.apply(lambda r: {"id": r.id, "contentType": r.content_type,
                                                     "contentDisposition": r.content_disposition,
                                                     "bytes": len(r.body or "")})
        sdks[sdk_type] = entry
    return pulumi.Output.from_input({"restApiId": api.rest_api.id, "stage": api.stage.stage_name,
                                     "documentationVersion": api.version.version, "sdks": sdks})
