"""ServiceNetwork under Pulumi mocks: tiers per AZ, NAT choice, endpoints, flow logs, a locked default group."""
import pytest

from offline.harness import evaluate_program
from serverless_blueprints.args import ArgsError
from serverless_blueprints.service_network import (INTERFACE_ENDPOINTS, ServiceNetwork, resolve_args,
                                                   subnet_cidrs)
from tests.conftest import statements_of

ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
SUBNET = "aws:ec2/subnet:Subnet"


@pytest.fixture(scope="module")
def dev():
    return evaluate_program(lambda: ServiceNetwork("shop", {}))


@pytest.fixture(scope="module")
def prod():
    return evaluate_program(lambda: ServiceNetwork("shop", {"availability_zones": 3, "nat": "per_az",
                                                            "private_api_endpoint": True}))


def test_dev_spreads_three_tiers_over_two_azs(dev):
    subnets = dev.of_type(SUBNET)
    assert sorted(s.props["tags"]["tier"] for s in subnets) == ["isolated"] * 2 + ["private"] * 2 + ["public"] * 2
    assert {s.props["availabilityZone"] for s in subnets} == {"eu-west-1a", "eu-west-1b"}
    assert all(s.props["mapPublicIpOnLaunch"] is False for s in subnets)


def test_prod_spreads_over_three_azs(prod):
    assert {s.props["availabilityZone"] for s in prod.of_type(SUBNET)} == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}


def test_dev_has_no_nat_and_no_route_out_of_private_subnets(dev):
    assert dev.of_type("aws:ec2/natGateway:NatGateway") == []
    assert dev.of_type("aws:ec2/route:Route") == []
    private_tables = [t for t in dev.of_type("aws:ec2/routeTable:RouteTable") if "-private-" in t.name]
    assert len(private_tables) == 2 and all(not t.props.get("routes") for t in private_tables)


def test_prod_routes_each_private_subnet_through_its_own_azs_nat(prod):
    nats = prod.of_type("aws:ec2/natGateway:NatGateway")
    public = {s.outputs["id"]: s.props["availabilityZone"] for s in prod.of_type(SUBNET) if "-public-" in s.name}
    assert sorted(public[n.props["subnetId"]] for n in nats) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    routes = prod.of_type("aws:ec2/route:Route")
    assert len(routes) == 3 and {r.props["natGatewayId"] for r in routes} == {n.outputs["id"] for n in nats}


def test_isolated_subnets_have_no_route_out(prod):
    (isolated,) = [t for t in prod.of_type("aws:ec2/routeTable:RouteTable") if t.name == "shop-isolated"]
    assert not isolated.props.get("routes")


def test_gateway_endpoints_serve_private_and_isolated_route_tables(dev):
    gateways = [e for e in dev.of_type(ENDPOINT) if e.props["vpcEndpointType"] == "Gateway"]
    assert sorted(e.props["serviceName"] for e in gateways) == ["com.amazonaws.eu-west-1.dynamodb",
                                                               "com.amazonaws.eu-west-1.s3"]
    assert all(len(e.props["routeTableIds"]) == 3 for e in gateways)


def test_interface_endpoints_cover_what_the_services_need_with_private_dns(dev):
    interfaces = [e for e in dev.of_type(ENDPOINT) if e.props["vpcEndpointType"] == "Interface"]
    services = sorted(e.props["serviceName"].split("com.amazonaws.eu-west-1.", 1)[1] for e in interfaces)
    assert services == sorted(INTERFACE_ENDPOINTS)
    assert all(e.props["privateDnsEnabled"] is True and len(e.props["subnetIds"]) == 2 for e in interfaces)


def test_execute_api_endpoint_only_when_asked(dev, prod):
    def names(snapshot):
        return {e.props["serviceName"] for e in snapshot.of_type(ENDPOINT)}
    assert "com.amazonaws.eu-west-1.execute-api" in names(prod)
    assert "com.amazonaws.eu-west-1.execute-api" not in names(dev)


def test_execute_api_endpoint_ids_name_the_endpoint_for_private_apis_and_none_without_it():
    import pulumi

    def program(private):
        network = ServiceNetwork("shop", {"private_api_endpoint": private})
        pulumi.export("endpoints", network.execute_api_endpoint_ids)
    with_endpoint = evaluate_program(lambda: program(True))
    assert with_endpoint.exports["endpoints"] == [with_endpoint.named("shop-execute-api").outputs["id"]]
    assert evaluate_program(lambda: program(False)).exports["endpoints"] == []


def test_endpoints_admit_only_https_from_the_vpc(dev):
    (rule,) = dev.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (rule.props["cidrIpv4"], rule.props["fromPort"], rule.props["toPort"]) == ("10.40.0.0/16", 443, 443)


def test_default_security_group_keeps_no_rules(dev):
    (default,) = dev.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default.props.get("ingress") and not default.props.get("egress")


def test_flow_logs_capture_all_traffic_into_a_retained_group(dev):
    (flow,) = dev.of_type("aws:ec2/flowLog:FlowLog")
    (group,) = dev.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert flow.props["trafficType"] == "ALL" and flow.props["logDestination"] == group.outputs["arn"]
    assert group.props["retentionInDays"] == 30
    (statement,) = statements_of(dev.of_type("aws:iam/rolePolicy:RolePolicy")[0])
    assert group.outputs["arn"] in statement["Resource"]


def test_subnet_cidrs_do_not_overlap():
    cidrs = subnet_cidrs("10.40.0.0/16", 3)
    flat = [c for tier in cidrs.values() for c in tier]
    assert len(set(flat)) == 9 and cidrs["private"][0] == "10.40.16.0/20" and cidrs["isolated"][2] == "10.40.202.0/24"


@pytest.mark.parametrize("args, key", [({"availability_zones": 4}, "availability_zones"), ({"nat": "one"}, "nat"),
                                       ({"cidr_block": "10.0.0.0/8"}, "cidr_block"),
                                       ({"interface_endpoints": ["ec2"]}, "interface_endpoints"),
                                       ({"natt": "none"}, "natt")])
def test_bad_args_are_refused_naming_the_arg(args, key):
    with pytest.raises(ArgsError) as error:
        resolve_args("shop", args)
    assert error.value.path == (key,)


def test_analyzer_infers_the_args_and_outputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    definition = Analyzer("serverless-blueprints").analyze([ServiceNetwork])["component_definitions"]["ServiceNetwork"]
    assert set(definition.inputs) == {"cidrBlock", "availabilityZones", "nat", "interfaceEndpoints",
                                      "privateApiEndpoint", "flowLogRetentionDays"}
    assert {"vpcId", "privateSubnetIds", "isolatedSubnetIds", "natGatewayCount"} <= set(definition.outputs)
