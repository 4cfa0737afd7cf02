"""API Gateway REST (v1) proxy events as the Cognito authorizer delivers them, for the PaidContent apps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Optional

REGION = "eu-west-1"
API_ID = "p4idc0nt3n"


@dataclass
class LambdaContext:
    function_name: str = "paid-content"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:paid-content"
    aws_request_id: str = "52fdfc07-2182-454f-963f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def rest_event(method: str, path: str, resource: str, *, claims: Optional[dict] = None,
               query: Optional[dict] = None, path_parameters: Optional[dict] = None,
               body: Any = None, raw_body: Optional[str] = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Host": f"{API_ID}.execute-api.{REGION}.amazonaws.com"}
    return {
        "resource": resource, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters, "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": method, "path": f"/v1{path}", "accountId": "123456789012",
            "stage": "v1", "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "apiId": API_ID,
            "identity": {"sourceIp": "203.0.113.10"},
            "authorizer": {"claims": claims} if claims is not None else None,
        },
        "body": raw_body if raw_body is not None else (json.dumps(body) if body is not None else None),
        "isBase64Encoded": False,
    }


def call(module, event: dict[str, Any]) -> tuple[int, dict[str, list[str]], Any]:
    response = module.handler(event, LambdaContext())
    return response["statusCode"], response.get("multiValueHeaders") or {}, json.loads(response["body"])
