"""BlogApi under Pulumi mocks: public cached routes, the throttled subscribe and link routes, the origin secret,
least privilege, config."""
import json
import re
from pathlib import Path

import pytest

import stack_config
from serverless_blueprints.args import ArgsError
from serverless_blueprints.blog_api import (
    ORIGIN_HEADER_NAME,
    POSTS_QUERY_STRINGS,
    SUBSCRIBE_SCHEMA,
    TOKEN_QUERY_STRING,
    BlogApi,
    resolve_args,
)
from serverless_blueprints.global_table import GlobalTable
from offline.harness import evaluate_program
from tests.components import canary_wiring
from tests.conftest import statements_of

METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
HANDLER_SOURCE = Path(__file__).resolve().parents[2] / "functions" / "blog_api" / "handler.py"


TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/blog"


def table_inputs(table: GlobalTable) -> dict:
    """What BlogApi takes from the blog's GlobalTable (as __main__ wires it)."""
    return {"table_name": table.name, "table_arn": table.arn, "table_kms_key_arn": table.home_kms_key_arn}


def build(args: dict, kms: str = "aws-managed"):
    def program():
        table = GlobalTable("blog-table", {"kms": kms})
        BlogApi("blog-api", {**table_inputs(table), **args})
    return evaluate_program(program, region="eu-west-1")


@pytest.fixture(scope="module")
def cached():
    """As prod runs it: stage cache on, posts cached 300 s, customer-managed table key."""
    return build({"cache": {"size_gb": "0.5"}, "posts_max_age_seconds": 300,
                  "subscribe_throttle": {"rate_limit": 1, "burst_limit": 2}}, kms="customer-managed")


@pytest.fixture(scope="module")
def plain():
    """Defaults: no stage cache."""
    return build({})


def method(snapshot, key: str) -> dict:
    return snapshot.named(f"blog-api-rest-{key}").props


def role_statements(snapshot) -> list[dict]:
    return statements_of(snapshot.named("blog-api-handler-policy"))


def statement(snapshot, sid: str) -> dict:
    return next(s for s in role_statements(snapshot) if s.get("Sid") == sid)


# --- routes ----------------------------------------------------------------------------------------

def test_every_route_is_public_on_purpose(cached):
    for key in ("GET-api-posts", "GET-api-posts-slug", "POST-api-subscribe"):
        assert method(cached, key)["authorization"] == "NONE"
    assert not cached.of_type("aws:apigateway/authorizer:Authorizer")
    (api,) = [r for r in cached.of_type("aws:apigateway/restApi:RestApi")]
    assert api.props["tags"] == {"api-access": "public"}
    assert api.props["endpointConfiguration"]["types"] == "REGIONAL"


def test_post_listing_is_cached_keyed_on_its_query_strings(cached):
    integration = cached.named("blog-api-rest-GET-api-posts-integration").props
    assert integration["cacheKeyParameters"] == ["method.request.querystring.limit",
                                                 "method.request.querystring.cursor"]
    settings = cached.named("blog-api-rest-GET-api-posts-settings").props["settings"]
    assert settings["cachingEnabled"] is True and settings["cacheTtlInSeconds"] == 300


def test_single_post_is_cached_keyed_on_its_slug(cached):
    integration = cached.named("blog-api-rest-GET-api-posts-slug-integration").props
    assert integration["cacheKeyParameters"] == ["method.request.path.slug"]
    assert cached.named("blog-api-rest-GET-api-posts-slug-settings").props["settings"]["cachingEnabled"] is True


def test_stage_cache_is_encrypted_and_sized(cached):
    stage = cached.named("blog-api-rest-stage").props
    assert stage["cacheClusterEnabled"] is True and stage["cacheClusterSize"] == "0.5"
    assert stage["stageName"] == "v1"


def test_subscribe_is_throttled_tighter_than_the_stage_and_never_cached(cached):
    settings = cached.named("blog-api-rest-POST-api-subscribe-settings").props["settings"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (1, 2)
    assert settings["cachingEnabled"] is False


def test_subscribe_body_must_match_the_schema(cached):
    model = cached.named("blog-api-rest-POST-api-subscribe-body").props
    assert json.loads(model["schema"]) == SUBSCRIBE_SCHEMA
    assert SUBSCRIBE_SCHEMA["required"] == ["email"] and SUBSCRIBE_SCHEMA["additionalProperties"] is False


def test_without_a_cache_nothing_is_cached(plain):
    assert plain.named("blog-api-rest-stage").props["cacheClusterEnabled"] is False
    assert not any(s.props["settings"].get("cachingEnabled") for s in plain.of_type(SETTINGS))


def test_default_subscribe_throttle_is_two_per_second_burst_five(plain):
    settings = plain.named("blog-api-rest-POST-api-subscribe-settings").props["settings"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (2, 5)


def test_cache_key_query_strings_are_exactly_those_the_function_reads():
    read = re.findall(r'get_query_string_value\("([^"]+)"\)', HANDLER_SOURCE.read_text())
    assert sorted(read) == sorted([*POSTS_QUERY_STRINGS, TOKEN_QUERY_STRING])


def built_component() -> BlogApi:
    made = []
    evaluate_program(lambda: made.append(BlogApi("blog-api", dict(GOOD))), region="eu-west-1")
    return made[0]


def test_cloudfront_forwards_the_links_token_on_the_api_behaviour():
    api = built_component()
    assert api.origin["cache_key_query_strings"] == [*POSTS_QUERY_STRINGS, TOKEN_QUERY_STRING]
    assert api.origin["uncached_path_patterns"] == ["/api/subscribe"]


@pytest.mark.parametrize("path", ["confirm", "unsubscribe"])
def test_signed_link_routes_are_public_throttled_and_never_cached(cached, path):
    key = f"GET-api-subscriptions-{path}"
    assert method(cached, key)["authorization"] == "NONE"
    assert method(cached, key)["requestParameters"] == {"method.request.querystring.token": False}
    settings = cached.named(f"blog-api-rest-{key}-settings").props["settings"]
    assert settings["cachingEnabled"] is False
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (1, 2)
    assert "cacheKeyParameters" not in cached.named(f"blog-api-rest-{key}-integration").props


# --- CloudFront's origin header and the link key: secrets, generated per stack --------------------------

def test_two_generated_secrets_in_secrets_manager(plain):
    secrets = {s.name for s in plain.of_type(SECRET)}
    assert secrets == {"blog-api-origin-secret", "blog-api-token-key"}
    lengths = {r.name: r.props["length"] for r in plain.of_type(RANDOM_PASSWORD)}
    assert lengths == {"blog-api-origin-secret-value": 48, "blog-api-token-key-value": 64}
    versions = {v.name: v.props["secretId"] for v in plain.of_type(SECRET_VERSION)}
    assert versions == {"blog-api-origin-secret-version": plain.named("blog-api-origin-secret").outputs["id"],
                        "blog-api-token-key-version": plain.named("blog-api-token-key").outputs["id"]}


def test_generated_values_are_kept_secret_in_state(plain):
    for version in plain.of_type(SECRET_VERSION):
        assert version.secret_inputs == ["secretString"]


def test_function_gets_the_secrets_arns_never_their_values(plain):
    env = plain.named("blog-api-handler-fn").props["environment"]["variables"]
    assert env["ORIGIN_HEADER_NAME"] == ORIGIN_HEADER_NAME == "X-Origin-Verify"
    assert env["ORIGIN_SECRET_ARN"] == plain.named("blog-api-origin-secret").outputs["arn"]
    assert env["TOKEN_SECRET_ARN"] == plain.named("blog-api-token-key").outputs["arn"]
    values = {v.props["secretString"] for v in plain.of_type(SECRET_VERSION)}
    assert not values & set(map(str, env.values()))


def test_function_reads_only_its_two_secrets(plain):
    read = statement(plain, "ReadOriginAndTokenSecrets")
    assert read["Action"] == ["secretsmanager:GetSecretValue"]
    assert read["Resource"] == [plain.named("blog-api-origin-secret").outputs["arn"],
                                plain.named("blog-api-token-key").outputs["arn"]]


def test_origin_header_for_cloudfront_is_the_generated_secret():
    import pulumi

    api = built_component()
    assert api.origin_header["name"] == "X-Origin-Verify"
    assert isinstance(api.origin_header["value"], pulumi.Output)
    assert api.origin["origin_header"] is api.origin_header


def test_stacks_distribution_sends_the_api_the_secret_the_function_checks(dev_stack, prod_stack):
    for stack in (dev_stack, prod_stack):
        distribution = stack.named("blog-site-cdn")
        (api_origin,) = [o for o in distribution.props["origins"] if o["originId"] == "api"]
        (header,) = api_origin["customHeaders"]
        (secret_value,) = [v.props["secretString"] for v in stack.of_type(SECRET_VERSION)
                           if v.props["secretId"] == stack.named("blog-api-origin-secret").outputs["id"]]
        assert header == {"name": "X-Origin-Verify", "value": secret_value}
        env = stack.named("blog-api-handler-fn").props["environment"]["variables"]
        assert env["ORIGIN_HEADER_NAME"] == header["name"]
        assert env["ORIGIN_SECRET_ARN"] == stack.named("blog-api-origin-secret").outputs["arn"]


# --- the function ----------------------------------------------------------------------------------

def test_function_runs_the_blog_api_code_with_its_environment(cached):
    function = cached.named("blog-api-handler-fn").props
    assert function["handler"] == "blog_api.handler.handler"
    env = function["environment"]["variables"]
    assert env["TABLE_NAME"] == cached.named("blog-table").outputs["name"]
    assert env["POSTS_MAX_AGE"] == "300" and env["CORS_ALLOW_ORIGIN"] == "*"


def test_function_reads_posts_only_by_their_key_prefix(cached):
    read = statement(cached, "ReadPosts")
    assert read["Action"] == ["dynamodb:GetItem"]
    assert read["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["POST#*"]}}


def test_function_queries_only_the_published_posts_index(cached):
    table_arn = cached.named("blog-table").outputs["arn"]
    assert statement(cached, "ListPublishedPosts")["Resource"] == [f"{table_arn}/index/published-posts"]


def test_function_may_only_write_subscriber_items(cached):
    write = statement(cached, "WriteSubscribers")
    assert write["Action"] == ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    assert write["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["SUBSCRIBER#*"]}}


def test_function_cannot_scan_batch_or_write_anything_but_subscribers(cached):
    actions = {a for s in role_statements(cached) for a in s["Action"]}
    assert not actions & {"dynamodb:Scan", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"}
    writes = [s for s in role_statements(cached)
              if {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"} & set(s["Action"])]
    assert [s["Sid"] for s in writes] == ["WriteSubscribers"]
    # Subscribers can't be read back: no GetItem or Query on SUBSCRIBER# keys.
    assert statement(cached, "ReadPosts")["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"] == ["POST#*"]


def test_function_uses_the_table_key_through_dynamodb_only(cached, plain):
    key = statement(cached, "TableKeyThroughDynamoDB")
    assert key["Resource"] == [cached.named("blog-table-key").outputs["arn"]]
    assert key["Condition"] == {"StringEquals": {"kms:ViaService": "dynamodb.eu-west-1.amazonaws.com"}}
    assert not any(s.get("Sid") == "TableKeyThroughDynamoDB" for s in role_statements(plain))


# --- guards ----------------------------------------------------------------------------------------

GOOD = {"table_name": "blog", "table_arn": TABLE_ARN}


@pytest.mark.parametrize("missing", ["table_name", "table_arn"])
def test_component_requires_the_tables_name_and_arn(missing):
    with pytest.raises(ArgsError, match=rf"BlogApi 'blog-api': {missing}: required"):
        BlogApi("blog-api", {key: value for key, value in GOOD.items() if key != missing})


def test_component_rejects_an_unknown_arg_suggesting_the_right_one():
    with pytest.raises(ArgsError, match=r"postsMaxAgeSeconds: unknown arg \(did you mean 'posts_max_age_seconds'\?\)"):
        resolve_args("blog-api", {**GOOD, "postsMaxAgeSeconds": 60})


@pytest.mark.parametrize("args, message", [
    ({"posts_max_age_seconds": 0}, "posts_max_age_seconds: 0 is out of range; allowed 1 to 3600"),
    ({"posts_max_age_seconds": 3601}, "posts_max_age_seconds: 3601 is out of range; allowed 1 to 3600"),
    ({"subscribe_throttle": {"rate_limit": 100, "burst_limit": 5}, "throttle_rate_limit": 50},
     "subscribe_throttle: 100 rps / burst 5 must be within the stage's limits"),
    ({"subscribe_throttle": {"rate_limit": 1, "burst_limit": 500}, "throttle_burst_limit": 100},
     "subscribe_throttle: 1 rps / burst 500 must be within the stage's limits"),
    ({"cache": {"size_gb": "2"}}, r"cache.size_gb: '2' is not allowed; allowed values: 0.5, 1.6"),
    ({"throttle_rate_limit": 0}, "throttle_rate_limit: 0 is out of range"),
    ({"throttle_burst_limit": 6000}, "throttle_burst_limit: 6000 is out of range; allowed 1 to 5000"),
    ({"timeout_seconds": 29}, "timeout_seconds: 29 is out of range; allowed 1 to 28"),
    ({"memory_mb": 64}, "memory_mb: 64 is out of range; allowed 128 to 10240"),
    ({"log_retention_days": 10}, "log_retention_days: 10 is not allowed"),
    ({"table_arn": "blog"}, "table_arn: expected a DynamoDB table ARN"),
    ({"table_kms_key_arn": "alias/blog"}, "table_kms_key_arn: expected a KMS key ARN"),
])
def test_component_rejects_bad_args(args, message):
    with pytest.raises(ArgsError, match=message):
        BlogApi("blog-api", {**GOOD, **args})


def test_component_takes_plain_table_inputs_without_a_global_table():
    snapshot = evaluate_program(lambda: BlogApi("blog-api", dict(GOOD)), region="eu-west-1")
    env = snapshot.named("blog-api-handler-fn").props["environment"]["variables"]
    assert env["TABLE_NAME"] == "blog"
    assert statement(snapshot, "ListPublishedPosts")["Resource"] == [f"{TABLE_ARN}/index/published-posts"]


def test_analyzer_accepts_the_component_with_plain_table_inputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([BlogApi])
    component = result["component_definitions"]["BlogApi"]
    required = {key for key, value in component.inputs.items() if not value.optional}
    assert required == {"tableName", "tableArn"}
    assert {"tableKmsKeyArn", "postsMaxAgeSeconds", "cache", "throttleRateLimit", "throttleBurstLimit",
            "subscribeThrottle", "corsAllowOrigin", "memoryMb", "timeoutSeconds", "logRetentionDays",
            "cloudwatchAccount", "alarms", "canary"} == set(component.inputs) - required
    assert component.inputs["cloudwatchAccount"].ref.endswith("aws:apigateway%2Faccount:Account")
    assert set(component.outputs) == {"url", "functionName", "tokenSecretArn", "dashboardName"}


# --- the real stacks -------------------------------------------------------------------------------

def test_prod_stack_caches_posts_in_the_stage(prod_stack):
    assert prod_stack.named("blog-api-rest-stage").props["cacheClusterEnabled"] is True
    settings = prod_stack.named("blog-api-rest-GET-api-posts-settings").props["settings"]
    assert settings["cacheTtlInSeconds"] == 300


def test_stacks_export_the_sites_api_as_the_entry_point_not_the_execute_api_url(dev_stack, prod_stack):
    for stack in (dev_stack, prod_stack):
        blog = stack.exports["blog"]
        assert blog["apiUrl"] == blog["url"] + "/api"
        assert "execute-api" not in json.dumps(blog)


def test_stacks_wire_the_token_key_and_the_site_into_the_mails(dev_stack):
    env = dev_stack.named("blog-welcome-sender-fn").props["environment"]["variables"]
    assert env["TOKEN_SECRET_ARN"] == dev_stack.named("blog-api-token-key").outputs["arn"]
    assert env["SITE_URL"] == dev_stack.exports["blog"]["url"]


def test_dev_stack_has_no_stage_cache(dev_stack):
    assert dev_stack.named("blog-api-rest-stage").props["cacheClusterEnabled"] is False


def test_stacks_point_cors_at_the_sites_own_origin_when_it_has_one(dev_stack, prod_stack):
    variables = prod_stack.named("blog-api-handler-fn").props["environment"]["variables"]
    assert variables["CORS_ALLOW_ORIGIN"] == "https://example.com"  # the canonical name (apex; www redirects to it)
    assert dev_stack.named("blog-api-handler-fn").props["environment"]["variables"]["CORS_ALLOW_ORIGIN"] == "*"


# --- config (blog.api): exactly BlogApiArgs in camelCase ---------------------------------------------

def parse(api: dict, env: str = "dev") -> stack_config.StackSettings:
    table = {"replicaRegions": ["us-east-1", "ap-southeast-2"]} if env == "prod" else {}
    return stack_config.parse({"environment": env, "blog": {"enabled": True, "site": {"contentDir": "site"},
                                                            "email": {"identity": "b@example.com"},
                                                            "table": table, "api": api}}, "eu-west-1")


def test_config_api_is_the_components_args_plus_the_stacks_log_retention():
    args = parse({"postsMaxAgeSeconds": 300, "cache": {"enabled": True, "sizeGb": "0.5"},
                  "throttleRateLimit": 100, "throttleBurstLimit": 200}).blog["api"]
    assert args == {"posts_max_age_seconds": 300, "cache": {"size_gb": "0.5"}, "throttle_rate_limit": 100,
                    "throttle_burst_limit": 200, "log_retention_days": 7}
    assert parse({"cache": {"enabled": False}}).blog["api"] == {"cache": None, "log_retention_days": 7}


def test_stack_yaml_sets_the_per_environment_api_settings():
    from offline.harness import read_stack_config

    dev, prod = (read_stack_config(stack)["serverless-blueprints:blog"]["api"] for stack in ("dev", "prod"))
    assert (dev["postsMaxAgeSeconds"], dev["cache"], dev["throttleRateLimit"]) == (60, {"enabled": False}, 20)
    assert (prod["postsMaxAgeSeconds"], prod["cache"]["sizeGb"], prod["throttleRateLimit"]) == (300, "0.5", 100)


@pytest.mark.parametrize("api, message", [
    ({"postsMaxAgeSeconds": 0}, r"blog.api.postsMaxAgeSeconds: 0 is out of range; allowed 1 to 3600"),
    ({"cache": {"enabled": True, "sizeGb": "2"}}, r"blog.api.cache.sizeGb: '2' is not allowed; allowed values: 0.5"),
    ({"subscribeThrottle": {"rateLimit": 500}}, r"blog.api.subscribeThrottle: 500 rps / burst 5 must be within"),
    ({"timeoutSeconds": 29}, r"blog.api.timeoutSeconds: 29 is out of range; allowed 1 to 28"),
    ({"throttleBurstLimit": 0}, r"blog.api.throttleBurstLimit: 0 is out of range; allowed 1 to 5000"),
    ({"lambda": {"timeoutSeconds": 10}}, r"blog.api.lambda: unknown key; allowed: alarms, cache, canary, "
                                         r"cloudwatchAccount"),
    ({"postsMaxAge": 60}, r"blog.api.postsMaxAge: unknown key \(did you mean 'postsMaxAgeSeconds'\?\)"),
    ({"tableArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/x"}, r"blog.api.tableArn: set by __main__"),
])
def test_config_rejects_bad_api_settings_naming_the_key(api, message):
    with pytest.raises(stack_config.ConfigError, match=message):
        parse(api)


# --- canary ----------------------------------------------------------------------------------------
def test_with_a_canary_every_route_invokes_live_released_by_codedeploy():
    topic = "arn:aws:sns:eu-west-1:123456789012:alarms"
    stack = build({"canary": canary_wiring.ALL_AT_ONCE, "alarms": {"topic_arn": topic}})
    canary_wiring.assert_released_through_live(stack, ["blog-api-handler"], topic)


def test_without_a_canary_the_function_is_invoked_unqualified(plain):
    canary_wiring.assert_no_canary(plain)


def test_a_canary_with_an_unknown_key_is_rejected_naming_it():
    with pytest.raises(ArgsError, match=canary_wiring.UNKNOWN_KEY_ERROR):
        resolve_args("blog-api", {**GOOD, "canary": canary_wiring.UNKNOWN_KEY})
