"""The shared packaging helper: deterministic code zips and real per-architecture layers."""
import hashlib
import inspect
import subprocess
import zipfile
from pathlib import Path

import pytest

from serverless_blueprints import lambda_packaging


def test_code_zip_is_byte_identical_across_builds(tmp_path):
    first = lambda_packaging.code_zip("todo_api").read_bytes()
    second = lambda_packaging.code_zip("todo_api").read_bytes()
    assert first == second


def test_code_zip_holds_the_function_as_a_package_without_caches():
    names = zipfile.ZipFile(lambda_packaging.code_zip("todo_api")).namelist()
    assert "todo_api/handler.py" in names
    packages = {"todo_api", *lambda_packaging.shared_packages("todo_api")}
    assert {name.split("/")[0] for name in names} == packages
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_deterministic_zip_ignores_file_timestamps(tmp_path):
    source = tmp_path / "pkg"
    source.mkdir()
    (source / "a.py").write_text("x = 1\n")
    first = lambda_packaging.write_deterministic_zip(source, tmp_path / "one.zip").read_bytes()
    (source / "a.py").touch()
    import os
    os.utime(source / "a.py", (1_900_000_000, 1_900_000_000))
    assert lambda_packaging.write_deterministic_zip(source, tmp_path / "two.zip").read_bytes() == first


def _package(folder, files):
    folder.mkdir()
    for name, text in {"__init__.py": "", **files}.items():
        (folder / name).write_text(text)


def test_shared_packages_a_function_imports_are_zipped_beside_it(tmp_path, monkeypatch):
    _package(tmp_path / "api", {"handler.py": "from common import http\nimport json\n"})
    _package(tmp_path / "worker", {"handler.py": "import json\n"})
    _package(tmp_path / "common", {"http.py": "from .errors import E\nimport deeper.x\n", "errors.py": "E = 1\n"})
    _package(tmp_path / "deeper", {"x.py": ""})
    _package(tmp_path / "unused", {"y.py": ""})
    monkeypatch.setattr(lambda_packaging, "functions_root", lambda: tmp_path)
    monkeypatch.setenv(lambda_packaging.CACHE_ENV, str(tmp_path / "cache"))
    assert lambda_packaging.shared_packages("api") == ["common", "deeper"]
    assert lambda_packaging.shared_packages("worker") == []
    names = zipfile.ZipFile(lambda_packaging.code_zip("api")).namelist()
    assert names == sorted(names)
    assert {"api/handler.py", "common/http.py", "common/errors.py", "deeper/x.py"} <= set(names)
    assert not [n for n in names if n.startswith(("unused/", "worker/"))]


@pytest.mark.parametrize("function", ["blog_api", "blog_authoring"])
def test_both_blog_functions_zip_the_shared_post_layout(function):
    names = zipfile.ZipFile(lambda_packaging.code_zip(function)).namelist()
    assert "blog_posts/__init__.py" in names
    assert "blog_posts" in lambda_packaging.shared_packages(function)


def test_unknown_function_is_rejected_by_name():
    with pytest.raises(ValueError, match="no Lambda function named 'nope'"):
        lambda_packaging.code_zip("nope")


def test_unpinned_requirement_is_rejected(tmp_path, monkeypatch):
    fake = tmp_path / "loose"
    fake.mkdir()
    (fake / "handler.py").write_text("def handler(event, context): pass\n")
    (fake / "requirements.txt").write_text("pillow>=10\n")
    monkeypatch.setattr(lambda_packaging, "functions_root", lambda: tmp_path)
    with pytest.raises(ValueError, match="pin every requirement"):
        lambda_packaging.function_requirements("loose")


def test_platform_tags_follow_the_lambda_architecture():
    assert lambda_packaging.platform_tags("arm64") == ["manylinux2014_aarch64", "manylinux_2_28_aarch64"]
    assert lambda_packaging.platform_tags("x86_64") == ["manylinux2014_x86_64", "manylinux_2_28_x86_64"]
    with pytest.raises(ValueError, match="allowed"):
        lambda_packaging.platform_tags("aarch64")


def test_layer_cache_key_changes_with_requirements_architecture_and_python():
    base = lambda_packaging.layer_cache_key(["pillow==13.0.0"], "arm64", "3.13")
    assert base == lambda_packaging.layer_cache_key(["pillow==13.0.0"], "arm64", "3.13")
    assert base != lambda_packaging.layer_cache_key(["pillow==12.0.0"], "arm64", "3.13")
    assert base != lambda_packaging.layer_cache_key(["pillow==13.0.0"], "x86_64", "3.13")
    assert base != lambda_packaging.layer_cache_key(["pillow==13.0.0"], "arm64", "3.12")


@pytest.mark.network
def test_pillow_layer_carries_the_arm64_native_extension_for_python_313():
    """Built for real from the package registry (cached afterwards): Lambda's platform, not this machine's."""
    layer = lambda_packaging.function_layer_zip("thumbnailer", "arm64", "3.13")
    names = zipfile.ZipFile(layer).namelist()
    assert "python/PIL/_imaging.cpython-313-aarch64-linux-gnu.so" in names
    assert not [n for n in names if "x86_64-linux-gnu" in n], "an x86_64 binary would not load on arm64"
    assert not [n for n in names if n.startswith("python/botocore/")], "the runtime provides botocore"


@pytest.mark.network
def test_pure_python_sdist_only_dependency_is_built_into_the_layer():
    """amazon-dax-client ships no wheel: it is built as a py3-none-any wheel, never compiled for this host."""
    names = zipfile.ZipFile(lambda_packaging.function_layer_zip("todo_api", "arm64", "3.13")).namelist()
    assert any(n.startswith("python/amazondax/") for n in names)
    assert not [n for n in names if n.endswith(".so")], "the todo layer needs no native code"


# --- installers: uv, else pip --------------------------------------------------------------------

def test_uv_is_preferred_when_available(monkeypatch):
    monkeypatch.setattr(lambda_packaging.shutil, "which", lambda name: "/opt/bin/uv" if name == "uv" else None)
    assert lambda_packaging.find_installer() == lambda_packaging.Installer("uv", ("/opt/bin/uv",))


def test_uv_from_its_pypi_package_is_found_without_path(monkeypatch):
    monkeypatch.setattr(lambda_packaging.shutil, "which", lambda name: None)
    monkeypatch.setattr(lambda_packaging, "_uv_from_package", lambda: "/venv/bin/uv")
    assert lambda_packaging.find_installer().command == ("/venv/bin/uv",)


def test_pip_is_the_fallback_without_uv(monkeypatch):
    monkeypatch.setattr(lambda_packaging.shutil, "which", lambda name: None)
    monkeypatch.setattr(lambda_packaging, "_uv_from_package", lambda: None)
    installer = lambda_packaging.find_installer()
    assert (installer.kind, installer.command[1:]) == ("pip", ("-m", "pip"))


def test_without_uv_or_pip_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setattr(lambda_packaging.shutil, "which", lambda name: None)
    monkeypatch.setattr(lambda_packaging, "_uv_from_package", lambda: None)
    monkeypatch.setattr(lambda_packaging, "_pip_available", lambda: False)
    with pytest.raises(lambda_packaging.InstallerNotFound, match=r"pip install uv==0\.13\.9.*ensurepip"):
        lambda_packaging.find_installer()


def test_uv_platform_has_the_same_manylinux_ceiling_as_pip():
    assert lambda_packaging.uv_platform("arm64") == "aarch64-manylinux_2_28"
    assert lambda_packaging.uv_platform("x86_64") == "x86_64-manylinux_2_28"
    assert lambda_packaging.platform_tags("arm64")[-1] == "manylinux_2_28_aarch64"


MIXED = ["amazon-dax-client==2.1.0", "antlr4-python3-runtime==4.13.2", "pillow==13.0.0", "six==1.17.0"]
"""A native wheel (pillow) and an sdist-only pure package (amazon-dax-client) in one layer."""


@pytest.fixture(scope="module")
def by_installer():
    """For uv and for pip, each from its own cache (no layer, pure wheel or resolution shared): MIXED's layer,
    its closure, and the closure check's verdict on Powertools without typing-extensions.

    The caches are kept per version of lambda_packaging.py's source, so a change rebuilds everything
    and warm runs stay fast.
    """
    source = Path(inspect.getfile(lambda_packaging)).read_bytes()
    root = lambda_packaging.cache_dir() / "installer-parity" / hashlib.sha256(source).hexdigest()[:16]
    built = {}
    for installer in (lambda_packaging.uv_installer(), lambda_packaging.pip_installer()):
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(lambda_packaging.CACHE_ENV, str(root / installer.kind))
            layer = lambda_packaging.layer_zip(MIXED, "arm64", "3.13", installer=installer)
            closure = lambda_packaging.resolve_closure(MIXED, "arm64", "3.13", installer=installer)
            with pytest.raises(lambda_packaging.IncompleteRequirements) as incomplete:
                lambda_packaging.check_layer_closure(["aws-lambda-powertools==3.37.0"], "arm64", installer=installer)
        built[installer.kind] = {"layer": layer, "closure": closure, "incomplete": str(incomplete.value)}
    return built


@pytest.fixture(scope="module")
def layers_by_installer(by_installer):
    return {kind: built["layer"] for kind, built in by_installer.items()}


@pytest.mark.network
def test_uv_and_pip_build_byte_identical_layers(layers_by_installer):
    assert layers_by_installer["uv"].read_bytes() == layers_by_installer["pip"].read_bytes()


@pytest.mark.network
def test_each_installer_builds_the_sdist_only_dependency_as_a_pure_wheel(layers_by_installer):
    for layer in layers_by_installer.values():
        assert lambda_packaging.layer_distributions(layer) == {
            "amazon-dax-client": "2.1.0", "antlr4-python3-runtime": "4.13.2", "pillow": "13.0.0", "six": "1.17.0"}
        assert (layer.parent.parent / "pure-wheels" / "amazon_dax_client-2.1.0-py2.py3-none-any.whl").is_file()


@pytest.mark.network
def test_layers_carry_no_installer_records_or_console_scripts(layers_by_installer):
    names = zipfile.ZipFile(layers_by_installer["uv"]).namelist()
    assert not [n for n in names if n.rsplit("/", 1)[-1] in {"RECORD", "INSTALLER", "REQUESTED", "uv_cache.json"}]
    assert not [n for n in names if n.startswith("python/bin/")], "a script's shebang names the build machine"
    assert "python/.lock" not in names


@pytest.mark.network
def test_uv_and_pip_resolve_the_same_closure(by_installer):
    assert by_installer["uv"]["closure"] == by_installer["pip"]["closure"]
    assert by_installer["uv"]["closure"].distributions["amazon-dax-client"] == "2.1.0"


@pytest.mark.network
def test_both_resolvers_name_the_missing_distribution(by_installer):
    for built in by_installer.values():
        assert "typing-extensions==4.16.0  (needed by aws-lambda-powertools)" in built["incomplete"]


def test_the_resolver_is_pip_and_uv_only_without_pip(monkeypatch):
    assert lambda_packaging.resolver().kind == "pip"
    monkeypatch.setattr(lambda_packaging, "_pip_available", lambda: False)
    monkeypatch.setattr(lambda_packaging, "_uv_from_package", lambda: "/venv/bin/uv")
    monkeypatch.setattr(lambda_packaging.shutil, "which", lambda name: None)
    assert lambda_packaging.resolver() == lambda_packaging.Installer("uv", ("/venv/bin/uv",))


# --- the closure check ---------------------------------------------------------------------------

@pytest.mark.network
def test_requirements_missing_a_dependency_name_it(tmp_path):
    """The bug that shipped: Powertools without typing-extensions."""
    with pytest.raises(lambda_packaging.IncompleteRequirements,
                       match=r"(?s)add to the layer's requirements:.*typing-extensions==4\.16\.0  "
                             r"\(needed by aws-lambda-powertools\)"):
        lambda_packaging.check_layer_closure(["aws-lambda-powertools==3.37.0"], "arm64")


@pytest.mark.network
def test_a_function_with_incomplete_requirements_gets_no_layer(tmp_path, monkeypatch):
    fake = tmp_path / "incomplete"
    fake.mkdir()
    (fake / "handler.py").write_text("def handler(event, context): pass\n")
    (fake / "requirements.txt").write_text("aws-lambda-powertools==3.37.0\n")
    monkeypatch.setattr(lambda_packaging, "functions_root", lambda: tmp_path)
    monkeypatch.setattr(lambda_packaging, "layer_zip", lambda *a, **k: pytest.fail("built an incomplete layer"))
    with pytest.raises(lambda_packaging.IncompleteRequirements, match="incomplete/requirements.txt"):
        lambda_packaging.function_layer_zip("incomplete", "arm64")


@pytest.mark.network
def test_runtime_provided_dependencies_need_not_be_listed():
    closure = lambda_packaging.check_layer_closure(
        ["amazon-dax-client==2.1.0", "antlr4-python3-runtime==4.13.2", "six==1.17.0"], "arm64")
    assert closure.distributions["botocore"] == "1.44.5"  # needed, and the runtime's version
    assert closure.needed_by["botocore"] == ["amazon-dax-client"]
    assert "botocore" not in closure.beyond_runtime()


@pytest.mark.network
def test_a_dependency_that_needs_another_sdk_than_the_runtimes_fails_resolution():
    """boto3 1.28 in a layer would need a botocore the runtime doesn't have (and the layer doesn't list)."""
    conflict = r"(?s)failed.*The conflict is caused by.*boto3 1\.28\.0 depends on botocore"
    with pytest.raises(lambda_packaging.IncompleteRequirements, match=conflict):
        lambda_packaging.check_layer_closure(["boto3==1.28.0"], "arm64")


@pytest.mark.network
def test_a_conflict_is_cached_like_a_closure(monkeypatch):
    with pytest.raises(lambda_packaging.IncompleteRequirements):
        lambda_packaging.resolve_closure(["boto3==1.28.0"], "arm64")
    monkeypatch.setattr(lambda_packaging, "_run", lambda command: pytest.fail(f"ran {command[:3]}"))
    with pytest.raises(lambda_packaging.IncompleteRequirements, match="boto3 1.28.0 depends on botocore"):
        lambda_packaging.resolve_closure(["boto3==1.28.0"], "arm64")


def test_a_failure_that_is_not_a_conflict_is_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv(lambda_packaging.CACHE_ENV, str(tmp_path))
    offline = subprocess.CompletedProcess([], 1, "", "ERROR: Could not find a version that satisfies x==1 "
                                                     "(from versions: none)\nERROR: Connection refused")
    monkeypatch.setattr(lambda_packaging, "_run", lambda command: offline)
    for _ in range(2):
        with pytest.raises(lambda_packaging.IncompleteRequirements, match="Connection refused"):
            lambda_packaging.resolve_closure(["x==1"], "arm64")
    assert not list(tmp_path.glob("resolutions/*.json"))


@pytest.mark.network
@pytest.mark.parametrize("function", sorted(p.name for p in lambda_packaging.functions_root().iterdir()
                                            if (p / "requirements.txt").is_file()))
def test_every_function_lists_its_whole_closure_beyond_the_runtime(function):
    closure = lambda_packaging.check_function_closure(function, "arm64")
    assert set(closure.beyond_runtime()) <= {lambda_packaging._pinned(r)[0]
                                             for r in lambda_packaging.function_requirements(function)}


@pytest.mark.network
def test_a_resolution_is_cached_so_the_next_check_is_offline(monkeypatch):
    requirements = ["aws-lambda-powertools==3.37.0", "typing-extensions==4.16.0"]
    first = lambda_packaging.resolve_closure(requirements, "arm64")
    monkeypatch.setattr(lambda_packaging, "_run", lambda command: pytest.fail(f"ran {command[:3]}"))
    assert lambda_packaging.resolve_closure(requirements, "arm64") == first


def _report(*items):
    return {"install": [{"metadata": {"name": name, "version": version, "requires_dist": requires},
                         "requested": requested} for name, version, requires, requested in items]}


def test_markers_are_evaluated_for_lambda_not_for_this_host():
    """pip evaluates markers for the host's Python; the closure keeps what python3.13 on arm64 needs."""
    report = _report(
        ("app", "1.0", ['old-backport; python_version < "3.12"', 'arm-helper; platform_machine == "aarch64"',
                        "Typing_Extensions>=4", 'tracing-sdk; extra == "tracer"'], True),
        ("typing_extensions", "4.16.0", [], False),
        ("old-backport", "2.0", [], False))
    closure = lambda_packaging._closure_from_report(report, lambda_packaging._target_environment("arm64", "3.13"))
    assert closure.distributions == {"app": "1.0", "typing-extensions": "4.16.0", "arm-helper": "?"}
    assert closure.needed_by["arm-helper"] == ["app"]


def test_requested_extras_bring_their_dependencies():
    report = _report(("app", "1.0", ['tracing-sdk; extra == "tracer"'], True), ("tracing-sdk", "2.0", [], False))
    report["install"][0]["requested_extras"] = ["tracer"]
    closure = lambda_packaging._closure_from_report(report, lambda_packaging._target_environment("x86_64", "3.13"))
    assert closure.distributions == {"app": "1.0", "tracing-sdk": "2.0"}


def test_a_closure_cache_key_changes_with_requirements_architecture_and_runtime(monkeypatch):
    key = lambda_packaging._closure_cache_key(["a==1"], "arm64", "3.13")
    assert key != lambda_packaging._closure_cache_key(["a==2"], "arm64", "3.13")
    assert key != lambda_packaging._closure_cache_key(["a==1"], "x86_64", "3.13")
    monkeypatch.setitem(lambda_packaging.lambda_runtime.RUNTIME_PROVIDED, "boto3", "9.9.9")
    assert key != lambda_packaging._closure_cache_key(["a==1"], "arm64", "3.13")


# --- the x86_64 twin layer -----------------------------------------------------------------------

def _fake_layer(path, distributions):
    with zipfile.ZipFile(path, "w") as archive:
        for name, version in distributions.items():
            archive.writestr(f"python/{name.replace('-', '_')}-{version}.dist-info/METADATA",
                             f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")
    return path


def test_layers_with_the_same_distributions_are_at_parity(tmp_path):
    first = _fake_layer(tmp_path / "arm64.zip", {"Pillow": "13.0.0", "six": "1.17.0"})
    second = _fake_layer(tmp_path / "x86_64.zip", {"pillow": "13.0.0", "six": "1.17.0"})
    assert lambda_packaging.check_layer_parity(first, second) == {"pillow": "13.0.0", "six": "1.17.0"}


def test_layers_differing_in_a_version_or_a_distribution_are_named(tmp_path):
    first = _fake_layer(tmp_path / "arm64.zip", {"pillow": "13.0.0", "six": "1.17.0"})
    second = _fake_layer(tmp_path / "x86_64.zip", {"pillow": "12.2.0", "numpy": "2.3.0"})
    with pytest.raises(lambda_packaging.LayerParityError) as raised:
        lambda_packaging.check_layer_parity(first, second)
    assert "numpy: absent in arm64.zip vs 2.3.0 in x86_64.zip" in str(raised.value)
    assert "pillow: 13.0.0 in arm64.zip vs 12.2.0 in x86_64.zip" in str(raised.value)
    assert "six: 1.17.0 in arm64.zip vs absent in x86_64.zip" in str(raised.value)


@pytest.mark.network
def test_the_twin_layer_holds_the_deployed_distributions_for_x86_64():
    requirements = lambda_packaging.function_requirements("thumbnailer")
    twin = lambda_packaging.twin_layer_zip(requirements, "arm64")
    names = zipfile.ZipFile(twin).namelist()
    assert "python/PIL/_imaging.cpython-313-x86_64-linux-gnu.so" in names
    assert lambda_packaging.layer_distributions(twin) == lambda_packaging.layer_distributions(
        lambda_packaging.function_layer_zip("thumbnailer", "arm64"))


@pytest.mark.network
def test_the_runtime_packages_folder_holds_the_runtime_versions():
    folder = lambda_packaging.runtime_packages_dir("x86_64")
    found = dict(lambda_packaging._pinned(p.name.removesuffix(".dist-info").replace("-", "==", 1))
                 for p in folder.glob("*.dist-info"))
    assert found == lambda_packaging.lambda_runtime.RUNTIME_PROVIDED
