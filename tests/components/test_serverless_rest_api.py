"""ServerlessRestApi (MyTodoList) under mocks: each default asserted on the actual resource inputs."""
import json

import pulumi
import pytest

from serverless_blueprints.args import ArgsError
from serverless_blueprints.serverless_rest_api import DAX_CLUSTER_NAME_LIMIT, ROUTES, ServerlessRestApi, dax_cluster_name
from offline.harness import evaluate_program
from tests.conftest import as_list, statements_of

API = "serverless-blueprints:index:LambdaRestApi"


def _methods(stack):
    return {(m.props["httpMethod"], m.name): m for m in stack.of_type("aws:apigateway/method:Method")
            if m.name.startswith("todo-api-")}


def _statements_for(stack, policy_name):
    return statements_of(stack.named(policy_name))


def test_every_route_of_the_issue_is_served(prod_stack):
    served = {(m.props["httpMethod"], m.name) for m in prod_stack.of_type("aws:apigateway/method:Method")}
    for method, path, _, _ in ROUTES:
        slug = path.strip("/").lower().replace("/", "-").replace("{", "").replace("}", "")
        assert (method, f"todo-api-{method}-{slug}") in served


def test_every_method_except_options_uses_the_cognito_authorizer(prod_stack):
    methods = _methods(prod_stack)
    authorizer = prod_stack.named("todo-api-cognito")
    assert authorizer.props["type"] == "COGNITO_USER_POOLS"
    assert authorizer.props["identitySource"] == "method.request.header.X-Id-Token"
    for (verb, name), method in methods.items():
        if verb == "OPTIONS":
            assert method.props["authorization"] == "NONE", name
        else:
            assert method.props["authorization"] == "COGNITO_USER_POOLS", name
            assert method.props["authorizerId"] == authorizer.outputs["id"], name


def test_preflight_is_a_mock_integration_answering_cors_headers(prod_stack):
    response = prod_stack.named("todo-api-OPTIONS-todos-todoid-integration-200")
    headers = response.props["responseParameters"]
    assert headers["method.response.header.Access-Control-Allow-Methods"] == "'DELETE,GET,OPTIONS,PUT'"
    assert prod_stack.named("todo-api-OPTIONS-todos-todoid-integration").props["type"] == "MOCK"


def test_gateway_errors_carry_cors_headers(prod_stack):
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        response = next(r for r in prod_stack.of_type("aws:apigateway/response:Response")
                        if r.props["responseType"] == response_type and r.name.startswith("todo-api"))
        assert "gatewayresponse.header.Access-Control-Allow-Origin" in response.props["responseParameters"]


def test_cache_key_of_cached_gets_includes_the_callers_identity(prod_stack):
    for name in ("todo-api-GET-todos-integration", "todo-api-GET-todos-todoid-integration"):
        integration = prod_stack.named(name)
        assert integration.props["cacheKeyParameters"][0] == "method.request.header.X-Id-Token"
    listing = prod_stack.named("todo-api-GET-todos-integration").props["cacheKeyParameters"]
    assert set(listing) == {"method.request.header.X-Id-Token", "method.request.querystring.limit",
                            "method.request.querystring.cursor"}


def test_only_gets_are_cached_and_cache_data_is_encrypted(prod_stack):
    settings = {s.props["methodPath"]: s.props["settings"]
                for s in prod_stack.of_type("aws:apigateway/methodSettings:MethodSettings")
                if s.name.startswith("todo-api")}
    assert settings["*/*"]["cachingEnabled"] is False
    cached = {path for path, s in settings.items() if s.get("cachingEnabled")}
    assert cached == {"todos/GET", "todos/{todoId}/GET"}
    for path in cached:
        assert settings[path]["cacheDataEncrypted"] is True
        assert settings[path]["cacheTtlInSeconds"] == 300


def test_cache_refresh_requires_authorization_and_rejects_the_rest(prod_stack):
    settings = prod_stack.named("todo-api-GET-todos-settings").props["settings"]
    assert settings["requireAuthorizationForCacheControl"] is True
    assert settings["unauthorizedCacheControlHeaderStrategy"] == "FAIL_WITH_403"
    refresh = next(s for s in _statements_for(prod_stack, "todo-authenticated-policy") if s["Sid"] == "RefreshOwnGets")
    assert refresh["Action"] == ["execute-api:InvalidateCache"]
    assert all(r.endswith("/GET/todos*") for r in refresh["Resource"])


def test_cached_method_overrides_keep_the_stage_throttle(prod_stack):
    settings = prod_stack.named("todo-api-GET-todos-settings").props["settings"]
    assert settings["throttlingRateLimit"] == 50 and settings["throttlingBurstLimit"] == 100


def test_stage_has_json_access_logs_xray_and_no_data_trace(prod_stack):
    stage = prod_stack.named("todo-api-stage")
    assert stage.props["xrayTracingEnabled"] is True
    log_format = json.loads(stage.props["accessLogSettings"]["format"])
    assert {"requestId", "caller", "status"} <= set(log_format)
    everything = prod_stack.named("todo-api-all-methods").props["settings"]
    assert everything["dataTraceEnabled"] is False
    assert everything["throttlingRateLimit"] == 50


def test_stage_cache_size_and_ttl_come_from_config(prod_stack, dev_stack):
    assert prod_stack.named("todo-api-stage").props["cacheClusterEnabled"] is True
    assert prod_stack.named("todo-api-stage").props["cacheClusterSize"] == "0.5"
    assert dev_stack.named("todo-api-stage").props["cacheClusterEnabled"] is False


def test_deployment_comes_after_every_method_and_integration(prod_stack):
    deployment = prod_stack.named("todo-api-deployment")
    needed = {r.urn for r in prod_stack.resources
              if r.resource_type in ("aws:apigateway/method:Method", "aws:apigateway/integration:Integration")
              and r.name.startswith("todo-api-")}
    assert needed <= set(deployment.dependencies)


def test_lambda_permission_is_scoped_to_its_method_and_path(prod_stack):
    permission = prod_stack.named("todo-api-PUT-todos-todoid-invoke")
    assert permission.props["principal"] == "apigateway.amazonaws.com"
    assert permission.props["sourceArn"].endswith("/*/PUT/todos/*")


def test_body_methods_have_a_request_validator(prod_stack):
    for name in ("todo-api-POST-todos", "todo-api-PUT-todos-todoid", "todo-api-POST-files-upload-url"):
        method = prod_stack.named(name)
        assert method.props["requestValidatorId"]
        assert method.props["requestModels"]["application/json"]


def test_function_is_arm64_python313_with_explicit_size_and_tracing(prod_stack):
    function = prod_stack.named("todo-handler-fn")
    assert function.props["architectures"] == ["arm64"]
    assert function.props["runtime"] == "python3.13"
    assert function.props["memorySize"] == 512 and function.props["timeout"] == 10
    assert function.props["tracingConfig"]["mode"] == "Active"
    assert function.props["loggingConfig"]["logGroup"] == prod_stack.named("todo-handler-logs").outputs["name"]


def test_log_groups_keep_logs_for_the_stack_retention(prod_stack, dev_stack):
    assert prod_stack.named("todo-handler-logs").props["retentionInDays"] == 365
    assert dev_stack.named("todo-handler-logs").props["retentionInDays"] == 7
    assert prod_stack.named("todo-api-access-logs").props["retentionInDays"] == 365


def test_function_role_is_scoped_to_the_table_the_user_folders_and_dax(prod_stack, dev_stack):
    statements = {s["Sid"]: s for s in _statements_for(prod_stack, "todo-handler-policy")}
    assert "TodosTable" not in statements, "with DAX on, the function never calls DynamoDB directly"
    dev_statements = {s["Sid"]: s for s in _statements_for(dev_stack, "todo-handler-policy")}
    assert dev_statements["TodosTable"]["Resource"] == [dev_stack.named("todo-todos").outputs["arn"]]
    assert sorted(dev_statements["TodosTable"]["Action"]) == [
        "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"]
    bucket_arn = prod_stack.named("todo-files").outputs["arn"]
    assert statements["UserFolders"]["Resource"] == [f"{bucket_arn}/users/*"]
    assert statements["TodosThroughDax"]["Resource"] == [prod_stack.named("todo-dax").outputs["arn"]]
    assert "dax:BatchGetItem" not in statements["TodosThroughDax"]["Action"]
    for statement in statements.values():
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), action
        if statement["Resource"] == ["*"]:
            assert statement["Sid"] in ("XRayUnscopable", "VpcNetworkInterfacesUnscopable")


def test_table_keys_billing_pitr_sse_and_prod_deletion_protection(prod_stack, dev_stack):
    table = prod_stack.named("todo-todos").props
    assert (table["hashKey"], table["rangeKey"]) == ("userId", "todoId")
    assert table["billingMode"] == "PAY_PER_REQUEST"
    assert table["pointInTimeRecovery"]["enabled"] is True
    assert table["serverSideEncryption"]["enabled"] is True
    assert table["deletionProtectionEnabled"] is True
    assert dev_stack.named("todo-todos").props["deletionProtectionEnabled"] is False


def test_idempotency_markers_expire_through_the_table_ttl(prod_stack, dev_stack):
    for stack in (prod_stack, dev_stack):
        assert stack.named("todo-todos").props["ttl"] == {"attributeName": "expiresAt", "enabled": True}


def test_user_pool_password_policy_mfa_and_prod_deletion_protection(prod_stack, dev_stack):
    pool = prod_stack.named("todo-users").props
    assert pool["usernameAttributes"] == ["email"]
    policy = pool["passwordPolicy"]
    assert policy["minimumLength"] >= 8
    assert all(policy[k] for k in ("requireLowercase", "requireUppercase", "requireNumbers", "requireSymbols"))
    assert pool["mfaConfiguration"] == "OPTIONAL"
    assert pool["deletionProtection"] == "ACTIVE"
    assert dev_stack.named("todo-users").props["deletionProtection"] == "INACTIVE"


def test_mobile_client_has_no_secret_srp_refresh_and_explicit_validity(prod_stack):
    client = prod_stack.named("todo-mobile-client").props
    assert client["generateSecret"] is False
    assert sorted(client["explicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]
    assert (client["accessTokenValidity"], client["idTokenValidity"], client["refreshTokenValidity"]) == (60, 60, 30)
    assert client["tokenValidityUnits"] == {"accessToken": "minutes", "idToken": "minutes", "refreshToken": "days"}


def test_identity_pool_has_no_unauthenticated_identities(prod_stack):
    assert prod_stack.named("todo-identities").props["allowUnauthenticatedIdentities"] is False


def test_authenticated_role_trusts_only_this_pools_authenticated_identities(prod_stack):
    trust = statements_of(prod_stack.named("todo-authenticated"), "assumeRolePolicy")[0]
    pool_id = prod_stack.named("todo-identities").outputs["id"]
    assert trust["Condition"]["StringEquals"]["cognito-identity.amazonaws.com:aud"] == pool_id
    assert trust["Condition"]["ForAnyValue:StringLike"]["cognito-identity.amazonaws.com:amr"] == "authenticated"
    assert sorted(trust["Action"]) == ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"]


def test_user_folder_is_the_principal_tag_mapped_from_the_user_pool_sub(prod_stack):
    tags = prod_stack.named("todo-user-folder-tag").props
    assert tags["principalTags"] == {"userSub": "sub"} and tags["useDefaults"] is False
    statements = {s["Sid"]: s for s in _statements_for(prod_stack, "todo-authenticated-policy")}
    bucket_arn = prod_stack.named("todo-files").outputs["arn"]
    assert statements["ReadDeleteOwnFolder"]["Resource"] == [f"{bucket_arn}/users/${{aws:PrincipalTag/userSub}}/*"]
    prefixes = statements["ListOwnFolder"]["Condition"]["StringLike"]["s3:prefix"]
    assert prefixes == ["users/${aws:PrincipalTag/userSub}/", "users/${aws:PrincipalTag/userSub}/*"]


def test_files_bucket_is_private_encrypted_versioned_tls_only_with_lifecycle(prod_stack, dev_stack):
    assert all(prod_stack.named("todo-files-public-access").props[k] for k in
               ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert prod_stack.named("todo-files-ownership").props["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    assert prod_stack.named("todo-files-versioning").props["versioningConfiguration"]["status"] == "Enabled"
    sse = prod_stack.named("todo-files-sse").props["rules"][0]["applyServerSideEncryptionByDefault"]
    assert sse["sseAlgorithm"] == "AES256"
    deny = statements_of(prod_stack.named("todo-files-policy"))[0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    rules = {r["id"] for r in prod_stack.named("todo-files-lifecycle").props["rules"]}
    assert rules == {"abort-incomplete-multipart-uploads", "expire-noncurrent-versions"}
    assert prod_stack.named("todo-files").props["forceDestroy"] is False
    assert dev_stack.named("todo-files").props["forceDestroy"] is True


def test_dax_is_prod_only_encrypted_tls_with_ttls_in_a_parameter_group(prod_stack, dev_stack):
    assert not dev_stack.of_type("aws:dax/cluster:Cluster")
    cluster = prod_stack.named("todo-dax").props
    assert cluster["serverSideEncryption"]["enabled"] is True
    assert cluster["clusterEndpointEncryptionType"] == "TLS"
    assert len(cluster["clusterName"]) <= DAX_CLUSTER_NAME_LIMIT
    parameters = {p["name"]: p["value"] for p in prod_stack.named("todo-dax-ttl").props["parameters"]}
    assert parameters == {"record-ttl-millis": "300000", "query-ttl-millis": "60000"}


def test_dax_admits_only_the_function_security_group_on_the_tls_port(prod_stack):
    rule = prod_stack.named("todo-dax-from-fn").props
    assert (rule["fromPort"], rule["toPort"]) == (9111, 9111)
    assert rule["referencedSecurityGroupId"] == prod_stack.named("todo-fn-sg").outputs["id"]
    ingress = [r for r in prod_stack.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.props["securityGroupId"] == prod_stack.named("todo-dax-sg").outputs["id"]]
    assert ingress == [prod_stack.named("todo-dax-from-fn")]


def test_function_joins_the_private_subnets_and_reads_through_dax(prod_stack, dev_stack):
    function = prod_stack.named("todo-handler-fn").props
    assert len(function["vpcConfig"]["subnetIds"]) == 3
    assert function["environment"]["variables"]["DAX_ENDPOINT"].startswith("daxs://")
    assert dev_stack.named("todo-handler-fn").props["environment"]["variables"]["DAX_ENDPOINT"] == ""
    assert "vpcConfig" not in dev_stack.named("todo-handler-fn").props


def test_vpc_has_gateway_endpoints_and_no_internet_route(prod_stack):
    """The to-do API's own VPC (for DAX); the shop's network, with its NAT and interface endpoints, is another."""
    todo = next(r for r in prod_stack.resources if r.resource_type.endswith(":ServerlessRestApi") and r.name == "todo")
    mine = prod_stack.descendants_of(todo.urn)
    endpoints = [r for r in mine if r.resource_type == "aws:ec2/vpcEndpoint:VpcEndpoint"]
    assert {e.props["serviceName"].rsplit(".", 1)[-1] for e in endpoints} == {"dynamodb", "s3"}
    assert {e.props["vpcEndpointType"] for e in endpoints} == {"Gateway"}
    assert not [r for r in mine if r.resource_type in ("aws:ec2/internetGateway:InternetGateway", "aws:ec2/natGateway:NatGateway")]


def test_outputs_include_a_mobile_client_config(prod_stack):
    exported = prod_stack.exports["todoApi"]
    assert set(exported) == {"apiUrl", "apiUrls", "userPoolId", "userPoolClientId", "identityPoolId", "bucket", "table", "region"}
    config = json.loads(prod_stack.exports["todoClientConfig"])
    assert config["region"] == "eu-west-1"
    assert config["auth"]["userPoolId"] == exported["userPoolId"]
    assert config["storage"]["bucket"] == exported["bucket"]


def test_dax_cluster_names_fit_the_20_character_limit():
    assert dax_cluster_name("todo", "prod") == "todo-prod"
    long = dax_cluster_name("mobile-backend-for-todos", "production-eu")
    assert len(long) <= DAX_CLUSTER_NAME_LIMIT and long[0].isalpha() and not long.endswith("-")
    assert long != dax_cluster_name("mobile-backend-for-todos", "production-us")


def test_presigned_url_expiry_over_15_minutes_is_rejected():
    with pytest.raises(ArgsError, match=r"ServerlessRestApi 'todo': url_expiry_seconds: 901 is out of range; "
                                        r"allowed 1 to 900"):
        evaluate_program(lambda: ServerlessRestApi("todo", {"url_expiry_seconds": 901}))


def test_component_is_safe_with_no_arguments():
    stack = evaluate_program(lambda: ServerlessRestApi("bare"))
    assert not stack.of_type("aws:dax/cluster:Cluster")
    assert stack.named("bare-todos").props["pointInTimeRecovery"]["enabled"] is True
    assert stack.named("bare-handler-fn").props["timeout"] < 29


def _openapi():
    from pathlib import Path
    return json.loads((Path(__file__).resolve().parents[2] / "docs/openapi/todo-api.json").read_text())


def test_openapi_document_lists_exactly_the_served_routes():
    document = _openapi()
    documented = {(method.upper(), path) for path, item in document["paths"].items()
                  for method in item if method != "parameters"}
    assert documented == {(method, path) for method, path, _, _ in ROUTES}


def test_openapi_query_parameters_match_the_cache_key_inputs():
    document = _openapi()
    for method, path, _, query in ROUTES:
        operation = document["paths"][path][method.lower()]
        assert {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"} == set(query), path


def test_openapi_requires_the_cognito_token_everywhere():
    document = _openapi()
    assert document["security"] == [{"CognitoUserPool": []}]
    assert document["components"]["securitySchemes"]["CognitoUserPool"]["name"] == "X-Id-Token"
    assert not [op for item in document["paths"].values() for op in item.values()
                if isinstance(op, dict) and "security" in op and op["security"] == []]


def test_token_header_leaves_authorization_free_for_a_signed_refresh(prod_stack):
    preflight = prod_stack.named("todo-api-OPTIONS-todos-integration-200").props["responseParameters"]
    allowed = preflight["method.response.header.Access-Control-Allow-Headers"]
    assert "X-Id-Token" in allowed and "Authorization" in allowed and "Cache-Control" in allowed
    assert json.loads(prod_stack.exports["todoClientConfig"])["auth"]["idTokenHeader"] == "X-Id-Token"


# --- one home for every check: the component's resolve step, reached directly and through the stack YAML ---

MOVED_CHECKS = [
    # (args, arg path and problem the component names, YAML key path)
    ({"cache": {"ttl_seconds": 7200}}, "cache.ttl_seconds: 7200 is out of range; allowed 0 to 3600",
     "cache.ttlSeconds"),
    ({"cache": {"size_gb": "2"}}, "cache.size_gb: '2' is not allowed; allowed values: 0.5, 1.6, 6.1, 13.5",
     "cache.sizeGb"),
    ({"dax": {"node_type": "dax.t2.micro"}}, "dax.node_type: 'dax.t2.micro' is not allowed; allowed values: "
                                             "dax.t3.small", "dax.nodeType"),
    ({"dax": {"nodes": 12}}, "dax.nodes: 12 is out of range; allowed 1 to 11", "dax.nodes"),
    ({"dax": {"item_ttl_seconds": -1}}, "dax.item_ttl_seconds: -1 is out of range; allowed 0 to 86400",
     "dax.itemTtlSeconds"),
    ({"dax": {"query_ttl_seconds": 86401}}, "dax.query_ttl_seconds: 86401 is out of range; allowed 0 to 86400",
     "dax.queryTtlSeconds"),
    ({"dax": {"vpc_cidr": "10.20.0.0/24"}}, "dax.vpc_cidr: expected an IPv4 /16 CIDR", "dax.vpcCidr"),
    ({"dax": {"subnet_ids": ["sn-1"]}}, "dax.subnet_ids: expected a list of subnet ids", "dax.subnetIds"),
    ({"mfa": "SOMETIMES"}, "mfa: 'SOMETIMES' is not allowed; allowed values: OFF, OPTIONAL, ON", "mfa"),
    ({"function": {"memory_mb": 64}}, "function.memory_mb: 64 is out of range; allowed 128 to 10240",
     "function.memoryMb"),
    ({"function": {"timeout_seconds": 29}}, "function.timeout_seconds: 29 is out of range; allowed 1 to 28 (under "
                                            "API Gateway's 29 s integration limit)", "function.timeoutSeconds"),
    ({"throttle": {"rate_limit": 0}}, "throttle.rate_limit: 0 is out of range; allowed 1 to 10000",
     "throttle.rateLimit"),
    ({"throttle": {"burst_limit": 5001}}, "throttle.burst_limit: 5001 is out of range; allowed 1 to 5000",
     "throttle.burstLimit"),
    ({"url_expiry_seconds": 901}, "url_expiry_seconds: 901 is out of range; allowed 1 to 900", "urlExpirySeconds"),
    ({"log_retention_days": 10}, "log_retention_days: 10 is not allowed; allowed values: 1, 3, 5, 7",
     "logRetentionDays"),
]


def _camel_args(args: dict) -> dict:
    from stack_config import camel_case

    return {camel_case(k): _camel_args(v) if isinstance(v, dict) else v for k, v in args.items()}


@pytest.mark.parametrize("args, problem, _key", MOVED_CHECKS, ids=[c[2] for c in MOVED_CHECKS])
def test_library_user_gets_each_check_from_the_component(args, problem, _key):
    with pytest.raises(ArgsError) as error:
        evaluate_program(lambda: ServerlessRestApi("todo", args))
    assert str(error.value).startswith(f"ServerlessRestApi 'todo': {problem}")


@pytest.mark.parametrize("args, problem, key", MOVED_CHECKS, ids=[c[2] for c in MOVED_CHECKS])
def test_stack_user_gets_the_same_check_naming_the_yaml_key(args, problem, key):
    import stack_config

    with pytest.raises(stack_config.ConfigError) as error:
        stack_config.parse({"environment": "dev", "todoApi": _camel_args(args)}, "eu-west-1")
    assert str(error.value).startswith(f"serverless-blueprints:todoApi.{key}: {problem.split(': ', 1)[1]}")


def test_unknown_arg_is_rejected_with_the_allowed_ones():
    with pytest.raises(ArgsError, match=r"ServerlessRestApi 'todo': memoryMb: unknown arg; allowed: "
                                        r"alarms, allowed_content_types, api_versions, cache, canary, cloudwatch_account, cors_origins, dax"):
        evaluate_program(lambda: ServerlessRestApi("todo", {"memoryMb": 1024}))


def test_defaults_are_what_you_get_without_asking():
    from serverless_blueprints.serverless_rest_api import resolve_args

    resolved = resolve_args("todo", {})
    assert (resolved.function.memory_mb, resolved.function.timeout_seconds) == (256, 10)
    assert (resolved.throttle.rate_limit, resolved.throttle.burst_limit) == (20, 40)
    assert resolved.cache is None and resolved.dax is None and resolved.mfa == "OPTIONAL"
    assert (resolved.url_expiry_seconds, resolved.cors_origins, resolved.deletion_protection) == (300, ["*"], False)


def test_an_empty_dax_section_is_a_three_node_cluster_with_five_minute_ttls():
    from serverless_blueprints.serverless_rest_api import resolve_args

    dax = resolve_args("todo", {"dax": {}}).dax
    assert (dax.node_type, dax.nodes, dax.item_ttl_seconds, dax.query_ttl_seconds, dax.vpc_cidr) == (
        "dax.t3.small", 3, 300, 300, "10.20.0.0/16")


def test_analyzer_infers_the_args_as_inputs_and_the_outputs():
    from pulumi.provider.experimental.analyzer import Analyzer

    result = Analyzer("serverless-blueprints").analyze([ServerlessRestApi])
    definition = result["component_definitions"]["ServerlessRestApi"]
    assert set(definition.inputs) == {
        "function", "throttle", "cache", "dax", "mfa", "email", "oauth", "uploadMaxBytes", "allowedContentTypes",
        "urlExpirySeconds", "corsOrigins", "logRetentionDays", "deletionProtection", "cloudwatchAccount", "alarms",
        "canary", "apiVersions", "deprecation"}
    assert all(prop.optional for prop in definition.inputs.values())
    assert definition.inputs["dax"].ref.endswith(":index:DaxArgs")
    assert definition.inputs["deprecation"].ref.endswith(":index:ApiDeprecationArgs")
    assert definition.inputs["cache"].ref.endswith(":index:ApiCache")
    assert definition.inputs["email"].ref.endswith(":index:UserPoolEmail")
    assert definition.inputs["oauth"].ref.endswith(":index:UserPoolOAuth")
    assert "aws:apigateway%2Faccount:Account" in definition.inputs["cloudwatchAccount"].ref
    assert set(result["type_definitions"]["DaxArgs"].properties) == {
        "nodeType", "nodes", "itemTtlSeconds", "queryTtlSeconds", "subnetIds", "vpcCidr"}
    assert set(definition.outputs) == {
        "apiUrl", "userPoolId", "userPoolClientId", "identityPoolId", "bucketName", "tableName", "region",
        "clientConfig", "daxEndpoint", "dashboardName", "apiUrls"}
    assert definition.outputs["daxEndpoint"].optional and not definition.outputs["apiUrl"].optional


def test_user_pool_building_block_refuses_an_mfa_setting_cognito_does_not_have():
    from serverless_blueprints.user_pool import user_pool_with_app_client

    def program():
        holder = pulumi.ComponentResource("test:index:Holder", "holder")
        user_pool_with_app_client("pool", "client", parent=holder, deletion_protection=False, mfa="SOMETIMES")

    with pytest.raises(ArgsError, match=r"user pool 'pool': mfa: 'SOMETIMES' is not allowed; allowed values: OFF, "
                                        r"OPTIONAL, ON"):
        evaluate_program(program)


# --- uploads only through the presigned POST; user pool email through SES ---------------------------------

SES_IDENTITY = "arn:aws:ses:eu-west-1:123456789012:identity/mytodolist.app"


@pytest.fixture(scope="module")
def bare():
    return evaluate_program(lambda: ServerlessRestApi("bare"))


def test_app_credentials_read_and_delete_their_folder_but_never_upload_directly(bare):
    """A direct PutObject would skip the presigned POST's content-length-range and Content-Type conditions."""
    statements = statements_of(bare.named("bare-authenticated-policy"))
    actions = {action for statement in statements for action in as_list(statement["Action"])}
    assert not {a for a in actions if a in ("s3:PutObject", "s3:*") or a.startswith("s3:Put")
                or a in ("s3:CreateMultipartUpload", "s3:UploadPart")}
    assert {"s3:GetObject", "s3:DeleteObject", "s3:ListBucket"} <= actions
    cors = bare.named("bare-files-cors").props["corsRules"][0]["allowedMethods"]
    assert "PUT" not in cors and "POST" in cors


def test_the_function_signs_uploads_into_the_user_folders_only(bare):
    signer = {s["Sid"]: s for s in statements_of(bare.named("bare-handler-policy"))}["UserFolders"]
    assert "s3:PutObject" in as_list(signer["Action"])
    assert signer["Resource"] == [bare.named("bare-files").outputs["arn"] + "/users/*"]


def test_user_pool_keeps_cognito_email_unless_given_an_ses_identity(bare):
    assert bare.named("bare-users").props.get("emailConfiguration") is None
    stack = evaluate_program(lambda: ServerlessRestApi("todo", {"email": {
        "source_arn": SES_IDENTITY, "from_address": "MyTodoList <no-reply@mytodolist.app>"}}))
    assert stack.named("todo-users").props["emailConfiguration"] == {
        "emailSendingAccount": "DEVELOPER", "sourceArn": SES_IDENTITY,
        "fromEmailAddress": "MyTodoList <no-reply@mytodolist.app>"}


@pytest.mark.parametrize("email, message", [
    ({"source_arn": SES_IDENTITY, "from_address": "no-reply@elsewhere.example"},
     r"email\.from_address: no-reply@elsewhere\.example is not sent by the SES identity mytodolist\.app"),
    ({"source_arn": "arn:aws:ses:eu-west-1:123456789012:configuration-set/x", "from_address": "a@mytodolist.app"},
     r"email\.source_arn: expected an SES identity ARN"),
    ({"from_address": "a@mytodolist.app"}, r"email\.source_arn: required"),
    ({"source_arn": SES_IDENTITY, "from_address": "not an address"}, r"email\.from_address: expected an email address"),
])
def test_user_pool_email_that_ses_would_refuse_is_rejected(email, message):
    with pytest.raises(ArgsError, match=message):
        evaluate_program(lambda: ServerlessRestApi("todo", {"email": email}))
