"""Listes d'attente: Kaplan–Meier waiting curves per structure, median wait, seen within 90 days, backlog."""

import altair as alt
import polars as pl
import streamlit as st

import data
from display import (
    INTERVAL_NOTE,
    Column,
    chart,
    confidentiality_note,
    download_stem,
    header,
    indicator_row,
    note,
    page,
    table,
)
from filters import Filters
from pipelines.publication.disclosure import threshold
from pipelines.warehouse.catalogue import catalogue_categories

COLUMNS = {"demandes_attente": ("Demandes de la période", "entier"),
           "attente_mediane_jours": ("Attente médiane (jours)", "entier"),
           "part_rdv_sous_90_jours": ("Rendez-vous sous 90 jours (%)", "pourcentage"),
           "en_attente_fin_periode": ("En attente en fin de période", "entier")}

# The KM estimates whose 95 % interval the table shows (log(−log) Greenwood band, published with them).
INTERVALS = ("attente_mediane_jours", "part_rdv_sous_90_jours")

CENSORING = (
    "**Pourquoi ne pas faire une simple moyenne des attentes ?** Au moment où le site exporte ses données, "
    "beaucoup d'enfants attendent encore leur premier rendez-vous, et ce sont justement ceux qui attendent le "
    "plus longtemps. D'autres demandes ont été abandonnées. Ne compter que les attentes terminées donnerait donc "
    "une attente trop courte, d'autant plus trompeuse que la liste est engorgée. La méthode de Kaplan-Meier "
    "utilise aussi ces demandes « censurées » : une demande encore en attente compte comme « toujours sans "
    "rendez-vous » jusqu'à la date d'extraction, une demande abandonnée jusqu'à son abandon. Chaque courbe donne, "
    "pour chaque durée, la part estimée des demandes encore sans rendez-vous ; l'attente médiane est la durée à "
    "laquelle cette part passe à 50 % ou moins. Si elle n'y passe jamais, la médiane n'est pas calculée : "
    "l'attente réelle est alors plus longue que tout ce que l'on a pu observer."
)


def by_structure(current: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for code, name in catalogue_categories()["structures"].items():
        row = {"code": code, "structure": name}
        for ind in COLUMNS:
            found = indicator_row(current, ind, code)
            row[ind] = found and found["valeur"]
            row[f"masque_{ind}"] = bool(found and found["masque"])
            if ind in INTERVALS:
                row[f"{ind}_basse"] = found and found["borne_basse"]
                row[f"{ind}_haute"] = found and found["borne_haute"]
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def columns(code: str, label: str, fmt: str) -> list[Column]:
    """The table's columns of one indicator: its value, then its 95 % interval's bounds for a KM estimate."""
    out = [Column(code, label, fmt, f"masque_{code}")]
    if code in INTERVALS:
        name = label.split(" (")[0]
        out += [Column(f"{code}_basse", f"{name} : borne basse (IC à 95 %)", fmt, f"masque_{code}"),
                Column(f"{code}_haute", f"{name} : borne haute (IC à 95 %)", fmt, f"masque_{code}")]
    return out


def curves(f: Filters, structures: pl.DataFrame) -> pl.DataFrame:
    """KM curves of the structures whose figures are shown, cut where fewer requests than the threshold remain."""
    visible = structures.filter(~pl.col("masque_demandes_attente") & (pl.col("demandes_attente") > 0))
    names = dict(zip(visible["code"].to_list(), visible["structure"].to_list(), strict=True))
    df = data.km_curves(f.period, f.level, f.territory).filter(pl.col("structure").is_in(list(names)))
    start = pl.DataFrame({"structure": list(names), "jours": [0] * len(names), "survie": [1.0] * len(names)},
                         schema={"structure": pl.String, "jours": pl.Int64, "survie": pl.Float64})
    return (pl.concat([start, df.select("structure", "jours", "survie")])
            .with_columns(name=pl.col("structure").replace_strict(names, default=None),
                          share=100 * pl.col("survie"))
            .sort("structure", "jours"))


def body(f: Filters) -> None:
    header(f)
    current = data.territory_indicators(f.level, f.territory, [f.period])
    structures = by_structure(current)
    masked = sum(int(structures[f"masque_{c}"].sum()) for c in COLUMNS)
    caption = note(f, masked=masked)

    st.header("Par structure")
    table(structures, [Column("structure", "Structure"),
                       *(column for c, (label, fmt) in COLUMNS.items() for column in columns(c, label, fmt))],
          key="attentes_structures", file_stem=download_stem(f, "attentes"), notes=[caption])
    st.caption(caption + " « — » : non calculé (médiane non atteinte, aucune demande, ou période se terminant "
               "après la date d'extraction d'un site pour les enfants en attente en fin de période). "
               "Attente médiane et part sous 90 jours : estimations de Kaplan-Meier. " + INTERVAL_NOTE
               + " Une borne haute « — » pour la médiane : la borne n'est pas atteinte pendant la durée observée.")

    st.header("Courbes d'attente (Kaplan-Meier)")
    st.info(CENSORING)
    df = curves(f, structures)
    if df.height:
        base = alt.Chart(df).encode(
            x=alt.X("jours:Q", title="Jours depuis la demande"),
            y=alt.Y("share:Q", title="Demandes encore sans rendez-vous (%)", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("name:N", title="Structure"),
            strokeDash=alt.StrokeDash("name:N", title="Structure"),  # told apart without colour too
            tooltip=[alt.Tooltip("name:N", title="Structure"), alt.Tooltip("jours:Q", title="Jours"),
                     alt.Tooltip("share:Q", title="Sans rendez-vous (%)", format=".1f")])
        rule_90 = alt.Chart(pl.DataFrame({"jours": [90]})).mark_rule(strokeDash=[4, 4], color="gray").encode(
            x="jours:Q")
        lines = (base.mark_line(interpolate="step-after") + rule_90).properties(
            title=f"Part des demandes de {f.period} encore sans premier rendez-vous, selon l'attente", height=380)
        chart(lines, caption + " Les courbes s'arrêtent lorsque moins de "
              f"{threshold()} demandes restent en attente (secret statistique) ; trait pointillé : 90 jours.")
        with st.expander("Données du graphique"):
            table(df, [Column("name", "Structure"), Column("jours", "Jours depuis la demande", "entier"),
                       Column("share", "Demandes encore sans rendez-vous (%)", "pourcentage")],
                  key="attentes_courbes", file_stem=download_stem(f, "attentes_courbes"), notes=[caption])
    else:
        st.info("Aucune courbe affichable pour ce choix : pas de demande pendant la période, ou effectifs soumis "
                "au secret statistique.")
    confidentiality_note()


page("Listes d'attente", body)
