"""CloudFront pieces every distribution in this project shares: managed policy ids, limits,
the security-headers policy, and the us-east-1 certificate with its DNS records.

One home for them, so StaticSite and UpdateOffloadCdn can't drift apart: the custom-domain args
and their checks live here too.
"""
import re
from dataclasses import dataclass
from typing import Optional, Required, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
from .args import ArgsReader
from .iam import PolicyStatement

# AWS-managed CloudFront policies: fixed, documented ids, the same in every account.
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"
"""Managed-CachingOptimized: TTL 1 s / 1 day / 1 year, no cookies, headers or query strings, gzip + brotli."""
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
"""Managed-CachingDisabled: every request goes to the origin."""
ALL_VIEWER_EXCEPT_HOST_HEADER_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
"""Managed-AllViewerExceptHostHeader: every header, cookie and query string, Host set to the origin's."""

PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
ONE_YEAR_SECONDS = 31_536_000
# HSTS max-age: a year is what browsers' preload lists and our guardrail (SB-CF-006) expect at least.
HSTS_MAX_AGE_SECONDS = 2 * ONE_YEAR_SECONDS
MAX_CACHE_KEY_QUERY_STRINGS = 10  # CloudFront quota per cache policy
HTTP_VERSION = "http2and3"
# A Route 53 hosted zone id, as the console and the API show it.
HOSTED_ZONE_ID = re.compile(r"Z[A-Z0-9]{1,31}")


def is_hostname(value: str) -> bool:
    """A DNS hostname such as blog.example.com: no scheme, path, port or IP address."""
    labels = value.rstrip(".").split(".")
    return (len(value) <= 253 and len(labels) >= 2 and not labels[-1].isdigit()
            and all(re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", label) for label in labels))


def is_header_name(value: str) -> bool:
    """A custom origin header name CloudFront accepts (not one of its own X-Amz-/X-Edge- headers)."""
    return (re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,63}", value) is not None
            and not value.lower().startswith(("x-amz-", "x-amzn-", "x-edge-", "x-cache")))


def is_hosted_zone_id(value: str) -> bool:
    return HOSTED_ZONE_ID.fullmatch(value) is not None


def is_query_string_name(value: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9._~-]{1,64}", value) is not None


def is_path_pattern(value: str) -> bool:
    """A cache-behaviour path pattern such as /api/*: starts with /, and is not the catch-all /*."""
    return (len(value) <= 255 and value not in ("/*", "/")
            and re.fullmatch(r"/[A-Za-z0-9_\-.*$/~\"'@:+&]*", value) is not None)


class CustomDomainArgs(TypedDict, total=False):
    domain_name: Required[str]
    """Viewer-facing name, e.g. blog.example.com (a hostname: no scheme, path or port)."""
    hosted_zone_id: Optional[pulumi.Input[str]]
    """Route 53 zone (Z...): certificate validation and the A/AAAA aliases go there. Absent: do both yourself
    (the deployment waits for the certificate)."""


@dataclass(frozen=True)
class ResolvedCustomDomain:
    domain_name: str
    hosted_zone_id: Optional[pulumi.Input[str]]


def read_custom_domain(reader: ArgsReader, key: str = "custom_domain") -> Optional[ResolvedCustomDomain]:
    """The `custom_domain` arg of a distribution, checked (None when left out)."""
    domain = reader.section(key, CustomDomainArgs)
    return None if domain is None else resolve_custom_domain(domain)


def resolve_custom_domain(domain: ArgsReader) -> ResolvedCustomDomain:
    """The name and zone of a custom-domain section (a component may add its own keys beside them)."""
    return ResolvedCustomDomain(
        domain_name=domain.string("domain_name", check=is_hostname, expected="a hostname such as blog.example.com"),
        hosted_zone_id=domain.optional_string("hosted_zone_id", check=is_hosted_zone_id,
                                              expected="a Route 53 hosted zone id (Z...)"))


def security_headers_policy(name: str, opts: pulumi.ResourceOptions, *, comment: str,
                            override_origin: bool = True,
                            content_security_policy: Optional[str] = None) -> aws.cloudfront.ResponseHeadersPolicy:
    """HSTS (2 years, subdomains) and nosniff always win; frame, referrer and CSP headers win too
    unless `override_origin=False` (an application that sets its own keeps them)."""
    security: aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgsDict = {
        "strict_transport_security": {"access_control_max_age_sec": HSTS_MAX_AGE_SECONDS,
                                      "include_subdomains": True, "preload": False, "override": True},
        "content_type_options": {"override": True},
        "frame_options": {"frame_option": "DENY", "override": override_origin},
        "referrer_policy": {"referrer_policy": "strict-origin-when-cross-origin", "override": override_origin},
    }
    if content_security_policy:
        security["content_security_policy"] = {"content_security_policy": content_security_policy,
                                               "override": override_origin}
    return aws.cloudfront.ResponseHeadersPolicy(name, comment=comment, security_headers_config=security,
                                                opts=opts)


def dns_validated_certificate(name: str, domain_name: str, hosted_zone_id: Optional[pulumi.Input[str]], *,
                              parent: pulumi.Resource, us_east_1: pulumi.ProviderResource,
                              subject_alternative_names: Sequence[str] = ()) -> pulumi.Output[str]:
    """An ACM certificate in us-east-1 (the only region CloudFront reads), validated through Route 53.

    `subject_alternative_names` (e.g. the www name) share the certificate, each with its own validation
    record. Without a hosted zone the validation records are left to you; the deployment waits until they
    exist. The returned ARN resolves once the certificate is issued.
    """
    in_us_east_1 = pulumi.ResourceOptions(parent=parent, provider=us_east_1)
    certificate = aws.acm.Certificate(f"{name}-cert", domain_name=domain_name, validation_method="DNS",
                                      subject_alternative_names=list(subject_alternative_names) or None,
                                      opts=in_us_east_1)
    fqdns = None
    if hosted_zone_id is not None:
        # One record per name; the options list has one entry per name (its order is ACM's).
        records = []
        for index in range(1 + len(subject_alternative_names)):
            option = certificate.domain_validation_options[index]
            records.append(aws.route53.Record(
                f"{name}-cert-validation-record" + (f"-{index}" if index else ""), zone_id=hosted_zone_id,
                name=option.resource_record_name, type=option.resource_record_type,
                records=[option.resource_record_value], ttl=300, allow_overwrite=True,
                opts=pulumi.ResourceOptions(parent=parent)))
        fqdns = [record.fqdn for record in records]
    return aws.acm.CertificateValidation(f"{name}-cert-validation", certificate_arn=certificate.arn,
                                         validation_record_fqdns=fqdns, opts=in_us_east_1).certificate_arn


def viewer_certificate(
        certificate_arn: Optional[pulumi.Input[str]]) -> aws.cloudfront.DistributionViewerCertificateArgsDict:
    """SNI with TLSv1.2_2021 for a custom certificate; the *.cloudfront.net certificate otherwise."""
    if certificate_arn is None:
        return {"cloudfront_default_certificate": True}
    return {"acm_certificate_arn": certificate_arn, "ssl_support_method": "sni-only",
            "minimum_protocol_version": defaults.CLOUDFRONT_MINIMUM_PROTOCOL_VERSION}


def alias_records(name: str, zone_id: pulumi.Input[str], domain_name: str,
                  distribution: aws.cloudfront.Distribution,
                  opts: pulumi.ResourceOptions) -> list[aws.route53.Record]:
    """A and AAAA alias records pointing a name at a distribution (IPv6 is on for ours)."""
    return [aws.route53.Record(
        f"{name}-alias-{record_type.lower()}", zone_id=zone_id, name=domain_name, type=record_type,
        aliases=[{"name": distribution.domain_name, "zone_id": distribution.hosted_zone_id,
                  "evaluate_target_health": False}], opts=opts) for record_type in ("A", "AAAA")]


# --- standard logging (v2): CloudWatch Logs delivers to S3, no bucket ACLs -----------------------------
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"
# Standard log fields, without cs(Cookie): cookies may carry session tokens.
CLOUDFRONT_LOG_FIELDS = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)", "cs-uri-stem", "sc-status",
    "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "x-edge-result-type", "x-edge-request-id", "x-host-header",
    "cs-protocol", "cs-bytes", "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
    "x-edge-response-result-type", "cs-protocol-version", "c-port", "time-to-first-byte",
    "x-edge-detailed-result-type", "sc-content-type", "sc-content-len", "sc-range-start", "sc-range-end",
)
CLOUDFRONT_LOG_FORMAT = "w3c"  # the legacy logs' format: existing tooling keeps working


def in_us_east_1(parent: pulumi.Resource, us_east_1: Optional[pulumi.ProviderResource],
                 **options) -> tuple[pulumi.ResourceOptions, dict]:
    """(opts, extra resource args) placing a resource in us-east-1: the us-east-1 provider when given,
    else the resource's own `region` (pulumi-aws v7), so no provider is needed just for logging."""
    if us_east_1 is not None:
        return pulumi.ResourceOptions(parent=parent, provider=us_east_1, **options), {}
    return pulumi.ResourceOptions(parent=parent, **options), {"region": defaults.CERTIFICATE_REGION}


def standard_logging(name: str, distribution: aws.cloudfront.Distribution, bucket_arn: pulumi.Input[str], *,
                     parent: pulumi.Resource, us_east_1: Optional[pulumi.ProviderResource],
                     depends_on: Optional[list] = None) -> aws.cloudwatch.LogDelivery:
    """CloudFront standard logging (v2): the distribution's access logs delivered by CloudWatch Logs to
    S3 (under AWSLogs/<account>/CloudFront/). Source, destination and delivery live in us-east-1, the
    bucket anywhere; the bucket needs `log_delivery_statements` in its policy, never ACLs."""
    opts, where = in_us_east_1(parent, us_east_1)
    # Names are unique per account and region: a dev and a prod stack may share both.
    physical = re.sub(r"[^A-Za-z0-9_-]", "-", f"{name}-{pulumi.get_stack()}")[:48]
    source = aws.cloudwatch.LogDeliverySource(
        f"{name}-access-logs-source", name=f"{physical}-cf-logs", log_type="ACCESS_LOGS",
        resource_arn=distribution.arn, opts=opts, **where)
    destination = aws.cloudwatch.LogDeliveryDestination(
        f"{name}-access-logs-s3", name=f"{physical}-cf-logs-s3", output_format=CLOUDFRONT_LOG_FORMAT,
        delivery_destination_configuration={"destination_resource_arn": bucket_arn}, opts=opts, **where)
    delivery_opts, _ = in_us_east_1(parent, us_east_1, depends_on=depends_on or [])
    return aws.cloudwatch.LogDelivery(
        f"{name}-access-logs", delivery_source_name=source.name, delivery_destination_arn=destination.arn,
        record_fields=list(CLOUDFRONT_LOG_FIELDS), opts=delivery_opts, **where)


def log_delivery_statements(bucket_arn: pulumi.Input[str], account_id: pulumi.Input[str],
                            source_arns: list) -> list[PolicyStatement]:
    """Bucket policy statements letting CloudWatch Logs' vended-log delivery (CloudFront standard logs v2,
    VPC flow logs) write under AWSLogs/<account>/, for this account's sources only (confused deputy)."""
    conditions = {"StringEquals": {"aws:SourceAccount": account_id}, "ArnLike": {"aws:SourceArn": source_arns}}
    logs = pulumi.Output.concat(bucket_arn, "/AWSLogs/", account_id, "/*")
    return [
        {"Sid": "LogDeliveryWrite", "Effect": "Allow", "Principal": {"Service": LOG_DELIVERY_SERVICE},
         "Action": "s3:PutObject", "Resource": logs,
         "Condition": {**conditions, "StringEquals": {"aws:SourceAccount": account_id,
                                                      "s3:x-amz-acl": "bucket-owner-full-control"}}},
        {"Sid": "LogDeliveryAclCheck", "Effect": "Allow", "Principal": {"Service": LOG_DELIVERY_SERVICE},
         "Action": "s3:GetBucketAcl", "Resource": bucket_arn, "Condition": conditions},
    ]


def cloudfront_log_sources(account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """aws:SourceArn of this account's CloudFront delivery sources (they live in us-east-1)."""
    return pulumi.Output.concat("arn:aws:logs:", defaults.CERTIFICATE_REGION, ":", account_id, ":delivery-source:*")
