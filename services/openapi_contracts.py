"""The shop's HTTP contracts, generated from the code, and the clients generated from them.

`.venv/bin/python -m services.openapi_contracts` (from the repository root) rewrites:
- docs/openapi/catalog.json   from catalog_app.main.app (FastAPI)
- docs/openapi/cart.json      from cart_api.handler.app (Powertools `get_openapi_json_schema`)
- docs/openapi/checkout.json  from checkout_app.api.app (FastAPI)
- functions/cart_api/catalog_client/            from catalog.json (openapi-python-client)
- services/checkout/checkout_app/cart_client/   from cart.json (openapi-python-client)

tests/services/test_contracts.py fails when any of them is not what this would write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "openapi"
# Formatting is part of the output: run ruff without the repository's settings, so a checkout in
# any directory generates byte-identical code.
POST_HOOKS = [
    "ruff check . --fix-only --isolated --no-cache --quiet --select I,F401",
    "ruff format . --isolated --no-cache --quiet",
]


@dataclass(frozen=True)
class GeneratedClient:
    document: Path
    package: str
    target: Path


CLIENTS = (
    GeneratedClient(DOCS / "catalog.json", "catalog_client", ROOT / "functions" / "cart_api" / "catalog_client"),
    GeneratedClient(DOCS / "cart.json", "cart_client", ROOT / "services" / "checkout" / "checkout_app" / "cart_client"),
)


def _on_path() -> None:
    for path in (ROOT, ROOT / "functions", ROOT / "services" / "catalog", ROOT / "services" / "checkout"):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def catalog_document() -> dict:
    _on_path()
    from catalog_app.main import app

    return app.openapi()


def cart_document() -> dict:
    """From a fresh import of cart_api.handler under placeholder settings (it reads them at import;
    nothing connects), leaving os.environ and sys.modules as they were."""
    _on_path()
    placeholders = {"AWS_DEFAULT_REGION": "eu-west-1", "CATALOG_URL": "http://catalog.local:8080",
                    "REDIS_HOST": "redis.local"}
    saved_env = {name: os.environ.get(name) for name in placeholders}
    saved_module = sys.modules.pop("cart_api.handler", None)
    os.environ.update(placeholders)
    try:
        import cart_api.handler

        return cart_api.handler.openapi_document()
    finally:
        sys.modules.pop("cart_api.handler", None)
        if saved_module is not None:
            sys.modules["cart_api.handler"] = saved_module
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def checkout_document() -> dict:
    _on_path()
    from checkout_app.api import app

    return app.openapi()


DOCUMENTS = {"catalog.json": catalog_document, "cart.json": cart_document, "checkout.json": checkout_document}


def render(document: dict) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def generate_client(client: GeneratedClient, target: Path) -> None:
    """openapi-python-client's output for `client.document`, written to `target` (replaced)."""
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "config.json"
        config.write_text(json.dumps({"package_name_override": client.package, "post_hooks": POST_HOOKS,
                                      "literal_enums": True}))
        out = Path(work) / client.package
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        run = subprocess.run(
            [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(client.document),
             "--config", str(config), "--meta", "none", "--output-path", str(out), "--overwrite"],
            capture_output=True, text=True, env=env, cwd=work,
        )
        if run.returncode != 0 or not out.exists():
            raise RuntimeError(f"openapi-python-client failed for {client.document.name}:\n{run.stdout}\n{run.stderr}")
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(out, target, ignore=shutil.ignore_patterns("__pycache__", ".ruff_cache"))


def main(which: list[str]) -> None:
    wanted = set(which) or {"docs", "clients"}
    if "docs" in wanted:
        for name, build in DOCUMENTS.items():
            (DOCS / name).write_text(render(build()))
            print(f"wrote docs/openapi/{name}")
    if "clients" in wanted:
        for client in CLIENTS:
            generate_client(client, client.target)
            print(f"generated {client.target.relative_to(ROOT)} from {client.document.name}")


if __name__ == "__main__":
    main(sys.argv[1:])
