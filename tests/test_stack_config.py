"""Stack config: typed settings, and errors that name the key and the allowed values."""
import pytest

from stack_config import ConfigError, parse


def _parse(**raw):
    return parse({"environment": "dev", **raw}, "eu-west-1")


def test_dev_defaults_are_cheap():
    settings = _parse(todoApi={"enabled": True})
    assert settings.todo_api.cache is None and settings.todo_api.dax is None
    assert settings.log_retention_days == 7 and settings.deletion_protection is False


def test_prod_defaults_are_hardened():
    settings = parse({"environment": "prod", "todoApi": {"enabled": True}}, "eu-west-1")
    assert settings.todo_api.cache.ttl_seconds == 300 and settings.todo_api.dax is not None
    assert settings.log_retention_days == 365 and settings.deletion_protection is True
    dev = _parse(todoApi={"enabled": True})
    assert settings.todo_api.throttle.rate_limit < dev.todo_api.throttle.rate_limit


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
    ({"environment": "dev", "todoApi": {"enabled": True, "lambda": {"timeoutSeconds": 29}}},
     "todoApi.lambda.timeoutSeconds: 29 is out of range; allowed 1 to 28"),
    ({"environment": "dev", "todoApi": {"enabled": True, "files": {"urlExpirySeconds": 3600}}},
     "todoApi.files.urlExpirySeconds: 3600 is out of range; allowed 1 to 900"),
    ({"environment": "dev", "todoApi": {"enabled": True, "mfa": "SOMETIMES"}},
     "todoApi.mfa: 'SOMETIMES' is not allowed; allowed values: OFF, OPTIONAL, ON"),
])
def test_bad_value_names_the_key_and_the_allowed_values(raw, message):
    with pytest.raises(ConfigError) as error:
        parse(raw, "eu-west-1")
    assert message in str(error.value)


def test_cache_size_written_as_a_yaml_number_is_accepted():
    settings = _parse(todoApi={"enabled": True, "cache": {"enabled": True, "sizeGb": 0.5}})
    assert settings.todo_api.cache.size_gb == "0.5"
