"""The policy and limits reports the offline plan prints, and the verdict CI reads."""
from offline.harness import RecordedResource, StackSnapshot
from offline.report import (evaluate_snapshot, render_limits_report, render_policy_report, render_verdict,
                            stack_environment, stale_suppressions, tightest_names)
from policy import Suppression

BUCKET = "aws:s3/bucket:Bucket"
DAX = "aws:dax/cluster:Cluster"
TABLE = "aws:dynamodb/table:Table"


def provider(environment="dev"):
    return RecordedResource(
        urn="urn:pulumi:t::serverless-blueprints::pulumi:providers:aws::home", resource_type="pulumi:providers:aws",
        name="home", custom=True, props={"region": "eu-west-1", "defaultTags": {"tags": {"environment": environment}}})


def resource(token, name, props, home):
    return RecordedResource(urn=f"urn:pulumi:t::serverless-blueprints::{token}::{name}", resource_type=token,
                            name=name, props=props, custom=True, provider=f"{home.urn}::home-provider-id")


def snapshot(*resources, environment="dev", stack="t"):
    home = provider(environment)
    made = [resource(token, name, props, home) for token, name, props in resources]
    return StackSnapshot(stack=stack, resources=[home, *made], exports={}, providers={home.urn: home})


def table(name, **props):
    return (TABLE, name, {"name": name, "pointInTimeRecovery": {"enabled": True},
                          "serverSideEncryption": {"enabled": True}, "deletionProtectionEnabled": True, **props})


def dax(name, **props):
    """A DAX cluster the pack accepts (SSE, TLS endpoint); DAX names are at most 20 characters."""
    return (DAX, name, {"serverSideEncryption": {"enabled": True}, "clusterEndpointEncryptionType": "TLS",
                        "nodeType": "dax.t3.small", "replicationFactor": 3, **props})


def test_environment_comes_from_the_providers_default_tags():
    assert stack_environment(snapshot(environment="prod", stack="staging")) == "prod"


def test_environment_falls_back_to_the_stack_name():
    bare = StackSnapshot(stack="dev", resources=[], exports={}, providers={})
    assert stack_environment(bare) == "dev"


def test_unknown_environment_is_left_to_the_pack():
    assert stack_environment(StackSnapshot(stack="unit", resources=[], exports={}, providers={})) is None


def test_policy_report_lists_mandatory_findings_with_their_fix():
    report = evaluate_snapshot(snapshot(table("orders", pointInTimeRecovery={"enabled": False})))
    text = render_policy_report(report)
    assert "1 mandatory" in text.splitlines()[0]
    assert "  mandatory (1):\n    SB-DDB-001  aws:dynamodb/table:Table 'orders': " in text
    assert "               fix: " in text


def test_policy_report_lists_advisory_findings_apart():
    report = evaluate_snapshot(snapshot(table("orders", deletionProtectionEnabled=False)))
    text = render_policy_report(report)
    assert "  mandatory: none" in text
    assert "  advisory (1):\n    SB-DDB-002  aws:dynamodb/table:Table 'orders': table without deletion protection" in text


def test_policy_report_shows_each_suppression_with_its_reason():
    accepted = Suppression("SB-DDB-001", "orders", "rebuilt nightly from the event archive", environments=("dev",))
    report = evaluate_snapshot(snapshot(table("orders", pointInTimeRecovery={"enabled": False})),
                               suppressions=[accepted])
    text = render_policy_report(report)
    assert report.ok
    assert "suppressed (1, accepted in policy/suppressions.py):" in text
    assert "reason: rebuilt nightly from the event archive" in text


def test_a_suppression_that_matches_nothing_is_reported_as_stale():
    gone = Suppression("SB-DDB-001", "orders", "rebuilt nightly", environments=("dev",))
    report = evaluate_snapshot(snapshot(table("orders")), suppressions=[gone])
    assert stale_suppressions(report) == [gone]
    assert "stale suppression: SB-DDB-001 'orders' matched nothing" in render_policy_report(report)


def test_a_suppression_for_another_environment_is_not_stale_here():
    prod_only = Suppression("SB-DDB-001", "orders", "rebuilt nightly", environments=("prod",))
    assert stale_suppressions(evaluate_snapshot(snapshot(table("orders")), suppressions=[prod_only])) == []


def test_limits_report_names_the_failing_resource_and_the_limit():
    stack = snapshot(dax("todo-cache", clusterName="todo-cache-production"))
    text = render_limits_report(stack, evaluate_snapshot(stack))
    assert text.splitlines()[0].endswith("1 failing")
    assert "SB-LIMIT-001  1 FAILING" in text
    assert ("- aws:dax/cluster:Cluster 'todo-cache': name 'todo-cache-production' is 21 characters; "
            "the Cluster limit is 20") in text


def test_limits_report_lists_every_check_when_all_pass():
    stack = snapshot(dax("todo-cache", clusterName="todo-prod"))
    text = render_limits_report(stack, evaluate_snapshot(stack))
    assert text.splitlines()[0].endswith("all within limits")
    assert all(f"{rule}  ok" in text for rule in ("SB-LIMIT-001", "SB-LIMIT-002", "SB-ORDER-001"))


def test_tightest_names_come_first_relative_to_their_own_limit():
    stack = snapshot(table("t" * 200), dax("cache", clusterName="c" * 18), (BUCKET, "b" * 40, {}))
    rows = tightest_names(stack)
    assert [(r[0].name, r[2], r[3], r[4]) for r in rows] == [
        ("cache", 18, 20, "name"), ("t" * 200, 200, 255, "name"), ("b" * 40, 48, 63, "auto-name")]


def test_a_name_pulumi_generates_counts_its_8_character_suffix():
    stack = snapshot((BUCKET, "uploads", {}))
    [(resource, planned, length, limit, how)] = tightest_names(stack)
    assert (length, limit, how) == (len("uploads") + 8, 63, "auto-name")


def test_verdict_is_ok_without_mandatory_findings():
    assert render_verdict(evaluate_snapshot(snapshot(dax("cache", clusterName="cache")))) == \
        "plan: OK (no mandatory finding, every limit met)"


def test_verdict_names_each_failure_with_its_rule():
    stack = snapshot(dax("cache", clusterName="c" * 21), table("orders", pointInTimeRecovery={"enabled": False}))
    lines = render_verdict(evaluate_snapshot(stack)).splitlines()
    assert lines[0] == "plan: FAILED (1 mandatory policy finding, 1 limit failure):"
    assert sorted(line.split(" ")[2] for line in lines[1:]) == ["SB-DDB-001", "SB-LIMIT-001"]
