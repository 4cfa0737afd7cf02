"""`python -m offline [stack]`: the plan CI gates on (exit code, what it prints, the diagrams it writes)."""
import dataclasses
import runpy

import pytest

import offline.__main__ as plan
from offline import diagram_docs
from offline.harness import PROJECT_DIR, StackSnapshot, evaluate_program, read_stack_config

LONG_QUEUE = "orders-awaiting-manual-review-by-the-fulfilment-team-at-eu-warehouse1"
"""69 characters: the queue fits SQS's 80 once auto-named (77); its dead-letter queue "<name>-dlq" (81) doesn't."""


@pytest.fixture
def stacks(monkeypatch, dev_stack, prod_stack):
    """main() plans the session's already-evaluated stacks instead of evaluating them again."""
    snapshots = {"dev": dev_stack, "prod": prod_stack}

    def evaluate(name):
        return snapshots[name]

    monkeypatch.setattr(plan, "evaluate_stack", evaluate)
    return snapshots


@pytest.fixture(scope="module")
def dev_with_a_long_queue_name() -> StackSnapshot:
    def program():
        from serverless_blueprints.secure_queue import SecureQueue

        runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")
        SecureQueue(LONG_QUEUE, {"consumer_timeout_seconds": 30})

    config = read_stack_config("dev")
    return evaluate_program(program, stack="dev", region=config["aws:region"], config=config)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_plan_of_each_real_stack_exits_zero(stacks, stack, capsys):
    assert plan.main([stack]) == 0
    assert capsys.readouterr().out.rstrip().endswith("plan: OK (no mandatory finding, every limit met)")


def test_default_output_is_the_tree_then_the_policy_and_limits_reports(stacks, capsys):
    plan.main(["prod"])
    out = capsys.readouterr().out
    tree, policy_report, limits_report = (out.index(marker) for marker in (
        "stack prod (environment prod)", "policy report (environment prod", "limits report ("))
    assert tree < policy_report < limits_report


def test_no_tree_prints_only_the_reports(stacks, capsys):
    plan.main(["prod", "--no-tree"])
    out = capsys.readouterr().out
    assert out.startswith("policy report") and "├─" not in out


def test_plan_of_dev_accepts_no_finding(stacks, capsys):
    """The dev demo origin is private (a VPC origin): nothing left to suppress."""
    plan.main(["dev", "--no-tree"])
    out = capsys.readouterr().out
    assert "SB-CF-005" not in out and "suppressed (" not in out


def test_a_name_over_its_limit_fails_the_plan_naming_the_resource_and_the_limit(
        monkeypatch, dev_with_a_long_queue_name, capsys):
    monkeypatch.setattr(plan, "evaluate_stack", lambda name: dev_with_a_long_queue_name)
    assert plan.main(["dev", "--no-tree"]) == 1
    captured = capsys.readouterr()
    dlq = f"{LONG_QUEUE}-dlq"
    assert captured.err == (
        "plan: FAILED (0 mandatory policy findings, 1 limit failure):\n"
        f"  SB-LIMIT-001 aws:sqs/queue:Queue '{dlq}': auto-name '{dlq}' + 8 characters is 81 characters; "
        "the Queue limit is 80\n")
    assert "SB-LIMIT-001  1 FAILING" in captured.out


def test_a_mandatory_policy_finding_fails_the_plan(monkeypatch, prod_stack, capsys):
    without_block = dataclasses.replace(prod_stack, resources=[
        r for r in prod_stack.resources if r.name != "todo-files-public-access"])
    monkeypatch.setattr(plan, "evaluate_stack", lambda name: without_block)
    assert plan.main(["prod", "--no-tree"]) == 1
    captured = capsys.readouterr()
    assert captured.err == ("plan: FAILED (1 mandatory policy finding, 0 limit failures):\n"
                            "  SB-S3-001 aws:s3/bucket:Bucket 'todo-files': no public access block\n")


def test_advisory_findings_alone_do_not_fail_the_plan(stacks, capsys):
    assert plan.main(["dev", "--no-tree"]) == 0
    assert "advisory (" in capsys.readouterr().out


def test_unknown_stack_exits_2_naming_the_known_stacks(capsys):
    assert plan.main(["staging"]) == 2
    err = capsys.readouterr().err
    assert "no stack config Pulumi.staging.yaml" in err and "'dev'" in err and "'prod'" in err


def test_diagrams_option_writes_markdown_and_dot_without_graphviz(stacks, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(plan.shutil, "which", lambda name: None)
    assert plan.main(["prod", "--no-tree", "--diagrams", str(tmp_path)]) == 0
    assert (tmp_path / "prod.md").read_text().count("```mermaid") == 1 + len(
        [p for p in (tmp_path / "prod").glob("*.dot")])
    assert (tmp_path / "prod.dot").read_text().startswith('digraph "stack prod"')
    assert not list(tmp_path.rglob("*.svg"))
    assert "SVG images not rendered; `make diagrams` installs it" in capsys.readouterr().err


def test_check_docs_passes_for_the_committed_diagrams(stacks):
    assert plan.main(["prod", "--no-tree", "--check-docs"]) == 0


def test_check_docs_fails_when_the_diagrams_are_stale(stacks, monkeypatch, capsys):
    monkeypatch.setattr(diagram_docs, "stale_docs", lambda arch: ["docs/diagrams/prod.dot is out of date"])
    assert plan.main(["prod", "--no-tree", "--check-docs"]) == 1
    assert "stale diagrams: docs/diagrams/prod.dot is out of date" in capsys.readouterr().err


# --- secrets and placeholders in the stack config ---------------------------------------------------

CIPHERTEXT = "v1:GtXf0pcdmOHK1CqD:Ylr1uPt2CL0D1iz2zdYhtF6Mh7xCwjHk8pS0Nw=="


@pytest.fixture(scope="module")
def prod_with_a_secret(tmp_path_factory):
    """Pulumi.prod.yaml after the README's `pulumi config set --secret --path updateCdn.lockDown.headerValue`."""
    import shutil

    import yaml

    folder = tmp_path_factory.mktemp("secure")
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", folder / "Pulumi.yaml")
    document = yaml.safe_load((PROJECT_DIR / "Pulumi.prod.yaml").read_text())
    document["config"]["serverless-blueprints:updateCdn"]["lockDown"]["headerValue"] = {"secure": CIPHERTEXT}
    (folder / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    config = read_stack_config("prod", folder)
    return config, evaluate_program(lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__"),
                                    stack="prod", region=config["aws:region"], config=config)


def test_a_secure_config_value_is_read_as_an_opaque_secret_not_rejected(prod_with_a_secret):
    config, stack = prod_with_a_secret
    stand_in = config["serverless-blueprints:updateCdn"]["lockDown"]["headerValue"]
    assert CIPHERTEXT not in str(config) and stand_in.startswith("offline-secret-")
    distribution = stack.named("updates-cdn")
    [header] = distribution.props["origins"][0]["customHeaders"]
    assert header["value"] == stand_in
    assert [path for path in distribution.secret_inputs if path.startswith("origins")]
    assert not [r for r in stack.resources if r.name == "updates-origin-secret"]  # the given secret, not a generated one


def test_plan_of_prod_with_a_secure_value_exits_zero(prod_with_a_secret, monkeypatch, capsys):
    monkeypatch.setattr(plan, "evaluate_stack", lambda name: prod_with_a_secret[1])
    assert plan.main(["prod", "--no-tree"]) == 0
