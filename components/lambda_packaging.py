"""Lambda packaging: deterministic code zips and per-architecture dependency layers.

Code: `functions/<name>/` (package data of `serverless_blueprints.functions`, found with
importlib.resources, so it works from the checkout and from an installed wheel) is zipped
*as a package* (so the handler is `<name>.handler.handler`), next to the shared packages under
functions/ that it imports (e.g. `api_common`), with sorted entries and fixed timestamps, so the
same source always gives the same bytes and Pulumi sees no spurious diff.
Build output goes to `cache_dir()`, never into the package or the consumer's project.

Dependencies: the third-party packages a function lists in `functions/<name>/requirements.txt`
are installed for the *Lambda* platform, not this machine's: manylinux wheels for the
function's architecture and Python version, binary only, with uv when it is available and
pip otherwise (both give the same bytes). The list must be the function's whole dependency
closure minus what the runtime provides (`lambda_runtime.RUNTIME_PROVIDED`):
`check_layer_closure` resolves the closure for the target platform (pip's resolver; uv's in a
venv without pip) and names any distribution the list misses, before a layer is built. Layers
and resolutions are cached under a hash of their inputs, so after the first build no network
is needed.
"""
from __future__ import annotations

import email.parser
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable

from . import lambda_runtime
from .defaults import LAMBDA_ARCHITECTURES, LAMBDA_PYTHON_VERSION
from .lambda_runtime import canonical_name

CACHE_ENV = "SERVERLESS_BLUEPRINTS_CACHE"
UV_REQUIREMENT = "uv==0.13.9"


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
_MANYLINUX = "manylinux_2_28"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_EXCLUDED_DIRS = {"__pycache__", "tests", ".pytest_cache"}
_EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
_LAYER_FORMAT = "4"  # bump to invalidate every cached layer
_RESOLUTION_FORMAT = "1"  # bump to invalidate every cached closure
# Files an installer writes about itself: dropped so uv and pip give byte-identical layers.
_INSTALLER_RECORDS = {"INSTALLER", "RECORD", "REQUESTED", "direct_url.json", "uv_cache.json"}


def platform_tags(architecture: str) -> list[str]:
    """pip --platform tags for a Lambda architecture (Amazon Linux 2023 is glibc 2.34)."""
    if architecture not in LAMBDA_ARCHITECTURES:
        raise ValueError(f"architecture {architecture!r} is not a Lambda architecture; allowed: {LAMBDA_ARCHITECTURES}")
    machine = _PIP_MACHINE[architecture]
    return [f"manylinux2014_{machine}", f"{_MANYLINUX}_{machine}"]


def uv_platform(architecture: str) -> str:
    """uv --python-platform for a Lambda architecture: the same manylinux ceiling as `platform_tags`."""
    platform_tags(architecture)
    return f"{_PIP_MACHINE[architecture]}-{_MANYLINUX}"


def _files_under(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not (set(path.relative_to(root).parts) & _EXCLUDED_DIRS) \
                and path.suffix not in _EXCLUDED_SUFFIXES:
            yield path


def _partial(path: Path) -> Path:
    """A private name beside `path` to write to before an atomic os.replace (per process and thread)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")


def write_deterministic_zip(root: Path, destination: Path, prefix: str = "") -> Path:
    """Zip every file under `root` (as `prefix/relative/path`) so equal trees give equal bytes."""
    return write_deterministic_zip_of([(root, prefix)], destination)


def write_deterministic_zip_of(trees: list[tuple[Path, str]], destination: Path) -> Path:
    """Zip several (root, prefix) trees into one archive, entries sorted, so equal trees give equal bytes."""
    entries = sorted(("/".join(filter(None, [prefix, path.relative_to(root).as_posix()])), path)
                     for root, prefix in trees for path in _files_under(root))
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial(destination)
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, path in entries:
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


# Import statements at the start of a line. A regex rather than ast.parse: CPython 3.11's parser can raise
# "AST constructor recursion depth mismatch" when called while a Pulumi program runs, and a shared
# package's name in a docstring line that happens to start with `import` only bundles a few more KB.
_IMPORT_FROM = re.compile(r"^[ \t]*from[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.MULTILINE)


def _top_level_imports(source: str) -> set[str]:
    names = set(_IMPORT_FROM.findall(source))
    for clause in _IMPORT.findall(source):
        names.update(part.strip().split(" ")[0].split(".")[0] for part in clause.split(",") if part.strip())
    return names


def shared_packages(name: str) -> list[str]:
    """Shared code the function imports: packages under functions/ without a handler.py (e.g. api_common),
    imported by the function directly or through another shared package. They go into its code zip."""
    root = functions_root()
    shared = {p.name for p in root.iterdir()
              if p.is_dir() and (p / "__init__.py").is_file() and not (p / "handler.py").is_file()}
    found: set[str] = set()
    pending = [function_dir(name)]
    while pending:
        for module in (p for p in _files_under(pending.pop()) if p.suffix == ".py"):
            for imported in (_top_level_imports(module.read_text()) & shared) - found:
                found.add(imported)
                pending.append(root / imported)
    return sorted(found)


def code_zip(name: str) -> Path:
    """The deterministic deployment zip of `functions/<name>/`, with the shared packages it imports beside it."""
    trees = [(function_dir(name), name), *((functions_root() / shared, shared) for shared in shared_packages(name))]
    return write_deterministic_zip_of(trees, cache_dir() / "functions" / f"{name}.zip")


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


def _pinned(requirement: str) -> tuple[str, str]:
    """(canonical name, version) of a `name[extras]==version` line."""
    name, version = requirement.split("==", 1)
    return canonical_name(name.split("[", 1)[0].strip()), version.split(";", 1)[0].strip()


# --- installers: uv when available, else pip ---------------------------------------------------

class InstallerNotFound(RuntimeError):
    """Neither uv nor pip is available to build a layer."""


@dataclass(frozen=True)
class Installer:
    kind: str
    """"uv" or "pip"."""
    command: tuple[str, ...]
    """How to run it: ("/path/to/uv",) or (python, "-m", "pip")."""


def _uv_from_package() -> str | None:
    """The binary of the `uv` PyPI package, when it is installed in this environment."""
    try:
        import uv
        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None


def _pip_available() -> bool:
    return importlib.util.find_spec("pip") is not None


def pip_installer() -> Installer:
    if not _pip_available():
        raise InstallerNotFound(f"pip is not installed in {sys.prefix}: run `{sys.executable} -m ensurepip`")
    return Installer("pip", (sys.executable, "-m", "pip"))


def uv_installer() -> Installer:
    binary = shutil.which("uv") or _uv_from_package()
    if binary is None:
        raise InstallerNotFound(f"uv is not installed: `pip install {UV_REQUIREMENT}`")
    return Installer("uv", (binary,))


def _uv_interpreter_args() -> list[str]:
    # Any interpreter will do: --python-version/--python-platform name the target. Without these,
    # uv looks for a 3.13 and tries to download one.
    return ["--python", sys.executable, "--no-python-downloads"]


def find_installer() -> Installer:
    """uv (faster, and present in venvs made without pip), else this interpreter's pip."""
    for candidate in (uv_installer, pip_installer):
        try:
            return candidate()
        except InstallerNotFound:
            continue
    raise InstallerNotFound(f"building a Lambda layer needs uv or pip, and {sys.prefix} has neither: "
                            f"install uv (`python -m pip install {UV_REQUIREMENT}`, or your OS's package) "
                            f"or pip (`{sys.executable} -m ensurepip`)")


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True)


# --- pure wheels for sdist-only dependencies ----------------------------------------------------

# How each installer says a pinned distribution has no wheel for the target.
_NO_WHEEL = [re.compile(r"No matching distribution found for ([A-Za-z0-9_.\-]+)"),
             re.compile(r"Because ([A-Za-z0-9_.\-]+)(?:==\S+)? has no usable wheels")]


def pure_wheel_dir() -> Path:
    """Find-links folder of the py3-none-any wheels built from sdist-only dependencies."""
    return cache_dir() / "pure-wheels"


def _distribution_without_wheel(stderr: str) -> str | None:
    for pattern in _NO_WHEEL:
        match = pattern.search(stderr)
        if match:
            return match.group(1)
    return None


def _has_pure_wheel(name: str, version: str) -> bool:
    return any(_pinned(f"{w.name.split('-')[0]}=={w.name.split('-')[1]}") == (name, version)
               for w in pure_wheel_dir().glob("*.whl"))


def _build_pure_wheel(project: str, requirements: list[str], installer: Installer) -> bool:
    """Turn a pure-Python sdist (no wheel on the index) into a py3-none-any wheel in `pure_wheel_dir()`.

    Refuses anything native: a compiled package must come as a wheel for the Lambda platform.
    """
    pinned = next((r for r in requirements if _pinned(r)[0] == canonical_name(project)), None)
    if pinned is None:
        return False
    if _has_pure_wheel(*_pinned(pinned)):
        return True
    with tempfile.TemporaryDirectory(prefix="sdist-") as tmp:
        if installer.kind == "pip":
            result = _run([*installer.command, "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                           "--no-binary", ":all:", "-w", tmp, pinned])
        else:
            sdist = _download_sdist(*_pinned(pinned), Path(tmp))
            result = _run([*installer.command, "build", "--quiet", "--no-config", *_uv_interpreter_args(), "--wheel",
                           "--out-dir", tmp, str(sdist)])
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or len(wheels) != 1 or not wheels[0].name.endswith("-none-any.whl"):
            return False
        pure_wheel_dir().mkdir(parents=True, exist_ok=True)
        partial = _partial(pure_wheel_dir() / wheels[0].name)
        shutil.copy(wheels[0], partial)
        os.replace(partial, pure_wheel_dir() / wheels[0].name)
    return True


def _download_sdist(name: str, version: str, folder: Path) -> Path:
    """The sdist of name==version from PyPI's simple API, checked against its sha256 (uv has no `download`)."""
    request = urllib.request.Request(f"https://pypi.org/simple/{name}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    sdist = next((f for f in files if f["filename"].endswith((".tar.gz", ".zip"))
                  and _pinned(f["filename"].rsplit(".tar.gz", 1)[0].removesuffix(".zip").replace("-", "==", 1))
                  == (name, version)), None)
    if sdist is None:
        raise RuntimeError(f"PyPI has no sdist of {name}=={version}")
    with urllib.request.urlopen(sdist["url"], timeout=120) as response:
        content = response.read()
    if hashlib.sha256(content).hexdigest() != sdist["hashes"]["sha256"]:
        raise RuntimeError(f"{sdist['filename']}: sha256 does not match PyPI's")
    path = folder / sdist["filename"]
    path.write_bytes(content)
    return path


def _run_with_pure_wheels(command: list[str], requirements: list[str],
                          installer: Installer) -> subprocess.CompletedProcess:
    """Run an install/resolve command, building pure wheels for pinned sdist-only dependencies as needed."""
    pure_wheel_dir().mkdir(parents=True, exist_ok=True)
    for _ in range(len(requirements) + 1):
        result = _run(command)
        missing = _distribution_without_wheel(result.stderr) if result.returncode else None
        if not missing or not _build_pure_wheel(missing, requirements, installer):
            break
    return result


# --- layers ------------------------------------------------------------------------------------

def layer_cache_key(requirements: list[str], architecture: str, python_version: str) -> str:
    material = "\n".join([_LAYER_FORMAT, architecture, python_version, *platform_tags(architecture),
                          *sorted(requirements)])
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def _install_command(installer: Installer, requirements_file: Path, target: Path,
                     architecture: str, python_version: str) -> list[str]:
    # --no-deps: requirements.txt pins the whole closure minus what the runtime provides (checked by
    # check_layer_closure), so the layer never shadows the runtime's SDK with a second copy.
    if installer.kind == "uv":
        return [*installer.command, "pip", "install", "--quiet", "--no-config", *_uv_interpreter_args(),
                "--no-deps", "--no-compile",
                "--only-binary", ":all:", "--python-platform", uv_platform(architecture),
                "--python-version", python_version, "--find-links", str(pure_wheel_dir()),
                "--target", str(target), "-r", str(requirements_file)]
    platform_args = [arg for tag in platform_tags(architecture) for arg in ("--platform", tag)]
    return [*installer.command, "install", "--quiet", "--disable-pip-version-check", "--no-compile", "--no-deps",
            "--only-binary=:all:", "--implementation", "cp", "--python-version", python_version, *platform_args,
            "--find-links", str(pure_wheel_dir()), "--target", str(target), "-r", str(requirements_file)]


def _drop_installer_records(target: Path) -> None:
    # bin/: console scripts, whose shebang names this machine's interpreter; Lambda never runs them.
    for path in [*target.rglob("__pycache__"), target / ".lock", target / "bin"]:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    for dist_info in target.glob("*.dist-info"):
        for name in _INSTALLER_RECORDS:
            (dist_info / name).unlink(missing_ok=True)


def _install(requirements: list[str], architecture: str, python_version: str, target: Path,
             installer: Installer | None) -> None:
    """Install pinned `requirements` (no dependencies) for Lambda into `target`, minus installer records."""
    installer = installer or find_installer()
    with tempfile.TemporaryDirectory(prefix="install-") as tmp:
        requirements_file = Path(tmp) / "requirements.txt"
        requirements_file.write_text("\n".join(requirements) + "\n")
        command = _install_command(installer, requirements_file, target, architecture, python_version)
        result = _run_with_pure_wheels(command, requirements, installer)
    if result.returncode != 0:
        raise RuntimeError(f"installing {requirements} for {architecture} / Python {python_version} "
                           f"with {installer.kind} failed:\n{result.stderr.strip()}")
    _drop_installer_records(target)


def layer_zip(requirements: list[str], architecture: str, python_version: str = LAMBDA_PYTHON_VERSION,
              installer: Installer | None = None) -> Path:
    """Build (or reuse from cache) a layer zip with `python/<packages>` for the Lambda platform.

    `installer` defaults to `find_installer()`; uv and pip give byte-identical zips.
    """
    cached = cache_dir() / "layers" / f"{layer_cache_key(requirements, architecture, python_version)}.zip"
    if cached.is_file():
        return cached
    with tempfile.TemporaryDirectory(prefix="layer-") as tmp:
        _install(requirements, architecture, python_version, Path(tmp) / "python", installer)
        return write_deterministic_zip(Path(tmp) / "python", cached, prefix="python")


def runtime_packages_dir(architecture: str = "x86_64", python_version: str = LAMBDA_PYTHON_VERSION) -> Path:
    """A folder holding what the runtime provides (`lambda_runtime.RUNTIME_PROVIDED`) at its versions.

    The twin puts it last on its sandbox's path, where the managed runtime keeps its SDK.
    """
    key = layer_cache_key(lambda_runtime.runtime_requirements(), architecture, python_version)
    folder = cache_dir() / "runtime" / f"{lambda_runtime.RUNTIME}-{architecture}-{key}"
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".runtime-", dir=folder.parent) as tmp:
        _install(lambda_runtime.runtime_requirements(), architecture, python_version, Path(tmp) / "site", None)
        try:
            os.rename(Path(tmp) / "site", folder)  # atomic; a parallel builder may have won, which is fine
        except OSError:
            if not folder.is_dir():
                raise
    return folder


def function_layer_zip(name: str, architecture: str,
                       python_version: str = LAMBDA_PYTHON_VERSION) -> Path | None:
    """The dependency layer of `functions/<name>/`, or None when it needs nothing beyond the runtime.

    The requirements' closure is checked first, so a layer that would fail to import never builds.
    """
    requirements = function_requirements(name)
    if not requirements:
        return None
    check_layer_closure(requirements, architecture, python_version, source=function_dir(name) / "requirements.txt")
    return layer_zip(requirements, architecture, python_version)


def layer_distributions(layer: Path) -> dict[str, str]:
    """Canonical name -> version of every distribution in a layer zip (from `python/*.dist-info/METADATA`)."""
    found = {}
    with zipfile.ZipFile(layer) as archive:
        for entry in archive.namelist():
            parts = entry.split("/")
            if len(parts) == 3 and parts[0] == "python" and parts[1].endswith(".dist-info") \
                    and parts[2] == "METADATA":
                metadata = email.parser.HeaderParser().parsestr(archive.read(entry).decode("utf-8"))
                found[canonical_name(metadata["Name"])] = metadata["Version"]
    return found


class LayerParityError(RuntimeError):
    """Two architectures' layers for the same requirements hold different distributions."""


def check_layer_parity(first: Path, second: Path) -> dict[str, str]:
    """The distributions both layers hold; raise naming every distribution whose presence or version differs."""
    a, b = layer_distributions(first), layer_distributions(second)
    differences = [f"{name}: {a.get(name, 'absent')} in {first.name} vs {b.get(name, 'absent')} in {second.name}"
                   for name in sorted(a.keys() | b.keys()) if a.get(name) != b.get(name)]
    if differences:
        raise LayerParityError("layers differ: " + "; ".join(differences))
    return a


def twin_layer_zip(requirements: list[str], deployed_architecture: str,
                   python_version: str = LAMBDA_PYTHON_VERSION) -> Path:
    """The x86_64 twin of a deployed layer, checked to hold the same distributions at the same versions."""
    twin = layer_zip(requirements, "x86_64", python_version)
    if deployed_architecture != "x86_64":
        check_layer_parity(layer_zip(requirements, deployed_architecture, python_version), twin)
    return twin


# --- closure check -----------------------------------------------------------------------------

class IncompleteRequirements(ValueError):
    """A layer's requirements miss part of their dependency closure that the runtime doesn't provide."""


@dataclass(frozen=True)
class Closure:
    """The dependency closure of a layer's requirements on the target platform."""
    distributions: dict[str, str]
    """Canonical name -> version of everything needed, runtime-provided distributions included."""
    needed_by: dict[str, list[str]]
    """Canonical name -> the distributions that require it (empty for a requirement itself)."""

    def beyond_runtime(self) -> dict[str, str]:
        return {n: v for n, v in self.distributions.items() if not lambda_runtime.is_runtime_provided(n)}


def _target_environment(architecture: str, python_version: str) -> dict[str, str]:
    """PEP 508 marker values of the Lambda runtime (pip evaluates markers for the host, not --python-version)."""
    return {"implementation_name": "cpython", "implementation_version": f"{python_version}.0",
            "os_name": "posix", "platform_machine": _PIP_MACHINE[architecture], "platform_system": "Linux",
            "platform_python_implementation": "CPython", "python_full_version": f"{python_version}.0",
            "python_version": python_version, "sys_platform": "linux", "platform_release": "", "platform_version": ""}


def _closure_cache_key(requirements: list[str], architecture: str, python_version: str) -> str:
    material = "\n".join([_RESOLUTION_FORMAT, architecture, python_version, *platform_tags(architecture),
                          *sorted(requirements), "runtime:", *lambda_runtime.runtime_requirements()])
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def _runtime_constraints(requirements: list[str]) -> list[str]:
    """The runtime's pins, except those the layer itself pins (its copy shadows the runtime's)."""
    pinned = {_pinned(r)[0] for r in requirements}
    return [r for r in lambda_runtime.runtime_requirements() if _pinned(r)[0] not in pinned]


def resolver() -> Installer:
    """pip's resolver (its --report is the reference), else uv's where a venv has no pip."""
    try:
        return pip_installer()
    except InstallerNotFound:
        return find_installer()


def resolve_closure(requirements: list[str], architecture: str, python_version: str = LAMBDA_PYTHON_VERSION,
                    installer: Installer | None = None) -> Closure:
    """Resolve the full closure of `requirements` for Lambda (cached per inputs, so later checks are offline).

    Runtime-provided distributions are constrained to the runtime's versions, so a dependency
    that needs another boto3 than the runtime's fails here rather than at import.
    """
    cached = cache_dir() / "resolutions" / f"{_closure_cache_key(requirements, architecture, python_version)}.json"
    if cached.is_file():
        data = json.loads(cached.read_text())
        if "conflict" in data:
            raise IncompleteRequirements(data["conflict"])
        return Closure(data["distributions"], data["needed_by"])
    installer = installer or resolver()
    with tempfile.TemporaryDirectory(prefix="resolve-") as tmp:
        requirements_file, constraints_file = Path(tmp) / "requirements.txt", Path(tmp) / "constraints.txt"
        requirements_file.write_text("\n".join(requirements) + "\n")
        constraints_file.write_text("\n".join(_runtime_constraints(requirements)) + "\n")
        resolve = _resolve_with_pip if installer.kind == "pip" else _resolve_with_uv
        try:
            closure = resolve(installer, requirements, requirements_file, constraints_file, architecture,
                              python_version)
        except _Conflict as conflict:  # pinned versions can't change: as cacheable as a closure
            _write_atomically(cached, json.dumps({"conflict": str(conflict)}))
            raise IncompleteRequirements(str(conflict)) from None
    _write_atomically(cached, json.dumps({"distributions": closure.distributions, "needed_by": closure.needed_by},
                                         indent=1, sort_keys=True))
    return closure


class _Conflict(IncompleteRequirements):
    """The resolver proved the pins can't go together (not a network or index failure)."""


# How pip and uv say that no set of versions satisfies the pins.
_CONFLICT_MARKERS = ("ResolutionImpossible", "No solution found when resolving")


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial(path)
    partial.write_text(text)
    os.replace(partial, path)


def _resolution_failed(requirements: list[str], architecture: str, python_version: str,
                       result: subprocess.CompletedProcess) -> IncompleteRequirements:
    hint = ("\n(a dependency with no wheel must be pinned in requirements.txt, so its pure wheel can be built)"
            if _distribution_without_wheel(result.stderr) else "")
    conflict = any(marker in result.stdout + result.stderr for marker in _CONFLICT_MARKERS) and not hint
    return (_Conflict if conflict else IncompleteRequirements)(
        f"resolving {requirements} for {architecture} / Python {python_version}, with what the "
        f"{lambda_runtime.RUNTIME} runtime provides at its versions ({_runtime_constraints(requirements)}), "
        f"failed:\n{_pip_explanation(result)}{hint}")


def _resolve_with_pip(installer: Installer, requirements: list[str], requirements_file: Path,
                      constraints_file: Path, architecture: str, python_version: str) -> Closure:
    report = requirements_file.with_name("report.json")
    platform_args = [arg for tag in platform_tags(architecture) for arg in ("--platform", tag)]
    # pip before 24 only takes --platform with --target; --dry-run writes nothing there.
    command = [*installer.command, "install", "--dry-run", "--disable-pip-version-check",
               "--ignore-installed", "--only-binary=:all:", "--implementation", "cp",
               "--python-version", python_version, *platform_args, "--find-links", str(pure_wheel_dir()),
               "--target", str(requirements_file.with_name("unused")), "--report", str(report),
               "-r", str(requirements_file), "-c", str(constraints_file)]
    result = _run_with_pure_wheels(command, requirements, installer)
    if result.returncode != 0:
        raise _resolution_failed(requirements, architecture, python_version, result)
    return _closure_from_report(json.loads(report.read_text()), _target_environment(architecture, python_version))


def _resolve_with_uv(installer: Installer, requirements: list[str], requirements_file: Path,
                     constraints_file: Path, architecture: str, python_version: str) -> Closure:
    """`uv pip compile` for the target platform; each output line is `name==version  # via a, b, -r file`."""
    command = [*installer.command, "pip", "compile", "--quiet", "--no-config", *_uv_interpreter_args(), "--no-header",
               "--annotation-style", "line", "--only-binary", ":all:", "--python-platform", uv_platform(architecture),
               "--python-version", python_version, "--find-links", str(pure_wheel_dir()),
               "-c", str(constraints_file), str(requirements_file)]
    result = _run_with_pure_wheels(command, requirements, installer)
    if result.returncode != 0:
        raise _resolution_failed(requirements, architecture, python_version, result)
    distributions, needed_by = {}, {}
    for line in result.stdout.splitlines():
        pin, _, via = line.partition("#")
        if "==" not in pin:
            continue
        name, version = _pinned(pin.strip())
        distributions[name] = version
        sources = [s.strip() for s in via.strip().removeprefix("via").split(",")]
        needed_by[name] = sorted(canonical_name(s.split("[")[0]) for s in sources if s and not s.startswith("-"))
    return Closure(distributions, needed_by)


def _pip_explanation(result: subprocess.CompletedProcess) -> str:
    """pip's errors and its account of a conflict, without its progress lines."""
    lines = (result.stdout + result.stderr).splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(("ERROR", "The conflict", "To fix"))), 0)
    return "\n".join(line for line in lines[start:] if "is ignored: it is neither a file" not in line).strip()


def _closure_from_report(report: dict, environment: dict[str, str]) -> Closure:
    """Walk pip's report from the requested distributions, keeping dependencies whose markers hold on Lambda.

    A dependency needed on Lambda that pip skipped (its marker was false on this host) is kept with
    version "?": it is still missing from the requirements.
    """
    from packaging.requirements import Requirement

    items = {canonical_name(i["metadata"]["name"]): i for i in report["install"]}
    needed_by: dict[str, list[str]] = {name: [] for name, item in items.items() if item["requested"]}
    pending = [(name, frozenset(items[name].get("requested_extras") or [])) for name in needed_by]
    expanded: dict[str, frozenset[str]] = {}  # name -> extras whose dependencies are already walked
    while pending:
        name, extras = pending.pop()
        first_visit = name not in expanded
        new_extras = extras - expanded.get(name, frozenset())
        if not first_visit and not new_extras:
            continue
        expanded[name] = expanded.get(name, frozenset()) | extras
        contexts = ([""] if first_visit else []) + sorted(new_extras)
        for line in (items[name]["metadata"].get("requires_dist") or []) if name in items else []:
            requirement = Requirement(line)
            marker_holds = any(requirement.marker.evaluate({**environment, "extra": extra}) for extra in contexts) \
                if requirement.marker else first_visit
            if not marker_holds:
                continue
            dependency = canonical_name(requirement.name)
            if name not in needed_by.setdefault(dependency, []):
                needed_by[dependency].append(name)
            pending.append((dependency, frozenset(requirement.extras)))
    distributions = {name: (items[name]["metadata"]["version"] if name in items else "?") for name in needed_by}
    return Closure(distributions, {name: sorted(by) for name, by in needed_by.items()})


def check_layer_closure(requirements: list[str], architecture: str, python_version: str = LAMBDA_PYTHON_VERSION,
                        source: Path | str = "layer requirements", installer: Installer | None = None) -> Closure:
    """Fail naming every distribution the closure needs that neither `requirements` nor the runtime provides."""
    closure = resolve_closure(requirements, architecture, python_version, installer)
    listed = {_pinned(r)[0] for r in requirements}
    missing = {n: v for n, v in closure.beyond_runtime().items() if n not in listed}
    if missing:
        lines = [f"{name}=={version}  (needed by {', '.join(closure.needed_by[name])})"
                 for name, version in sorted(missing.items())]
        raise IncompleteRequirements(
            f"{source}: the {lambda_runtime.RUNTIME} runtime provides only "
            f"{', '.join(sorted(lambda_runtime.RUNTIME_PROVIDED))}; add to the layer's requirements:\n  "
            + "\n  ".join(lines))
    return closure


def check_function_closure(name: str, architecture: str, python_version: str = LAMBDA_PYTHON_VERSION) -> Closure:
    """`check_layer_closure` for `functions/<name>/requirements.txt`."""
    return check_layer_closure(function_requirements(name), architecture, python_version,
                               source=function_dir(name) / "requirements.txt")
