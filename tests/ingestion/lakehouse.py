"""Local stand-ins for the query side: Athena's SQL on DuckDB (through sqlglot), over the Parquet
files the Firehose emulation wrote to moto S3, found through the table's projection template."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

import duckdb

from twin.athena_sql import UNLOAD, athena_to_duckdb


def projected_prefixes(parameters: dict, hours: list[str]) -> list[tuple[str, str, dict]]:
    """(bucket, key prefix, partition values) Athena reads for these hours, from the table's projection."""
    template = parameters["storage.location.template"]
    sources = parameters["projection.source.values"].split(",")
    found = []
    for source in sources:
        for hour in hours:
            uri = template.replace("${source}", source).replace("${hour}", hour)
            bucket, prefix = uri.removeprefix("s3://").split("/", 1)
            found.append((bucket, prefix, {"source": source, "hour": hour}))
    return found


def download_projected(s3: Any, parameters: dict, hours: list[str], root: Path) -> list[Path]:
    """Copy every object under the projected partitions to `root`, keeping their keys."""
    files = []
    for bucket, prefix, _ in projected_prefixes(parameters, hours):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                target = root / item["Key"]
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(bucket, item["Key"], str(target))
                files.append(target)
    return files


class DuckAthena:
    """Athena's query API on DuckDB: the table is a view over the downloaded partitions."""

    def __init__(self, s3: Any, database: str, table: str, data_root: Path, partition_keys=("source", "hour")):
        self.s3, self.queries, self.database, self.table = s3, {}, database, table
        self.connection = duckdb.connect()
        self.connection.execute("SET TimeZone = 'UTC'")
        self.connection.execute(f'CREATE SCHEMA "{database}"')
        files = sorted(str(p) for p in data_root.rglob("*.parquet"))
        hive_types = "{" + ", ".join(f"'{k}': 'VARCHAR'" for k in partition_keys) + "}"
        self.connection.execute(
            f'CREATE VIEW "{database}"."{table}" AS SELECT * FROM read_parquet({files!r}, hive_partitioning = true, '
            f'hive_types = {hive_types})')

    def query(self, athena_sql: str) -> list[dict]:
        cursor = self.connection.execute(athena_to_duckdb(athena_sql))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    # --- the two Athena calls the report function makes -------------------------------------------
    def start_query_execution(self, QueryString: str, WorkGroup: str, ClientRequestToken: str = "") -> dict:  # noqa: N803
        query_id = str(uuid.uuid4())
        self.queries[query_id] = {"sql": QueryString, "workgroup": WorkGroup}
        try:
            self._unload(QueryString, query_id)
            self.queries[query_id]["status"] = {"State": "SUCCEEDED"}
        except Exception as error:  # noqa: BLE001 - Athena reports, it doesn't raise
            self.queries[query_id]["status"] = {"State": "FAILED", "AthenaError": {"ErrorMessage": str(error)}}
        return {"QueryExecutionId": query_id}

    def get_query_execution(self, QueryExecutionId: str) -> dict:  # noqa: N803
        return {"QueryExecution": {"Status": self.queries[QueryExecutionId]["status"]}}

    def _unload(self, statement: str, query_id: str) -> None:
        match = UNLOAD.match(statement)
        if not match or "'PARQUET'" not in match["options"].upper():
            raise ValueError("only UNLOAD (...) TO 's3://...' WITH (format = 'PARQUET') is emulated")
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / f"{query_id}.parquet"
            self.connection.execute(f"COPY ({athena_to_duckdb(match['select'])}) TO '{local}' "
                                    f"(FORMAT PARQUET, COMPRESSION SNAPPY)")
            self.s3.upload_file(str(local), match["bucket"], f"{match['prefix']}{query_id}_0")
