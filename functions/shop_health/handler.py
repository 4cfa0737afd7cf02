"""GET /health for the whole shop: each service is ok while none of its CloudWatch alarms is in ALARM.

SERVICES: comma-separated service names; a service's alarms are named `<service>-...`.
200 {"status": "ok", ...} when every service is ok, else 503 {"status": "degraded", ...}.
"""
from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import boto3

SERVICES = [s for s in os.environ.get("SERVICES", "").split(",") if s]


@cache
def cloudwatch() -> Any:
    return boto3.client("cloudwatch")


def firing(client: Any, service: str) -> int:
    """How many of the service's alarms are in ALARM now."""
    pages = client.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{service}-", StateValue="ALARM",
                                                              AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    # The state is checked here too: some emulators (moto) apply only one of the two filters.
    return sum(1 for page in pages for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]
               if alarm.get("StateValue") == "ALARM")


def health(client: Any, services: list[str]) -> tuple[int, dict[str, Any]]:
    report = {service: firing(client, service) for service in services}
    degraded = any(report.values())
    return (503 if degraded else 200), {
        "status": "degraded" if degraded else "ok",
        "services": {service: {"status": "degraded" if count else "ok", "alarmsFiring": count}
                     for service, count in report.items()}}


def handler(event: dict, context: Any) -> dict:
    status, body = health(cloudwatch(), SERVICES)
    return {"statusCode": status, "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
            "body": json.dumps(body)}
