"""Invoked by Pulumi (aws.lambda_.Invocation, CRUD lifecycle), once per key generation and step.

Input: {"step": "create_key" | "activate", "generation": N, "secretId": ARN, "keyName": str,
        "tf": {"action": "create" | "update" | "delete", ...}} (the "tf" part is added by the provider).
Output: public data only (key id, generation, activation time).
"""

from __future__ import annotations

import json
import logging
import os
import time
from functools import cache
from typing import Any

import boto3

from signing_keys import keys

PROPAGATION_SECONDS = int(os.environ.get("PROPAGATION_SECONDS", "180"))
COMMENT = os.environ.get("KEY_COMMENT", "serverless-blueprints PaidContent signing key")
logger = logging.getLogger()
logger.setLevel(logging.INFO)


@cache
def client(service: str) -> Any:
    return boto3.client(service)


def handler(event: dict, context: Any, sleep=time.sleep) -> dict:
    action = (event.get("tf") or {}).get("action", "create")
    step, generation, secret_id = event["step"], int(event["generation"]), event["secretId"]
    logger.info(json.dumps({"step": step, "action": action, "generation": generation}))
    if step == "create_key":
        if action == "delete":
            return keys.retire_key(client("cloudfront"), key_name=event["keyName"])
        return keys.create_key(client("cloudfront"), client("secretsmanager"), secret_id=secret_id,
                               generation=generation, key_name=event["keyName"], comment=COMMENT)
    if step == "activate":
        if action == "delete":
            return {"generation": generation, "deleted": True}
        # Edges learn the key group's new key within minutes; only then may the signer use it.
        return keys.activate(client("secretsmanager"), secret_id=secret_id, generation=generation,
                             wait=lambda: sleep(PROPAGATION_SECONDS))
    raise ValueError(f"unknown step {step!r}")
