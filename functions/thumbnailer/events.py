"""Which uploaded objects an SQS message (an S3 event notification) is about."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event

TEST_EVENT = "s3:TestEvent"


class MalformedNotification(ValueError):
    """The message is not an S3 event notification. It is retried and ends in the DLQ, where it can be inspected."""


@dataclass(frozen=True)
class UploadedObject:
    bucket: str
    key: str
    """URL-decoded: `+` is a space, %xx escapes are UTF-8."""
    size: int | None
    etag: str | None
    """The uploaded version's ETag, to read exactly that version (If-Match)."""


def uploads_in(body: str) -> list[UploadedObject]:
    """The objects created according to one message body; [] for S3's s3:TestEvent."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise MalformedNotification(f"message body is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedNotification("message body is not a JSON object")
    # S3 sends this once, when the notification configuration is saved.
    if document.get("Event") == TEST_EVENT:
        return []
    if not isinstance(document.get("Records"), list):
        raise MalformedNotification("message body has no S3 event Records")

    uploads = []
    try:
        for record in S3Event(document).records:
            if record.event_source != "aws:s3" or not record.event_name.startswith("ObjectCreated:"):
                continue
            s3_object = record.s3.get_object
            key = unquote_plus(s3_object.key)
            if key.endswith("/"):
                continue  # a console "folder" marker, not an upload
            uploads.append(
                UploadedObject(
                    bucket=record.s3.bucket.name,
                    key=key,
                    size=s3_object.get("size"),
                    etag=s3_object.etag or None,
                )
            )
    except (KeyError, TypeError, AttributeError) as exc:
        raise MalformedNotification(f"S3 event record is missing {exc}") from exc
    return uploads
