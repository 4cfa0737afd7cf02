"""S3 buckets and the separate resources that configure them (v7 style).

Each config resource (public access block, ownership controls, encryption, versioning, policy,
logging) is linked to its bucket through its `bucket` prop, matched as described in
`policy.stack`: the bucket's id/`bucket` name, or a property dependency on the bucket.
"""
from __future__ import annotations

from . import tokens
from .documents import has_tls_only_deny
from .model import Resource, as_list, get, is_unknown
from .registry import ADVISORY, stack_rule
from .stack import Stack

PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
# CloudFront standard (legacy) logging writes with ACLs, so its target bucket keeps them.
ACL_LOG_OWNERSHIP = ("BucketOwnerPreferred", "ObjectWriter")


def log_buckets(stack: Stack) -> tuple[set, set, bool]:
    """(S3 access-log targets, CloudFront log targets, undetermined)."""
    buckets = stack.of_type(tokens.BUCKET)
    access, cloudfront, undetermined = set(), set(), False
    for logging in stack.of_type(tokens.BUCKET_LOGGING):
        found = stack.resolve(logging, "targetBucket", get(logging.props, "targetBucket"), buckets)
        undetermined |= found is None
        access.update(found or ())
    for distribution in stack.of_type(tokens.DISTRIBUTION):
        value = get(distribution.props, "loggingConfig", "bucket")
        if value is None:
            continue
        found = stack.resolve(distribution, "loggingConfig", value, buckets)
        undetermined |= found is None
        cloudfront.update(found or ())
    return access, cloudfront, undetermined


def bucket_configs(stack: Stack, bucket: Resource, types) -> tuple[list, bool]:
    return stack.referrers(bucket, types, "bucket")


@stack_rule(
    "SB-S3-001",
    description="Every bucket has a public access block with all four flags on.",
    remediation="Add an aws.s3.BucketPublicAccessBlock with block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets all True.",
)
def public_access_block(stack: Stack):
    for bucket in stack.of_type(tokens.BUCKET):
        blocks, undetermined = bucket_configs(stack, bucket, tokens.BUCKET_PUBLIC_ACCESS_BLOCK)
        if not blocks and not undetermined:
            yield bucket, "no public access block"
        for block in blocks:
            off = [f for f in PUBLIC_ACCESS_FLAGS if not is_unknown(get(block.props, f)) and get(block.props, f) is not True]
            if off:
                yield bucket, f"public access block '{block.name}' leaves {', '.join(off)} off"


@stack_rule(
    "SB-S3-002",
    description="Buckets disable ACLs (BucketOwnerEnforced), except a CloudFront log bucket that needs them.",
    remediation='Add aws.s3.BucketOwnershipControls with rule={"object_ownership": "BucketOwnerEnforced"} '
                '("BucketOwnerPreferred" only for a CloudFront standard-logging bucket).',
)
def ownership_enforced(stack: Stack):
    _, cloudfront_logs, _ = log_buckets(stack)
    for bucket in stack.of_type(tokens.BUCKET):
        controls, undetermined = bucket_configs(stack, bucket, tokens.BUCKET_OWNERSHIP_CONTROLS)
        needs_acls = bucket in cloudfront_logs
        if not controls:
            if not undetermined:
                yield bucket, "no ownership controls" + (" (CloudFront logging needs BucketOwnerPreferred)" if needs_acls else "")
            continue
        for control in controls:
            ownership = get(control.props, "rule", "objectOwnership")
            if is_unknown(ownership):
                continue
            if needs_acls and ownership not in ACL_LOG_OWNERSHIP:
                yield bucket, f"CloudFront logs here with ACLs, but object ownership is {ownership}"
            elif not needs_acls and ownership != "BucketOwnerEnforced":
                yield bucket, f"object ownership is {ownership}, so ACLs stay enabled"


@stack_rule(
    "SB-S3-003",
    description="Every bucket has default server-side encryption configured.",
    remediation='Add aws.s3.BucketServerSideEncryptionConfiguration with rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}, "bucket_key_enabled": True}] (or AES256).',
)
def default_encryption(stack: Stack):
    for bucket in stack.of_type(tokens.BUCKET):
        configs, undetermined = bucket_configs(stack, bucket, tokens.BUCKET_SSE)
        if not configs:
            if not undetermined:
                yield bucket, "no server-side encryption configuration"
            continue
        for config in configs:
            algorithms = [get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm") for rule in as_list(get(config.props, "rules"))]
            if is_unknown(get(config.props, "rules")) or any(is_unknown(a) for a in algorithms):
                continue
            if not any(a in SSE_ALGORITHMS for a in algorithms):
                yield bucket, f"encryption configuration '{config.name}' sets no default algorithm"


@stack_rule(
    "SB-S3-004",
    description="Every bucket policy denies requests that don't use TLS.",
    remediation='Add an aws.s3.BucketPolicy statement: Deny, Principal "*", Action "s3:*", Resource [bucket ARN, bucket ARN + "/*"], Condition Bool aws:SecureTransport "false".',
)
def tls_only_bucket_policy(stack: Stack):
    for bucket in stack.of_type(tokens.BUCKET):
        policies, undetermined = bucket_configs(stack, bucket, tokens.BUCKET_POLICY)
        verdicts = [has_tls_only_deny(get(p.props, "policy")) for p in policies]
        if any(v is True for v in verdicts) or any(v is None for v in verdicts):
            continue
        if not undetermined:
            yield bucket, "no bucket policy denies non-TLS requests"


@stack_rule(
    "SB-S3-005",
    description="Data buckets (every bucket but a log bucket) have versioning enabled.",
    remediation='Add aws.s3.BucketVersioning with versioning_configuration={"status": "Enabled"} (and a lifecycle rule for noncurrent versions).',
)
def data_bucket_versioning(stack: Stack):
    access_logs, cloudfront_logs, undetermined_logs = log_buckets(stack)
    for bucket in stack.of_type(tokens.BUCKET):
        if bucket in access_logs or bucket in cloudfront_logs:
            continue
        configs, undetermined = bucket_configs(stack, bucket, tokens.BUCKET_VERSIONING)
        statuses = [get(c.props, "versioningConfiguration", "status") for c in configs]
        if "Enabled" in statuses or any(is_unknown(s) for s in statuses):
            continue
        if configs:
            yield bucket, f"versioning status is {', '.join(str(s) for s in statuses)}"
        elif not (undetermined or undetermined_logs):
            yield bucket, "no versioning configuration"


@stack_rule(
    "SB-S3-006",
    description="Data buckets write server access logs.",
    remediation="Add aws.s3.BucketLogging pointing at a log bucket (granted to logging.s3.amazonaws.com in its bucket policy).",
    level=ADVISORY,
)
def access_logging(stack: Stack):
    access_logs, cloudfront_logs, undetermined_logs = log_buckets(stack)
    for bucket in stack.of_type(tokens.BUCKET):
        if bucket in access_logs or bucket in cloudfront_logs:
            continue
        configs, undetermined = bucket_configs(stack, bucket, tokens.BUCKET_LOGGING)
        if not configs and not (undetermined or undetermined_logs):
            yield bucket, "no server access logging"
