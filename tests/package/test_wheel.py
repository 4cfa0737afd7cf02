"""The wheel, from the outside: built, installed into a fresh virtualenv, and used by the examples.

One virtualenv per test session (pip's cache makes it quick after the first run). Each example
runs there as a consumer's project would: from its own folder, importing its own `components`
package beside `serverless_blueprints`, with nothing of this checkout on sys.path.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from serverless_blueprints import lambda_packaging

pytestmark = pytest.mark.network  # the build fetches setuptools, the venv pulumi, the layer Pillow

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
PROBE = Path(__file__).with_name("example_probe.py")
WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "components", "functions", "services")
# Left out of the copy as a fresh clone would be without them: caches, build output, local virtualenvs.
# Hidden files stay (services/catalog/.dockerignore is part of the image's build context).
NOT_SOURCES = ("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".venv", "build", "dist",
               "*.egg-info")
FUNCTIONS = sorted(p.parent.name for p in (REPO / "functions").glob("*/handler.py"))
PIP = ("-m", "pip", "--disable-pip-version-check", "--quiet")


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def start_wheel_build(source: Path, out: Path) -> subprocess.Popen:
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    for name in WHEEL_SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns(*NOT_SOURCES))
        else:
            shutil.copy(path, source / name)
    return subprocess.Popen([sys.executable, *PIP, "wheel", "--no-deps", "--wheel-dir", str(out), str(source)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@contextlib.contextmanager
def exclusive(lock: Path):
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def shared_temp(tmp_path_factory) -> Path:
    """This session's temporary folder; under `make test`'s xdist, the one all its workers share."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the python of a fresh virtualenv it is installed in), made once per session."""
    root = shared_temp(tmp_path_factory) / "wheel-venv"
    with exclusive(root.with_suffix(".lock")):
        made = root / "made.json"
        if not made.is_file():
            shutil.rmtree(root, ignore_errors=True)
            wheel, python = build_and_install(root)
            made.write_text(json.dumps({"wheel": str(wheel), "python": str(python)}))
        paths = json.loads(made.read_text())
    return Path(paths["wheel"]), Path(paths["python"])


def build_and_install(root: Path) -> tuple[Path, Path]:
    out, source = root / "dist", root / "source"
    source.mkdir(parents=True)
    build = start_wheel_build(source, out)
    run([sys.executable, "-m", "venv", root / "venv"])
    python = root / "venv" / "bin" / "python"
    # While the wheel builds: its dependencies, at the pinned versions. --no-compile: pulumi_aws alone
    # takes longer to byte-compile than to install; the examples compile what they import, once.
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    run([python, *PIP, "install", "--no-compile", "--constraint", REPO / "constraints.txt", *dependencies])
    output, _ = build.communicate(timeout=600)
    assert build.returncode == 0, f"building the wheel failed:\n{output}"
    (wheel,) = out.glob("serverless_blueprints-*.whl")
    run([python, *PIP, "install", "--no-compile", "--constraint", REPO / "constraints.txt", wheel])
    return wheel, python


@pytest.fixture(scope="session")
def wheel(built) -> Path:
    return built[0]


@pytest.fixture(scope="session")
def venv_python(built) -> Path:
    return built[1]


@pytest.fixture(scope="session")
def installed_package(venv_python) -> Path:
    where = run([venv_python, "-I", "-c", "import serverless_blueprints, os; "
                                          "print(os.path.dirname(serverless_blueprints.__file__))"])
    return Path(where.stdout.strip())


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> Path:
    """The examples' SERVERLESS_BLUEPRINTS_CACHE: new, but with the layers this machine already built.

    Layers are keyed by what goes into them, so a seeded one is the one the venv would build; the
    code zips are not seeded, so the installed package must provide them.
    """
    cache = tmp_path_factory.mktemp("blueprints-cache")
    built_here = lambda_packaging.cache_dir()
    for kept in ("layers", "resolutions", "pure-wheels"):
        if (built_here / kept).is_dir():
            shutil.copytree(built_here / kept, cache / kept, copy_function=_link_or_copy)
    return cache


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(root.rglob("*"))}


def evaluate_example(venv_python: Path, installed_package: Path, cache: Path, example: str) -> dict:
    folder = EXAMPLES / example
    before, package_before = tree(folder), tree(installed_package)
    # -I: no PYTHONPATH, no user site, not even the probe's folder. Bytecode goes to a folder of its own,
    # never beside the example's or the package's sources.
    env = {**os.environ, "SERVERLESS_BLUEPRINTS_CACHE": str(cache)}
    pycache = venv_python.parent.parent / "pycache"
    result = run([venv_python, "-I", "-X", f"pycache_prefix={pycache}", PROBE, "dev"], cwd=folder, env=env,
                 timeout=600)
    assert tree(folder) == before, f"evaluating {example} wrote into its folder"
    assert tree(installed_package) == package_before, f"evaluating {example} wrote into the installed package"
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def thumbnails(venv_python, installed_package, cache) -> dict:
    return evaluate_example(venv_python, installed_package, cache, "thumbnails-only")


@pytest.fixture(scope="session")
def static_site(venv_python, installed_package, cache) -> dict:
    return evaluate_example(venv_python, installed_package, cache, "static-site")


def of_type(result: dict, resource_type: str) -> list[dict]:
    return [r for r in result["resources"] if r["type"] == resource_type]


def is_under(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


# --- what the wheel holds -------------------------------------------------------------------------

def test_wheel_holds_the_typed_marker_every_function_and_its_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "serverless_blueprints/py.typed" in names
    assert "serverless_blueprints/testing.py" in names
    assert FUNCTIONS, "no functions found in the checkout"
    for function in FUNCTIONS:
        assert f"serverless_blueprints/functions/{function}/handler.py" in names
        if (REPO / "functions" / function / "requirements.txt").is_file():  # optional: no third-party deps
            assert f"serverless_blueprints/functions/{function}/requirements.txt" in names
    assert "serverless_blueprints/functions/welcome_email/ses_template.json" in names
    # Every source and data file of every function, however deep (package-data globs miss subfolders).
    sources = [p.relative_to(REPO / "functions").as_posix() for p in (REPO / "functions").rglob("*")
               if p.is_file() and (p.suffix in (".py", ".json", ".js") or p.name == "requirements.txt")
               and not any(part.startswith((".", "__pycache__")) for part in p.relative_to(REPO).parts)]
    assert not [s for s in sources if f"serverless_blueprints/functions/{s}" not in names]
    # a nested package: the catalog client generated into cart_api
    assert "serverless_blueprints/functions/cart_api/catalog_client/__init__.py" in names
    assert "serverless_blueprints/functions/cart_api/catalog_client/api/products/list_products.py" in names


def service_files() -> list[str]:
    """Every file of services/ a wheel must carry: what the image and the checkout wheel are built from."""
    root = REPO / "services"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
                  and not any(part.startswith((".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__", "build"))
                              or part.endswith(".egg-info") for part in p.relative_to(root).parts)
                  and p.suffix not in (".pyc", ".pyo") and p.name != ".gitignore")


def test_wheel_holds_the_services_sources_their_dockerfile_and_unit(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("catalog/Dockerfile", "catalog/.dockerignore", "catalog/requirements.txt",
                    "catalog/catalog_app/main.py", "checkout/pyproject.toml", "checkout/checkout-app.service",
                    "checkout/checkout_app/migrations/0001_orders.sql",
                    "checkout/checkout_app/cart_client/api/carts/get_cart.py"):
        assert f"serverless_blueprints/services/{shipped}" in names
    files = service_files()
    assert "catalog/Dockerfile" in files
    assert not [f for f in files if f"serverless_blueprints/services/{f}" not in names]


def test_the_installed_package_finds_the_services_sources(venv_python):
    found = run([venv_python, "-I", "-c", "from serverless_blueprints.catalog_service import catalog_source; "
                                          "from serverless_blueprints.checkout_service import checkout_source; "
                                          "print(catalog_source()); print(checkout_source())"])
    catalog, checkout = (Path(line) for line in found.stdout.split())
    assert (catalog / "Dockerfile").is_file() and (catalog / "catalog_app" / "main.py").is_file()
    assert (checkout / "pyproject.toml").is_file() and (checkout / "checkout-app.service").is_file()
    assert not is_under(str(catalog), REPO)


def test_wheel_holds_no_tests_bytecode_or_top_level_components(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n or n.split("/")[-1].startswith("test_")]
    assert {n.split("/")[0] for n in names} == {"serverless_blueprints", wheel.name.split("-py3")[0] + ".dist-info"}


# --- the thumbnails-only example --------------------------------------------------------------------

def test_thumbnails_example_builds_its_buckets_queues_and_function(thumbnails):
    names = {r["name"] for r in thumbnails["resources"]}
    assert len(of_type(thumbnails, "aws:s3/bucket:Bucket")) == 2
    assert len(of_type(thumbnails, "aws:sqs/queue:Queue")) == 2  # the queue and its DLQ
    (function,) = of_type(thumbnails, "aws:lambda/function:Function")
    assert function["props"]["handler"] == "thumbnailer.handler.handler"
    # Named by the example's own components.naming, with its stack config (Pulumi.dev.yaml).
    assert "acme-dev-photos" in names
    assert function["props"]["environment"]["variables"]["SIZES"] == "160,320"
    assert function["props"]["environment"]["variables"]["OUTPUT_FORMAT"] == "WEBP"
    assert set(thumbnails["exports"]) == {"uploadBucket", "uploadPrefix", "thumbnailBucket", "deadLetterQueueUrl"}


def test_thumbnailer_code_comes_from_the_installed_package_and_builds_in_the_cache(thumbnails, installed_package,
                                                                                   cache):
    (function,) = of_type(thumbnails, "aws:lambda/function:Function")
    code = function["props"]["code"]["file"]
    assert is_under(code, cache) and not is_under(code, REPO)
    assert thumbnails["cache_dir"] == str(cache.resolve())
    installed = installed_package / "functions" / "thumbnailer"
    with zipfile.ZipFile(code) as archive:
        for source in installed.glob("*.py"):
            assert archive.read(f"thumbnailer/{source.name}") == source.read_bytes()
    for layer in of_type(thumbnails, "aws:lambda/layerVersion:LayerVersion"):
        assert is_under(layer["props"]["code"]["file"], cache)


def test_library_runs_from_the_virtualenv_not_the_checkout(thumbnails, installed_package):
    assert thumbnails["library"] == str(installed_package.resolve())
    assert not is_under(thumbnails["library"], REPO)


def test_example_imports_its_own_components_package_beside_the_library(thumbnails):
    assert thumbnails["components_before_project"] is None  # the library claims no top-level `components`
    assert thumbnails["own_components"] == str((EXAMPLES / "thumbnails-only" / "components" / "naming.py").resolve())


# --- the static-site example --------------------------------------------------------------------

def test_static_site_uploads_the_examples_own_site_folder(static_site):
    site = EXAMPLES / "static-site" / "site"
    objects = {o["props"]["key"]: o["props"] for o in of_type(static_site, "aws:s3/bucketObjectv2:BucketObjectv2")}
    expected = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert sorted(objects) == expected
    assert any(key.startswith("assets/docs.") for key in objects)
    index = objects["index.html"]
    assert is_under(index["source"]["file"], site)
    uploaded = Path(index["source"]["file"]).read_text()
    assert uploaded == (site / "index.html").read_text() and "Acme docs" in uploaded
    assert uploaded != (REPO / "site" / "index.html").read_text()
    assert index["contentType"] == "text/html; charset=utf-8"


def test_static_site_example_builds_a_private_bucket_behind_cloudfront(static_site):
    assert len(of_type(static_site, "aws:cloudfront/distribution:Distribution")) == 1
    assert len(of_type(static_site, "aws:cloudfront/originAccessControl:OriginAccessControl")) == 1
    assert {"url", "bucket", "distributionId"} <= set(static_site["exports"])
    assert static_site["own_components"] == str((EXAMPLES / "static-site" / "components" / "naming.py").resolve())


def test_each_example_is_a_python_project_requiring_the_package():
    for example in ("thumbnails-only", "static-site"):
        folder = EXAMPLES / example
        assert "runtime:\n  name: python" in (folder / "Pulumi.yaml").read_text()
        requirements = [line.split("#")[0].strip() for line in (folder / "requirements.txt").read_text().splitlines()]
        assert any(r.startswith("serverless-blueprints") for r in requirements)
        assert any(r.startswith("pulumi-aws") for r in requirements)
        assert (folder / "components" / "naming.py").is_file()
