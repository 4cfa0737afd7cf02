"""`python -m services.local_run.preflight`: start Redis (TLS + AUTH) and PostgreSQL once and stop
them, so a CI run fails early and clearly when either can't run here."""

from __future__ import annotations

import shutil
import sys
import time

from .servers import PostgresServer, RedisServer, ServerUnavailable, temp_dir


def main() -> int:
    directory = temp_dir("shop-preflight-")
    ok = True
    try:
        for name, server in (("redis", RedisServer(directory / "redis")), ("postgres", PostgresServer(directory / "pg"))):
            started = time.monotonic()
            try:
                if isinstance(server, RedisServer):
                    server.directory.mkdir(parents=True)
                server.start()
                print(f"preflight: {name} started on 127.0.0.1:{server.port} in {time.monotonic() - started:.1f}s")
            except (ServerUnavailable, RuntimeError, TimeoutError) as why:
                print(f"preflight: {name} can't start: {why}", file=sys.stderr)
                ok = False
            finally:
                server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
