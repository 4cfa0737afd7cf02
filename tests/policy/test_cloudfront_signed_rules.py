from policy import Resource
from policy.cloudfront_signed_rules import patterns_may_overlap
from policy.registry import rule_by_id
from policy.tokens import DISTRIBUTION

BUCKET_DOMAIN = "media-content-1a2b3c4.s3.eu-west-1.amazonaws.com"


def behavior(pattern=None, origin="content", **extra):
    b = {"targetOriginId": origin, "viewerProtocolPolicy": "redirect-to-https", "allowedMethods": ["GET", "HEAD"],
         "cachedMethods": ["GET", "HEAD"], **extra}
    if pattern:
        b["pathPattern"] = pattern
    return b


def signed(pattern, **extra):
    return behavior(pattern, trustedKeyGroups=["kg-1"], **extra)


def distribution(ordered, default=None, origins=None):
    return Resource(DISTRIBUTION, {
        "origins": origins or [{"originId": "content", "domainName": BUCKET_DOMAIN, "originAccessControlId": "oac"}],
        "defaultCacheBehavior": default or behavior(),
        "orderedCacheBehaviors": ordered}, name="cdn")


PAID_CONTENT_LAYOUT = distribution([signed("/premium/*"), behavior("/previews/*")])


def test_rules_are_registered():
    assert rule_by_id("SB-CF-020").resource_types == (DISTRIBUTION,)
    assert rule_by_id("SB-CF-021").resource_types == (DISTRIBUTION,)


# SB-CF-020 trusted key groups without trusted signers

def test_key_group_behavior_without_signers_passes(violations):
    assert violations("SB-CF-020", PAID_CONTENT_LAYOUT) == []


def test_key_group_behavior_with_trusted_signers_is_reported(violations):
    cdn = distribution([signed("/premium/*", trustedSigners=["self"])])
    assert violations("SB-CF-020", cdn) == [
        "behavior '/premium/*' trusts both key groups and trustedSigners (root-account keys would sign it too)"]


# SB-CF-021 no public twin of a premium behavior

def test_premium_first_then_public_paths_passes(violations):
    assert violations("SB-CF-021", PAID_CONTENT_LAYOUT) == []


def test_unsigned_wildcard_before_premium_is_reported(violations):
    cdn = distribution([behavior("*.mp4"), signed("/premium/*")])
    assert violations("SB-CF-021", cdn) == [
        "behavior '/premium/*' is signed, but the unsigned behavior '*.mp4' comes first and may match the same paths"]


def test_unsigned_subfolder_before_premium_is_reported(violations):
    cdn = distribution([behavior("/premium/free/*"), signed("/premium/*")])
    assert len(violations("SB-CF-021", cdn)) == 1


def test_unsigned_pattern_after_premium_passes(violations):
    # First match wins: /premium/* already took every path below it.
    assert violations("SB-CF-021", distribution([signed("/premium/*"), behavior("*.mp4")])) == []


def test_second_origin_onto_the_same_bucket_is_reported(violations):
    origins = [{"originId": "content", "domainName": BUCKET_DOMAIN, "originAccessControlId": "oac"},
               {"originId": "premium-alias", "domainName": BUCKET_DOMAIN, "originPath": "/premium",
                "originAccessControlId": "oac"}]
    cdn = distribution([signed("/premium/*"), behavior("/p/*", origin="premium-alias")], origins=origins)
    assert violations("SB-CF-021", cdn) == [
        "behavior '/premium/*' is signed, but the unsigned behavior '/p/*' reaches the same bucket through origin "
        "'premium-alias'"]


def test_overlap_is_conservative():
    assert patterns_may_overlap("/premium/*", "*")
    assert patterns_may_overlap("/premium/*", "/premium/a/*")
    assert not patterns_may_overlap("/premium/*", "/previews/*")
    assert not patterns_may_overlap("/premium/*", "/api/*")


def test_paid_content_distribution_passes_both_rules(violations):
    from tests.components.test_paid_content import build

    snapshot = build({})
    (cdn,) = snapshot.of_type(DISTRIBUTION)
    resource = Resource(DISTRIBUTION, cdn.props, name=cdn.name)
    assert violations("SB-CF-020", resource) == [] and violations("SB-CF-021", resource) == []
    assert violations("SB-CF-008", resource) == []
