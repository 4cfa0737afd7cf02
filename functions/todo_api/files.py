"""Per-user S3 folder: key rules and presigned URLs. No network calls (presigning is local).

The folder is `users/<sub>/`, where <sub> is the Cognito user-pool `sub` claim. The identity
pool maps that same claim to the principal tag `userSub`, and its role allows
`users/${aws:PrincipalTag/userSub}/*`, so the app reaches the same folder with
identity-pool credentials as through these URLs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from api_common.http import ApiError

FOLDER_ROOT = "users/"
MAX_PATH_BYTES = 512  # relative path; keeps the full key far below S3's 1024-byte limit
UPLOAD_FIELDS = ("filename", "contentType")

_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def user_folder(user_id: str) -> str:
    return f"{FOLDER_ROOT}{user_id}/"


def resolve_user_key(user_id: str, path: Any) -> str:
    """The full S3 key for `path`, which is relative to the caller's folder or is a full key inside it.

    Refuses (400) anything that is not a plain relative path, and (403) any key under
    another user's folder.
    """
    if not isinstance(path, str) or not path:
        raise ApiError(400, "a file path is required, relative to your folder (e.g. 'photos/cat.jpg')")
    folder = user_folder(user_id)
    if path.startswith(FOLDER_ROOT):
        if not (path + "/").startswith(folder):
            raise ApiError(403, "the key is outside your folder")
        path = path[len(folder):]
    _check_relative_path(path)
    return folder + path


def validate_upload_request(body: dict[str, Any], allowed_content_types: Sequence[str]) -> tuple[Any, str]:
    """The (filename, contentType) of an upload-url request; the filename is checked by resolve_user_key."""
    unknown = sorted(set(body) - set(UPLOAD_FIELDS))
    if unknown:
        raise ApiError(400, f"unknown field(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(UPLOAD_FIELDS)}")
    if "filename" not in body:
        raise ApiError(400, "'filename' is required")
    content_type = body.get("contentType")
    if not isinstance(content_type, str) or not content_type:
        raise ApiError(400, f"'contentType' is required, one of: {', '.join(allowed_content_types)}")
    content_type = content_type.strip().lower()
    if content_type not in allowed_content_types:
        raise ApiError(400, f"'contentType' must be one of: {', '.join(allowed_content_types)}")
    return body["filename"], content_type


def presign_upload(
    s3: Any, bucket: str, key: str, content_type: str, max_bytes: int, expires_in: int
) -> dict[str, Any]:
    """A presigned POST for exactly `key`, `content_type`, and 1..max_bytes bytes.

    boto3 adds the exact-match `bucket` and `key` conditions itself; S3 refuses a form whose
    fields or file break any condition, or whose policy was altered after signing.
    """
    post = s3.generate_presigned_post(
        Bucket=bucket,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in,
    )
    return {"url": post["url"], "fields": post["fields"]}


def presign_download(s3: Any, bucket: str, key: str, expires_in: int) -> str:
    return s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
    )


def _check_relative_path(path: str) -> None:
    if not path:
        raise ApiError(400, "the path must name a file inside your folder")
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        raise ApiError(400, "the path is not valid Unicode text") from None
    if size > MAX_PATH_BYTES:
        raise ApiError(400, f"the path must be at most {MAX_PATH_BYTES} bytes in UTF-8")
    if _CONTROL_CHARS.search(path):
        raise ApiError(400, "the path must not contain control characters")
    if "\\" in path:
        raise ApiError(400, "the path must use '/' as separator, not '\\'")
    if path.startswith("/"):
        raise ApiError(400, "the path must be relative to your folder, not absolute")
    segments = path.split("/")
    if any(segment in (".", "..") for segment in segments):
        raise ApiError(400, "the path must not contain '.' or '..' segments")
    if any(segment == "" for segment in segments):
        raise ApiError(400, "the path must not contain empty segments ('//' or a trailing '/')")
