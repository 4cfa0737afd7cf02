"""catalog as a real process (uvicorn) on moto's DynamoDB, driven through its generated client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cart_api.catalog_client import Client
from cart_api.catalog_client.api.products import get_product, list_products
from cart_api.catalog_client.models import Product, ProductList
from tests.services.shop import new_sku, put_product

ROOT = Path(__file__).resolve().parents[2]


def test_product_is_created_and_read_back_through_the_generated_client(catalog):
    sku = new_sku()
    created = put_product(catalog.url, sku, "Espresso cup", 1250)
    assert (created.sku, created.price_cents, created.currency, created.version) == (sku, 1250, "EUR", 1)
    with Client(base_url=catalog.url) as client:
        found = get_product.sync(client=client, sku=sku)
    assert isinstance(found, Product) and found.name == "Espresso cup"


def test_price_change_bumps_the_version(catalog):
    sku = new_sku()
    put_product(catalog.url, sku, "Grinder", 9900)
    changed = put_product(catalog.url, sku, "Grinder", 8900)
    assert (changed.price_cents, changed.version) == (8900, 2)


def test_batch_read_keeps_order_and_names_missing_skus(catalog):
    first, second, absent = new_sku(), new_sku(), new_sku("absent")
    put_product(catalog.url, first, "A", 100)
    put_product(catalog.url, second, "B", 200)
    with Client(base_url=catalog.url) as client:
        answer = list_products.sync(client=client, skus=f"{second},{absent},{first}")
    assert isinstance(answer, ProductList)
    assert [p.sku for p in answer.items] == [second, first]
    assert answer.missing == [absent]


def test_unknown_product_is_404_and_bad_input_is_refused(catalog):
    assert httpx.get(f"{catalog.url}/products/{new_sku('nope')}").status_code == 404
    assert httpx.get(f"{catalog.url}/products", params={"skus": "bad sku!"}).status_code == 400
    assert httpx.put(f"{catalog.url}/products/x1", json={"name": "x", "priceCents": -1}).status_code == 422


def test_served_openapi_document_is_the_committed_one(catalog):
    served = httpx.get(f"{catalog.url}/openapi.json").json()
    assert served == json.loads((ROOT / "docs" / "openapi" / "catalog.json").read_text())


@pytest.mark.network  # uv resolves against the package index
def test_container_requirements_are_the_whole_pinned_closure(tmp_path):
    listed = [line.split("==")[0].lower().replace("_", "-") for line in
              (ROOT / "services" / "catalog" / "requirements.txt").read_text().splitlines()
              if line and not line.startswith("#")]
    run = subprocess.run(
        [sys.executable, "-m", "uv", "pip", "install", "--dry-run", "--python-version", "3.13",
         "--python-platform", "aarch64-manylinux_2_28", "--target", str(tmp_path / "t"),
         "-r", str(ROOT / "services" / "catalog" / "requirements.txt")],
        capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    resolved = {line.split()[1].split("==")[0].lower().replace("_", "-")
                for line in run.stderr.splitlines() if line.startswith(" + ")}
    assert resolved == set(listed), f"unlisted: {resolved - set(listed)}, unneeded: {set(listed) - resolved}"
