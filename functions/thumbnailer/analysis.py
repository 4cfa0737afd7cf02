"""Optional image analysis with Amazon Rekognition: moderation labels gate the thumbnails, labels describe them.

Called only for an image that already decoded into thumbnails (bombs, corrupt and oversized
uploads were rejected before), and before any thumbnail is written:

1. DetectModerationLabels. A moderation label at or above the minimum confidence, in one of the
   blocked categories (any category when none are configured), flags the image: it gets a
   failure record with those labels and no thumbnails, and DetectLabels is not called.
2. DetectLabels (general labels only: image properties are billed extra). Accepted images carry
   their label names as thumbnail metadata, and the full labels in the SNS message.

What Rekognition is given: the original bytes when they are a JPEG or PNG within Rekognition's
5 MB inline limit, else the largest thumbnail (re-encoded as JPEG when thumbnails are WebP):
Rekognition decodes JPEG and PNG only. Inline bytes, not an S3 reference, so exactly the version
that was thumbnailed is analysed and Rekognition needs no access to the bucket.

Errors: throttling (ThrottlingException, ProvisionedThroughputExceededException), 5xx and
network errors propagate, so SQS retries the message; an image Rekognition refuses as such
(format, size, parameters) is a permanent `Unanalysable` rejection.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from thumbnailer.imaging import Thumbnail

# Rekognition's limit on image bytes passed inline (Image.Bytes).
MAX_INLINE_BYTES = 5 * 1024 * 1024
# The formats Rekognition decodes, by their signatures.
_ANALYSABLE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
ANALYSIS_JPEG_QUALITY = 90
# Errors that mean this image can never be analysed: recorded, not retried.
UNANALYSABLE_ERRORS = frozenset({"InvalidImageFormatException", "ImageTooLargeException",
                                 "InvalidParameterException"})
# S3 user metadata is at most 2 KB per object, names included; leave room for the name.
METADATA_LABELS_MAX_BYTES = 1800
LABELS_METADATA_KEY = "labels"


@dataclass(frozen=True)
class AnalysisSettings:
    min_confidence: float
    """0..100: labels below it are not returned, moderation labels at or above it can block."""
    max_labels: int
    block_categories: tuple[str, ...] = ()
    """Moderation categories that block, matched (case-insensitively) against a label's name and its
    parent's name; empty: every moderation label blocks."""


@dataclass(frozen=True)
class Label:
    name: str
    confidence: float
    parent: str | None = None

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.name, "confidence": round(self.confidence, 1)}
        if self.parent:
            document["parent"] = self.parent
        return document


@dataclass(frozen=True)
class Analysis:
    min_confidence: float
    moderation_labels: tuple[Label, ...]
    blocking: tuple[Label, ...]
    """The moderation labels that flag the image (empty: accepted)."""
    labels: tuple[Label, ...] = ()
    """Object and scene labels (only for accepted images)."""

    @property
    def flagged(self) -> bool:
        return bool(self.blocking)

    @property
    def flag_detail(self) -> str:
        found = ", ".join(f"{label.name} ({label.confidence:.1f}%)" for label in self.blocking)
        return f"moderation labels at or above {self.min_confidence:g}% confidence: {found}"

    def as_json(self) -> dict[str, Any]:
        return {"labels": [label.as_json() for label in self.labels],
                "moderationLabels": [label.as_json() for label in self.moderation_labels]}


class Unanalysable(Exception):
    """Rekognition refuses this image as such: retrying will not help."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"not_analysable: {detail}")
        self.reason = "not_analysable"
        self.detail = detail


def analyse(rekognition: Any, settings: AnalysisSettings, original: bytes, thumbnails: Sequence[Thumbnail]) -> Analysis:
    """Moderation first; object labels only for an image it does not flag."""
    image = {"Bytes": analysis_image(original, thumbnails)}
    moderation = tuple(
        _label(found, parent_key="ParentName")
        for found in _call(rekognition.detect_moderation_labels, Image=image,
                           MinConfidence=settings.min_confidence)["ModerationLabels"]
    )
    blocking = blocking_labels(moderation, settings)
    if blocking:
        return Analysis(settings.min_confidence, moderation, blocking)
    response = _call(rekognition.detect_labels, Image=image, MaxLabels=settings.max_labels,
                     MinConfidence=settings.min_confidence, Features=["GENERAL_LABELS"])
    labels = tuple(_label(found) for found in response["Labels"] if found.get("Confidence", 0) >= settings.min_confidence)
    return Analysis(settings.min_confidence, moderation, (), labels[: settings.max_labels])


def analysis_image(original: bytes, thumbnails: Sequence[Thumbnail]) -> bytes:
    """The original when Rekognition can take it inline, else the largest thumbnail as a JPEG."""
    if len(original) <= MAX_INLINE_BYTES and original.startswith(_ANALYSABLE_SIGNATURES):
        return original
    largest = max(thumbnails, key=lambda t: t.width * t.height)
    if largest.content_type == "image/jpeg":
        return largest.body
    from PIL import Image  # WebP thumbnails only; Pillow is loaded by imaging already

    out = io.BytesIO()
    with Image.open(io.BytesIO(largest.body)) as webp:
        rgb = webp.convert("RGBA")
        flat = Image.new("RGB", rgb.size, (255, 255, 255))
        flat.paste(rgb, mask=rgb.getchannel("A"))
    flat.save(out, "JPEG", quality=ANALYSIS_JPEG_QUALITY)
    return out.getvalue()


def blocking_labels(moderation: Sequence[Label], settings: AnalysisSettings) -> tuple[Label, ...]:
    """The moderation labels at or above the minimum confidence, in a blocked category."""
    blocked = {category.casefold() for category in settings.block_categories}
    return tuple(
        label for label in moderation
        if label.confidence >= settings.min_confidence
        and (not blocked or label.name.casefold() in blocked or (label.parent or "").casefold() in blocked)
    )


def labels_metadata(labels: Sequence[Label]) -> dict[str, str]:
    """Thumbnail user metadata: the label names, most confident first, as a JSON list within S3's 2 KB."""
    names: list[str] = []
    for label in sorted(labels, key=lambda label: -label.confidence):
        if len(json.dumps([*names, label.name], separators=(",", ":"))) > METADATA_LABELS_MAX_BYTES:
            break
        names.append(label.name)
    # ASCII only: metadata travels as HTTP headers.
    return {LABELS_METADATA_KEY: json.dumps(names, separators=(",", ":"), ensure_ascii=True)}


def _call(operation: Any, **params: Any) -> dict[str, Any]:
    try:
        response: dict[str, Any] = operation(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in UNANALYSABLE_ERRORS:
            raise Unanalysable(f"Rekognition {code}: {exc.response.get('Error', {}).get('Message', '')}") from exc
        raise  # throttling, 5xx, access: SQS retries, then the DLQ
    return response


def _label(found: dict[str, Any], parent_key: str | None = None) -> Label:
    parent = found.get(parent_key) if parent_key else next(iter(p.get("Name") for p in found.get("Parents") or []), None)
    return Label(str(found["Name"]), float(found.get("Confidence", 0.0)), parent or None)
