"""The one list of what the python3.13 Lambda runtime provides."""
import email.parser
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from serverless_blueprints import lambda_packaging, lambda_runtime

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints.txt"


def constraint_pins() -> dict[str, str]:
    pins = (line.split("#", 1)[0].strip() for line in CONSTRAINTS.read_text().splitlines())
    return {lambda_runtime.canonical_name(name): version
            for name, version in (pin.split("==") for pin in pins if "==" in pin)}


def test_the_runtime_provides_the_sdk_and_its_dependencies_only():
    assert set(lambda_runtime.RUNTIME_PROVIDED) == {
        "boto3", "botocore", "jmespath", "python-dateutil", "s3transfer", "six", "urllib3"}


def test_the_list_describes_the_runtime_we_deploy():
    assert lambda_runtime.RUNTIME == "python3.13"
    assert lambda_runtime.PYTHON_VERSION == "3.13"


def test_the_runtime_sdk_is_the_one_our_tests_pin():
    """The closure check and the twin use the same SDK as constraints.txt, down to each dependency."""
    pins = constraint_pins()
    assert {name: pins.get(name) for name in lambda_runtime.RUNTIME_PROVIDED} == lambda_runtime.RUNTIME_PROVIDED


def test_names_are_canonical_and_matched_canonically():
    assert all(name == lambda_runtime.canonical_name(name) for name in lambda_runtime.RUNTIME_PROVIDED)
    assert lambda_runtime.canonical_name("Typing_Extensions") == "typing-extensions"
    assert lambda_runtime.canonical_name("zope.interface") == "zope-interface"
    assert lambda_runtime.is_runtime_provided("python_dateutil")
    assert not lambda_runtime.is_runtime_provided("typing-extensions")


def test_runtime_requirements_are_pinned_and_sorted():
    requirements = lambda_runtime.runtime_requirements()
    assert requirements == sorted(requirements)
    assert "boto3==1.44.5" in requirements
    assert all(re.fullmatch(r"[a-z0-9-]+==[0-9][0-9a-z.]*", r) for r in requirements)


@pytest.mark.network
def test_the_list_is_closed_under_its_own_dependencies_at_its_versions():
    """Every dependency of a runtime package (on python3.13, no extras) is in the list, at a version it accepts."""
    environment = {"python_version": "3.13", "python_full_version": "3.13.0", "sys_platform": "linux",
                   "platform_machine": "x86_64", "implementation_name": "cpython", "extra": ""}
    installed = lambda_packaging.runtime_packages_dir("x86_64")
    problems = []
    for metadata_file in installed.glob("*.dist-info/METADATA"):
        metadata = email.parser.HeaderParser().parsestr(metadata_file.read_text())
        assert lambda_runtime.RUNTIME_PROVIDED[lambda_runtime.canonical_name(metadata["Name"])] == metadata["Version"]
        for line in metadata.get_all("Requires-Dist") or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate(environment):
                continue
            provided = lambda_runtime.RUNTIME_PROVIDED.get(lambda_runtime.canonical_name(requirement.name))
            if provided is None or not requirement.specifier.contains(provided, prereleases=True):
                problems.append(f"{metadata['Name']} needs {requirement}, the list has {provided}")
    assert len(list(installed.glob("*.dist-info"))) == len(lambda_runtime.RUNTIME_PROVIDED)
    assert not problems
