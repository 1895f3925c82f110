"""Actions et partenariats: actions per strand and per partner, attendance, cost per child."""

import altair as alt
import polars as pl
import streamlit as st

import data
from display import (
    Column,
    attendance_note,
    chart,
    confidentiality_note,
    download_stem,
    header,
    indicator_row,
    metric,
    note,
    page,
    table,
)
from filters import Filters
from pipelines.warehouse.catalogue import catalogue_categories, indicator

KEY_FIGURES = ["actions_par_enfant", "taux_assiduite", "cout_par_enfant"]


def bar_chart(df: pl.DataFrame, title: str, caption: str) -> None:
    shown = df.filter(~pl.col("masque"))
    if not shown.height:
        st.info("Graphique non affiché : toutes les valeurs sont soumises au secret statistique.")
        return
    bars = alt.Chart(shown).mark_bar().encode(
        x=alt.X("actions:Q", title="Nombre d'actions engagées"),
        y=alt.Y("label:N", title=None, sort="-x", axis=alt.Axis(labelLimit=240)),
        tooltip=[alt.Tooltip("label:N", title="Catégorie"), alt.Tooltip("actions:Q", title="Actions", format=",d")],
    ).properties(title=title, height=max(120, 28 * shown.height))
    chart(bars, caption)


def body(f: Filters) -> None:
    header(f)
    current = data.territory_indicators(f.level, f.territory, [f.period])
    index = f.periods.index(f.period)
    previous = f.periods[index - 1] if index > 0 else None
    before = data.territory_indicators(f.level, f.territory, [previous] if previous else [])

    st.header("Chiffres clés")
    for column, code in zip(st.columns(len(KEY_FIGURES)), KEY_FIGURES, strict=True):
        with column:
            metric(indicator(code), indicator_row(current, code), indicator_row(before, code))
    masked = sum(bool((r := indicator_row(current, c)) and r["masque"]) for c in KEY_FIGURES)
    st.caption(note(f, masked=masked, previous=previous)
               + " Actions commencées pendant la période ; coûts non renseignés ignorés.")
    attendance = attendance_note(f)
    if attendance:
        st.caption(attendance)

    st.header("Actions par volet")
    strands = pl.DataFrame([{"label": name, "actions": row and row["valeur"], "masque": bool(row and row["masque"])}
                            for code, name in catalogue_categories()["volets"].items()
                            for row in [indicator_row(current, "actions", code)]],
                           schema={"label": pl.String, "actions": pl.Float64, "masque": pl.Boolean})
    caption = note(f, masked=int(strands["masque"].sum()))
    bar_chart(strands, f"Actions engagées par volet, {f.period}", caption)
    table(strands, [Column("label", "Volet"), Column("actions", "Actions engagées", "entier", "masque")],
          key="actions_volets", file_stem=download_stem(f, "actions_volets"), notes=[caption])

    st.header("Partenaires")
    st.write(f"Les partenaires avec lesquels {f.label} a engagé des actions pendant la période {f.period}, "
             "avec le nombre d'actions, l'assiduité (séances réalisées rapportées aux séances prévues) et leur coût.")
    names = catalogue_categories()["partenaires"]

    def partner(code: str, partner_code: str) -> dict:
        return indicator_row(current, code, partner_code) or {"valeur": None, "masque": False}

    rows = []
    for code, name in names.items():
        count, attendance, cost = (partner(c, code) for c in ("actions_par_partenaire", "taux_assiduite_partenaire",
                                                               "cout_actions_partenaire"))
        rows.append({"label": name, "actions": count["valeur"], "masque": bool(count["masque"]),
                     "taux_assiduite": attendance["valeur"], "masque_taux": bool(attendance["masque"]),
                     "cout_total": cost["valeur"], "masque_cout": bool(cost["masque"])})
    partners = (pl.DataFrame(rows, schema={"label": pl.String, "actions": pl.Float64, "masque": pl.Boolean,
                                           "taux_assiduite": pl.Float64, "masque_taux": pl.Boolean,
                                           "cout_total": pl.Float64, "masque_cout": pl.Boolean})
                .filter(pl.col("masque") | (pl.col("actions") > 0))
                .sort([pl.col("masque"), pl.col("actions")], descending=[False, True], nulls_last=True))
    if not partners.height:
        st.info("Aucune action commencée pendant la période pour ce territoire.")
    else:
        caption = note(f, masked=int(partners["masque"].sum()))
        bar_chart(partners, f"Actions engagées par type de partenaire, {f.period}", caption)
        table(partners, [Column("label", "Partenaire"),
                         Column("actions", "Actions engagées", "entier", "masque"),
                         Column("taux_assiduite", "Taux d'assiduité (%)", "pourcentage", "masque_taux"),
                         Column("cout_total", "Coût total (€)", "euros", "masque_cout")],
              key="actions_partenaires", file_stem=download_stem(f, "actions_partenaires"), notes=[caption])
        st.caption("Le taux d'assiduité d'un partenaire n'est affiché que s'il repose sur assez d'actions dont les "
                   "séances prévues et réalisées sont renseignées.")
    confidentiality_note()


page("Actions et partenariats", body)
