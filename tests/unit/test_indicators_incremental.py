"""The indicator table computed again only for the territories of the sites that changed: after each kind of
change (a site's new snapshot, a site added, one withdrawn, a site moved to another département, something
every territory shares), the table is row for row, in the same order, the one a build of every territory
gives on the same data (the independent route here: `build(con, whole=True)`, the first build's path).
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import polars as pl
import pytest

from indicator_fixture import load_simulated
from pipelines.common.datahome import DataHome
from pipelines.contracts.model import DATA_TABLES
from pipelines.demo.simulation import simulate_site
from pipelines.demo.sites import choose_sites
from pipelines.warehouse import models

SEED = 42
FROM_YEAR, TO_YEAR = 2023, 2024


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    home = DataHome(Path(tmp_path_factory.mktemp("home")))
    return choose_sites(home, SEED, None, None)


@pytest.fixture()
def con(sites):
    """A warehouse of the shipped sites but the last one, every model built once."""
    con = duckdb.connect()
    load_simulated(con, [simulate_site(s, seed=SEED, from_year=FROM_YEAR, to_year=TO_YEAR) for s in sites[:-1]])
    first = _build(con)
    assert first.whole and first.territories_recomputed == first.territories
    yield con
    con.close()


def _build(con: duckdb.DuckDBPyConnection, *, whole: bool = False) -> models.IndicatorBuild:
    built = None
    for model in models.build_order():
        result = models.run(con, model, whole=whole)
        built = result if model.key == models.INDICATORS else built
    return built


def _rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("select * from marts.indicateurs order by rowid").fetchall()


def _same(incremental: list[tuple], whole: list[tuple]) -> None:
    """Same keys and counts in the same order; values equal (to the last bits a parallel sum may move)."""
    assert len(incremental) == len(whole)
    for a, b in zip(incremental, whole, strict=True):
        assert a[:5] == b[:5] and a[6] == b[6], (a, b)
        for x, y in zip(a[5:6] + a[7:], b[5:6] + b[7:], strict=True):
            assert (x is None and y is None) or math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12), (a, b)


def _check_against_whole(con: duckdb.DuckDBPyConnection) -> tuple[models.IndicatorBuild, list[tuple]]:
    built = _build(con)
    incremental = _rows(con)
    _build(con, whole=True)
    _same(incremental, _rows(con))
    return built, incremental


def _territories(con: duckdb.DuckDBPyConnection, code_pre: str) -> set[tuple[str, str]]:
    return set(con.execute("select niveau, territoire from intermediaire.territoires_sites where code_pre = ?",
                           [code_pre]).fetchall())


def _replace_site(con: duckdb.DuckDBPyConnection, site, seed: int) -> None:
    """The site's rows replaced by another simulation of it (a new snapshot, later extraction kept)."""
    data = simulate_site(site, seed=seed, from_year=FROM_YEAR, to_year=TO_YEAR)
    for table, frame in data.tables.items():
        con.execute(f"delete from ingestion.{table} where code_pre = ?", [site.code_pre])
        rows = frame.with_columns(code_pre=pl.lit(site.code_pre))  # noqa: F841 - read by DuckDB by name
        con.execute(f"insert into ingestion.{table} by name select * from rows")


def test_a_site_s_new_snapshot_recomputes_its_four_territories_only(con, sites):
    site = sites[3]
    before = {r[:5]: r for r in _rows(con)}
    _replace_site(con, site, seed=SEED + 1)
    built, after = _check_against_whole(con)
    assert not built.whole
    assert built.territories_recomputed == 4 == len(_territories(con, site.code_pre))
    # The data did change, in the site's territories and there only.
    touched = _territories(con, site.code_pre)
    changed = {r[:5] for r in after if before.get(r[:5]) != r}
    assert changed and {(k[2], k[3]) for k in changed} <= touched
    assert ("pre", site.code_pre) in {(k[2], k[3]) for k in changed}


def test_nothing_changed_recomputes_nothing(con):
    before = _rows(con)
    built = _build(con)
    assert (built.whole, built.territories_recomputed) == (False, 0)
    assert _rows(con) == before


def test_a_site_added_and_one_withdrawn(con, sites):
    load_simulated(con, [simulate_site(sites[-1], seed=SEED, from_year=FROM_YEAR, to_year=TO_YEAR)])
    gone = sites[0].code_pre
    con.execute("update ingestion.depots set en_vigueur = false where code_pre = ?", [gone])
    for table in DATA_TABLES:
        con.execute(f"delete from ingestion.{table} where code_pre = ?", [gone])
    built, after = _check_against_whole(con)
    assert not built.whole
    assert not any(r[2] == "pre" and r[3] == gone for r in after)
    assert any(r[2] == "pre" and r[3] == sites[-1].code_pre for r in after)
    assert built.territories_recomputed < built.territories


def test_a_site_moved_to_another_departement(con, sites):
    site = sites[2]
    old = _territories(con, site.code_pre)
    elsewhere = next(s.departement for s in sites if s.departement != site.departement)
    con.execute("update ingestion.sites set departement = ? where code_pre = ?", [elsewhere, site.code_pre])
    built, _ = _check_against_whole(con)
    assert not built.whole
    assert built.territories_recomputed == len(old | _territories(con, site.code_pre)) == 5


def test_a_change_every_territory_shares_recomputes_every_territory(con, sites):
    # A pathway that starts earlier than any other adds periods to every territory.
    con.execute("update ingestion.parcours set date_entree = date '2019-09-02' where rowid = "
                "(select min(rowid) from ingestion.parcours where code_pre = ?)", [sites[1].code_pre])
    built, _ = _check_against_whole(con)
    assert built.whole and built.territories_recomputed == built.territories


def test_a_table_changed_behind_the_build_s_back_is_computed_again_whole(con):
    con.execute("delete from marts.indicateurs where rowid < 10")
    built, _ = _check_against_whole(con)
    assert built.whole


def test_a_new_file_in_force_counts_as_a_change_even_with_the_same_rows(con, sites):
    # The rows' hashes are not cryptographic: the file in force (its SHA-256 in the ledger) is part of the
    # site's fingerprint, so a new file is never taken for the old one.
    code = sites[4].code_pre
    con.execute("update ingestion.depots set sha256 = 'autre-fichier' where code_pre = ? and en_vigueur", [code])
    built, _ = _check_against_whole(con)
    assert (built.whole, built.territories_recomputed) == (False, len(_territories(con, code)))
