"""PaidContent under Pulumi mocks: OAC only, signed premium behaviour, least-privilege IAM, encrypted secret,
and key rotation as a sequence of config changes."""
import json
from contextlib import contextmanager

import pulumi_aws as aws
import pytest

from offline.harness import evaluate_program
from serverless_blueprints import paid_content, testing
from serverless_blueprints.args import ArgsError
from serverless_blueprints.paid_content import (
    DEFAULTS,
    ROTATION_MARGIN_SECONDS,
    SIGNING_KEYS_DEFAULTS,
    PaidContent,
    check_grace,
    resolve_args,
)
from tests.components import canary_wiring
from tests.conftest import statements_of

POOL = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_abc123def"
ZONE = "Z0123456789EXAMPLE"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
INVOCATION = "aws:lambda/invocation:Invocation"
KEY_GROUP = "aws:cloudfront/keyGroup:KeyGroup"
VERSIONS_TOKEN = "aws:secretsmanager/getSecretVersions:getSecretVersions"
ACTIVATED_AT = 1_800_000_000
GRACE = 3600 + 300 + ROTATION_MARGIN_SECONDS  # max URL life + key cache + margin, with the defaults


def invocation_result(inputs: dict) -> str:
    """What the keys function returns: public data only (a canary's release answers with its deployment)."""
    step = json.loads(inputs["input"])
    if "step" not in step:
        return json.dumps({"deploymentId": "d-TWIN12345"})
    if step["step"] == "create_key":
        return json.dumps({"keyId": f"KGEN{step['generation']}", "generation": step["generation"]})
    return json.dumps({"generation": step["generation"], "activated": True, "activatedAt": ACTIVATED_AT})


@contextmanager
def aws_answers(activations: dict[int, int], now: float):
    """Invocations answer like the keys function; the secret's versions carry activation labels."""
    calls: list[dict] = []
    original = testing.BlueprintMocks.new_resource

    def new_resource(self, args):
        resource_id, outputs = original(self, args)
        if args.typ == INVOCATION:
            outputs = {**outputs, "result": invocation_result(args.inputs)}
        return resource_id, outputs

    def versions(token, args, region):
        if token != VERSIONS_TOKEN:
            return None
        calls.append(args)
        return {"arn": args["secretId"], "id": args["secretId"], "name": "signing-key", "secretId": args["secretId"],
                "versions": [{"versionId": f"v{g}", "versionStages": [f"generation-{g}", f"activated-at-{t}"],
                              "createdTime": "", "lastAccessedDate": ""} for g, t in activations.items()]}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(testing.BlueprintMocks, "new_resource", new_resource)
        patch.setattr(testing, "EXTRA_CALLS", [versions])
        patch.setattr(paid_content, "_now", lambda: now)
        yield calls


def build(args: dict, *, activations=None, now: float = ACTIVATED_AT, name: str = "media", with_east=False):
    with aws_answers(activations or {}, now) as calls:
        def program():
            extra = {"us_east_1_provider": aws.Provider("us-east-1", region="us-east-1")} if with_east else {}
            PaidContent(name, {"cognito_user_pool_arn": POOL, **extra, **args})
        snapshot = evaluate_program(program, region="eu-west-1")
    snapshot.version_reads = calls
    return snapshot


@pytest.fixture(scope="module")
def media():
    return build({})


@pytest.fixture(scope="module")
def prod():
    return build({"custom_domain": {"domain_name": "media.example.com", "hosted_zone_id": ZONE},
                  "waf": {"rate_limit": 500}, "content_kms_encryption": True, "deletion_protection": True},
                 with_east=True)


def distribution(snapshot) -> dict:
    (found,) = snapshot.of_type(DISTRIBUTION)
    return found.props


def behaviours(snapshot) -> dict[str, dict]:
    props = distribution(snapshot)
    return {"default": props["defaultCacheBehavior"],
            **{b["pathPattern"]: b for b in props["orderedCacheBehaviors"]}}


def role_statements(snapshot, function: str) -> list[dict]:
    return statements_of(snapshot.named(f"{function}-policy"))


def key_group_items(snapshot) -> list[str]:
    (group,) = snapshot.of_type(KEY_GROUP)
    return group.props["items"]


# --- the edge --------------------------------------------------------------------------------------

def test_bucket_is_reached_only_through_origin_access_control(media):
    (origin,) = distribution(media)["origins"]
    assert origin["originAccessControlId"] and "s3OriginConfig" not in origin
    assert origin["domainName"].endswith(".s3.eu-west-1.amazonaws.com")
    (oac,) = media.of_type("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert (oac.props["signingBehavior"], oac.props["signingProtocol"]) == ("always", "sigv4")
    assert not media.of_type("aws:cloudfront/originAccessIdentity:OriginAccessIdentity")


def test_bucket_policy_admits_only_this_distribution(media):
    statements = statements_of(media.named("media-content-policy"))
    allows = [s for s in statements if s["Effect"] == "Allow"]
    (reads,) = allows
    assert reads["Principal"] == {"Service": "cloudfront.amazonaws.com"} and reads["Action"] == "s3:GetObject"
    assert reads["Condition"] == {"StringEquals": {"AWS:SourceArn": media.named("media-cdn").outputs["arn"]}}


def test_premium_behaviour_needs_the_key_group_and_public_ones_do_not(media):
    by_pattern = behaviours(media)
    assert set(by_pattern) == {"default", "/premium/*", "/previews/*"}
    assert by_pattern["/premium/*"]["trustedKeyGroups"] == [media.named("media-key-group").outputs["id"]]
    assert "trustedKeyGroups" not in by_pattern["/previews/*"] and "trustedKeyGroups" not in by_pattern["default"]


def test_no_behaviour_uses_trusted_signers(media):
    assert all("trustedSigners" not in b for b in behaviours(media).values())


def test_public_behaviours_run_the_guard_and_the_premium_one_does_not(media):
    guard = media.named("media-public-guard")
    assert "'/premium/'" in guard.props["code"] and "'%'" in guard.props["code"]
    by_pattern = behaviours(media)
    for pattern in ("default", "/previews/*"):
        assert by_pattern[pattern]["functionAssociations"] == [
            {"eventType": "viewer-request", "functionArn": guard.outputs["arn"]}]
    assert "functionAssociations" not in by_pattern["/premium/*"]


def test_https_only_with_security_headers_and_logs(media):
    props = distribution(media)
    assert all(b["viewerProtocolPolicy"] == "redirect-to-https" for b in behaviours(media).values())
    headers = media.named("media-security-headers")
    assert headers.props["securityHeadersConfig"]["strictTransportSecurity"]["override"] is True
    assert all(b["responseHeadersPolicyId"] == headers.outputs["id"] for b in behaviours(media).values())
    assert props["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}


def test_cloudfront_logs_go_to_an_acl_free_bucket_through_standard_logging_v2(media, prod):
    """Legacy logging needs bucket ACLs (SB-HARD-004): CloudWatch Logs delivers instead, from us-east-1."""
    for snapshot in (media, prod):
        assert "loggingConfig" not in distribution(snapshot)
        assert snapshot.named("media-logs-ownership").props["rule"]["objectOwnership"] == "BucketOwnerEnforced"
        source, delivery = snapshot.named("media-access-logs-source"), snapshot.named("media-access-logs")
        assert source.props["logType"] == "ACCESS_LOGS"
        assert source.props["resourceArn"] == snapshot.of_type(DISTRIBUTION)[0].outputs["arn"]
        assert snapshot.named("media-access-logs-s3").props["deliveryDestinationConfiguration"] == {
            "destinationResourceArn": snapshot.named("media-logs").outputs["arn"]}
        assert "cs(Cookie)" not in delivery.props["recordFields"]
        assert snapshot.named("media-logs-policy").urn in delivery.dependencies
        for resource in (source, delivery):  # the us-east-1 provider's region, or the resource's own
            assert resource.props.get("region", resource.region) == "us-east-1", resource.name
    write = {s.get("Sid"): s for s in statements_of(media.named("media-logs-policy"))}["LogDeliveryWrite"]
    assert write["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert write["Condition"]["ArnLike"] == {"aws:SourceArn": ["arn:aws:logs:us-east-1:123456789012:delivery-source:*"]}


def test_custom_domain_and_waf_in_us_east_1(prod):
    props = distribution(prod)
    assert props["aliases"] == ["media.example.com"]
    assert props["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    (acl,) = prod.of_type("aws:wafv2/webAcl:WebAcl")
    assert props["webAclId"] == acl.outputs["arn"] and acl.region == "us-east-1"
    assert prod.named("media-cert").region == "us-east-1"
    assert {r.props["type"] for r in prod.of_type("aws:route53/record:Record") if r.name.startswith("media-alias")} \
        == {"A", "AAAA"}


def test_signer_signs_for_the_custom_domain(prod, media):
    assert prod.named("media-signer-fn").props["environment"]["variables"]["CONTENT_DOMAIN"] == "media.example.com"
    assert media.named("media-signer-fn").props["environment"]["variables"]["CONTENT_DOMAIN"] == \
        media.named("media-cdn").outputs["domainName"]


def test_content_kms_key_lets_only_this_distribution_decrypt(prod):
    (sse,) = [r for r in prod.of_type("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
              if r.name == "media-content-sse"]
    key = prod.named("media-content-cmk")
    rule = sse.props["rules"][0]["applyServerSideEncryptionByDefault"]
    assert (rule["sseAlgorithm"], rule["kmsMasterKeyId"]) == ("aws:kms", key.outputs["arn"])
    statements = {s["Sid"]: s for s in statements_of(prod.named("media-content-cmk-policy"))}
    decrypt = statements["ThisDistributionDecrypts"]
    assert decrypt["Principal"] == {"Service": "cloudfront.amazonaws.com"} and decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"] == {"StringEquals": {"AWS:SourceArn": prod.named("media-cdn").outputs["arn"]}}
    assert "kms:Decrypt" not in statements["AccountAdministersTheKey"]["Action"]
    assert statements["AccountUploadsThroughS3"]["Condition"]["StringEquals"]["kms:ViaService"] == \
        "s3.eu-west-1.amazonaws.com"


# --- secret, table and IAM -------------------------------------------------------------------------

def test_signing_secret_is_encrypted_with_its_own_key(media):
    secret, key = media.named("media-signing-key"), media.named("media-signing-key-cmk")
    assert secret.props["kmsKeyId"] == key.outputs["arn"] and key.props["enableKeyRotation"] is True
    assert not media.of_type("aws:secretsmanager/secretVersion:SecretVersion")  # no value through Pulumi
    statements = {s["Sid"]: s for s in statements_of(media.named("media-signing-key-cmk-policy"))}
    assert statements["SignerDecryptsItsSecret"]["Principal"] == {"AWS": media.named("media-signer-role").outputs["arn"]}
    assert statements["SignerDecryptsItsSecret"]["Action"] == "kms:Decrypt"
    assert statements["KeysFunctionEncryptsItsSecret"]["Action"] == "kms:GenerateDataKey"
    assert statements["SignerDecryptsItsSecret"]["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == \
        secret.outputs["arn"]
    assert not {"kms:Decrypt", "kms:*"} & set(statements["AccountAdministersTheKey"]["Action"])


def test_no_private_key_reaches_pulumi(media):
    for resource in media.resources:
        text = json.dumps([resource.props, resource.outputs], default=str)
        assert "PRIVATE KEY" not in text and "-----BEGIN" not in text


def test_premium_table_is_keyed_by_sub_with_pitr_and_encryption(media, prod):
    table = media.named("media-premium-users")
    assert table.props["hashKey"] == "sub" and table.props["attributes"] == [{"name": "sub", "type": "S"}]
    assert table.props["pointInTimeRecovery"] == {"enabled": True}
    assert table.props["serverSideEncryption"] == {"enabled": True}
    assert table.props["deletionProtectionEnabled"] is False
    assert prod.named("media-premium-users").props["deletionProtectionEnabled"] is True


def _actions(statements: list[dict]) -> dict[str, list]:
    return {action: s["Resource"] for s in statements for action in (s["Action"] if isinstance(s["Action"], list)
                                                                     else [s["Action"]])}


def test_signer_reads_only_its_secret_and_the_premium_table(media):
    actions = _actions(role_statements(media, "media-signer"))
    own = {a for a in actions if not a.startswith(("logs:", "xray:"))}
    assert own == {"secretsmanager:GetSecretValue", "kms:Decrypt", "dynamodb:GetItem"}
    assert actions["secretsmanager:GetSecretValue"] == [media.named("media-signing-key").outputs["arn"]]
    assert actions["dynamodb:GetItem"] == [media.named("media-premium-users").outputs["arn"]]
    assert actions["kms:Decrypt"] == [media.named("media-signing-key-cmk").outputs["arn"]]


def test_registration_writes_only_the_premium_table(media):
    actions = _actions(role_statements(media, "media-registration"))
    own = {a for a in actions if not a.startswith(("logs:", "xray:"))}
    assert own == {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert all(actions[a] == [media.named("media-premium-users").outputs["arn"]] for a in own)


def test_keys_function_writes_but_never_reads_the_secret(media):
    actions = _actions(role_statements(media, "media-keys"))
    assert "secretsmanager:GetSecretValue" not in actions and "kms:Decrypt" not in actions
    assert actions["secretsmanager:PutSecretValue"] == [media.named("media-signing-key").outputs["arn"]]


def test_both_apis_use_the_cognito_authorizer(media):
    authorizers = media.of_type("aws:apigateway/authorizer:Authorizer")
    assert {a.name for a in authorizers} == {"media-signer-api-cognito", "media-registration-api-cognito"}
    assert all(a.props["providerArns"] == [POOL] for a in authorizers)
    admins = media.named("media-admins")
    assert admins.props["name"] == "premium-admins" and admins.props["userPoolId"] == "eu-west-1_abc123def"


# --- rotation as config changes ----------------------------------------------------------------------

def keys(**given) -> dict:
    return {"signing_keys": given}


def test_generation_one_trusts_one_key_and_activates_it(media):
    assert key_group_items(media) == ["KGEN1"]
    activation = media.named("media-activate-g1")
    assert json.loads(activation.props["input"])["step"] == "activate"
    assert {media.named("media-key-group").urn, media.named("media-cdn").urn} <= set(activation.dependencies)
    assert media.named("media-key-g1").props["lifecycleScope"] == "CRUD"
    assert media.version_reads == []  # nothing dropped, nothing to check


def test_rotation_adds_the_new_key_keeps_the_previous_and_switches_the_signer():
    rotated = build(keys(generation=2))
    assert key_group_items(rotated) == ["KGEN2", "KGEN1"]
    assert {r.name for r in rotated.of_type(INVOCATION)} == {"media-key-g1", "media-key-g2", "media-activate-g2"}
    activation = rotated.named("media-activate-g2")
    assert rotated.named("media-key-group").urn in activation.dependencies
    assert json.loads(activation.props["input"])["generation"] == 2


def test_retiring_before_the_grace_period_is_refused():
    with pytest.raises(Exception, match="may still have live links until"):
        build(keys(generation=2, retire_previous=True), activations={2: ACTIVATED_AT}, now=ACTIVATED_AT + GRACE - 1)


def test_retiring_before_the_new_generation_was_activated_is_refused():
    with pytest.raises(Exception, match="has not been activated yet"):
        build(keys(generation=2, retire_previous=True), activations={1: ACTIVATED_AT})


def test_retiring_after_the_grace_period_drops_the_previous_key():
    retired = build(keys(generation=2, retire_previous=True), activations={2: ACTIVATED_AT},
                    now=ACTIVATED_AT + GRACE)
    assert key_group_items(retired) == ["KGEN2"]
    assert "media-key-g1" not in {r.name for r in retired.of_type(INVOCATION)}
    assert len(retired.version_reads) == 1 and "versionStages" not in json.dumps(retired.version_reads)


def test_the_next_rotation_waits_for_the_grace_of_the_one_before():
    with pytest.raises(Exception, match="generation 1's key may still have live links"):
        build(keys(generation=3), activations={2: ACTIVATED_AT}, now=ACTIVATED_AT + 60)
    third = build(keys(generation=3), activations={2: ACTIVATED_AT}, now=ACTIVATED_AT + GRACE)
    assert key_group_items(third) == ["KGEN3", "KGEN2"]


def test_a_compromise_drops_keys_at_once():
    revoked = build(keys(generation=3, retire_previous=True, break_live_links=True))
    assert key_group_items(revoked) == ["KGEN3"] and revoked.version_reads == []


def test_grace_period_grows_with_the_url_life():
    with pytest.raises(Exception, match="grace 87600 s"):
        build({**keys(generation=2, retire_previous=True), "max_url_ttl_seconds": 86400},
              activations={2: ACTIVATED_AT}, now=ACTIVATED_AT + GRACE)


def test_an_unrelated_change_replaces_no_key(media):
    changed = build({"price_class": "PriceClass_All", "cookie_same_site": "Lax"})
    for name in ("media-key-g1", "media-activate-g1"):
        assert changed.named(name).props == media.named(name).props
    assert key_group_items(changed) == key_group_items(media)
    assert changed.named("media-signing-key").props == media.named("media-signing-key").props


def test_check_grace_ignores_versions_of_other_generations():
    s = resolve_args("m", {"cognito_user_pool_arn": POOL, **keys(generation=2, retire_previous=True)})
    versions = [{"versionStages": ["generation-1", "activated-at-1"]},
                {"versionStages": ["generation-2", "AWSCURRENT", f"activated-at-{ACTIVATED_AT}"]}]
    check_grace("m", s.keys, versions, 100, ACTIVATED_AT + 100)
    with pytest.raises(ArgsError):
        check_grace("m", s.keys, versions, 100, ACTIVATED_AT + 99)


# --- args ---------------------------------------------------------------------------------------------

def test_defaults():
    s = resolve_args("m", {"cognito_user_pool_arn": POOL})
    assert (s.premium_path, s.preview_prefix, s.max_url_ttl_seconds, s.default_url_ttl_seconds) == (
        "/premium/", "previews", 3600, 300)
    assert (s.keys.generation, s.keys.retire_previous, s.keys.cache_seconds, s.keys.propagation_seconds) == (
        1, False, 300, 180)
    assert (s.admin_group, s.cookie_same_site, s.content_kms_encryption, s.deletion_protection) == (
        "premium-admins", "Strict", False, False)
    assert s.custom_domain is None and s.waf_rate_limit is None and s.grace_seconds == GRACE
    assert s.email is None  # the created pool keeps Cognito's built-in email unless you give an SES identity
    assert set(SIGNING_KEYS_DEFAULTS) == {"generation", "retire_previous", "break_live_links", "propagation_seconds",
                                          "cache_seconds"}
    assert DEFAULTS["price_class"] == "PriceClass_100"


@pytest.mark.parametrize("args,path", [
    ({"premium_prefix": "Premium"}, ("premium_prefix",)),
    ({"preview_prefix": "premium"}, ("preview_prefix",)),
    ({"default_url_ttl_seconds": 7200}, ("default_url_ttl_seconds",)),
    ({"max_url_ttl_seconds": 30}, ("max_url_ttl_seconds",)),
    ({"signing_keys": {"retire_previous": True}}, ("signing_keys", "retire_previous")),
    ({"signing_keys": {"generation": 0}}, ("signing_keys", "generation")),
    ({"signing_keys": {"rotate": True}}, ("signing_keys", "rotate")),
    ({"waf": {}}, ("us_east_1_provider",)),
    ({"cookie_same_site": "strict"}, ("cookie_same_site",)),
    ({"premium": True}, ("premium",)),
])
def test_bad_args_name_the_arg(args, path):
    with pytest.raises(ArgsError) as error:
        resolve_args("m", {"cognito_user_pool_arn": POOL, **args})
    assert error.value.path == path


def test_a_user_pool_arn_must_be_one():
    with pytest.raises(ArgsError) as error:
        resolve_args("m", {"cognito_user_pool_arn": "eu-west-1_abc"})
    assert error.value.path == ("cognito_user_pool_arn",)


def test_without_a_pool_it_creates_a_hardened_one_for_both_apis():
    def program():
        PaidContent("media")
    with aws_answers({}, ACTIVATED_AT):
        snapshot = evaluate_program(program, region="eu-west-1")
    pool = snapshot.named("media-users")
    assert pool.props["passwordPolicy"]["minimumLength"] >= 8
    assert snapshot.named("media-app").props["generateSecret"] is False
    authorizers = snapshot.of_type("aws:apigateway/authorizer:Authorizer")
    assert len(authorizers) == 2 and all(a.props["providerArns"] == [pool.outputs["arn"]] for a in authorizers)
    assert snapshot.named("media-admins").props["userPoolId"] == pool.outputs["id"]
    assert "emailConfiguration" not in pool.props  # Cognito's built-in email unless `email` is given


SES_EMAIL = {"source_arn": "arn:aws:ses:eu-west-1:123456789012:identity/mycompany.io",
             "from_address": "Media <no-reply@mycompany.io>"}


def test_its_own_pool_sends_through_the_given_ses_identity():
    def program():
        PaidContent("media", {"email": SES_EMAIL})
    with aws_answers({}, ACTIVATED_AT):
        snapshot = evaluate_program(program, region="eu-west-1")
    config = snapshot.named("media-users").props["emailConfiguration"]
    assert (config["emailSendingAccount"], config["sourceArn"], config["fromEmailAddress"]) == (
        "DEVELOPER", SES_EMAIL["source_arn"], SES_EMAIL["from_address"])


def test_email_with_the_callers_pool_is_refused():
    with pytest.raises(ArgsError) as error:
        resolve_args("m", {"cognito_user_pool_arn": POOL, "email": SES_EMAIL})
    assert error.value.path == ("email",) and "applies only to the user pool PaidContent creates" in str(error.value)


def test_an_email_from_another_identity_names_the_arg():
    with pytest.raises(ArgsError) as error:
        resolve_args("m", {"email": {**SES_EMAIL, "from_address": "no-reply@other.io"}})
    assert error.value.path == ("email", "from_address")


def test_analyzer_infers_the_args_as_inputs_and_the_outputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([PaidContent])
    definition = result["component_definitions"]["PaidContent"]
    assert all(prop.optional for prop in definition.inputs.values())  # correct and safe with no args
    assert definition.inputs["signingKeys"].ref.endswith(":index:SigningKeysArgs")
    assert set(result["type_definitions"]["SigningKeysArgs"].properties) == {
        "generation", "retirePrevious", "breakLiveLinks", "propagationSeconds", "cacheSeconds"}
    assert {"signerUrl", "registrationUrl", "keyGroupId", "signingSecretArn", "distributionDomain",
            "contentDomain", "keyGeneration", "userPoolId", "userPoolClientId"} <= set(definition.outputs)


# --- canary ----------------------------------------------------------------------------------------
def test_with_a_canary_both_apps_invoke_live_released_by_codedeploy():
    topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
    east = "arn:aws:sns:us-east-1:123456789012:alarms"
    stack = build({"canary": canary_wiring.ALL_AT_ONCE, "alarms": {"topic_arn": topic, "us_east_1_topic_arn": east}},
                  with_east=True)
    canary_wiring.assert_released_through_live(stack, ["media-signer", "media-registration"], topic)
    # The deploy-time keys function has no caller a canary could protect.
    assert {a.name for a in stack.of_type(canary_wiring.ALIAS)} == {"media-signer-canary-live",
                                                                     "media-registration-canary-live"}


def test_without_a_canary_the_functions_are_invoked_unqualified(media):
    canary_wiring.assert_no_canary(media)


def test_a_canary_with_an_unknown_key_is_rejected_naming_it():
    with pytest.raises(ArgsError, match=canary_wiring.UNKNOWN_KEY_ERROR):
        resolve_args("m", {"cognito_user_pool_arn": POOL, "canary": canary_wiring.UNKNOWN_KEY})
