import json

from policy import UNKNOWN, Resource
from policy.tokens import (BUCKET, BUCKET_LOGGING, BUCKET_OWNERSHIP_CONTROLS, BUCKET_POLICY,
                           BUCKET_PUBLIC_ACCESS_BLOCK, BUCKET_SSE, BUCKET_VERSIONING, DISTRIBUTION)

SSE = BUCKET_SSE[0]
VERSIONING = BUCKET_VERSIONING[0]
LOGGING = BUCKET_LOGGING[0]


def bucket(name="uploads"):
    physical = f"{name}-1a2b3c4"
    return Resource(BUCKET, {"bucket": physical, "id": physical, "arn": f"arn:aws:s3:::{physical}",
                             "bucketRegionalDomainName": f"{physical}.s3.eu-west-1.amazonaws.com"}, name=name)


def public_access_block(target, **flags):
    props = {"bucket": target.props["bucket"], "blockPublicAcls": True, "blockPublicPolicy": True,
             "ignorePublicAcls": True, "restrictPublicBuckets": True}
    props.update(flags)
    return Resource(BUCKET_PUBLIC_ACCESS_BLOCK, props, name=f"{target.name}-pab")


def ownership(target, value="BucketOwnerEnforced"):
    return Resource(BUCKET_OWNERSHIP_CONTROLS, {"bucket": target.props["bucket"], "rule": {"objectOwnership": value}},
                    name=f"{target.name}-ownership")


def encryption(target, algorithm="aws:kms"):
    rules = [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": algorithm}, "bucketKeyEnabled": True}]
    return Resource(SSE, {"bucket": target.props["bucket"], "rules": rules}, name=f"{target.name}-sse")


def tls_policy(target, deny=True):
    arn = target.props["arn"]
    statement = {"Sid": "TlsOnly", "Effect": "Deny" if deny else "Allow", "Principal": "*", "Action": "s3:*",
                 "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    return Resource(BUCKET_POLICY, {"bucket": target.props["bucket"], "policy": json.dumps({"Statement": [statement]})},
                    name=f"{target.name}-policy")


def versioning(target, status="Enabled"):
    return Resource(VERSIONING, {"bucket": target.props["bucket"], "versioningConfiguration": {"status": status}},
                    name=f"{target.name}-versioning")


def access_logging(target, into):
    return Resource(LOGGING, {"bucket": target.props["bucket"], "targetBucket": into.props["bucket"],
                              "targetPrefix": f"{target.name}/"}, name=f"{target.name}-logging")


# SB-S3-001 public access block

def test_bucket_with_full_public_access_block_passes(violations):
    b = bucket()
    assert violations("SB-S3-001", b, public_access_block(b)) == []


def test_bucket_without_public_access_block_is_reported(violations):
    assert violations("SB-S3-001", bucket()) == ["no public access block"]


def test_public_access_block_with_a_flag_off_is_reported(violations):
    b = bucket()
    assert violations("SB-S3-001", b, public_access_block(b, restrictPublicBuckets=False)) == [
        "public access block 'uploads-pab' leaves restrictPublicBuckets off"]


def test_block_linked_by_property_dependency_at_preview(violations):
    b = bucket()
    block = public_access_block(b, bucket=UNKNOWN)
    block.property_dependencies = {"bucket": [b]}
    assert violations("SB-S3-001", b, block) == []


def test_block_with_unknown_bucket_keeps_the_rule_silent(violations):
    b = bucket()
    assert violations("SB-S3-001", b, public_access_block(b, bucket=UNKNOWN)) == []


def test_block_for_another_bucket_does_not_count(violations):
    a, b = bucket("a"), bucket("b")
    assert violations("SB-S3-001", a, b, public_access_block(a)) == ["no public access block"]


# SB-S3-002 ownership

def test_bucket_owner_enforced_passes(violations):
    b = bucket()
    assert violations("SB-S3-002", b, ownership(b)) == []


def test_object_writer_ownership_is_reported(violations):
    b = bucket()
    assert violations("SB-S3-002", b, ownership(b, "ObjectWriter")) == ["object ownership is ObjectWriter, so ACLs stay enabled"]


def cloudfront_logging_to(target):
    return Resource(DISTRIBUTION, {"loggingConfig": {"bucket": f"{target.props['bucket']}.s3.amazonaws.com"}}, name="cdn")


def test_cloudfront_log_bucket_may_keep_acls(violations):
    logs = bucket("cdn-logs")
    assert violations("SB-S3-002", logs, ownership(logs, "BucketOwnerPreferred"), cloudfront_logging_to(logs)) == []


def test_cloudfront_log_bucket_with_acls_disabled_is_reported(violations):
    logs = bucket("cdn-logs")
    assert violations("SB-S3-002", logs, ownership(logs), cloudfront_logging_to(logs)) == [
        "CloudFront logs here with ACLs, but object ownership is BucketOwnerEnforced"]


# SB-S3-003 encryption

def test_bucket_with_default_encryption_passes(violations):
    b = bucket()
    assert violations("SB-S3-003", b, encryption(b)) == []


def test_bucket_without_encryption_configuration_is_reported(violations):
    assert violations("SB-S3-003", bucket()) == ["no server-side encryption configuration"]


def test_unknown_algorithm_is_not_reported(violations):
    b = bucket()
    assert violations("SB-S3-003", b, encryption(b, UNKNOWN)) == []


# SB-S3-004 TLS-only bucket policy

def test_bucket_with_tls_only_policy_passes(violations):
    b = bucket()
    assert violations("SB-S3-004", b, tls_policy(b)) == []


def test_bucket_without_policy_is_reported(violations):
    assert violations("SB-S3-004", bucket()) == ["no bucket policy denies non-TLS requests"]


def test_policy_allowing_instead_of_denying_is_reported(violations):
    b = bucket()
    assert violations("SB-S3-004", b, tls_policy(b, deny=False)) == ["no bucket policy denies non-TLS requests"]


def test_unknown_policy_document_is_not_reported(violations):
    b = bucket()
    policy = tls_policy(b)
    policy.props["policy"] = UNKNOWN
    assert violations("SB-S3-004", b, policy) == []


# SB-S3-005 versioning on data buckets

def test_versioned_data_bucket_passes(violations):
    b = bucket()
    assert violations("SB-S3-005", b, versioning(b)) == []


def test_unversioned_data_bucket_is_reported(violations):
    assert violations("SB-S3-005", bucket()) == ["no versioning configuration"]


def test_suspended_versioning_is_reported(violations):
    b = bucket()
    assert violations("SB-S3-005", b, versioning(b, "Suspended")) == ["versioning status is Suspended"]


def test_log_bucket_needs_no_versioning(violations):
    data, logs = bucket("data"), bucket("logs")
    assert violations("SB-S3-005", data, versioning(data), logs, access_logging(data, logs)) == []


# SB-S3-006 access logging (advisory)

def test_data_bucket_with_access_logging_passes(violations):
    data, logs = bucket("data"), bucket("logs")
    assert violations("SB-S3-006", data, logs, access_logging(data, logs)) == []


def test_data_bucket_without_access_logging_is_advisory():
    from policy import evaluate
    report = evaluate([bucket()], "prod", rules=["SB-S3-006"])
    assert [(f.level, f.message) for f in report.findings] == [("advisory", "no server access logging")]
