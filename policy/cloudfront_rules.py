"""CloudFront distributions and the buckets behind them."""
from __future__ import annotations

import re

from . import tokens
from .documents import condition_values, principal_values, statements
from .model import Resource, as_list, attribute, get, is_known, is_unknown
from .registry import ADVISORY, resource_rule, stack_rule
from .stack import Stack, identifies

_S3_REST_ORIGIN = re.compile(r"\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com(?:\.cn)?$")
_S3_WEBSITE_ORIGIN = re.compile(r"\.s3-website[.-]")
_DISTRIBUTION_ARN = re.compile(r"^arn:aws[a-z-]*:cloudfront::\d{12}:distribution/[A-Za-z0-9_-]+$")

HTTPS_VIEWER_POLICIES = ("redirect-to-https", "https-only")
# minimumProtocolVersion values at least as strict as TLSv1.2_2021.
MODERN_VIEWER_TLS = ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")
CLOUDFRONT_SERVICE = "cloudfront.amazonaws.com"

# AWS managed response headers policies (ids are fixed across accounts).
MANAGED_HEADERS_WITH_HSTS = {
    "67f7725c-6f97-4210-82d7-5512b31e9d03": "SecurityHeadersPolicy",
    "e61eb60c-9c35-4d20-a928-2b84e02af89c": "CORS-and-SecurityHeadersPolicy",
    "eaab4381-ed33-4a86-88ca-d9558dc6cd63": "CORS-with-preflight-and-SecurityHeadersPolicy",
}
MANAGED_HEADERS_WITHOUT_HSTS = {
    "60669652-455b-4ae9-85a4-c4c02393f86c": "SimpleCORS",
    "5cc3b908-e619-4b99-88e5-2cf7f45965bd": "CORS-With-Preflight",
}


def behaviors(distribution: Resource):
    """(label, behavior) for the default and every ordered cache behavior."""
    default = get(distribution.props, "defaultCacheBehavior")
    if isinstance(default, dict):
        yield "default behavior", default
    for behavior in as_list(get(distribution.props, "orderedCacheBehaviors")):
        if isinstance(behavior, dict):
            yield f"behavior '{get(behavior, 'pathPattern') or '?'}'", behavior


def origins(distribution: Resource):
    return [o for o in as_list(get(distribution.props, "origins")) if isinstance(o, dict)]


def is_s3_rest_origin(origin: dict) -> bool:
    domain = get(origin, "domainName")
    return is_known(domain) and bool(_S3_REST_ORIGIN.search(domain))


@resource_rule(
    "SB-CF-001", tokens.DISTRIBUTION, tokens.ORIGIN_ACCESS_IDENTITY,
    description="S3 origins use Origin Access Control: no OAI, no website endpoint.",
    remediation="Create an aws.cloudfront.OriginAccessControl (s3, always, sigv4), set origin_access_control_id, use the bucket's regional domain name.",
)
def origin_access_control(resource: Resource):
    if resource.resource_type == tokens.ORIGIN_ACCESS_IDENTITY:
        yield "Origin Access Identity is legacy; use Origin Access Control"
        return
    for origin in origins(resource):
        origin_id = get(origin, "originId") or "?"
        domain = get(origin, "domainName")
        oai = get(origin, "s3OriginConfig", "originAccessIdentity")
        if is_known(oai) and oai != "":
            yield f"origin '{origin_id}' uses an Origin Access Identity"
        if is_known(domain) and _S3_WEBSITE_ORIGIN.search(domain):
            yield f"origin '{origin_id}' is an S3 website endpoint (public bucket)"
        elif is_s3_rest_origin(origin) and get(origin, "originAccessControlId") is None:
            yield f"S3 origin '{origin_id}' has no originAccessControlId"


@stack_rule(
    "SB-CF-002",
    description="An origin bucket's policy admits only cloudfront.amazonaws.com, with AWS:SourceArn set to the distribution.",
    remediation='Grant s3:GetObject to Principal {"Service": "cloudfront.amazonaws.com"} with Condition StringEquals AWS:SourceArn = distribution.arn, and nothing else.',
)
def origin_bucket_policy(stack: Stack):
    buckets = stack.of_type(tokens.BUCKET)
    distributions = stack.of_type(tokens.DISTRIBUTION)
    for distribution in distributions:
        for origin in origins(distribution):
            if not is_s3_rest_origin(origin) and get(origin, "originAccessControlId") is None:
                continue
            for bucket in stack.resolve(distribution, "origins", get(origin, "domainName"), buckets) or []:
                policies, _ = stack.referrers(bucket, tokens.BUCKET_POLICY, "bucket")
                for policy in policies:
                    for problem in _foreign_grants(get(policy.props, "policy"), distributions):
                        yield bucket, f"policy '{policy.name}' {problem}"


def _foreign_grants(document, distributions: list):
    for statement in statements(document) or []:
        if not statement.allows:
            continue
        label = f"statement '{statement.sid or 'unnamed'}'"
        services = principal_values(statement.principal, "Service")
        others = [v for kind in ("AWS", "Federated", "CanonicalUser") for v in principal_values(statement.principal, kind)]
        if others or services != [CLOUDFRONT_SERVICE]:
            if not any(is_unknown(v) for v in services + others):
                yield f"{label} allows a principal other than {CLOUDFRONT_SERVICE}"
            continue
        source_arns = condition_values(statement.condition, "AWS:SourceArn", ("StringEquals", "ArnEquals", "ArnLike", "StringLike"))
        if any(is_unknown(v) for v in source_arns):
            continue
        if not source_arns:
            yield f"{label} admits CloudFront without an AWS:SourceArn condition (any distribution could read)"
        has_ids = [d for d in distributions if is_known(attribute(d, "arn")) or is_known(attribute(d, "id"))]
        for arn in source_arns:
            if any(identifies(arn, d) for d in distributions):
                continue
            if not (isinstance(arn, str) and _DISTRIBUTION_ARN.match(arn)):
                yield f"{label} AWS:SourceArn '{arn}' does not name one distribution"
            elif has_ids:
                yield f"{label} AWS:SourceArn '{arn}' names no distribution of this stack"


@resource_rule(
    "SB-CF-003", tokens.DISTRIBUTION,
    description="Viewers are redirected to HTTPS on every cache behavior.",
    remediation='Set viewer_protocol_policy="redirect-to-https" on the default and each ordered cache behavior.',
)
def viewer_https(distribution: Resource):
    for label, behavior in behaviors(distribution):
        policy = get(behavior, "viewerProtocolPolicy")
        if is_known(policy) and policy not in HTTPS_VIEWER_POLICIES:
            yield f"{label} allows viewers over {policy}"


@resource_rule(
    "SB-CF-004", tokens.DISTRIBUTION,
    description="With a custom certificate, viewers need TLS >= TLSv1.2_2021.",
    remediation='Set viewer_certificate.minimum_protocol_version="TLSv1.2_2021" and ssl_support_method="sni-only".',
)
def viewer_tls_version(distribution: Resource):
    certificate = get(distribution.props, "viewerCertificate")
    if not isinstance(certificate, dict) or get(certificate, "cloudfrontDefaultCertificate") is True:
        return
    if get(certificate, "acmCertificateArn") is None and get(certificate, "iamCertificateId") is None:
        return
    version = get(certificate, "minimumProtocolVersion")
    if not is_unknown(version) and version not in MODERN_VIEWER_TLS:
        yield f"minimumProtocolVersion is {version or 'not set (TLSv1)'}"


@resource_rule(
    "SB-CF-005", tokens.DISTRIBUTION,
    description="Custom origins are reached over HTTPS only, with TLSv1.2.",
    remediation='Set custom_origin_config.origin_protocol_policy="https-only" and origin_ssl_protocols=["TLSv1.2"].',
)
def custom_origin_tls(distribution: Resource):
    for origin in origins(distribution):
        config = get(origin, "customOriginConfig")
        if not isinstance(config, dict):
            continue
        origin_id = get(origin, "originId") or "?"
        policy = get(config, "originProtocolPolicy")
        if is_known(policy) and policy != "https-only":
            yield f"origin '{origin_id}' protocol policy is {policy}"
        protocols = get(config, "originSslProtocols")
        if is_unknown(protocols) or any(is_unknown(p) for p in as_list(protocols)):
            continue
        if as_list(protocols) != ["TLSv1.2"]:
            yield f"origin '{origin_id}' allows SSL protocols {as_list(protocols)}"


@stack_rule(
    "SB-CF-006",
    description="Every cache behavior has a response headers policy that sets HSTS.",
    remediation="Attach a ResponseHeadersPolicy with security_headers_config.strict_transport_security (max-age >= 31536000), or the managed SecurityHeadersPolicy.",
)
def hsts_headers(stack: Stack):
    policies = stack.of_type(tokens.RESPONSE_HEADERS_POLICY)
    prop_of = {"default behavior": "defaultCacheBehavior"}
    for distribution in stack.of_type(tokens.DISTRIBUTION):
        for label, behavior in behaviors(distribution):
            policy_id = get(behavior, "responseHeadersPolicyId")
            if policy_id is None:
                yield distribution, f"{label} has no response headers policy"
                continue
            if policy_id in MANAGED_HEADERS_WITH_HSTS:
                continue
            if policy_id in MANAGED_HEADERS_WITHOUT_HSTS:
                yield distribution, f"{label} uses managed {MANAGED_HEADERS_WITHOUT_HSTS[policy_id]}, which sets no HSTS"
                continue
            prop = prop_of.get(label, "orderedCacheBehaviors")
            for policy in stack.resolve(distribution, prop, policy_id, policies) or []:
                hsts = get(policy.props, "securityHeadersConfig", "strictTransportSecurity")
                max_age = get(hsts, "accessControlMaxAgeSec")
                if hsts is None or (is_known(max_age) and max_age <= 0):
                    yield distribution, f"{label}: response headers policy '{policy.name}' sets no HSTS"


LOG_DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"


@stack_rule(
    "SB-CF-007",
    description="Distributions log requests (standard logging v2: a CloudWatch Logs delivery source for the distribution).",
    remediation="Add aws.cloudwatch.LogDeliverySource(log_type=\"ACCESS_LOGS\", resource_arn=distribution.arn) with a "
                "LogDeliveryDestination and LogDelivery in us-east-1 (cloudfront_defaults.standard_logging).",
    level=ADVISORY,
)
def distribution_logging(stack: Stack):
    for distribution in stack.of_type(tokens.DISTRIBUTION):
        if get(distribution.props, "loggingConfig") is not None:
            continue  # legacy logging: SB-HARD-004 asks for v2
        sources, undetermined = stack.referrers(distribution, LOG_DELIVERY_SOURCE, "resourceArn")
        if not sources and not undetermined:
            yield distribution, "no access logging"


@resource_rule(
    "SB-CF-008", tokens.DISTRIBUTION,
    description="Signed URLs use trusted key groups, never trusted signers (root-account keys).",
    remediation="Create aws.cloudfront.PublicKey + KeyGroup and set trusted_key_groups; drop trusted_signers.",
)
def trusted_key_groups(distribution: Resource):
    for label, behavior in behaviors(distribution):
        signers = get(behavior, "trustedSigners")
        if is_known(signers) and as_list(signers):
            yield f"{label} uses trustedSigners"
