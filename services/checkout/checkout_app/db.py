"""Connections to PostgreSQL. One code path for both ways in: every new connection asks
`password_source` for its password, which is an RDS IAM auth token in AWS (DB_IAM_AUTH=true;
tokens live 15 minutes, so each connection signs a fresh one) and the configured password locally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool

from .settings import Settings


def password_source(settings: Settings, rds_client: Any = None) -> Callable[[], str]:
    if settings.db_iam_auth:
        if rds_client is None:
            import boto3

            rds_client = boto3.client("rds", region_name=settings.region)

        def iam_token() -> str:  # signed locally with the instance role's credentials: no network call
            return rds_client.generate_db_auth_token(
                DBHostname=settings.db_host, Port=settings.db_port, DBUsername=settings.db_user, Region=settings.region
            )

        return iam_token
    password = settings.db_password
    return lambda: password


def conninfo(settings: Settings) -> str:
    options: dict[str, Any] = {"sslmode": settings.db_sslmode}
    if settings.db_sslrootcert:
        options["sslrootcert"] = settings.db_sslrootcert
    return make_conninfo(host=settings.db_host, port=settings.db_port, dbname=settings.db_name,
                         user=settings.db_user, connect_timeout=5, application_name="checkout", **options)


def connection_kwargs(password: Callable[[], str]) -> Callable[[], dict[str, Any]]:
    return lambda: {"password": password()}


def connect(settings: Settings, password: Callable[[], str] | None = None, **kwargs: Any) -> psycopg.Connection:
    """One connection (migrations), made exactly as the pool makes its connections."""
    password = password or password_source(settings)
    return psycopg.connect(conninfo(settings), **connection_kwargs(password)(), **kwargs)


def open_pool(settings: Settings, password: Callable[[], str] | None = None) -> ConnectionPool:
    password = password or password_source(settings)
    return ConnectionPool(
        conninfo(settings),
        kwargs=connection_kwargs(password),  # called for every new connection: a fresh token each time
        min_size=1,
        max_size=settings.pool_max_size,
        max_lifetime=600,  # recycled, so a failed-over writer endpoint takes over without a restart
        check=ConnectionPool.check_connection,
        open=True,
        timeout=5,
        name="checkout",
    )
