"""BlogAuthoring under Pulumi mocks: Cognito on every method, an invite-only pool with the authors group, least
privilege (post items, this distribution), wiring to the table and the distribution, args checked."""
import json

import pytest

from offline.harness import evaluate_program
from serverless_blueprints.args import ArgsError
from serverless_blueprints.blog_api import BlogApi
from serverless_blueprints.blog_authoring import (
    CREATE_SCHEMA,
    UNPUBLISH_SCHEMA,
    UPDATE_SCHEMA,
    BlogAuthoring,
    is_page_path,
    resolve_args,
)
from serverless_blueprints.global_table import GlobalTable
from tests.components import canary_wiring
from tests.conftest import statements_of

METHOD = "aws:apigateway/method:Method"
AUTHORIZER = "aws:apigateway/authorizer:Authorizer"
MODEL = "aws:apigateway/model:Model"
USER_POOL = "aws:cognito/userPool:UserPool"
USER_GROUP = "aws:cognito/userGroup:UserGroup"
DISTRIBUTION_ID = "E2QWRUHAPOMQZL"
TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/blog"


def build(args: dict, kms: str = "aws-managed"):
    def program():
        table = GlobalTable("blog-table", {"kms": kms})
        BlogAuthoring("blog-authoring", {"table_name": table.name, "table_arn": table.arn,
                                         "table_kms_key_arn": table.home_kms_key_arn,
                                         "distribution_id": DISTRIBUTION_ID, **args})
    return evaluate_program(program, region="eu-west-1")


@pytest.fixture(scope="module")
def plain():
    return build({})


@pytest.fixture(scope="module")
def with_cmk():
    return build({"post_page_paths": ["/en/posts/{slug}/*", "/fr/posts/{slug}/*"], "deletion_protection": True},
                 kms="customer-managed")


def statements(snapshot) -> list[dict]:
    return statements_of(snapshot.named("blog-authoring-handler-policy"))


def env(snapshot) -> dict:
    return snapshot.named("blog-authoring-handler-fn").props["environment"]["variables"]


# --- who may call ----------------------------------------------------------------------------------

def test_every_method_but_the_preflight_needs_a_token_from_the_authors_pool(plain):
    methods = [m for m in plain.of_type(METHOD) if m.name.startswith("blog-authoring-rest-")]
    (authorizer,) = plain.of_type(AUTHORIZER)
    (pool,) = plain.of_type(USER_POOL)
    assert authorizer.props["type"] == "COGNITO_USER_POOLS" and authorizer.props["providerArns"] == [
        pool.outputs["arn"]]
    routed = {(m.props["httpMethod"], m.name) for m in methods if m.props["httpMethod"] != "OPTIONS"}
    assert {method for method, _ in routed} == {"GET", "POST", "PUT"} and len(routed) == 4
    for m in methods:
        if m.props["httpMethod"] == "OPTIONS":
            assert m.props["authorization"] == "NONE"
        else:
            assert m.props["authorization"] == "COGNITO_USER_POOLS"
            assert m.props["authorizerId"] == authorizer.outputs["id"]


def test_authors_are_invited_into_the_pool_and_its_authors_group(plain):
    (pool,) = plain.of_type(USER_POOL)
    (group,) = plain.of_type(USER_GROUP)
    assert pool.props["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    assert group.props["name"] == "authors" and group.props["userPoolId"] == pool.outputs["id"]
    assert env(plain)["AUTHORS_GROUP"] == "authors"


def test_authors_sign_in_with_totp_by_default(plain):
    (pool,) = plain.of_type(USER_POOL)
    assert pool.props["mfaConfiguration"] == "ON"
    assert pool.props["softwareTokenMfaConfiguration"] == {"enabled": True}


def test_bodies_are_checked_by_api_gateway_first(plain):
    schemas = {json.dumps(json.loads(m.props["schema"]), sort_keys=True) for m in plain.of_type(MODEL)}
    for schema in (CREATE_SCHEMA, UPDATE_SCHEMA, UNPUBLISH_SCHEMA):
        assert json.dumps(schema, sort_keys=True) in schemas
        assert schema["additionalProperties"] is False


# --- least privilege -------------------------------------------------------------------------------

def test_the_function_writes_post_items_only_and_invalidates_this_distribution_only(plain):
    by_sid = {s.get("Sid"): s for s in statements(plain)}
    writes = by_sid["WritePosts"]
    assert sorted(writes["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert writes["Resource"] == [plain.named("blog-table").outputs["arn"]]
    assert writes["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["POST#*"]}}
    invalidate = by_sid["InvalidateThisDistribution"]
    assert invalidate["Action"] == ["cloudfront:CreateInvalidation"]
    assert invalidate["Resource"] == [f"arn:aws:cloudfront::123456789012:distribution/{DISTRIBUTION_ID}"]
    actions = {a for s in statements(plain) for a in s["Action"]}
    assert not any(a.endswith("*") or a.startswith("kms:") for a in actions)
    assert not [s for s in statements(plain) if "*" in s["Resource"] and not
                all(a.startswith(("xray:", "logs:")) for a in s["Action"])]


def test_a_customer_managed_table_key_is_usable_through_dynamodb_only(with_cmk):
    (key,) = [s for s in statements(with_cmk) if s.get("Sid") == "TableKeyThroughDynamoDB"]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "dynamodb.eu-west-1.amazonaws.com"}}
    table_keys = [k.outputs["arn"] for k in with_cmk.of_type("aws:kms/key:Key")]
    assert len(key["Resource"]) == 1 and key["Resource"][0] in table_keys


# --- wiring ----------------------------------------------------------------------------------------

def test_the_function_gets_the_table_the_distribution_and_the_paths_to_invalidate(plain, with_cmk):
    variables = env(plain)
    assert variables["TABLE_NAME"] == plain.named("blog-table").outputs["name"]
    assert variables["DISTRIBUTION_ID"] == DISTRIBUTION_ID
    assert json.loads(variables["INVALIDATION_PATHS"]) == ["/api/posts*", "/posts/{slug}/*"]
    assert json.loads(env(with_cmk)["INVALIDATION_PATHS"]) == ["/api/posts*", "/en/posts/{slug}/*",
                                                               "/fr/posts/{slug}/*"]


def test_deletion_protection_reaches_the_pool(plain, with_cmk):
    assert plain.of_type(USER_POOL)[0].props["deletionProtection"] == "INACTIVE"
    assert with_cmk.of_type(USER_POOL)[0].props["deletionProtection"] == "ACTIVE"


SES_EMAIL = {"source_arn": "arn:aws:ses:eu-west-1:123456789012:identity/myblog.com",
             "from_address": "MyBlog <no-reply@myblog.com>"}


def test_the_pool_uses_cognitos_built_in_email_unless_given_an_ses_identity(plain):
    assert "emailConfiguration" not in plain.of_type(USER_POOL)[0].props


def test_the_pool_sends_invitations_through_the_given_ses_identity():
    (pool,) = build({"email": SES_EMAIL}).of_type(USER_POOL)
    config = pool.props["emailConfiguration"]
    assert (config["emailSendingAccount"], config["sourceArn"], config["fromEmailAddress"]) == (
        "DEVELOPER", SES_EMAIL["source_arn"], SES_EMAIL["from_address"])


def test_the_api_is_not_cached_and_is_throttled_low(plain):
    (stage,) = plain.of_type("aws:apigateway/stage:Stage")
    assert not stage.props.get("cacheClusterEnabled")
    (settings,) = plain.of_type("aws:apigateway/methodSettings:MethodSettings")
    assert settings.props["settings"]["throttlingRateLimit"] == 5
    assert settings.props["settings"]["throttlingBurstLimit"] == 10


# --- args ------------------------------------------------------------------------------------------


def build_with_public_api(public_api_args: dict):
    """BlogApi and BlogAuthoring on one table, wired as __main__ wires them (`public_api_cache`)."""
    def program():
        table = GlobalTable("blog-table", {})
        inputs = {"table_name": table.name, "table_arn": table.arn, "table_kms_key_arn": table.home_kms_key_arn}
        api = BlogApi("blog-api", {**inputs, **public_api_args})
        BlogAuthoring("blog-authoring", {**inputs, "distribution_id": DISTRIBUTION_ID,
                                         "public_api_cache": api.cached_stage})
    return evaluate_program(program, region="eu-west-1")


def test_with_a_cached_public_api_the_function_flushes_exactly_that_stage_cache():
    snapshot = build_with_public_api({"cache": {"size_gb": "0.5"}, "posts_max_age_seconds": 300})
    (api,) = [a for a in snapshot.of_type("aws:apigateway/restApi:RestApi") if a.name.startswith("blog-api-")]
    api_id = api.outputs["id"]
    (flush,) = [s for s in statements(snapshot) if s.get("Sid") == "FlushPublicApiStageCache"]
    assert flush["Action"] == ["apigateway:DELETE"]
    assert flush["Resource"] == [f"arn:aws:apigateway:eu-west-1::/restapis/{api_id}/stages/v1/cache/data"]
    assert {k: v for k, v in env(snapshot).items() if k.startswith("PUBLIC_API_")} == {
        "PUBLIC_API_ID": api_id, "PUBLIC_API_STAGE": "v1"}


def test_without_a_stage_cache_nothing_is_flushed_or_granted(plain):
    uncached = build_with_public_api({})  # as dev: BlogApi.cached_stage is None
    for snapshot in (plain, uncached):
        assert not [a for s in statements(snapshot) for a in s["Action"] if a.startswith("apigateway:")]
        assert not [k for k in env(snapshot) if k.startswith("PUBLIC_API_")]


BASE = {"table_name": "blog", "table_arn": TABLE_ARN, "distribution_id": DISTRIBUTION_ID}


@pytest.mark.parametrize("args, path, problem", [
    ({"post_page_paths": ["/posts/*"]}, "post_page_paths", "{slug}"),
    ({"post_page_paths": ["/posts/{slug}/*/x"]}, "post_page_paths", "only at the end"),
    ({"post_page_paths": ["/api/posts/{slug}"]}, "post_page_paths", "nothing under /api/"),
    ({"distribution_id": "arn:aws:cloudfront::123456789012:distribution/E1"}, "distribution_id", "distribution id"),
    ({"table_arn": "blog"}, "table_arn", "DynamoDB table ARN"),
    ({"mfa": "SMS"}, "mfa", "allowed values: OFF, OPTIONAL, ON"),
    ({"timeout_seconds": 29}, "timeout_seconds", "29 s integration limit"),
    ({"authors_group": "two words"}, "authors_group", "Cognito group name"),
    ({"cache": {"size_gb": "0.5"}}, "cache", "unknown arg"),
    ({"email": {**SES_EMAIL, "from_address": "no-reply@other.io"}}, "email", "from_address"),
    ({"public_api_cache": {"rest_api_id": "a1b2c3d4e5"}}, "public_api_cache", "stage_name"),
    ({"public_api_cache": {"rest_api_id": "arn:aws:apigateway", "stage_name": "v1"}}, "public_api_cache",
     "REST API id"),
])
def test_bad_args_name_the_arg_and_what_is_allowed(args, path, problem):
    with pytest.raises(ArgsError) as error:
        resolve_args("blog-authoring", {**BASE, **args})
    assert error.value.path[0] == path and problem in str(error.value)


def test_no_page_per_post_means_only_the_api_is_invalidated():
    assert resolve_args("a", {**BASE, "post_page_paths": []}).invalidation_paths == ["/api/posts*"]


@pytest.mark.parametrize("template, ok", [("/posts/{slug}/*", True), ("/posts/{slug}/", True),
                                          ("/{slug}", True), ("/posts/{slug}/{slug}", False), ("posts/{slug}", False),
                                          ("/posts/{slug}?x", False)])
def test_page_path_templates(template, ok):
    assert is_page_path(template) is ok


def test_with_an_alarm_topic_the_function_and_the_stage_alarm_and_get_a_dashboard():
    topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
    snapshot = build({"alarms": {"topic_arn": topic}})
    alarms = snapshot.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    metrics = {(a.props["namespace"], a.props["metricName"]) for a in alarms}
    assert {("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"), ("AWS/ApiGateway", "5XXError"),
            ("AWS/ApiGateway", "Latency")} <= metrics
    assert all(a.props["alarmActions"] == [topic] for a in alarms)
    assert snapshot.of_type("aws:cloudwatch/dashboard:Dashboard")


def test_without_an_alarm_topic_nothing_alarms(plain):
    assert not plain.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")


# --- canary ----------------------------------------------------------------------------------------
def test_with_a_canary_every_route_invokes_live_released_by_codedeploy():
    topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
    stack = build({"canary": canary_wiring.ALL_AT_ONCE, "alarms": {"topic_arn": topic}})
    canary_wiring.assert_released_through_live(stack, ["blog-authoring-handler"], topic)


def test_without_a_canary_the_function_is_invoked_unqualified(plain):
    canary_wiring.assert_no_canary(plain)


def test_a_canary_with_an_unknown_key_is_rejected_naming_it():
    with pytest.raises(ArgsError, match=canary_wiring.UNKNOWN_KEY_ERROR):
        resolve_args("blog-authoring", {**BASE, "canary": canary_wiring.UNKNOWN_KEY})
