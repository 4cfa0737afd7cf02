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


def test_dev_marks_v1_deprecated_and_its_stage_answers_with_the_sunset(dev_stack):
    """Every answer through the v1 stage carries Deprecation, Sunset and Link; v2's carry none."""
    import json
    deprecated = json.loads(dev_stack.named("todo-handler-fn").props["environment"]["variables"]
                            ["DEPRECATED_VERSIONS"])
    v1_stage = dev_stack.named("todo-api-stage").props
    assert v1_stage["variables"] == {"apiVersion": "v1"} and set(deprecated) == {"v1"}
    assert deprecated["v1"]["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert deprecated["v1"]["Deprecation"].startswith("@") and 'rel="deprecation"' in deprecated["v1"]["Link"]


def test_dev_todo_dashboard_counts_the_requests_of_each_version(dev_stack):
    import json
    board = dev_stack.exports["alarms"]["componentDashboards"]["todo"]
    [dashboard] = [d for d in dev_stack.of_type("aws:cloudwatch/dashboard:Dashboard")
                   if d.props["dashboardName"] == board]
    counted = [w["properties"]["metrics"][0] for w in json.loads(dashboard.props["dashboardBody"])["widgets"]
               if w["type"] == "metric" and w["properties"]["metrics"][0][1] == "Count"]
    assert [(m[0], m[-2], m[-1]) for m in counted] == [("AWS/ApiGateway", "Stage", "v1"), ("AWS/ApiGateway", "Stage", "v2")]
