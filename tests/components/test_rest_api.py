"""LambdaRestApi guards and the public-API variant (the authorized variant is covered via ServerlessRestApi)."""
import pytest

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
    with pytest.raises(ValueError, match="is not a resource path"):
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
