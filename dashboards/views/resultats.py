"""Résultats: objectives achieved at exit, exits to mainstream services, 6-month follow-up coverage."""

import polars as pl
import streamlit as st

import data
from display import (
    Column,
    chart,
    comparison,
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
from pipelines.warehouse.catalogue import Indicator, indicator

CODES = ["taux_objectifs_atteints", "part_sorties_objectifs_atteints", "part_sorties_relais", "part_suivi_6_mois"]


def results(level: str, territory: str, period: str) -> dict[str, dict | None]:
    """The four results of one territory and period (masked rows, None when not produced)."""
    df = data.territory_indicators(level, territory, [period])
    return {c: indicator_row(df, c) for c in CODES}


def indicators() -> list[Indicator]:
    return [indicator(c) for c in CODES]


def body(f: Filters) -> None:
    header(f)
    current = results(f.level, f.territory, f.period)
    index = f.periods.index(f.period)
    previous = f.periods[index - 1] if index > 0 else None
    before = results(f.level, f.territory, previous) if previous else {}

    st.header("Chiffres clés")
    for column, ind in zip(st.columns(4), indicators(), strict=True):
        with column:
            metric(ind, current[ind.code], before.get(ind.code))
    masked = sum(bool(r and r["masque"]) for r in current.values())
    st.caption(note(f, masked=masked, previous=previous))

    upper = comparison(f)
    series = [(f.level, f.territory, f.label)] + ([upper] if upper else [])
    if upper and upper[0] != "national":
        series.append(("national", "FR", "France entière"))
    st.header("Comparaison")
    rows = []
    for ind in indicators():
        row = {"indicator": ind.libelle, "base": ind.effectif}
        for k, (level, territory, _) in enumerate(series):
            found = current[ind.code] if k == 0 else results(level, territory, f.period)[ind.code]
            row |= {f"v{k}": found and found["valeur"], f"n{k}": found and found["effectif"],
                    f"m{k}": bool(found and found["masque"])}
        rows.append(row)
    columns = [Column("indicator", "Indicateur")]
    for k, (_, _, label) in enumerate(series):
        columns += [Column(f"v{k}", f"{label} (%)", "pourcentage", f"m{k}"),
                    Column(f"n{k}", f"Effectif ({label})", "entier", f"m{k}")]
    table(pl.DataFrame(rows, infer_schema_length=None), [*columns, Column("base", "Base de l'effectif")],
          key="resultats_comparaison", file_stem=download_stem(f, "resultats"), notes=[note(f)])

    st.header("Évolution")
    df = trend([(f.level, f.territory, f.label)], f.periods, CODES).with_columns(
        measure=pl.col("indicateur").replace_strict({i.code: i.libelle for i in indicators()}))
    chart(line_chart(df, title=f"Résultats par période — {f.label}", y_title="Part (%)", fmt="pourcentage",
                     color="measure", color_title="Indicateur"),
          note(f, f.periods, masked=int(df["masque"].sum())))
    with st.expander("Données du graphique"):
        table(df, [Column("periode", "Période"), Column("measure", "Indicateur"),
                   Column("valeur", "Part (%)", "pourcentage", "masque"),
                   Column("effectif", "Effectif", "entier", "masque"), Column("completeness", "Données")],
              key="resultats_evolution", file_stem=download_stem(f, "resultats_evolution"),
              notes=[note(f, f.periods)])
    follow_up = indicator("part_suivi_6_mois")
    st.caption(f"{follow_up.libelle} : {follow_up.definition}")
    confidentiality_note()


page("Résultats", body)
