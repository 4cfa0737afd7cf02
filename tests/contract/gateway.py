"""API Gateway's REST proxy in front of a real handler, as a WSGI app for the contract tests.

What the gateway does before the function runs is done here too, from the same document: only the
documented routes are served (403 otherwise, as API Gateway answers), an authorized method without its
token header is refused 401, a body that fails the gateway's model is refused 400. The request then
becomes a REST (v1) proxy event with the route's resource, path parameters and the caller's Cognito
claims, and the function's answer is written back.
"""
from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from werkzeug.wrappers import Request, Response

REGION = "eu-west-1"
ACCOUNT = "123456789012"
GATEWAY_ERROR_HEADERS = {"Content-Type": "application/json", "x-amzn-ErrorType": "ForbiddenException"}


@dataclass
class LambdaContext:
    function_name: str = "contract"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:contract"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass(frozen=True)
class _Route:
    method: str
    resource: str
    pattern: re.Pattern[str]
    operation: dict[str, Any]


def _routes(document: dict[str, Any]) -> list[_Route]:
    routes = []
    for path, item in document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")
        routes += [_Route(method.upper(), path, pattern, operation) for method, operation in item.items()]
    return routes


class RestGateway:
    """`handler(event, context)` behind the document's routes; `claims` are what the Cognito authorizer
    would pass for the caller, `claims_by_token` another caller's for a given token header value (e.g. a
    user outside the group); `headers` are added to every request (e.g. CloudFront's origin header)."""

    def __init__(self, document: dict[str, Any], handler: Callable[[dict, Any], dict],
                 claims: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                 claims_by_token: dict[str, dict[str, str]] | None = None) -> None:
        self.document, self.handler = document, handler
        self.claims, self.headers = claims, headers or {}
        self.claims_by_token = claims_by_token or {}
        self.routes = _routes(document)
        self.stage = document["servers"][0]["url"].rsplit("/", 1)[-1]
        schemes = document.get("components", {}).get("securitySchemes", {})
        self.token_headers = {name: scheme["name"] for name, scheme in schemes.items()}

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        return self.answer(Request(environ))(environ, start_response)

    def answer(self, request: Request) -> Response:
        # The invoke URL is the stage's: https://{api}.execute-api.{region}.amazonaws.com/v1/...
        if not request.path.startswith(f"/{self.stage}/"):
            return _gateway(403, "Missing Authentication Token")
        path = request.path.removeprefix(f"/{self.stage}")
        match = next(((route, found) for route in self.routes if route.method == request.method
                      for found in [route.pattern.match(path)] if found), None)
        if match is None:
            return _gateway(403, "Missing Authentication Token")
        route, found = match
        for requirement in route.operation.get("security", []):
            for scheme in requirement:
                if not request.headers.get(self.token_headers[scheme]):
                    return _gateway(401, "Unauthorized")
        raw = request.get_data()
        model = route.operation.get("x-gateway-request-model")
        if model is not None and request.mimetype == "application/json" and not _valid(model, raw):
            return _gateway(400, "Invalid request body")
        event = self.event(request, path, route, found.groupdict(), raw)
        result = self.handler(event, LambdaContext())
        return _response(result)

    def event(self, request: Request, path: str, route: _Route, path_parameters: dict[str, str],
              raw: bytes) -> dict[str, Any]:
        headers = {**dict(request.headers.items()), **self.headers}
        query = request.args.to_dict(flat=False)
        try:
            body, is_base64 = (raw.decode("utf-8") if raw else None), False
        except UnicodeDecodeError:
            body, is_base64 = base64.b64encode(raw).decode("ascii"), True
        stage = self.stage
        context: dict[str, Any] = {
            "resourcePath": route.resource, "httpMethod": route.method, "path": f"/{stage}{path}",
            "accountId": ACCOUNT, "stage": stage, "requestId": str(uuid.uuid4()), "apiId": "c0ntract01",
            "identity": {"sourceIp": "203.0.113.10"}, "protocol": "HTTP/1.1",
            "domainName": f"c0ntract01.execute-api.{REGION}.amazonaws.com",
        }
        if route.operation.get("security") and self.claims is not None:
            tokens = [request.headers.get(header) for header in self.token_headers.values()]
            claims = next((self.claims_by_token[t] for t in tokens if t in self.claims_by_token), self.claims)
            context["authorizer"] = {"claims": claims}
        return {
            "resource": route.resource, "path": path, "httpMethod": route.method,
            "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": path_parameters or None, "stageVariables": None, "requestContext": context,
            "body": body, "isBase64Encoded": is_base64,
        }


def _valid(model: dict[str, Any], raw: bytes) -> bool:
    try:
        jsonschema.Draft4Validator(model).validate(json.loads(raw))
    except (ValueError, jsonschema.ValidationError):
        return False
    return True


def _gateway(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, headers=GATEWAY_ERROR_HEADERS)


def _response(result: dict[str, Any]) -> Response:
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    response = Response(data, status=result["statusCode"])
    response.headers.remove("Content-Type")  # only what the function says
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = value
    for name, values in (result.get("multiValueHeaders") or {}).items():
        response.headers.remove(name)
        for value in values:
            response.headers.add(name, value)
    return response
