"""SecureBucket defaults and guards."""
import pytest

from serverless_blueprints.args import ArgsError
from serverless_blueprints.secure_bucket import SecureBucket
from offline.harness import evaluate_program
from tests.conftest import statements_of


def test_bucket_is_private_owner_enforced_encrypted_and_versioned_by_default():
    stack = evaluate_program(lambda: SecureBucket("data"))
    block = stack.named("data-public-access").props
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                          "restrictPublicBuckets"))
    assert stack.named("data-ownership").props["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    assert stack.named("data-versioning").props["versioningConfiguration"]["status"] == "Enabled"
    assert stack.named("data-sse").props["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert stack.named("data").props["forceDestroy"] is False


def test_policy_denies_plain_http_and_waits_for_the_public_access_block():
    stack = evaluate_program(lambda: SecureBucket("data"))
    policy = stack.named("data-policy")
    deny = statements_of(policy)[0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert stack.named("data-public-access").urn in policy.dependencies


def test_kms_key_switches_to_sse_kms_with_bucket_keys():
    stack = evaluate_program(lambda: SecureBucket("data", {"kms_key_arn": "arn:aws:kms:eu-west-1:1:key/k"}))
    rule = stack.named("data-sse").props["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["bucketKeyEnabled"] is True


def test_deferred_policy_takes_the_callers_statements_once():
    holder = {}

    def program():
        bucket = SecureBucket("site", {"defer_policy": True})
        bucket.attach_policy([{"Sid": "Extra", "Effect": "Allow", "Principal": {"Service": "x.amazonaws.com"},
                               "Action": "s3:GetObject", "Resource": bucket.arn}])
        holder["bucket"] = bucket

    stack = evaluate_program(program)
    assert [s["Sid"] for s in statements_of(stack.named("site-policy"))] == ["DenyInsecureTransport", "Extra"]
    with pytest.raises(ValueError, match="already attached"):
        holder["bucket"].attach_policy([])


def test_log_buckets_expire_their_objects():
    stack = evaluate_program(lambda: SecureBucket("logs", {"expire_objects_after_days": 90}))
    rules = {r["id"]: r for r in stack.named("logs-lifecycle").props["rules"]}
    assert rules["expire-current-objects"]["expiration"] == {"days": 90}
    plain = evaluate_program(lambda: SecureBucket("data"))
    assert "expire-current-objects" not in {r["id"] for r in plain.named("data-lifecycle").props["rules"]}


def test_unknown_arg_is_rejected_with_the_allowed_ones():
    with pytest.raises(ArgsError, match=r"SecureBucket 'data': versioned: unknown arg \(did you mean 'versioning'\?\); "
                                        r"allowed: access_log_bucket, access_log_prefix"):
        evaluate_program(lambda: SecureBucket("data", {"versioned": False}))


def test_noncurrent_version_days_must_be_positive():
    with pytest.raises(ArgsError, match=r"noncurrent_version_expiration_days: 0 is out of range; allowed 1 to"):
        evaluate_program(lambda: SecureBucket("data", {"noncurrent_version_expiration_days": 0}))
