"""Listes d'attente: Kaplan–Meier waiting curves per structure, median wait, seen within 90 days, backlog."""

import altair as alt
import polars as pl
import streamlit as st

import donnees
from affichage import Colonne, en_tete, graphique, ligne, nom_fichier, note, page, secret_statistique, tableau
from filtres import Filtres
from pipelines.publication.disclosure import threshold
from pipelines.warehouse.catalogue import catalogue_categories

COLONNES = {"demandes_attente": ("Demandes de la période", "entier"),
            "attente_mediane_jours": ("Attente médiane (jours)", "entier"),
            "part_rdv_sous_90_jours": ("Rendez-vous sous 90 jours (%)", "pourcentage"),
            "en_attente_fin_periode": ("En attente en fin de période", "entier")}

CENSURE = (
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


def par_structure(courant: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for code, nom in catalogue_categories()["structures"].items():
        row = {"code": code, "structure": nom}
        for indicateur in COLONNES:
            found = ligne(courant, indicateur, code)
            row[indicateur] = found and found["valeur"]
            row[f"masque_{indicateur}"] = bool(found and found["masque"])
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def courbes(f: Filtres, structures: pl.DataFrame) -> pl.DataFrame:
    """KM curves of the structures whose figures are shown, cut where fewer requests than the threshold remain."""
    visibles = structures.filter(~pl.col("masque_demandes_attente") & (pl.col("demandes_attente") > 0))
    noms = dict(zip(visibles["code"].to_list(), visibles["structure"].to_list(), strict=True))
    df = donnees.km_courbes(f.periode, f.niveau, f.territoire).filter(
        pl.col("structure").is_in(list(noms)) & (pl.col("n_a_risque") >= threshold()))
    depart = pl.DataFrame({"structure": list(noms), "jours": [0] * len(noms), "survie": [1.0] * len(noms)},
                          schema={"structure": pl.String, "jours": pl.Int64, "survie": pl.Float64})
    return (pl.concat([depart, df.select("structure", "jours", "survie")])
            .with_columns(nom=pl.col("structure").replace_strict(noms, default=None),
                          part=100 * pl.col("survie"))
            .sort("structure", "jours"))


def corps(f: Filtres) -> None:
    en_tete(f)
    courant = donnees.indicateurs_territoire(f.niveau, f.territoire, [f.periode])
    structures = par_structure(courant)
    masques = sum(int(structures[f"masque_{c}"].sum()) for c in COLONNES)
    legende = note(f, masques=masques)

    st.header("Par structure")
    tableau(structures, [Colonne("structure", "Structure"),
                         *(Colonne(c, label, fmt, f"masque_{c}") for c, (label, fmt) in COLONNES.items())],
            cle="attentes_structures", fichier=nom_fichier(f, "attentes"), notes=[legende])
    st.caption(legende + " « — » : non calculé (médiane non atteinte, aucune demande, ou période se terminant "
               "après la date d'extraction d'un site pour les enfants en attente en fin de période). "
               "Attente médiane et part sous 90 jours : estimations de Kaplan-Meier.")

    st.header("Courbes d'attente (Kaplan-Meier)")
    st.info(CENSURE)
    df = courbes(f, structures)
    if df.height:
        base = alt.Chart(df).encode(
            x=alt.X("jours:Q", title="Jours depuis la demande"),
            y=alt.Y("part:Q", title="Demandes encore sans rendez-vous (%)", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("nom:N", title="Structure"),
            tooltip=[alt.Tooltip("nom:N", title="Structure"), alt.Tooltip("jours:Q", title="Jours"),
                     alt.Tooltip("part:Q", title="Sans rendez-vous (%)", format=".1f")])
        seuil_90 = alt.Chart(pl.DataFrame({"jours": [90]})).mark_rule(strokeDash=[4, 4], color="gray").encode(
            x="jours:Q")
        chart = (base.mark_line(interpolate="step-after") + seuil_90).properties(
            title=f"Part des demandes de {f.periode} encore sans premier rendez-vous, selon l'attente", height=380)
        graphique(chart, legende + " Les courbes s'arrêtent lorsque moins de "
                  f"{threshold()} demandes restent en attente (secret statistique) ; trait pointillé : 90 jours.")
    else:
        st.info("Aucune courbe affichable pour ce choix : pas de demande pendant la période, ou effectifs soumis "
                "au secret statistique.")
    secret_statistique()


page("Listes d'attente", corps)
