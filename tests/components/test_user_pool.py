"""The user pool building block's hosted sign-in (OAuth 2.0 code grant + PKCE), under mocks and through the stacks.

Every guard of `read_oauth` is made to fire; the app client's flows, scopes and URLs are asserted on its
actual inputs; the pools of the other components keep SRP only.
"""
import json

import pulumi
import pytest

from offline.harness import evaluate_program
from serverless_blueprints.args import ArgsError
from serverless_blueprints.serverless_rest_api import ServerlessRestApi
from serverless_blueprints.user_pool import (DOMAIN_PREFIX_LIMIT, callback_url_problem, default_domain_prefix,
                                             is_domain_prefix, user_pool_with_app_client)

APP = {"callback_urls": ["mytodolist://callback"], "logout_urls": ["mytodolist://signout"]}
US_EAST_1_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"


def _todo(oauth: dict):
    def program():
        todo = ServerlessRestApi("todo", {"oauth": oauth})
        pulumi.export("config", todo.client_config)
    return evaluate_program(program)


@pytest.fixture(scope="module")
def hosted():
    return _todo(APP)


# --- the app client: the code grant only, explicit scopes and URLs; SRP, refresh and revocation unchanged ---

def test_mobile_client_allows_only_the_code_grant_with_explicit_scopes_and_urls(hosted):
    client = hosted.named("todo-mobile-client").props
    assert client["allowedOauthFlows"] == ["code"]
    assert client["allowedOauthFlowsUserPoolClient"] is True
    assert client["allowedOauthScopes"] == ["openid", "email"]
    assert client["callbackUrls"] == ["mytodolist://callback"]
    assert client["logoutUrls"] == ["mytodolist://signout"]
    assert client["supportedIdentityProviders"] == ["COGNITO"]


def test_hosted_sign_in_keeps_the_client_public_with_srp_refresh_and_revocation(hosted):
    client = hosted.named("todo-mobile-client").props
    assert client["generateSecret"] is False
    assert sorted(client["explicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]
    assert client["enableTokenRevocation"] is True
    assert (client["accessTokenValidity"], client["idTokenValidity"], client["refreshTokenValidity"]) == (60, 60, 30)
    assert client["preventUserExistenceErrors"] == "ENABLED"


def test_without_oauth_the_client_has_no_hosted_sign_in_and_the_pool_no_domain():
    stack = evaluate_program(lambda: ServerlessRestApi("bare"))
    client = stack.named("bare-mobile-client").props
    assert not {key for key in client if "oauth" in key.lower() or key in ("callbackUrls", "logoutUrls")}
    assert not stack.of_type("aws:cognito/userPoolDomain:UserPoolDomain")


def test_other_components_pools_keep_srp_only():
    def program():
        holder = pulumi.ComponentResource("test:index:Holder", "holder")
        user_pool_with_app_client("pool", "client", parent=holder, deletion_protection=False)

    client = evaluate_program(program).named("client").props
    assert client.get("allowedOauthFlows") is None and client.get("callbackUrls") is None
    assert sorted(client["explicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"]


# --- the domain and the client config an app loads -----------------------------------------------------------

def test_prefix_domain_is_derived_from_project_stack_and_name(hosted):
    domain = hosted.named("todo-sign-in-domain").props
    assert domain["domain"] == "serverless-blueprints-unit-todo"
    assert domain["userPoolId"] == hosted.named("todo-users").outputs["id"]
    assert domain["managedLoginVersion"] == 1
    assert "certificateArn" not in domain


def test_client_config_gives_the_endpoints_scopes_and_redirect_uris(hosted):
    oauth = json.loads(hosted.exports["config"])["auth"]["oauth"]
    base = "https://serverless-blueprints-unit-todo.auth.eu-west-1.amazoncognito.com"
    assert oauth["domain"] == base
    assert (oauth["authorizeEndpoint"], oauth["tokenEndpoint"], oauth["logoutEndpoint"], oauth["revokeEndpoint"]) == (
        f"{base}/oauth2/authorize", f"{base}/oauth2/token", f"{base}/logout", f"{base}/oauth2/revoke")
    assert (oauth["responseType"], oauth["codeChallengeMethod"]) == ("code", "S256")
    assert oauth["scopes"] == ["openid", "email"]
    assert oauth["redirectUris"] == {"signIn": ["mytodolist://callback"], "signOut": ["mytodolist://signout"]}


def test_without_oauth_the_client_config_has_no_oauth_section():
    def program():
        pulumi.export("config", ServerlessRestApi("bare").client_config)

    assert "oauth" not in json.loads(evaluate_program(program).exports["config"])["auth"]


def test_a_domain_prefix_override_is_used_as_given():
    stack = _todo({**APP, "domain_prefix": "mytodolist-login"})
    assert stack.named("todo-sign-in-domain").props["domain"] == "mytodolist-login"
    assert json.loads(stack.exports["config"])["auth"]["oauth"]["tokenEndpoint"] == (
        "https://mytodolist-login.auth.eu-west-1.amazoncognito.com/oauth2/token")


def test_custom_domain_uses_the_us_east_1_certificate_and_aliases_cognitos_distribution():
    stack = _todo({**APP, "custom_domain": {"domain_name": "auth.mytodolist.app", "certificate_arn": US_EAST_1_CERT,
                                            "hosted_zone_id": "Z0123456789ABCDEFGHIJ"}})
    domain = stack.named("todo-sign-in-domain")
    assert (domain.props["domain"], domain.props["certificateArn"]) == ("auth.mytodolist.app", US_EAST_1_CERT)
    for record_type in ("A", "AAAA"):
        record = stack.named(f"todo-sign-in-alias-{record_type.lower()}").props
        assert (record["name"], record["type"], record["zoneId"]) == (
            "auth.mytodolist.app", record_type, "Z0123456789ABCDEFGHIJ")
        assert record["aliases"][0]["name"] == domain.outputs["cloudfrontDistribution"]
        assert record["aliases"][0]["zoneId"] == "Z2FDTNDATAQYW2"
    oauth = json.loads(stack.exports["config"])["auth"]["oauth"]
    assert oauth["authorizeEndpoint"] == "https://auth.mytodolist.app/oauth2/authorize"


def test_custom_domain_without_a_zone_leaves_dns_to_you():
    stack = _todo({**APP, "custom_domain": {"domain_name": "auth.mytodolist.app", "certificate_arn": US_EAST_1_CERT}})
    assert stack.named("todo-sign-in-domain").props["domain"] == "auth.mytodolist.app"
    assert not stack.of_type("aws:route53/record:Record")


# --- guards ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, localhost", [
    ("mytodolist://callback", False),
    ("com.example.todo:/oauth2redirect", False),
    ("https://app.mytodolist.app/callback", False),
    ("http://localhost:3000/callback", True),
])
def test_callback_urls_cognito_and_we_accept(url, localhost):
    assert callback_url_problem(url, localhost) is None


@pytest.mark.parametrize("url, localhost, problem", [
    ("http://app.mytodolist.app/callback", True, "uses http"),
    ("http://localhost:3000/callback", False, "uses http"),
    ("http://127.0.0.1:3000/callback", True, "uses http"),
    ("https://*.mytodolist.app/callback", False, "wildcard"),
    ("mytodolist://*", False, "wildcard"),
    ("https://app.mytodolist.app/callback#done", False, "fragment"),
    ("javascript:alert(1)", False, "javascript: scheme"),
    ("callback", False, "not an absolute URL"),
    ("mytodolist://", False, "nothing after it"),
    ("https://user@app.mytodolist.app/callback", False, "user info"),
    ("https://app.mytodolist.app/" + "x" * 1024, False, "longer than 1024"),
])
def test_callback_urls_that_would_leak_a_code_are_refused(url, localhost, problem):
    assert problem in callback_url_problem(url, localhost)


@pytest.mark.parametrize("oauth, message", [
    ({"callback_urls": ["http://mytodolist.app/callback"]},
     (r"oauth\.callback_urls: 'http://mytodolist\.app/callback' uses http: only http://localhost is allowed, and only "
      r"with allow_localhost_http")),
    ({"callback_urls": ["http://localhost:3000/callback"]}, r"oauth\.callback_urls: .* uses http"),
    ({**APP, "logout_urls": ["https://*.mytodolist.app/"]}, r"oauth\.logout_urls: .* has a wildcard"),
    ({"callback_urls": []}, r"oauth\.callback_urls: expected a list of URLs"),
    ({"logout_urls": ["mytodolist://signout"]}, r"oauth\.callback_urls: required"),
    ({**APP, "scopes": ["email"]}, r"oauth\.scopes: must include openid"),
    ({**APP, "scopes": ["openid", "todo-api/todos"]}, r"oauth\.scopes: expected scopes among openid, email, profile"),
    ({**APP, "domain_prefix": "my-aws-login"}, r"oauth\.domain_prefix: expected lowercase letters, digits and hyphens"),
    ({**APP, "domain_prefix": "MyTodoList"}, r"oauth\.domain_prefix: expected lowercase"),
    ({**APP, "domain_prefix": "-todo"}, r"oauth\.domain_prefix: expected lowercase"),
    ({**APP, "domain_prefix": "t" * 64}, r"oauth\.domain_prefix: expected lowercase"),
    ({**APP, "custom_domain": {"domain_name": "auth.mytodolist.app",
                               "certificate_arn": US_EAST_1_CERT.replace("us-east-1", "eu-west-1")}},
     r"oauth\.custom_domain\.certificate_arn: expected an ACM certificate ARN in us-east-1"),
    ({**APP, "custom_domain": {"domain_name": "https://auth.mytodolist.app", "certificate_arn": US_EAST_1_CERT}},
     r"oauth\.custom_domain\.domain_name: expected a hostname"),
    ({**APP, "custom_domain": {"domain_name": "auth.mytodolist.app", "certificate_arn": US_EAST_1_CERT},
      "domain_prefix": "mytodolist"}, r"oauth\.domain_prefix: set either domain_prefix or custom_domain"),
    ({**APP, "implicit": True}, r"oauth\.implicit: unknown arg"),
])
def test_oauth_settings_cognito_or_we_would_refuse_are_rejected_naming_the_arg(oauth, message):
    with pytest.raises(ArgsError, match=r"ServerlessRestApi 'todo': " + message):
        evaluate_program(lambda: ServerlessRestApi("todo", {"oauth": oauth}))


def test_domain_prefix_rules():
    assert is_domain_prefix("mytodolist-login") and is_domain_prefix("a" * DOMAIN_PREFIX_LIMIT)
    for bad in ("a" * (DOMAIN_PREFIX_LIMIT + 1), "amazon-todo", "my-cognito", "todo-", "to_do", ""):
        assert not is_domain_prefix(bad), bad


def test_default_domain_prefix_is_valid_deterministic_and_distinct():
    assert default_domain_prefix("serverless-blueprints", "dev", "todo") == "serverless-blueprints-dev-todo"
    assert is_domain_prefix(default_domain_prefix("AWS_Cognito_Demo", "Prod", "todo"))
    long = default_domain_prefix("a-very-long-project-name-for-the-mobile-backend", "production-eu", "todo-api")
    assert len(long) <= DOMAIN_PREFIX_LIMIT and is_domain_prefix(long)
    assert long == default_domain_prefix("a-very-long-project-name-for-the-mobile-backend", "production-eu", "todo-api")
    assert long != default_domain_prefix("a-very-long-project-name-for-the-mobile-backend", "production-us", "todo-api")


# --- the stacks: per-environment URLs live in the YAML ---------------------------------------------------------

def test_dev_stack_allows_a_localhost_web_client_and_prod_only_the_apps_scheme(dev_stack, prod_stack):
    dev = dev_stack.named("todo-mobile-client").props
    prod = prod_stack.named("todo-mobile-client").props
    assert dev["callbackUrls"] == ["mytodolist://callback", "http://localhost:3000/callback"]
    assert prod["callbackUrls"] == ["mytodolist://callback"] and prod["logoutUrls"] == ["mytodolist://signout"]
    assert prod["allowedOauthFlows"] == ["code"] and prod["allowedOauthScopes"] == ["openid", "email"]


def test_stack_client_config_exports_the_hosted_sign_in(prod_stack):
    oauth = json.loads(prod_stack.exports["todoClientConfig"])["auth"]["oauth"]
    assert oauth["tokenEndpoint"] == (
        "https://serverless-blueprints-prod-todo.auth.eu-west-1.amazoncognito.com/oauth2/token")
    assert oauth["redirectUris"]["signIn"] == ["mytodolist://callback"]


def test_a_localhost_callback_is_refused_unless_the_yaml_allows_it_naming_the_key():
    """The flag, set only in Pulumi.dev.yaml, decides; the stack's environment is no input to the rule."""
    import stack_config

    oauth = {"callbackUrls": ["mytodolist://callback", "http://localhost:3000/callback"]}
    refused = r"serverless-blueprints:todoApi\.oauth\.callbackUrls: 'http://localhost:3000/callback' uses http"
    with pytest.raises(stack_config.ConfigError, match=refused + r".*allowLocalhostHttp"):
        stack_config.parse({"environment": "dev", "todoApi": {"oauth": oauth}}, "eu-west-1")
    allowed = stack_config.parse({"environment": "dev", "todoApi": {"oauth": {**oauth, "allowLocalhostHttp": True}}},
                                 "eu-west-1")
    assert allowed.todo_api["oauth"]["callback_urls"] == oauth["callbackUrls"]
