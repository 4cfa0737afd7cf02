"""The committed OpenAPI documents (docs/openapi/<name>.json)."""
from __future__ import annotations

import json
from typing import Any

from services.openapi_contracts import DOCS


def committed(name: str) -> dict[str, Any]:
    return json.loads((DOCS / f"{name}.json").read_text())
