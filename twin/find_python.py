"""Find a CPython 3.13 interpreter for the twin's Lambda sandboxes (the python3.13 runtime's version).

Order: $LAMBDA_TWIN_PYTHON, `python3.13` on PATH, then pyenv's `~/.pyenv/versions/3.13*/bin/python3.13`.
Each candidate is run once to prove it is 3.13 (a pyenv shim on PATH may exist and still fail).
`python -m twin.find_python` prints the path, or the fix and exit status 1 (for CI scripts).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

PYTHON_ENV = "LAMBDA_TWIN_PYTHON"
REQUIRED = (3, 13)


class PythonNotFound(RuntimeError):
    """No usable python3.13 on this machine."""


def _version_of(executable: str) -> tuple[int, int] | None:
    try:
        result = subprocess.run([executable, "-I", "-S", "-c", "import sys; print(*sys.version_info[:2])"],
                                capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    major, minor = result.stdout.split()
    return int(major), int(minor)


def _candidates() -> list[str]:
    configured = os.environ.get(PYTHON_ENV)
    if configured:
        return [configured]
    on_path = shutil.which("python3.13")
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    pyenv = sorted(pyenv_root.glob("versions/3.13*/bin/python3.13"), reverse=True)
    return [*([on_path] if on_path else []), *map(str, pyenv)]


@functools.cache
def find_python313() -> str:
    """Path of a working CPython 3.13; raises PythonNotFound saying how to get one."""
    tried = _candidates()
    for candidate in tried:
        if _version_of(candidate) == REQUIRED:
            return candidate
    raise PythonNotFound(
        f"the Lambda twin needs CPython 3.13 (the python3.13 runtime); tried {tried or 'nothing'}. "
        f"Install one (`pyenv install 3.13`, or Debian/Ubuntu `apt-get install python3.13`), "
        f"or set {PYTHON_ENV}=/path/to/python3.13")


def main() -> int:
    try:
        print(find_python313())
    except PythonNotFound as missing:
        print(missing, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
