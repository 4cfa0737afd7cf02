"""`python -m offline <stack> --base <ref>`: what a change does, from two recorded snapshots.

The fixture pair (fixtures/base, fixtures/head) holds one update, one replace, one stateful delete,
new policy findings and a cost change; the JSON and Markdown renderings are compared exactly with
the committed golden files. Regenerate them with UPDATE_GOLDEN=1 after an intended change.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from offline import replacements
from offline.base_ref import BaseRefError, canonical_snapshot, evaluate_at_ref
from offline.cost import estimate_stack
from offline.diff import PLACEHOLDER, SECRET, diff_snapshots, plan_document, render_markdown, render_text
from offline.harness import evaluate_stack

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "golden"


def _evaluate(side: str):
    return canonical_snapshot(evaluate_stack("fixture", project_dir=FIXTURES / side))


@pytest.fixture(scope="module")
def plan():
    base, head = _evaluate("base"), _evaluate("head")
    return diff_snapshots(base, head, "fixtures/base", cost_base=estimate_stack(base, overrides={}),
                          cost_head=estimate_stack(head, overrides={}))


def _golden(name: str, text: str) -> str:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return path.read_text()


def _change(plan, name):
    return next(c for c in plan.resources if c.name == name)


def test_json_rendering_matches_the_golden_file(plan):
    text = json.dumps(plan_document(plan), indent=1, sort_keys=True) + "\n"
    assert text == _golden("diff.json", text)


def test_markdown_rendering_matches_the_golden_file(plan):
    text = render_markdown(plan) + "\n"
    assert text == _golden("diff.md", text)


def test_changed_input_is_an_update_with_old_and_new_values(plan):
    jobs = _change(plan, "jobs")
    assert jobs.action == "update" and not jobs.stateful
    timeout = next(c for c in jobs.changes if c.path == "visibilityTimeoutSeconds")
    assert (timeout.old, timeout.new, timeout.replaces) == (30, 60, False)


def test_range_key_change_replaces_the_table_and_flags_it_stateful(plan):
    table = _change(plan, "orders")
    assert table.action == "replace" and table.stateful
    assert [c.path for c in table.changes if c.replaces] == ["rangeKey"]
    assert "every item is lost" in table.consequence


def test_deleted_bucket_is_a_stateful_delete_with_its_consequence(plan):
    archive = _change(plan, "archive")
    assert archive.action == "delete" and "holds objects" in archive.consequence


def test_secret_inputs_are_never_shown(plan):
    token = _change(plan, "token")
    assert [(c.old, c.new, c.secret) for c in token.changes] == [("old-token", "new-token", True)]
    for rendered in (render_text(plan), render_markdown(plan), json.dumps(plan_document(plan))):
        assert "old-token" not in rendered and "new-token" not in rendered and SECRET in rendered


def test_mock_arns_are_labelled_placeholders_in_every_format(plan):
    redrive = next(c for c in _change(plan, "jobs").changes if c.path == "redrivePolicy")
    assert redrive.placeholder
    assert f"{PLACEHOLDER}" in render_text(plan) and f"{PLACEHOLDER}" in render_markdown(plan)
    document = plan_document(plan)
    assert "123456789012" in document["placeholders"]
    assert any(ch["placeholder"] for r in document["resources"] for ch in r["changes"])


def test_new_and_gone_findings_are_listed(plan):
    assert ("SB-S3-001", "uploads") in {(f.rule_id, f.name) for f in plan.findings_added}
    assert ("SB-S3-001", "archive") in {(f.rule_id, f.name) for f in plan.findings_removed}


def test_cost_delta_is_the_new_kms_key_and_alarm(plan):
    assert round(plan.cost_head.total - plan.cost_base.total, 2) == 1.10


def test_stateful_changes_are_red_in_a_terminal(plan):
    colored = render_text(plan, color=True)
    assert "\033[31m  +- replace aws:dynamodb/table:Table 'orders'" in colored
    assert "\033[31m" not in render_text(plan)


def test_a_resource_under_a_new_parent_is_named_moved():
    from offline.harness import RecordedResource, StackSnapshot

    def snap(parent):
        urn = f"urn:pulumi:s::p::{parent}$aws:sqs/queue:Queue::q"
        return StackSnapshot("s", [RecordedResource(urn, "aws:sqs/queue:Queue", "q", {}, True)], {}, {})

    plan = diff_snapshots(snap("a"), snap("b"), "x", cost_base=estimate_stack(snap("a"), overrides={}),
                          cost_head=estimate_stack(snap("b"), overrides={}))
    assert {c.action for c in plan.resources} == {"create", "delete"}
    assert all(c.moved for c in plan.resources)


@pytest.mark.parametrize("resource_type, path, replaced", [
    ("aws:dynamodb/table:Table", "hashKey", True),
    ("aws:dynamodb/table:Table", "localSecondaryIndexes[0].rangeKey", True),
    ("aws:dynamodb/table:Table", "pointInTimeRecovery.enabled", False),
    ("aws:s3/bucket:Bucket", "bucket", True),
    ("aws:cognito/userPool:UserPool", "usernameAttributes", True),
    ("aws:cognito/userPool:UserPool", "aliasAttributes", True),
    ("aws:cognito/userPool:UserPool", "mfaConfiguration", False),
    ("aws:kms/key:Key", "customerMasterKeySpec", True),
    ("aws:lambda/function:Function", "name", True),
    ("aws:lambda/function:Function", "memorySize", False),
    ("aws:sqs/queue:Queue", "fifoQueue", True),
    ("aws:rds/instance:Instance", "identifier", True),
    ("aws:rds/instance:Instance", "engine", True),
    ("aws:sqs/queue:Queue", "region", True),
])
def test_replacement_table(resource_type, path, replaced):
    assert replacements.replaces(resource_type, path) is replaced


def test_a_key_attribute_type_change_replaces_the_table():
    old = {"hashKey": "id", "attributes": [{"name": "id", "type": "S"}]}
    new = {"hashKey": "id", "attributes": [{"name": "id", "type": "N"}]}
    assert replacements.custom_replacement("aws:dynamodb/table:Table", old, new) == "attributes"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_base_ref_is_evaluated_in_a_worktree_with_that_commits_code(tmp_path):
    """A repository whose commit has the base program and its own harness; the worktree is removed after."""
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "base", repo)
    (repo / "offline").mkdir()
    (repo / "offline" / "__init__.py").write_text("")
    (repo / "offline" / "harness.py").write_text(
        "from pathlib import Path\n"
        "from serverless_blueprints.testing import evaluate\n\n"
        "def evaluate_stack(stack):\n"
        "    return evaluate(Path(__file__).resolve().parent.parent, stack=stack, project='serverless-blueprints')\n")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "base")
    (repo / "__main__.py").write_text("raise SystemExit('the working tree is not the base')\n")

    base = evaluate_at_ref("fixture", "HEAD", repo=repo)
    expected = _evaluate("base")
    assert sorted((r.urn, json.dumps(r.props, sort_keys=True)) for r in base.snapshot.resources) == \
        sorted((r.urn, json.dumps(r.props, sort_keys=True)) for r in expected.resources)
    listed = subprocess.run(["git", "worktree", "list"], cwd=repo, capture_output=True, text=True).stdout
    assert len(listed.strip().splitlines()) == 1

    absent = evaluate_at_ref("nostack", "HEAD", repo=repo)
    assert absent.absent and absent.snapshot.resources == []
    with pytest.raises(BaseRefError, match="not a commit"):
        evaluate_at_ref("fixture", "no-such-ref", repo=repo)


@pytest.fixture
def fixture_plan_main(monkeypatch):
    """`python -m offline fixture --base x` with the fixture pair standing in for the working tree and the ref."""
    import offline.__main__ as plan_main
    from offline import base_ref

    head = evaluate_stack("fixture", project_dir=FIXTURES / "head")
    base = base_ref.BaseSnapshot(ref="x", commit="0" * 40, snapshot=_evaluate("base"))
    monkeypatch.setattr(plan_main, "evaluate_stack", lambda stack: head)
    monkeypatch.setattr(base_ref, "evaluate_at_ref", lambda stack, ref: base)
    return plan_main


def test_main_with_base_prints_the_diff_before_the_verdict(fixture_plan_main, capsys):
    assert fixture_plan_main.main(["fixture", "--no-tree", "--base", "x"]) == 1  # the head has mandatory findings
    out = capsys.readouterr().out
    assert out.index("cost estimate (") < out.index("diff of stack fixture against x (0000000)") \
        < out.index("plan: FAILED")
    assert "+- replace aws:dynamodb/table:Table 'orders'" in out


def test_main_markdown_with_base_is_the_pr_comment(fixture_plan_main, capsys):
    fixture_plan_main.main(["fixture", "--base", "x", "--format", "markdown"])
    out = capsys.readouterr().out
    golden = (GOLDEN / "diff.md").read_text().replace("fixtures/base", "x (0000000)")
    assert out.startswith(golden.rstrip("\n")) and "> plan: FAILED" in out and "├─" not in out


def test_main_json_and_snapshot_out_round_trip(fixture_plan_main, capsys, tmp_path):
    from offline.base_ref import load_snapshot

    fixture_plan_main.main(["fixture", "--format", "json", "--snapshot-out", str(tmp_path / "s.json")])
    document = json.loads(capsys.readouterr().out)
    assert document["diff"] is None and document["ok"] is False and document["cost"]["total"] == 2.1
    snapshot, absent = load_snapshot(tmp_path / "s.json")
    assert not absent and {r.name for r in snapshot.resources} >= {"orders", "jobs", "uploads"}


def test_a_replacement_cascades_to_inputs_holding_the_old_arn():
    """A new table ARN updates the policy that names it and replaces the mapping that reads its stream."""
    from offline.harness import RecordedResource, StackSnapshot

    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/t-1234567"

    def snap(hash_key):
        table = RecordedResource("urn:t", "aws:dynamodb/table:Table", "t", {"hashKey": hash_key}, True,
                                 outputs={"arn": arn, "id": "t-1234567", "name": "t-1234567"})
        policy = RecordedResource("urn:p", "aws:iam/rolePolicy:RolePolicy", "p", {"policy": f'{{"Resource": "{arn}"}}'},
                                  True)
        mapping = RecordedResource("urn:m", "aws:lambda/eventSourceMapping:EventSourceMapping", "m",
                                   {"eventSourceArn": f"{arn}/stream/1"}, True)
        return StackSnapshot("s", [table, policy, mapping], {}, {})

    base, head = snap("id"), snap("pk")
    plan = diff_snapshots(base, head, "x", cost_base=estimate_stack(base, overrides={}),
                          cost_head=estimate_stack(head, overrides={}))
    actions = {c.name: c.action for c in plan.resources}
    assert actions == {"t": "replace", "p": "update", "m": "replace"}
