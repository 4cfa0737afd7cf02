"""Every example a document gives (`x-contract-examples`) is replayed against the real handler on moto, behind
the gateway: the documented status comes back, the answer fits the documented schema, and the fields the
example names in `match` are the example's. An example that lies fails here."""
from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from werkzeug.test import Client

from services.openapi_contracts import DOCS

from .documents import committed
from .handlers import HANDLERS, token_headers


def _examples() -> list[tuple[str, str, str, dict[str, Any]]]:
    found = []
    for name in sorted(HANDLERS):
        for path, item in committed(name)["paths"].items():
            for method, operation in item.items():
                for example in operation.get("x-contract-examples", []):
                    found.append((name, method.upper(), path, example))
    return found


EXAMPLES = _examples()


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with the document's components, for jsonschema (OpenAPI 3.0 `nullable` read as JSON Schema)."""
    return {**_nullable(schema), "components": _nullable(document.get("components", {}))}


def _nullable(value: Any) -> Any:
    if isinstance(value, dict):
        converted = {k: _nullable(v) for k, v in value.items() if k != "nullable"}
        if value.get("nullable") and "type" in value:
            converted["type"] = [value["type"], "null"]
        return converted
    if isinstance(value, list):
        return [_nullable(v) for v in value]
    return value


def _schema_of(document: dict[str, Any], operation: dict[str, Any], status: str) -> dict[str, Any] | None:
    content = operation["responses"][status].get("content", {})
    return content.get("application/json", {}).get("schema")


def test_every_documented_api_has_examples():
    assert {name for name, *_ in EXAMPLES} == set(HANDLERS)
    assert set(HANDLERS) <= {path.stem for path in DOCS.glob("*.json")}


@pytest.mark.parametrize("name, method, path, example", EXAMPLES,
                         ids=[f"{n}:{m} {p}:{e['summary']}" for n, m, p, e in EXAMPLES])
def test_documented_example_is_what_the_handler_answers(gateways, name, method, path, example):
    document = committed(name)
    operation = document["paths"][path][method.lower()]
    request, expected = example["request"], example["response"]
    stage = document["servers"][0]["url"].rsplit("/", 1)[-1]
    url = f"/{stage}" + re.sub(r"\{(\w+)\}", lambda m: request["path"][m.group(1)], path)
    headers = {**token_headers(name), **request.get("headers", {})}
    client = Client(gateways[name])
    body = request.get("body")
    response = client.open(url, method=method, query_string=request.get("query"), headers=headers,
                           data=None if body is None else json.dumps(body),
                           content_type="application/json" if body is not None else None)
    answer = response.get_json(silent=True)
    assert response.status_code == expected["status"], answer
    schema = _schema_of(document, operation, str(expected["status"]))
    if schema is not None:
        jsonschema.validate(answer, _resolved(document, schema))
        jsonschema.validate(expected["body"], _resolved(document, schema))  # the example itself is true
    for field in expected.get("match", []):
        assert answer[field] == expected["body"][field], field
