"""Invoked by Pulumi (aws.lambda_.Invocation, CRUD lifecycle) once StaticSite has uploaded its files.

Input: {"distributionId": "E...", "paths": {"/posts/x/": "<hash of the pages behind it>", ...},
        "tf": {"action": "create" | "update" | "delete", "prev_input": {...} | None}} ("tf" is the provider's).
On an update, the paths whose hash changed, appeared or went away are invalidated, in one batch; on
create (an empty cache) and delete, nothing. The component lists HTML pages only: fingerprinted assets
get a new name when they change and never need an invalidation.
Output: {"action", "paths" (what was invalidated), "invalidationId" (None when nothing was)}.
"""

from __future__ import annotations

import json
import logging
from functools import cache
from typing import Any

import boto3

# CloudFront's quota of paths in progress at once; beyond it one wildcard (billed as one path) does the job.
MAX_PATHS = 3000
EVERYTHING = "/*"
logger = logging.getLogger()
logger.setLevel(logging.INFO)


@cache
def cloudfront() -> Any:
    return boto3.client("cloudfront")


def changed_paths(previous: dict[str, str], current: dict[str, str]) -> list[str]:
    """Paths whose pages changed, were added (a cached 404) or removed (a cached page), sorted."""
    return sorted(path for path in previous.keys() | current.keys() if previous.get(path) != current.get(path))


def paths_to_invalidate(event: dict) -> list[str]:
    tf = event.get("tf") or {}
    previous = tf.get("prev_input") or {}
    if tf.get("action") != "update" or previous.get("distributionId") != event["distributionId"]:
        return []  # created, deleted, or a new distribution: nothing cached to drop
    paths = changed_paths(previous.get("paths") or {}, event["paths"])
    return [EVERYTHING] if len(paths) > MAX_PATHS else paths


def handler(event: dict, context: Any) -> dict:
    action = (event.get("tf") or {}).get("action", "create")
    paths = paths_to_invalidate(event)
    logger.info(json.dumps({"action": action, "distributionId": event["distributionId"], "paths": len(paths)}))
    if not paths:
        return {"action": action, "paths": [], "invalidationId": None}
    response = cloudfront().create_invalidation(
        DistributionId=event["distributionId"],
        InvalidationBatch={"Paths": {"Quantity": len(paths), "Items": paths},
                           # One invalidation per invocation: a later deploy of the same change invalidates again.
                           "CallerReference": context.aws_request_id})
    return {"action": action, "paths": paths, "invalidationId": response["Invalidation"]["Id"]}
