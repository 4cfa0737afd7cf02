"""GlobalTable under Pulumi mocks: the table, every replica's PITR / KMS / deletion protection, config."""
from __future__ import annotations

import pulumi_aws as aws
import pytest

import stack_config
from serverless_blueprints.blog_api import PUBLISHED_POSTS_INDEX
from serverless_blueprints.global_table import GlobalTable, is_region_name, table_key_statements
from offline.harness import evaluate_program

TABLE = "aws:dynamodb/table:Table"
KEY = "aws:kms/key:Key"
REPLICAS = ("us-east-1", "ap-southeast-2")


def build(args: dict, replicas=REPLICAS, name: str = "blog-table"):
    """One GlobalTable in eu-west-1 with a provider per replica region."""
    def program():
        providers = {region: aws.Provider(f"replica-{region}", region=region) for region in replicas}
        GlobalTable(name, {"replica_providers": providers, **args})
    return evaluate_program(program, region="eu-west-1")


@pytest.fixture(scope="module")
def hardened():
    """As prod runs it: two replicas, customer-managed keys, deletion protection, the posts index."""
    return build({"kms": "customer-managed", "deletion_protection": True,
                  "global_secondary_indexes": [PUBLISHED_POSTS_INDEX]})


@pytest.fixture(scope="module")
def managed():
    """Two replicas with the AWS managed key, no deletion protection."""
    return build({"kms": "aws-managed"})


@pytest.fixture(scope="module")
def bare():
    """No args: one region."""
    return build({}, replicas=())


def table(snapshot):
    (found,) = snapshot.of_type(TABLE)
    return found.props


def replicas(snapshot) -> dict[str, dict]:
    return {r["regionName"]: r for r in table(snapshot).get("replicas", [])}


# --- the table -------------------------------------------------------------------------------------

def test_keys_are_pk_and_sk_strings_as_the_functions_expect(bare):
    props = table(bare)
    assert (props["hashKey"], props["rangeKey"]) == ("pk", "sk")
    assert props["attributes"] == [{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}]


def test_table_is_on_demand(bare):
    assert table(bare)["billingMode"] == "PAY_PER_REQUEST"


def test_stream_carries_new_and_old_images(bare):
    props = table(bare)
    assert props["streamEnabled"] is True and props["streamViewType"] == "NEW_AND_OLD_IMAGES"


def test_table_has_point_in_time_recovery(bare):
    assert table(bare)["pointInTimeRecovery"] == {"enabled": True}


def test_deletion_protection_is_off_unless_asked(bare, hardened):
    assert table(bare)["deletionProtectionEnabled"] is False
    assert table(hardened)["deletionProtectionEnabled"] is True


def test_index_keys_are_declared_as_string_attributes(hardened):
    assert table(hardened)["attributes"] == [{"name": n, "type": "S"} for n in ("pk", "sk", "publishedFeed",
                                                                               "publishedAt")]


def test_published_posts_index_projects_what_the_listing_reads(hardened):
    (index,) = table(hardened)["globalSecondaryIndexes"]
    assert index == {"name": "published-posts", "hashKey": "publishedFeed", "rangeKey": "publishedAt",
                     "projectionType": "INCLUDE", "nonKeyAttributes": ["slug", "title", "summary", "tags", "status"]}


def test_published_posts_index_is_the_one_the_function_queries():
    from blog_api import posts
    assert PUBLISHED_POSTS_INDEX["name"] == posts.PUBLISHED_INDEX


def test_ttl_attribute_is_optional(bare):
    assert "ttl" not in table(bare)
    assert table(build({"ttl_attribute": "expiresAt"}, replicas=()))["ttl"] == {"attributeName": "expiresAt",
                                                                               "enabled": True}


def test_without_replica_providers_the_table_has_no_replicas(bare):
    assert not table(bare).get("replicas")


# --- every replica ---------------------------------------------------------------------------------

def test_a_replica_in_each_configured_region(hardened):
    assert list(replicas(hardened)) == list(REPLICAS)


@pytest.mark.parametrize("region", REPLICAS)
def test_every_replica_has_point_in_time_recovery(hardened, managed, region):
    assert replicas(hardened)[region]["pointInTimeRecovery"] is True
    assert replicas(managed)[region]["pointInTimeRecovery"] is True


@pytest.mark.parametrize("region", REPLICAS)
def test_every_replica_has_deletion_protection_when_the_table_does(hardened, managed, region):
    assert replicas(hardened)[region]["deletionProtectionEnabled"] is True
    assert replicas(managed)[region]["deletionProtectionEnabled"] is False


@pytest.mark.parametrize("region", REPLICAS)
def test_every_replica_is_encrypted_with_a_key_created_in_its_own_region(hardened, region):
    key = hardened.named(f"blog-table-key-{region}")
    assert replicas(hardened)[region]["kmsKeyArn"] == key.outputs["arn"]
    assert hardened.provider_of(key).props["region"] == region
    assert key.outputs["arn"].startswith(f"arn:aws:kms:{region}:")


def test_replicas_copy_the_tables_tags(hardened):
    assert all(r["propagateTags"] is True for r in replicas(hardened).values())


def test_home_table_is_encrypted_with_the_home_key(hardened):
    key = hardened.named("blog-table-key")
    assert table(hardened)["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key.outputs["arn"]}
    assert hardened.provider_of(key) is None  # the component's (home) provider


def test_customer_managed_keys_rotate_and_wait_30_days_before_deletion_when_protected(hardened):
    keys = hardened.of_type(KEY)
    assert len(keys) == 1 + len(REPLICAS)
    assert all(k.props["enableKeyRotation"] is True and k.props["deletionWindowInDays"] == 30 for k in keys)


def test_unprotected_customer_managed_keys_can_go_after_a_week():
    snapshot = build({"kms": "customer-managed"}, replicas=())
    assert [k.props["deletionWindowInDays"] for k in snapshot.of_type(KEY)] == [7]


def test_aws_managed_kms_encrypts_every_region_without_keys_of_our_own(managed):
    assert table(managed)["serverSideEncryption"] == {"enabled": True}
    assert all("kmsKeyArn" not in r for r in replicas(managed).values())
    assert not managed.of_type(KEY)


def test_aws_owned_encryption_is_dynamodbs_default():
    snapshot = build({"kms": "aws-owned"}, replicas=())
    assert table(snapshot)["serverSideEncryption"] == {"enabled": False}


def test_aws_managed_is_the_default(bare):
    assert table(bare)["serverSideEncryption"] == {"enabled": True}


# --- outputs and key statements --------------------------------------------------------------------

def test_key_statements_let_readers_use_the_home_key_through_dynamodb_only():
    captured = {}

    def program():
        table_ = GlobalTable("t", {"kms": "customer-managed"})
        captured["statements"] = table_key_statements(table_, ["kms:Decrypt"], sid="Key")
        captured["none"] = table_key_statements(GlobalTable("u", {"kms": "aws-managed"}), ["kms:Decrypt"], sid="K")
        table_.home_kms_key_arn.apply(lambda arn: captured.setdefault("arn", arn))
        captured["statements"][0]["Condition"]["StringEquals"]["kms:ViaService"].apply(
            lambda service: captured.setdefault("service", service))
    evaluate_program(program, region="eu-west-1")
    (statement,) = captured["statements"]
    assert statement["Action"] == ["kms:Decrypt"] and statement["Effect"] == "Allow"
    assert captured["service"] == "dynamodb.eu-west-1.amazonaws.com"
    assert captured["arn"].startswith("arn:aws:kms:eu-west-1:")
    assert captured["none"] == []


# --- guards ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    ({"kms": "my-own"}, "kms 'my-own' is not allowed; allowed: aws-owned, aws-managed, customer-managed"),
    ({"replica_providers": {"europe": None}}, "replica region 'europe' is not an AWS region name"),
    ({"replica_providers": {"us-east-1": None}}, "replica region us-east-1 needs its provider"),
    ({"global_secondary_indexes": [{"name": "i", "hash_key": "a"}, {"name": "i", "hash_key": "b"}]},
     "must be distinct"),
    ({"global_secondary_indexes": [{"name": "i", "hash_key": "a", "projection_type": "SOME"}]},
     "projection_type 'SOME'"),
    ({"global_secondary_indexes": [{"name": "i", "hash_key": "a", "projection_type": "INCLUDE"}]},
     "non_key_attributes go with projection_type INCLUDE"),
    ({"global_secondary_indexes": [{"name": "i", "hash_key": "a", "non_key_attributes": ["x"]}]},
     "non_key_attributes go with projection_type INCLUDE"),
])
def test_component_rejects_bad_args(args, message):
    with pytest.raises(ValueError, match=message):
        GlobalTable("blog-table", args)


@pytest.mark.parametrize("name, valid", [("us-east-1", True), ("ap-southeast-2", True), ("eu-central-2", True),
                                         ("il-central-1", True), ("us-gov-west-1", False), ("EU-WEST-1", False),
                                         ("eu-west", False), ("moon-1", False)])
def test_region_names_are_commercial_aws_regions(name, valid):
    assert is_region_name(name) is valid


# --- the real stacks -------------------------------------------------------------------------------

def test_prod_stack_replicates_to_two_regions(prod_stack):
    assert [r["regionName"] for r in prod_stack.named("blog-table").props["replicas"]] == ["us-east-1",
                                                                                          "ap-southeast-2"]


def test_prod_replicas_have_pitr_kms_and_deletion_protection(prod_stack):
    for replica in prod_stack.named("blog-table").props["replicas"]:
        key = prod_stack.named(f"blog-table-key-{replica['regionName']}")
        assert replica["pointInTimeRecovery"] is True and replica["deletionProtectionEnabled"] is True
        assert replica["kmsKeyArn"] == key.outputs["arn"]
        assert prod_stack.provider_of(key).props["region"] == replica["regionName"]


def test_dev_stack_has_no_replicas(dev_stack):
    props = dev_stack.named("blog-table").props
    assert not props.get("replicas")
    assert props["pointInTimeRecovery"] == {"enabled": True} and props["serverSideEncryption"] == {"enabled": True}


def test_replica_region_providers_carry_the_stack_default_tags(prod_stack):
    providers = {p.props["region"]: p for p in prod_stack.providers.values()}
    for region in ("us-east-1", "ap-southeast-2"):
        assert providers[region].props["defaultTags"]["tags"] == {
            "project": "serverless-blueprints", "stack": "prod", "environment": "prod"}


def test_prod_reuses_the_us_east_1_provider_for_that_replica(prod_stack):
    regions = [p.props.get("region") for p in prod_stack.providers.values()]
    assert regions.count("us-east-1") == 1


def test_stacks_export_home_and_replica_regions(dev_stack, prod_stack):
    assert prod_stack.exports["blog"]["homeRegion"] == "eu-west-1"
    assert prod_stack.exports["blog"]["replicaRegions"] == ["us-east-1", "ap-southeast-2"]
    assert dev_stack.exports["blog"]["replicaRegions"] == []


# --- config (blog.table) ---------------------------------------------------------------------------

def parse(table_section: dict, env: str = "dev", region: str = "eu-west-1") -> stack_config.StackSettings:
    return stack_config.parse({"environment": env, "blog": {"enabled": True, "email": {"identity": "b@example.com"},
                                                            "table": table_section}}, region)


def test_config_table_defaults_dev_to_one_region_and_the_aws_managed_key():
    settings = parse({})
    assert settings.blog.replica_regions(settings) == []
    assert settings.blog.table_args(settings) == {"kms": "aws-managed", "deletion_protection": False}


def test_config_table_defaults_prod_to_customer_managed_keys_and_protection():
    settings = parse({"replicaRegions": ["us-east-1", "ap-southeast-2"]}, env="prod")
    assert settings.blog.table_args(settings) == {"kms": "customer-managed", "deletion_protection": True}
    assert settings.blog.replica_regions(settings) == ["us-east-1", "ap-southeast-2"]


def test_config_requires_two_replicas_in_prod():
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.replicaRegions: prod needs at least 2 replica "
                                                       r"regions besides the home region, got \['us-east-1'\]"):
        parse({"replicaRegions": ["us-east-1"]}, env="prod")


def test_config_rejects_a_replica_in_the_home_region():
    settings = parse({"replicaRegions": ["eu-west-1"]})
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.replicaRegions: eu-west-1 is the home region"):
        settings.blog.table_args(settings)


def test_config_rejects_a_malformed_region_name():
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.replicaRegions: expected a list of AWS region "
                                                       r"names such as us-east-1, got \['Frankfurt'\]"):
        parse({"replicaRegions": ["Frankfurt"]})


def test_config_rejects_a_region_listed_twice():
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.replicaRegions: .* lists a region twice"):
        parse({"replicaRegions": ["us-east-1", "us-east-1"]})


def test_config_rejects_an_unknown_kms_choice():
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.kms: 'kms' is not allowed; allowed values: "
                                                       r"aws-owned, aws-managed, customer-managed"):
        parse({"kms": "kms"})
