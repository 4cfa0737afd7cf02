"""`checkout-app`: migrate (under the advisory lock), then serve on PORT (8080)."""

from __future__ import annotations

import os

import uvicorn

from .settings import load_settings


def main() -> None:
    settings = load_settings(os.environ)
    uvicorn.run("checkout_app.api:app", host=settings.host, port=settings.port, proxy_headers=True,
                forwarded_allow_ips="*", server_header=False, access_log=False, log_level="info")


if __name__ == "__main__":
    main()
