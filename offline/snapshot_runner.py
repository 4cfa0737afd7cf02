"""Record a stack of another checkout (a `git worktree` of the base ref) as a JSON snapshot file.

    python offline/snapshot_runner.py <checkout> <stack> <out.json>

Run by `python -m offline <stack> --base <ref>` in a subprocess, so the base's own code is
imported, not this tree's: the base may have other modules, other components, another harness.
This file is passed to that interpreter by path, so it imports nothing from this tree; it needs
only the standard library and what the base itself imports.

Two ways, newest first:
  * the base's `python -m offline` knows `--snapshot-out`: run it (the base records itself);
  * otherwise its `offline/harness.py` `evaluate_stack(stack)` (every release since the offline
    plan exists) and the snapshot is written here.

The snapshot format (FORMAT) is what `offline.base_ref.load_snapshot` reads back. Assets and
archives (Lambda zips, site files) are recorded by content digest, so a code change shows as a
changed `code` and two checkouts of the same code compare equal whatever their paths.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import runpy
import sys
import types
from pathlib import Path
from typing import Any

FORMAT = 1
PACKAGE = "serverless_blueprints"


def _digest_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digest_tree(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + _digest_file(path).encode())
    return digest.hexdigest()


def _asset(value: Any) -> dict:
    """An asset or archive as kind, file name and content digest (never its absolute path)."""
    kind = type(value).__name__
    if hasattr(value, "path"):
        path = Path(value.path)
        digest = _digest_tree(path) if path.is_dir() else _digest_file(path) if path.is_file() else "missing"
        return {"@asset": kind, "name": path.name, "sha256": digest}
    if hasattr(value, "text"):
        return {"@asset": kind, "sha256": hashlib.sha256(value.text.encode()).hexdigest()}
    if hasattr(value, "uri"):
        return {"@asset": kind, "uri": value.uri}
    if hasattr(value, "assets"):
        return {"@asset": kind, "assets": {k: canonical(v) for k, v in sorted(value.assets.items())}}
    return {"@asset": kind}


def canonical(value: Any) -> Any:
    """Props/outputs as plain JSON: assets by digest, anything else unknown by its type name."""
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if type(value).__module__.startswith("pulumi.asset"):
        return _asset(value)
    return {"@unknown": type(value).__name__}


def snapshot_document(snapshot: Any) -> dict:
    """A StackSnapshot (any release's: only its documented attributes are read) as the JSON file."""
    resources = []
    for r in snapshot.resources:
        resources.append({
            "urn": r.urn, "type": r.resource_type, "name": r.name, "custom": r.custom, "parent": r.parent,
            "dependencies": list(r.dependencies), "provider": r.provider,
            "props": canonical(r.props), "outputs": canonical(getattr(r, "outputs", {}) or {}),
            "secret_inputs": list(getattr(r, "secret_inputs", []) or []),
        })
    return {"format": FORMAT, "stack": snapshot.stack, "exports": canonical(snapshot.exports),
            "resources": resources}


def write_snapshot(snapshot: Any, out: Path) -> None:
    Path(out).write_text(json.dumps(snapshot_document(snapshot), indent=1, sort_keys=True) + "\n")


def _package_from(checkout: Path) -> None:
    """Make `serverless_blueprints` (and `.functions`) the checkout's, not the installed (editable) one.

    The editable install maps the package to the main checkout's components/; a base checkout must
    import its own. Older releases import `components.*` directly, which the checkout root on
    sys.path already serves.
    """
    for name, folder in ((PACKAGE, checkout / "components"), (f"{PACKAGE}.functions", checkout / "functions")):
        init = folder / "__init__.py"
        if init.is_file():
            spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        elif folder.is_dir():
            module = types.ModuleType(name)
            module.__path__ = [str(folder)]
            sys.modules[name] = module


def supports_snapshot_out(checkout: Path) -> bool:
    main = checkout / "offline" / "__main__.py"
    return main.is_file() and "--snapshot-out" in main.read_text()


def record(checkout: Path, stack: str, out: Path) -> int:
    checkout = checkout.resolve()
    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p not in ("", here, os.getcwd())]
    sys.path.insert(0, str(checkout))
    os.chdir(checkout)
    _package_from(checkout)
    if not (checkout / f"Pulumi.{stack}.yaml").is_file():
        # The stack doesn't exist at the base: everything in it is new.
        Path(out).write_text(json.dumps({"format": FORMAT, "stack": stack, "exports": {}, "resources": [],
                                         "absent": True}) + "\n")
        return 0
    if supports_snapshot_out(checkout):
        sys.argv = ["offline", stack, "--format", "json", "--snapshot-out", str(out)]
        try:
            runpy.run_module("offline", run_name="__main__", alter_sys=True)
        except SystemExit as done:
            if Path(out).is_file():
                return 0  # the base's plan may fail its own gate; its snapshot is still what it deploys
            return int(done.code or 2)
        return 0
    from offline.harness import evaluate_stack  # the base's harness

    write_snapshot(evaluate_stack(stack), out)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(record(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])))
