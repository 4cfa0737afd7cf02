"""Which environment variables an app reads, found in its source, so a component's test can hold the component
to the app's names (tests/components/test_{catalog,cart,checkout}_service.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CATALOG_APP = REPO / "services" / "catalog" / "catalog_app"
CART_API = REPO / "functions" / "cart_api"
CHECKOUT_APP = REPO / "services" / "checkout" / "checkout_app"

_NAME = r"""["']([A-Z][A-Z0-9_]*)["']"""
# `os.environ["X"]` / `env["X"]`: a KeyError when unset.
_REQUIRED = re.compile(rf"\b(?:os\.environ|env)\[\s*{_NAME}\s*\]")
# `.get("X"...)`, `os.getenv("X"...)`, or a helper given the mapping and the name (`_flag(env, "X", ...)`).
_OPTIONAL = re.compile(rf"\b(?:(?:os\.environ|env)\.get\(|os\.getenv\(|\w+\(\s*env\s*,)\s*{_NAME}")


@dataclass(frozen=True)
class EnvironmentReads:
    required: frozenset[str]
    """Read without a default: the app fails to start without them."""
    optional: frozenset[str]
    """Read with a default."""

    @property
    def names(self) -> frozenset[str]:
        return self.required | self.optional


def environment_reads(package: Path) -> EnvironmentReads:
    """Every environment variable the package's own modules read (generated clients read none)."""
    required: set[str] = set()
    optional: set[str] = set()
    for source in sorted(package.rglob("*.py")):
        text = source.read_text()
        required.update(_REQUIRED.findall(text))
        optional.update(_OPTIONAL.findall(text))
    assert required | optional, f"found no environment reads under {package}: has the app's way of reading changed?"
    return EnvironmentReads(frozenset(required), frozenset(optional - required))
