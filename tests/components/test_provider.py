"""Every component is served to other Pulumi languages: Pulumi's analyzer accepts it, and schema.json is current."""
import importlib.util
import typing
from pathlib import Path

import pytest
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.util import camel_case

from serverless_blueprints import provider
from serverless_blueprints.args import arg_names

ROOT = Path(__file__).resolve().parents[2]


def _args_type(component: type) -> type:
    hint = typing.get_type_hints(component.__init__)["args"]
    return next((arg for arg in typing.get_args(hint) if arg is not type(None)), hint)


@pytest.fixture(scope="module")
def analyzed():
    return Analyzer(provider.NAME).analyze(provider.COMPONENTS)["component_definitions"]


@pytest.mark.parametrize("component", provider.COMPONENTS, ids=lambda c: c.__name__)
def test_analyzer_infers_every_arg_as_an_input(component, analyzed):
    definition = analyzed[component.__name__]
    keys, required = arg_names(_args_type(component))
    assert sorted(definition.inputs) == sorted(camel_case(key) for key in keys)
    assert sorted(name for name, prop in definition.inputs.items() if not prop.optional) == \
        sorted(camel_case(key) for key in required)


@pytest.mark.parametrize("component", provider.COMPONENTS, ids=lambda c: c.__name__)
def test_outputs_are_the_class_level_annotations(component, analyzed):
    declared = {name for cls in component.__mro__ if cls.__module__.startswith("serverless_blueprints")
                for name in cls.__annotations__ if not name.startswith("_")}
    assert set(analyzed[component.__name__].outputs) == {camel_case(name) for name in declared}
    assert analyzed[component.__name__].outputs, f"{component.__name__} declares no outputs"


def test_schema_has_a_resource_per_component_under_the_package_token():
    resources = provider.schema()["resources"]
    assert sorted(resources) == sorted(f"serverless-blueprints:index:{c.__name__}" for c in provider.COMPONENTS)
    assert all(resource["isComponent"] for resource in resources.values())


def test_committed_schema_is_current():
    spec = importlib.util.spec_from_file_location("generate_schema", ROOT / "provider" / "generate_schema.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    assert generate.SCHEMA_FILE.read_text() == generate.render(), \
        "provider/schema.json is stale: run `make schema`"
