"""Normes de service: the Guidance familiale's norms (18 months at most, 10 families per referent at most)
and the review with the family 6 months after exit, per site, with each value's 95 % interval.

Every figure is a published (masked) catalogue indicator; the norms' values come from the referential of
norms (`normes.yaml`), the same one the indicators were computed with.
"""

import altair as alt
import polars as pl
import streamlit as st

import access
import data
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
    value_with_interval,
)
from filters import Filters, site_names
from pipelines.common import formats
from pipelines.publication.disclosure import SECRET
from pipelines.warehouse.catalogue import indicator, norms

CODES = ["part_guidance_18_mois", "familles_par_referent_guidance", "part_referents_guidance_au_dela_norme",
         "part_suivi_6_mois"]
SHARES = ["part_guidance_18_mois", "part_referents_guidance_au_dela_norme", "part_suivi_6_mois"]


def norm_values() -> dict[str, int | float]:
    return {name: entry["valeur"] for name, entry in norms().items()}


def norm_text(code: str) -> str:
    """The norm an indicator is read against, in French, with the referential's value."""
    n = norm_values()
    return {
        "part_guidance_18_mois": f"une guidance familiale dure au plus {formats.exact(n['guidance_duree_mois'])} mois",
        "familles_par_referent_guidance": f"au plus {formats.exact(n['guidance_familles_par_referent'])} "
                                          "familles par référent",
        "part_referents_guidance_au_dela_norme": "aucun référent au-delà de "
                                                 f"{formats.exact(n['guidance_familles_par_referent'])} familles",
        "part_suivi_6_mois": f"un bilan avec la famille de {formats.exact(n['suivi_debut_jours'])} à "
                             f"{formats.exact(n['suivi_fin_jours'])} jours après la sortie",
    }[code]


def reading(code: str, row: dict | None, period: str) -> str:
    """A plain French sentence saying what the figure means for the territory."""
    if row is None or (row["valeur"] is None and not row["masque"]):
        return "Non calculé pour cette période : aucune situation concernée."
    if row["masque"]:
        return f"Chiffre non affiché : {SECRET}."
    n, fmt = norm_values(), indicator(code).format
    value, base = value_with_interval(row, fmt), formats.number(row["effectif"])
    return {
        "part_guidance_18_mois": f"{value} des {base} guidances familiales terminées en {period} l'ont été au plus "
                                 f"{formats.exact(n['guidance_duree_mois'])} mois après leur début.",
        "familles_par_referent_guidance": f"Les {base} référents ayant une guidance familiale en cours suivent en "
                                          f"moyenne {value} familles en guidance (norme : au plus "
                                          f"{formats.exact(n['guidance_familles_par_referent'])}).",
        "part_referents_guidance_au_dela_norme": f"{value} des {base} référents ayant une guidance familiale en "
                                                 "cours suivent plus de "
                                                 f"{formats.exact(n['guidance_familles_par_referent'])} familles.",
        "part_suivi_6_mois": f"{value} des {base} sorties dont la fenêtre de suivi est close ont eu un bilan de "
                             f"suivi de {formats.exact(n['suivi_debut_jours'])} à {formats.exact(n['suivi_fin_jours'])}"
                             " jours après la sortie.",
    }[code]


def territory_rows(series: list[tuple[str, str, str]], period: str) -> pl.DataFrame:
    rows = []
    for level, territory, label in series:
        current = data.territory_indicators(level, territory, [period])
        for code in CODES:
            row = indicator_row(current, code)
            rows.append({"territoire": label, "indicateur": indicator(code).libelle, "norme": norm_text(code),
                         "format": indicator(code).format,
                         "valeur": row and row["valeur"], "effectif": row and row["effectif"],
                         "borne_basse": row and row["borne_basse"], "borne_haute": row and row["borne_haute"],
                         "masque": bool(row and row["masque"]), "lecture": reading(code, row, period)})
    return pl.DataFrame(rows, schema={"territoire": pl.String, "indicateur": pl.String, "norme": pl.String,
                                      "format": pl.String, "valeur": pl.Float64, "effectif": pl.Int64,
                                      "borne_basse": pl.Float64, "borne_haute": pl.Float64, "masque": pl.Boolean,
                                      "lecture": pl.String})


def site_rows(f: Filters) -> pl.DataFrame:
    """One row per site of the territory that the person may see in detail, the four indicators as columns."""
    codes = data.territory_sites(f.level, f.territory)["code_pre"].to_list()
    published = data.indicators(f.period).filter((pl.col("niveau") == "pre") & pl.col("territoire").is_in(codes)
                                                 & pl.col("indicateur").is_in(CODES) & (pl.col("categorie") == ""))
    names = site_names()
    rows = []
    for code in sorted(set(published["territoire"].to_list())):
        if not access.visible("pre", code):
            continue
        row: dict = {"site": f"{names.get(code, code)} ({code})"}
        for ind in CODES:
            found = indicator_row(published.filter(pl.col("territoire") == code), ind)
            row |= {ind: found and found["valeur"], f"{ind}_basse": found and found["borne_basse"],
                    f"{ind}_haute": found and found["borne_haute"], f"{ind}_effectif": found and found["effectif"],
                    f"masque_{ind}": bool(found and found["masque"])}
        rows.append(row)
    schema = {"site": pl.String} | {k: v for ind in CODES for k, v in (
        (ind, pl.Float64), (f"{ind}_basse", pl.Float64), (f"{ind}_haute", pl.Float64),
        (f"{ind}_effectif", pl.Int64), (f"masque_{ind}", pl.Boolean))}
    return pl.DataFrame(rows, schema=schema)


def body(f: Filters) -> None:
    header(f)
    n = norm_values()
    st.markdown(
        "Les normes de service de la Guidance familiale, telles que le référentiel des normes les fixe : une "
        f"guidance dure au plus **{formats.exact(n['guidance_duree_mois'])} mois** ; un référent suit au plus "
        f"**{formats.exact(n['guidance_familles_par_referent'])} familles** en guidance (les frères et sœurs comptent "
        "pour une famille) ; un **bilan avec la famille** a lieu environ six mois après la sortie, de "
        f"{formats.exact(n['suivi_debut_jours'])} à {formats.exact(n['suivi_fin_jours'])} jours après elle.")

    st.header("Le territoire au regard des normes")
    upper = comparison(f)
    series = [(f.level, f.territory, f.label), *([upper] if upper else [])]
    rows = territory_rows(series, f.period)
    own = rows.filter(pl.col("territoire") == f.label)
    st.markdown("\n".join(f"- **{r['indicateur']}** (norme : {r['norme']}). {r['lecture']}"
                          for r in own.iter_rows(named=True)))
    caption = note(f, masked=int(rows["masque"].sum()))
    table(rows, [Column("territoire", "Territoire"), Column("indicateur", "Indicateur"), Column("norme", "Norme"),
                 Column("valeur", "Valeur", "*", "masque"),
                 Column("borne_basse", "Borne basse (IC à 95 %)", "*", "masque"),
                 Column("borne_haute", "Borne haute (IC à 95 %)", "*", "masque"),
                 Column("effectif", "Effectif", "entier", "masque")],
          key="normes_territoire", file_stem=download_stem(f, "normes"), notes=[caption, INTERVAL_NOTE])
    st.caption(caption + " " + INTERVAL_NOTE + " Le territoire est comparé au territoire qui le contient.")

    if f.level != "pre":
        st.header("Par site")
        sites = site_rows(f)
        if not sites.height:
            st.info("Aucun site de ce territoire dans votre périmètre détaillé.")
        else:
            families = indicator("familles_par_referent_guidance")
            shown = sites.filter(~pl.col("masque_familles_par_referent_guidance")
                                 & pl.col("familles_par_referent_guidance").is_not_null())
            caption = note(f, masked=int(sites["masque_familles_par_referent_guidance"].sum()))
            if shown.height:
                bars = alt.Chart(shown).mark_bar().encode(
                    x=alt.X("familles_par_referent_guidance:Q", title="Familles par référent (moyenne)"),
                    y=alt.Y("site:N", title=None, sort="-x", axis=alt.Axis(labelLimit=260)),
                    tooltip=[alt.Tooltip("site:N", title="Site"),
                             alt.Tooltip("familles_par_referent_guidance:Q", title="Familles par référent",
                                         format=",.1f"),
                             alt.Tooltip("familles_par_referent_guidance_effectif:Q", title="Référents",
                                         format=",d")])
                rule = alt.Chart(pl.DataFrame({"norme": [n["guidance_familles_par_referent"]]})).mark_rule(
                    color="#d62728", strokeDash=[4, 4]).encode(x="norme:Q")
                chart((bars + rule).properties(title=f"{families.libelle} par site, {f.period}",
                                               height=max(120, 28 * shown.height)),
                      caption + " Trait rouge pointillé : la norme "
                      f"({formats.exact(n['guidance_familles_par_referent'])} familles par référent au plus).")
            else:
                st.info("Graphique non affiché : aucune valeur affichable (secret statistique ou aucune guidance "
                        "en cours).")
            with st.expander("Données du graphique", expanded=True):
                columns = [Column("site", "Site")]
                for ind in CODES:
                    spec = indicator(ind)
                    columns += [Column(ind, spec.libelle, spec.format, f"masque_{ind}")]
                    if spec.intervalle:
                        columns += [Column(f"{ind}_basse", f"{spec.libelle} : borne basse (IC à 95 %)", spec.format,
                                           f"masque_{ind}"),
                                    Column(f"{ind}_haute", f"{spec.libelle} : borne haute (IC à 95 %)", spec.format,
                                           f"masque_{ind}")]
                    columns.append(Column(f"{ind}_effectif", f"Effectif : {spec.effectif}", "entier",
                                          f"masque_{ind}"))
                table(sites, columns, key="normes_sites", file_stem=download_stem(f, "normes_sites"),
                      notes=[caption, INTERVAL_NOTE])

    st.header("Évolution")
    df = trend([(f.level, f.territory, f.label)], f.periods, SHARES).with_columns(
        measure=pl.col("indicateur").replace_strict({c: indicator(c).libelle for c in SHARES}))
    caption = note(f, f.periods, masked=int(df["masque"].sum()))
    chart(line_chart(df, title=f"Normes de service par période — {f.label}", y_title="Part (%)",
                     fmt="pourcentage", color="measure", color_title="Indicateur"), caption)
    with st.expander("Données du graphique"):
        table(df, [Column("periode", "Période"), Column("measure", "Indicateur"),
                   Column("valeur", "Part (%)", "pourcentage", "masque"),
                   Column("borne_basse", "Borne basse (IC à 95 %)", "pourcentage", "masque"),
                   Column("borne_haute", "Borne haute (IC à 95 %)", "pourcentage", "masque"),
                   Column("effectif", "Effectif", "entier", "masque"), Column("completeness", "Données")],
              key="normes_evolution", file_stem=download_stem(f, "normes_evolution"), notes=[caption])
    for code in CODES:
        st.caption(f"{indicator(code).libelle} : {indicator(code).definition}")
    confidentiality_note()


page("Normes de service", body)
