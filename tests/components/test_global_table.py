"""GlobalTable under Pulumi mocks: the table, every replica's PITR / KMS / deletion protection, config."""
import pulumi_aws as aws
import pytest

import stack_config
from serverless_blueprints.blog_api import PUBLISHED_POSTS_INDEX
from serverless_blueprints.args import ArgsError
from serverless_blueprints.global_table import GlobalTable, is_region_name, resolve_args, table_key_statements
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
    import blog_posts
    assert PUBLISHED_POSTS_INDEX["name"] == blog_posts.PUBLISHED_INDEX


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


def key_policy(snapshot, name):
    import json
    return {s["Sid"]: s for s in json.loads(snapshot.named(name).props["policy"])["Statement"]}


@pytest.mark.parametrize("name, region", [("blog-table-key", "eu-west-1"),
                                          *((f"blog-table-key-{r}", r) for r in REPLICAS)])
def test_every_key_has_an_explicit_least_privilege_policy(hardened, name, region):
    policy = key_policy(hardened, name)
    assert set(policy) == {"AccountAdministersTheKey", "UseThroughDynamoDb", "DynamoDbDescribesTheKey"}
    admin = policy["AccountAdministersTheKey"]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    # The account administers the key but gets no blanket use of it.
    assert not {"kms:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"} & set(admin["Action"])
    use = policy["UseThroughDynamoDb"]
    assert use["Condition"]["StringEquals"] == {"kms:CallerAccount": "123456789012",
                                                "kms:ViaService": f"dynamodb.{region}.amazonaws.com"}
    assert {"kms:Decrypt", "kms:CreateGrant", "kms:GenerateDataKey*"} <= set(use["Action"])
    assert policy["DynamoDbDescribesTheKey"]["Principal"] == {"Service": "dynamodb.amazonaws.com"}


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
        captured["statements"] = table_key_statements(table_.home_kms_key_arn, table_.home_region, ["kms:Decrypt"],
                                                      sid="Key")
        other = GlobalTable("u", {"kms": "aws-managed"})
        captured["none"] = table_key_statements(other.home_kms_key_arn, other.home_region, ["kms:Decrypt"], sid="K")
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

PROVIDER = object()  # resolve_args only needs one to be there


@pytest.mark.parametrize("args, message", [
    ({"kms": "my-own"}, "kms: 'my-own' is not allowed; allowed values: aws-owned, aws-managed, customer-managed"),
    ({"replica_providers": {"europe": PROVIDER}}, r"replica_regions: expected a list of AWS region names such as "
                                                  r"us-east-1 .*got \['europe'\]"),
    ({"replica_providers": {"us-east-1": None}}, "replica_providers: replica region us-east-1 needs its provider"),
    ({"replica_regions": ["us-east-1"]}, "replica_providers: replica region us-east-1 needs its provider"),
    ({"replica_regions": ["us-east-1"], "replica_providers": {"us-east-1": PROVIDER, "us-west-2": PROVIDER}},
     r"replica_providers: 'us-west-2' has a provider but is not in replica_regions"),
    ({"replica_regions": ["us-east-1", "us-east-1"], "replica_providers": {"us-east-1": PROVIDER}},
     r"replica_regions: \['us-east-1', 'us-east-1'\] lists a region twice"),
    ({"replica_regions": ["eu-west-1"], "replica_providers": {"eu-west-1": PROVIDER}, "home_region": "eu-west-1"},
     "replica_regions: eu-west-1 is the home region"),
    ({"min_replica_regions": 2, "replica_providers": {"us-east-1": PROVIDER}},
     r"replica_regions: needs at least 2 replica regions besides the home region \(min_replica_regions\), got "
     r"\['us-east-1'\]"),
    ({"replica_providers": "us-east-1"}, "replica_providers: expected a mapping of region -> aws provider"),
    ({"global_secondary_indexes": [{"name": "idx", "hash_key": "a"}, {"name": "idx", "hash_key": "b"}]},
     "must be distinct"),
    ({"global_secondary_indexes": [{"name": "idx", "hash_key": "a", "projection_type": "SOME"}]},
     r"global_secondary_indexes.0.projection_type: 'SOME' is not allowed"),
    ({"global_secondary_indexes": [{"name": "idx", "hash_key": "a", "projection_type": "INCLUDE"}]},
     "non_key_attributes go with projection_type INCLUDE"),
    ({"global_secondary_indexes": [{"name": "idx", "hash_key": "a", "non_key_attributes": ["x"]}]},
     "non_key_attributes go with projection_type INCLUDE"),
    ({"global_secondary_indexes": [{"name": "idx"}]}, "global_secondary_indexes.0.hash_key: required"),
    ({"global_secondary_indexes": [{"name": "idx", "hashKey": "a"}]},
     r"global_secondary_indexes.0.hashKey: unknown arg \(did you mean 'hash_key'\?\)"),
    ({"hash_key": ""}, "hash_key: expected an attribute name"),
    ({"deletion_protection": "yes"}, "deletion_protection: expected true or false"),
])
def test_component_rejects_bad_args(args, message):
    with pytest.raises(ArgsError, match=message):
        GlobalTable("blog-table", args)


def test_component_rejects_an_unknown_arg_suggesting_the_right_one():
    with pytest.raises(ArgsError, match=r"GlobalTable 'blog-table': replicaRegions: unknown arg \(did you mean "
                                        r"'replica_regions'\?\)"):
        resolve_args("blog-table", {"replicaRegions": ["us-east-1"]})


def test_replica_regions_default_to_the_providers_in_their_order():
    resolved = resolve_args("t", {"replica_providers": {"us-east-1": PROVIDER, "ap-southeast-2": PROVIDER}})
    assert resolved.replica_regions == ("us-east-1", "ap-southeast-2")


def test_a_hash_only_table_says_so_with_range_key_none():
    assert resolve_args("t", {"range_key": None}).range_key is None
    assert resolve_args("t", {}).range_key == "sk"


def test_analyzer_accepts_the_component():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([GlobalTable])
    component = result["component_definitions"]["GlobalTable"]
    assert all(value.optional for value in component.inputs.values())  # safe with no args at all
    assert set(component.inputs) == {"hashKey", "rangeKey", "globalSecondaryIndexes", "replicaRegions",
                                     "replicaProviders", "minReplicaRegions", "homeRegion", "kms",
                                     "deletionProtection", "ttlAttribute", "alarms"}
    assert component.inputs["replicaProviders"].additional_properties.ref.endswith("pulumi:providers:aws")
    assert set(component.outputs) == {"name", "arn", "streamArn", "homeRegion", "replicaRegions", "homeKmsKeyArn",
                                      "dashboardName"}
    assert component.outputs["homeKmsKeyArn"].optional and not component.outputs["arn"].optional
    index = result["type_definitions"]["GlobalTableIndex"]
    assert {key for key, value in index.properties.items() if not value.optional} == {"name", "hashKey"}


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
    return stack_config.parse({"environment": env, "blog": {"enabled": True, "site": {"contentDir": "site"},
                                                            "email": {"identity": "b@example.com"},
                                                            "table": table_section}}, region)


def test_config_table_is_the_components_args_plus_the_stacks_region_and_protection():
    assert parse({}).blog["table"] == {"home_region": "eu-west-1", "deletion_protection": False}
    args = parse({"replicaRegions": ["us-east-1", "ap-southeast-2"], "minReplicaRegions": 2,
                  "kms": "customer-managed"}, env="prod").blog["table"]
    assert args == {"replica_regions": ["us-east-1", "ap-southeast-2"], "min_replica_regions": 2,
                    "kms": "customer-managed", "home_region": "eu-west-1", "deletion_protection": True}


def test_prod_yaml_asks_for_two_replicas_and_customer_managed_keys():
    from offline.harness import read_stack_config

    table = read_stack_config("prod")["serverless-blueprints:blog"]["table"]
    assert (table["minReplicaRegions"], table["kms"]) == (2, "customer-managed")
    assert read_stack_config("dev")["serverless-blueprints:blog"]["table"]["kms"] == "aws-managed"


def test_config_requires_the_minimum_of_replicas():
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.replicaRegions: needs at least 2 replica "
                                                       r"regions besides the home region \(minReplicaRegions\), got "
                                                       r"\['us-east-1'\]"):
        parse({"replicaRegions": ["us-east-1"], "minReplicaRegions": 2}, env="prod")


def test_config_rejects_a_replica_in_the_home_region():
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.replicaRegions: eu-west-1 is the home region"):
        parse({"replicaRegions": ["eu-west-1"]})


def test_config_rejects_a_malformed_region_name():
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.replicaRegions: expected a list of AWS region "
                                                       r"names such as us-east-1 .*got \['Frankfurt'\]"):
        parse({"replicaRegions": ["Frankfurt"]})


def test_config_rejects_a_region_listed_twice():
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.replicaRegions: .* lists a region twice"):
        parse({"replicaRegions": ["us-east-1", "us-east-1"]})


def test_config_rejects_an_unknown_kms_choice():
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.kms: 'kms' is not allowed; allowed values: "
                                                       r"aws-owned, aws-managed, customer-managed"):
        parse({"kms": "kms"})


def test_config_leaves_replica_providers_to_main():
    with pytest.raises(stack_config.ConfigError, match=r"blog.table.replicaProviders: set by __main__"):
        parse({"replicaRegions": ["us-east-1"], "replicaProviders": {"us-east-1": "x"}})
