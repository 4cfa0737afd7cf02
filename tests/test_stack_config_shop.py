"""The shop's stack config: five components' args under one `shop` section, each checked by its component,
and the rules that tie the parts together (which services get a subdomain, what __main__ wires)."""
import pytest

from stack_config import ConfigError, parse

SHOP = {"network": {"privateApiEndpoint": True}, "domain": {"domainName": "shop.dev.example.com",
                                                           "services": ["catalog", "checkout"]},
        "catalog": {"internal": True}, "cart": {}, "checkout": {}}


def _shop(**changes):
    shop = {**SHOP, **changes}
    return parse({"environment": "dev", "shop": shop}, "eu-west-1").shop


def test_each_part_is_its_components_args_with_the_stacks_retention_and_protection():
    shop = _shop()
    assert set(shop) == {"network", "domain", "catalog", "cart", "checkout"}
    assert shop["network"] == {"private_api_endpoint": True, "flow_log_retention_days": 7}
    assert shop["catalog"] == {"internal": True, "log_retention_days": 7, "deletion_protection": False}
    assert shop["cart"] == {"log_retention_days": 7}


@pytest.mark.parametrize("changes, message", [
    ({"domain": {"domainName": "shop.example.com", "services": ["catalog"]}},
     r"shop\.domain\.services: add checkout: its HTTPS ALB needs a certificate"),
    ({"domain": {"domainName": "shop.example.com", "services": ["catalog", "cart", "checkout"]}},
     r"shop\.domain\.services: remove cart: with serverless-blueprints:shop\.network\.privateApiEndpoint"),
    ({"cart": {"vpcEndpointIds": ["vpce-1"]}}, r"shop\.cart\.vpcEndpointIds: set by __main__"),
    ({"catalog": {"enabled": False}}, r"shop\.catalog\.enabled: the shop needs its catalog section"),
    ({"catalog": {"cpu": 300}}, r"shop\.catalog\.cpu: 300 is not allowed; allowed values: 256, 512"),
    ({"checkout": {"cartUrl": "https://x"}}, r"shop\.checkout\.cartUrl: set by __main__"),
    ({"basket": {}}, r"shop\.basket: unknown key; known keys here: cart, catalog, checkout, domain, enabled"),
])
def test_shop_problems_name_the_yaml_key(changes, message):
    with pytest.raises(ConfigError, match=message):
        _shop(**changes)


def test_a_regional_cart_may_have_its_subdomain():
    shop = _shop(network={}, domain={"domainName": "shop.example.com", "services": ["catalog", "cart", "checkout"]})
    assert shop["domain"]["services"] == ["catalog", "cart", "checkout"]


def test_the_whole_shop_can_be_left_out():
    assert parse({"environment": "dev", "shop": {"enabled": False}}, "eu-west-1").shop is None
