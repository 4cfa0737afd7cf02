"""Stack config: typed settings, and errors that name the key and the allowed values."""
import pytest

import stack_config
from offline.harness import read_stack_config
from stack_config import ConfigError, parse


def _parse(**raw):
    return parse({"environment": "dev", **raw}, "eu-west-1")


def parse_stack_yaml(stack: str):
    """Pulumi.<stack>.yaml as load() reads it."""
    config = read_stack_config(stack)
    prefix = f"{stack_config.NAMESPACE}:"
    return parse({k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}, config["aws:region"])


def _todo(settings):
    from serverless_blueprints.serverless_rest_api import resolve_args

    return resolve_args("todo", settings.todo_api)


def test_dev_defaults_are_cheap():
    settings = _parse(todoApi={"enabled": True})
    assert _todo(settings).cache is None and _todo(settings).dax is None
    assert settings.log_retention_days == 7 and settings.deletion_protection is False


PROD_EMAIL = {"sourceArn": "arn:aws:ses:eu-west-1:210987654321:identity/mycompany.io",
              "fromAddress": "no-reply@mycompany.io"}


def test_prod_stack_rules_are_hardened():
    settings = parse({"environment": "prod", "todoApi": {"enabled": True, "email": PROD_EMAIL}}, "eu-west-1")
    assert {k: v for k, v in settings.todo_api.items() if k != "email"} == {"log_retention_days": 365,
                                                                            "deletion_protection": True}
    assert settings.log_retention_days == 365 and settings.deletion_protection is True


def test_prod_yaml_turns_on_the_cache_and_dax_and_throttles_tighter():
    prod, dev = (parse_stack_yaml(stack) for stack in ("prod", "dev"))
    assert _todo(prod).cache.ttl_seconds == 300 and _todo(prod).dax.nodes == 3
    assert _todo(prod).function.memory_mb == 512 and _todo(dev).function.memory_mb == 256
    assert _todo(prod).throttle.rate_limit < _todo(dev).throttle.rate_limit


def test_disabled_component_is_not_deployed():
    assert _parse(todoApi={"enabled": False}).todo_api is None
    assert _parse().todo_api is None


@pytest.mark.parametrize("raw, message", [
    ({"environment": "qa"}, "serverless-blueprints:environment: 'qa' is not allowed; allowed values: dev, prod"),
    ({"environment": "dev", "colour": "blue"}, "serverless-blueprints:colour: unknown key; known keys here:"),
    ({"environment": "dev", "logRetentionDays": 10}, "serverless-blueprints:logRetentionDays: 10 is not allowed"),
    ({"environment": "dev", "todoApi": {"enabled": "yes"}}, "todoApi.enabled: expected true or false"),
    ({"environment": "dev", "todoApi": {"enabled": True, "cache": {"enabled": True, "ttlSeconds": 7200}}},
     "todoApi.cache.ttlSeconds: 7200 is out of range; allowed 0 to 3600"),
    ({"environment": "dev", "todoApi": {"enabled": True, "cache": {"enabled": True, "sizeGb": 2}}},
     "todoApi.cache.sizeGb: '2' is not allowed; allowed values: 0.5, 1.6, 6.1"),
    ({"environment": "dev", "todoApi": {"enabled": True, "cache": {"enabled": True, "ttlSeconds": "300"}}},
     "todoApi.cache.ttlSeconds: expected a whole number"),
    ({"environment": "dev", "todoApi": {"enabled": True, "dax": {"enabled": True, "nodeType": "dax.t2.micro"}}},
     "todoApi.dax.nodeType: 'dax.t2.micro' is not allowed; allowed values: dax.t3.small"),
    ({"environment": "dev", "todoApi": {"enabled": True, "dax": {"enabled": True, "nodez": 3}}},
     "todoApi.dax.nodez: unknown key"),
    ({"environment": "dev", "todoApi": {"enabled": True, "dax": {"enabled": True, "subnetIds": ["sn-1"]}}},
     "todoApi.dax.subnetIds: expected a list of subnet ids"),
    ({"environment": "dev", "todoApi": {"enabled": True, "dax": {"enabled": True, "vpcCidr": "10.20.0.0/24"}}},
     "todoApi.dax.vpcCidr: expected an IPv4 /16 CIDR"),
    ({"environment": "dev", "todoApi": {"enabled": True, "dax": {"enabled": True, "vpcCidr": "10.300.0.0/16"}}},
     "todoApi.dax.vpcCidr: expected an IPv4 /16 CIDR"),
    ({"environment": "dev", "todoApi": {"enabled": True, "function": {"timeoutSeconds": 29}}},
     "todoApi.function.timeoutSeconds: 29 is out of range; allowed 1 to 28"),
    ({"environment": "dev", "todoApi": {"enabled": True, "urlExpirySeconds": 3600}},
     "todoApi.urlExpirySeconds: 3600 is out of range; allowed 1 to 900"),
    ({"environment": "dev", "todoApi": {"enabled": True, "mfa": "SOMETIMES"}},
     "todoApi.mfa: 'SOMETIMES' is not allowed; allowed values: OFF, OPTIONAL, ON"),
])
def test_bad_value_names_the_key_and_the_allowed_values(raw, message):
    with pytest.raises(ConfigError) as error:
        parse(raw, "eu-west-1")
    assert message in str(error.value)


def test_cache_size_written_as_a_yaml_number_is_accepted():
    settings = _parse(todoApi={"enabled": True, "cache": {"enabled": True, "sizeGb": 0.5}})
    assert _todo(settings).cache.size_gb == "0.5"


# --- the stack core and the component sections mapped onto their args (todoApi, outbox, thumbnails) ---

@pytest.mark.parametrize("region", ["eu-west", "EU-WEST-1", "", None, "mars-north-1"])
def test_invalid_region_names_aws_region(region):
    with pytest.raises(ConfigError, match=r"^aws:region: "):
        parse({"environment": "dev"}, region)


def test_section_present_without_enabled_is_deployed_with_the_components_defaults():
    assert _parse(todoApi={}).todo_api == {"log_retention_days": 7, "deletion_protection": False}


def test_section_with_enabled_false_is_not_deployed():
    assert _parse(todoApi={"enabled": False}).todo_api is None


def test_section_that_is_not_an_object_is_refused():
    with pytest.raises(ConfigError, match=r"serverless-blueprints:todoApi: expected an object"):
        _parse(todoApi=True)


def test_misspelled_section_is_an_unknown_key_not_a_missing_component():
    with pytest.raises(ConfigError, match=r"serverless-blueprints:thumbnail: unknown key; known keys here:.*thumbnails"):
        _parse(thumbnail={})


@pytest.mark.parametrize("section, key", [("todoApi", "enable"), ("outbox", "enabeld"), ("thumbnails", "enable")])
def test_misspelled_enabled_is_refused_naming_the_key(section, key):
    with pytest.raises(ConfigError, match=rf"serverless-blueprints:{section}\.{key}: unknown key \(did you mean "
                                          rf"'enabled'\?\)"):
        _parse(**{section: {key: True}})


def test_key_beside_enabled_false_is_refused_naming_it():
    with pytest.raises(ConfigError, match=r"serverless-blueprints:todoApi\.cache\.ttlSeconds: belongs to "
                                          r"serverless-blueprints:todoApi\.cache, which is disabled \(enabled: false\)"):
        _parse(todoApi={"cache": {"enabled": False, "ttlSeconds": 60}})


def test_section_may_set_its_own_retention_and_protection():
    args = _parse(todoApi={"logRetentionDays": 30, "deletionProtection": True}).todo_api
    assert (args["log_retention_days"], args["deletion_protection"]) == (30, True)


def test_section_args_are_checked_by_the_component_with_the_yaml_key():
    with pytest.raises(ConfigError, match=r"^serverless-blueprints:todoApi\.cache\.ttlSeconds: 99999 is out of range; "
                                          r"allowed 0 to 3600$"):
        _parse(todoApi={"cache": {"ttlSeconds": 99999}})


def test_unknown_key_lists_the_allowed_ones_in_camel_case():
    with pytest.raises(ConfigError, match=r"serverless-blueprints:todoApi\.lambda: unknown key; allowed: "
                                          r"alarms, allowedContentTypes, apiVersions, cache, canary, cloudwatchAccount, corsOrigins, dax, "
                                          r"deletionProtection, deprecation, email, function"):
        _parse(todoApi={"lambda": {"memoryMb": 512}})


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_yaml_sections_are_exactly_component_args(stack):
    settings = parse_stack_yaml(stack)
    assert settings.todo_api and settings.outbox and settings.thumbnails
    assert not any(key in args for args in (settings.todo_api, settings.outbox, settings.thumbnails)
                   for key in ("enabled", "lambda"))


# --- blog and updateCdn: each part is exactly its component's args ---------------------------------

SITE, EMAIL = {"contentDir": "site"}, {"identity": "b@example.com"}
BLOG_PARTS = {"site": "StaticSiteArgs", "api": "BlogApiArgs", "table": "GlobalTableArgs", "email": "WelcomeEmailArgs",
              "authoring": "BlogAuthoringArgs"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_blog_and_update_cdn_sections_are_exactly_component_args(stack):
    from serverless_blueprints import (blog_api, blog_authoring, global_table, static_site, update_offload_cdn,
                                       welcome_email)
    from serverless_blueprints.args import arg_names

    settings = parse_stack_yaml(stack)
    modules = {"site": static_site, "api": blog_api, "table": global_table, "email": welcome_email,
               "authoring": blog_authoring}
    assert set(settings.blog) == set(BLOG_PARTS)
    for part, args_type in BLOG_PARTS.items():
        declared, _ = arg_names(getattr(modules[part], args_type))
        assert set(settings.blog[part]) <= set(declared), part
    declared, _ = arg_names(update_offload_cdn.UpdateOffloadCdnArgs)
    assert set(settings.update_cdn) <= set(declared)
    # What __main__ wires is never in the settings.
    assert "us_east_1_provider" not in settings.update_cdn and "us_east_1_provider" not in settings.blog["site"]
    assert "replica_providers" not in settings.blog["table"] and "table_arn" not in settings.blog["email"]


def test_stack_yaml_states_the_per_environment_blog_differences():
    dev, prod = parse_stack_yaml("dev").blog, parse_stack_yaml("prod").blog
    assert (dev["site"]["waf"], prod["site"]["waf"]) == (None, {"rate_limit": 1000})
    assert (dev["api"]["cache"], prod["api"]["cache"]) == (None, {"size_gb": "0.5"})
    assert (dev["api"]["posts_max_age_seconds"], prod["api"]["posts_max_age_seconds"]) == (60, 300)
    assert (dev["api"]["throttle_rate_limit"], prod["api"]["throttle_rate_limit"]) == (20, 100)
    assert (dev["table"]["kms"], prod["table"]["kms"]) == ("aws-managed", "customer-managed")
    assert prod["table"]["min_replica_regions"] == 2 and "min_replica_regions" not in dev["table"]


def test_stack_adds_only_stack_things_to_the_blog():
    prod = parse_stack_yaml("prod")
    assert prod.blog["table"]["home_region"] == prod.region
    assert {part: args.get("deletion_protection") for part, args in prod.blog.items()} == {
        "site": True, "api": None, "table": True, "email": True, "authoring": True}
    assert (prod.blog["api"]["log_retention_days"], prod.blog["email"]["log_retention_days"]) == (365, 365)


def test_the_blog_authoring_api_is_optional():
    from serverless_blueprints.blog_authoring import BlogAuthoringArgs  # noqa: F401  (the section's args type)

    blog = {"enabled": True, "site": {**SITE, "languages": ["en", "fr"]}, "email": EMAIL}
    assert "authoring" not in _parse(blog=blog).blog
    assert "authoring" not in _parse(blog={**blog, "authoring": {"enabled": False}}).blog
    assert _parse(blog={**blog, "authoring": {"mfa": "ON"}}).blog["authoring"] == {"mfa": "ON",
                                                                                  "log_retention_days": 7,
                                                                                  "deletion_protection": False}


@pytest.mark.parametrize("authoring, message", [
    ({"distributionId": "E1"}, r"^serverless-blueprints:blog\.authoring\.distributionId: set by __main__"),
    ({"postPagePaths": ["/posts/*"]}, r"^serverless-blueprints:blog\.authoring\.postPagePaths: expected viewer path "),
    ({"authorsGroup": "a b"}, r"^serverless-blueprints:blog\.authoring\.authorsGroup: expected a Cognito group name"),
])
def test_blog_authoring_errors_name_the_yaml_key(authoring, message):
    with pytest.raises(ConfigError, match=message):
        _parse(blog={"enabled": True, "site": {**SITE, "languages": ["en", "fr"]}, "email": EMAIL,
                     "authoring": authoring})


def test_disabled_blog_and_update_cdn_are_not_deployed():
    settings = _parse(blog={"enabled": False}, updateCdn={"enabled": False})
    assert settings.blog is None and settings.update_cdn is None
    assert _parse().blog is None and _parse().update_cdn is None


@pytest.mark.parametrize("raw, message", [
    ({"blog": {"enabled": True, "site": SITE, "email": EMAIL, "api": {"postsMaxAgeSeconds": 0}}},
     r"^serverless-blueprints:blog\.api\.postsMaxAgeSeconds: 0 is out of range; allowed 1 to 3600$"),
    ({"blog": {"enabled": True, "site": SITE, "email": EMAIL, "table": {"kms": "mine"}}},
     r"^serverless-blueprints:blog\.table\.kms: 'mine' is not allowed; allowed values: aws-owned, aws-managed, "
     r"customer-managed$"),
    ({"blog": {"enabled": True, "email": EMAIL, "site": {"contentDir": "nowhere"}}},
     r"^serverless-blueprints:blog\.site\.contentDir: 'nowhere' is not a folder"),
    ({"blog": {"enabled": False, "site": {}}}, r"serverless-blueprints:blog\.site: belongs to serverless-blueprints:blog, "
                                               r"which is disabled"),
    ({"updateCdn": {"enabled": True, "originDomainName": "o.example.com", "lockDown": {"enabled": False},
                    "minTtlSeconds": -1}},
     r"^serverless-blueprints:updateCdn\.minTtlSeconds: -1 is out of range; allowed 0 to 31536000$"),
])
def test_blog_and_update_cdn_errors_name_the_yaml_key(raw, message):
    with pytest.raises(ConfigError, match=message):
        _parse(**raw)


def test_stack_with_an_invalid_region_fails_naming_aws_region():
    from offline.harness import evaluate_stack

    config = read_stack_config("dev")
    config["aws:region"] = "eu-west"
    with pytest.raises(ConfigError, match=r"^stack 'dev': aws:region: 'eu-west' is not an AWS region name"):
        evaluate_stack("dev", config=config)


# --- the committed prod YAML is a template: its example values never reach AWS ---------------------------

def _raw(stack: str) -> dict:
    config = read_stack_config(stack)
    prefix = f"{stack_config.NAMESPACE}:"
    return {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}


def test_prod_placeholders_are_each_found_with_what_to_set():
    found = {p.key: p for p in stack_config.find_placeholders(_raw("prod"))}
    for key in ("todoApi.email.sourceArn", "outbox.email.fromAddress", "blog.site.customDomain.domainName",
                "blog.site.customDomain.hostedZoneId", "blog.email.identity", "updateCdn.lockDown.listenerArn"):
        assert f"serverless-blueprints:{key}" in found, key
    zone = found["serverless-blueprints:blog.site.customDomain.hostedZoneId"]
    assert (zone.value, zone.what) == ("Z0123456789EXAMPLE", "the example Route 53 zone id")
    assert "hosted zone id of your domain" in zone.hint
    assert "SES" in found["serverless-blueprints:todoApi.email.sourceArn"].hint


@pytest.mark.parametrize("value", ["blog.mycompany.io", "Z08472771QKXR9V2A1B3C",
                                   "arn:aws:ses:eu-west-1:210987654321:identity/mycompany.io"])
def test_real_values_are_not_placeholders(value):
    assert stack_config.find_placeholders({"blog": {"site": {"customDomain": {"domainName": value}}}}) == []


def test_a_real_prod_preview_with_placeholders_fails_naming_each_key_and_what_to_set(monkeypatch):
    """Under the real engine (not the offline plan's mocks), prod stops in load(), before any resource."""
    from offline.harness import evaluate_stack

    monkeypatch.setattr(stack_config, "_under_mocks", lambda: False)
    with pytest.raises(ConfigError) as error:
        evaluate_stack("prod")
    message = str(error.value)
    assert message.startswith("stack 'prod' still has the example placeholders")
    assert ("  serverless-blueprints:blog.site.customDomain.hostedZoneId: 'Z0123456789EXAMPLE' is the example "
            "Route 53 zone id; set the Route 53 hosted zone id of your domain") in message
    assert "serverless-blueprints:todoApi.email.sourceArn" in message


def test_a_real_dev_preview_keeps_its_example_sender(monkeypatch):
    """Dev may keep example values (its SES sandbox sender); only prod is refused."""
    from offline.harness import evaluate_stack

    monkeypatch.setattr(stack_config, "_under_mocks", lambda: False)
    assert evaluate_stack("dev").of_type("aws:apigateway/restApi:RestApi")


def test_offline_plan_of_prod_renders_the_template(prod_stack):
    """Under the mocks nothing deploys: the template is planned, its placeholders reported (SB-CONFIG-001)."""
    assert prod_stack.of_type("aws:cloudfront/distribution:Distribution")


# --- prod user pools email through SES; the API Gateway account setting has one owner --------------------

def test_prod_user_pools_must_send_through_ses():
    with pytest.raises(ConfigError, match=r"^serverless-blueprints:todoApi\.email: required in prod \(Cognito's "
                                          r"built-in email caps sign-ups"):
        parse({"environment": "prod", "todoApi": {}}, "eu-west-1")
    with pytest.raises(ConfigError, match=r"^serverless-blueprints:outbox\.email: required in prod"):
        parse({"environment": "prod", "outbox": {}}, "eu-west-1")
    with pytest.raises(ConfigError, match=r"^serverless-blueprints:paidContent\.email: required in prod"):
        parse({"environment": "prod", "paidContent": {}}, "eu-west-1")
    given_pool = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Given1234"
    assert parse({"environment": "prod", "outbox": {"userPoolArn": given_pool}}, "eu-west-1").outbox
    assert _parse(todoApi={}).todo_api == {"log_retention_days": 7, "deletion_protection": False}  # dev: Cognito's


def test_prod_blog_authors_pool_must_send_through_ses():
    blog = _raw("prod")["blog"]
    without_email = {**blog, "authoring": {k: v for k, v in blog["authoring"].items() if k != "email"}}
    with pytest.raises(ConfigError, match=r"^serverless-blueprints:blog\.authoring\.email: required in prod"):
        parse({"environment": "prod", "blog": without_email}, "eu-west-1")
    assert "authoring" not in parse({"environment": "prod", "blog": {**blog, "authoring": {"enabled": False}}},
                                    "eu-west-1").blog  # no authoring, no pool
    assert parse({"environment": "dev", "blog": without_email}, "eu-west-1").blog["authoring"]  # dev: Cognito's


def test_prod_yaml_sends_both_user_pools_through_ses():
    settings = parse_stack_yaml("prod")
    assert settings.todo_api["email"]["source_arn"].startswith("arn:aws:ses:")
    assert settings.outbox["email"]["source_arn"].startswith("arn:aws:ses:")
    assert settings.blog["authoring"]["email"]["source_arn"].startswith("arn:aws:ses:")


def test_exactly_prod_manages_the_api_gateway_account_setting():
    assert parse_stack_yaml("prod").manage_api_gateway_account is True
    assert parse_stack_yaml("dev").manage_api_gateway_account is False
    with pytest.raises(ConfigError, match=r"^serverless-blueprints:manageApiGatewayAccount: expected true or false"):
        _parse(manageApiGatewayAccount="yes")
