"""A site's rows replaced from polars frames or from the Parquet files the loading prepares: the same rows."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from pipelines.ingest.lifecycle import replace_site_rows


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("create schema ingestion")
    con.execute("create table ingestion.parcours (code_pre varchar, id_parcours varchar, entree date, n integer)")
    con.execute("insert into ingestion.parcours values ('PRE00002', 'b', '2024-01-02', 7)")
    return con


def _site(con, code: str) -> list[tuple]:
    return con.execute("select id_parcours, entree, n from ingestion.parcours where code_pre = ? order by 1",
                       [code]).fetchall()


@pytest.mark.parametrize("folder", ["lot", "lot[1] *?"])  # wildcard characters: read by polars instead
def test_a_parquet_file_and_its_frame_give_the_same_rows(con, tmp_path, folder):
    old = pl.DataFrame({"code_pre": ["PRE00001"], "id_parcours": ["x"], "entree": [date(2023, 9, 1)], "n": [1]})
    replace_site_rows(con, "PRE00001", {"parcours": old}, has_rows=False)
    new = pl.DataFrame({"n": [3, None], "id_parcours": ["a", "c"], "code_pre": ["PRE00001"] * 2,  # any column order
                        "entree": [date(2024, 9, 2), None]})
    path = tmp_path / folder / "parcours.pret.parquet"
    path.parent.mkdir()
    new.write_parquet(path)
    replace_site_rows(con, "PRE00001", {"parcours": path})
    assert _site(con, "PRE00001") == [("a", date(2024, 9, 2), 3), ("c", None, None)]
    assert _site(con, "PRE00002") == [("b", date(2024, 1, 2), 7)]  # another site's rows untouched
    replace_site_rows(con, "PRE00001", {"parcours": new})
    assert _site(con, "PRE00001") == [("a", date(2024, 9, 2), 3), ("c", None, None)]
