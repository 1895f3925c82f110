"""The published copy: what the dashboard reads, rebuilt as a new file and swapped in atomically.

DuckDB lets one process write a file or many read it, never both: the dashboard therefore never
opens the warehouse, but this copy of its `marts` schema, built as a new file, synced, then moved
over the previous one with `os.replace` (readers see the old copy or the new one, never a mix).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

from pipelines.common.datahome import DataHome
from pipelines.warehouse.store import connect

PUBLISHED_NAME = "entrepot.duckdb"


def published_path(home: DataHome) -> Path:
    return home.published / PUBLISHED_NAME


def publish(home: DataHome, schemas: tuple[str, ...] = ("marts",)) -> Path:
    """Copy the marts into a new file and swap it in atomically for the dashboard."""
    home.published.mkdir(parents=True, exist_ok=True)
    target = published_path(home)
    tmp = home.published / f".{uuid.uuid4().hex}.duckdb.tmp"
    with connect(home) as con:
        con.execute("attach ? as publie", [str(tmp)])
        try:
            for schema in schemas:
                tables = con.execute(
                    "select table_name from duckdb_tables() where database_name = current_database() "
                    "and schema_name = ? union select view_name from duckdb_views() "
                    "where database_name = current_database() and schema_name = ? and not internal "
                    "order by 1", [schema, schema]).fetchall()
                con.execute(f"create schema if not exists publie.{schema}")
                for (name,) in tables:
                    con.execute(f"create table publie.{schema}.{name} as select * from {schema}.{name}")
        finally:
            con.execute("detach publie")
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    return target


def open_published(home: DataHome) -> duckdb.DuckDBPyConnection:
    """A short-lived read-only connection to the published copy (for dashboards and checks)."""
    return duckdb.connect(str(published_path(home)), read_only=True)
