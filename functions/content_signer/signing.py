"""CloudFront signed URLs (canned policy) and signed cookies (custom policy), and who may get them.

Plain functions over plain values: the handler reads the request, the premium table and the
secret, and these decide. Signing is botocore's CloudFrontSigner with an RSA-SHA1 signer from
`cryptography` (SHA-1 is what CloudFront verifies); the cookie policy is CloudFrontSigner.build_policy,
and its base64 is CloudFront's URL-safe variant, taken from the signer's own output.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any, Callable, Mapping, Optional

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

COOKIE_NAMES = ("CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id")
SAME_SITE_VALUES = ("Strict", "Lax", "None")
MAX_PATH_BYTES = 1024
# One path segment: unreserved URL characters only, so the URL we sign is the URL a browser sends
# (no percent-escapes to decode differently, no '?', '#', '*' or spaces).
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


class Refused(Exception):
    """A request we won't sign: `status` (400 or 403), a stable `reason` and a message for people."""

    def __init__(self, status: int, reason: str, message: str):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


# --- what may be signed -----------------------------------------------------------------------------

def _segments_ok(relative: str) -> bool:
    segments = relative.split("/")
    return all(_SEGMENT.fullmatch(s) is not None and s not in (".", "..") for s in segments)


def premium_object_path(path: Any, prefix: str) -> str:
    """An object path under the premium prefix (e.g. /premium/video/intro.mp4), or Refused 400."""
    if not isinstance(path, str) or not path:
        raise Refused(400, "path_required", "query parameter 'path' is required")
    if len(path.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise Refused(400, "path_too_long", f"path is longer than {MAX_PATH_BYTES} bytes")
    if not path.startswith(prefix) or path == prefix:
        raise Refused(400, "path_outside_premium", f"path must be an object under {prefix}")
    if not _segments_ok(path[len(prefix):]):
        raise Refused(400, "path_invalid", "path segments may hold only letters, digits and . _ ~ - "
                                           "(no empty, '.' or '..' segments)")
    return path


def premium_folder(folder: Any, prefix: str) -> str:
    """A folder under (or equal to) the premium prefix, ending in '/', or Refused 400."""
    if not isinstance(folder, str) or not folder:
        raise Refused(400, "folder_required", "field 'folder' is required, e.g. " + prefix)
    if len(folder.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise Refused(400, "path_too_long", f"folder is longer than {MAX_PATH_BYTES} bytes")
    folder = folder if folder.endswith("/") else folder + "/"
    if not folder.startswith(prefix):
        raise Refused(400, "path_outside_premium", f"folder must be {prefix} or a folder under it")
    relative = folder[len(prefix):-1]
    if relative and not _segments_ok(relative):
        raise Refused(400, "path_invalid", "folder segments may hold only letters, digits and . _ ~ - "
                                           "(no empty, '.' or '..' segments)")
    return folder


def requested_seconds(value: Any) -> Optional[int]:
    """The caller's `expiresIn` (seconds, a positive whole number), None when absent; Refused 400 otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Refused(400, "expires_in_invalid", "expiresIn must be a whole number of seconds, at least 1")
    return value


def premium_until(item: Optional[Mapping[str, Any]], now: int) -> int:
    """The end of the caller's subscription (epoch seconds), or Refused 403 saying why not."""
    until = None if item is None else item.get("premiumUntil")
    if until is None:
        raise Refused(403, "not_premium", "a premium subscription is required")
    until = int(until)
    if until <= now:
        raise Refused(403, "subscription_expired", "the premium subscription has expired")
    return until


def expiry(now: int, requested: Optional[int], *, default_ttl: int, max_ttl: int, subscription_end: int) -> int:
    """When a signature stops working: min(requested, max_ttl, subscription end), requested defaulting."""
    return min(now + (default_ttl if requested is None else requested), now + max_ttl, subscription_end)


# --- keys ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SigningKey:
    """A CloudFront public key's id and the signer for its private key (always from one secret value)."""
    key_id: str
    signer: CloudFrontSigner


def signing_key_from_secret(secret_string: str) -> SigningKey:
    """The secret's value {"keyId": ..., "privateKey": PEM}: the id and the key can't come apart."""
    value = json.loads(secret_string)
    key = serialization.load_pem_private_key(value["privateKey"].encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the signing key must be an RSA key")

    def rsa_sha1(message: bytes) -> bytes:
        return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront verifies SHA-1

    return SigningKey(key_id=value["keyId"], signer=CloudFrontSigner(value["keyId"], rsa_sha1))


class KeyCache:
    """The signing key, loaded at most once per `ttl_seconds`: a rotated secret is picked up without a
    redeploy, and a warm function doesn't read Secrets Manager (or parse a PEM) on every request."""

    def __init__(self, load: Callable[[], str], ttl_seconds: float, clock: Callable[[], float] = time.monotonic):
        self._load, self._ttl, self._clock = load, ttl_seconds, clock
        self._key: Optional[SigningKey] = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> SigningKey:
        with self._lock:
            now = self._clock()
            if self._key is None or now - self._loaded_at >= self._ttl:
                self._key = signing_key_from_secret(self._load())
                self._loaded_at = now
            return self._key


# --- signatures ----------------------------------------------------------------------------------------

def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def signed_url(key: SigningKey, domain: str, path: str, expires_at: int) -> str:
    """https://<domain><path>?Expires=..&Signature=..&Key-Pair-Id=.. (canned policy)."""
    return key.signer.generate_presigned_url(f"https://{domain}{path}", date_less_than=_utc(expires_at))


def signed_cookie_values(key: SigningKey, domain: str, folder: str, expires_at: int) -> dict[str, str]:
    """The three CloudFront cookies' values for every object under `folder` (custom policy)."""
    resource = f"https://{domain}{folder}*"
    policy = key.signer.build_policy(resource, _utc(expires_at))
    # The signer encodes Policy and Signature the way CloudFront wants (+ -> -, = -> _, / -> ~), the same
    # encoding its cookies use: take them from its output rather than redo it.
    query = key.signer.generate_presigned_url(resource, policy=policy).rpartition("?")[2]
    params = dict(part.split("=", 1) for part in query.split("&"))
    return {"CloudFront-Policy": params["Policy"], "CloudFront-Signature": params["Signature"],
            "CloudFront-Key-Pair-Id": params["Key-Pair-Id"]}


def set_cookie_headers(values: Mapping[str, str], *, domain: str, path: str, expires_at: int, now: int,
                       same_site: str) -> list[str]:
    """Set-Cookie values: Secure, HttpOnly, SameSite, Path = the premium prefix, Domain = the content host."""
    expires = format_datetime(_utc(expires_at), usegmt=True)
    return [f"{name}={values[name]}; Domain={domain}; Path={path}; Expires={expires}; "
            f"Max-Age={max(0, expires_at - now)}; Secure; HttpOnly; SameSite={same_site}" for name in COOKIE_NAMES]
