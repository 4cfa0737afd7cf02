"""SecureBucket: a private S3 bucket with every hardening on, and room for a caller's policy.

Public access blocked (all four flags), BucketOwnerEnforced (ACLs off; `log_delivery_acls` turns them
back on for CloudFront's *legacy* standard logging only: prefer standard logging v2,
`cloudfront_defaults.standard_logging`, which needs no ACLs), SSE,
versioning with a noncurrent-version lifecycle, aborting stale multipart uploads,
and a bucket policy that always denies non-TLS access.
"""
from dataclasses import dataclass
from typing import Any, Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
from .args import ArgsReader
from .iam import PolicyStatement, deny_insecure_transport, policy_document


class SecureBucketArgs(TypedDict, total=False):
    force_destroy: bool
    """Let `pulumi destroy` delete a non-empty bucket (dev only)."""
    versioning: bool
    """Keep object versions (default true; turn off only for derived, re-creatable data)."""
    kms_key_arn: Optional[pulumi.Input[str]]
    """Encrypt with this KMS key instead of SSE-S3."""
    noncurrent_version_expiration_days: int
    """Days a replaced object version is kept."""
    cors_rules: Sequence[dict]
    """CORS rules (aws.s3.BucketCorsConfiguration cors_rules)."""
    access_log_bucket: Optional[pulumi.Input[str]]
    """Bucket that receives S3 server access logs."""
    access_log_prefix: str
    """Key prefix of this bucket's access logs."""
    transfer_acceleration: bool
    """Enable S3 Transfer Acceleration."""
    defer_policy: bool
    """Don't attach the policy now; call attach_policy() once the statements' inputs exist."""
    expire_objects_after_days: Optional[int]
    """Delete current objects this many days after creation (log buckets)."""
    log_delivery_acls: bool
    """Legacy: BucketOwnerPreferred for CloudFront's legacy logging (ACL grants); use standard logging v2 instead."""


DEFAULTS: dict[str, Any] = {
    "force_destroy": False,
    "versioning": True,
    "noncurrent_version_expiration_days": defaults.NONCURRENT_VERSION_EXPIRATION_DAYS,
    "cors_rules": [],
    "transfer_acceleration": False,
    "defer_policy": False,
    "log_delivery_acls": False,
}
"""What a bucket gets without asking: kept on destroy, versioned, SSE-S3, policy attached now."""


@dataclass(frozen=True)
class ResolvedSecureBucket:
    force_destroy: bool
    versioning: bool
    kms_key_arn: Any
    noncurrent_version_expiration_days: int
    cors_rules: list
    access_log_bucket: Any
    access_log_prefix: Optional[str]
    transfer_acceleration: bool
    defer_policy: bool
    expire_objects_after_days: Optional[int]
    log_delivery_acls: bool


def resolve_args(name: str, args: Optional[SecureBucketArgs]) -> ResolvedSecureBucket:
    """The caller's args over DEFAULTS, each checked; raises ArgsError naming the arg."""
    r = ArgsReader("SecureBucket", name, args, SecureBucketArgs, DEFAULTS)
    cors_rules = r.get("cors_rules")
    if isinstance(cors_rules, (str, bytes)) or not isinstance(cors_rules, Sequence) or not all(
            isinstance(rule, dict) for rule in cors_rules):
        r.fail("cors_rules", f"expected a list of CORS rules (mappings), got {cors_rules!r}")
    return ResolvedSecureBucket(
        force_destroy=r.flag("force_destroy"),
        versioning=r.flag("versioning"),
        kms_key_arn=r.input("kms_key_arn"),
        noncurrent_version_expiration_days=r.integer("noncurrent_version_expiration_days", low=1, high=36500),
        cors_rules=list(cors_rules),
        access_log_bucket=r.input("access_log_bucket"),
        access_log_prefix=r.optional_string("access_log_prefix"),
        transfer_acceleration=r.flag("transfer_acceleration"),
        defer_policy=r.flag("defer_policy"),
        expire_objects_after_days=r.optional_integer("expire_objects_after_days", low=1, high=36500),
        log_delivery_acls=r.flag("log_delivery_acls"),
    )


class SecureBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    """The bucket."""
    public_access_block: aws.s3.BucketPublicAccessBlock
    """Its public access block."""
    policy: Optional[aws.s3.BucketPolicy]
    """Its policy, once attached."""
    name: pulumi.Output[str]
    """The bucket's name."""
    arn: pulumi.Output[str]
    """The bucket's ARN."""

    def __init__(self, name: str, args: Optional[SecureBucketArgs] = None,
                 opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("serverless-blueprints:index:SecureBucket", name, None, opts)
        s = resolve_args(name, args)
        child = pulumi.ResourceOptions(parent=self)
        self._name = name
        self.policy = None

        self.bucket = aws.s3.Bucket(name, force_destroy=s.force_destroy, opts=child)
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerPreferred" if s.log_delivery_acls
                  else "BucketOwnerEnforced"}, opts=child)
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=self.bucket.id,
            block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)

        kms_key = s.kms_key_arn
        sse: aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgsDict = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key} if kms_key else {"sse_algorithm": "AES256"})
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse", bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": sse, "bucket_key_enabled": bool(kms_key)}],
            opts=child)

        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled" if s.versioning else "Suspended"}, opts=child)

        rules: list[aws.s3.BucketLifecycleConfigurationRuleArgsDict] = [
            {"id": "abort-incomplete-multipart-uploads", "status": "Enabled", "filter": {},
             "abort_incomplete_multipart_upload": {"days_after_initiation": defaults.ABORT_INCOMPLETE_MULTIPART_DAYS}}]
        if s.versioning:
            rules.append({"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {},
                          "noncurrent_version_expiration": {"noncurrent_days": s.noncurrent_version_expiration_days}})
        if s.expire_objects_after_days:
            rules.append({"id": "expire-current-objects", "status": "Enabled", "filter": {},
                          "expiration": {"days": s.expire_objects_after_days}})
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=self.bucket.id, rules=rules,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]))

        if s.cors_rules:
            aws.s3.BucketCorsConfiguration(f"{name}-cors", bucket=self.bucket.id,
                                           cors_rules=s.cors_rules, opts=child)
        if s.access_log_bucket is not None:
            aws.s3.BucketLogging(f"{name}-access-logs", bucket=self.bucket.id,
                                 target_bucket=s.access_log_bucket,
                                 target_prefix=f"s3/{name}/" if s.access_log_prefix is None else s.access_log_prefix, opts=child)
        if s.transfer_acceleration:
            aws.s3.BucketAccelerateConfiguration(f"{name}-acceleration", bucket=self.bucket.id,
                                                 status="Enabled", opts=child)

        if not s.defer_policy:
            self.attach_policy([])
        self.register_outputs({"name": self.name, "arn": self.arn})

    def attach_policy(self, statements: Sequence[pulumi.Input[PolicyStatement]]) -> aws.s3.BucketPolicy:
        """Attach the bucket policy: TLS-only, plus the caller's statements. Call at most once."""
        if self.policy is not None:
            raise ValueError(f"{self._name}: the bucket policy is already attached")
        tls_only = deny_insecure_transport([self.arn, self.arn.apply(lambda arn: f"{arn}/*")],
                                           action="s3:*")
        self.policy = aws.s3.BucketPolicy(
            f"{self._name}-policy", bucket=self.bucket.id,
            policy=policy_document([tls_only, *statements]),
            # A policy put before the public access block could briefly be evaluated without it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]))
        return self.policy
