"""A tiny stand-in for API Gateway (REST, v1 proxy integration) in front of a Lambda handler.

`python -m services.local_run.rest_gateway --port 8081 [--handler cart_api.handler.handler]`
turns each HTTP request into a REST v1 proxy event, calls the handler in-process, and writes its
answer back. Like one Lambda execution environment, it runs one invocation at a time.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HEALTH_PATH = "/_gateway/health"


class LambdaContext:
    function_name = "cart-api-local"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:cart-api-local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 29

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def proxy_event(method: str, raw_path: str, headers: dict[str, str], body: bytes, stage: str = "local") -> dict[str, Any]:
    """The REST API v1 proxy event API Gateway would send for this request (`/{proxy+}` resource)."""
    parts = urlsplit(raw_path)
    query = parse_qs(parts.query, keep_blank_values=True)
    text: str | None
    is_base64 = False
    if not body:
        text = None
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode("ascii"), True
    return {
        "resource": "/{proxy+}",
        "path": parts.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": parts.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/{stage}{parts.path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
            "accountId": "123456789012",
            "apiId": "local",
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }


def serve(port: int, handler_path: str) -> None:
    module_name, _, attribute = handler_path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    one_at_a_time = threading.Lock()

    class Gateway(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes: without this, Nagle + delayed ACK add 40 ms
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _invoke(self) -> None:
            if self.path == HEALTH_PATH:
                return self._write(200, {"Content-Type": "application/json"}, b'{"status":"ok"}')
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            event = proxy_event(self.command, self.path, dict(self.headers.items()), body)
            with one_at_a_time:
                answer = handler(event, LambdaContext())
            payload = answer.get("body") or ""
            data = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode("utf-8")
            headers = dict(answer.get("headers") or {})
            for name, values in (answer.get("multiValueHeaders") or {}).items():
                headers[name] = ", ".join(values)
            self._write(int(answer.get("statusCode", 200)), headers, data)

        def _write(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _invoke  # noqa: N815

        def log_message(self, *_args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Gateway)
    server.daemon_threads = True
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--handler", default="cart_api.handler.handler")
    args = parser.parse_args()
    serve(args.port, args.handler)


if __name__ == "__main__":
    main()
