"""Fixtures shared by the policy tests: run one rule over hand-built resources."""
import pytest

from policy import Provider, Resource, evaluate


def aws_provider(environment: str = "dev", region: str = "eu-west-1") -> Provider:
    """An AWS provider as the engine shows it: defaultTags arrive as a JSON string."""
    tags = '{"tags": {"project": "serverless-blueprints", "stack": "%s", "environment": "%s"}}' % (environment, environment)
    return Provider(props={"region": region, "defaultTags": tags}, urn=f"urn:provider::{region}", name=f"aws-{region}")


@pytest.fixture
def violations():
    """violations(rule_id, *resources, environment="dev") -> the messages that rule reports."""
    def run(rule_id: str, *resources: Resource, environment: str = "dev") -> list:
        report = evaluate(list(resources), environment, rules=[rule_id], suppressions=())
        return [finding.message for finding in report.findings]
    return run


@pytest.fixture
def provider():
    """provider(environment="dev", region="eu-west-1") -> an AWS provider with our default tags."""
    return aws_provider
