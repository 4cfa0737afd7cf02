"""Schemathesis generates requests from each committed document and sends them to the real handler on moto,
behind the gateway (tests/contract/gateway.py): no answer is a 5xx, no status code is undocumented, and every
documented answer fits its schema (body, content type, headers).

Bounded so the whole suite stays quick: MAX_EXAMPLES per operation and mode. Positive requests (what a client
that follows the document may send) get every check; negative ones (breaking the document) must be refused
with a documented status and never a 5xx. tests/functions/test_api_fuzz.py sends arbitrary malformed events."""
from __future__ import annotations

import traceback

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from .documents import committed
from .handlers import HANDLERS, token_headers

MAX_EXAMPLES = 15
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
OPERATIONS = [(name, method.upper(), path) for name in sorted(HANDLERS)
              for path, item in committed(name)["paths"].items() for method in item]


@pytest.mark.parametrize("name, method, path", OPERATIONS, ids=[f"{n}:{m} {p}" for n, m, p in OPERATIONS])
def test_generated_requests_get_documented_answers(gateways, name, method, path):
    schema = schemathesis.openapi.from_dict(committed(name))
    operation = schema[path][method]
    headers = token_headers(name)

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                     HealthCheck.function_scoped_fixture])
    def run(case):
        case.call_and_validate(app=gateways[name], headers=headers, checks=CHECKS)

    run()


@pytest.mark.parametrize("name, method, path", OPERATIONS, ids=[f"{n}:{m} {p}" for n, m, p in OPERATIONS])
def test_requests_breaking_the_document_are_refused_with_documented_4xx(gateways, name, method, path):
    documented = committed(name)["paths"][path][method.lower()]
    if not documented.get("parameters") and "requestBody" not in documented and "security" not in committed(name):
        pytest.skip("nothing in the request to break: no parameters, no body, no auth (e.g. shop-health)")
    operation = schemathesis.openapi.from_dict(committed(name))[path][method]
    headers = token_headers(name)

    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(app=gateways[name], headers=headers, checks=[not_a_server_error,
                                                                            status_code_conformance])

    run()


def _run_against(gateway, document, path, method, headers):
    operation = schemathesis.openapi.from_dict(document)[path][method]

    @given(case=operation.as_strategy())
    @settings(max_examples=5, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(app=gateway, headers=headers, checks=CHECKS)

    run()


def _edited(name, edit):
    document = committed(name)
    edit(document)
    return document


GUARDS = {
    "an undocumented status code": (
        "todo-api", "/todos", "POST", lambda d: d["paths"]["/todos"]["post"]["responses"].pop("201"),
        "Undocumented status code"),
    "an answer that doesn't fit its schema": (
        "todo-api", "/todos", "POST", lambda d: d["components"]["schemas"]["Todo"]["properties"].__setitem__(
            "done", {"type": "string"}), "Response violates schema"),
}


@pytest.mark.parametrize("guard", sorted(GUARDS))
def test_the_property_based_checks_fail_on(gateways, guard):
    name, path, method, edit, message = GUARDS[guard]
    try:
        _run_against(gateways[name], _edited(name, edit), path, method, token_headers(name))
    except BaseExceptionGroup as failure:  # Schemathesis reports its failures as a group
        assert message in "".join(traceback.format_exception(failure))
    else:
        pytest.fail(f"no failure reported for {guard}")
