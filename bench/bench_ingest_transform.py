"""Benchmark: the ingestion transform's throughput, and the bytes a one-hour report reads.

1. Transform throughput, in records per CPU-second (process time), of the real
   `ingest_transform.transform.transform_records` against a naive transform in the same run:
   per record `json.loads`, `datetime.fromisoformat` + `astimezone` + `strftime`, a dict,
   `json.dumps`, `base64.b64encode`, a fresh metadata dict — the same checks, written the
   obvious way. Batches of 500 Firehose records (98% valid, 1% bad, 1% repeated).
   Target: >= 2x.
2. Bytes read by the hourly report's SELECT (transpiled by sqlglot, run by DuckDB, measured by
   DuckDB's profiler `io.total_bytes_read`) for one hour of a week of data:
   - the pipeline's layout: Parquet (Snappy) written by the Firehose emulation from the
     component's recorded config, only the hour's partitions listed, as partition projection does;
   - the same events as unpartitioned GZIP JSON lines, as producers sent them (a Firehose
     without transform, partitioning or format conversion), which the query must scan whole.
   Target: <= 1/50.

Usage: .venv/bin/python bench/bench_ingest_transform.py [--quick | --tiny]   (or BENCH_TINY=1)
Numbers depend on the machine; on a shared one, compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "functions")]

import duckdb  # noqa: E402
import sqlglot  # noqa: E402

from bench import tiny_mode  # noqa: E402
from ingest_reports.report_sql import hourly_report_select  # noqa: E402
from ingest_transform.schema import IDENTIFIER, Settings  # noqa: E402
from ingest_transform.transform import transform_records  # noqa: E402
from twin.firehose import DeliveryConfig, FirehoseEmulator, SourceRecord  # noqa: E402

SOURCES = ("sensor", "gateway", "mobile")
SETTINGS = Settings(sources=frozenset(SOURCES))
TRANSFORM_TARGET = 2.0
BYTES_TARGET = 1 / 50


# --- 1. throughput ------------------------------------------------------------------------------
def naive_transform(records: list[dict], settings: Settings, now_ms: int) -> list[dict]:
    """The straightforward transform: the same contract and checks, one json.loads/json.dumps each."""
    out, seen = [], set()
    earliest = now_ms - settings.max_event_age_hours * 3_600_000
    latest = now_ms + settings.max_clock_skew_seconds * 1000
    for record in records:
        try:
            raw = base64.b64decode(record["data"])
            if len(raw) > settings.max_record_bytes:
                raise ValueError("too large")
            event = json.loads(raw)
            if not isinstance(event, dict):
                raise ValueError("not an object")
            for key in ("event_id", "device_id"):
                if not isinstance(event[key], str) or not IDENTIFIER.fullmatch(event[key]):
                    raise ValueError(key)
            if event["source"] not in settings.sources:
                raise ValueError("source")
            value = event["value"]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                raise ValueError("value")
            when = event["event_time"]
            moment = (datetime.fromisoformat(when) if isinstance(when, str)
                      else datetime.fromtimestamp(when / 1000, timezone.utc))
            if moment.tzinfo is None:
                raise ValueError("naive")
            moment = moment.astimezone(timezone.utc)
            ms = int(moment.timestamp() * 1000)
            if not earliest <= ms <= latest:
                raise ValueError("window")
        except (ValueError, KeyError, TypeError):
            out.append({"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]})
            continue
        if event["event_id"] in seen:
            out.append({"recordId": record["recordId"], "result": "Dropped", "data": record["data"]})
            continue
        seen.add(event["event_id"])
        line = json.dumps({"event_id": event["event_id"], "device_id": event["device_id"], "event_time": ms,
                           "value": float(value), "ingested_at": record["approximateArrivalTimestamp"]}) + "\n"
        out.append({"recordId": record["recordId"], "result": "Ok",
                    "data": base64.b64encode(line.encode()).decode(),
                    "metadata": {"partitionKeys": {"source": event["source"],
                                                   "hour": moment.strftime("%Y-%m-%d-%H")}}})
    return out


def firehose_batch(n: int, now: datetime, rng: random.Random, start: int = 0) -> list[dict]:
    arrival = int(now.timestamp() * 1000)
    records = []
    for i in range(n):
        moment = now - timedelta(milliseconds=rng.randrange(3 * 3_600_000))
        event = {"event_id": f"evt-{start + i:09d}", "device_id": f"device-{rng.randrange(1000):04d}",
                 "source": rng.choice(SOURCES), "event_time": moment.isoformat(timespec="milliseconds"),
                 "value": round(rng.gauss(20, 5), 3), "firmware": "4.2.1"}
        if i % 100 == 7:
            event["value"] = "n/a"  # 1% bad
        if i % 100 == 8 and i:
            event["event_id"] = f"evt-{start + i - 1:09d}"  # 1% repeated
        records.append({"recordId": f"{start + i:020d}", "approximateArrivalTimestamp": arrival,
                        "data": base64.b64encode(json.dumps(event).encode()).decode()})
    return records


def throughput(function, batches: list[list[dict]], now_ms: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for batch in batches:
            function(batch, SETTINGS, now_ms)
        best = min(best, time.process_time() - started)
    return sum(len(b) for b in batches) / max(best, 1e-9)


# --- 2. bytes read ------------------------------------------------------------------------------
class LocalBucket:
    """put_object into a folder: the emulation's S3 writes, for a local DuckDB to read."""

    def __init__(self, root: Path):
        self.root = root

    def put_object(self, Bucket: str, Key: str, Body: bytes) -> None:  # noqa: N803 - boto3 names
        path = self.root / Key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(Body)


def recorded_delivery() -> tuple[dict, dict]:
    """The component's recorded delivery stream and table (under mocks, as the twin records them)."""
    from offline.harness import evaluate_program
    from serverless_blueprints.ingestion_pipeline import IngestionPipeline

    snapshot = evaluate_program(lambda: IngestionPipeline("bench", {"sources": list(SOURCES)}), stack="bench")
    return snapshot.named("bench-delivery").props, snapshot.named("bench-table").props


def write_week(root: Path, hours: int, per_hour: int, rng: random.Random) -> tuple[str, int]:
    """`hours` hours of events: Parquet partitions via the emulation, and the same rows as GZIP JSON."""
    delivery, table = recorded_delivery()
    config = DeliveryConfig.from_recorded(delivery, table)
    first = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
    now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
    settings = Settings(sources=frozenset(SOURCES), max_event_age_hours=hours + 2)
    firehose = FirehoseEmulator(config, LocalBucket(root / "parquet"),
                                lambda event: {"records": transform_records(event["records"], settings,
                                                                            now_ms).records})
    (root / "json").mkdir()
    lines, file_number, rows = [], 0, 0
    for hour in range(hours):
        for i in range(per_hour):
            moment = first + timedelta(hours=hour, milliseconds=rng.randrange(3_600_000))
            event = {"event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                     "device_id": f"device-{rng.randrange(1000):04d}",
                     "source": rng.choice(SOURCES), "event_time": moment.isoformat(timespec="milliseconds"),
                     "value": round(rng.gauss(20, 5), 3)}
            payload = json.dumps(event).encode()
            firehose.put(SourceRecord(payload, event["device_id"], f"{rows:012d}", "shardId-0", moment))
            lines.append(payload.decode())  # the events as producers sent them
            rows += 1
        if len(lines) >= 20_000:  # a few MB of GZIP per file, as a 5 MB Firehose buffer would write
            (root / "json" / f"part-{file_number:05d}.json.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
            lines, file_number = [], file_number + 1
        firehose.flush()  # a buffering interval per hour: each hour's partitions get their own files
    if lines:
        (root / "json" / f"part-{file_number:05d}.json.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    firehose.flush()
    middle = (first + timedelta(hours=hours // 2)).strftime("%Y-%m-%d-%H")
    return middle, rows


def bytes_read(connection: duckdb.DuckDBPyConnection, sql: str, profile: Path) -> int:
    connection.execute("PRAGMA enable_profiling = 'json'")
    connection.execute(f"PRAGMA profiling_output = '{profile}'")
    connection.execute(sql).fetchall()
    connection.execute("PRAGMA disable_profiling")
    return int(json.loads(profile.read_text())["io"]["total_bytes_read"])


def report_bytes(root: Path, hour: str) -> tuple[int, int, list, list]:
    select = sqlglot.transpile(hourly_report_select("lake", "events", hour), read="athena", write="duckdb")[0]
    projected = sorted(str(p) for p in (root / "parquet").glob(f"data/source=*/hour={hour}/*.parquet"))
    parquet = duckdb.connect()
    parquet.execute("SET TimeZone = 'UTC'")
    parquet.execute("CREATE SCHEMA lake")
    parquet.execute(f"CREATE VIEW lake.events AS SELECT * FROM read_parquet({projected!r}, hive_partitioning = true, "
                    f"hive_types = {{'source': 'VARCHAR', 'hour': 'VARCHAR'}})")
    gz = duckdb.connect()
    gz.execute("SET TimeZone = 'UTC'")
    gz.execute("CREATE SCHEMA lake")
    utc = "CAST(CAST(event_time AS TIMESTAMPTZ) AS TIMESTAMP)"  # the session is UTC
    gz.execute(f"CREATE VIEW lake.events AS SELECT event_id, device_id, source, value, {utc} AS event_time, "
               f"strftime({utc}, '%Y-%m-%d-%H') AS hour FROM read_json('{root}/json/*.json.gz', "
               f"format = 'newline_delimited', columns = {{event_id: 'VARCHAR', device_id: 'VARCHAR', "
               f"source: 'VARCHAR', event_time: 'VARCHAR', value: 'DOUBLE'}})")
    parquet_bytes = bytes_read(parquet, select, root / "parquet-profile.json")
    json_bytes = bytes_read(gz, select, root / "json-profile.json")
    exact = select.replace("APPROX_QUANTILE", "QUANTILE_DISC")  # exact quantiles: the same rows from both layouts
    return parquet_bytes, json_bytes, parquet.execute(exact).fetchall(), gz.execute(exact).fetchall()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition per measurement")
    parser.add_argument("--tiny", action="store_true", help="smallest inputs, one repetition (a smoke test)")
    args = parser.parse_args()
    tiny = tiny_mode(args.tiny)
    repeats = 1 if tiny else 3 if args.quick else 7
    rng = random.Random(14)
    now = datetime.now(timezone.utc)
    now_ms = int(now.timestamp() * 1000)

    n_batches = 2 if tiny else 40
    batches = [firehose_batch(500, now, rng, start=b * 500) for b in range(n_batches)]
    fast = throughput(lambda b, s, n: transform_records(b, s, n), batches, now_ms, repeats)
    naive = throughput(naive_transform, batches, now_ms, repeats)
    ratio = fast / naive
    print(f"transform: {n_batches} batches of 500 records, best of {repeats}")
    print(f"  ingest_transform {fast:12,.0f} records per CPU-second")
    print(f"  naive            {naive:12,.0f} records per CPU-second")
    print(f"  throughput {ratio:.2f}x naive (target >= {TRANSFORM_TARGET:.0f}x"
          f"{'' if ratio >= TRANSFORM_TARGET else ', MISSED'})")

    hours, per_hour = (48, 30) if tiny else (168, 1800)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        root = Path(tmp)
        hour, rows = write_week(root, hours, per_hour, rng)
        parquet_bytes, json_bytes, parquet_rows, json_rows = report_bytes(root, hour)
    same = parquet_rows == json_rows
    fraction = parquet_bytes / max(json_bytes, 1)
    print(f"report bytes read for hour {hour} of {hours} hours ({rows:,} events), measured by DuckDB:")
    print(f"  Parquet + projection  {parquet_bytes:14,d} bytes")
    print(f"  unpartitioned GZIP JSON {json_bytes:12,d} bytes")
    print(f"  reads 1/{1 / max(fraction, 1e-12):,.0f} of the bytes: {json_bytes / max(parquet_bytes, 1):.1f}x fewer "
          f"(target <= 1/{1 / BYTES_TARGET:.0f}{'' if fraction <= BYTES_TARGET else ', MISSED'}); "
          f"same report rows: {same}")
    missed = ratio < TRANSFORM_TARGET or fraction > BYTES_TARGET or not same
    if tiny:
        print("tiny mode: targets reported, not enforced")
        return 0 if same else 1
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
