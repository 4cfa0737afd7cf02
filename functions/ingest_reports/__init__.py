"""Hourly ingestion reports: Athena UNLOAD of the changed hours into the reporting bucket as Parquet."""
