"""Actions et partenariats: actions per strand and per partner, attendance, cost per child."""

import altair as alt
import polars as pl
import streamlit as st

import donnees
import libelles
from affichage import Colonne, en_tete, graphique, ligne, metrique, nom_fichier, note, page, secret_statistique, tableau
from filtres import Filtres
from pipelines.warehouse.catalogue import catalogue_categories, indicator

CHIFFRES = ["actions_par_enfant", "taux_assiduite", "cout_par_enfant"]


def barres(df: pl.DataFrame, titre: str, legende: str) -> None:
    shown = df.filter(~pl.col("masque"))
    if not shown.height:
        st.info("Graphique non affiché : toutes les valeurs sont soumises au secret statistique.")
        return
    chart = alt.Chart(shown).mark_bar().encode(
        x=alt.X("actions:Q", title="Nombre d'actions engagées"),
        y=alt.Y("libelle:N", title=None, sort="-x", axis=alt.Axis(labelLimit=240)),
        tooltip=[alt.Tooltip("libelle:N", title="Catégorie"), alt.Tooltip("actions:Q", title="Actions", format=",d")],
    ).properties(title=titre, height=max(120, 28 * shown.height))
    graphique(chart, legende)


def corps(f: Filtres) -> None:
    en_tete(f)
    courant = donnees.indicateurs_territoire(f.niveau, f.territoire, [f.periode])
    rang = f.periodes.index(f.periode)
    precedente = f.periodes[rang - 1] if rang > 0 else None
    avant = donnees.indicateurs_territoire(f.niveau, f.territoire, [precedente] if precedente else [])

    st.header("Chiffres clés")
    for colonne, code in zip(st.columns(len(CHIFFRES)), CHIFFRES, strict=True):
        with colonne:
            metrique(indicator(code), ligne(courant, code), ligne(avant, code))
    masques = sum(bool((r := ligne(courant, c)) and r["masque"]) for c in CHIFFRES)
    st.caption(note(f, masques=masques, precedente=precedente)
               + " Actions commencées pendant la période ; coûts non renseignés ignorés.")

    st.header("Actions par volet")
    volets = pl.DataFrame([{"libelle": nom, "actions": row and row["valeur"], "masque": bool(row and row["masque"])}
                           for code, nom in catalogue_categories()["volets"].items()
                           for row in [ligne(courant, "actions", code)]],
                          schema={"libelle": pl.String, "actions": pl.Float64, "masque": pl.Boolean})
    legende = note(f, masques=int(volets["masque"].sum()))
    barres(volets, f"Actions engagées par volet, {f.periode}", legende)
    tableau(volets, [Colonne("libelle", "Volet"), Colonne("actions", "Actions engagées", "entier", "masque")],
            cle="actions_volets", fichier=nom_fichier(f, "actions_volets"), notes=[legende])

    st.header("Partenaires")
    st.write(f"Les partenaires avec lesquels {f.libelle} a engagé des actions pendant la période {f.periode}, "
             "avec le nombre d'actions, l'assiduité (séances réalisées rapportées aux séances prévues) et leur coût.")
    partenaires = donnees.partenaires(f.periode, f.niveau, f.territoire).with_columns(
        libelle=pl.col("partenaire").replace_strict(libelles.PARTENAIRES, default=pl.col("partenaire")),
    ).sort([pl.col("masque"), pl.col("actions")], descending=[False, True], nulls_last=True)
    if not partenaires.height:
        st.info("Aucune action commencée pendant la période pour ce territoire.")
    else:
        legende = note(f, masques=int(partenaires["masque"].sum()))
        barres(partenaires, f"Actions engagées par type de partenaire, {f.periode}", legende)
        tableau(partenaires, [Colonne("libelle", "Partenaire"),
                              Colonne("actions", "Actions engagées", "entier", "masque"),
                              Colonne("taux_assiduite", "Taux d'assiduité (%)", "pourcentage", "masque_taux"),
                              Colonne("cout_total", "Coût total (€)", "euros", "masque")],
                cle="actions_partenaires", fichier=nom_fichier(f, "actions_partenaires"), notes=[legende])
        st.caption("Le taux d'assiduité d'un partenaire n'est affiché que s'il repose sur assez d'actions dont les "
                   "séances prévues et réalisées sont renseignées.")
    secret_statistique()


page("Actions et partenariats", corps)
