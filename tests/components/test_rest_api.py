"""LambdaRestApi guards and the public-API variant (the authorized variant is covered via ServerlessRestApi)."""
import pytest

from serverless_blueprints.args import ArgsError
from serverless_blueprints.lambda_function import LambdaFunction
from serverless_blueprints.rest_api import ApiRoute, LambdaRestApi, method_path
from offline.harness import evaluate_program

FN = {"code": "todo_api", "memory_mb": 256, "timeout_seconds": 10, "log_retention_days": 7,
      "invoked_by_api_gateway": True}


def _api(**args):
    def program():
        function = LambdaFunction("fn", FN)
        routes = args.pop("routes", [ApiRoute(method="GET", path="/items", function=function, cached=True,
                                              query_parameters=["page"])])
        LambdaRestApi("api", {"routes": routes, **args})
    return program


def test_public_api_methods_have_no_auth_and_cache_key_has_no_identity():
    stack = evaluate_program(_api(public=True, cache={"size_gb": "0.5", "ttl_seconds": 60}))
    assert stack.named("api-GET-items").props["authorization"] == "NONE"
    assert not stack.of_type("aws:apigateway/authorizer:Authorizer")
    assert stack.named("api-GET-items-integration").props["cacheKeyParameters"] == ["method.request.querystring.page"]


def test_api_without_auth_must_say_it_is_public():
    with pytest.raises(ValueError, match="set public=True"):
        evaluate_program(_api())


def test_api_cannot_be_both_public_and_authorized():
    with pytest.raises(ValueError, match="either public or authorized"):
        evaluate_program(_api(public=True, cognito_user_pool_arns=["arn:aws:cognito-idp:eu-west-1:1:userpool/x"]))


def test_only_get_routes_can_be_cached():
    def program():
        function = LambdaFunction("fn", FN)
        LambdaRestApi("api", {"public": True, "routes": [
            ApiRoute(method="POST", path="/items", function=function, cached=True)]})
    with pytest.raises(ValueError, match="only GET routes can be cached"):
        evaluate_program(program)


def test_malformed_path_is_rejected():
    def program():
        function = LambdaFunction("fn", FN)
        LambdaRestApi("api", {"public": True, "routes": [ApiRoute(method="GET", path="items/", function=function)]})
    with pytest.raises(ArgsError, match=r"routes\.0\.path: expected a resource path like /todos/\{todoId\}, "
                                        r"got 'items/'"):
        evaluate_program(program)


def test_per_route_throttle_overrides_the_stage_default():
    def program():
        function = LambdaFunction("fn", FN)
        LambdaRestApi("api", {"public": True, "routes": [
            ApiRoute(method="POST", path="/subscribe", function=function,
                     throttle={"rate_limit": 2, "burst_limit": 5})]})
    settings = evaluate_program(program).named("api-POST-subscribe-settings").props["settings"]
    assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (2, 5)
    assert settings["cachingEnabled"] is False


def test_method_path_has_no_leading_slash():
    assert method_path("/todos/{todoId}", "GET") == "todos/{todoId}/GET"


def test_a_path_named_api_does_not_clash_with_the_rest_api_itself():
    def program():
        function = LambdaFunction("fn", FN)
        LambdaRestApi("blog", {"public": True, "routes": [ApiRoute(method="GET", path="/api/posts", function=function)]})
    stack = evaluate_program(program)
    names = [r.name for r in stack.resources if r.custom]
    assert len(names) == len(set(names))


def test_browsers_may_send_the_correlation_and_idempotency_headers():
    stack = evaluate_program(_api(public=True))
    allowed = stack.named("api-OPTIONS-items-integration-200").props["responseParameters"][
        "method.response.header.Access-Control-Allow-Headers"]
    assert "X-Correlation-Id" in allowed and "Idempotency-Key" in allowed


def test_unknown_arg_is_rejected_with_the_allowed_ones():
    with pytest.raises(ArgsError, match=r"LambdaRestApi 'api': throttle: unknown arg; allowed: authorization, binary_media_types, "
                                        r"cache, cloudwatch_account, cognito_user_pool_arns"):
        evaluate_program(_api(public=True, throttle={"rate_limit": 5}))


def test_unknown_route_key_is_rejected_naming_the_route():
    def program():
        function = LambdaFunction("fn", FN)
        LambdaRestApi("api", {"public": True, "routes": [{"method": "GET", "path": "/items", "function": function,
                                                          "cache": True}]})
    with pytest.raises(ArgsError, match=r"routes\.0\.cache: unknown arg \(did you mean 'cached'\?\)"):
        evaluate_program(program)


@pytest.mark.parametrize("cache, message", [
    ({"ttl_seconds": 7200}, r"cache\.ttl_seconds: 7200 is out of range; allowed 0 to 3600"),
    ({"size_gb": "2"}, r"cache\.size_gb: '2' is not allowed; allowed values: 0\.5, 1\.6, 6\.1"),
])
def test_stage_cache_outside_what_api_gateway_offers_is_rejected(cache, message):
    with pytest.raises(ArgsError, match=message):
        evaluate_program(_api(public=True, cache=cache))


def test_stage_cache_defaults_to_half_a_gigabyte_for_five_minutes():
    stack = evaluate_program(_api(public=True, cache={}))
    assert stack.named("api-stage").props["cacheClusterSize"] == "0.5"
    assert stack.named("api-GET-items-settings").props["settings"]["cacheTtlInSeconds"] == 300


@pytest.mark.parametrize("args, message", [
    ({"throttle_rate_limit": 0}, r"throttle_rate_limit: 0 is out of range; allowed 1 to 10000"),
    ({"throttle_burst_limit": 6000}, r"throttle_burst_limit: 6000 is out of range; allowed 1 to 5000"),
])
def test_stage_throttle_out_of_range_is_rejected(args, message):
    with pytest.raises(ArgsError, match=message):
        evaluate_program(_api(public=True, **args))


def test_route_declared_twice_is_rejected():
    def program():
        function = LambdaFunction("fn", FN)
        LambdaRestApi("api", {"public": True, "routes": [ApiRoute(method="GET", path="/items", function=function),
                                                         ApiRoute(method="GET", path="/items", function=function)]})
    with pytest.raises(ArgsError, match="route GET /items is declared twice"):
        evaluate_program(program)


# --- redeployment: a stage serves its deployment's snapshot, so every change it must serve redeploys ---

POOL = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc123"
OTHER_POOL = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Xyz789"
ITEM_SCHEMA = {"type": "object", "properties": {"title": {"type": "string"}}}


def _triggers(routes=None, functions=("fn",), **args):
    """The deployment's triggers of an authorized, cached API: GET /items (cached) and POST /items."""
    def program():
        fns = {name: LambdaFunction(name, FN) for name in functions}
        table = routes or [("GET", "/items", "fn", {"cached": True, "query_parameters": ["page"]}),
                           ("POST", "/items", "fn", {"request_schema": ITEM_SCHEMA})]
        LambdaRestApi("api", {
            "routes": [ApiRoute(method=m, path=p, function=fns[f], **extra) for m, p, f, extra in table],
            "cognito_user_pool_arns": [POOL], "cache": {"size_gb": "0.5", "ttl_seconds": 60}, **args})
    return evaluate_program(program).named("api-deployment").props["triggers"]


BASE_ROUTES = [("GET", "/items", "fn", {"cached": True, "query_parameters": ["page"]}),
               ("POST", "/items", "fn", {"request_schema": ITEM_SCHEMA})]


def _routes(index, **change):
    method, path, function, extra = BASE_ROUTES[index]
    changed = {"method": method, "path": path, "function": function, **extra, **change}
    routes = list(BASE_ROUTES)
    routes[index] = (changed.pop("method"), changed.pop("path"), changed.pop("function"), changed)
    return routes


@pytest.fixture(scope="module")
def base_triggers():
    return _triggers()


@pytest.mark.parametrize("change, variant, moved", [
    ("a route is added", {"routes": BASE_ROUTES + [("DELETE", "/items/{itemId}", "fn", {})]},
     {"routes", "preflight"}),
    ("a method changes", {"routes": _routes(1, method="PUT")}, {"routes", "preflight", "requestValidation"}),
    ("another function serves a route", {"routes": _routes(0, function="fn2"), "functions": ("fn", "fn2")},
     {"routes"}),
    ("a GET stops being cached", {"routes": _routes(0, cached=False)}, {"routes"}),
    ("a query string is added", {"routes": _routes(0, query_parameters=["page", "size"])}, {"routes"}),
    ("a request model's schema changes", {"routes": _routes(1, request_schema={"type": "object", "required": ["x"]})},
     {"requestValidation"}),
    ("the CORS origin changes (gateway responses, preflight)", {"cors_allow_origin": "https://app.example.org"},
     {"gatewayResponses", "preflight"}),
    ("the authorizer's token header changes", {"token_header": "X-Id-Token"},
     {"authorizer", "routes", "gatewayResponses", "preflight"}),
    ("the authorizer's user pool changes", {"cognito_user_pool_arns": [OTHER_POOL]}, {"authorizer"}),
    ("binary media types change", {"binary_media_types": ["image/png"]}, {"binaryMediaTypes"}),
    ("the stage cache goes (cache keys of the GETs)", {"cache": None}, {"routes"}),
])
def test_every_change_a_stage_must_serve_changes_the_deployment_trigger(base_triggers, change, variant, moved):
    changed = _triggers(**variant)
    assert changed != base_triggers, change
    assert {key for key in base_triggers if changed[key] != base_triggers[key]} == moved, change


@pytest.mark.parametrize("unrelated", [{"log_retention_days": 90}, {"throttle_rate_limit": 5},
                                       {"cache": {"size_gb": "0.5", "ttl_seconds": 600}}, {"stage_name": "v2"}])
def test_a_change_the_stage_serves_without_redeploying_keeps_the_trigger(base_triggers, unrelated):
    assert _triggers(**unrelated) == base_triggers


def test_deployment_triggers_name_each_kind_of_redeploy_the_api_needs(base_triggers):
    from serverless_blueprints.rest_api import REDEPLOY_TRIGGERS

    assert sorted(base_triggers) == sorted(REDEPLOY_TRIGGERS)


def test_binary_media_types_are_set_on_the_api():
    stack = evaluate_program(_api(public=True, binary_media_types=["image/png", "application/pdf"]))
    assert stack.named("api").props["binaryMediaTypes"] == ["image/png", "application/pdf"]
    with pytest.raises(ArgsError, match=r"binary_media_types: expected a list of media types"):
        evaluate_program(_api(public=True, binary_media_types=["png"]))


# --- IAM authorization and PRIVATE endpoints --------------------------------------------------------------

VPCE = "vpce-0a1b2c3d4e5f60718"


def _uncached(function):
    return [ApiRoute(method="GET", path="/items", function=function)]


def _api_with(**args):
    def program():
        function = LambdaFunction("fn", FN)
        LambdaRestApi("api", {"routes": _uncached(function), **args})
    return program


def test_iam_api_methods_require_sigv4_and_no_authorizer_but_preflight_stays_open():
    import json

    stack = evaluate_program(_api_with(authorization="iam"))
    assert stack.named("api-GET-items").props["authorization"] == "AWS_IAM"
    assert stack.named("api-OPTIONS-items").props["authorization"] == "NONE"
    assert not stack.of_type("aws:apigateway/authorizer:Authorizer")
    assert "tags" not in stack.named("api").props  # not declared public
    log_format = json.loads(stack.named("api-stage").props["accessLogSettings"]["format"])
    assert log_format["caller"] == "$context.identity.userArn"


@pytest.mark.parametrize("args, message", [
    ({"authorization": "iam", "cognito_user_pool_arns": ["arn:aws:cognito-idp:eu-west-1:1:userpool/x"]},
     "cognito_user_pool_arns: an IAM-authorized API takes no user pools"),
    ({"public": True, "authorization": "iam"}, "authorization: a public API has no authorization"),
    ({"authorization": "sigv4"}, "authorization: .*allowed.*cognito, iam"),
])
def test_authorization_mode_conflicts_are_rejected_naming_the_arg(args, message):
    with pytest.raises(ArgsError, match=message):
        evaluate_program(_api_with(**args))


def test_iam_api_refuses_a_cached_route_it_could_not_key_by_caller():
    with pytest.raises(ArgsError, match="GET /items is cached, but an IAM-authorized API can't key"):
        evaluate_program(_api(authorization="iam", cache={"size_gb": "0.5", "ttl_seconds": 60}))


@pytest.mark.parametrize("args, message", [
    ({"endpoint_type": "PRIVATE"}, "vpc_endpoint_ids: required with endpoint_type PRIVATE"),
    ({"vpc_endpoint_ids": [VPCE]}, "vpc_endpoint_ids: only for endpoint_type PRIVATE"),
    ({"endpoint_type": "EDGE"}, "endpoint_type: .*REGIONAL, PRIVATE"),
])
def test_endpoint_type_and_its_vpc_endpoints_go_together(args, message):
    with pytest.raises(ArgsError, match=message):
        evaluate_program(_api_with(authorization="iam", **args))


def test_private_iam_api_only_denies_calls_that_skip_its_vpc_endpoints():
    """Same account, IAM auth: an Allow in the resource policy would admit every signed principal."""
    import json

    stack = evaluate_program(_api_with(authorization="iam", endpoint_type="PRIVATE", vpc_endpoint_ids=[VPCE]))
    api = stack.named("api")
    assert api.props["endpointConfiguration"] == {"types": "PRIVATE", "vpcEndpointIds": [VPCE]}
    (statement,) = json.loads(api.props["policy"])["Statement"]
    assert (statement["Effect"], statement["Condition"]) == ("Deny", {"StringNotEquals": {"aws:SourceVpce": [VPCE]}})


def test_private_cognito_api_also_allows_calls_through_its_vpc_endpoints():
    import json

    stack = evaluate_program(_api_with(cognito_user_pool_arns=[POOL], endpoint_type="PRIVATE",
                                       vpc_endpoint_ids=[VPCE]))
    statements = json.loads(stack.named("api").props["policy"])["Statement"]
    assert [(s["Effect"], s["Condition"]) for s in statements] == [
        ("Deny", {"StringNotEquals": {"aws:SourceVpce": [VPCE]}}),
        ("Allow", {"StringEquals": {"aws:SourceVpce": [VPCE]}})]


def test_regional_api_has_no_resource_policy():
    stack = evaluate_program(_api_with(authorization="iam"))
    assert stack.named("api").props["endpointConfiguration"] == {"types": "REGIONAL"}
    assert "policy" not in stack.named("api").props


@pytest.mark.parametrize("change", [{"authorization": "iam", "cognito_user_pool_arns": None, "cache": None},
                                    {"endpoint_type": "PRIVATE", "vpc_endpoint_ids": [VPCE]}])
def test_switching_to_iam_or_private_redeploys_the_stage(change):
    routes = [("GET", "/items", "fn", {"query_parameters": ["page"]}), BASE_ROUTES[1]]
    plain = _triggers(routes=routes, cache=None)
    changed = _triggers(routes=routes, **{"cache": None, **change})
    assert {key for key in plain if changed[key] != plain[key]} == {"authorizer"}
