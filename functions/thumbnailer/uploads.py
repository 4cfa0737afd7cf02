"""Turn one uploaded object into its thumbnail set, or a failure record if it never can be.

Errors are split by what a retry would achieve:
- permanent (the bytes are not a usable image, or too big; with analysis on, also an image
  Rekognition flags or refuses): a JSON failure record is written to the thumbnails bucket
  and the upload counts as handled;
- transient (throttling, 5xx, network, and anything unexpected): the exception
  propagates, so SQS redelivers the message and, after redrive, parks it in the DLQ.
Nothing here writes, tags or deletes anything in the upload bucket.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from thumbnailer.analysis import Analysis, Unanalysable, analyse, labels_metadata
from thumbnailer.events import UploadedObject
from thumbnailer.imaging import RejectedImage, Thumbnail, make_thumbnails
from thumbnailer.settings import Settings

# Thumbnail keys never change meaning for a given upload, so caches may keep them.
CACHE_CONTROL = "public, max-age=31536000, immutable"
FAILURE_RECORD_CACHE_CONTROL = "no-store"
MAX_KEY_BYTES = 1024  # S3's limit on a key's UTF-8 length


@dataclass(frozen=True)
class Outcome:
    status: str
    """thumbnailed | rejected | superseded | source_missing"""
    keys: tuple[str, ...] = ()
    """The keys written to the thumbnails bucket."""
    reason: str | None = None
    detail: str | None = None


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class _Skipped(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def thumbnail_key(size: int, key: str) -> str:
    """`<size>/<original key>`, unchanged even when the output format differs from the key's extension."""
    return f"{size}/{key}"


def failure_record_key(prefix: str, key: str) -> str:
    record_key = f"{prefix}{key}.json"
    if len(record_key.encode()) <= MAX_KEY_BYTES:
        return record_key
    # Near-limit keys cannot take a prefix: name the record by digest; the full key is inside.
    return f"{prefix}_long-keys/{hashlib.sha256(key.encode()).hexdigest()}.json"


def process_upload(s3: Any, sns: Any, settings: Settings, upload: UploadedObject, rekognition: Any = None) -> Outcome:
    """`rekognition` is used only when settings.analysis is on, after the image decoded into thumbnails."""
    analysis: Analysis | None = None
    try:
        keys = {size: thumbnail_key(size, upload.key) for size in settings.sizes}
        if any(len(key.encode()) > MAX_KEY_BYTES for key in keys.values()):
            raise _Rejected("key_too_long", f"a thumbnail key would exceed S3's {MAX_KEY_BYTES}-byte limit")
        data = fetch_original(s3, upload, settings.max_bytes)
        thumbnails = make_thumbnails(
            data,
            settings.sizes,
            output_format=settings.output_format,
            quality=settings.quality,
            max_pixels=settings.max_pixels,
        )
        if settings.analysis is not None:
            analysis = analyse(rekognition, settings.analysis, data, thumbnails)
    except _Skipped as skipped:
        return Outcome(skipped.status)
    except (_Rejected, RejectedImage, Unanalysable) as rejected:
        record_key = record_failure(s3, settings, upload, rejected.reason, rejected.detail)
        return Outcome("rejected", (record_key,), rejected.reason, rejected.detail)

    if analysis is not None and analysis.flagged:
        record_key = record_failure(s3, settings, upload, "flagged", analysis.flag_detail,
                                    extra={"moderationLabels": [label.as_json() for label in analysis.blocking]})
        return Outcome("rejected", (record_key,), "flagged", analysis.flag_detail)

    # Only with analysis on: the default request is unchanged.
    extra: dict[str, Any] = {"Metadata": labels_metadata(analysis.labels)} if analysis is not None else {}
    for thumbnail in thumbnails:
        s3.put_object(
            Bucket=settings.thumbnail_bucket,
            Key=keys[thumbnail.size],
            Body=thumbnail.body,
            ContentType=thumbnail.content_type,
            CacheControl=CACHE_CONTROL,
            **extra,
        )
    if settings.topic_arn:
        message = thumbnail_set_message(settings, upload, thumbnails, keys)
        if analysis is not None:
            message.update(analysis.as_json())
        sns.publish(TopicArn=settings.topic_arn, Message=json.dumps(message))
    return Outcome("thumbnailed", tuple(keys[t.size] for t in thumbnails))


def fetch_original(s3: Any, upload: UploadedObject, max_bytes: int) -> bytes:
    """The uploaded bytes, with the size checked from Content-Length before the body is read."""
    request = {"Bucket": upload.bucket, "Key": upload.key}
    if upload.etag:
        # Only the version this notification describes: a later overwrite has its own
        # notification, and must not be overtaken by this older one.
        request["IfMatch"] = upload.etag
    try:
        response = s3.get_object(**request)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 412:
            raise _Skipped("superseded") from exc
        if status == 404:
            raise _Skipped("source_missing") from exc
        raise
    with closing(response["Body"]) as body:
        length = response["ContentLength"]
        if length == 0:
            raise _Rejected("empty", "the object is zero bytes")
        if length > max_bytes:
            raise _Rejected("too_many_bytes", f"{length} bytes, over MAX_BYTES {max_bytes}")
        return body.read()


def record_failure(s3: Any, settings: Settings, upload: UploadedObject, reason: str, detail: str,
                   extra: dict[str, Any] | None = None) -> str:
    record_key = failure_record_key(settings.failure_prefix, upload.key)
    record = {
        "sourceBucket": upload.bucket,
        "sourceKey": upload.key,
        "sourceETag": upload.etag,
        "reason": reason,
        "detail": detail,
        "recordedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    s3.put_object(
        Bucket=settings.thumbnail_bucket,
        Key=record_key,
        Body=json.dumps(record).encode(),
        ContentType="application/json",
        CacheControl=FAILURE_RECORD_CACHE_CONTROL,
    )
    return record_key


def thumbnail_set_message(
    settings: Settings, upload: UploadedObject, thumbnails: list[Thumbnail], keys: dict[int, str]
) -> dict[str, Any]:
    """The SNS message for a completed set. (sourceKey, sourceETag) identifies it for de-duplication."""
    return {
        "sourceBucket": upload.bucket,
        "sourceKey": upload.key,
        "sourceETag": upload.etag,
        "thumbnailBucket": settings.thumbnail_bucket,
        "thumbnails": [
            {
                "size": t.size,
                "key": keys[t.size],
                "width": t.width,
                "height": t.height,
                "contentType": t.content_type,
                "contentLength": len(t.body),
            }
            for t in thumbnails
        ],
    }
