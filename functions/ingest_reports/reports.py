"""Which hours changed, and refreshing one hour's report: plain functions over boto3-shaped clients.

Idempotent per hour: each run UNLOADs into its own staging prefix, then replaces the hour's
report objects with deterministic names (part-00000.parquet, ...) and deletes any left from a
larger earlier run, so a re-run replaces the report and never adds a second copy.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from urllib.parse import unquote_plus

from ingest_reports.report_sql import HOUR, hourly_report_select, unload_statement
from ingest_reports.settings import Settings

_HOUR_IN_KEY = re.compile(r"(?:^|/)hour=(\d{4}-\d{2}-\d{2}-\d{2})/")
FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")


class ReportQueryFailed(RuntimeError):
    """An hour's UNLOAD did not succeed; carries the query id and Athena's reason for the logs."""

    def __init__(self, hour: str, query_id: str | None, reason: str):
        self.hour, self.query_id, self.reason = hour, query_id, reason
        super().__init__(f"report for hour {hour} failed (query {query_id}): {reason}")


@dataclass(frozen=True)
class Refreshed:
    hour: str
    query_id: str
    keys: tuple[str, ...]


def hours_in_notification(body: str) -> set[str]:
    """Event hours of the objects an S3 notification (an SQS message body) reports as created."""
    message = json.loads(body)
    hours = set()
    for record in message.get("Records", []):  # s3:TestEvent has none
        key = unquote_plus(record["s3"]["object"]["key"])
        match = _HOUR_IN_KEY.search(key)
        if match:
            hours.add(match.group(1))
    return hours


def hours_of_day(day: date) -> list[str]:
    return [f"{day.isoformat()}-{hour:02d}" for hour in range(24)]


def previous_day(now: datetime) -> date:
    return (now.astimezone(timezone.utc) - timedelta(days=1)).date()


def scheduled_hours(event: dict, now: datetime) -> list[str]:
    """Hours a scheduled rebuild covers: {"rebuild": "previous_day"} or {"rebuild": "2026-01-31"}."""
    what = event.get("rebuild")
    if what == "previous_day":
        return hours_of_day(previous_day(now))
    if isinstance(what, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", what):
        return hours_of_day(date.fromisoformat(what))
    if isinstance(what, str) and HOUR.fullmatch(what):
        return [what]
    raise ValueError(f'rebuild must be "previous_day", a date (YYYY-MM-DD) or an hour, got {what!r}')


def report_prefix(settings: Settings, hour: str) -> str:
    return f"{settings.report_prefix}hour={hour}/"


def start_report(athena, settings: Settings, hour: str) -> tuple[str, str]:
    """Start one hour's UNLOAD into a fresh staging prefix: (query id, staging prefix)."""
    staging = f"{settings.staging_prefix}hour={hour}/{uuid.uuid4().hex}/"
    statement = unload_statement(hourly_report_select(settings.database, settings.table, hour),
                                 f"s3://{settings.report_bucket}/{staging}")
    started = athena.start_query_execution(
        QueryString=statement, WorkGroup=settings.workgroup,
        ClientRequestToken=uuid.uuid4().hex + uuid.uuid4().hex[:8])
    return started["QueryExecutionId"], staging


def wait_for(athena, query_ids: Iterable[str], poll_seconds: float,
             time_left: Callable[[], float]) -> dict[str, tuple[str, str]]:
    """{query id: (state, reason)} once each finished, or ("TIMED_OUT", ...) when time runs out."""
    pending, done = set(query_ids), {}
    while pending:
        for query_id in sorted(pending):
            status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
            if status["State"] in FINISHED:
                reason = status.get("AthenaError", {}).get("ErrorMessage") or status.get("StateChangeReason", "")
                done[query_id] = (status["State"], reason)
        pending -= done.keys()
        if pending and time_left() <= poll_seconds * 2:
            done.update({q: ("TIMED_OUT", "the function ran out of time waiting for the query") for q in pending})
            break
        if pending:
            time.sleep(poll_seconds)
    return done


def publish(s3, settings: Settings, hour: str, staging: str) -> tuple[str, ...]:
    """Replace the hour's report with the staged files; delete leftovers and the staging copy."""
    bucket, final = settings.report_bucket, report_prefix(settings, hour)
    staged = sorted(_keys(s3, bucket, staging))
    written = []
    for index, key in enumerate(staged):
        target = f"{final}part-{index:05d}.parquet"
        s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": key})
        written.append(target)
    stale = [key for key in _keys(s3, bucket, final) if key not in written]
    _delete(s3, bucket, stale + staged)
    return tuple(written)


def refresh_hours(athena, s3, settings: Settings, hours: Iterable[str],
                  time_left: Callable[[], float]) -> dict[str, Refreshed | ReportQueryFailed]:
    """Refresh every hour's report (queries run side by side); an outcome per hour, never raised."""
    started = {}
    outcomes: dict[str, Refreshed | ReportQueryFailed] = {}
    for hour in sorted(set(hours)):
        try:
            started[hour] = start_report(athena, settings, hour)
        except Exception as error:  # noqa: BLE001 - reported per hour; the caller decides on retries
            outcomes[hour] = ReportQueryFailed(hour, None, f"could not start: {error}")
    states = wait_for(athena, [q for q, _ in started.values()], settings.poll_seconds, time_left)
    for hour, (query_id, staging) in started.items():
        state, reason = states[query_id]
        if state != "SUCCEEDED":
            outcomes[hour] = ReportQueryFailed(hour, query_id, f"{state}: {reason}")
            continue
        outcomes[hour] = Refreshed(hour, query_id, publish(s3, settings, hour, staging))
    return outcomes


def _keys(s3, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    return keys


def _delete(s3, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        chunk = keys[start:start + 1000]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True})
