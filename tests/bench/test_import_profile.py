"""What the cold-import bench (bench/import_profile.py) reports, and what a handler's import leaves out.

Nothing here is timed: the import test checks which modules a handler loads, in the sandbox the
bench times (python3.13, the function's real code zip and layer).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from bench.import_profile import HANDLER_ENV, ImportProfile, import_environment, percentile


def test_p90_interpolates_between_the_closest_ranks():
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0], 0.9) == pytest.approx(10.0)
    assert percentile([1.2, 1.0], 0.9) == pytest.approx(1.18)
    assert percentile([1.3], 0.9) == 1.3


def test_shares_charge_the_function_its_own_modules_and_the_standard_library_as_one():
    profile = ImportProfile("thumbnailer", modules={"thumbnailer.imaging": [3000], "json.decoder": [1000],
                                                    "PIL.Image": [5000, 7000]})
    assert dict(profile.shares()) == pytest.approx({"PIL": 0.6, "own code": 0.3, "stdlib": 0.1})
    assert profile.heaviest(1, beyond_baseline=frozenset({"PIL.Image"})) == [("thumbnailer.imaging", 3.0)]


def test_cart_api_import_loads_neither_the_catalog_client_nor_the_parser_models():
    # Stream batches and cached prices never call the catalog; the parser's models serve a batch
    # option cart_api doesn't use (Powertools builds them when pydantic is loaded before its batch module).
    environment = import_environment("cart_api")
    probe = ("import sys, cart_api.handler\n"
             "print(*sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'attrs')\n"
             "      or m.startswith(('cart_api.catalog_client', 'aws_lambda_powertools.utilities.parser'))))")
    result = subprocess.run(environment.command(probe), env={**os.environ, **HANDLER_ENV}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []
