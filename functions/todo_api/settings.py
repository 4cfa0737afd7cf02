"""Configuration from the environment variables the ServerlessRestApi component sets.

A bad value raises at cold start with the variable's name, so a misconfigured
function fails loudly on its first invocation instead of signing wrong URLs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_ALLOWED_CONTENT_TYPES = "image/jpeg,image/png,application/pdf,text/plain"
DEFAULT_URL_EXPIRY_SECONDS = 300
MAX_URL_EXPIRY_SECONDS = 900  # the issue caps presigned URLs at 15 minutes
MAX_UPLOAD_BYTES = 5 * 1024**3  # S3 refuses larger single POST uploads anyway

DEPRECATION_HEADERS = ("Deprecation", "Sunset", "Link")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


class SettingsError(ValueError):
    """An environment variable is missing or has a value the function cannot use."""


@dataclass(frozen=True)
class Settings:
    table_name: str
    bucket_name: str
    dax_endpoint: str | None
    upload_max_bytes: int
    allowed_content_types: tuple[str, ...]
    url_expiry_seconds: int
    cors_allow_origin: str
    region: str | None
    deprecated_versions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Version -> the headers every answer of that version carries (Deprecation, Sunset, Link)."""


def load_settings(environ: Mapping[str, str]) -> Settings:
    return Settings(
        table_name=_required(environ, "TABLE_NAME"),
        bucket_name=_required(environ, "BUCKET_NAME"),
        dax_endpoint=_dax_endpoint(environ.get("DAX_ENDPOINT", "").strip()),
        upload_max_bytes=_int_in_range(environ, "UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES, 1, MAX_UPLOAD_BYTES),
        allowed_content_types=_content_types(environ.get("ALLOWED_CONTENT_TYPES", DEFAULT_ALLOWED_CONTENT_TYPES)),
        url_expiry_seconds=_int_in_range(
            environ, "URL_EXPIRY_SECONDS", DEFAULT_URL_EXPIRY_SECONDS, 1, MAX_URL_EXPIRY_SECONDS
        ),
        cors_allow_origin=environ.get("CORS_ALLOW_ORIGIN", "").strip() or "*",
        region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None,
        deprecated_versions=_deprecated_versions(environ.get("DEPRECATED_VERSIONS", "").strip()),
    )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} must be set to a non-empty value")
    return value


def _int_in_range(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer from {low} to {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be an integer from {low} to {high}, got {value}")
    return value


def _content_types(raw: str) -> tuple[str, ...]:
    types = tuple(dict.fromkeys(t.strip().lower() for t in raw.split(",") if t.strip()))
    if not types:
        raise SettingsError("ALLOWED_CONTENT_TYPES must list at least one media type, e.g. 'image/jpeg,image/png'")
    for media_type in types:
        if not _MEDIA_TYPE.match(media_type):
            raise SettingsError(f"ALLOWED_CONTENT_TYPES has {media_type!r}, which is not a type/subtype media type")
    return types


def _dax_endpoint(raw: str) -> str | None:
    if not raw:
        return None
    if not raw.startswith(("dax://", "daxs://")):
        raise SettingsError(
            f"DAX_ENDPOINT must be the cluster discovery URL, 'daxs://<cluster address>' "
            f"(or 'dax://' without TLS), got {raw!r}"
        )
    return raw


def _deprecated_versions(raw: str) -> dict[str, dict[str, str]]:
    if not raw:
        return {}
    problem = (
        'DEPRECATED_VERSIONS must be a JSON object of version -> {"Deprecation", "Sunset", "Link"} header values'
    )
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise SettingsError(f"{problem}, got {raw!r}") from None
    if not isinstance(parsed, dict) or not all(
        isinstance(headers, dict)
        and set(headers) <= set(DEPRECATION_HEADERS)
        and all(isinstance(v, str) and v and "\n" not in v and "\r" not in v for v in headers.values())
        for headers in parsed.values()
    ):
        raise SettingsError(f"{problem}, got {raw!r}")
    return parsed
