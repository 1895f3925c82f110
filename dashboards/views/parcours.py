"""Parcours: entries, exits, active pathways, durations, who the children are, who refers them, why they leave."""

import altair as alt
import polars as pl
import streamlit as st

import data
from display import (
    Column,
    chart,
    confidentiality_note,
    download_stem,
    header,
    indicator_row,
    line_chart,
    metric,
    note,
    page,
    table,
    trend,
)
from filters import Filters
from pipelines.common import formats
from pipelines.warehouse.catalogue import catalogue_categories, indicator

KEY_FIGURES = ["enfants_suivis", "parcours_actifs", "entrees", "sorties", "enfants_par_referent",
               "duree_moyenne_mois", "duree_mediane_mois", "part_filles", "part_qpv", "part_orientation_ecole"]
FLOWS = {"entrees": "Entrées", "sorties": "Sorties", "parcours_actifs": "Parcours actifs"}


def shares(current: pl.DataFrame, code: str) -> pl.DataFrame:
    """One share indicator's categories (as published, masked), labelled, in the catalogue's order."""
    categories = catalogue_categories()[indicator(code).categories]
    return pl.DataFrame([{**(indicator_row(current, code, c) or {"valeur": None, "effectif": None, "masque": False}),
                          "label": name} for c, name in categories.items()]).select("label", "valeur", "effectif",
                                                                                     "masque")


def bar_chart(df: pl.DataFrame, title: str, x_title: str, caption: str, *, order: list[str] | None = None) -> None:
    shown = df.filter(~pl.col("masque") & pl.col("valeur").is_not_null())
    if not shown.height:
        st.info("Répartition non affichée : effectif soumis au secret statistique ou nul.")
        return
    shown = shown.with_columns(text=pl.col("valeur").map_elements(lambda v: formats.by_kind(v, "pourcentage"),
                                                                  return_dtype=pl.String))
    bars = alt.Chart(shown).mark_bar().encode(
        x=alt.X("valeur:Q", title=x_title),
        y=alt.Y("label:N", title=None, sort=order or "-x", axis=alt.Axis(labelLimit=240)),
        tooltip=[alt.Tooltip("label:N", title="Catégorie"), alt.Tooltip("text:N", title="Part")],
    ).properties(title=title, height=max(120, 28 * shown.height))
    chart(bars, caption)


def shares_table(f: Filters, df: pl.DataFrame, first_header: str, base: str, key: str) -> None:
    table(df, [Column("label", first_header), Column("valeur", "Part (%)", "pourcentage", "masque"),
               Column("effectif", f"Effectif ({base})", "entier", "masque")],
          key=key, file_stem=download_stem(f, key), notes=[note(f)])


def body(f: Filters) -> None:
    header(f)
    current = data.territory_indicators(f.level, f.territory, [f.period])
    index = f.periods.index(f.period)
    previous = f.periods[index - 1] if index > 0 else None
    before = data.territory_indicators(f.level, f.territory, [previous] if previous else [])

    st.header("Chiffres clés")
    for start in range(0, len(KEY_FIGURES), 5):
        for column, code in zip(st.columns(5), KEY_FIGURES[start:start + 5], strict=False):
            with column:
                metric(indicator(code), indicator_row(current, code), indicator_row(before, code))
    masked = sum(bool((r := indicator_row(current, c)) and r["masque"]) for c in KEY_FIGURES)
    st.caption(note(f, masked=masked, previous=previous)
               + " Durées en mois (jours ÷ 30,4375), sur les parcours terminés pendant la période.")

    st.header("Entrées, sorties et parcours actifs")
    flows = trend([(f.level, f.territory, f.label)], f.periods, list(FLOWS)).with_columns(
        series=pl.col("indicateur").replace_strict(FLOWS))
    chart(line_chart(flows, title=f"Entrées, sorties et parcours actifs par période — {f.label}",
                     y_title="Nombre de parcours", fmt="entier", color_title="Mesure"),
          note(f, f.periods, masked=int(flows["masque"].sum())))
    with st.expander("Données du graphique"):
        table(flows, [Column("periode", "Période"), Column("series", "Mesure"),
                      Column("valeur", "Nombre de parcours", "entier", "masque")],
              key="parcours_flux", file_stem=download_stem(f, "parcours_flux"), notes=[note(f, f.periods)])

    st.header("Âge à l'entrée et sexe")
    age_bands = catalogue_categories()["tranches_age"]
    ages = shares(current, "part_age")
    left, right = st.columns(2)
    with left:
        bar_chart(ages, f"Entrées par tranche d'âge, {f.period}", "Part des entrées (%)", note(f),
                  order=list(age_bands.values()))
        shares_table(f, ages, "Tranche d'âge à l'entrée", "entrées", "parcours_ages")
    with right:
        girls = indicator_row(current, "part_filles")
        masked = girls is None or girls["masque"] or girls["valeur"] is None
        sexes = pl.DataFrame({
            "label": ["Filles", "Garçons"],
            "valeur": [None, None] if masked else [girls["valeur"], 100 - girls["valeur"]],
            "effectif": [None, None] if masked else [girls["effectif"]] * 2, "masque": [masked] * 2,
        }, schema={"label": pl.String, "valeur": pl.Float64, "effectif": pl.Int64, "masque": pl.Boolean})
        bar_chart(sexes, f"Enfants suivis par sexe, {f.period}", "Part des enfants suivis (%)", note(f),
                  order=["Filles", "Garçons"])
        shares_table(f, sexes, "Sexe", "enfants suivis", "parcours_sexe")

    st.header("Origine de l'orientation")
    origins = shares(current, "part_orientation")
    bar_chart(origins, f"Entrées selon qui a orienté l'enfant, {f.period}", "Part des entrées (%)", note(f))
    shares_table(f, origins, "Origine de l'orientation", "entrées", "parcours_origines")

    st.header("Motifs de sortie")
    reasons = shares(current, "part_motif_sortie")
    bar_chart(reasons, f"Sorties par motif, {f.period}", "Part des sorties (%)", note(f))
    shares_table(f, reasons, "Motif de sortie", "sorties", "parcours_motifs")
    confidentiality_note()


page("Parcours", body)
