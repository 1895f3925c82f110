"""`disclosure.protect_table`: the warehouse's indicator table masked period by period, the masks joined back
in DuckDB. The published copy is built this way: it must be the table `protect` masks from the whole frame,
row for row, whatever order the table is stored in, and withstand the specification's intruder."""

from __future__ import annotations

import random

import duckdb
import polars as pl
import pytest
from test_disclosure import S, random_indicators, random_tree, sites_frame

from intruder import attack
from pipelines.publication.disclosure import MASK_COLUMN, ROW_KEY, protect, protect_table


def _warehouse(df: pl.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema marts")
    indicateurs = df  # noqa: F841 - read by DuckDB by name
    con.execute("create table marts.indicateurs as select * from indicateurs")
    return con


def _masked_table(con: duckdb.DuckDBPyConnection, sites: pl.DataFrame, **kwargs) -> tuple[pl.DataFrame, object]:
    protection = protect_table(con, "marts.indicateurs", sites, threshold=S, **kwargs)
    return con.sql(protection.select).pl(), protection


@pytest.mark.parametrize("seed", range(3))
def test_the_table_masked_period_by_period_is_the_frame_masked_whole(seed):
    rng = random.Random(seed)
    tree = random_tree(rng)
    df, sites = random_indicators(rng, tree), sites_frame(tree)
    # Stored out of key order: the table's own order is kept, each row with its own mask.
    stored = df.sample(fraction=1.0, shuffle=True, seed=seed)
    con = _warehouse(stored)
    masked, protection = _masked_table(con, sites, seed=b"k")
    whole = protect(df, sites, threshold=S, seed=b"k")
    assert masked.columns == [*df.columns, MASK_COLUMN]
    assert masked.select(ROW_KEY).equals(stored.select(ROW_KEY))  # the table's order
    assert masked.sort(ROW_KEY).equals(whole.masked.sort(ROW_KEY))
    assert (protection.primary, protection.secondary) == (whole.primary, whole.secondary)
    # Row by row against the table as stored: blank where masked, its own values elsewhere.
    both = stored.with_columns(masked[MASK_COLUMN], masked["valeur"].alias("vu"), masked["effectif"].alias("vu_n"))
    hidden, kept = both.filter(pl.col(MASK_COLUMN)), both.filter(~pl.col(MASK_COLUMN))
    assert hidden.height > 0 and kept.height > 0
    assert hidden["vu"].null_count() == hidden.height == hidden["vu_n"].null_count()
    assert kept["vu"].equals(kept["valeur"], check_names=False)
    assert kept["vu_n"].equals(kept["effectif"], check_names=False)
    found = attack(masked, sites, threshold=S)
    assert found.primary_violations == [] and found.narrow == []


def test_the_table_s_masks_are_remembered_and_shared_with_the_frame_s(tmp_path):
    """Same periods, same keys: masks kept by `protect` are recalled by `protect_table` and the reverse."""
    rng = random.Random(5)
    tree = random_tree(rng)
    df, sites = random_indicators(rng, tree), sites_frame(tree)
    memo = tmp_path / "masques"
    con = _warehouse(df.sort(ROW_KEY))
    first, solved = _masked_table(con, sites, seed=b"k", memo=memo)
    assert (solved.reused_periods, solved.incremental_periods) == (0, 0)
    again, recalled = _masked_table(con, sites, seed=b"k", memo=memo)
    assert recalled.reused_periods == 2 and again.equals(first)
    from_frame = protect(df, sites, threshold=S, seed=b"k", memo=memo)
    assert from_frame.reused_periods == 2 and from_frame.masked.sort(ROW_KEY).equals(first.sort(ROW_KEY))


def test_an_empty_table_gives_an_empty_masked_copy():
    """No accepted file yet (the first one refused): the published copy is empty, not an error."""
    rng = random.Random(3)
    tree = random_tree(rng)
    df, sites = random_indicators(rng, tree), sites_frame(tree)
    con = _warehouse(df.clear())
    masked, protection = _masked_table(con, sites, seed=b"k")
    assert masked.height == 0 and masked.columns == [*df.columns, MASK_COLUMN]
    assert (protection.primary, protection.secondary) == (0, 0)


def test_a_table_with_deleted_rows_is_refused_rather_than_misaligned():
    """Masks go back to rows by position (rowid): a table with holes in its numbering is refused."""
    rng = random.Random(2)
    tree = random_tree(rng)
    df, sites = random_indicators(rng, tree), sites_frame(tree)
    con = _warehouse(df.sort(ROW_KEY))
    con.execute("delete from marts.indicateurs where rowid = 3")
    with pytest.raises(ValueError, match="numérotées sans trou"):
        protect_table(con, "marts.indicateurs", sites, threshold=S)
    with pytest.raises(ValueError, match="nom de table invalide"):
        protect_table(con, "marts.indicateurs; drop table marts.indicateurs", sites, threshold=S)


def test_the_rules_version_is_the_rules_source_and_the_catalogue_only():
    """Masks are reused only under the same rules version: it covers the code that decides masks and the
    catalogue, not how periods are read, sent to workers or remembered (a change there keeps the masks)."""
    import hashlib
    from pathlib import Path

    from pipelines.publication.disclosure import protection
    from pipelines.warehouse import catalogue

    package = Path(protection.__file__).parent
    parts = [package / "rules.py", Path(catalogue.CATALOGUE), Path(catalogue.NORMS), Path(catalogue.EVALUATED_ACTIONS)]
    expected = b"".join(hashlib.sha256(p.read_bytes()).digest() for p in parts)
    assert expected == protection.RULES_VERSION
    assert hashlib.sha256((package / "protection.py").read_bytes()).digest() not in protection.RULES_VERSION
