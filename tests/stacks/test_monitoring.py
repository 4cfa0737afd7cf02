"""Both stacks under mocks: every function, API, queue, table, distribution and stream has its alarms, every alarm
reaches the stack's alarm topic, and every component has a dashboard drawn from the same metrics."""
import json

import pytest

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(params=["dev_stack", "prod_stack"])
def stack(request):
    return request.getfixturevalue(request.param)


def alarms_on(stack, namespace: str, dimension: str) -> dict[str, set[str]]:
    """Dimension value (a function's or a table's name, ...) -> the metrics alarmed on it in that namespace."""
    found: dict[str, set[str]] = {}
    for alarm in stack.of_type(ALARM):
        if alarm.props["namespace"] == namespace and dimension in alarm.props.get("dimensions", {}):
            found.setdefault(alarm.props["dimensions"][dimension], set()).add(alarm.props["metricName"])
    return found


def test_every_function_alarms_on_errors_and_throttles(stack):
    alarmed = alarms_on(stack, "AWS/Lambda", "FunctionName")
    functions = stack.of_type("aws:lambda/function:Function")
    assert functions
    for function in functions:
        assert {"Errors", "Throttles"} <= alarmed.get(function.outputs["name"], set()), function.name


def test_every_api_stage_alarms_on_5xx_and_p99_latency(stack):
    alarmed: dict[tuple, set] = {}
    for alarm in stack.of_type(ALARM):
        dimensions = alarm.props.get("dimensions", {})
        if alarm.props["namespace"] == "AWS/ApiGateway":
            alarmed.setdefault((dimensions["ApiName"], dimensions["Stage"]), set()).add(
                alarm.props.get("extendedStatistic") or alarm.props["metricName"])
    stages = stack.of_type("aws:apigateway/stage:Stage")
    assert stages
    for stage in stages:
        api = next(r for r in stack.of_type("aws:apigateway/restApi:RestApi")
                   if r.outputs["id"] == stage.props["restApi"])
        assert alarmed.get((api.outputs["name"], stage.props["stageName"])) == {"5XXError", "p99"}, stage.name


def test_every_table_alarms_on_throttled_reads_and_writes(stack):
    alarmed = alarms_on(stack, "AWS/DynamoDB", "TableName")
    tables = stack.of_type("aws:dynamodb/table:Table")
    assert tables
    for table in tables:
        assert {"ReadThrottleEvents", "WriteThrottleEvents"} <= alarmed.get(table.outputs["name"], set()), table.name


def test_every_terminal_queue_alarms_on_its_first_message(stack):
    """A queue without a redrive policy is a DLQ or an on-failure destination: a message there is work not done."""
    alarmed = alarms_on(stack, "AWS/SQS", "QueueName")
    terminal = [q for q in stack.of_type("aws:sqs/queue:Queue") if not q.props.get("redrivePolicy")]
    assert terminal
    for queue in terminal:
        assert alarmed.get(queue.outputs["name"]) == {"ApproximateNumberOfMessagesVisible"}, queue.name


def test_every_distribution_alarms_on_its_5xx_rate_in_us_east_1(stack):
    by_distribution = {a.props["dimensions"]["DistributionId"]: a for a in stack.of_type(ALARM)
                       if a.props["metricName"] == "5xxErrorRate"}
    topic = stack.exports["alarms"]["usEast1TopicArn"]
    distributions = stack.of_type("aws:cloudfront/distribution:Distribution")
    assert distributions
    for distribution in distributions:
        alarm = by_distribution[distribution.outputs["id"]]
        assert stack.provider_of(alarm).props["region"] == "us-east-1"
        assert alarm.props["alarmActions"] == [topic] and topic.split(":")[3] == "us-east-1"


def test_streams_alarm_on_freshness_iterator_age_and_throttled_writes(stack):
    firehose = alarms_on(stack, "AWS/Firehose", "DeliveryStreamName")
    for stream in stack.of_type("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"):
        assert "DeliveryToS3.DataFreshness" in firehose[stream.outputs["name"]]
    kinesis = alarms_on(stack, "AWS/Kinesis", "StreamName")
    for stream in stack.of_type("aws:kinesis/stream:Stream"):
        assert {"GetRecords.IteratorAgeMilliseconds", "WriteProvisionedThroughputExceeded"} <= kinesis[
            stream.outputs["name"]]
    relay = alarms_on(stack, "AWS/Lambda", "FunctionName")
    stream_consumers = [m for m in stack.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
                        if ":dynamodb:" in str(m.props.get("eventSourceArn", "")) or
                        "/stream/" in str(m.props.get("eventSourceArn", ""))]
    for mapping in stream_consumers:
        function = next(f for f in stack.of_type("aws:lambda/function:Function")
                        if f.outputs["arn"] == mapping.props["functionName"])
        assert "IteratorAge" in relay[function.outputs["name"]], function.name


def test_every_alarm_notifies_the_stacks_topic_on_alarm_and_on_ok(stack):
    topics = {stack.exports["alarms"]["topicArn"], stack.exports["alarms"]["usEast1TopicArn"]}
    alarms = stack.of_type(ALARM)
    assert len(alarms) > 50
    for alarm in alarms:
        assert alarm.props.get("alarmActions"), alarm.name
        assert set(alarm.props["alarmActions"]) <= topics, alarm.name
        assert alarm.props.get("okActions") == alarm.props["alarmActions"], alarm.name


def test_every_alarm_says_why_it_treats_missing_data_as_it_does(stack):
    for alarm in stack.of_type(ALARM):
        assert alarm.props["treatMissingData"] in {"notBreaching", "breaching", "missing", "ignore"}
        assert "Missing data is " in alarm.props["alarmDescription"], alarm.name


def test_each_component_has_a_dashboard_of_its_alarms_and_the_stack_links_them(stack):
    boards = {d.props["dashboardName"]: d for d in stack.of_type("aws:cloudwatch/dashboard:Dashboard")}
    components = stack.exports["alarms"]["componentDashboards"]
    assert {"todo", "outbox", "updates", "photos", "blog-table", "blog-api", "blog-site", "blog-welcome", "media",
            "ingest"} <= set(components)
    for component, name in components.items():
        # An alarm's graph draws its threshold; graphs without one (a stage's request count) have no alarm.
        graphs = [w["properties"] for w in json.loads(boards[name].props["dashboardBody"])["widgets"]
                  if w["type"] == "metric" and "annotations" in w["properties"]]
        # Its own alarms, and its functions' canaries' (rollback and release), which the canary makes.
        canaries = {c.urn for c in stack.descendants_of(boards[name].parent)
                    if c.resource_type == "serverless-blueprints:index:LambdaCanary"}
        alarms = [a for a in stack.of_type(ALARM) if a.parent == boards[name].parent or a.parent in canaries]
        assert sorted(g["metrics"][0][1] for g in graphs) == sorted(a.props["metricName"] for a in alarms), component
    links = json.loads(boards[stack.exports["alarms"]["dashboard"]].props["dashboardBody"])["widgets"][0]
    for name in components.values():
        assert f"#dashboards/dashboard/{name})" in links["properties"]["markdown"]


def test_prod_alarms_reach_a_person(prod_stack):
    subscriptions = [s for s in prod_stack.of_type("aws:sns/topicSubscription:TopicSubscription")
                     if s.name.startswith("alarms")]
    assert {s.props["protocol"] for s in subscriptions} == {"email"}
    assert {s.props["topic"] for s in subscriptions} == {prod_stack.exports["alarms"]["topicArn"],
                                                        prod_stack.exports["alarms"]["usEast1TopicArn"]}


def test_checkouts_rollout_alarms_still_roll_an_instance_refresh_back_and_now_notify(stack):
    group = next(g for g in stack.of_type("aws:autoscaling/group:Group") if g.name.startswith("checkout"))
    rollback = group.props["instanceRefresh"]["preferences"]["alarmSpecification"]["alarms"]
    alarms = {a.outputs["name"]: a for a in stack.of_type(ALARM)}
    assert sorted(alarms[name].name for name in rollback) == ["checkout-target-5xx", "checkout-unhealthy"]
    assert all(alarms[name].props["alarmActions"] == [stack.exports["alarms"]["topicArn"]] for name in rollback)


def test_every_dax_cluster_alarms_on_cpu_and_throttled_requests(prod_stack):
    alarmed = alarms_on(prod_stack, "AWS/DAX", "ClusterId")
    clusters = prod_stack.of_type("aws:dax/cluster:Cluster")
    assert clusters
    for cluster in clusters:
        assert alarmed[cluster.outputs["clusterName"]] == {"CPUUtilization", "ThrottledRequestCount"}


def topics_alarms_do_not_notify(stack) -> list:
    """Every SNS topic but the alarm topics (whose own failures can't be told through themselves)."""
    alarm_topics = {stack.exports["alarms"]["topicArn"], stack.exports["alarms"]["usEast1TopicArn"]}
    return [t for t in stack.of_type("aws:sns/topic:Topic") if t.outputs["arn"] not in alarm_topics]


def test_every_topic_alarms_on_deliveries_sns_gave_up_on(stack):
    """Subscribers may be added outside the component (ThumbnailPipeline.topic): every topic is watched."""
    alarmed = alarms_on(stack, "AWS/SNS", "TopicName")
    for topic in topics_alarms_do_not_notify(stack):
        assert alarmed.get(topic.outputs["name"]) == {"NumberOfNotificationsFailed"}, topic.name


def test_prods_thumbnail_topic_is_one_of_them(prod_stack):
    assert [t.name for t in topics_alarms_do_not_notify(prod_stack)] == ["photos-thumbnails-ready"]


def test_the_alarm_topics_park_what_https_endpoints_refuse_in_an_alarmed_queue(stack):
    topics = {stack.exports["alarms"]["topicArn"], stack.exports["alarms"]["usEast1TopicArn"]}
    alarmed = alarms_on(stack, "AWS/SQS", "QueueName")
    queues = {q.outputs["arn"]: q.outputs["name"] for q in stack.of_type("aws:sqs/queue:Queue")}
    for subscription in stack.of_type("aws:sns/topicSubscription:TopicSubscription"):
        if subscription.props["topic"] in topics and subscription.props["protocol"] == "https":
            queue = queues[json.loads(subscription.props["redrivePolicy"])["deadLetterTargetArn"]]
            assert "ApproximateNumberOfMessagesVisible" in alarmed[queue], subscription.name


def test_every_load_balancer_alarms_on_target_5xx_and_unhealthy_hosts(stack):
    alarmed = alarms_on(stack, "AWS/ApplicationELB", "LoadBalancer")
    balancers = stack.of_type("aws:lb/loadBalancer:LoadBalancer")
    assert balancers
    for balancer in balancers:
        assert {"HTTPCode_Target_5XX_Count", "UnHealthyHostCount"} <= alarmed.get(
            balancer.outputs["arnSuffix"], set()), balancer.name


def test_the_update_demo_origins_servers_alarm_below_their_minimum(dev_stack):
    alarmed = alarms_on(dev_stack, "AWS/AutoScaling", "AutoScalingGroupName")
    group = dev_stack.named("updates-servers")
    assert alarmed[group.outputs["name"]] == {"GroupInServiceInstances"}
    assert dev_stack.named("updates-servers-below-min").props["threshold"] == group.props["minSize"]
