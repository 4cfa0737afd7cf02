"""Firehose transform handler: device events in, validated JSON lines with partition keys out.

No third-party imports (no layer): the contract is a few dict lookups, and cold starts stay small.
One JSON log line per invocation carries the counts as an Embedded Metric Format metric, which the
component's "transform failures" alarm watches.
"""

from __future__ import annotations

import json
import os
import sys
import time

from ingest_transform.schema import Settings
from ingest_transform.transform import FAILED, transform_records

SETTINGS = Settings.from_env(os.environ)
METRIC_NAMESPACE = os.environ.get("METRIC_NAMESPACE", "ServerlessBlueprints/Ingestion")
FUNCTION_NAME = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "ingest_transform")


def handler(event: dict, context: object) -> dict:
    now_ms = int(time.time() * 1000)
    outcome = transform_records(event["records"], SETTINGS, now_ms)
    _log(event, outcome, now_ms)
    return {"records": outcome.records}


def _log(event: dict, outcome, now_ms: int) -> None:
    counts = outcome.counts
    line = {
        "level": "WARNING" if counts[FAILED] else "INFO",
        "message": "transformed records",
        "invocation_id": event.get("invocationId"),
        "ok": counts["Ok"], "dropped_duplicates": counts["Dropped"], "processing_failed": counts[FAILED],
        "failure_reasons": outcome.reasons,
        "_aws": {"Timestamp": now_ms, "CloudWatchMetrics": [{
            "Namespace": METRIC_NAMESPACE, "Dimensions": [["FunctionName"]],
            "Metrics": [{"Name": "ProcessingFailedRecords", "Unit": "Count"},
                        {"Name": "DroppedDuplicateRecords", "Unit": "Count"}]}]},
        "FunctionName": FUNCTION_NAME,
        "ProcessingFailedRecords": counts[FAILED],
        "DroppedDuplicateRecords": counts["Dropped"],
    }
    sys.stdout.write(json.dumps(line) + "\n")
