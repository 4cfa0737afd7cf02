"""services/checkout builds a wheel that installs the `checkout-app` console script with its
migrations and generated cart client."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.network  # uv fetches the pinned setuptools the first time
def test_wheel_has_the_console_script_migrations_and_cart_client(tmp_path):
    source = tmp_path / "checkout"
    shutil.copytree(ROOT / "services" / "checkout", source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    run = subprocess.run([sys.executable, "-m", "uv", "build", "--wheel", "--quiet", "--out-dir", str(tmp_path / "dist"),
                          str(source)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    (wheel,) = (tmp_path / "dist").glob("checkout_app-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert "checkout-app = checkout_app.main:main" in entry_points
    assert {"checkout_app/migrations/0001_orders.sql", "checkout_app/migrations/0002_orders_by_cart.sql",
            "checkout_app/cart_client/api/carts/get_cart.py", "checkout_app/api.py"} <= names
