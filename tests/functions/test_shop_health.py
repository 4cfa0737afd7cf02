"""shop_health on moto: ok (200) while no alarm of a service fires, degraded (503) naming the service otherwise."""
from __future__ import annotations

import importlib
import json
import sys

import boto3
import pytest
from moto import mock_aws

REGION = "eu-west-1"


@pytest.fixture
def shop(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION, "SERVICES": "catalog,cart"}.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("shop_health.handler", None)
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch")
        for name in ("catalog-5xx", "cart-handler-errors", "checkout-5xx"):
            cloudwatch.put_metric_alarm(AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                                        Period=60, EvaluationPeriods=1, Threshold=1,
                                        ComparisonOperator="GreaterThanOrEqualToThreshold")
        module = importlib.import_module("shop_health.handler")
        yield module, cloudwatch
    sys.modules.pop("shop_health.handler", None)


def get(module) -> tuple[int, dict]:
    answer = module.handler({"httpMethod": "GET", "path": "/health"}, None)
    assert answer["headers"]["Cache-Control"] == "no-store"
    return answer["statusCode"], json.loads(answer["body"])


def test_every_service_ok_is_200(shop):
    module, _ = shop
    assert get(module) == (200, {"status": "ok", "services": {"catalog": {"status": "ok", "alarmsFiring": 0},
                                                              "cart": {"status": "ok", "alarmsFiring": 0}}})


def test_a_firing_alarm_degrades_its_service_and_the_answer_is_503(shop):
    module, cloudwatch = shop
    cloudwatch.set_alarm_state(AlarmName="cart-handler-errors", StateValue="ALARM", StateReason="test")
    status, body = get(module)
    assert status == 503 and body["status"] == "degraded"
    assert body["services"] == {"catalog": {"status": "ok", "alarmsFiring": 0},
                                "cart": {"status": "degraded", "alarmsFiring": 1}}
    assert "cart-handler-errors" not in json.dumps(body)  # public: counts, never alarm names


def test_a_service_not_listed_does_not_count(shop):
    module, cloudwatch = shop
    cloudwatch.set_alarm_state(AlarmName="checkout-5xx", StateValue="ALARM", StateReason="test")
    assert get(module)[0] == 200
