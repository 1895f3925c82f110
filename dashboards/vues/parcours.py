"""Parcours: entries, exits, active pathways, durations, who the children are, who refers them, why they leave."""

import altair as alt
import polars as pl
import streamlit as st

import donnees
import libelles
from affichage import (
    Colonne,
    courbe,
    en_tete,
    evolution,
    graphique,
    ligne,
    metrique,
    nom_fichier,
    note,
    page,
    secret_statistique,
    tableau,
)
from filtres import Filtres
from pipelines.common import formats
from pipelines.warehouse.catalogue import catalogue_categories, indicator

CHIFFRES = ["enfants_suivis", "parcours_actifs", "entrees", "sorties", "enfants_par_referent",
            "duree_moyenne_mois", "duree_mediane_mois", "part_filles", "part_qpv", "part_orientation_ecole"]
FLUX = {"entrees": "Entrées", "sorties": "Sorties", "parcours_actifs": "Parcours actifs"}


def repartition(f: Filtres, courant: pl.DataFrame, dimension: str, noms: dict[str, str], base: str) -> pl.DataFrame:
    """Shares of the entries (or exits) per code; masked exactly when the base figure is."""
    counts = donnees.repartitions(f.periode, f.niveau, f.territoire).filter(pl.col("dimension") == dimension)
    n = dict(zip(counts["code"].to_list(), counts["n"].to_list(), strict=True))
    total = sum(n.values())
    masque = (row := ligne(courant, base)) is None or row["masque"]
    codes = [c for c in noms if c or n.get(c)]  # "non renseigné" only when it occurs
    return pl.DataFrame({
        "code": codes, "libelle": [noms[c] for c in codes],
        "valeur": [None if masque or not total else 100 * n.get(c, 0) / total for c in codes],
        "effectif": [None if masque else total] * len(codes), "masque": [masque] * len(codes),
    }, schema={"code": pl.String, "libelle": pl.String, "valeur": pl.Float64, "effectif": pl.Int64,
               "masque": pl.Boolean})


def barres(df: pl.DataFrame, titre: str, axe: str, legende: str, *, ordre: list[str] | None = None) -> None:
    shown = df.filter(~pl.col("masque") & pl.col("valeur").is_not_null())
    if not shown.height:
        st.info("Répartition non affichée : effectif soumis au secret statistique ou nul.")
        return
    shown = shown.with_columns(texte=pl.col("valeur").map_elements(lambda v: formats.by_kind(v, "pourcentage"),
                                                                   return_dtype=pl.String))
    chart = alt.Chart(shown).mark_bar().encode(
        x=alt.X("valeur:Q", title=axe),
        y=alt.Y("libelle:N", title=None, sort=ordre or "-x", axis=alt.Axis(labelLimit=240)),
        tooltip=[alt.Tooltip("libelle:N", title="Catégorie"), alt.Tooltip("texte:N", title="Part")],
    ).properties(title=titre, height=max(120, 28 * shown.height))
    graphique(chart, legende)


def table_parts(f: Filtres, df: pl.DataFrame, entete: str, base: str, cle: str) -> None:
    tableau(df, [Colonne("libelle", entete), Colonne("valeur", "Part (%)", "pourcentage", "masque"),
                 Colonne("effectif", f"Effectif ({base})", "entier", "masque")],
            cle=cle, fichier=nom_fichier(f, cle), notes=[note(f)])


def corps(f: Filtres) -> None:
    en_tete(f)
    courant = donnees.indicateurs_territoire(f.niveau, f.territoire, [f.periode])
    rang = f.periodes.index(f.periode)
    precedente = f.periodes[rang - 1] if rang > 0 else None
    avant = donnees.indicateurs_territoire(f.niveau, f.territoire, [precedente] if precedente else [])

    st.header("Chiffres clés")
    for debut in range(0, len(CHIFFRES), 5):
        for colonne, code in zip(st.columns(5), CHIFFRES[debut:debut + 5], strict=False):
            with colonne:
                metrique(indicator(code), ligne(courant, code), ligne(avant, code))
    masques = sum(bool((r := ligne(courant, c)) and r["masque"]) for c in CHIFFRES)
    st.caption(note(f, masques=masques, precedente=precedente)
               + " Durées en mois (jours ÷ 30,4375), sur les parcours terminés pendant la période.")

    st.header("Entrées, sorties et parcours actifs")
    flux = evolution([(f.niveau, f.territoire, f.libelle)], f.periodes, list(FLUX)).with_columns(
        serie=pl.col("indicateur").replace_strict(FLUX))
    graphique(courbe(flux, titre=f"Entrées, sorties et parcours actifs par période — {f.libelle}",
                     axe_y="Nombre de parcours", fmt="entier", legende_couleur="Mesure"),
              note(f, f.periodes, masques=int(flux["masque"].sum())))
    with st.expander("Données du graphique"):
        tableau(flux, [Colonne("periode", "Période"), Colonne("serie", "Mesure"),
                       Colonne("valeur", "Nombre de parcours", "entier", "masque")],
                cle="parcours_flux", fichier=nom_fichier(f, "parcours_flux"), notes=[note(f, f.periodes)])

    st.header("Âge à l'entrée et sexe")
    tranches = catalogue_categories()["tranches_age"]
    ages = pl.DataFrame([{**(ligne(courant, "part_age", c) or {"valeur": None, "effectif": None, "masque": False}),
                          "libelle": nom} for c, nom in tranches.items()]).select("libelle", "valeur", "effectif",
                                                                                   "masque")
    gauche, droite = st.columns(2)
    with gauche:
        barres(ages, f"Entrées par tranche d'âge, {f.periode}", "Part des entrées (%)", note(f),
               ordre=list(tranches.values()))
        table_parts(f, ages, "Tranche d'âge à l'entrée", "entrées", "parcours_ages")
    with droite:
        filles = ligne(courant, "part_filles")
        masque = filles is None or filles["masque"] or filles["valeur"] is None
        sexes = pl.DataFrame({
            "libelle": ["Filles", "Garçons"],
            "valeur": [None, None] if masque else [filles["valeur"], 100 - filles["valeur"]],
            "effectif": [None, None] if masque else [filles["effectif"]] * 2, "masque": [masque] * 2,
        }, schema={"libelle": pl.String, "valeur": pl.Float64, "effectif": pl.Int64, "masque": pl.Boolean})
        barres(sexes, f"Enfants suivis par sexe, {f.periode}", "Part des enfants suivis (%)", note(f),
               ordre=["Filles", "Garçons"])
        table_parts(f, sexes, "Sexe", "enfants suivis", "parcours_sexe")

    st.header("Origine de l'orientation")
    origines = repartition(f, courant, "origine", libelles.ORIGINES, "entrees")
    barres(origines, f"Entrées selon qui a orienté l'enfant, {f.periode}", "Part des entrées (%)", note(f))
    table_parts(f, origines, "Origine de l'orientation", "entrées", "parcours_origines")

    st.header("Motifs de sortie")
    motifs = repartition(f, courant, "motif_sortie", libelles.MOTIFS_SORTIE, "sorties")
    barres(motifs, f"Sorties par motif, {f.periode}", "Part des sorties (%)", note(f))
    table_parts(f, motifs, "Motif de sortie", "sorties", "parcours_motifs")
    secret_statistique()


page("Parcours", corps)
