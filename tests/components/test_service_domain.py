"""ServiceDomain under Pulumi mocks: a zone given or created, a DNS-validated regional certificate per
service, a private zone of the same names, and the alias records services make from a ServiceDomainRef."""
import pytest

from offline.harness import evaluate_program
from serverless_blueprints.args import ArgsError, ArgsReader
from serverless_blueprints.service_domain import (ServiceDomain, ServiceDomainRef, alias_records, read_domain_ref,
                                                  resolve_args)

ZONE = "Z0123456789EXAMPLE"
CERT = "aws:acm/certificate:Certificate"
RECORD = "aws:route53/record:Record"


@pytest.fixture(scope="module")
def created():
    """No zone given: one is created; a private zone for the VPC."""
    return evaluate_program(lambda: ServiceDomain("shop", {"domain_name": "shop.example.com",
                                                           "private_zone_vpc_id": "vpc-0123"}))


@pytest.fixture(scope="module")
def given():
    return evaluate_program(lambda: ServiceDomain("shop", {"domain_name": "shop.example.com", "hosted_zone_id": ZONE,
                                                           "services": ["catalog"]}))


def test_one_certificate_per_service_subdomain_validated_by_dns(created):
    certificates = created.of_type(CERT)
    assert sorted(c.props["domainName"] for c in certificates) == [
        "cart.shop.example.com", "catalog.shop.example.com", "checkout.shop.example.com"]
    assert all(c.props["validationMethod"] == "DNS" for c in certificates)
    assert len(created.of_type("aws:acm/certificateValidation:CertificateValidation")) == 3


def test_certificates_are_in_the_home_region_not_us_east_1(created):
    assert {c.region for c in created.of_type(CERT)} == {"eu-west-1"}
    assert all(created.provider_of(c) is None for c in created.of_type(CERT))


def test_validation_records_go_into_the_created_public_zone(created):
    (public,) = [z for z in created.of_type("aws:route53/zone:Zone") if not z.props.get("vpcs")]
    assert public.props["name"] == "shop.example.com"
    records = created.of_type(RECORD)
    # The mocks compute no zoneId: the dependency shows where each record goes.
    assert len(records) == 3 and all(r.property_dependencies["zoneId"] == [public.urn] for r in records)
    assert all(r.props["type"] == "CNAME" for r in records)


def test_a_given_zone_is_used_and_none_created(given):
    assert given.of_type("aws:route53/zone:Zone") == []
    (record,) = given.of_type(RECORD)
    assert record.props["zoneId"] == ZONE


def test_private_zone_has_the_same_name_inside_the_vpc(created, given):
    (private,) = [z for z in created.of_type("aws:route53/zone:Zone") if z.props.get("vpcs")]
    assert private.props["name"] == "shop.example.com"
    assert private.props["vpcs"] == [{"vpcId": "vpc-0123"}]
    assert [z for z in given.of_type("aws:route53/zone:Zone") if z.props.get("vpcs")] == []


def test_alias_records_of_an_internet_facing_service_go_into_both_zones():
    def program():
        alias_records("catalog", None, {"domain_name": "catalog.shop.example.com", "hosted_zone_id": ZONE,
                                        "private_hosted_zone_id": "ZPRIVATE1"}, "alb.example.com", "Z32O12XQLNTSW2")
    snapshot = evaluate_program(program)
    records = {r.props["zoneId"]: r.props for r in snapshot.of_type(RECORD)}
    assert set(records) == {ZONE, "ZPRIVATE1"}
    assert all(r["type"] == "A" and r["aliases"][0]["name"] == "alb.example.com" for r in records.values())


def test_an_internal_service_is_published_only_in_the_private_zone():
    def program():
        alias_records("catalog", None, {"domain_name": "catalog.shop.example.com", "hosted_zone_id": ZONE,
                                        "private_hosted_zone_id": "ZPRIVATE1"}, "alb.example.com", "Z32O12XQLNTSW2",
                      public=False)
    assert [r.props["zoneId"] for r in evaluate_program(program).of_type(RECORD)] == ["ZPRIVATE1"]


def test_refs_hand_each_service_its_name_certificate_and_zones():
    seen = {}

    def program():
        domain = ServiceDomain("shop", {"domain_name": "shop.example.com", "hosted_zone_id": ZONE})
        seen.update(domain.refs())
    evaluate_program(program)
    assert set(seen) == {"catalog", "cart", "checkout"}
    assert seen["cart"]["domain_name"] == "cart.shop.example.com" and seen["cart"]["hosted_zone_id"] == ZONE
    assert seen["cart"]["private_hosted_zone_id"] is None


@pytest.mark.parametrize("args, key", [({}, "domain_name"), ({"domain_name": "https://x.com"}, "domain_name"),
                                       ({"domain_name": "shop.example.com", "hosted_zone_id": "abc"}, "hosted_zone_id"),
                                       ({"domain_name": "shop.example.com", "services": ["Cart_1"]}, "services")])
def test_bad_args_are_refused_naming_the_arg(args, key):
    with pytest.raises(ArgsError) as error:
        resolve_args("shop", args)
    assert error.value.path == (key,)


def test_a_domain_ref_without_its_certificate_is_refused():
    class Args(dict):
        __annotations__ = {"domain": ServiceDomainRef}
    reader = ArgsReader("X", "x", {"domain": {"domain_name": "a.example.com", "hosted_zone_id": ZONE}}, Args, {})
    with pytest.raises(ArgsError) as error:
        read_domain_ref(reader)
    assert error.value.path == ("domain", "certificate_arn")


def test_analyzer_infers_the_args_and_outputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    definition = Analyzer("serverless-blueprints").analyze([ServiceDomain])["component_definitions"]["ServiceDomain"]
    assert set(definition.inputs) == {"domainName", "hostedZoneId", "services", "privateZoneVpcId"}
    assert set(definition.outputs) == {"hostedZoneId", "nameServers", "privateHostedZoneId", "domainNames",
                                       "certificateArns"}
    assert definition.outputs["privateHostedZoneId"].optional
