"""Breaking changes between a released OpenAPI document and the current one.

Most checks are Atlassian's openapi-diff (npm, pinned in tools/openapi-diff/package-lock.json, installed on
first use into the user's cache, never into the repository): a removed path or method, a request body that
accepts less (a new required field, a changed type, a removed field), a response body that may hold more
or other (a removed required field, a changed type). It doesn't look at parameters or security, so these
are ours: a new required parameter, an optional parameter made required, a parameter's type changed, and
a method's security changed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "openapi-diff"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _installed_tool() -> Path:
    """openapi-diff's CLI, installed with `npm ci` into ~/.cache/serverless-blueprints/ once per lockfile."""
    lock = (TOOL / "package-lock.json").read_bytes()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "serverless-blueprints"
    home = cache / f"openapi-diff-{hashlib.sha256(lock).hexdigest()[:12]}"
    binary = home / "node_modules" / ".bin" / "openapi-diff"
    if binary.exists():
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=cache, prefix="openapi-diff-"))
    for name in ("package.json", "package-lock.json"):
        shutil.copy(TOOL / name, work / name)
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work,
                   check=True, capture_output=True, timeout=600)
    try:
        work.rename(home)  # atomic: a parallel worker that got there first wins
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
    return binary


def as_openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.1 document (FastAPI's, Powertools') in 3.0 terms, which openapi-diff reads: a null type
    becomes `nullable`, `const` an enum of one, JSON Schema `examples` go (they change no contract)."""
    if not str(document.get("openapi", "")).startswith("3.1"):
        return document
    return {**_schema_30(document), "openapi": "3.0.3"}


def _schema_30(value: Any) -> Any:
    if isinstance(value, list):
        return [_schema_30(v) for v in value]
    if not isinstance(value, dict):
        return value
    converted = {k: _schema_30(v) for k, v in value.items() if k not in ("examples", "const")}
    if "const" in value:
        converted["enum"] = [value["const"]]
    if isinstance(value.get("type"), list) and "null" in value["type"]:
        others = [t for t in value["type"] if t != "null"]
        converted["type"], converted["nullable"] = (others[0] if len(others) == 1 else others), True
    for combinator in ("anyOf", "oneOf"):
        branches = converted.get(combinator)
        if isinstance(branches, list) and {"type": "null"} in branches:
            rest = [b for b in branches if b != {"type": "null"}]
            converted.pop(combinator)
            converted.update(rest[0] if len(rest) == 1 else {combinator: rest})
            converted["nullable"] = True
    return converted


def _tool_findings(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[list[str]]:
    """openapi-diff's breaking differences for each (released, current) pair, in one node process."""
    if not pairs:
        return []
    binary = _installed_tool()
    run = subprocess.run(["node", str(TOOL / "diff-pairs.js")], input=json.dumps(
        [{"source": as_openapi_30(released), "destination": as_openapi_30(current)} for released, current in pairs]),
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "NODE_PATH": str(binary.parent.parent)})
    if run.returncode != 0:
        raise RuntimeError(f"openapi-diff failed: {run.stderr or run.stdout}")
    return list(json.loads(run.stdout))


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): operation for path, item in document.get("paths", {}).items()
            for method, operation in item.items() if method in METHODS}


def _parameters(item: dict[str, Any], operation: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    merged = {(p["in"], p["name"].lower() if p["in"] == "header" else p["name"]): p
              for p in [*item.get("parameters", []), *operation.get("parameters", [])] if "in" in p}
    return merged


def _own_findings(released: dict[str, Any], current: dict[str, Any]) -> list[str]:
    found = []
    for (method, path), before in _operations(released).items():
        after = _operations(current).get((method, path))
        if after is None:
            continue  # openapi-diff reports it
        where = f"{method.upper()} {path}"
        old = _parameters(released["paths"][path], before)
        new = _parameters(current["paths"][path], after)
        for key, parameter in new.items():
            if parameter.get("required") and key not in old:
                found.append(f"parameter.required.add at {where}: {key[0]} {key[1]}")
            elif parameter.get("required") and key in old and not old[key].get("required"):
                found.append(f"parameter.required.change at {where}: {key[0]} {key[1]} is now required")
            if key in old and old[key].get("schema", {}).get("type") != parameter.get("schema", {}).get("type"):
                found.append(f"parameter.type.change at {where}: {key[0]} {key[1]} "
                             f"{old[key].get('schema', {}).get('type')} -> {parameter.get('schema', {}).get('type')}")
        old_security = before.get("security", released.get("security", []))
        new_security = after.get("security", current.get("security", []))
        if old_security != new_security:
            found.append(f"security.change at {where}: {old_security} -> {new_security}")
    return found


def breaking_changes(released: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Each breaking change from `released` to `current`, as `<code> at <where>`; [] when none."""
    return breaking_changes_of([(released, current)])[0]


def breaking_changes_of(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[list[str]]:
    """breaking_changes for many (released, current) pairs at once (openapi-diff starts slowly)."""
    tool = _tool_findings(pairs)
    return [found + _own_findings(released, current) for found, (released, current) in zip(tool, pairs)]


def major(document: dict[str, Any]) -> int:
    return int(str(document["info"]["version"]).split(".")[0])


def unreleased_breaks(released: dict[str, Any], current: dict[str, Any], found: list[str]) -> list[str]:
    """Of `found` (the pair's breaking changes), those that need a new major version: none once `current`'s
    major is past `released`'s (the new major is then served side by side, and released on its own)."""
    return [] if major(current) > major(released) else found

