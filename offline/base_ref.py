"""The stack as it was at a git ref: a temporary worktree of that commit, recorded in a subprocess.

    base = evaluate_at_ref("dev", "origin/main")     # BaseSnapshot(ref, commit, snapshot)

The worktree is created next to nothing the main checkout uses (a temporary folder) and removed
afterwards; the main checkout's branch, index and files are never touched. The subprocess runs
this interpreter (same pulumi and pulumi-aws) on `offline/snapshot_runner.py`, which imports the
base's own code, so a base with other modules or another harness is still evaluated as it was.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from offline.harness import PROJECT_DIR, RecordedResource, StackSnapshot
from offline.snapshot_runner import FORMAT, snapshot_document

RUNNER = Path(__file__).resolve().parent / "snapshot_runner.py"
TIMEOUT_SECONDS = 300


class BaseRefError(RuntimeError):
    """The base ref can't be resolved or its stack can't be evaluated."""


@dataclass(frozen=True)
class BaseSnapshot:
    ref: str
    """The ref as given (e.g. origin/main)."""
    commit: str
    """The commit it resolved to."""
    snapshot: StackSnapshot
    absent: bool = False
    """The stack had no Pulumi.<stack>.yaml at that commit (every resource is new)."""


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise BaseRefError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def resolve_commit(ref: str, repo: Path = PROJECT_DIR) -> str:
    return _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repo)


def load_snapshot(path: Path) -> tuple[StackSnapshot, bool]:
    """A snapshot file written by snapshot_runner (or `--snapshot-out`), and whether the stack was absent."""
    document = json.loads(Path(path).read_text())
    if document.get("format") != FORMAT:
        raise BaseRefError(f"{path}: snapshot format {document.get('format')!r}, expected {FORMAT}")
    return from_document(document), bool(document.get("absent"))


def canonical_snapshot(snapshot: StackSnapshot) -> StackSnapshot:
    """The snapshot as the file would hold it (assets by digest), to compare with a loaded base.

    Take it before evaluating the base: both write their Lambda zips to the same cache paths."""
    return from_document(json.loads(json.dumps(snapshot_document(snapshot))))


def from_document(document: dict) -> StackSnapshot:
    resources = [RecordedResource(urn=r["urn"], resource_type=r["type"], name=r["name"], props=r["props"],
                                  custom=r["custom"], parent=r.get("parent"), dependencies=r.get("dependencies", []),
                                  provider=r.get("provider"), outputs=r.get("outputs", {}),
                                  secret_inputs=r.get("secret_inputs", []))
                 for r in document["resources"]]
    providers = {r.urn: r for r in resources if r.resource_type.startswith("pulumi:providers:")}
    return StackSnapshot(stack=document["stack"], resources=resources, exports=document.get("exports", {}),
                         providers=providers)


def record_checkout(checkout: Path, stack: str, out: Path) -> None:
    """Run the runner on `checkout` in a fresh interpreter; raise BaseRefError with its stderr on failure."""
    try:
        done = subprocess.run([sys.executable, str(RUNNER), str(checkout), stack, str(out)],
                              cwd=checkout, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as error:
        raise BaseRefError(f"evaluating {stack} in {checkout} took over {TIMEOUT_SECONDS}s") from error
    if done.returncode != 0 or not out.is_file():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise BaseRefError(f"evaluating stack {stack} at the base failed (exit {done.returncode}):\n{tail}")


def evaluate_at_ref(stack: str, ref: str, repo: Path = PROJECT_DIR) -> BaseSnapshot:
    """Record `stack` as committed at `ref`, through a temporary `git worktree` removed afterwards."""
    try:
        commit = resolve_commit(ref, repo)
    except BaseRefError:
        raise BaseRefError(f"--base {ref}: not a commit in {repo} (fetch it first, e.g. git fetch origin main)") \
            from None
    with tempfile.TemporaryDirectory(prefix="sb-base-") as scratch:
        checkout = Path(scratch) / "checkout"
        out = Path(scratch) / "snapshot.json"
        _git("worktree", "add", "--detach", "--quiet", str(checkout), commit, cwd=repo)
        try:
            record_checkout(checkout, stack, out)
            snapshot, absent = load_snapshot(out)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(checkout)], cwd=repo,
                           capture_output=True)
    return BaseSnapshot(ref=ref, commit=commit, snapshot=snapshot, absent=absent)
