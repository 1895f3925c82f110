"""Qualité des données: what each site sent, when, with which findings; who sent nothing."""

import re
from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

import donnees
import libelles
from affichage import Colonne, en_tete, nom_fichier, page, tableau
from filtres import Filtres
from pipelines.common import formats

TITRE_MARKDOWN = re.compile(r"^(#{1,5}) ", re.MULTILINE)


def rapport(chemin_relatif: str | None) -> str | None:
    """The Markdown report of a submission, read only from the data home's reports folder."""
    if not chemin_relatif:
        return None
    home = donnees.home()
    reports = home.reports.resolve()
    path = (home.root / chemin_relatif).resolve()
    if not path.is_relative_to(reports) or path.suffix != ".md" or not path.is_file():
        return None
    return path.read_text(encoding="utf-8")


def couverture(row: dict, debut: date, fin: date) -> str:
    """Why a site's data in force do or do not cover the period."""
    extraction, depuis = row["date_extraction"], row["date_debut_donnees"]
    if extraction is None:
        return "aucun dépôt accepté"
    if extraction < debut:
        return f"données arrêtées au {formats.day(extraction)}, avant la période"
    if depuis is not None and depuis > fin:
        return f"données commençant le {formats.day(depuis)}, après la période"
    if extraction < fin or (depuis is not None and depuis > debut):
        return "partielle"
    return "complète"


def corps(f: Filtres) -> None:
    en_tete(f)
    periode = donnees.periodes().filter(pl.col("periode") == f.periode).row(0, named=True)
    sites = donnees.sites_du_territoire(f.niveau, f.territoire).select("code_pre", "nom")
    tous = donnees.depots()
    depots = tous.filter(pl.col("code_pre").is_in(sites["code_pre"].implode()) | (
        pl.col("code_pre").is_null() if f.niveau == "national" else pl.lit(False)))
    derniers = depots.sort("recu_le", descending=True).unique("code_pre", keep="first")
    aujourd_hui = date.today()
    etat = (sites.join(derniers, on="code_pre", how="left")
            .join(donnees.dates_extraction().rename({"date_extraction": "extraction_en_vigueur"}),
                  on="code_pre", how="left", suffix="_vigueur")
            .with_columns(statut=pl.col("statut").replace_strict(libelles.STATUTS, default=None),
                          anciennete=pl.col("extraction_en_vigueur").map_elements(
                              lambda d: (aujourd_hui - d).days, return_dtype=pl.Int64))
            .sort("nom"))
    etat = etat.with_columns(couverture=pl.struct(
        date_extraction="extraction_en_vigueur", date_debut_donnees="date_debut_donnees_vigueur").map_elements(
        lambda r: couverture(r, periode["debut"], periode["fin"]), return_dtype=pl.String))

    st.header("Dernier dépôt de chaque site")
    tableau(etat, [Colonne("nom", "Site"), Colonne("code_pre", "Code"), Colonne("fichier", "Dernier dépôt"),
                   Colonne("recu_le", "Reçu le", "date"), Colonne("statut", "Statut"),
                   Colonne("extraction_en_vigueur", "Extraction des données en vigueur", "date"),
                   Colonne("anciennete", "Ancienneté des données (jours)", "entier"),
                   Colonne("couverture", f"Couverture de {f.periode}"),
                   Colonne("nb_bloquants", "Anomalies bloquantes", "entier"),
                   Colonne("nb_avertissements", "Avertissements", "entier")],
            cle="qualite_sites", fichier=nom_fichier(f, "qualite_sites"))
    st.caption(f"Ancienneté : jours écoulés au {formats.day(aujourd_hui)} depuis la date d'extraction des données en "
               "vigueur (dernier dépôt accepté). Anomalies et avertissements : ceux du dernier dépôt reçu.")

    st.header(f"Sites sans données pour {f.periode}")
    absents = etat.filter(~pl.col("couverture").is_in(["complète", "partielle"]))
    if absents.height:
        tableau(absents, [Colonne("nom", "Site"), Colonne("code_pre", "Code"), Colonne("couverture", "Situation")],
                cle="qualite_absents", fichier=nom_fichier(f, "sites_sans_donnees"))
    else:
        st.success("Tous les sites du territoire ont transmis des données couvrant au moins une partie de "
                   f"{f.periode}.")

    st.header("Dépôts reçus et rapports de contrôle")
    depots = depots.join(sites, on="code_pre", how="left").with_columns(
        statut_libelle=pl.col("statut").replace_strict(libelles.STATUTS, default=None))
    tableau(depots, [Colonne("fichier", "Fichier"), Colonne("nom", "Site"), Colonne("recu_le", "Reçu le", "date"),
                     Colonne("statut_libelle", "Statut"), Colonne("date_extraction", "Date d'extraction", "date"),
                     Colonne("nb_bloquants", "Anomalies bloquantes", "entier"),
                     Colonne("nb_avertissements", "Avertissements", "entier"),
                     Colonne("en_vigueur", "En vigueur")],
            cle="qualite_depots", fichier=nom_fichier(f, "depots"))
    if not depots.height:
        st.info("Aucun dépôt reçu pour ce territoire.")
        return
    choix = {r["rapport"] or r["fichier"]: r for r in depots.iter_rows(named=True)}
    cle = st.selectbox("Ouvrir le rapport de contrôle du dépôt", list(choix), key="qualite_rapport",
                       format_func=lambda k: f"{choix[k]['fichier']} — reçu le {formats.day(choix[k]['recu_le'])} — "
                                             f"{libelles.STATUTS.get(choix[k]['statut'], choix[k]['statut'])}")
    texte = rapport(choix[cle]["rapport"])
    if texte is None:
        st.warning("Le rapport de ce dépôt est introuvable dans le dossier des rapports.")
        return
    st.download_button("Télécharger le rapport (Markdown)", texte.encode("utf-8"), on_click="ignore",
                       file_name=Path(choix[cle]["rapport"]).name, mime="text/markdown", key="qualite_rapport_md")
    with st.container(border=True):
        # One level down, so that the page keeps its own title; `$` is not a formula here.
        st.markdown(TITRE_MARKDOWN.sub(r"#\1 ", texte).replace("$", "\\$"))


page("Qualité des données", corps)
