"""cart_api's configuration, read once from the environment the component sets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    catalog_url: str
    redis_host: str
    redis_port: int
    redis_tls: bool
    redis_auth_secret_arn: str | None
    """Secrets Manager secret holding the Redis AUTH token; unset only for a local Redis without AUTH."""
    redis_ca_file: str | None
    """A CA bundle for Redis' certificate; unset in AWS (ElastiCache's certificates chain to public roots)."""
    price_ttl_seconds: int
    cart_ttl_seconds: int
    redis_connect_timeout: float
    redis_read_timeout: float
    outage_backoff_seconds: float
    catalog_timeout: float


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered not in ("true", "false", "1", "0"):
        raise ValueError(f"expected true or false, got {value!r}")
    return lowered in ("true", "1")


def load_settings(env: Mapping[str, str]) -> Settings:
    return Settings(
        catalog_url=env["CATALOG_URL"].rstrip("/"),
        redis_host=env["REDIS_HOST"],
        redis_port=int(env.get("REDIS_PORT", "6379")),
        redis_tls=_flag(env.get("REDIS_TLS"), True),
        redis_auth_secret_arn=env.get("REDIS_AUTH_SECRET_ARN") or None,
        redis_ca_file=env.get("REDIS_CA_FILE") or None,
        price_ttl_seconds=int(env.get("PRICE_CACHE_TTL_SECONDS", "300")),
        cart_ttl_seconds=int(env.get("CART_TTL_SECONDS", str(7 * 24 * 3600))),
        redis_connect_timeout=float(env.get("REDIS_CONNECT_TIMEOUT_SECONDS", "1.0")),
        redis_read_timeout=float(env.get("REDIS_READ_TIMEOUT_SECONDS", "0.5")),
        outage_backoff_seconds=float(env.get("REDIS_OUTAGE_BACKOFF_SECONDS", "5")),
        catalog_timeout=float(env.get("CATALOG_TIMEOUT_SECONDS", "2.0")),
    )
