"""The warehouse keeps `marts.indicateurs` in the order the protection reads it (period, indicator, level,
territory, category), so that publishing masks it without sorting a copy of it (docs/performance.md)."""

from __future__ import annotations

import duckdb

from support import THREE_SITES


def test_a_scan_of_the_indicators_comes_in_the_protection_s_order(processed_homes, tmp_path):
    home = processed_homes.get(**THREE_SITES).copy(tmp_path / "donnees")
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        keys = con.execute("select periode, indicateur, niveau, territoire, categorie from marts.indicateurs"
                           ).fetchall()
    finally:
        con.close()
    assert len(keys) > 1000
    # Python orders strings by code point, which is the order of their UTF-8 bytes (DuckDB's and polars').
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
