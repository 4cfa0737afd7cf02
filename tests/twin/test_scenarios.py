"""The whole twin of each stack is green with zero denied calls, and each guard that would turn it red fires.

The first two tests run every scenario against the real functions (twin.lambda_process: the real
zip and layer in a python3.13 sandbox) on one moto server per stack. The guard tests use the
in-process stand-in (tests/twin/fakes.py): they are about the report, not the runtime.
"""
from __future__ import annotations

import copy
import json

import pytest

from offline.harness import StackSnapshot
from tests.twin import fakes
from twin.report import FAIL, PASS, TwinReport
from twin.scenarios import SCENARIOS, run_stack

IN_PROCESS = {"runner": fakes.LambdaProcess, "artifact_for": fakes.artifact_from_resource}


def _scenario(name: str):
    return tuple(s for s in SCENARIOS if s.name == name)


def _assert_green(report: TwinReport) -> None:
    assert report.judged, "twin/permissions.py is missing: no call was judged"
    assert report.ok, report.render()
    assert report.denied == []
    assert report.never_invoked == []


@pytest.fixture(scope="module")
def dev_report(dev_stack) -> TwinReport:
    return run_stack("dev", snapshot=dev_stack)


@pytest.fixture(scope="module")
def prod_report(prod_stack) -> TwinReport:
    return run_stack("prod", snapshot=prod_stack)


def test_dev_twin_is_green_with_no_denied_calls(dev_report):
    _assert_green(dev_report)
    assert {s.name for s in dev_report.scenarios if s.status == PASS} >= {"todo", "blog", "thumbnails", "outbox"}
    assert "UpdateOffloadCdn" in {s.name for s in dev_report.scenarios if s.status == "no functions"}


def test_prod_twin_is_green_with_no_denied_calls(prod_report):
    _assert_green(prod_report)
    todo = next(s for s in prod_report.scenarios if s.name == "todo")
    assert any(c.name.startswith("cached GET") and c.ok for c in todo.checks), "prod's stage cache was not exercised"
    assert any("no DAX data plane" in note for note in prod_report.notes)


def test_a_filter_that_matches_nothing_invokes_nothing_and_shows_in_the_report(dev_stack):
    changed = copy.deepcopy(dev_stack)
    mapping = changed.named("blog-welcome-stream")
    mapping.props["filterCriteria"] = {"filters": [{"pattern": json.dumps({"eventName": ["REMOVE"]})}]}
    welcome = mapping.props["functionName"].rsplit(":", 1)[1]

    report = run_stack("dev", snapshot=changed, scenarios=_scenario("blog"), **IN_PROCESS)

    row = next(m for m in report.mappings if m.name == "blog-welcome-stream")
    assert row.invocations == 0 and row.filtered_out >= 1
    assert welcome in report.never_invoked
    blog = next(s for s in report.scenarios if s.name == "blog")
    assert blog.status == FAIL
    assert "exactly one confirmation email (SES), even for two subscribes" in {c.name for c in blog.failed_checks}
    assert not report.ok and f"never invoked: {welcome}" in report.render()


def test_a_function_never_invoked_fails_the_report():
    report = TwinReport(stack="unit", functions=["used-fn", "forgotten-fn"], invoked={"used-fn"})
    assert report.never_invoked == ["forgotten-fn"]
    assert not report.ok
    assert "never invoked: forgotten-fn" in report.render()


def test_a_denied_call_fails_the_report(dev_stack: StackSnapshot):
    from twin.permissions import evaluate_calls

    table = dev_stack.named("todo-todos").outputs["name"]

    def judge_with_an_injected_call(snapshot, function, calls, names=None):
        injected = fakes.AwsCall("dynamodb", "PutItem", {"TableName": table, "Item": {"userId": {"S": "x"}}},
                                 "eu-west-1", None)
        return evaluate_calls(snapshot, function, [*calls, injected], names=names)

    report = run_stack("dev", snapshot=dev_stack, scenarios=_scenario("thumbnails"), judge=judge_with_an_injected_call,
                       **IN_PROCESS)

    thumbnails = next(s for s in report.scenarios if s.name == "thumbnails")
    assert thumbnails.status == PASS  # the scenario itself works; only the injected call is wrong
    assert thumbnails.denied and all("dynamodb:PutItem" in d for d in thumbnails.denied)
    assert not report.ok
    assert any(reason.startswith("denied: ") for reason in report.failures)
