"""CartService under Pulumi mocks: IAM-authorized routes on LambdaRestApi, the function in the VPC, and a
Valkey replication group with TLS, encryption at rest and an AUTH token that only Secrets Manager holds."""
import json

import pytest

from cart_api.settings import load_settings
from offline.harness import evaluate_program
from policy import evaluate as evaluate_policy
from serverless_blueprints import testing
from serverless_blueprints.args import ArgsError
from serverless_blueprints.cart_service import CartService, ROUTES, resolve_args
from services import openapi_contracts
from tests.components import canary_wiring
from tests.conftest import statements_of
from tests.services.app_environment import CART_API, environment_reads

CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
CATALOG_TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/catalog-table-1a2b3c4"
CATALOG_STREAM = f"{CATALOG_TABLE}/stream/2026-12-06T04:00:00.000"
ARGS = {"vpc_id": "vpc-0123", "private_subnet_ids": ["subnet-a", "subnet-b"],
        "cache_subnet_ids": ["subnet-ia", "subnet-ib"], "catalog_url": "https://catalog.shop.example.com",
        "catalog_stream_arn": CATALOG_STREAM}
GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def with_cache_endpoint(computed):
    """The mocks' computed attributes, plus the replication group's primary endpoint (REDIS_HOST)."""
    def answer(typ, logical, physical, inputs, region):
        out = computed(typ, logical, physical, inputs, region)
        if typ == GROUP:
            out["primaryEndpointAddress"] = f"master.{physical}.abc123.euw1.cache.amazonaws.com"
        return out
    return answer


def build(args=None, name="cart"):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(testing, "_computed", with_cache_endpoint(testing._computed))
        return evaluate_program(lambda: CartService(name, {**ARGS, **(args or {})}))


@pytest.fixture(scope="module")
def dev():
    return build()


@pytest.fixture(scope="module")
def prod():
    return build({"multi_az": True, "snapshot_retention_days": 7, "domain": {
        "domain_name": "cart.shop.example.com", "certificate_arn": CERT, "hosted_zone_id": "Z0123456789EXAMPLE"}})


def one(snapshot, resource_type):
    (found,) = snapshot.of_type(resource_type)
    return found


# --- who may call the API ------------------------------------------------------------------------------

def test_every_route_requires_sigv4_and_only_preflight_is_open(dev):
    methods = dev.of_type("aws:apigateway/method:Method")
    routes = [m.props for m in methods if m.props["httpMethod"] != "OPTIONS"]
    assert len(routes) == len(ROUTES)
    assert {m["authorization"] for m in routes} == {"AWS_IAM"} and not any(m.get("authorizerId") for m in routes)
    assert {m.props["authorization"] for m in methods if m.props["httpMethod"] == "OPTIONS"} == {"NONE"}
    assert dev.of_type("aws:apigateway/authorizer:Authorizer") == []


def test_the_api_is_iam_authorized_by_lambda_rest_api_not_declared_public(dev):
    api = one(dev, "aws:apigateway/restApi:RestApi")
    assert "tags" not in api.props and api.props["endpointConfiguration"] == {"types": "REGIONAL"}
    report = evaluate_policy(dev.resources, "prod", rules=["SB-APIGW-001"], suppressions=())
    assert report.findings == []


def test_with_the_vpcs_execute_api_endpoint_the_api_is_private_to_it():
    import json as json_

    snapshot = build({"vpc_endpoint_ids": ["vpce-0123"]})
    api = one(snapshot, "aws:apigateway/restApi:RestApi")
    assert api.props["endpointConfiguration"] == {"types": "PRIVATE", "vpcEndpointIds": ["vpce-0123"]}
    (deny,) = json_.loads(api.props["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": ["vpce-0123"]}}


def test_a_private_api_refuses_a_custom_domain():
    with pytest.raises(ArgsError, match="domain: a PRIVATE API"):
        resolve_args("cart", {**ARGS, "vpc_endpoint_ids": ["vpce-0123"], "domain": {
            "domain_name": "cart.shop.example.com", "certificate_arn": CERT, "hosted_zone_id": "Z0123456789EXAMPLE"}})


def api_routes(snapshot) -> set[tuple[str, str]]:
    """(method, path) of every method on the REST API, its path rebuilt from the resources' parents."""
    (api,) = snapshot.of_type("aws:apigateway/restApi:RestApi")
    paths = {api.outputs["rootResourceId"]: ""}
    resources = snapshot.of_type("aws:apigateway/resource:Resource")
    while len(paths) <= len(resources):
        for resource in resources:
            if resource.props["parentId"] in paths:
                paths[resource.outputs["id"]] = f"{paths[resource.props['parentId']]}/{resource.props['pathPart']}"
    return {(m.props["httpMethod"], paths[m.props["resourceId"]])
            for m in snapshot.of_type("aws:apigateway/method:Method") if m.props["httpMethod"] != "OPTIONS"}


def test_the_api_serves_exactly_the_routes_of_the_cart_resolver(dev):
    # From cart_api.handler's resolver itself (test_contracts keeps docs/openapi/cart.json equal to it).
    document = openapi_contracts.cart_document()
    served = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    assert served == set(ROUTES)
    assert api_routes(dev) == served


def test_callers_get_one_invoke_arn_per_route_under_the_stage():
    def program():
        import pulumi
        cart = CartService("cart", ARGS)
        pulumi.export("prefix", cart.invoke_arn_prefix)
        pulumi.export("arns", cart.invoke_arns)
    snapshot = evaluate_program(program)
    stage = one(snapshot, "aws:apigateway/stage:Stage").outputs["executionArn"]
    assert snapshot.exports["prefix"] == stage
    arns = snapshot.exports["arns"]
    assert f"{stage}/PUT/carts/*/items/*" in arns and f"{stage}/POST/carts" in arns
    assert len(snapshot.exports["arns"]) == len(ROUTES)


# --- the function ------------------------------------------------------------------------------------

def test_function_runs_in_the_private_subnets_with_its_own_group(dev):
    function = one(dev, "aws:lambda/function:Function").props
    assert function["handler"] == "cart_api.handler.handler"
    assert function["vpcConfig"] == {"subnetIds": ["subnet-a", "subnet-b"],
                                     "securityGroupIds": [dev.named("cart-fn-sg").outputs["id"]]}


def test_the_function_sets_the_variables_cart_api_reads_by_their_names(dev):
    variables = {name: value for name, value in
                 one(dev, "aws:lambda/function:Function").props["environment"]["variables"].items()
                 if not name.startswith("POWERTOOLS_")}  # LambdaFunction's, for Powertools' Logger
    reads = environment_reads(CART_API)
    assert reads.required <= set(variables) <= reads.names
    # Beyond what it can't start without: the cache's port, TLS on, and where the AUTH token is.
    assert set(variables) == reads.required | {"REDIS_PORT", "REDIS_TLS", "REDIS_AUTH_SECRET_ARN"}
    settings = load_settings(variables)
    assert (settings.redis_host, settings.redis_port, settings.redis_tls) == (
        one(dev, GROUP).outputs["primaryEndpointAddress"], 6379, True)
    assert settings.catalog_url == "https://catalog.shop.example.com"


def test_the_auth_token_is_never_in_the_environment(dev):
    variables = one(dev, "aws:lambda/function:Function").props["environment"]["variables"]
    token = one(dev, "random:index/randomPassword:RandomPassword").outputs["result"]
    assert token not in variables.values()
    assert variables["REDIS_AUTH_SECRET_ARN"] == one(dev, "aws:secretsmanager/secret:Secret").outputs["arn"]
    assert variables["CATALOG_URL"] == "https://catalog.shop.example.com" and variables["REDIS_TLS"] == "true"
    assert not [name for name in variables if "TOKEN" in name or "PASSWORD" in name]


def test_function_may_read_only_its_auth_secret(dev):
    secret = one(dev, "aws:secretsmanager/secret:Secret").outputs["arn"]
    policy = [r for r in dev.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "cart-api-policy"][0]
    (read,) = [s for s in statements_of(policy) if s.get("Sid") == "CacheAuthToken"]
    assert read["Action"] == ["secretsmanager:GetSecretValue"] and read["Resource"] == [secret]


# --- the catalog's stream -------------------------------------------------------------------------------

def test_the_catalog_stream_feeds_the_function_changes_and_removals_only(dev):
    mapping = one(dev, "aws:lambda/eventSourceMapping:EventSourceMapping").props
    assert mapping["eventSourceArn"] == CATALOG_STREAM
    assert mapping["functionName"] == one(dev, "aws:lambda/function:Function").outputs["arn"]
    (pattern,) = mapping["filterCriteria"]["filters"]
    assert json.loads(pattern["pattern"]) == {"eventName": ["MODIFY", "REMOVE"]}
    assert mapping["startingPosition"] == "TRIM_HORIZON"


def test_a_failing_stream_batch_is_bisected_retried_a_bounded_number_of_times_then_parked(dev):
    mapping = one(dev, "aws:lambda/eventSourceMapping:EventSourceMapping").props
    assert mapping["bisectBatchOnFunctionError"] is True
    assert mapping["maximumRetryAttempts"] == 3 and mapping["maximumRecordAgeInSeconds"] == 3600
    assert mapping["functionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = dev.named("cart-stream-failed").outputs["arn"]
    assert mapping["destinationConfig"] == {"onFailure": {"destinationArn": queue}}


def test_function_may_read_only_the_catalog_stream_and_send_only_to_its_failure_queue(dev):
    policy = [r for r in dev.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == "cart-api-policy"][0]
    statements = {s.get("Sid"): s for s in statements_of(policy)}
    assert statements["ReadCatalogStream"]["Action"] == [
        "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    assert statements["ReadCatalogStream"]["Resource"] == [CATALOG_STREAM]
    assert statements["ListCatalogStreams"]["Action"] == ["dynamodb:ListStreams"]
    assert statements["ListCatalogStreams"]["Resource"] == [f"{CATALOG_TABLE}/stream/*"]
    assert statements["StreamOnFailureDestination"]["Resource"] == [dev.named("cart-stream-failed").outputs["arn"]]
    assert not [s for s in statements.values() for a in s["Action"] if a.endswith("*")]


# --- the cache -------------------------------------------------------------------------------------------

def test_cache_encrypts_in_transit_and_at_rest_and_requires_auth(dev):
    cache = one(dev, GROUP)
    assert cache.props["transitEncryptionEnabled"] is True and cache.props["transitEncryptionMode"] == "required"
    assert cache.props["atRestEncryptionEnabled"] is True
    token = one(dev, "random:index/randomPassword:RandomPassword").outputs["result"]
    assert cache.props["authToken"] == token and "authToken" in cache.secret_inputs
    assert one(dev, "aws:secretsmanager/secretVersion:SecretVersion").props["secretString"] == token


def test_dev_cache_is_one_valkey_node_without_snapshots(dev):
    cache = one(dev, GROUP).props
    assert (cache["engine"], cache["numCacheClusters"], cache["automaticFailoverEnabled"], cache["multiAzEnabled"]) == (
        "valkey", 1, False, False)
    assert cache["snapshotRetentionLimit"] == 0


def test_prod_cache_is_multi_az_with_failover_and_snapshots(prod):
    cache = one(prod, GROUP).props
    assert (cache["numCacheClusters"], cache["automaticFailoverEnabled"], cache["multiAzEnabled"]) == (2, True, True)
    assert cache["snapshotRetentionLimit"] == 7 and cache["snapshotWindow"]


def test_cache_has_its_own_parameter_group_and_isolated_subnets(dev):
    cache = one(dev, GROUP).props
    parameters = one(dev, "aws:elasticache/parameterGroup:ParameterGroup")
    assert parameters.props["family"] == "valkey8" and cache["parameterGroupName"] == parameters.outputs["name"]
    assert one(dev, "aws:elasticache/subnetGroup:SubnetGroup").props["subnetIds"] == ["subnet-ia", "subnet-ib"]


def test_only_the_function_reaches_the_cache_and_only_on_the_redis_port(dev):
    function, cache = dev.named("cart-fn-sg").outputs["id"], dev.named("cart-cache-sg").outputs["id"]
    into_cache = [r.props for r in dev.of_type(INGRESS) if r.props["securityGroupId"] == cache]
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"]) for r in into_cache] == [
        (function, 6379, 6379)]
    out = sorted((r.props["fromPort"], r.props.get("referencedSecurityGroupId"))
                 for r in dev.of_type(EGRESS) if r.props["securityGroupId"] == function)
    assert out == [(443, None), (6379, cache)]


def test_no_other_ingress_exists(dev):
    assert len(dev.of_type(INGRESS)) == 1


# --- custom domain, guardrails, args ----------------------------------------------------------------

def test_custom_domain_is_regional_with_tls12_and_an_alias(prod):
    domain = one(prod, "aws:apigateway/domainName:DomainName").props
    assert domain["endpointConfiguration"] == {"types": "REGIONAL"} and domain["regionalCertificateArn"] == CERT
    assert domain["securityPolicy"] == "TLS_1_2"
    assert one(prod, "aws:route53/record:Record").props["name"] == "cart.shop.example.com"
    assert one(prod, "aws:apigateway/basePathMapping:BasePathMapping")


def test_the_policy_pack_finds_nothing(prod):
    report = evaluate_policy(prod.resources, "prod", rules=["SB-MS-005", "SB-LIMIT-001"], suppressions=())
    assert [(f.rule_id, f.message) for f in report.findings] == []


def test_a_name_too_long_for_an_elasticache_id_is_refused():
    with pytest.raises(ArgsError, match="ElastiCache ids are at most 40"):
        resolve_args("cart-service-production-east", ARGS)
    resolve_args("cart-service-production-e", ARGS)  # "-cache" + 8: exactly 40


@pytest.mark.parametrize("args, key", [({"engine": "memcached"}, "engine"), ({"node_type": "t4g.micro"}, "node_type"),
                                       ({"timeout_seconds": 29}, "timeout_seconds"),
                                       ({"catalog_url": "http://catalog"}, "catalog_url"),
                                       ({"catalog_stream_arn": CATALOG_TABLE}, "catalog_stream_arn"),
                                       ({"snapshot_retention_days": 36}, "snapshot_retention_days")])
def test_bad_args_are_refused_naming_the_arg(args, key):
    with pytest.raises(ArgsError) as error:
        resolve_args("cart", {**ARGS, **args})
    assert error.value.path == (key,)


@pytest.mark.parametrize("key", ["catalog_url", "catalog_stream_arn"])
def test_the_catalog_is_required(key):
    with pytest.raises(ArgsError, match="required") as error:
        resolve_args("cart", {k: v for k, v in ARGS.items() if k != key})
    assert error.value.path == (key,)


def test_analyzer_infers_the_args_and_outputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    definition = Analyzer("serverless-blueprints").analyze([CartService])["component_definitions"]["CartService"]
    assert {"vpcId", "privateSubnetIds", "cacheSubnetIds", "domain", "multiAz", "engine"} <= set(definition.inputs)
    assert {"url", "invokeArnPrefix", "cacheEndpoint", "cacheAuthSecretArn"} <= set(definition.outputs)


# --- canary ----------------------------------------------------------------------------------------
def test_with_a_canary_every_route_invokes_live_released_by_codedeploy():
    topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
    stack = build({"canary": canary_wiring.ALL_AT_ONCE, "alarms": {"topic_arn": topic}})
    canary_wiring.assert_released_through_live(stack, ["cart-api"], topic)


def test_without_a_canary_the_function_is_invoked_unqualified(dev):
    canary_wiring.assert_no_canary(dev)


def test_a_canary_with_an_unknown_key_is_rejected_naming_it():
    with pytest.raises(ArgsError, match=canary_wiring.UNKNOWN_KEY_ERROR):
        resolve_args("cart", {**ARGS, "canary": canary_wiring.UNKNOWN_KEY})
