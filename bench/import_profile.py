"""Each Lambda handler's cold import under Python 3.13, from its real artifacts, against a bare `import boto3`.

    .venv/bin/python bench/import_profile.py                      # every handler, 11 rounds
    .venv/bin/python bench/import_profile.py --rounds 5 --top 6 thumbnailer cart_api

Every import runs in a fresh python3.13 started as the twin's sandboxes are (`-I -S`), with Lambda's
sys.path: the unzipped code zip (/var/task), the unzipped x86_64 twin of the function's layer
(/opt/python), the standard library, then the runtime-provided packages at the runtime's versions
(boto3, botocore, ...). Nothing comes from this venv, so what is timed is what ships.

Per round, a bare `import boto3` (the runtime's) is timed right before each handler, so load on a
shared machine hits both sides of a ratio. Time is CPU time (user + system) of the whole interpreter
less an empty interpreter's: wall clock swings with the neighbours, CPU time much less. Bytecode is
warm on both sides (the first import writes it), as the runtime ships boto3 compiled.

Where the time goes comes from `python -X importtime`: its self-times summed per top-level package
(shares), and per module, median over the rounds. `bench_stacks.py` reports the same numbers for
every handler against the targets; this script is for digging into one.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Dummy configuration so every handler module can be imported outside Lambda: every variable a
# function reads as os.environ["NAME"] or env["NAME"] (found in its source, so a new handler needs no edit here),
# plus those that settings modules validate and the AWS region and credentials.
_REQUIRED_BY_SOURCE = sorted(
    {
        name
        for path in (ROOT / "functions").glob("*/*.py")
        for name in re.findall(r'(?:os\.environ|\benv)\["(\w+)"\]', path.read_text())
    }
)
HANDLER_ENV = {name: "bench" for name in (
    *_REQUIRED_BY_SOURCE, "BUCKET_NAME", "THUMBNAIL_BUCKET", "SES_CONFIGURATION_SET",
    "DATABASE", "TABLE", "WORKGROUP", "REPORT_BUCKET", "SOURCES")} | {
    "HOME_REGION": "eu-west-1", "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_SERVICE_NAME": "bench",
    "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "INVALIDATION_PATHS": "[]"}  # JSON: blog_authoring parses it at import
BASELINE = "boto3"


class ImportFailed(RuntimeError):
    """A handler cannot be imported with HANDLER_ENV: the benchmark, not the timing, is broken."""


@dataclass(frozen=True)
class ImportEnvironment:
    """A python3.13 and the sys.path a function's sandbox has (the baseline's: the runtime's packages only)."""
    python: str
    front: tuple[str, ...]
    """The code (/var/task) and the layer (/opt/python): before the standard library."""
    runtime: str
    """The runtime-provided packages: after it."""

    def command(self, statement: str, *options: str) -> list[str]:
        prelude = f"import sys; sys.path[:0] = {list(self.front)!r}; sys.path.append({self.runtime!r})"
        return [self.python, *options, "-I", "-S", "-c", f"{prelude}\n{statement}"]


def python_version() -> str:
    """The version of the python3.13 the imports run under, e.g. 3.13.0."""
    python = import_environment(None).python
    return subprocess.run([python, "-I", "-S", "-c", "import sys; print(sys.version.split()[0])"],
                          capture_output=True, text=True, check=True).stdout.strip()


def handlers() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/handler.py"))


def import_environment(function: str | None) -> ImportEnvironment:
    """The sandbox of `function` as the twin builds it (code zip and layer, cached); None: the bare runtime."""
    from serverless_blueprints import lambda_packaging
    from twin.lambda_process import TWIN_ARCHITECTURE, FunctionArtifact, prepare_sandbox

    if function is None:
        from twin.find_python import find_python313
        return ImportEnvironment(find_python313(), (), str(lambda_packaging.runtime_packages_dir(TWIN_ARCHITECTURE)))
    sandbox = prepare_sandbox(FunctionArtifact(
        name=function, code=function, handler=f"{function}.handler.handler", environment={},
        layer_requirements=lambda_packaging.function_requirements(function), memory_mb=128, timeout_seconds=3,
        architecture=TWIN_ARCHITECTURE))
    return ImportEnvironment(sandbox.python, (str(sandbox.task_root), *map(str, sandbox.opt)), str(sandbox.runtime))


def cpu_seconds(environment: ImportEnvironment, statement: str) -> float:
    """CPU time (user + system) of a fresh interpreter running `statement`."""
    process = subprocess.Popen(environment.command(statement), env={**os.environ, **HANDLER_ENV},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert process.stderr is not None
    stderr = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        last = (stderr.strip().splitlines() or [f"exit {process.returncode}"])[-1]
        raise ImportFailed(f"`{statement}` failed outside Lambda: {last}")
    return usage.ru_utime + usage.ru_stime


def self_times(environment: ImportEnvironment, statement: str) -> dict[str, int]:
    """`-X importtime` self time in microseconds per imported module."""
    result = subprocess.run(environment.command(statement, "-X", "importtime"), env={**os.environ, **HANDLER_ENV},
                            capture_output=True, text=True)
    if result.returncode:
        last = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise ImportFailed(f"`{statement}` failed outside Lambda: {last}")
    times = {}
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            self_us, _cumulative, name = line[len("import time:"):].split("|")
            times[name.strip()] = int(self_us)
    return times


def group(module: str, function: str) -> str:
    """What a module's time is charged to: the function's own code, the standard library, or its package."""
    top = module.split(".")[0]
    if top == function and function != BASELINE:
        return "own code"
    if top in sys.stdlib_module_names:
        return "stdlib"
    return top


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default); one value is its own percentile."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class ImportProfile:
    function: str
    ratios: list[float] = field(default_factory=list)
    """CPU time of the import over a bare `import boto3`'s in the same round, one per round."""
    baselines: list[float] = field(default_factory=list)
    """CPU seconds of the bare `import boto3` (less an empty interpreter) in each round."""
    modules: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    """-X importtime self-time per module, microseconds, one per round it was imported in."""

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def p90(self) -> float:
        return percentile(self.ratios, 0.9)

    def milliseconds(self) -> dict[str, float]:
        return {module: statistics.median(us) / 1000 for module, us in self.modules.items()}

    def shares(self) -> list[tuple[str, float]]:
        """(package, share of the summed self-time), largest first."""
        per_group: dict[str, float] = defaultdict(float)
        for module, ms in self.milliseconds().items():
            per_group[group(module, self.function)] += ms
        total = sum(per_group.values()) or 1.0
        return sorted(((name, ms / total) for name, ms in per_group.items()), key=lambda kv: -kv[1])

    def heaviest(self, count: int, *, beyond_baseline: frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        """The `count` modules with the most self-time (ms), those a bare `import boto3` imports left out."""
        own = ((m, ms) for m, ms in self.milliseconds().items() if m not in beyond_baseline)
        return sorted(own, key=lambda kv: -kv[1])[:count]

    def where(self, top: int, baseline_modules: frozenset[str]) -> list[str]:
        """Two lines: the self-time shares by package, and the heaviest modules a bare `import boto3` lacks."""
        parts = ", ".join(f"{name} {share:.0%}" for name, share in self.shares() if share >= 0.01)
        heavy = ", ".join(f"{module} {ms:.1f}" for module, ms in self.heaviest(top, beyond_baseline=baseline_modules))
        which = "heaviest beyond boto3's" if baseline_modules else "heaviest"
        return [f"self-time shares: {parts}", f"{which} (ms of self-time): {heavy or 'none'}"]


def profile(functions: list[str], rounds: int, *, importtime: bool = True, paired: bool = True,
            warm: bool = True) -> tuple[ImportProfile, dict[str, ImportProfile], dict[str, str]]:
    """The baseline's profile, each importable function's, and why the others could not be imported.

    Unpaired, one baseline per round serves every function; unwarmed, the first round writes the
    bytecode (a smoke test: fewer interpreters, numbers not comparable)."""
    runtime = import_environment(None)
    environments = {function: import_environment(function) for function in functions}
    statement = {function: f"import {function}.handler" for function in functions}
    baseline = ImportProfile(BASELINE)
    profiles = {function: ImportProfile(function) for function in functions}
    broken: dict[str, str] = {}

    def importable() -> list[str]:
        return [function for function in functions if function not in broken]

    for function in functions if warm else []:  # bytecode written, as the runtime ships boto3's
        try:
            cpu_seconds(environments[function], statement[function])
        except ImportFailed as failure:
            broken[function] = str(failure)
    if warm:
        cpu_seconds(runtime, "import boto3")
    for _ in range(rounds):
        empty = cpu_seconds(runtime, "pass")
        boto3_seconds = 0.0
        for function in importable():
            if paired or not boto3_seconds:
                boto3_seconds = cpu_seconds(runtime, "import boto3") - empty
                baseline.baselines.append(boto3_seconds)
            try:
                handler_seconds = cpu_seconds(environments[function], statement[function]) - empty
            except ImportFailed as failure:
                broken[function] = str(failure)
                continue
            profiles[function].ratios.append(handler_seconds / boto3_seconds)
            profiles[function].baselines.append(boto3_seconds)
        if importtime:
            for module, us in self_times(runtime, "import boto3").items():
                baseline.modules[module].append(us)
            for function in importable():
                for module, us in self_times(environments[function], statement[function]).items():
                    profiles[function].modules[module].append(us)
    baseline.ratios = [1.0]
    return baseline, {function: profiles[function] for function in importable()}, broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("functions", nargs="*", help="function folders (default: every functions/*/handler.py)")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--top", type=int, default=5, help="heaviest single modules to list per handler")
    args = parser.parse_args()
    functions = args.functions or handlers()
    baseline, profiles, broken = profile(functions, args.rounds)
    print(f"cold import vs a bare `import boto3` (~{statistics.median(baseline.baselines) * 1000:.0f} ms CPU), "
          f"{args.rounds} paired rounds, Python {python_version()}, real code zips and layers, warm bytecode")
    boto3_modules = frozenset(baseline.modules)
    print("\nimport boto3:", *baseline.where(args.top, frozenset()), sep="\n    ")
    for function, result in sorted(profiles.items()):
        print(f"\n{function}.handler: median {result.median:.2f}x, p90 {result.p90:.2f}x boto3 "
              f"(range {min(result.ratios):.2f}-{max(result.ratios):.2f})", *result.where(args.top, boto3_modules),
              sep="\n    ")
    for function, reason in sorted(broken.items()):
        print(f"\n{function}.handler: BROKEN: {reason}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
