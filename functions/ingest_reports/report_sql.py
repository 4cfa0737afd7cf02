"""The hourly report, in Athena (Trino) SQL: one row per source for one event hour.

Events are de-duplicated by event_id across the hour (the transform drops repeats within one
Firehose batch; a producer retry can still land a repeat in another batch). tests/ingestion runs
the same SELECT on DuckDB, transpiled by sqlglot, against a reference computed in plain Python.
"""

from __future__ import annotations

import re

HOUR = re.compile(r"\d{4}-\d{2}-\d{2}-\d{2}")
REPORT_COLUMNS = ("source", "hour", "events", "devices", "p50_value", "p95_value", "max_value",
                  "first_event_time", "last_event_time")


def quoted_table(database: str, table: str) -> str:
    return f'"{database}"."{table}"'


def hourly_report_select(database: str, table: str, hour: str) -> str:
    """The report's SELECT for one hour ('YYYY-MM-DD-HH'); the hour is checked, never interpolated raw."""
    if not HOUR.fullmatch(hour):
        raise ValueError(f"hour must look like 2026-01-31-23, got {hour!r}")
    return f"""SELECT source, hour,
       count(*) AS events,
       count(DISTINCT device_id) AS devices,
       approx_percentile(value, 0.5) AS p50_value,
       approx_percentile(value, 0.95) AS p95_value,
       max(value) AS max_value,
       min(event_time) AS first_event_time,
       max(event_time) AS last_event_time
FROM (
    SELECT source, hour, event_id,
           arbitrary(device_id) AS device_id, arbitrary(value) AS value, min(event_time) AS event_time
    FROM {quoted_table(database, table)}
    WHERE hour = '{hour}'
    GROUP BY source, hour, event_id
) AS events_once
GROUP BY source, hour
ORDER BY source"""


def unload_statement(select: str, destination: str) -> str:
    """Athena UNLOAD of a SELECT into an S3 prefix as Snappy Parquet."""
    if not destination.startswith("s3://") or "'" in destination:
        raise ValueError(f"destination must be an s3:// URI without quotes, got {destination!r}")
    return f"UNLOAD ({select})\nTO '{destination}'\nWITH (format = 'PARQUET', compression = 'SNAPPY')"
