"""The DuckDB warehouse: one writer at a time, schema from the contracts, atomic publication.

DuckDB allows one read-write process or many read-only ones, never both. Writers (Dagster runs
launched by the daemon, `pre-eval process`) therefore take an exclusive file lock around every
write session; the dashboard never opens the warehouse itself but a published copy, replaced
atomically (`os.replace`) after each build.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl

from pipelines.contracts import Contracts, load_contracts
from pipelines.paths import SQL_DIR, DataHome

DATA_TABLES = ("parcours", "actions", "bilans", "attentes")
POLARS_TYPES = {"string": pl.String, "integer": pl.Int64, "number": pl.Float64, "date": pl.Date}
LOCK_WAIT_SECONDS = float(os.environ.get("PRE_LOCK_WAIT_SECONDS", "900"))
PUBLISHED_NAME = "entrepot.duckdb"


class WarehouseBusy(RuntimeError):
    """Another writer held the warehouse longer than we were willing to wait."""


@contextlib.contextmanager
def writer_lock(home: DataHome, wait_seconds: float = LOCK_WAIT_SECONDS) -> Iterator[None]:
    """Exclusive lock of the data home's warehouse (released by the OS if the process dies)."""
    home.root.mkdir(parents=True, exist_ok=True)
    path = home.root / ".verrou-entrepot"
    with path.open("a+") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise WarehouseBusy(
                        f"l'entrepôt est occupé par un autre traitement depuis plus de {wait_seconds:.0f} s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def connect(home: DataHome) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the warehouse, under the writer lock, schema ensured."""
    with writer_lock(home):
        con = duckdb.connect(str(home.warehouse))
        try:
            ensure_schema(con)
            yield con
        finally:
            con.close()


def empty_frame(table: str, contracts: Contracts | None = None) -> pl.DataFrame:
    """An empty frame with the warehouse columns of a site table: code_pre, then the contract's."""
    contracts = contracts or load_contracts()
    schema = {"code_pre": pl.String}
    schema |= {c.name: POLARS_TYPES[c.logical_type] for c in contracts.tables[table].columns}
    return pl.DataFrame(schema=schema)


def run_sql_file(con: duckdb.DuckDBPyConnection, relative: str) -> None:
    con.execute((SQL_DIR / relative).read_text(encoding="utf-8"))


# The snapshot marts are views over ingestion.* in the warehouse (publishing materialises them
# once, in the published copy); warehouses built before that held them as tables.
VIEW_MARTS = ("parcours", "actions", "bilans", "attentes")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    run_sql_file(con, "entrepot/schema.sql")
    for (name,) in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'marts' and table_name in (select unnest(?))", [list(VIEW_MARTS)]).fetchall():
        con.execute(f"drop table marts.{name}")  # names from VIEW_MARTS, never from input
    for table in DATA_TABLES:
        model = empty_frame(table)  # noqa: F841 - read by DuckDB by name
        # Table names come from the fixed list above, never from input.
        con.execute(f"create table if not exists ingestion.{table} as select * from model")


def publish(home: DataHome, schemas: tuple[str, ...] = ("marts",)) -> Path:
    """Copy the marts into a new file and swap it in atomically for the dashboard."""
    home.published.mkdir(parents=True, exist_ok=True)
    target = home.published / PUBLISHED_NAME
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
    return duckdb.connect(str(home.published / PUBLISHED_NAME), read_only=True)
