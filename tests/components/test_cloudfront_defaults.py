"""The shared CloudFront pieces: managed policy ids, name checks, headers policy, certificate, alias records."""
from typing import Optional, TypedDict

import pulumi
import pulumi_aws as aws
import pytest

from serverless_blueprints import cloudfront_defaults as cdn
from serverless_blueprints.args import ArgsError, ArgsReader
from offline.harness import evaluate_program


def test_managed_policy_ids_are_awss_documented_ones():
    assert cdn.CACHING_OPTIMIZED_POLICY_ID == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    assert cdn.CACHING_DISABLED_POLICY_ID == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    assert cdn.ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID == "b689b0a8-53d0-40ab-baf2-68738e2966ac"


@pytest.mark.parametrize("value, valid", [("blog.example.com", True), ("a-b.example.co.uk", True),
                                          ("https://blog.example.com", False), ("blog.example.com/x", False),
                                          ("10.0.0.1", False), ("localhost", False), ("-a.example.com", False)])
def test_hostnames(value, valid):
    assert cdn.is_hostname(value) is valid


@pytest.mark.parametrize("value, valid", [("/api/*", True), ("/assets/*", True), ("/*", False), ("/", False),
                                          ("api/*", False), ("/a b", False)])
def test_path_patterns(value, valid):
    assert cdn.is_path_pattern(value) is valid


@pytest.mark.parametrize("value, valid", [("limit", True), ("page.size", True), ("a&b", False), ("", False)])
def test_query_string_names(value, valid):
    assert cdn.is_query_string_name(value) is valid


def test_viewer_certificate_without_a_custom_certificate_is_cloudfronts():
    assert cdn.viewer_certificate(None) == {"cloudfront_default_certificate": True}


def test_viewer_certificate_with_a_custom_certificate_needs_sni_and_tls12_2021():
    assert cdn.viewer_certificate("arn:aws:acm:us-east-1:123456789012:certificate/x") == {
        "acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x", "ssl_support_method": "sni-only",
        "minimum_protocol_version": "TLSv1.2_2021"}


@pytest.fixture(scope="module")
def pieces():
    def program():
        east = aws.Provider("us-east-1", region="us-east-1")
        parent = pulumi.ComponentResource("test:index:Holder", "holder")
        opts = pulumi.ResourceOptions(parent=parent)
        cdn.security_headers_policy("app", opts, comment="app", override_origin=False)
        cdn.security_headers_policy("site", opts, comment="site", content_security_policy="default-src 'self'")
        cdn.dns_validated_certificate("with-zone", "a.example.com", "Z0123456789EXAMPLE", parent=parent, us_east_1=east)
        cdn.dns_validated_certificate("manual", "b.example.com", None, parent=parent, us_east_1=east)
        distribution = aws.cloudfront.Distribution(
            "d", enabled=True, origins=[{"origin_id": "o", "domain_name": "o.example.com",
                                         "custom_origin_config": {"origin_protocol_policy": "https-only",
                                                                  "http_port": 80, "https_port": 443,
                                                                  "origin_ssl_protocols": ["TLSv1.2"]}}],
            default_cache_behavior={"target_origin_id": "o", "viewer_protocol_policy": "redirect-to-https",
                                    "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                                    "cache_policy_id": cdn.CACHING_DISABLED_POLICY_ID},
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={"cloudfront_default_certificate": True}, opts=opts)
        cdn.alias_records("site", "Z0123456789EXAMPLE", "a.example.com", distribution, opts)
    return evaluate_program(program, region="eu-west-1")


def test_headers_policy_always_enforces_hsts_and_nosniff(pieces):
    for name in ("app", "site"):
        config = pieces.named(name).props["securityHeadersConfig"]
        assert config["strictTransportSecurity"]["accessControlMaxAgeSec"] >= 31_536_000
        assert config["strictTransportSecurity"]["override"] is True
        assert config["contentTypeOptions"] == {"override": True}


def test_headers_policy_lets_an_apps_own_frame_and_referrer_headers_win_when_asked(pieces):
    app, site = (pieces.named(n).props["securityHeadersConfig"] for n in ("app", "site"))
    assert app["frameOptions"]["override"] is False and site["frameOptions"]["override"] is True
    assert "contentSecurityPolicy" not in app
    assert site["contentSecurityPolicy"] == {"contentSecurityPolicy": "default-src 'self'", "override": True}


def test_certificate_and_its_validation_are_in_us_east_1(pieces):
    for name in ("with-zone-cert", "with-zone-cert-validation", "manual-cert", "manual-cert-validation"):
        assert pieces.provider_of(pieces.named(name)).props["region"] == "us-east-1"


def test_validation_record_goes_in_the_zone_when_there_is_one(pieces):
    assert pieces.named("with-zone-cert-validation-record").props["zoneId"] == "Z0123456789EXAMPLE"
    assert not [r for r in pieces.resources if r.name == "manual-cert-validation-record"]
    assert "validationRecordFqdns" not in pieces.named("manual-cert-validation").props


def test_alias_records_cover_ipv4_and_ipv6(pieces):
    records = {pieces.named(f"site-alias-{t}").props["type"] for t in ("a", "aaaa")}
    assert records == {"A", "AAAA"}


@pytest.mark.parametrize("value, valid", [("Z0123456789EXAMPLE", True), ("Z1", True), ("zone-1", False),
                                          ("Z0123456789example", False), ("", False)])
def test_hosted_zone_ids(value, valid):
    assert cdn.is_hosted_zone_id(value) is valid


class DistributionArgs(TypedDict, total=False):
    custom_domain: Optional[cdn.CustomDomainArgs]


def _reader(args):
    return ArgsReader("Distribution", "d", args, DistributionArgs)


def test_custom_domain_is_read_and_checked_in_one_place():
    domain = cdn.read_custom_domain(_reader({"custom_domain": {"domain_name": "cdn.example.com",
                                                               "hosted_zone_id": "Z0123456789EXAMPLE"}}))
    assert domain == cdn.ResolvedCustomDomain(domain_name="cdn.example.com", hosted_zone_id="Z0123456789EXAMPLE")
    assert cdn.read_custom_domain(_reader({})) is None
    assert cdn.read_custom_domain(_reader({"custom_domain": {"domain_name": "cdn.example.com"}})).hosted_zone_id is None


@pytest.mark.parametrize("domain, message", [
    ({"hosted_zone_id": "Z0123456789EXAMPLE"}, "custom_domain.domain_name: required"),
    ({"domain_name": "https://cdn.example.com"}, "custom_domain.domain_name: expected a hostname"),
    ({"domain_name": "cdn.example.com", "hosted_zone_id": "zone"}, "custom_domain.hosted_zone_id: expected a Route 53"),
    ({"domain_name": "cdn.example.com", "zone": "Z1"}, r"custom_domain.zone: unknown arg"),
])
def test_custom_domain_errors_name_the_arg(domain, message):
    with pytest.raises(ArgsError, match=message):
        cdn.read_custom_domain(_reader({"custom_domain": domain}))


def test_header_names_exclude_cloudfronts_own_headers():
    from serverless_blueprints.cloudfront_defaults import is_header_name

    assert is_header_name("X-Origin-Verify")
    assert not any(is_header_name(h) for h in ("X-Amz-Secret", "X-Edge-Thing", "X-Cache", "1abc", "has space"))

