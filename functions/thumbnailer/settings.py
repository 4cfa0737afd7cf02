"""The thumbnailer's configuration, read once from the environment the component sets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from thumbnailer.analysis import AnalysisSettings
from thumbnailer.imaging import CONTENT_TYPES

DEFAULT_SIZES = "128,256,512"
DEFAULT_OUTPUT_FORMAT = "JPEG"
DEFAULT_QUALITY = 82
DEFAULT_MAX_BYTES = 52_428_800
DEFAULT_MAX_PIXELS = 50_000_000
DEFAULT_FAILURE_PREFIX = "_failures/"
DEFAULT_ANALYSIS_MIN_CONFIDENCE = 80.0
DEFAULT_ANALYSIS_MAX_LABELS = 10


class SettingsError(ValueError):
    """An environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    thumbnail_bucket: str
    sizes: tuple[int, ...]
    """Bounding boxes in pixels, ascending and without duplicates."""
    output_format: str
    quality: int
    max_bytes: int
    max_pixels: int
    topic_arn: str | None
    failure_prefix: str
    analysis: AnalysisSettings | None = None
    """Rekognition analysis (ANALYSIS_ENABLED=true); None: off, and Rekognition is never called."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        bucket = env.get("THUMBNAIL_BUCKET", "").strip()
        if not bucket:
            raise SettingsError("THUMBNAIL_BUCKET is required")
        output_format = env.get("OUTPUT_FORMAT", DEFAULT_OUTPUT_FORMAT).strip().upper()
        if output_format not in CONTENT_TYPES:
            raise SettingsError(f"OUTPUT_FORMAT must be one of {sorted(CONTENT_TYPES)}, got {output_format!r}")
        sizes = _parse_sizes(env.get("SIZES", DEFAULT_SIZES))
        failure_prefix = env.get("FAILURE_PREFIX", DEFAULT_FAILURE_PREFIX)
        if not failure_prefix.strip("/") or failure_prefix.split("/")[0] in {str(size) for size in sizes}:
            raise SettingsError(
                f"FAILURE_PREFIX must be a non-empty prefix outside the <size>/ thumbnail prefixes, got {failure_prefix!r}"
            )
        return cls(
            thumbnail_bucket=bucket,
            sizes=sizes,
            output_format=output_format,
            quality=_parse_int(env, "QUALITY", DEFAULT_QUALITY, low=1, high=100),
            max_bytes=_parse_int(env, "MAX_BYTES", DEFAULT_MAX_BYTES, low=1),
            max_pixels=_parse_int(env, "MAX_PIXELS", DEFAULT_MAX_PIXELS, low=1),
            topic_arn=env.get("TOPIC_ARN", "").strip() or None,
            failure_prefix=failure_prefix,
            analysis=_parse_analysis(env),
        )


def _parse_analysis(env: Mapping[str, str]) -> AnalysisSettings | None:
    enabled = env.get("ANALYSIS_ENABLED", "").strip().lower()
    if enabled not in ("", "true", "false"):
        raise SettingsError(f"ANALYSIS_ENABLED must be true or false, got {env['ANALYSIS_ENABLED']!r}")
    if enabled != "true":
        return None
    raw = env.get("ANALYSIS_MIN_CONFIDENCE", "").strip()
    try:
        min_confidence = float(raw) if raw else DEFAULT_ANALYSIS_MIN_CONFIDENCE
    except ValueError:
        min_confidence = -1.0
    if not 0 <= min_confidence <= 100:
        raise SettingsError(f"ANALYSIS_MIN_CONFIDENCE must be a number from 0 to 100, got {raw!r}")
    raw_categories = env.get("ANALYSIS_BLOCK_CATEGORIES", "").strip() or "[]"
    try:
        categories = json.loads(raw_categories)
    except ValueError:
        categories = None
    if not isinstance(categories, list) or not all(isinstance(c, str) and c.strip() for c in categories):
        raise SettingsError(f"ANALYSIS_BLOCK_CATEGORIES must be a JSON list of category names, got {raw_categories!r}")
    return AnalysisSettings(
        min_confidence=min_confidence,
        max_labels=_parse_int(env, "ANALYSIS_MAX_LABELS", DEFAULT_ANALYSIS_MAX_LABELS, low=1, high=1000),
        block_categories=tuple(categories),
    )


def _parse_sizes(raw: str) -> tuple[int, ...]:
    try:
        sizes = {int(part) for part in raw.split(",")}
    except ValueError:
        sizes = set()
    if not sizes or min(sizes) < 1:
        raise SettingsError(f"SIZES must be a comma-separated list of positive integers, got {raw!r}")
    return tuple(sorted(sizes))


def _parse_int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise SettingsError(f"{name} must be an integer {bounds}, got {raw!r}")
    return value
