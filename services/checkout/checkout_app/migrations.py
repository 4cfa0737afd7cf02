"""Schema migrations: numbered SQL files in checkout_app/migrations/, applied in order, each once.

All of it runs in one transaction holding a PostgreSQL advisory lock, so when several instances
start together exactly one migrates and the others wait, then find nothing left to do. A failed
migration rolls back whole (PostgreSQL's DDL is transactional).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

# pg_advisory_xact_lock takes a bigint: "checkout" in ASCII.
MIGRATION_LOCK_ID = int.from_bytes(b"checkout", "big") & 0x7FFF_FFFF_FFFF_FFFF
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("checkout_app").joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version: {versions}")
    return found


def migrate(conn: psycopg.Connection, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what `schema_migrations` lacks; the versions this call applied (empty if none)."""
    migrations = available_migrations() if migrations is None else migrations
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_ID,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for migration in migrations:
            if migration.version in done:
                continue
            conn.execute(migration.sql.encode())  # no parameters: several statements may run at once
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                         (migration.version, migration.name))
            applied_now.append(migration.version)
    return applied_now
