from pulumi_policy.proxy import UNKNOWN_BOOLEAN_VALUE, UNKNOWN_OBJECT_VALUE, unknown_checking_proxy

from policy import UNKNOWN, Provider, Resource, is_unknown, normalize
from policy.model import environment_of, get, plain, region_of
from policy.stack import Stack, identifies
from policy.tokens import BUCKET, FUNCTION, QUEUE, TABLE


def test_plain_keeps_unknowns_from_the_preview_proxy_instead_of_raising():
    props = unknown_checking_proxy({"timeout": 10, "tracingConfig": UNKNOWN_OBJECT_VALUE,
                                    "layers": ["a", UNKNOWN], "nested": {"flag": UNKNOWN_BOOLEAN_VALUE}})
    copied = plain(props)
    assert copied["timeout"] == 10 and is_unknown(copied["tracingConfig"])
    assert copied["layers"][0] == "a" and is_unknown(copied["layers"][1]) and is_unknown(copied["nested"]["flag"])


def test_get_walks_paths_and_reports_unknown_parents():
    props = {"a": {"b": [{"c": 1}]}, "u": UNKNOWN}
    assert get(props, "a", "b", 0, "c") == 1
    assert get(props, "a", "missing") is None
    assert is_unknown(get(props, "u", "anything"))


def test_get_looks_through_single_block_lists():
    assert get({"tracingConfig": [{"mode": "Active"}]}, "tracingConfig", "mode") == "Active"


def test_resource_derives_urn_and_name_from_each_other():
    r = Resource(BUCKET, {}, name="site")
    assert r.urn == "urn:pulumi:offline::serverless-blueprints::aws:s3/bucket:Bucket::site"
    assert Resource(BUCKET, {}, urn=r.urn).name == "site"


def test_normalize_resolves_urn_dependencies_and_parents():
    parent = Resource("serverless-blueprints:index:Site", {}, name="site")
    child = Resource(BUCKET, {}, name="site-bucket", parent=parent.urn, dependencies=[parent.urn])
    copied_parent, copied_child = normalize([parent, child])
    assert copied_child.parent is copied_parent and copied_child.dependencies == [copied_parent]


def test_environment_comes_from_the_providers_default_tags():
    provider = Provider(props={"region": "eu-west-1", "defaultTags": '{"tags": {"environment": "prod"}}'})
    assert environment_of(Resource(TABLE, {}, name="t", provider=provider), "dev") == "prod"
    assert environment_of(Resource(TABLE, {}, name="t"), "dev") == "dev"


def test_region_prefers_the_per_resource_region_of_v7():
    provider = Provider(props={"region": "eu-west-1"})
    assert region_of(Resource(BUCKET, {}, name="b", provider=provider)) == "eu-west-1"
    assert region_of(Resource(BUCKET, {"region": "us-east-1"}, name="b", provider=provider)) == "us-east-1"
    assert region_of(Resource(BUCKET, {"region": UNKNOWN}, name="b", provider=provider)) is None


def test_references_match_arns_urls_and_auto_names():
    queue = Resource(QUEUE, {"name": "jobs-1a2b3c4"}, name="jobs")
    assert identifies("arn:aws:sqs:eu-west-1:1:jobs-1a2b3c4", queue)
    assert identifies("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs-1a2b3c4", queue)
    assert not identifies("arn:aws:sns:eu-west-1:1:jobs-1a2b3c4", queue)
    unnamed = Resource(FUNCTION, {}, name="worker")
    assert identifies("arn:aws:lambda:eu-west-1:1:function:worker-9f8e7d6:live", unnamed)
    assert not identifies("arn:aws:lambda:eu-west-1:1:function:worker-other", unnamed)
    table = Resource(TABLE, {"name": "orders"}, name="orders")
    assert identifies("arn:aws:dynamodb:eu-west-1:1:table/orders/stream/2026-01-01T00:00:00.000", table)


def test_resolve_is_unknown_rather_than_empty_when_the_value_is_unknown():
    bucket = Resource(BUCKET, {"bucket": "b"}, name="b")
    source = Resource("aws:s3/bucketPolicy:BucketPolicy", {"bucket": UNKNOWN}, name="p")
    stack = Stack(normalize([bucket, source]))
    assert stack.resolve(stack.resources[1], "bucket", UNKNOWN, [stack.resources[0]]) is None
    assert stack.resolve(stack.resources[1], "bucket", "other", [stack.resources[0]]) == []


def test_offline_outputs_serve_links_when_inputs_lack_them():
    queue = Resource(QUEUE, {"visibilityTimeoutSeconds": 30}, name="jobs",
                     outputs={"url": "https://sqs.eu-west-1.amazonaws.com/1/jobs-x", "arn": "arn:aws:sqs:eu-west-1:1:jobs-x"})
    assert identifies("https://sqs.eu-west-1.amazonaws.com/1/jobs-x", queue)


def test_provider_given_as_a_reference_is_resolved_from_the_list():
    aws = Resource("pulumi:providers:aws", {"region": "us-east-1", "defaultTags": {"tags": {"environment": "prod"}}},
                   urn="urn:pulumi:prod::serverless-blueprints::pulumi:providers:aws::us-east-1")
    cert = Resource("aws:acm/certificate:Certificate", {}, name="cert", provider=f"{aws.urn}::provider-id")
    _, copied = normalize([aws, cert])
    assert region_of(copied) == "us-east-1" and environment_of(copied, "dev") == "prod"


def test_default_provider_stands_in_for_resources_without_one():
    default = Provider(props={"region": "eu-west-1"})
    [copied] = normalize([Resource(BUCKET, {}, name="b")], default_provider=default)
    assert region_of(copied) == "eu-west-1"
