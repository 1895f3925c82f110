"""The dashboard's answers to what the field asked for (issue 14): intervals wherever figures are compared,
and the pages « Normes de service » and « Coopération » (AppTest, on the same published copy as
`test_dashboard_pages`).

Expected values are read from the published (masked) copy by the test itself and formatted here, or
recomputed from the warehouse; the page's French text is compared with them.
"""

# ruff: noqa: F811 (the fixtures imported from test_dashboard_pages are test parameters here)
from __future__ import annotations

import json

import polars as pl
from test_dashboard_pages import (  # noqa: F401 (fixtures)
    app,
    charts,
    default_period,
    home,
    pick,
    published_period,
    shown,
    sql,
    table,
    warehouse,
)

from pipelines.common import formats
from pipelines.publication.disclosure import SECRET
from pipelines.warehouse.catalogue import catalogue_categories


def bound(value: float | None, decimals: int) -> str:
    return "—" if value is None else formats.number(value, decimals)


# --- intervals --------------------------------------------------------------------------------------------


def test_the_published_copy_carries_the_intervals_null_where_masked(sql, warehouse):
    published = sql("select * from marts.indicateurs")
    assert {"borne_basse", "borne_haute"} <= set(published.columns)
    masked = published.filter(pl.col("masque"))
    assert masked.height and masked["borne_basse"].is_null().all() and masked["borne_haute"].is_null().all()
    # Unmasked rows carry the warehouse's bounds unchanged.
    keys = ["indicateur", "categorie", "niveau", "territoire", "periode"]
    both = published.filter(~pl.col("masque")).join(
        warehouse("select * from marts.indicateurs"), on=keys, suffix="_entrepot")
    assert both.height == published.filter(~pl.col("masque")).height
    assert both.filter(pl.col("borne_basse").is_not_null()).height > 0
    assert both.filter(~pl.col("borne_basse").eq_missing(pl.col("borne_basse_entrepot"))
                       | ~pl.col("borne_haute").eq_missing(pl.col("borne_haute_entrepot"))).is_empty()


def test_territoires_shows_each_share_s_interval_in_table_tooltip_and_text(app, sql):
    periode = default_period(sql)
    at = app("territoires", niveau="departement", territoire="51")
    at.selectbox(key="territoires_indicator").set_value("part_qpv").run()
    expected = published_period(sql, periode).filter(
        (pl.col("indicateur") == "part_qpv") & (pl.col("niveau") == "departement"))
    shown_ = table(at, "Rang")
    assert shown_.height == expected.height == 3
    with_bounds = 0
    for row in expected.iter_rows(named=True):
        line = shown_.filter(pl.col("Territoire").str.starts_with(row["territoire"] + " ")).row(0, named=True)
        if row["masque"]:
            assert line["Borne basse (IC à 95 %)"] == line["Borne haute (IC à 95 %)"] == SECRET
            continue
        with_bounds += row["borne_basse"] is not None
        assert line["Borne basse (IC à 95 %)"] == formats.by_kind(row["borne_basse"], "pourcentage")
        assert line["Borne haute (IC à 95 %)"] == formats.by_kind(row["borne_haute"], "pourcentage")
        assert row["borne_basse"] <= row["valeur"] <= row["borne_haute"]
    assert with_bounds, "aucun intervalle à montrer"
    (ranking,) = [s for s in charts(at) if "par département" in json.dumps(s, ensure_ascii=False)]
    assert "Intervalle de confiance à 95 %" in json.dumps(ranking, ensure_ascii=False)
    # The reference (France) reads `12,3 % [10,1 ; 14,8]`.
    france = pick(published_period(sql, periode), indicateur="part_qpv", niveau="national")
    text = (f"{formats.by_kind(france['valeur'], 'pourcentage')} [{bound(france['borne_basse'], 1)} ; "
            f"{bound(france['borne_haute'], 1)}]")
    assert any(text in m.value for m in at.markdown), text
    assert any("Wilson" in c.value for c in at.caption)


def test_territoires_has_no_interval_columns_for_a_count(app):
    at = app("territoires", niveau="departement", territoire="51")
    assert "Borne basse (IC à 95 %)" not in table(at, "Rang").columns


def test_listes_d_attente_shows_the_median_s_interval(app, sql):
    periode = default_period(sql)
    at = app("attentes")
    expected = published_period(sql, periode).filter(pl.col("niveau") == "national")
    shown_ = table(at, "Structure")
    checked = 0
    for line in shown_.iter_rows(named=True):
        code = {name: c for c, name in catalogue_categories()["structures"].items()}[line["Structure"]]
        row = pick(expected, indicateur="attente_mediane_jours", categorie=code)
        assert line["Attente médiane (jours)"] == shown(row, "entier")
        if row is None or row["masque"]:
            continue
        assert line["Attente médiane : borne basse (IC à 95 %)"] == bound(row["borne_basse"], 0)
        assert line["Attente médiane : borne haute (IC à 95 %)"] == bound(row["borne_haute"], 0)
        checked += row["borne_basse"] is not None
        rdv = pick(expected, indicateur="part_rdv_sous_90_jours", categorie=code)
        if rdv and not rdv["masque"]:
            assert line["Rendez-vous sous 90 jours : borne basse (IC à 95 %)"] == formats.by_kind(
                rdv["borne_basse"], "pourcentage")
    assert checked, "aucune médiane avec son intervalle"

