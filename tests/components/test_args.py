"""ArgsReader: the one resolve step every component uses, and the one error type it raises."""
from typing import Optional, Required, Sequence, TypedDict
from unittest.mock import create_autospec

import pulumi
import pytest

from serverless_blueprints.args import ArgsError, ArgsReader, arg_names


class LimitsArgs(TypedDict, total=False):
    rate_limit: float
    """Requests per second."""
    burst_limit: int
    """Burst."""


class ExampleArgs(TypedDict, total=False):
    name_prefix: Required[str]
    """Required."""
    memory_mb: int
    """A number with a range."""
    size_gb: str
    """A choice of strings."""
    arns: Sequence[pulumi.Input[str]]
    """Strings that may be outputs."""
    limits: Optional[LimitsArgs]
    """A nested section."""
    enabled_thing: bool
    """A flag."""


DEFAULTS = {"memory_mb": 256, "size_gb": "0.5", "enabled_thing": False}


def _reader(args: dict) -> ArgsReader:
    return ArgsReader("Example", "ex", {"name_prefix": "p", **args}, ExampleArgs, DEFAULTS)


def test_arg_names_reads_annotations_that_use_pulumi_input_without_evaluating_them():
    keys, required = arg_names(ExampleArgs)
    assert keys == ["name_prefix", "memory_mb", "size_gb", "arns", "limits", "enabled_thing"]
    assert required == ["name_prefix"]


def test_unknown_key_names_the_closest_match_and_every_allowed_key():
    with pytest.raises(ArgsError) as error:
        _reader({"memoryMb": 512})
    assert str(error.value) == ("Example 'ex': memoryMb: unknown arg (did you mean 'memory_mb'?); allowed: arns, "
                                "enabled_thing, limits, memory_mb, name_prefix, size_gb")
    assert error.value.path == ("memoryMb",) and error.value.component == "Example 'ex'"


def test_missing_required_key_is_named():
    with pytest.raises(ArgsError, match=r"^Example 'ex': name_prefix: required$"):
        ArgsReader("Example", "ex", {}, ExampleArgs, DEFAULTS)


def test_args_that_are_not_a_mapping_are_refused():
    with pytest.raises(ArgsError, match=r"expected a mapping of args, got list"):
        ArgsReader("Example", "ex", [], ExampleArgs)


def test_default_applies_when_the_arg_is_absent_or_none():
    assert _reader({}).integer("memory_mb", low=128, high=10240) == 256
    assert _reader({"memory_mb": None}).integer("memory_mb", low=128, high=10240) == 256


@pytest.mark.parametrize("value, problem", [
    (64, "64 is out of range; allowed 128 to 10240"),
    ("512", "expected a whole number from 128 to 10240, got '512'"),
    (True, "expected a whole number from 128 to 10240, got True"),
])
def test_integer_out_of_range_or_of_the_wrong_type_names_the_range(value, problem):
    with pytest.raises(ArgsError) as error:
        _reader({"memory_mb": value}).integer("memory_mb", low=128, high=10240)
    assert (error.value.path, error.value.problem) == (("memory_mb",), problem)


def test_choice_accepts_a_yaml_number_for_a_string_choice_and_lists_the_allowed_values():
    assert _reader({"size_gb": 0.5}).choice("size_gb", ("0.5", "1.6")) == "0.5"
    with pytest.raises(ArgsError, match=r"size_gb: '2' is not allowed; allowed values: 0\.5, 1\.6"):
        _reader({"size_gb": 2}).choice("size_gb", ("0.5", "1.6"))


def test_flag_refuses_anything_but_a_bool():
    with pytest.raises(ArgsError, match=r"enabled_thing: expected true or false, got 'yes'"):
        _reader({"enabled_thing": "yes"}).flag("enabled_thing")


def test_strings_pass_outputs_through_and_check_the_rest():
    output = create_autospec(pulumi.Output, instance=True)  # a real Output needs a running engine
    assert _reader({"arns": ["arn:a", output]}).strings("arns", check=lambda v: v.startswith("arn:"))[1] is output
    with pytest.raises(ArgsError, match=r"arns: expected a list of ARNs \(0 to 1000\), got \['x'\]"):
        _reader({"arns": ["x"]}).strings("arns", check=lambda v: v.startswith("arn:"), expected="a list of ARNs")


def test_section_keeps_the_path_of_the_nested_arg():
    limits = _reader({"limits": {"burst_limit": 9000}}).section("limits", LimitsArgs, {"rate_limit": 5})
    assert limits.number("rate_limit", low=1, high=10) == 5.0
    with pytest.raises(ArgsError) as error:
        limits.integer("burst_limit", low=1, high=5000)
    assert error.value.path == ("limits", "burst_limit")
    assert str(error.value) == "Example 'ex': limits.burst_limit: 9000 is out of range; allowed 1 to 5000"


def test_section_rejects_its_own_unknown_keys_with_its_path():
    with pytest.raises(ArgsError, match=r"limits\.rate_limits: unknown arg \(did you mean 'rate_limit'\?\)"):
        _reader({"limits": {"rate_limits": 1}}).section("limits", LimitsArgs)


def test_absent_section_is_none():
    assert _reader({}).section("limits", LimitsArgs) is None


def test_reading_an_undeclared_key_is_a_programming_error():
    with pytest.raises(KeyError, match="does not declare"):
        _reader({}).get("colour")


def test_args_error_is_a_value_error_for_callers_that_catch_those():
    assert issubclass(ArgsError, ValueError)


def test_because_keeps_the_arg_path_and_adds_the_reason():
    error = ArgsError("Example 'ex'", ("function", "timeout_seconds"), "29 is out of range; allowed 1 to 28")
    explained = error.because("under API Gateway's 29 s integration limit")
    assert explained.path == ("function", "timeout_seconds")
    assert str(explained) == ("Example 'ex': function.timeout_seconds: 29 is out of range; allowed 1 to 28 "
                              "(under API Gateway's 29 s integration limit)")
