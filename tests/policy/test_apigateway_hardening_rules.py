"""SB-APIGW-020, SB-APIGW-021, SB-COGNITO-010, SB-CONFIG-001: a compliant and a non-compliant fixture each."""
from types import SimpleNamespace

import pytest

from policy import UNKNOWN, Provider, Resource, rule_by_id
from policy.registry import ADVISORY, MANDATORY, MANDATORY_IN_PROD
from policy.tokens import API_ACCOUNT, AUTHORIZER, DEPLOYMENT, REST_API, USER_POOL


def aws_provider(environment: str) -> Provider:
    tags = '{"tags": {"project": "serverless-blueprints", "stack": "%s", "environment": "%s"}}' % (environment, environment)
    return Provider(props={"region": "eu-west-1", "defaultTags": tags}, urn=f"urn:provider::{environment}",
                    name=f"aws-{environment}")

RESPONSE = "aws:apigateway/response:Response"
API = Resource(REST_API, {"id": "api1", "rootResourceId": "root1", "name": "todo"}, name="todo-api")
OTHER_API = Resource(REST_API, {"id": "api2", "rootResourceId": "root2", "name": "other"}, name="other-api")
COVERED = {"routes": "1a", "authorizer": "2b", "gatewayResponses": "3c"}


def deployment(triggers=COVERED, api="api1"):
    props = {"restApi": api} | ({"triggers": triggers} if triggers is not None else {})
    return Resource(DEPLOYMENT, props, name=f"{api}-deployment")


def response(api="api1", kind="DEFAULT_4XX"):
    return Resource(RESPONSE, {"restApiId": api, "responseType": kind,
                               "responseParameters": {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}},
                    name=f"{api}-{kind.lower()}")


def authorizer(api="api1"):
    return Resource(AUTHORIZER, {"restApi": api, "type": "COGNITO_USER_POOLS",
                                 "identitySource": "method.request.header.Authorization"}, name=f"{api}-cognito")


# SB-APIGW-020 deployment triggers cover gateway responses and authorizers

def test_triggers_that_cover_responses_and_the_authorizer_pass(violations):
    assert violations("SB-APIGW-020", API, deployment(), response(), response(kind="DEFAULT_5XX"), authorizer()) == []


def test_a_route_table_trigger_alone_misses_responses_and_the_authorizer(violations):
    assert violations("SB-APIGW-020", API, deployment({"routes": "1a"}), response(), authorizer()) == [
        "triggers have no 'gatewayResponses' entry, so changes to api1-default_4xx are not redeployed (the stage "
        "keeps serving the old ones)",
        "triggers have no 'authorizer' entry, so changes to api1-cognito are not redeployed (the stage keeps "
        "serving the old ones)"]


def test_a_deployment_without_triggers_is_reported(violations):
    assert len(violations("SB-APIGW-020", API, deployment(None), response())) == 1


def test_another_apis_responses_and_unknown_triggers_are_not_reported(violations):
    assert violations("SB-APIGW-020", API, OTHER_API, deployment({"routes": "1a"}), response("api2"),
                      authorizer("api2")) == []
    assert violations("SB-APIGW-020", API, deployment(UNKNOWN), response()) == []


def test_an_api_without_responses_or_authorizers_needs_no_such_trigger(violations):
    assert violations("SB-APIGW-020", API, deployment({"routes": "1a"})) == []


# SB-APIGW-021 the account setting is retained on delete

def account(retain):
    resource = Resource(API_ACCOUNT, {"cloudwatchRoleArn": "arn:aws:iam::1:role/apigw"}, name="apigateway-logging")
    if retain is not None:
        resource.opts = SimpleNamespace(retain_on_delete=retain)
    return resource


def test_a_retained_account_setting_passes(violations):
    assert violations("SB-APIGW-021", account(True)) == []


def test_an_account_setting_deleted_with_its_stack_is_reported(violations):
    assert violations("SB-APIGW-021", account(False)) == [
        "not retained on delete: destroying this stack resets the account's API Gateway logging"]


def test_crossguard_options_without_retain_on_delete_are_not_judged(violations):
    """pulumi_policy's PolicyResourceOptions has no retain_on_delete: the rule can't tell, so it stays silent."""
    assert violations("SB-APIGW-021", account(None)) == []


# SB-COGNITO-010 user pools send through SES

SES = {"emailSendingAccount": "DEVELOPER", "sourceArn": "arn:aws:ses:eu-west-1:1:identity/mycompany.io",
       "fromEmailAddress": "no-reply@mycompany.io"}


def pool(email=None, environment="prod"):
    return Resource(USER_POOL, {"name": "todo-users"} | ({"emailConfiguration": email} if email else {}),
                    name="todo-users", provider=aws_provider(environment))


def test_a_pool_sending_through_ses_passes(violations):
    assert violations("SB-COGNITO-010", pool(SES), environment="prod") == []


@pytest.mark.parametrize("email, message", [
    (None, "email sending account is COGNITO_DEFAULT (default)"),
    ({"emailSendingAccount": "COGNITO_DEFAULT"}, "email sending account is COGNITO_DEFAULT"),
    ({"emailSendingAccount": "DEVELOPER"}, "DEVELOPER email without a sourceArn (SES identity)"),
])
def test_a_pool_on_cognitos_capped_email_is_reported(violations, email, message):
    assert violations("SB-COGNITO-010", pool(email), environment="prod") == [message]


def test_unknown_email_configuration_is_not_reported(violations):
    assert violations("SB-COGNITO-010", pool(UNKNOWN), environment="prod") == []


def test_cognitos_email_blocks_prod_and_only_advises_dev():
    rule = rule_by_id("SB-COGNITO-010")
    assert rule.level == MANDATORY_IN_PROD
    assert (rule.level_for("prod"), rule.level_for("dev")) == (MANDATORY, ADVISORY)


# SB-CONFIG-001 no example placeholders in prod

def certificate(domain, environment="prod", name="site-cert"):
    return Resource("aws:acm/certificate:Certificate", {"domainName": domain, "validationMethod": "DNS"},
                    name=name, provider=aws_provider(environment))


def record(zone, environment="prod"):
    return Resource("aws:route53/record:Record", {"zoneId": zone, "name": "_x.blog.mycompany.io.", "type": "CNAME"},
                    name="site-cert-validation", provider=aws_provider(environment))


def test_real_prod_values_pass(violations):
    assert violations("SB-CONFIG-001", certificate("blog.mycompany.io"), record("Z08472771QKXR9V2A1B3C"),
                      environment="prod") == []


def test_example_values_in_prod_are_reported_once_per_kind(violations):
    found = violations("SB-CONFIG-001", certificate("blog.example.com"),
                       certificate("media.example.com", name="media-cert"), record("Z0123456789EXAMPLE"),
                       environment="prod")
    assert found == ["domainName is an example.com domain ('blog.example.com'), and 1 more resource inputs",
                     "zoneId is the example Route 53 zone id ('Z0123456789EXAMPLE')"]


def test_dev_may_keep_example_values(violations):
    assert violations("SB-CONFIG-001", certificate("blog.example.com", "dev"), environment="dev") == []


def test_levels_keep_the_real_stacks_deployable():
    """SES email is mandatory in prod only (dev's SES is in the sandbox); placeholders are advisory: the config guard
    refuses a real prod preview with placeholders."""
    assert rule_by_id("SB-APIGW-020").level == MANDATORY and rule_by_id("SB-APIGW-021").level == MANDATORY
    assert rule_by_id("SB-COGNITO-010").level == MANDATORY_IN_PROD and rule_by_id("SB-CONFIG-001").level == ADVISORY


# On the real stacks

def test_the_real_deployments_cover_their_responses_and_authorizers(prod_stack, dev_stack):
    from offline.report import evaluate_snapshot

    for stack in (prod_stack, dev_stack):
        report = evaluate_snapshot(stack)
        assert report.for_rule("SB-APIGW-020") == [] and report.for_rule("SB-APIGW-021") == []


def test_every_prod_pool_sends_through_ses(prod_stack):
    from offline.report import evaluate_snapshot

    pools = {pool.name for pool in prod_stack.of_type(USER_POOL)}
    assert {"todo-users", "outbox-users", "media-users", "blog-authoring-users"} <= pools
    assert evaluate_snapshot(prod_stack).for_rule("SB-COGNITO-010") == []


def test_dev_pools_on_cognitos_email_are_advisory_only(dev_stack):
    from offline.report import evaluate_snapshot

    findings = evaluate_snapshot(dev_stack).for_rule("SB-COGNITO-010")
    assert findings and all(finding.level == ADVISORY for finding in findings)


def test_prod_template_placeholders_are_reported_by_the_offline_plan(prod_stack):
    from offline.report import evaluate_snapshot

    messages = [finding.message for finding in evaluate_snapshot(prod_stack).for_rule("SB-CONFIG-001")]
    assert any("example Route 53 zone id" in m for m in messages) and any("example.com" in m for m in messages)
