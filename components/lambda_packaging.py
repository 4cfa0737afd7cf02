"""Lambda packaging: deterministic code zips and per-architecture dependency layers.

Code: `functions/<name>/` (package data of `serverless_blueprints.functions`, found with
importlib.resources, so it works from the checkout and from an installed wheel) is zipped
*as a package* (so the handler is `<name>.handler.handler`), with sorted entries and fixed
timestamps, so the same source always gives the same bytes and Pulumi sees no spurious diff.
Build output goes to `cache_dir()`, never into the package or the consumer's project.

Dependencies: the third-party packages a function lists in
`functions/<name>/requirements.txt` (the runtime only provides boto3) are
installed by pip for the *Lambda* platform, not this machine's:
manylinux wheels for the function's architecture and Python version, binary only.
The resulting layer zip is cached under a hash of (requirements, architecture,
Python version, platform tags), so after the first build no network is needed.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from importlib import resources
from typing import Iterable

from .defaults import LAMBDA_ARCHITECTURES, LAMBDA_PYTHON_VERSION

CACHE_ENV = "SERVERLESS_BLUEPRINTS_CACHE"


def cache_dir() -> Path:
    """Where zips and layers are built: $SERVERLESS_BLUEPRINTS_CACHE, else the user's cache folder.

    Never the package or the consumer's project, so an installed wheel stays read-only and a
    project's tree stays clean.
    """
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "serverless-blueprints"


def functions_root() -> Path:
    """The folder holding every function's source, wherever this package is installed."""
    root = resources.files(f"{__package__}.functions")
    if not isinstance(root, Path) or not root.is_dir():
        raise RuntimeError(f"serverless_blueprints.functions is at {root}, not in a folder: install the "
                           f"package unzipped (pip does this by default)")
    return root

_PIP_MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_EXCLUDED_DIRS = {"__pycache__", "tests", ".pytest_cache"}
_EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
_LAYER_FORMAT = "3"  # bump to invalidate every cached layer


def platform_tags(architecture: str) -> list[str]:
    """pip --platform tags for a Lambda architecture (Amazon Linux 2023 is glibc 2.34)."""
    if architecture not in LAMBDA_ARCHITECTURES:
        raise ValueError(f"architecture {architecture!r} is not a Lambda architecture; allowed: {LAMBDA_ARCHITECTURES}")
    machine = _PIP_MACHINE[architecture]
    return [f"manylinux2014_{machine}", f"manylinux_2_28_{machine}"]


def _files_under(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not (set(path.relative_to(root).parts) & _EXCLUDED_DIRS) \
                and path.suffix not in _EXCLUDED_SUFFIXES:
            yield path


def write_deterministic_zip(root: Path, destination: Path, prefix: str = "") -> Path:
    """Zip every file under `root` (as `prefix/relative/path`) so equal trees give equal bytes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in _files_under(root):
            name = "/".join(filter(None, [prefix, path.relative_to(root).as_posix()]))
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            archive.writestr(info, path.read_bytes())
    os.replace(partial, destination)  # atomic: parallel builders never see half a zip
    return destination


def function_dir(name: str) -> Path:
    path = functions_root() / name
    if not name.isidentifier() or not (path / "handler.py").is_file():
        raise ValueError(f"no Lambda function named {name!r}: expected {path / 'handler.py'}")
    return path


def code_zip(name: str) -> Path:
    """The deterministic deployment zip of `functions/<name>/`."""
    return write_deterministic_zip(function_dir(name), cache_dir() / "functions" / f"{name}.zip", prefix=name)


def function_requirements(name: str) -> list[str]:
    """Pinned third-party requirements of a function, comments and blanks removed."""
    path = function_dir(name) / "requirements.txt"
    if not path.is_file():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    requirements = sorted({line for line in lines if line})
    unpinned = [line for line in requirements if "==" not in line]
    if unpinned:
        raise ValueError(f"{path}: pin every requirement with '==' (unpinned: {unpinned})")
    return requirements


def layer_cache_key(requirements: list[str], architecture: str, python_version: str) -> str:
    material = "\n".join([_LAYER_FORMAT, architecture, python_version, *platform_tags(architecture),
                          *sorted(requirements)])
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def layer_zip(requirements: list[str], architecture: str,
              python_version: str = LAMBDA_PYTHON_VERSION) -> Path:
    """Build (or reuse from cache) a layer zip with `python/<packages>` for the Lambda platform."""
    cached = cache_dir() / "layers" / f"{layer_cache_key(requirements, architecture, python_version)}.zip"
    if cached.is_file():
        return cached
    with tempfile.TemporaryDirectory(prefix="layer-") as tmp:
        target = Path(tmp) / "python"
        pure_wheels = Path(tmp) / "pure-wheels"
        requirements_file = Path(tmp) / "requirements.txt"
        requirements_file.write_text("\n".join(requirements) + "\n")
        platform_args = [arg for tag in platform_tags(architecture) for arg in ("--platform", tag)]
        # --no-deps: requirements.txt pins the whole closure, minus what the runtime provides (boto3,
        # botocore), so the layer never shadows the runtime's SDK with a second copy.
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--no-compile", "--no-deps", "--only-binary=:all:", "--implementation", "cp",
                   "--python-version", python_version, *platform_args, "--find-links", str(pure_wheels),
                   "--target", str(target), "-r", str(requirements_file)]
        for _ in range(len(requirements) + 1):
            result = subprocess.run(command, capture_output=True, text=True)
            missing = _MISSING_DISTRIBUTION.search(result.stderr) if result.returncode else None
            if not missing or not _build_pure_wheel(missing.group(1), requirements, pure_wheels):
                break
        if result.returncode != 0:
            raise RuntimeError(f"building a {architecture} / Python {python_version} layer for "
                               f"{requirements} failed:\n{result.stderr.strip()}")
        for bytecode_dir in target.rglob("__pycache__"):
            shutil.rmtree(bytecode_dir, ignore_errors=True)
        return write_deterministic_zip(target, cached, prefix="python")


_MISSING_DISTRIBUTION = re.compile(r"No matching distribution found for ([A-Za-z0-9_.\-]+)")


def _build_pure_wheel(project: str, requirements: list[str], wheel_dir: Path) -> bool:
    """Turn a pure-Python sdist (no wheel on the index) into a py3-none-any wheel; refuse anything native."""
    pinned = next((r for r in requirements if r.split("==")[0].lower().replace("_", "-")
                   == project.split("==")[0].lower().replace("_", "-")), None)
    if pinned is None:
        return False
    with tempfile.TemporaryDirectory(prefix="sdist-") as tmp:
        result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                                 "--no-deps", "--no-binary", ":all:", "-w", tmp, pinned],
                                capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or len(wheels) != 1 or not wheels[0].name.endswith("-none-any.whl"):
            return False  # a compiled package must come as a wheel for the Lambda platform
        wheel_dir.mkdir(exist_ok=True)
        shutil.copy(wheels[0], wheel_dir / wheels[0].name)
    return True


def function_layer_zip(name: str, architecture: str,
                       python_version: str = LAMBDA_PYTHON_VERSION) -> Path | None:
    """The dependency layer of `functions/<name>/`, or None when it needs nothing beyond the runtime."""
    requirements = function_requirements(name)
    return layer_zip(requirements, architecture, python_version) if requirements else None
