"""The cost estimate: per-service arithmetic by hand, completeness over component types, the README snippet."""
import re

import pytest

from offline import cost, usage
from offline.harness import PROJECT_DIR, RecordedResource, StackSnapshot
from serverless_blueprints.update_offload_cost import (ALB_PROCESSING_USD_PER_GB, CLOUDFRONT_EGRESS_USD_PER_GB,
                                                       INTERNET_EGRESS_USD_PER_GB, estimate_monthly_offload)

P = cost.prices("eu-west-1")
PROVIDER = "urn:pulumi:t::serverless-blueprints::pulumi:providers:aws::home"


def _snapshot(*resources, usage_for=None) -> StackSnapshot:
    """A stack of one component 'c' of type `usage_for` holding `resources` (type, name, props)."""
    kind = usage_for or "serverless-blueprints:index:Fake"
    component = RecordedResource(f"urn:pulumi:t::p::{kind}::c", kind, "c", {}, False)
    provider = RecordedResource(PROVIDER, "pulumi:providers:aws", "home",
                                {"region": "eu-west-1", "defaultTags": {"tags": {"environment": "prod"}}}, True)
    records = [provider, component] + [
        RecordedResource(f"urn:pulumi:t::p::{kind}${t}::{n}", t, n, props, True, parent=component.urn,
                         outputs={"_region": "eu-west-1", "id": f"{n}-id"})
        for t, n, props in resources]
    return StackSnapshot("t", records, {}, {PROVIDER: provider})


@pytest.fixture
def priced(monkeypatch):
    """(resource type, props, drivers) -> (monthly USD, estimate) of one resource in a component with `drivers`."""
    def price(resource_type, props, drivers):
        monkeypatch.setitem(usage.PROFILES, "serverless-blueprints:index:Fake", {"prod": drivers})
        estimate = cost.estimate_stack(_snapshot((resource_type, "c-x", props)), overrides={})
        return round(estimate.total, 6), estimate
    return price


@pytest.mark.parametrize("resource_type, props, drivers, expected", [
    # Lambda arm64: 1M requests x $0.20 + 1M x 0.1 s x 0.5 GB = 50,000 GB-s x $0.0000133334
    ("aws:lambda/function:Function", {"memorySize": 512, "architectures": ["arm64"]},
     {"functions": {"*": {"invocations": 1_000_000, "duration_ms": 100}}}, 0.20 + 50_000 * 0.0000133334),
    # Lambda x86_64 default: 2M x $0.20/M + 2M x 0.2 s x 1 GB = 400,000 GB-s x $0.0000166667
    ("aws:lambda/function:Function", {"memorySize": 1024},
     {"functions": {"x": {"invocations": 2_000_000, "duration_ms": 200}}}, 0.40 + 400_000 * 0.0000166667),
    ("aws:apigateway/restApi:RestApi", {}, {"api_requests": 10_000_000}, 35.00),
    ("aws:apigateway/stage:Stage", {"cacheClusterEnabled": True, "cacheClusterSize": "1.6"}, {}, 730 * 0.038),
    ("aws:apigateway/stage:Stage", {"cacheClusterEnabled": False}, {}, 0),
    # DynamoDB: 10M reads x 0.1413 + 2M writes x 0.7068 + 10 GB x 0.283 + PITR 10 x 0.2264
    ("aws:dynamodb/table:Table", {"pointInTimeRecovery": {"enabled": True}},
     {"tables": {"*": {"reads": 10_000_000, "writes": 2_000_000, "storage_gb": 10}}},
     1.413 + 1.4136 + 2.83 + 2.264),
    # One us-east-1 replica with PITR: + 2M replicated writes x 0.625 + 10 GB x 0.25 + 10 GB x 0.20
    ("aws:dynamodb/table:Table", {"replicas": [{"regionName": "us-east-1", "pointInTimeRecovery": True}]},
     {"tables": {"*": {"reads": 0, "writes": 2_000_000, "storage_gb": 10}}}, 1.4136 + 2.83 + 1.25 + 2.5 + 2.0),
    ("aws:dax/cluster:Cluster", {"nodeType": "dax.t3.small", "replicationFactor": 3}, {}, 730 * 3 * 0.044),
    ("aws:s3/bucket:Bucket", {}, {"buckets": {"*": {"storage_gb": 100, "puts": 10_000, "gets": 1_000_000}}},
     2.30 + 0.05 + 0.40),
    ("aws:cloudfront/distribution:Distribution", {"priceClass": "PriceClass_100"},
     {"cdn": {"gb_out": 1000, "requests": 10_000_000}}, 85.0 + 10.0),
    # Origin Shield: 10M requests x (1 - 0.9) = 1M x $0.75
    ("aws:cloudfront/distribution:Distribution",
     {"priceClass": "PriceClass_200", "origins": [{"originShield": {"enabled": True}}]},
     {"cdn": {"gb_out": 100, "requests": 10_000_000, "cache_hit_ratio": 0.9}}, 9.08 + 10.0 + 0.75),
    # CloudFront Functions: a viewer-request function on the default behaviour runs on each of the 10M requests
    ("aws:cloudfront/distribution:Distribution",
     {"priceClass": "PriceClass_100", "defaultCacheBehavior": {"functionAssociations": [
         {"eventType": "viewer-request", "functionArn": "arn:aws:cloudfront::123456789012:function/f"}]}},
     {"cdn": {"gb_out": 0, "requests": 10_000_000}}, 10.0 + 10 * 0.10),
    # Invalidations requested by a function: 1,500 paths, the first 1,000 free, 500 x $0.005
    ("aws:lambda/function:Function", {}, {"invalidation_paths": {"*": 1_500}}, 500 * 0.005),
    ("aws:lambda/function:Function", {}, {"invalidation_paths": {"*": 1_000}}, 0),
    ("aws:wafv2/webAcl:WebAcl", {"rules": [{}, {}, {}]}, {"waf_requests": 10_000_000}, 5 + 3 + 6.0),
    ("aws:sqs/queue:Queue", {}, {"queues": {"*": 5_000_000}}, 2.0),
    ("aws:sns/topic:Topic", {}, {"topic_publishes": 4_000_000}, 2.0),
    ("aws:cloudwatch/eventBus:EventBus", {}, {"events": 3_000_000}, 3.0),
    ("aws:cloudwatch/eventArchive:EventArchive", {}, {"archive_gb": 10}, 1.0),
    ("aws:sesv2/emailIdentity:EmailIdentity", {}, {"emails": 50_000}, 5.0),
    ("aws:kms/key:Key", {}, {"kms_requests": 1_000_000}, 1.0 + 3.0),
    ("aws:cognito/userPool:UserPool", {}, {"monthly_active_users": 1_000}, 15.0),
    ("aws:lb/loadBalancer:LoadBalancer", {"loadBalancerType": "application"}, {"alb_lcus": 2},
     730 * 0.0252 + 2 * 730 * 0.008),
    ("aws:ec2/instance:Instance", {"instanceType": "t4g.micro", "rootBlockDevice": {"volumeSize": 20}}, {},
     730 * 0.0092 + 20 * 0.088),
    ("aws:ebs/volume:Volume", {"size": 100}, {}, 8.8),
    ("aws:efs/fileSystem:FileSystem", {}, {"efs_gb": 10}, 3.3),
    ("aws:ec2/natGateway:NatGateway", {}, {"nat_gb": 100}, 730 * 0.048 + 4.8),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", {"vpcEndpointType": "Interface", "subnetIds": ["a", "b"]}, {},
     730 * 2 * 0.011),
    ("aws:ec2/vpcEndpoint:VpcEndpoint", {"vpcEndpointType": "Gateway"}, {}, 0),
    ("aws:kinesis/stream:Stream", {"shardCount": 2}, {"kinesis_put_units": 10_000_000}, 730 * 2 * 0.017 + 0.155),
    ("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream", {}, {"firehose_gb": 100}, 3.1),
    ("aws:athena/workgroup:Workgroup", {}, {"athena_tb_scanned": 2}, 10.0),
    ("aws:elasticache/cluster:Cluster", {"nodeType": "cache.t4g.small", "numCacheNodes": 2}, {}, 730 * 2 * 0.036),
    ("aws:rds/instance:Instance", {"instanceClass": "db.t4g.micro", "multiAz": True, "allocatedStorage": 20}, {},
     730 * 2 * 0.018 + 20 * 0.127),
    ("aws:secretsmanager/secret:Secret", {}, {"secrets_api_calls": 100_000}, 0.40 + 0.5),
    # Logs: 10 GB ingested x 0.57, stored 10 x 30 days / 30 = 10 GB x 0.03
    ("aws:cloudwatch/logGroup:LogGroup", {"retentionInDays": 30}, {"logs_gb": 10}, 5.70 + 0.30),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", {}, {}, 0.10),
    ("aws:cloudwatch/dashboard:Dashboard", {}, {}, 3.00),
])
def test_service_arithmetic_by_hand(priced, resource_type, props, drivers, expected):
    total, _ = priced(resource_type, props, drivers)
    assert total == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_the_free_invalidation_paths_are_the_stacks_not_each_functions(monkeypatch):
    """Two functions requesting 700 paths each: 1,400 in the stack (one account), 400 of them billed."""
    monkeypatch.setitem(usage.PROFILES, "serverless-blueprints:index:Fake",
                        {"prod": {"invalidation_paths": {"one": 700, "two": 700}}})
    estimate = cost.estimate_stack(_snapshot(("aws:lambda/function:Function", "c-one", {}),
                                             ("aws:lambda/function:Function", "c-two", {})), overrides={})
    paths = [i for i in estimate.items if i.what.startswith("invalidation paths")]
    assert [i.quantity for i in paths] == [0, 400]
    assert paths[1].what == "invalidation paths past 1,000 free a month (700 requested)"
    assert estimate.total == pytest.approx(400 * P["cloudfront"]["invalidation_path"])


def _logged_distribution(destination_arn: str) -> StackSnapshot:
    return _snapshot(
        ("aws:cloudwatch/logDeliverySource:LogDeliverySource", "c-logs-source",
         {"name": "c-cf-logs", "logType": "ACCESS_LOGS",
          "resourceArn": "arn:aws:cloudfront::123456789012:distribution/E1"}),
        ("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination", "c-logs-s3",
         {"deliveryDestinationConfiguration": {"destinationResourceArn": destination_arn}}),
        ("aws:cloudwatch/logDelivery:LogDelivery", "c-logs",
         {"deliverySourceName": "c-cf-logs", "deliveryDestinationArn": "c-logs-s3-id"}))


def test_standard_logs_v2_are_priced_per_gb_delivered_to_s3(monkeypatch):
    monkeypatch.setitem(usage.PROFILES, "serverless-blueprints:index:Fake", {"prod": {"access_logs_gb": 10}})
    estimate = cost.estimate_stack(_logged_distribution("arn:aws:s3:::c-logs-bucket"), overrides={})
    (line,) = estimate.items
    assert (line.service, line.what, line.quantity) == ("CloudFront", "standard logs delivered to S3 (GB)", 10)
    assert estimate.total == pytest.approx(10 * 0.25) and not estimate.unpriced


def test_log_delivery_elsewhere_than_s3_is_reported_unpriced(monkeypatch):
    monkeypatch.setitem(usage.PROFILES, "serverless-blueprints:index:Fake", {"prod": {"access_logs_gb": 10}})
    estimate = cost.estimate_stack(
        _logged_distribution("arn:aws:logs:us-east-1:123456789012:log-group:cf"), overrides={})
    assert estimate.total == 0 and "only CloudFront logs delivered to S3 are priced" in estimate.unpriced[0]


def test_the_stacks_edge_pieces_are_priced(prod_stack):
    estimate = cost.estimate_stack(prod_stack, overrides={})
    lines = {(i.component, i.what): i for i in estimate.items}
    assert lines[("blog-site", "Functions invocations (millions)")].quantity == 20  # the language function
    assert lines[("media", "Functions invocations (millions)")].quantity == 30  # the public guard
    assert {c for c, what in lines if what == "standard logs delivered to S3 (GB)"} == {"blog-site", "media",
                                                                                          "updates"}
    requested = {c: i for (c, what), i in lines.items() if what.startswith("invalidation paths")}
    assert set(requested) == {"blog-site", "blog-authoring"}  # the deploy-time invalidator, the authors' API
    assert sum(i.monthly_usd for i in requested.values()) == 0  # 460 paths: inside the free 1,000


def test_autoscaling_group_prices_its_launch_template_instances_and_volumes(monkeypatch):
    template = ("aws:ec2/launchTemplate:LaunchTemplate", "c-lt",
                {"instanceType": "t4g.small", "blockDeviceMappings": [{"ebs": {"volumeSize": 30}}]})
    group = ("aws:autoscaling/group:Group", "c-asg", {"minSize": 2, "launchTemplate": {"id": "c-lt-id"}})
    monkeypatch.setitem(usage.PROFILES, "serverless-blueprints:index:Fake", {"prod": {}})
    estimate = cost.estimate_stack(_snapshot(template, group), overrides={})
    assert estimate.total == pytest.approx(730 * 2 * 0.0184 + 2 * 30 * 0.088)


def test_fargate_service_prices_its_tasks_vcpu_and_memory_at_the_task_definitions_architecture(monkeypatch):
    task = ("aws:ecs/taskDefinition:TaskDefinition", "c-td",
            {"cpu": "512", "memory": "1024", "runtimePlatform": {"cpuArchitecture": "ARM64"}})
    service = ("aws:ecs/service:Service", "c-svc", {"desiredCount": 2, "taskDefinition": "c-td-id"})
    monkeypatch.setitem(usage.PROFILES, "serverless-blueprints:index:Fake", {"prod": {}})
    estimate = cost.estimate_stack(_snapshot(task, service), overrides={})
    # 2 tasks x 0.5 vCPU x 730 h x $0.03238 + 2 x 1 GB x 730 h x $0.00356 (eu-west-1, arm64)
    assert estimate.total == pytest.approx(2 * 0.5 * 730 * 0.03238 + 2 * 1 * 730 * 0.00356)


def test_an_unknown_instance_size_is_reported_unpriced_not_zero_silently(priced):
    _, estimate = priced("aws:dax/cluster:Cluster", {"nodeType": "dax.x9.huge", "replicationFactor": 1}, {})
    assert estimate.unpriced and "dax.x9.huge" in estimate.unpriced[0]


def test_update_offload_numbers_are_the_cost_models(priced):
    """The plan prices UpdateOffloadCdn's transfer with components/update_offload_cost.py, unchanged."""
    assert (P["ec2"]["internet_egress_gb"], P["alb"]["lcu_hour"],
            P["cloudfront"]["egress_gb_by_price_class"]["PriceClass_100"]) == (
        INTERNET_EGRESS_USD_PER_GB, ALB_PROCESSING_USD_PER_GB, CLOUDFRONT_EGRESS_USD_PER_GB)
    offload = {"release_size_gb": 0.5, "downloads_per_month": 10_000, "cache_hit_ratio": 0.8}
    _, estimate = priced("aws:cloudfront/distribution:Distribution", {"priceClass": "PriceClass_100"},
                          {"offload": offload})
    model = estimate_monthly_offload(0.5, 10_000, 0.8)
    transfer = sum(i.monthly_usd for i in estimate.items if "data out" in i.what or "cache misses" in i.what)
    assert transfer == pytest.approx(model.cost_with_cdn_usd)
    assert f"${model.saving_usd:,.2f}/month" in estimate.notes[0]


def test_every_component_type_in_each_stack_has_a_cost_entry(dev_stack, prod_stack):
    for snapshot in (dev_stack, prod_stack):
        types = cost.component_types(snapshot)
        assert types and not (types - set(usage.PROFILES)), f"{snapshot.stack}: {types - set(usage.PROFILES)}"
        assert not cost.estimate_stack(snapshot, overrides={}).uncosted


def test_a_new_component_type_without_a_cost_entry_is_reported_uncosted():
    estimate = cost.estimate_stack(_snapshot(("aws:kms/key:Key", "c-key", {}),
                                             usage_for="serverless-blueprints:index:Brand New"), overrides={})
    assert estimate.uncosted == ["serverless-blueprints:index:Brand New"]
    assert "UNCOSTED component type serverless-blueprints:index:Brand New" in cost.render_cost_table(estimate)


def test_usage_overrides_by_component_name_win_and_unknown_drivers_are_rejected(tmp_path):
    (tmp_path / "usage.dev.yaml").write_text("usage:\n  todo:\n    api_requests: 7\n")
    overrides = usage.read_overrides("dev", tmp_path)
    merged = usage.assumptions_for("serverless-blueprints:index:ServerlessRestApi", "todo", "dev", overrides)
    assert merged["api_requests"] == 7 and merged["functions"]  # the rest stays the default
    (tmp_path / "usage.dev.yaml").write_text("usage:\n  todo:\n    requests: 7\n")
    with pytest.raises(usage.UsageError, match="unknown usage driver 'requests'; allowed: .*api_requests"):
        usage.read_overrides("dev", tmp_path)


def test_every_price_file_states_its_source_and_date_and_has_the_same_services():
    files = sorted(cost.PRICES_DIR.glob("*.json"))
    services = {f.stem: set(cost.price_file(f.stem)["prices"]) for f in files}
    for region in services:
        document = cost.price_file(region)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", document["as_of"]) and "list prices" in document["source"]
        assert services[region] == services["eu-west-1"]


def test_plan_prints_a_cost_table_before_the_verdict(dev_stack, prod_stack):
    for snapshot in (dev_stack, prod_stack):
        table = cost.render_cost_table(cost.estimate_stack(snapshot, overrides={}))
        assert table.startswith(f"cost estimate (environment {snapshot.stack}, USD/month)")
        assert "  total " in table


def test_readme_cost_totals_are_current(dev_stack, prod_stack):
    snippet = cost.render_readme_snippet([cost.estimate_stack(s) for s in (dev_stack, prod_stack)])
    readme = (PROJECT_DIR / "README.md").read_text()
    assert snippet in readme, "README.md's cost totals are stale: run `python -m offline.cost --write-readme`"


def test_readme_snippet_names_each_stack_total_and_three_biggest_items(dev_stack):
    estimate = cost.estimate_stack(dev_stack, overrides={})
    snippet = cost.render_readme_snippet([estimate])
    row = next(line for line in snippet.splitlines() if line.startswith("| dev |"))
    assert cost.usd(estimate.total) in row and row.count(";") == 2

