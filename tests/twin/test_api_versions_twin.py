"""The dev twin: v1 and v2 of the todo API side by side (two stages of one API, one function through `live`),
and the shop's health API through its alias."""
from __future__ import annotations

import pytest

from tests.twin.fakes import LambdaProcess
from tests.twin.test_canary_twin import twin_of
from twin.permissions import evaluate_calls
from twin.scenarios import token_headers


def test_a_todo_written_through_v2_reads_through_v1_without_the_v2_field(dev_stack):
    with twin_of(dev_stack, LambdaProcess, judge=evaluate_calls) as twin:
        component = next(r for r in dev_stack.resources if r.resource_type.endswith(":ServerlessRestApi"))
        v1 = twin.api_under(component)
        v2 = v1.stage("v2")
        assert (v1.stage_names, v1.stage_name, v2.stage_name) == (["v1", "v2"], "v1", "v2")
        user = twin.user(twin.one_under(component, "aws:cognito/userPoolClient:UserPoolClient"), "v2@example.com")

        created = v2.request("POST", "/todos", headers=token_headers(v2, user),
                             body={"title": "Pay rent", "priority": "high"})
        assert created.status == 201, created.body
        assert created.json()["priority"] == "high"
        read = v1.request("GET", f"/todos/{created.json()['todoId']}", headers=token_headers(v1, user))
        assert read.status == 200 and "priority" not in read.json()
        refused = v1.request("POST", "/todos", headers=token_headers(v1, user),
                             body={"title": "Pay rent", "priority": "high"})
        assert refused.status == 400
        invocations = [i for i in twin.service.ledger if i.source.startswith("apigateway")]
        assert invocations and not any(i.denied or i.unjudged for i in invocations)


def test_dev_v1_answers_say_it_is_deprecated_and_v2_answers_do_not(dev_stack):
    """RFC 9745 Deprecation, RFC 8594 Sunset and the migration Link on every v1 answer, a refusal too."""
    with twin_of(dev_stack, LambdaProcess) as twin:
        component = next(r for r in dev_stack.resources if r.resource_type.endswith(":ServerlessRestApi"))
        v1 = twin.api_under(component)
        v2 = v1.stage("v2")
        user = twin.user(twin.one_under(component, "aws:cognito/userPoolClient:UserPoolClient"), "v1@example.com")
        listed = v1.request("GET", "/todos", headers={**token_headers(v1, user), "Origin": "https://app.example.com"})
        refused = v1.request("POST", "/todos", headers=token_headers(v1, user), body={"title": ""})
        assert (listed.status, refused.status) == (200, 400), (listed.body, refused.body)
        for answer in (listed, refused):
            assert answer.headers["Deprecation"].startswith("@")
            assert answer.headers["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
            assert answer.headers["Link"] == '<https://example.com/todo-api/migrate-to-v2>; rel="deprecation"; ' \
                                             'type="text/html"'
        assert {"Deprecation", "Sunset", "Link"} <= set(listed.headers["Access-Control-Expose-Headers"].split(","))
        through_v2 = v2.request("GET", "/todos", headers=token_headers(v2, user))
        assert through_v2.status == 200 and not {"Deprecation", "Sunset", "Link"} & set(through_v2.headers)


def test_a_stage_the_api_does_not_have_is_refused(dev_stack):
    with twin_of(dev_stack, LambdaProcess) as twin:
        component = next(r for r in dev_stack.resources if r.resource_type.endswith(":ServerlessRestApi"))
        with pytest.raises(KeyError, match="no stage 'v3'"):
            twin.api_under(component).stage("v3")


def test_the_shop_health_api_answers_through_its_alias_within_its_role(dev_stack):
    with twin_of(dev_stack, LambdaProcess, judge=evaluate_calls) as twin:
        component = next(r for r in dev_stack.resources if r.resource_type.endswith(":ShopHealth"))
        api = twin.api_under(component)
        answer = api.request("GET", "/health")
        assert answer.status == 200, answer.body
        assert answer.json()["status"] == "ok"
        [invocation] = [i for i in twin.service.ledger if i.function == dev_stack.named("shop-health-handler-fn")
                        .outputs["name"] and i.source.startswith("apigateway")]
        assert not invocation.denied and not invocation.unjudged
