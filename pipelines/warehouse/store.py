"""The DuckDB warehouse file: one writer at a time, schemas and the ingestion tables.

DuckDB allows one read-write process or many read-only ones, never both. Writers (Dagster runs
launched by the daemon, `pre-eval process`) therefore take an exclusive file lock around every
write session; the dashboard never opens the warehouse itself but a published copy
(`pipelines.publication.published`).
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator

import duckdb
import polars as pl

from pipelines import settings
from pipelines.common.datahome import DataHome
from pipelines.contracts.model import DATA_TABLES, Contracts, load_contracts
from pipelines.warehouse.models import sql_text

POLARS_TYPES = {"string": pl.String, "integer": pl.Int64, "number": pl.Float64, "date": pl.Date}


class WarehouseBusy(RuntimeError):
    """Another writer held the warehouse longer than we were willing to wait."""


@contextlib.contextmanager
def writer_lock(home: DataHome, wait_seconds: float | None = None) -> Iterator[None]:
    """Exclusive lock of the data home's warehouse (released by the OS if the process dies).

    Waits at most `wait_seconds`, by default `PRE_ATTENTE_VERROU_S`."""
    if wait_seconds is None:
        wait_seconds = settings.load().ATTENTE_VERROU_S
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
def connect(home: DataHome, *, memory_share: int = 1) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the warehouse, under the writer lock, schema ensured.

    DuckDB's memory is bounded (`PRE_MEMOIRE_DUCKDB_MO`, divided by `memory_share` for work that only
    streams): by default it may take 80 % of the machine's memory and keeps what it took until the
    connection closes (2,9 GB to rebuild the national models, against 2,1 GB and the same time with
    2 000 Mo: docs/performance.md)."""
    with writer_lock(home):
        con = duckdb.connect(str(home.warehouse), config=writer_config(memory_share))
        try:
            ensure_schema(con)
            yield con
        finally:
            con.close()


def writer_config(memory_share: int = 1) -> dict[str, str]:
    """DuckDB's configuration of a writer's connection: `PRE_MEMOIRE_DUCKDB_MO` (an integer the settings
    validated) divided by `memory_share`, 256 Mo at least."""
    return {"memory_limit": f"{max(256, settings.load().MEMOIRE_DUCKDB_MO // memory_share)}MB"}


def empty_frame(table: str, contracts: Contracts | None = None) -> pl.DataFrame:
    """An empty frame with the warehouse columns of a site table: code_pre, then the contract's."""
    contracts = contracts or load_contracts()
    schema = {"code_pre": pl.String}
    schema |= {c.name: POLARS_TYPES[c.logical_type] for c in contracts.tables[table].columns}
    return pl.DataFrame(schema=schema)


# The snapshot marts are views over ingestion.* in the warehouse (publishing materialises them
# once, in the published copy); warehouses built before that held them as tables.
VIEW_MARTS = DATA_TABLES


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(sql_text("entrepot/schema.sql"))
    for (name,) in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'marts' and table_name in (select unnest(?))", [list(VIEW_MARTS)]).fetchall():
        con.execute(f"drop table marts.{name}")  # names from VIEW_MARTS, never from input
    for table in DATA_TABLES:
        model = empty_frame(table)  # noqa: F841 - read by DuckDB by name
        # Table names come from the fixed list above, never from input.
        con.execute(f"create table if not exists ingestion.{table} as select * from model")
