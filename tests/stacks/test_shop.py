"""The shop (issue 15) in the real stacks: __main__.py with Pulumi.<stack>.yaml, under mocks.

Dev: 1 task, a single cache node, a single-AZ db.t4g.micro, no NAT. Prod: 2+ tasks across 3 AZs, Multi-AZ
Valkey and RDS, deletion protection. Both: catalog internal (named in the private zone), cart a PRIVATE API
behind the VPC's execute-api endpoint, checkout the public HTTPS front; each service's URL exported.
"""
import base64
import json

import pytest

from serverless_blueprints.cart_service import CACHE_ID_LIMIT
from serverless_blueprints.checkout_service import DB_ID_LIMIT
from serverless_blueprints.service_network import LOAD_BALANCER_NAME_LIMIT
from tests.conftest import statements_of

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
DB = "aws:rds/instance:Instance"
NAT = "aws:ec2/natGateway:NatGateway"


@pytest.fixture(params=["dev_stack", "prod_stack"])
def stack(request):
    return request.getfixturevalue(request.param)


def one(snapshot, resource_type, prefix):
    (found,) = [r for r in snapshot.of_type(resource_type) if r.name.startswith(prefix)]
    return found


# --- sizes per stack ------------------------------------------------------------------------------------

def test_dev_runs_one_task_one_cache_node_a_single_az_micro_database_and_no_nat(dev_stack):
    assert dev_stack.named("catalog-service").props["desiredCount"] == 1
    assert dev_stack.named("catalog-scaling").props["minCapacity"] == 1
    cache = one(dev_stack, GROUP, "cart-cache")
    assert (cache.props["numCacheClusters"], cache.props["automaticFailoverEnabled"],
            cache.props["multiAzEnabled"]) == (1, False, False)
    db = one(dev_stack, DB, "checkout-db")
    assert (db.props["instanceClass"], db.props["multiAz"], db.props["deletionProtection"]) == (
        "db.t4g.micro", False, False)
    assert dev_stack.of_type(NAT) == []
    assert len([s for s in dev_stack.of_type("aws:ec2/subnet:Subnet") if s.name.startswith("shop-private")]) == 2


def test_prod_spreads_two_or_more_tasks_over_three_azs_with_multi_az_cache_and_database(prod_stack):
    service = prod_stack.named("catalog-service")
    assert service.props["desiredCount"] >= 2 and prod_stack.named("catalog-scaling").props["minCapacity"] >= 2
    assert len(service.props["networkConfiguration"]["subnets"]) == 3
    cache = one(prod_stack, GROUP, "cart-cache")
    assert (cache.props["numCacheClusters"], cache.props["automaticFailoverEnabled"],
            cache.props["multiAzEnabled"]) == (2, True, True)
    assert cache.props["snapshotRetentionLimit"] == 7
    db = one(prod_stack, DB, "checkout-db")
    assert (db.props["multiAz"], db.props["deletionProtection"], db.props["skipFinalSnapshot"]) == (True, True, False)
    assert db.props["performanceInsightsEnabled"] is True
    assert prod_stack.named("checkout-servers").props["minSize"] >= 2
    assert len(prod_stack.of_type(NAT)) == 3


def test_prod_protects_the_catalog_table_and_both_load_balancers(prod_stack):
    assert prod_stack.named("catalog-table").props["deletionProtectionEnabled"] is True
    assert all(alb.props["enableDeletionProtection"] is True for alb in prod_stack.of_type(
        "aws:lb/loadBalancer:LoadBalancer") if alb.name in ("catalog-alb", "checkout-alb"))


# --- how the services reach each other --------------------------------------------------------------------

def test_each_services_url_is_exported(stack):
    shop = stack.exports["shop"]
    domain = "shop.dev.example.com" if stack.stack == "dev" else "shop.example.com"
    assert shop["catalogUrl"] == f"https://catalog.{domain}"
    assert shop["checkoutUrl"] == f"https://checkout.{domain}"
    assert shop["cartUrl"].startswith("https://") and ".execute-api." in shop["cartUrl"]


def test_catalog_is_internal_and_named_in_the_private_zone_so_cart_needs_no_nat(stack):
    assert stack.named("catalog-alb").props["internal"] is True
    zone = stack.named("shop-domain-private")
    assert zone.props["vpcs"] == [{"vpcId": stack.named("shop").outputs["id"]}]
    (record,) = [r for r in stack.of_type("aws:route53/record:Record") if r.name.startswith("catalog-")]
    assert record.name == "catalog-private-alias" and record.props["zoneId"] == zone.outputs["id"]


def test_cart_calls_catalog_by_its_name_and_refreshes_prices_from_its_stream(stack):
    variables = stack.named("cart-api-fn").props["environment"]["variables"]
    assert variables["CATALOG_URL"] == stack.exports["shop"]["catalogUrl"]
    mapping = one(stack, "aws:lambda/eventSourceMapping:EventSourceMapping", "cart-catalog-stream")
    assert mapping.props["eventSourceArn"] == stack.named("catalog-table").outputs["streamArn"]


def test_cart_is_a_private_iam_api_reachable_only_through_the_vpcs_execute_api_endpoint(stack):
    endpoint = stack.named("shop-execute-api")
    api = stack.named("cart-rest")
    assert api.props["endpointConfiguration"] == {"types": "PRIVATE", "vpcEndpointIds": [endpoint.outputs["id"]]}
    (deny,) = json.loads(api.props["policy"])["Statement"]
    assert deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": [endpoint.outputs["id"]]}}
    routes = [m for m in stack.of_type("aws:apigateway/method:Method")
              if m.name.startswith("cart-rest-") and m.props["httpMethod"] != "OPTIONS"]
    assert routes and {m.props["authorization"] for m in routes} == {"AWS_IAM"}


def test_checkout_calls_carts_url_and_may_invoke_only_its_routes(stack):
    cart_url = stack.exports["shop"]["cartUrl"]
    user_data = one(stack, "aws:ec2/launchTemplate:LaunchTemplate", "checkout-server").props["userData"]
    assert f"CART_URL={cart_url}" in base64.b64decode(user_data).decode()
    policy = one(stack, "aws:iam/rolePolicy:RolePolicy", "checkout-instance")
    (call_cart,) = [s for s in statements_of(policy) if s.get("Sid") == "CallCart"]
    stage = stack.named("cart-rest-stage").outputs["executionArn"]
    assert call_cart["Resource"] and all(arn.startswith(f"{stage}/") for arn in call_cart["Resource"])


# --- names AWS accepts once Pulumi appends its 8 characters ---------------------------------------------

def test_load_balancer_cache_and_database_names_fit_after_auto_naming(stack):
    for resource_type, limit in (("aws:lb/loadBalancer:LoadBalancer", LOAD_BALANCER_NAME_LIMIT),
                                 ("aws:lb/targetGroup:TargetGroup", LOAD_BALANCER_NAME_LIMIT),
                                 (GROUP, CACHE_ID_LIMIT), (DB, DB_ID_LIMIT)):
        for resource in stack.of_type(resource_type):
            if resource.name.startswith(("catalog", "cart", "checkout")):
                assert len(resource.outputs["name"]) <= limit, (resource.name, resource.outputs["name"])


def test_catalogs_internal_alb_admits_only_the_shop_network(stack):
    cidr = stack.named("shop").props["cidrBlock"]
    rules = [r for r in stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if r.name.startswith("catalog-alb-")]
    assert rules and {r.props["cidrIpv4"] for r in rules} == {cidr}
