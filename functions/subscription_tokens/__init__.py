"""Signed newsletter links: the tokens in confirmation and unsubscribe links, and the key that signs them.

Shared by welcome_email (signs: it mails the links) and blog_api (verifies: it serves the links).
Bundled into each zip that imports it, as top-level `subscription_tokens`.

A token is `<payload>.<signature>`, both base64url without padding. The payload is compact JSON
`{"a": action, "e": email, "x": expiry (Unix seconds) or 0 for none}`; the signature is
HMAC-SHA256 over the payload's bytes with the stack's key, compared in constant time. The action
is signed too, so an unsubscribe token never confirms and a confirmation token never unsubscribes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"
ACTIONS = frozenset({CONFIRM, UNSUBSCRIBE})
# 254-character address + JSON + base64 + a 43-character signature stays well under this.
MAX_TOKEN_CHARS = 600
MIN_KEY_BYTES = 32
# How long a confirmation link works; a pending subscriber older than this may subscribe again.
CONFIRMATION_TTL_SECONDS = 48 * 60 * 60


class TokenError(Exception):
    """A token we refuse; `reason` is "token_invalid" (malformed, forged, wrong action) or "token_expired"."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class TokenClaims:
    action: str
    email: str
    expires_at: int
    """Unix seconds; 0 means the token does not expire."""


def signing_key(secret: str) -> bytes:
    """The HMAC key in the stack's secret (at least 32 bytes: it is generated, never typed)."""
    key = secret.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the subscription token secret must be at least {MIN_KEY_BYTES} bytes")
    return key


def sign(key: bytes, action: str, email: str, *, expires_at: int = 0) -> str:
    """A token for `action` on `email`, valid until `expires_at` (0: no expiry)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    payload = json.dumps({"a": action, "e": email, "x": int(expires_at)}, separators=(",", ":"),
                         ensure_ascii=True).encode("ascii")
    return f"{_encode(payload)}.{_encode(_mac(key, payload))}"


def verify(key: bytes, token: str | None, action: str, *, now: float | None = None) -> TokenClaims:
    """The claims of a token this stack signed for `action`, or TokenError saying why not.

    The signature is checked before anything in the payload is read.
    """
    invalid = TokenError("token_invalid", "the link is not valid")
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii() or token.count(".") != 1:
        raise invalid
    encoded_payload, encoded_signature = token.split(".")
    payload, signature = _decode(encoded_payload), _decode(encoded_signature)
    if payload is None or signature is None or not hmac.compare_digest(signature, _mac(key, payload)):
        raise invalid
    try:
        fields = json.loads(payload)
    except ValueError:
        raise invalid from None
    if not isinstance(fields, dict) or fields.get("a") != action:
        raise invalid
    email, expires_at = fields.get("e"), fields.get("x")
    if not isinstance(email, str) or not email or type(expires_at) is not int or expires_at < 0:
        raise invalid
    if expires_at and expires_at <= (time.time() if now is None else now):
        raise TokenError("token_expired", "the link has expired; subscribe again for a new one")
    return TokenClaims(action=action, email=email, expires_at=expires_at)


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes | None:
    if not text or any(c not in _BASE64URL for c in text):
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class CachedSecret:
    """A Secrets Manager value read on first use and kept `max_age` seconds (the secret is never in the
    function's environment; one GetSecretValue per execution environment per `max_age`)."""

    def __init__(self, fetch: Callable[[], str], max_age: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self._fetch, self._max_age, self._clock = fetch, max_age, clock
        self._value: str | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            now = self._clock()
            if self._value is None or now - self._read_at >= self._max_age:
                self._value, self._read_at = self._fetch(), now
            return self._value
