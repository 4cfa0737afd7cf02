"""Types are checked: mypy finds no error in any file of CHECKED (configuration: pyproject.toml, [tool.mypy]).

CHECKED is the whole of each tree, found by glob, so a new file is checked from the day it lands:
every components/*.py, stack_config.py and __main__.py, and every file under functions/. Two runs, as
the code targets two Pythons: the library and the program on 3.11, the Lambda sources on Lambda's 3.13.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# pyproject.toml's mypy_path names this folder: mypy can't follow setuptools' editable finder, so
# components/ is checked as the package serverless_blueprints through a link made here.
PACKAGE_ROOT = ROOT / ".mypy_cache" / "package-root"
PACKAGE = "serverless_blueprints"
LINKED = f"{PACKAGE_ROOT.relative_to(ROOT).as_posix()}/{PACKAGE}/"

# Files of the trees left out for now, each with why (none today); an entry goes once its file is clean.
NOT_YET_CHECKED: dict[str, str] = {}


def _python_files(pattern: str) -> list[str]:
    """Repository paths of the files matching pattern, outside hidden folders (caches)."""
    found = (path.relative_to(ROOT) for path in ROOT.glob(pattern))
    return sorted(path.as_posix() for path in found
                  if not any(part.startswith(".") for part in path.parts) and path.as_posix() not in NOT_YET_CHECKED)


CHECKED: dict[str, list[str]] = {
    # Python 3.11: the library (components/, the import package serverless_blueprints) and the program.
    "3.11": [*_python_files("components/*.py"), "stack_config.py", "__main__.py"],
    # Python 3.13 (Lambda's runtime): each function folder, as the top-level package of its zip.
    "3.13": _python_files("functions/**/*.py"),
}

ERROR = re.compile(r"^(?P<path>[^:\n]+\.pyi?):(?P<line>\d+): error: (?P<message>.*)$", re.MULTILINE)


def _link_package() -> None:
    PACKAGE_ROOT.mkdir(parents=True, exist_ok=True)
    link = PACKAGE_ROOT / PACKAGE
    if not link.is_symlink():
        try:
            link.symlink_to(Path("..", "..", "components"), target_is_directory=True)
        except FileExistsError:  # the other run made it first (pytest -n)
            pass


def _argument(path: str) -> str:
    """The path mypy is given: components/ through the link, so its modules are serverless_blueprints.*."""
    return LINKED + path.removeprefix("components/") if path.startswith("components/") else path


def _repository_path(path: str) -> str:
    return "components/" + path.removeprefix(LINKED) if path.startswith(LINKED) else path


def _is_checked(path: str, checked: list[str]) -> bool:
    return any(path == entry or path.startswith(entry.rstrip("/") + "/") for entry in checked)


def _type_errors(python_version: str, checked: list[str], *options: str) -> list[str]:
    """mypy's errors in the checked files (errors it reports elsewhere, such as in NOT_YET_CHECKED, are not)."""
    _link_package()
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "--python-version", python_version,
         "--no-pretty", "--no-error-summary", *options, *map(_argument, checked)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200)
    # 0: no error anywhere; 1: errors, perhaps only in files imported but not checked; 2: mypy failed.
    assert result.returncode in (0, 1), f"mypy failed ({result.returncode}):\n{result.stdout}{result.stderr}"
    if result.returncode == 1 and not ERROR.search(result.stdout):
        pytest.fail(f"mypy exited 1 without a parsable error:\n{result.stdout}{result.stderr}")
    return [f"{_repository_path(m['path'])}:{m['line']}: error: {m['message']}"
            for m in ERROR.finditer(result.stdout) if _is_checked(_repository_path(m["path"]), checked)]


@pytest.mark.parametrize("python_version", sorted(CHECKED))
def test_checked_files_have_no_type_errors(python_version: str) -> None:
    checked = CHECKED[python_version]
    missing = [path for path in checked if not (ROOT / path).exists()]
    assert not missing, f"CHECKED names files that don't exist: {missing}"
    errors = _type_errors(python_version, checked)
    assert not errors, f"{len(errors)} type errors (Python {python_version}):\n" + "\n".join(errors)


def test_checked_covers_the_whole_trees() -> None:
    assert {"components/args.py", "stack_config.py", "__main__.py"} <= set(CHECKED["3.11"])
    assert {"functions/api_common/http.py", "functions/thumbnailer/handler.py"} <= set(CHECKED["3.13"])
    assert not any(path.startswith("functions/") for path in CHECKED["3.11"])
    assert not any(path.startswith("components/") for path in CHECKED["3.13"])
    gone = [path for path in NOT_YET_CHECKED if not (ROOT / path).exists()]
    assert not gone, f"NOT_YET_CHECKED names files that don't exist: {gone}"
    assert not any(_is_checked(path, files) for path in NOT_YET_CHECKED for files in CHECKED.values())


@pytest.mark.parametrize("python_version", sorted(CHECKED))
def test_a_type_error_in_a_checked_file_fails_the_check(python_version: str, tmp_path: Path) -> None:
    # The same run as above, on a file that has one error: the check must be able to fail. Its own cache:
    # mypy replays a cached module's errors under the path it had then (another tmp_path).
    broken = tmp_path / "broken.py"
    broken.write_text('def length(text: str) -> int:\n    return len(text)\n\n\nlength(42)\n')
    errors = _type_errors(python_version, [broken.as_posix()], "--cache-dir", (tmp_path / "cache").as_posix())
    assert len(errors) == 1 and errors[0].startswith(f"{broken.as_posix()}:5: error:"), errors


def test_errors_in_components_are_reported_under_their_repository_path() -> None:
    assert _argument("components/args.py") == LINKED + "args.py"
    assert _repository_path(LINKED + "args.py") == "components/args.py"
    assert _is_checked("components/args.py", CHECKED["3.11"])
