"""checkout's configuration, from the environment (systemd's EnvironmentFile in AWS)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_iam_auth: bool
    """True in AWS: the password is a fresh RDS IAM auth token for every new connection."""
    db_password: str | None
    """Only without IAM auth (local runs)."""
    db_sslmode: str
    db_sslrootcert: str | None
    region: str | None
    cart_url: str
    cart_sigv4: bool
    """Sign calls to cart (API Gateway, AWS_IAM): on by default for an https:// CART_URL."""
    cart_timeout: float
    host: str
    port: int
    migrate_on_start: bool
    pool_max_size: int


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if value == "":
        return default
    if value not in ("true", "false", "1", "0"):
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return value in ("true", "1")


def load_settings(env: Mapping[str, str]) -> Settings:
    iam = _flag(env, "DB_IAM_AUTH", False)
    password = env.get("DB_PASSWORD") or None
    if not iam and password is None:
        raise ValueError("set DB_IAM_AUTH=true (AWS) or DB_PASSWORD (local)")
    sslmode = env.get("DB_SSLMODE") or ("verify-full" if iam and env.get("DB_SSLROOTCERT") else
                                        "require" if iam else "prefer")
    if iam and sslmode not in ("require", "verify-ca", "verify-full"):
        raise ValueError(f"DB_SSLMODE={sslmode} with DB_IAM_AUTH=true: IAM auth needs require, verify-ca or verify-full")
    cart_url = env.get("CART_URL", "http://127.0.0.1:8081").rstrip("/")
    cart_sigv4 = _flag(env, "CART_SIGV4", cart_url.startswith("https://"))
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    if cart_sigv4 and region is None:
        raise ValueError("CART_SIGV4 needs AWS_REGION (the cart API's region)")
    return Settings(
        db_host=env["DB_HOST"],
        db_port=int(env.get("DB_PORT", "5432")),
        db_name=env.get("DB_NAME", "checkout"),
        db_user=env.get("DB_USER", "checkout"),
        db_iam_auth=iam,
        db_password=None if iam else password,
        # IAM auth requires TLS; the server is verified against the RDS CA bundle when one is given.
        db_sslmode=sslmode,
        db_sslrootcert=env.get("DB_SSLROOTCERT") or None,
        region=region,
        cart_url=cart_url,
        cart_sigv4=cart_sigv4,
        cart_timeout=float(env.get("CART_TIMEOUT_SECONDS", "3")),
        host=env.get("HOST", "0.0.0.0"),  # noqa: S104 (behind the ALB, in a private subnet)
        port=int(env.get("PORT", "8080")),
        migrate_on_start=_flag(env, "MIGRATE_ON_START", True),
        pool_max_size=int(env.get("DB_POOL_MAX_SIZE", "10")),
    )
