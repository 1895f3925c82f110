"""Coopération: where children come from, which partners act in pathways, pathways with several partners,
handovers to mainstream services at exit and the 6-month follow-up; one territory against the territory
containing it, with the trend over periods. Every figure is a published (masked) catalogue indicator.
"""

import altair as alt
import polars as pl
import streamlit as st

import data
import frames
from display import (
    INTERVAL_NOTE,
    Column,
    chart,
    comparison,
    confidentiality_note,
    download_stem,
    header,
    indicator_row,
    line_chart,
    note,
    page,
    table,
    trend,
)
from filters import Filters
from pipelines.common import formats
from pipelines.warehouse.catalogue import catalogue_categories, indicator

CODES = ["part_orientation_ecole", "partenaires_par_parcours", "part_parcours_multipartenaires",
         "part_sorties_relais", "part_suivi_6_mois"]


def comparison_table(f: Filters, series: list[tuple[str, str, str]]) -> None:
    """The cooperation indicators of the territory and of the territory containing it, with intervals."""
    frames = [data.territory_indicators(level, territory, [f.period]) for level, territory, _ in series]
    rows = []
    for code in CODES:
        ind = indicator(code)
        row: dict = {"indicator": ind.libelle, "format": ind.format, "base": ind.effectif}
        for k, frame in enumerate(frames):
            found = indicator_row(frame, code)
            row |= {f"v{k}": found and found["valeur"], f"n{k}": found and found["effectif"],
                    f"l{k}": found and found["borne_basse"], f"h{k}": found and found["borne_haute"],
                    f"m{k}": bool(found and found["masque"])}
        rows.append(row)
    df = pl.DataFrame(rows, infer_schema_length=None)
    columns = [Column("indicator", "Indicateur")]
    for k, (_, _, label) in enumerate(series):
        columns += [Column(f"v{k}", label, "*", f"m{k}"),
                    Column(f"l{k}", f"Borne basse (IC à 95 %, {label})", "*", f"m{k}"),
                    Column(f"h{k}", f"Borne haute (IC à 95 %, {label})", "*", f"m{k}"),
                    Column(f"n{k}", f"Effectif ({label})", "entier", f"m{k}")]
    masked = sum(int(df[f"m{k}"].sum()) for k in range(len(series)))
    caption = note(f, masked=masked)
    table(df, [*columns, Column("base", "Base de l'effectif")], key="cooperation_comparaison",
          file_stem=download_stem(f, "cooperation"), notes=[caption, INTERVAL_NOTE])
    st.caption(caption + " " + INTERVAL_NOTE)


def origins(f: Filters) -> pl.DataFrame:
    """Share of the entries by referral origin, per period, for the territory."""
    names = catalogue_categories()["origines"]
    df = data.territory_indicators(f.level, f.territory, list(f.periods))
    rows = []
    for period in f.periods:
        for code, name in names.items():
            found = indicator_row(df, "part_orientation", code, period)
            rows.append({"periode": period, "origine": name, "valeur": found and found["valeur"],
                         "effectif": found and found["effectif"], "borne_basse": found and found["borne_basse"],
                         "borne_haute": found and found["borne_haute"], "masque": bool(found and found["masque"])})
    return pl.DataFrame(rows, schema={"periode": pl.String, "origine": pl.String, "valeur": pl.Float64,
                                      "effectif": pl.Int64, "borne_basse": pl.Float64, "borne_haute": pl.Float64,
                                      "masque": pl.Boolean})


def partners(f: Filters) -> pl.DataFrame:
    """Actions started per partner type and period, for the territory."""
    names = catalogue_categories()["partenaires"]
    df = data.territory_indicators(f.level, f.territory, list(f.periods))
    rows = [{"periode": period, "partenaire": name, "actions": found and found["valeur"],
             "masque": bool(found and found["masque"])}
            for period in f.periods for code, name in names.items()
            for found in [indicator_row(df, "actions_par_partenaire", code, period)]]
    return pl.DataFrame(rows, schema={"periode": pl.String, "partenaire": pl.String, "actions": pl.Float64,
                                      "masque": pl.Boolean})


def body(f: Filters) -> None:
    header(f)
    upper = comparison(f)
    series = [(f.level, f.territory, f.label), *([upper] if upper else [])]
    st.markdown("Comment le PRE coopère avec l'école, les services de soin, les services sociaux et les autres "
                "partenaires : d'où viennent les enfants, quels partenaires interviennent dans les parcours, combien "
                "de parcours en réunissent plusieurs, combien de sorties passent le relais au droit commun et combien "
                "de familles sont revues six mois après la sortie."
                + (f" {f.label} est comparé à {upper[2]}." if upper else ""))

    st.header(f"Indicateurs de coopération, {f.period}")
    comparison_table(f, series)

    st.header("Évolution")
    code = st.selectbox("Indicateur", CODES, key="cooperation_indicator", format_func=lambda c: indicator(c).libelle)
    ind = indicator(code)
    df = trend(series, f.periods, [code])
    caption = note(f, f.periods, masked=int(df["masque"].sum()))
    chart(line_chart(df, title=f"{ind.libelle} par période", y_title=f"{ind.libelle} ({ind.unite})", fmt=ind.format),
          caption)
    with st.expander("Données du graphique"):
        table(df, [Column("periode", "Période"), Column("series", "Territoire"),
                   Column("valeur", f"{ind.libelle} ({ind.unite})", ind.format, "masque"),
                   Column("borne_basse", "Borne basse (IC à 95 %)", ind.format, "masque"),
                   Column("borne_haute", "Borne haute (IC à 95 %)", ind.format, "masque"),
                   Column("effectif", "Effectif", "entier", "masque"), Column("completeness", "Données")],
              key="cooperation_evolution", file_stem=download_stem(f, f"cooperation_{code}"), notes=[caption])
    st.caption(f"{ind.libelle} : {ind.definition}")

    st.header("D'où viennent les enfants")
    df = origins(f)
    caption = note(f, f.periods, masked=int(df["masque"].sum()))
    shown = df.filter(~pl.col("masque") & pl.col("valeur").is_not_null()).with_columns(
        text=pl.col("valeur").map_elements(lambda v: formats.percent(v), return_dtype=pl.String))
    if shown.height:
        bars = alt.Chart(shown).mark_bar().encode(
            x=alt.X("periode:N", title="Période", sort=list(f.periods)),
            y=alt.Y("valeur:Q", title="Part des entrées (%)"),
            color=alt.Color("origine:N", title="Origine de l'orientation"),
            tooltip=[alt.Tooltip("periode:N", title="Période"), alt.Tooltip("origine:N", title="Origine"),
                     alt.Tooltip("text:N", title="Part des entrées")],
        ).properties(title=f"Origine de l'orientation des entrées par période — {f.label}", height=340)
        chart(bars, caption + " Les parts soumises au secret statistique ne sont pas dessinées.")
    else:
        st.info("Graphique non affiché : aucune part affichable (aucune entrée ou secret statistique).")
    with st.expander("Données du graphique"):
        table(df, [Column("periode", "Période"), Column("origine", "Origine de l'orientation"),
                   Column("valeur", "Part des entrées (%)", "pourcentage", "masque"),
                   Column("borne_basse", "Borne basse (IC à 95 %)", "pourcentage", "masque"),
                   Column("borne_haute", "Borne haute (IC à 95 %)", "pourcentage", "masque"),
                   Column("effectif", "Entrées de la période", "entier", "masque")],
              key="cooperation_origines", file_stem=download_stem(f, "cooperation_origines"), notes=[caption])

    st.header("Quels partenaires interviennent, et dans quel volet")
    st.markdown(f"Les parcours actifs en {f.period} où chaque type de partenaire intervient, par volet du parcours "
                "(au moins une action de ce partenaire dans ce volet, commencée au plus tard à la fin de la "
                "période) : où l'école, les services de soin, les services sociaux et les autres partenaires "
                "interviennent. Un parcours compte dans chaque case où il a une telle action.")
    current = data.territory_indicators(f.level, f.territory, [f.period])
    matrix = frames.partner_volet_matrix(current, f.period, catalogue_categories()["partenaires"],
                                         catalogue_categories()["volets"])
    caption = note(f, masked=int(matrix["masque"].sum()))
    shown = matrix.filter(~pl.col("masque") & (pl.col("parcours") > 0))
    if shown.height:
        volets = list(catalogue_categories()["volets"].values())
        base = alt.Chart(shown).encode(
            x=alt.X("volet:N", title="Volet", sort=volets, axis=alt.Axis(labelAngle=0, labelLimit=220)),
            y=alt.Y("partenaire:N", title=None, sort=list(catalogue_categories()["partenaires"].values()),
                    axis=alt.Axis(labelLimit=260)),
            tooltip=[alt.Tooltip("partenaire:N", title="Partenaire"), alt.Tooltip("volet:N", title="Volet"),
                     alt.Tooltip("parcours:Q", title="Parcours", format=",d")])
        heat = base.mark_rect().encode(
            color=alt.Color("parcours:Q", title="Parcours", scale=alt.Scale(scheme="blues")))
        counts = base.mark_text(fontSize=11).encode(
            text=alt.Text("parcours:Q", format=",d"),
            color=alt.condition(alt.datum.parcours > shown["parcours"].max() / 2, alt.value("white"),
                                alt.value("black")))
        chart((heat + counts).properties(
            title=f"Parcours où intervient chaque type de partenaire, par volet, {f.period} — {f.label}",
            height=max(160, 28 * shown["partenaire"].n_unique())),
            caption + " Case vide : aucun parcours, ou nombre soumis au secret statistique (le tableau les "
                      "distingue).")
    else:
        st.info("Graphique non affiché : aucun nombre affichable pour cette période (aucun parcours concerné, ou "
                "nombres soumis au secret statistique).")
    with st.expander("Données du graphique"):
        table(matrix, [Column("partenaire", "Partenaire"), Column("volet", "Volet"),
                       Column("parcours", "Parcours", "entier", "masque")],
              key="cooperation_partenaires_volets", file_stem=download_stem(f, "cooperation_partenaires_volets"),
              notes=[caption])

    st.header("Actions engagées par type de partenaire, période par période")
    df = partners(f)
    caption = note(f, f.periods, masked=int(df["masque"].sum()))
    shown = df.filter(~pl.col("masque") & pl.col("actions").is_not_null())
    if shown.height:
        heat = alt.Chart(shown).mark_rect().encode(
            x=alt.X("periode:N", title="Période", sort=list(f.periods)),
            y=alt.Y("partenaire:N", title=None, axis=alt.Axis(labelLimit=260)),
            color=alt.Color("actions:Q", title="Actions engagées", scale=alt.Scale(scheme="blues")),
            tooltip=[alt.Tooltip("partenaire:N", title="Partenaire"), alt.Tooltip("periode:N", title="Période"),
                     alt.Tooltip("actions:Q", title="Actions engagées", format=",d")],
        ).properties(title=f"Actions engagées par type de partenaire et par période — {f.label}",
                     height=max(160, 26 * shown["partenaire"].n_unique()))
        chart(heat, caption + " Case vide : aucune action, ou nombre soumis au secret statistique.")
    else:
        st.info("Graphique non affiché : aucune action affichable.")
    with st.expander("Données du graphique"):
        table(df, [Column("periode", "Période"), Column("partenaire", "Partenaire"),
                  Column("actions", "Actions engagées", "entier", "masque")],
              key="cooperation_partenaires", file_stem=download_stem(f, "cooperation_partenaires"), notes=[caption])
    confidentiality_note()


page("Coopération", body)
