"""Write provider/schema.json, the schema the provider serves (`make schema`; a test keeps it current)."""
import json
import sys
from pathlib import Path

from serverless_blueprints.provider import schema

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.json"


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(render())
    print(f"wrote {SCHEMA_FILE}", file=sys.stderr)
