"""Shared fixtures: the real stacks evaluated under mocks, and helpers to read resource inputs."""
from __future__ import annotations

import json

import pytest

from offline.harness import RecordedResource, StackSnapshot, evaluate_stack


@pytest.fixture(scope="session")
def dev_stack() -> StackSnapshot:
    """`__main__.py` with Pulumi.dev.yaml, evaluated once per test session."""
    return evaluate_stack("dev")


@pytest.fixture(scope="session")
def prod_stack() -> StackSnapshot:
    """`__main__.py` with Pulumi.prod.yaml, evaluated once per test session."""
    return evaluate_stack("prod")


def policy_of(resource: RecordedResource, key: str = "policy") -> dict:
    """A policy document input (JSON string) as a dict."""
    return json.loads(resource.props[key])


def statements_of(resource: RecordedResource, key: str = "policy") -> list[dict]:
    statements = policy_of(resource, key)["Statement"]
    return statements if isinstance(statements, list) else [statements]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]
