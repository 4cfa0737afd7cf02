"""The device event contract: what producers send, what the transform writes, and how it is checked.

Input (one JSON object per Kinesis record, UTF-8, at most MAX_RECORD_BYTES):

    field       type                                   rule
    event_id    string                                 1-128 of [A-Za-z0-9._:-]; unique per event
    device_id   string                                 1-128 of [A-Za-z0-9._:-]
    source      string                                 one of the configured SOURCES
    event_time  string (ISO-8601 with an offset or Z)  not more than MAX_CLOCK_SKEW_SECONDS ahead,
                or integer (epoch milliseconds)        nor older than MAX_EVENT_AGE_HOURS
    value       number                                 finite; booleans are not numbers

Unknown fields are ignored. Output (one JSON line per record, the Glue table's columns):

    {"event_id": str, "device_id": str, "event_time": <epoch ms, UTC>, "value": float,
     "ingested_at": <epoch ms of Kinesis arrival>}

with partition keys {"source": <source>, "hour": "YYYY-MM-DD-HH" of event_time in UTC}: a late
event goes to the hour it happened in, not the hour it arrived.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

REQUIRED_FIELDS = ("event_id", "device_id", "source", "event_time", "value")
# The Glue table's columns, in order (the component declares the same list; a test compares them).
OUTPUT_FIELDS = ("event_id", "device_id", "event_time", "value", "ingested_at")
PARTITION_KEYS = ("source", "hour")
HOUR_FORMAT = "%Y-%m-%d-%H"  # Athena projection format yyyy-MM-dd-HH

IDENTIFIER = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
SOURCE_NAME = re.compile(r"[a-z0-9_\-]{1,64}")

DEFAULT_MAX_RECORD_BYTES = 16 * 1024
DEFAULT_MAX_EVENT_AGE_HOURS = 7 * 24
DEFAULT_MAX_CLOCK_SKEW_SECONDS = 300


class SettingsError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    sources: frozenset[str]
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_event_age_hours: int = DEFAULT_MAX_EVENT_AGE_HOURS
    max_clock_skew_seconds: int = DEFAULT_MAX_CLOCK_SKEW_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        sources = frozenset(s.strip() for s in env.get("SOURCES", "").split(",") if s.strip())
        if not sources or not all(SOURCE_NAME.fullmatch(s) for s in sources):
            raise SettingsError(f"SOURCES must be a comma-separated list of [a-z0-9_-] names, got "
                                f"{env.get('SOURCES')!r}")
        return cls(sources=sources,
                   max_record_bytes=_positive(env, "MAX_RECORD_BYTES", DEFAULT_MAX_RECORD_BYTES),
                   max_event_age_hours=_positive(env, "MAX_EVENT_AGE_HOURS", DEFAULT_MAX_EVENT_AGE_HOURS),
                   max_clock_skew_seconds=_positive(env, "MAX_CLOCK_SKEW_SECONDS", DEFAULT_MAX_CLOCK_SKEW_SECONDS))


def _positive(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{key} must be a positive whole number, got {raw!r}")
    return int(raw)
