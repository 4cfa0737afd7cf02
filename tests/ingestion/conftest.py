"""The IngestionPipeline evaluated once under mocks: its recorded delivery stream, table and queries."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import pytest

from offline.harness import evaluate_program
from serverless_blueprints.ingestion_pipeline import IngestionPipeline

SOURCES = ("sensor", "gateway", "mobile")


@dataclass(frozen=True)
class Recorded:
    delivery_props: dict
    table_props: dict
    named_queries: dict[str, str]
    database: str
    table: str

    @property
    def bucket(self) -> str:
        return self.delivery_props["extendedS3Configuration"]["bucketArn"].split(":::", 1)[1]


@pytest.fixture(scope="session")
def recorded() -> Recorded:
    def program():
        IngestionPipeline("ingest", {"sources": list(SOURCES), "buffer_size_mb": 64, "buffer_interval_seconds": 60})
    snapshot = evaluate_program(program, stack="dev")
    table = snapshot.named("ingest-table").props
    queries = {r.props["name"]: r.props["query"] for r in snapshot.of_type("aws:athena/namedQuery:NamedQuery")}
    return Recorded(snapshot.named("ingest-delivery").props, table, queries, table["databaseName"], table["name"])


@pytest.fixture(scope="module")
def transform():
    """The real transform handler, configured as the component configures it, invoked in-process."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCES", ",".join(SOURCES))
        from ingest_transform import handler as module
        module = importlib.reload(module)

    def invoke(event: dict) -> dict:
        return module.handler(event, None)
    return invoke


