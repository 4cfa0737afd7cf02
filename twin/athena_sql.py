"""Athena's SQL where Athena can't run: the UNLOAD statement's parts, and Trino SQL as DuckDB SQL (sqlglot).

Shared by the twin's Athena stand-in (twin/stack.py) and the ingestion tests' local query engine.
"""
import re

UNLOAD = re.compile(r"^\s*UNLOAD\s*\((?P<select>.*)\)\s*TO\s*'s3://(?P<bucket>[^/']+)/(?P<prefix>[^']*)'\s*"
                    r"WITH\s*\((?P<options>[^)]*)\)\s*$", re.S | re.I)
"""`UNLOAD (<select>) TO 's3://<bucket>/<prefix>' WITH (<options>)`."""


def athena_to_duckdb(sql: str) -> str:
    """Athena (Trino) SQL as DuckDB SQL; raises if sqlglot can't read it."""
    import sqlglot  # here: the twin imports this module for the UNLOAD pattern alone

    [statement] = sqlglot.transpile(sql, read="athena", write="duckdb", unsupported_level=sqlglot.ErrorLevel.RAISE)
    return statement
