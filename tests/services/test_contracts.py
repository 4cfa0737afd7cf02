"""The committed OpenAPI documents match the code, and the committed clients match the documents.
Fix a failure with: .venv/bin/python -m services.openapi_contracts"""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from services import openapi_contracts as contracts

REGENERATE = "run `.venv/bin/python -m services.openapi_contracts` and commit the result"


@pytest.mark.parametrize("name", sorted(contracts.DOCUMENTS))
def test_committed_openapi_document_is_current(name):
    committed = (contracts.DOCS / name).read_text()
    assert json.loads(committed) == contracts.DOCUMENTS[name](), f"docs/openapi/{name} is stale: {REGENERATE}"
    assert committed == contracts.render(contracts.DOCUMENTS[name]()), f"docs/openapi/{name} is not as rendered"


def _tree_differences(left: Path, right: Path) -> list[str]:
    compared = filecmp.dircmp(left, right, ignore=["__pycache__", ".ruff_cache"])
    found = [*(f"only committed: {n}" for n in compared.left_only), *(f"only generated: {n}" for n in compared.right_only)]
    found += [f"differs: {n}" for n in filecmp.cmpfiles(left, right, compared.common_files, shallow=False)[1]]
    for sub in compared.common_dirs:
        found += [f"{sub}/{d}" for d in _tree_differences(left / sub, right / sub)]
    return found


@pytest.mark.parametrize("client", contracts.CLIENTS, ids=lambda c: c.package)
def test_committed_client_is_what_the_generator_makes(client, tmp_path):
    generated = tmp_path / client.package
    contracts.generate_client(client, generated)
    assert _tree_differences(client.target, generated) == [], f"{client.target} is stale: {REGENERATE}"
