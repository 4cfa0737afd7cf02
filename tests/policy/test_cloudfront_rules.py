import json

from policy import UNKNOWN, Resource, evaluate
from policy.tokens import BUCKET, BUCKET_POLICY, DISTRIBUTION, ORIGIN_ACCESS_IDENTITY, RESPONSE_HEADERS_POLICY

ACCOUNT = "123456789012"
DIST_ARN = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2ABCDEF123456"
SITE = Resource(BUCKET, {"bucket": "site-1a2b3c4", "id": "site-1a2b3c4", "arn": "arn:aws:s3:::site-1a2b3c4",
                         "bucketRegionalDomainName": "site-1a2b3c4.s3.eu-west-1.amazonaws.com"}, name="site")
HEADERS = Resource(RESPONSE_HEADERS_POLICY, {"id": "rhp-123", "name": "site-headers", "securityHeadersConfig": {
    "strictTransportSecurity": {"accessControlMaxAgeSec": 31536000, "includeSubdomains": True, "override": True}}},
    name="site-headers")


def s3_origin(**overrides):
    origin = {"originId": "site", "domainName": "site-1a2b3c4.s3.eu-west-1.amazonaws.com", "originAccessControlId": "oac-1"}
    origin.update(overrides)
    return {k: v for k, v in origin.items() if v is not None}


def api_origin(**config):
    custom = {"httpPort": 80, "httpsPort": 443, "originProtocolPolicy": "https-only", "originSslProtocols": ["TLSv1.2"]}
    custom.update(config)
    return {"originId": "api", "domainName": "abc.execute-api.eu-west-1.amazonaws.com", "customOriginConfig": custom}


def distribution(origins=None, behavior=None, ordered=None, **overrides):
    default = {"targetOriginId": "site", "viewerProtocolPolicy": "redirect-to-https", "responseHeadersPolicyId": "rhp-123",
               "allowedMethods": ["GET", "HEAD"], "cachedMethods": ["GET", "HEAD"]}
    default.update(behavior or {})
    props = {"arn": DIST_ARN, "id": "E2ABCDEF123456", "origins": origins or [s3_origin()],
             "defaultCacheBehavior": {k: v for k, v in default.items() if v is not None},
             "viewerCertificate": {"cloudfrontDefaultCertificate": True},
             "loggingConfig": {"bucket": "logs-1a2b3c4.s3.amazonaws.com"}}
    if ordered:
        props["orderedCacheBehaviors"] = ordered
    props.update(overrides)
    return Resource(DISTRIBUTION, {k: v for k, v in props.items() if v is not None}, name="cdn")


# SB-CF-001 OAC, no OAI, no website endpoint

def test_s3_origin_with_oac_passes(violations):
    assert violations("SB-CF-001", distribution()) == []


def test_s3_origin_with_oai_is_reported(violations):
    origin = s3_origin(originAccessControlId=None, s3OriginConfig={"originAccessIdentity": "origin-access-identity/cloudfront/E1"})
    assert violations("SB-CF-001", distribution([origin])) == [
        "origin 'site' uses an Origin Access Identity", "S3 origin 'site' has no originAccessControlId"]


def test_website_endpoint_origin_is_reported(violations):
    origin = {"originId": "site", "domainName": "site-1a2b3c4.s3-website-eu-west-1.amazonaws.com",
              "customOriginConfig": {"originProtocolPolicy": "http-only", "originSslProtocols": ["TLSv1.2"]}}
    assert violations("SB-CF-001", distribution([origin])) == ["origin 'site' is an S3 website endpoint (public bucket)"]


def test_oai_resource_is_reported(violations):
    assert violations("SB-CF-001", Resource(ORIGIN_ACCESS_IDENTITY, {}, name="oai")) == [
        "Origin Access Identity is legacy; use Origin Access Control"]


def test_unknown_origin_domain_is_not_reported(violations):
    assert violations("SB-CF-001", distribution([s3_origin(domainName=UNKNOWN, originAccessControlId=None)])) == []


# SB-CF-002 origin bucket policy admits only this distribution

def bucket_policy(*statements):
    return Resource(BUCKET_POLICY, {"bucket": "site-1a2b3c4", "policy": json.dumps({"Statement": list(statements)})}, name="site-policy")


CLOUDFRONT_READ = {"Sid": "CloudFrontRead", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
                   "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site-1a2b3c4/*",
                   "Condition": {"StringEquals": {"AWS:SourceArn": DIST_ARN}}}


def test_policy_for_this_distribution_only_passes(violations):
    assert violations("SB-CF-002", SITE, distribution(), bucket_policy(CLOUDFRONT_READ)) == []


def test_policy_without_source_arn_is_reported(violations):
    statement = {**CLOUDFRONT_READ, "Condition": {}}
    assert violations("SB-CF-002", SITE, distribution(), bucket_policy(statement)) == [
        "policy 'site-policy' statement 'CloudFrontRead' admits CloudFront without an AWS:SourceArn condition (any distribution could read)"]


def test_policy_for_another_distribution_is_reported(violations):
    statement = {**CLOUDFRONT_READ, "Condition": {"StringEquals": {"AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/EOTHER"}}}
    assert len(violations("SB-CF-002", SITE, distribution(), bucket_policy(statement))) == 1


def test_policy_admitting_another_principal_is_reported(violations):
    public = {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site-1a2b3c4/*"}
    assert violations("SB-CF-002", SITE, distribution(), bucket_policy(CLOUDFRONT_READ, public)) == [
        "policy 'site-policy' statement 'Public' allows a principal other than cloudfront.amazonaws.com"]


def test_unknown_source_arn_is_not_reported(violations):
    statement = {**CLOUDFRONT_READ, "Condition": {"StringEquals": {"AWS:SourceArn": UNKNOWN}}}
    assert violations("SB-CF-002", SITE, distribution(), bucket_policy(statement)) == []


# SB-CF-003 HTTPS viewers

def test_redirect_to_https_passes(violations):
    assert violations("SB-CF-003", distribution()) == []


def test_allow_all_viewers_is_reported(violations):
    ordered = [{"pathPattern": "/api/*", "targetOriginId": "api", "viewerProtocolPolicy": "allow-all"}]
    assert violations("SB-CF-003", distribution(ordered=ordered)) == ["behavior '/api/*' allows viewers over allow-all"]


# SB-CF-004 modern TLS with a custom certificate

def custom_certificate(version):
    certificate = {"acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/abc", "sslSupportMethod": "sni-only"}
    if version:
        certificate["minimumProtocolVersion"] = version
    return certificate


def test_custom_certificate_with_tls12_2021_passes(violations):
    assert violations("SB-CF-004", distribution(viewerCertificate=custom_certificate("TLSv1.2_2021"))) == []


def test_custom_certificate_with_old_tls_is_reported(violations):
    assert violations("SB-CF-004", distribution(viewerCertificate=custom_certificate("TLSv1.1_2016"))) == [
        "minimumProtocolVersion is TLSv1.1_2016"]


def test_default_certificate_needs_no_minimum_version(violations):
    assert violations("SB-CF-004", distribution()) == []


# SB-CF-005 custom origins over TLS 1.2

def test_https_only_tls12_custom_origin_passes(violations):
    assert violations("SB-CF-005", distribution([s3_origin(), api_origin()])) == []


def test_http_custom_origin_is_reported(violations):
    origin = api_origin(originProtocolPolicy="match-viewer", originSslProtocols=["TLSv1", "TLSv1.2"])
    assert violations("SB-CF-005", distribution([origin])) == [
        "origin 'api' protocol policy is match-viewer", "origin 'api' allows SSL protocols ['TLSv1', 'TLSv1.2']"]


# SB-CF-006 HSTS response headers

def test_behavior_with_hsts_policy_passes(violations):
    assert violations("SB-CF-006", distribution(), HEADERS) == []


def test_managed_security_headers_policy_passes(violations):
    behavior = {"responseHeadersPolicyId": "67f7725c-6f97-4210-82d7-5512b31e9d03"}
    assert violations("SB-CF-006", distribution(behavior=behavior)) == []


def test_behavior_without_headers_policy_is_reported(violations):
    assert violations("SB-CF-006", distribution(behavior={"responseHeadersPolicyId": None})) == [
        "default behavior has no response headers policy"]


def test_headers_policy_without_hsts_is_reported(violations):
    no_hsts = Resource(RESPONSE_HEADERS_POLICY, {"id": "rhp-123", "securityHeadersConfig": {}}, name="site-headers")
    assert violations("SB-CF-006", distribution(), no_hsts) == [
        "default behavior: response headers policy 'site-headers' sets no HSTS"]


def test_unknown_headers_policy_id_is_not_reported(violations):
    assert violations("SB-CF-006", distribution(behavior={"responseHeadersPolicyId": UNKNOWN}), HEADERS) == []


# SB-CF-007 logging (advisory)

def test_logging_distribution_passes(violations):
    assert violations("SB-CF-007", distribution()) == []


def test_distribution_without_logging_is_advisory():
    report = evaluate([distribution(loggingConfig=None)], "prod", rules=["SB-CF-007"])
    assert [(f.level, f.message) for f in report.findings] == [("advisory", "no access logging")]


# SB-CF-008 key groups, not trusted signers

def test_trusted_key_groups_pass(violations):
    assert violations("SB-CF-008", distribution(behavior={"trustedKeyGroups": ["kg-1"]})) == []


def test_trusted_signers_are_reported(violations):
    assert violations("SB-CF-008", distribution(behavior={"trustedSigners": ["self"]})) == ["default behavior uses trustedSigners"]


def test_standard_logging_v2_counts_as_logging(violations):
    source = Resource("aws:cloudwatch/logDeliverySource:LogDeliverySource",
                      {"logType": "ACCESS_LOGS", "resourceArn": DIST_ARN}, name="cdn-access-logs-source")
    assert violations("SB-CF-007", distribution(loggingConfig=None), source) == []
