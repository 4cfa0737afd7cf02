"""The report function's configuration, read once from the environment the component sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_REPORT_PREFIX = "hourly/"
DEFAULT_STAGING_PREFIX = "_staging/"
DEFAULT_POLL_SECONDS = 1.0


class SettingsError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    database: str
    table: str
    workgroup: str
    report_bucket: str
    report_prefix: str = DEFAULT_REPORT_PREFIX
    staging_prefix: str = DEFAULT_STAGING_PREFIX
    poll_seconds: float = DEFAULT_POLL_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        values = {}
        for key in ("DATABASE", "TABLE", "WORKGROUP", "REPORT_BUCKET"):
            value = env.get(key, "").strip()
            if not value:
                raise SettingsError(f"{key} is required")
            values[key.lower()] = value
        report_prefix = env.get("REPORT_PREFIX", DEFAULT_REPORT_PREFIX)
        staging_prefix = env.get("STAGING_PREFIX", DEFAULT_STAGING_PREFIX)
        for key, prefix in (("REPORT_PREFIX", report_prefix), ("STAGING_PREFIX", staging_prefix)):
            if not prefix.endswith("/") or prefix.startswith("/"):
                raise SettingsError(f"{key} must end with '/' and not start with it, got {prefix!r}")
        if report_prefix.startswith(staging_prefix) or staging_prefix.startswith(report_prefix):
            raise SettingsError("REPORT_PREFIX and STAGING_PREFIX must not overlap")
        return cls(**values, report_prefix=report_prefix, staging_prefix=staging_prefix,
                   poll_seconds=float(env.get("POLL_SECONDS", DEFAULT_POLL_SECONDS)))
