"""The prod stack: the real __main__.py with Pulumi.prod.yaml, under mocks."""


def test_prod_enables_the_todo_api_with_dax_and_cache(prod_stack):
    assert prod_stack.component("todo")
    assert prod_stack.named("todo-dax").props["replicationFactor"] == 3
    assert prod_stack.named("todo-api-stage").props["cacheClusterEnabled"] is True


def test_prod_tables_have_deletion_protection(prod_stack):
    tables = prod_stack.of_type("aws:dynamodb/table:Table")
    assert tables and all(t.props.get("deletionProtectionEnabled") for t in tables)


def test_prod_buckets_survive_destroy(prod_stack):
    assert all(not b.props.get("forceDestroy") for b in prod_stack.of_type("aws:s3/bucket:Bucket"))


def test_prod_logs_are_kept_at_least_a_year(prod_stack):
    assert all(g.props["retentionInDays"] >= 365 for g in prod_stack.of_type("aws:cloudwatch/logGroup:LogGroup"))


def test_api_gateway_logging_role_is_scoped_to_this_regions_log_groups(prod_stack):
    import json
    policy = json.loads(prod_stack.named("apigateway-logging-push-logs").props["policy"])
    assert policy["Statement"][0]["Resource"] == ["arn:aws:logs:eu-west-1:123456789012:log-group:*"]


def test_prod_manages_the_shared_api_gateway_account_setting_and_retains_it_on_delete(prod_stack):
    """Deleting aws_api_gateway_account resets the account's CloudWatch role: destroying prod must not."""
    [account] = prod_stack.of_type("aws:apigateway/account:Account")
    assert account.retain_on_delete
    role, policy = prod_stack.named("apigateway-logging-role"), prod_stack.named("apigateway-logging-push-logs")
    assert role.retain_on_delete and policy.retain_on_delete
    for stage in prod_stack.of_type("aws:apigateway/stage:Stage"):
        assert account.urn in stage.dependencies, stage.name


def test_prod_serves_only_v1_and_deprecates_nothing(prod_stack):
    import json
    assert json.loads(prod_stack.named("todo-handler-fn").props["environment"]["variables"]
                      ["DEPRECATED_VERSIONS"]) == {}
