"""The shop's health API in the twin: ok while no service alarm fires, 503 naming the degraded service when one does.

moto holds no alarms of the stack (the twin doesn't create CloudWatch alarms), so the scenario creates one for a
reported service and moves it to ALARM and back. Imports from `twin.scenarios` are made inside the function: that
module registers this one.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin.scenarios import ScenarioRun


def shop_health_scenario(run: "ScenarioRun") -> None:
    twin, component = run.twin, run.component
    api = twin.api_under(component)
    function = next(f for f in twin.under(component, "aws:lambda/function:Function")
                    if "SERVICES" in ((f.props.get("environment") or {}).get("variables") or {}))
    services = function.props["environment"]["variables"]["SERVICES"].split(",")

    healthy = api.request("GET", "/health")
    run.require("GET /health: 200 while no alarm fires", healthy.status == 200
                and healthy.json()["status"] == "ok", f"{healthy.status} {healthy.body[:200]}")
    run.check("every configured service is reported", set(healthy.json()["services"]) == set(services),
              healthy.body[:200])

    cloudwatch, probe = twin.plane.client("cloudwatch"), f"{services[0]}-twin-probe"
    cloudwatch.put_metric_alarm(AlarmName=probe, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                                Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    cloudwatch.set_alarm_state(AlarmName=probe, StateValue="ALARM", StateReason="twin scenario")
    degraded = api.request("GET", "/health")
    run.check(f"an alarm of {services[0]} in ALARM: 503, {services[0]} degraded, no alarm name in the body",
              degraded.status == 503 and degraded.json()["services"][services[0]]["status"] == "degraded"
              and probe not in degraded.body, f"{degraded.status} {degraded.body[:200]}")
    cloudwatch.delete_alarms(AlarmNames=[probe])
