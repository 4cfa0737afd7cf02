"""Two major versions side by side: one RestApi, one deployment, a stage per version that tells the function
which version a request came through (stage variable apiVersion), each with its own logs, limits and alarms."""
import json

import pytest

from offline.harness import evaluate_program
from serverless_blueprints.args import ArgsError
from serverless_blueprints.lambda_function import LambdaFunction
from serverless_blueprints.rest_api import LambdaRestApi
from serverless_blueprints.serverless_rest_api import ServerlessRestApi

FUNCTION = {"code": "todo_api", "memory_mb": 256, "timeout_seconds": 10, "log_retention_days": 14,
            "invoked_by_api_gateway": True}


def api_with(**args):
    def program():
        fn = LambdaFunction("fn", FUNCTION)
        LambdaRestApi("api", {"routes": [{"method": "GET", "path": "/things", "function": fn, "cached": True}],
                              "public": True, "cache": {}, **args})
    return evaluate_program(program)


def test_a_migration_stage_serves_the_same_deployment_beside_v1():
    stack = api_with(migration_stages=["v2"])
    v1, v2 = stack.named("api-stage").props, stack.named("api-v2-stage").props
    assert (v1["stageName"], v2["stageName"]) == ("v1", "v2")
    assert v1["deployment"] == v2["deployment"] == stack.named("api-deployment").outputs["id"]
    assert (v1["variables"], v2["variables"]) == ({"apiVersion": "v1"}, {"apiVersion": "v2"})


def test_each_version_has_its_own_access_logs_throttling_and_cache_settings():
    stack = api_with(migration_stages=["v2"])
    assert stack.named("api-v2-stage").props["accessLogSettings"]["destinationArn"] == \
        stack.named("api-v2-access-logs").outputs["arn"]
    assert stack.named("api-v2-all-methods").props["stageName"] == "v2"
    assert stack.named("api-v2-all-methods").props["settings"]["metricsEnabled"] is True
    assert stack.named("api-v2-GET-things-settings").props["settings"]["cachingEnabled"] is True


def test_a_single_version_api_has_no_stage_variables():
    stack = api_with()
    assert not stack.named("api-stage").props.get("variables")
    assert [s.props["stageName"] for s in stack.of_type("aws:apigateway/stage:Stage")] == ["v1"]


@pytest.mark.parametrize("stages, message", [
    (["v1"], r"migration_stages: 'v1' is already the API's stage_name"),
    (["v-2"], r"migration_stages: expected a list of stage names"),
    (["v2", "v2"], r"migration_stages: expected a list of stage names .*distinct"),
])
def test_bad_migration_stages_are_refused(stages, message):
    with pytest.raises(ArgsError, match=message):
        api_with(migration_stages=stages)


def test_todo_api_serves_v1_and_v2_and_alarms_on_each_stage():
    topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
    stack = evaluate_program(lambda: ServerlessRestApi("todo", {"api_versions": ["v1", "v2"],
                                                                "alarms": {"topic_arn": topic}}))
    assert {s.props["stageName"] for s in stack.of_type("aws:apigateway/stage:Stage")} == {"v1", "v2"}
    alarmed = {(a.props["dimensions"].get("Stage"), a.props["metricName"])
               for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.props["namespace"] ==
               "AWS/ApiGateway"}
    assert alarmed == {(v, m) for v in ("v1", "v2") for m in ("5XXError", "Latency")}


def test_retiring_v1_leaves_v2_as_the_only_stage():
    stack = evaluate_program(lambda: ServerlessRestApi("todo", {"api_versions": ["v2"]}))
    assert [s.props["stageName"] for s in stack.of_type("aws:apigateway/stage:Stage")] == ["v2"]


def test_a_version_the_function_does_not_serve_is_refused():
    with pytest.raises(ArgsError, match=r"api_versions: expected a list of the versions the function serves "
                                        r"\(v1, v2\)"):
        evaluate_program(lambda: ServerlessRestApi("todo", {"api_versions": ["v1", "v3"]}))


V1_DEPRECATED = {"version": "v1", "since": "2026-12-01", "sunset": "2027-06-30",
                 "link": "https://example.com/todo-api/migrate"}


def todo_function_env(args):
    stack = evaluate_program(lambda: ServerlessRestApi("todo", args))
    [function] = stack.of_type("aws:lambda/function:Function")
    return function.props["environment"]["variables"]


def test_a_deprecated_v1_gives_the_function_its_rfc_headers():
    env = todo_function_env({"api_versions": ["v1", "v2"], "deprecation": V1_DEPRECATED})
    assert json.loads(env["DEPRECATED_VERSIONS"]) == {"v1": {
        "Deprecation": "@1796083200",  # 2026-12-01T00:00:00Z: RFC 9745's sf-date, Unix seconds
        "Sunset": "Wed, 30 Jun 2027 00:00:00 GMT",  # RFC 8594: an HTTP-date
        "Link": '<https://example.com/todo-api/migrate>; rel="deprecation"; type="text/html"'}}


def test_without_a_deprecation_no_version_is_deprecated():
    assert json.loads(todo_function_env({"api_versions": ["v1", "v2"]})["DEPRECATED_VERSIONS"]) == {}


@pytest.mark.parametrize("versions, change, message", [
    (["v1", "v2"], {"version": "v2"}, r"deprecation.version: 'v2' can't be deprecated; allowed values: v1 "
                                      r"\(a served version older than the newest, v2\)"),
    (["v2"], {"version": "v1"}, r"deprecation.version: nothing to deprecate: only v2 is served"),
    (["v1"], {}, r"deprecation.version: nothing to deprecate: only v1 is served"),
    (["v1", "v2"], {"since": "1/12/2026"}, r"deprecation.since: expected an ISO date \(YYYY-MM-DD\)"),
    (["v1", "v2"], {"sunset": "2027-02-30"}, r"deprecation.sunset: expected an ISO date \(YYYY-MM-DD\)"),
    (["v1", "v2"], {"sunset": "2026-11-30"}, r"deprecation.sunset: 2026-11-30 is not after since \(2026-12-01\)"),
    (["v1", "v2"], {"link": "http://example.com/migrate"}, r"deprecation.link: expected an https:// URL"),
    (["v1", "v2"], {"link": "https://example.com/a>; rel=x"}, r"deprecation.link: expected an https:// URL"),
    (["v1", "v2"], {"date": "2027-06-30"}, r"deprecation.date: unknown arg; allowed: link, since, sunset, version"),
])
def test_a_bad_deprecation_is_refused_naming_the_arg(versions, change, message):
    with pytest.raises(ArgsError, match=message):
        evaluate_program(lambda: ServerlessRestApi("todo", {"api_versions": versions,
                                                            "deprecation": {**V1_DEPRECATED, **change}}))


def test_the_committed_v2_document_is_v1_with_the_listed_changes():
    from offline.api_versions import CHANGES, path_of, rendered
    for change in CHANGES:
        assert path_of(change).read_text() == rendered(change), (
            f"{path_of(change)} is stale: run .venv/bin/python -m offline.api_versions")


def test_the_v2_document_serves_under_v2_and_adds_only_the_priority():
    import json
    from offline.api_versions import DOCS
    v1, v2 = (json.loads((DOCS / p).read_text()) for p in ("todo-api.json", "v2/todo-api.json"))
    assert v2["servers"][0]["url"].endswith("/v2") and v2["info"]["version"] == "2.0.0"
    assert v1["paths"] == v2["paths"]
    for name in ("Todo", "NewTodo", "TodoChanges"):
        assert set(v2["components"]["schemas"][name]["properties"]) - set(v1["components"]["schemas"][name]
                                                                          ["properties"]) == {"priority"}


def test_the_committed_deprecated_v1_document_is_v1_with_the_deprecation():
    from offline.api_versions import CHANGES, deprecated_path_of, rendered_deprecated
    for change in CHANGES:
        assert deprecated_path_of(change).read_text() == rendered_deprecated(change), (
            f"{deprecated_path_of(change)} is stale: run .venv/bin/python -m offline.api_versions")


def test_v1_beside_v2_is_documented_deprecated_with_the_headers_its_answers_carry():
    import re

    from offline.api_versions import DEPRECATION_HEADERS, DOCS, GATEWAY_ONLY_STATUSES
    v1, deprecated = (json.loads((DOCS / p).read_text()) for p in ("todo-api.json", "v1/todo-api.json"))
    assert deprecated["servers"] == v1["servers"] and deprecated["components"] == v1["components"]
    operations = [op for item in deprecated["paths"].values() for m, op in item.items() if m != "options"]
    assert operations and all(op["deprecated"] is True for op in operations)
    for op in operations:
        for status, response in op["responses"].items():
            declared = set(response.get("headers", {}))
            assert (declared >= set(DEPRECATION_HEADERS)) == (status not in GATEWAY_ONLY_STATUSES), status
    assert not any(op.get("deprecated") for item in v1["paths"].values() for op in item.values()
                   if isinstance(op, dict))  # v1 alone (prod) is not deprecated
    sent = json.loads(todo_function_env({"api_versions": ["v1", "v2"], "deprecation": V1_DEPRECATED})
                      ["DEPRECATED_VERSIONS"])["v1"]
    assert re.fullmatch(DEPRECATION_HEADERS["Deprecation"]["schema"]["pattern"], sent["Deprecation"])


def test_the_dashboard_counts_each_versions_requests_so_v1_is_retired_at_zero():
    topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
    stack = evaluate_program(lambda: ServerlessRestApi("todo", {"api_versions": ["v1", "v2"],
                                                                "alarms": {"topic_arn": topic}}))
    [dashboard] = stack.of_type("aws:cloudwatch/dashboard:Dashboard")
    counted = [w["properties"] for w in json.loads(dashboard.props["dashboardBody"])["widgets"]
               if w["type"] == "metric" and w["properties"]["metrics"][0][1] == "Count"]
    assert [(p["title"], p["stat"], p["metrics"][0][-1]) for p in counted] == [
        ("Requests per hour: todo API v1", "Sum", "v1"), ("Requests per hour: todo API v2", "Sum", "v2")]
    assert not [a for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.props["metricName"] == "Count"]
