"""What every stack gets, whatever it enables."""
import pytest


@pytest.fixture(params=["dev_stack", "prod_stack"])
def stack(request):
    return request.getfixturevalue(request.param)


def test_providers_carry_project_stack_and_environment_default_tags(stack):
    for provider in stack.providers.values():
        tags = provider.props["defaultTags"]["tags"]
        assert tags == {"project": "serverless-blueprints", "stack": stack.stack, "environment": stack.stack}


def test_every_aws_resource_uses_an_explicit_tagged_provider(stack):
    for resource in stack.resources:
        if resource.custom and resource.resource_type.startswith("aws:"):
            assert stack.provider_of(resource) is not None, resource.name


def test_every_function_is_arm64_or_declared_and_traced(stack):
    for function in stack.of_type("aws:lambda/function:Function"):
        assert function.props["runtime"] == "python3.13"
        assert function.props["tracingConfig"]["mode"] == "Active"
        assert function.props["timeout"] and function.props["memorySize"]
