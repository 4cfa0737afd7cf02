"""SecureBucket: a private S3 bucket with every hardening on, and room for a caller's policy.

Public access blocked (all four flags), BucketOwnerEnforced (ACLs off; a CloudFront
standard-log bucket alone gets BucketOwnerPreferred, see `log_delivery_acls`), SSE,
versioning with a noncurrent-version lifecycle, aborting stale multipart uploads,
and a bucket policy that always denies non-TLS access.
"""
from __future__ import annotations

from typing import Optional, Sequence, TypedDict

import pulumi
import pulumi_aws as aws

from . import defaults
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
    """CloudFront standard-log bucket: BucketOwnerPreferred, as logs arrive by ACL grant; all else stays hardened."""


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
        args = args or {}
        child = pulumi.ResourceOptions(parent=self)
        self._name = name
        self.policy = None

        self.bucket = aws.s3.Bucket(name, force_destroy=args.get("force_destroy", False), opts=child)
        self.name = self.bucket.bucket
        self.arn = self.bucket.arn
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerPreferred" if args.get("log_delivery_acls")
                  else "BucketOwnerEnforced"}, opts=child)
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access", bucket=self.bucket.id,
            block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)

        kms_key = args.get("kms_key_arn")
        sse = ({"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key} if kms_key
               else {"sse_algorithm": "AES256"})
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse", bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": sse, "bucket_key_enabled": bool(kms_key)}],
            opts=child)

        versioned = args.get("versioning", True)
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning", bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled" if versioned else "Suspended"}, opts=child)

        rules = [{"id": "abort-incomplete-multipart-uploads", "status": "Enabled", "filter": {},
                  "abort_incomplete_multipart_upload": {
                      "days_after_initiation": defaults.ABORT_INCOMPLETE_MULTIPART_DAYS}}]
        if versioned:
            rules.append({"id": "expire-noncurrent-versions", "status": "Enabled", "filter": {},
                          "noncurrent_version_expiration": {"noncurrent_days": args.get(
                              "noncurrent_version_expiration_days", defaults.NONCURRENT_VERSION_EXPIRATION_DAYS)}})
        if args.get("expire_objects_after_days"):
            rules.append({"id": "expire-current-objects", "status": "Enabled", "filter": {},
                          "expiration": {"days": args["expire_objects_after_days"]}})
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=self.bucket.id, rules=rules,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]))

        if args.get("cors_rules"):
            aws.s3.BucketCorsConfiguration(f"{name}-cors", bucket=self.bucket.id,
                                           cors_rules=list(args["cors_rules"]), opts=child)
        if args.get("access_log_bucket") is not None:
            aws.s3.BucketLogging(f"{name}-access-logs", bucket=self.bucket.id,
                                 target_bucket=args["access_log_bucket"],
                                 target_prefix=args.get("access_log_prefix", f"s3/{name}/"), opts=child)
        if args.get("transfer_acceleration"):
            aws.s3.BucketAccelerateConfiguration(f"{name}-acceleration", bucket=self.bucket.id,
                                                 status="Enabled", opts=child)

        if not args.get("defer_policy"):
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
