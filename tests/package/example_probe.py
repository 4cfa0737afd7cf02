"""Run by tests/package/test_wheel.py with the wheel's virtualenv, from an example's folder.

Evaluates the project in the working directory with `serverless_blueprints.testing` and prints,
as JSON, what it registered and where each import came from. Not a test module: pytest never
imports it, and it imports nothing from this repository.
"""
import importlib.util
import json
import sys
from pathlib import Path

import pulumi

from serverless_blueprints import lambda_packaging, testing


def encode(value):
    if isinstance(value, (pulumi.FileAsset, pulumi.FileArchive)):
        return {"file": str(Path(value.path).resolve())}
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    return repr(value)


def main() -> None:
    project = Path.cwd()
    spec_before = importlib.util.find_spec("components")  # the library must not provide one
    snapshot = testing.evaluate(project, stack=sys.argv[1])
    sys.path.insert(0, str(project))
    import components.naming  # the example's own package, beside the library's

    print(json.dumps({
        "resources": [{"type": r.resource_type, "name": r.name, "custom": r.custom, "props": r.props}
                      for r in snapshot.resources],
        "exports": snapshot.exports,
        "library": str(Path(testing.__file__).resolve().parent),
        "own_components": str(Path(components.naming.__file__).resolve()),
        "components_before_project": spec_before.origin if spec_before else None,
        "cache_dir": str(lambda_packaging.cache_dir().resolve()),
    }, default=encode))


if __name__ == "__main__":
    main()
