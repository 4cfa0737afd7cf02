"""What a component's `canary` arg must give each of its API functions (shared by the component tests)."""
ALIAS = "aws:lambda/alias:Alias"
ALL_AT_ONCE = {"deployment_config": "LambdaAllAtOnce"}
UNKNOWN_KEY = {"rollback": True}
UNKNOWN_KEY_ERROR = r"canary\.rollback: unknown arg"


def assert_released_through_live(stack, functions: list[str], topic: str) -> None:
    """Every Lambda route invokes a `live` alias (API Gateway may invoke only it), and each named function is
    released by CodeDeploy all at once (ALL_AT_ONCE), rolled back on alarms that also notify `topic`."""
    aliases = {a.outputs["invokeArn"] for a in stack.of_type(ALIAS) if a.props["name"] == "live"}
    integrations = [i for i in stack.of_type("aws:apigateway/integration:Integration")
                    if i.props["type"] == "AWS_PROXY"]
    assert integrations and all(i.props["uri"] in aliases for i in integrations)
    assert all(p.props["qualifier"] == "live" for p in stack.of_type("aws:lambda/permission:Permission")
               if p.props["principal"] == "apigateway.amazonaws.com")
    for function in functions:
        group = stack.named(f"{function}-canary-group").props
        assert group["deploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
        rollback = [stack.named(f"{function}-canary-rollback-{kind}") for kind in ("errors", "p99-duration")]
        assert sorted(group["alarmConfiguration"]["alarms"]) == sorted(a.outputs["name"] for a in rollback)
        assert all(a.props["alarmActions"] == [topic] for a in rollback)


def assert_no_canary(stack) -> None:
    """Without the arg: no alias, no CodeDeploy, the functions invoked unqualified."""
    assert not stack.of_type(ALIAS)
    assert not stack.of_type("aws:codedeploy/deploymentGroup:DeploymentGroup")
