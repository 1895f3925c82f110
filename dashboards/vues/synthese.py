"""Synthèse: the funders' landing page — key figures, their trend, the upper level beside them."""

import polars as pl
import streamlit as st

import donnees
from affichage import (
    Colonne,
    comparaison,
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
from pipelines.warehouse.catalogue import indicator

CHIFFRES_CLES = ["enfants_suivis", "entrees", "sorties", "duree_moyenne_mois", "part_qpv",
                 "actions_par_enfant", "taux_assiduite", "cout_par_enfant",
                 "part_sorties_objectifs_atteints", "part_sorties_relais"]
PAR_LIGNE = 5


def corps(f: Filtres) -> None:
    en_tete(f)
    rang = f.periodes.index(f.periode)
    precedente = f.periodes[rang - 1] if rang > 0 else None
    courant = donnees.indicateurs_territoire(f.niveau, f.territoire, [f.periode])
    avant = donnees.indicateurs_territoire(f.niveau, f.territoire, [precedente] if precedente else [])

    st.header("Chiffres clés")
    masques = 0
    for debut in range(0, len(CHIFFRES_CLES), PAR_LIGNE):
        for colonne, code in zip(st.columns(PAR_LIGNE), CHIFFRES_CLES[debut:debut + PAR_LIGNE], strict=False):
            row = ligne(courant, code)
            masques += bool(row and row["masque"])
            with colonne:
                metrique(indicator(code), row, ligne(avant, code))
    st.caption(note(f, masques=masques, precedente=precedente))

    sup = comparaison(f)
    st.header(f"Comparaison avec {sup[2]}" if sup else "Tableau des chiffres clés")
    haut = donnees.indicateurs_territoire(sup[0], sup[1], [f.periode]) if sup else donnees.indicateurs_vide()
    rows = []
    for code in CHIFFRES_CLES:
        ind, row, row_sup = indicator(code), ligne(courant, code), ligne(haut, code)
        rows.append({"indicateur": ind.libelle, "unite": ind.unite, "format": ind.format,
                     "valeur": row and row["valeur"], "effectif": row and row["effectif"],
                     "masque": bool(row and row["masque"]),
                     "valeur_sup": row_sup and row_sup["valeur"], "effectif_sup": row_sup and row_sup["effectif"],
                     "masque_sup": bool(row_sup and row_sup["masque"])})
    colonnes = [Colonne("indicateur", "Indicateur"), Colonne("unite", "Unité"),
                Colonne("valeur", f.libelle, "*", "masque"), Colonne("effectif", "Effectif", "entier", "masque")]
    if sup:
        colonnes += [Colonne("valeur_sup", sup[2], "*", "masque_sup"),
                     Colonne("effectif_sup", f"Effectif ({sup[2]})", "entier", "masque_sup")]
    tableau(pl.DataFrame(rows, infer_schema_length=None), colonnes, cle="synthese_comparaison",
            fichier=nom_fichier(f, "synthese"), notes=[note(f)])

    st.header("Évolution")
    code = st.selectbox("Indicateur", CHIFFRES_CLES, format_func=lambda c: indicator(c).libelle,
                        key="synthese_indicateur")
    ind = indicator(code)
    series = [(f.niveau, f.territoire, f.libelle)] + ([sup] if sup else [])
    df = evolution(series, f.periodes, [code])
    graphique(courbe(df, titre=f"{ind.libelle} par période", axe_y=f"{ind.libelle} ({ind.unite})",
                     fmt=ind.format),
              note(f, f.periodes, masques=int(df["masque"].sum())))
    with st.expander("Données du graphique"):
        tableau(df, [Colonne("periode", "Période"), Colonne("serie", "Territoire"),
                     Colonne("valeur", f"{ind.libelle} ({ind.unite})", ind.format, "masque"),
                     Colonne("effectif", "Effectif", "entier", "masque"), Colonne("donnees", "Données")],
                cle="synthese_evolution", fichier=nom_fichier(f, f"evolution_{code}"), notes=[note(f, f.periodes)])
    secret_statistique()


page("Synthèse", corps)
