"""The dev stack: the real __main__.py with Pulumi.dev.yaml, under mocks."""


def test_dev_enables_the_todo_api_without_dax_or_cache(dev_stack):
    assert dev_stack.component("todo")
    assert not dev_stack.of_type("aws:dax/cluster:Cluster")
    assert not dev_stack.of_type("aws:ec2/vpc:Vpc") or all(
        not v.name.startswith("todo") for v in dev_stack.of_type("aws:ec2/vpc:Vpc"))
    assert dev_stack.named("todo-api-stage").props["cacheClusterEnabled"] is False


def test_dev_buckets_can_be_destroyed(dev_stack):
    assert all(b.props.get("forceDestroy") for b in dev_stack.of_type("aws:s3/bucket:Bucket")
               if b.name.startswith("todo"))


def test_dev_tables_have_no_deletion_protection(dev_stack):
    assert all(not t.props.get("deletionProtectionEnabled") for t in dev_stack.of_type("aws:dynamodb/table:Table"))


def test_dev_logs_are_kept_one_week(dev_stack):
    assert {g.props["retentionInDays"] for g in dev_stack.of_type("aws:cloudwatch/logGroup:LogGroup")} == {7}


def test_dev_assumes_the_api_gateway_account_setting_and_declares_none(dev_stack):
    """Prod manages the shared setting; destroying dev must not reset it, so dev doesn't own it."""
    assert dev_stack.of_type("aws:apigateway/account:Account") == []
    assert not [r.name for r in dev_stack.resources if r.name.startswith("apigateway-logging")]
    stages = dev_stack.of_type("aws:apigateway/stage:Stage")
    assert stages and not [d for stage in stages for d in stage.dependencies if "apigateway/account" in d]
