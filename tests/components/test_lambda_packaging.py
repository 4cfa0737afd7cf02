"""The shared packaging helper: deterministic code zips and real per-architecture layers."""
import zipfile

import pytest

from serverless_blueprints import lambda_packaging


def test_code_zip_is_byte_identical_across_builds(tmp_path):
    first = lambda_packaging.code_zip("todo_api").read_bytes()
    second = lambda_packaging.code_zip("todo_api").read_bytes()
    assert first == second


def test_code_zip_holds_the_function_as_a_package_without_caches():
    names = zipfile.ZipFile(lambda_packaging.code_zip("todo_api")).namelist()
    assert "todo_api/handler.py" in names
    assert all(name.startswith("todo_api/") for name in names)
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
