"""Types are checked: mypy finds no error in any file of CHECKED (configuration: pyproject.toml, [tool.mypy]).

Two runs, as the code targets two Pythons: the library and the program on 3.11, the Lambda sources on
Lambda's 3.13. A file leaves the list only with its errors fixed; the rest of the repository is still
being brought to zero (the files below are the ones that are).
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

CHECKED: dict[str, list[str]] = {
    # Python 3.11: the library (components/, the import package serverless_blueprints) and the program.
    "3.11": [
        "components/args.py",
        "components/cloudfront_defaults.py",
        "components/iam.py",
        "components/lambda_function.py",
        "components/lambda_packaging.py",
        "components/lambda_runtime.py",
        "components/outbox_relay.py",
        "components/paid_content.py",
        "components/provider.py",
        "components/rest_api.py",
        "components/secure_bucket.py",
        "components/secure_queue.py",
        "components/serverless_rest_api.py",
        "components/testing.py",
        "components/thumbnail_pipeline.py",
        "components/user_pool.py",
        "stack_config.py",
        "__main__.py",
    ],
    # Python 3.13 (Lambda's runtime): each function package, as the top-level package of its zip.
    "3.13": [
        "functions/api_common",
        "functions/content_signer",
        "functions/order_service",
        "functions/outbox_relay",
        "functions/premium_registration",
        "functions/shipping_consumer",
        "functions/signing_keys",
        "functions/thumbnailer",
        "functions/todo_api",
    ],
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


@pytest.mark.parametrize("python_version", sorted(CHECKED))
def test_checked_files_have_no_type_errors(python_version: str) -> None:
    checked = CHECKED[python_version]
    missing = [path for path in checked if not (ROOT / path).exists()]
    assert not missing, f"CHECKED names files that don't exist: {missing}"
    _link_package()
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "--python-version", python_version,
         "--no-pretty", "--no-error-summary", *map(_argument, checked)],
        cwd=ROOT, capture_output=True, text=True, timeout=1200)
    # 0: no error anywhere; 1: errors, perhaps only in files imported but not (yet) listed; 2: mypy failed.
    assert result.returncode in (0, 1), f"mypy failed ({result.returncode}):\n{result.stdout}{result.stderr}"
    errors = [f"{_repository_path(m['path'])}:{m['line']}: error: {m['message']}"
              for m in ERROR.finditer(result.stdout) if _is_checked(_repository_path(m["path"]), checked)]
    if result.returncode == 1 and not ERROR.search(result.stdout):
        pytest.fail(f"mypy exited 1 without a parsable error:\n{result.stdout}{result.stderr}")
    assert not errors, f"{len(errors)} type errors (Python {python_version}):\n" + "\n".join(errors)
