"""Synthèse: the funders' landing page — key figures, their trend, the upper level beside them."""

import polars as pl
import streamlit as st

import data
from display import (
    INTERVAL_NOTE,
    Column,
    attendance_note,
    chart,
    comparison,
    confidentiality_note,
    download_stem,
    header,
    indicator_row,
    interval_text,
    line_chart,
    metric,
    note,
    page,
    print_button,
    table,
    trend,
)
from filters import Filters
from pipelines.warehouse.catalogue import indicator

KEY_FIGURES = ["enfants_suivis", "entrees", "sorties", "duree_moyenne_mois", "part_qpv",
               "actions_par_enfant", "taux_assiduite", "cout_par_enfant",
               "part_sorties_objectifs_atteints", "part_sorties_relais"]
PER_ROW = 5


def body(f: Filters) -> None:
    header(f)
    printing = st.container()  # « Imprimer / PDF », filled once the table below is built
    index = f.periods.index(f.period)
    previous = f.periods[index - 1] if index > 0 else None
    current = data.territory_indicators(f.level, f.territory, [f.period])
    before = data.territory_indicators(f.level, f.territory, [previous] if previous else [])

    st.header("Chiffres clés")
    masked = 0
    for start in range(0, len(KEY_FIGURES), PER_ROW):
        for column, code in zip(st.columns(PER_ROW), KEY_FIGURES[start:start + PER_ROW], strict=False):
            row = indicator_row(current, code)
            masked += bool(row and row["masque"])
            with column:
                metric(indicator(code), row, indicator_row(before, code))
    st.caption(note(f, masked=masked, previous=previous))
    attendance = attendance_note(f)
    if attendance:
        st.caption(attendance)

    upper = comparison(f)
    heading = f"Comparaison avec {upper[2]}" if upper else "Tableau des chiffres clés"
    st.header(heading)
    above = data.territory_indicators(upper[0], upper[1], [f.period]) if upper else data.empty_indicators()
    rows = []
    for code in KEY_FIGURES:
        ind, row, row_upper = indicator(code), indicator_row(current, code), indicator_row(above, code)
        rows.append({"indicateur": ind.libelle, "unite": ind.unite, "format": ind.format,
                     "valeur": row and row["valeur"], "effectif": row and row["effectif"],
                     "intervalle": row and interval_text(row["borne_basse"], row["borne_haute"], ind.format),
                     "masque": bool(row and row["masque"]),
                     "valeur_upper": row_upper and row_upper["valeur"],
                     "effectif_upper": row_upper and row_upper["effectif"],
                     "masque_upper": bool(row_upper and row_upper["masque"])})
    columns = [Column("indicateur", "Indicateur"), Column("unite", "Unité"),
               Column("valeur", f.label, "*", "masque"), Column("intervalle", "IC à 95 %", None, "masque"),
               Column("effectif", "Effectif", "entier", "masque")]
    if upper:
        columns += [Column("valeur_upper", upper[2], "*", "masque_upper"),
                    Column("effectif_upper", f"Effectif ({upper[2]})", "entier", "masque_upper")]
    shown = table(pl.DataFrame(rows, infer_schema_length=None), columns, key="synthese_comparaison",
                  file_stem=download_stem(f, "synthese"), notes=[note(f), INTERVAL_NOTE])
    st.caption(INTERVAL_NOTE)
    # The sheet: this table, under the key figures' note (without the changes, which it does not show).
    print_button(printing, f, page="Synthèse", table_title=heading, shown=shown, key="synthese_pdf",
                 notes=[note(f, masked=masked), *([attendance] if attendance else []), INTERVAL_NOTE])

    st.header("Évolution")
    code = st.selectbox("Indicateur", KEY_FIGURES, format_func=lambda c: indicator(c).libelle,
                        key="synthese_indicator")
    ind = indicator(code)
    series = [(f.level, f.territory, f.label)] + ([upper] if upper else [])
    df = trend(series, f.periods, [code])
    chart(line_chart(df, title=f"{ind.libelle} par période", y_title=f"{ind.libelle} ({ind.unite})",
                     fmt=ind.format),
          note(f, f.periods, masked=int(df["masque"].sum())))
    with st.expander("Données du graphique"):
        table(df, [Column("periode", "Période"), Column("series", "Territoire"),
                   Column("valeur", f"{ind.libelle} ({ind.unite})", ind.format, "masque"),
                   Column("effectif", "Effectif", "entier", "masque"), Column("completeness", "Données")],
              key="synthese_evolution", file_stem=download_stem(f, f"evolution_{code}"), notes=[note(f, f.periods)])
    confidentiality_note()


page("Synthèse", body)
