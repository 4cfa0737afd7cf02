"""Canary releases in the real stacks: every Lambda API's function behind `live`, released by CodeDeploy."""
import pytest

GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
ALIAS = "aws:lambda/alias:Alias"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
STACK_CONFIGS = [("prod_stack", "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
                 ("dev_stack", "CodeDeployDefault.LambdaAllAtOnce")]
LAMBDA_APIS = {"todo-api", "outbox-api", "blog-api-rest", "blog-authoring-rest", "media-signer-api",
               "media-registration-api", "cart-rest", "shop-health-api"}
"""The REST APIs with Lambda routes in both stacks; a new one must be added here (and given a canary)."""


def lambda_integrations(stack):
    """Every Lambda proxy integration of the stack (AWS_PROXY is Lambda's only), whichever component made it."""
    return [i for i in stack.of_type("aws:apigateway/integration:Integration") if i.props["type"] == "AWS_PROXY"]


def live_aliases(stack):
    """The alias `live` of each canaried function, by the invoke ARN API Gateway integrates."""
    return {a.outputs["invokeArn"]: a for a in stack.of_type(ALIAS) if a.props["name"] == "live"}


def api_of(stack, resource):
    """The LambdaRestApi component a resource belongs to."""
    while resource.resource_type != "serverless-blueprints:index:LambdaRestApi":
        resource = stack.by_urn(resource.parent)
    return resource.name


@pytest.mark.parametrize("stack_name, config", [("prod_stack", "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
                                                ("dev_stack", "CodeDeployDefault.LambdaAllAtOnce")])
def test_the_todo_api_is_released_through_codedeploy_with_the_stacks_config(request, stack_name, config):
    stack = request.getfixturevalue(stack_name)
    group = stack.named("todo-handler-canary-group").props
    assert group["deploymentConfigName"] == config
    assert group["autoRollbackConfiguration"]["enabled"] is True
    alarms = [stack.named(f"todo-handler-canary-rollback-{kind}") for kind in ("errors", "p99-duration")]
    assert group["alarmConfiguration"]["alarms"] == [a.outputs["name"] for a in alarms]
    # The rollback alarms also reach people: they notify the stack's alarm topic.
    topic = stack.named("alarms").outputs["arn"]
    assert all(a.props["alarmActions"] == [topic] for a in alarms)

@pytest.mark.parametrize("stack_name", ["prod_stack", "dev_stack"])
def test_every_todo_route_invokes_the_live_alias(request, stack_name):
    stack = request.getfixturevalue(stack_name)
    alias = stack.named("todo-handler-canary-live").outputs["invokeArn"]
    integrations = [i for i in stack.of_type("aws:apigateway/integration:Integration")
                    if i.name.startswith("todo-api-") and i.props["type"] == "AWS_PROXY"]
    assert integrations and all(i.props["uri"] == alias for i in integrations)



@pytest.mark.parametrize("stack_name", ["prod_stack", "dev_stack"])
def test_every_lambda_api_route_invokes_a_live_alias(request, stack_name):
    stack = request.getfixturevalue(stack_name)
    integrations, aliases = lambda_integrations(stack), live_aliases(stack)
    assert {api_of(stack, i) for i in integrations} == LAMBDA_APIS
    without_canary = sorted(i.name for i in integrations if i.props["uri"] not in aliases)
    assert not without_canary, f"Lambda API routes that bypass a canary (give their component one): {without_canary}"


@pytest.mark.parametrize("stack_name", ["prod_stack", "dev_stack"])
def test_api_gateway_may_invoke_only_the_live_alias(request, stack_name):
    stack = request.getfixturevalue(stack_name)
    permissions = [p for p in stack.of_type("aws:lambda/permission:Permission")
                   if p.props["principal"] == "apigateway.amazonaws.com"]
    assert len(permissions) == len(lambda_integrations(stack))
    assert [p.name for p in permissions if p.props.get("qualifier") != "live"] == []


@pytest.mark.parametrize("stack_name, config", STACK_CONFIGS)
def test_every_lambda_api_function_is_released_by_codedeploy_and_rolled_back_on_its_alarms(request, stack_name,
                                                                                           config):
    stack = request.getfixturevalue(stack_name)
    topic = stack.named("alarms").outputs["arn"]
    targeted = {live_aliases(stack)[i.props["uri"]].urn for i in lambda_integrations(stack)}
    assert len(targeted) == len(LAMBDA_APIS)  # one function per API
    for alias_urn in targeted:
        canary = stack.by_urn(stack.by_urn(alias_urn).parent)
        children = stack.children_of(canary.urn)
        [group] = [c for c in children if c.resource_type == GROUP]
        rollback = [c for c in children if c.resource_type == ALARM and "-rollback-" in c.name]
        assert group.props["deploymentConfigName"] == config, canary.name
        assert group.props["autoRollbackConfiguration"] == {
            "enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}, canary.name
        assert {a.name.rsplit("-rollback-", 1)[1] for a in rollback} == {"errors", "p99-duration"}, canary.name
        assert sorted(group.props["alarmConfiguration"]["alarms"]) == sorted(a.outputs["name"] for a in rollback), \
            canary.name
        assert all(a.props["alarmActions"] == [topic] for a in rollback), canary.name
        [release] = [c for c in children if c.resource_type == "aws:lambda/invocation:Invocation"]
        assert release.props["triggers"]["targetVersion"] == stack.by_urn(alias_urn).props["functionVersion"]
