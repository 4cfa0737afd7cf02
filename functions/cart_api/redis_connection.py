"""The Redis client: TLS, AUTH token from Secrets Manager, short timeouts, reconnect on failover.

The client is built once per execution environment and connects lazily, so a cold start pays
for the TLS handshake only on its first command. Connection errors, timeouts and READONLY
answers (a failover demoted the node we were talking to) drop the connection and retry once
on a fresh one, which re-resolves the primary endpoint's DNS name.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import redis
from redis.backoff import ExponentialBackoff
from redis.credentials import CredentialProvider
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from .settings import Settings

SECRET_MAX_AGE_SECONDS = 300


def read_secret_string(arn: str, *, force: bool) -> str:
    """The secret's current value, cached for SECRET_MAX_AGE_SECONDS by Powertools."""
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_secret(arn, max_age=SECRET_MAX_AGE_SECONDS, force_fetch=force)


def auth_token_of(secret: str) -> str:
    """A plain-string secret, or a JSON one holding `authToken` / `password`."""
    text = secret.strip()
    if text.startswith("{"):
        value = json.loads(text)
        return value.get("authToken") or value["password"]
    return text


class SecretsManagerAuth(CredentialProvider):
    """AUTH token for each new connection, read from Secrets Manager and cached.

    After a rotation, the first AUTH that fails calls `refresh()` so the next connection reads
    the new token instead of waiting out the cache.
    """

    def __init__(self, secret_arn: str, read: Callable[..., str] = read_secret_string) -> None:
        self._arn = secret_arn
        self._read = read
        self._force = False
        self._lock = threading.Lock()

    def get_credentials(self) -> tuple[str]:
        with self._lock:
            force, self._force = self._force, False
        return (auth_token_of(self._read(self._arn, force=force)),)

    def refresh(self) -> None:
        with self._lock:
            self._force = True


def connect_redis(settings: Settings, credentials: CredentialProvider | None = None) -> redis.Redis:
    options: dict = {}
    if settings.redis_tls:
        options = {"ssl": True, "ssl_cert_reqs": "required", "ssl_check_hostname": True}
        if settings.redis_ca_file:
            options["ssl_ca_certs"] = settings.redis_ca_file
    return redis.Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        credential_provider=credentials,
        socket_connect_timeout=settings.redis_connect_timeout,
        socket_timeout=settings.redis_read_timeout,
        socket_keepalive=True,
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), retries=1),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, ReadOnlyError],
        health_check_interval=30,  # a PING first on a connection idle this long (a frozen Lambda's)
        decode_responses=True,
        max_connections=8,
        **options,
    )
