"""Qualité des données: what each site sent, when, with which findings; who sent nothing."""

from datetime import date

import polars as pl
import streamlit as st

import access
import data
import labels
from display import Column, download_stem, header, page, report_viewer, table
from filters import Filters
from pipelines.common import formats


def coverage(row: dict, start: date, end: date) -> str:
    """Why a site's data in force do or do not cover the period."""
    extraction, since = row["date_extraction"], row["date_debut_donnees"]
    if extraction is None:
        return "aucun dépôt accepté"
    if extraction < start:
        return f"données arrêtées au {formats.day(extraction)}, avant la période"
    if since is not None and since > end:
        return f"données commençant le {formats.day(since)}, après la période"
    if extraction < end or (since is not None and since > start):
        return "partielle"
    return "complète"


def body(f: Filters) -> None:
    header(f)
    period = data.periods().filter(pl.col("periode") == f.period).row(0, named=True)
    # A site's status (its submissions, the date of its data, its coverage) is shown only to those who may
    # see its submissions (access.md): the listed sites are cut to the person's perimeter first.
    sites = access.keep_own_submissions(data.territory_sites(f.level, f.territory).select("code_pre", "nom"))
    every_submission = data.submissions()
    submissions = every_submission.filter(pl.col("code_pre").is_in(sites["code_pre"].implode()) | (
        pl.col("code_pre").is_null() if f.level == "national" else pl.lit(False)))
    latest = submissions.sort("recu_le", descending=True).unique("code_pre", keep="first")
    today = date.today()
    state = (sites.join(latest, on="code_pre", how="left")
             .join(data.extraction_dates().rename({"date_extraction": "extraction_in_force"}),
                   on="code_pre", how="left", suffix="_in_force")
             .with_columns(statut=pl.col("statut").replace_strict(labels.STATUSES, default=None),
                           age_days=pl.col("extraction_in_force").map_elements(
                               lambda d: (today - d).days, return_dtype=pl.Int64))
             .sort("nom"))
    state = state.with_columns(coverage=pl.struct(
        date_extraction="extraction_in_force", date_debut_donnees="date_debut_donnees_in_force").map_elements(
        lambda r: coverage(r, period["debut"], period["fin"]), return_dtype=pl.String))

    st.header("Dernier dépôt de chaque site")
    table(state, [Column("nom", "Site"), Column("code_pre", "Code"), Column("fichier", "Dernier dépôt"),
                  Column("recu_le", "Reçu le", "date"), Column("statut", "Statut"),
                  Column("extraction_in_force", "Extraction des données en vigueur", "date"),
                  Column("age_days", "Ancienneté des données (jours)", "entier"),
                  Column("coverage", f"Couverture de {f.period}"),
                  Column("nb_bloquants", "Anomalies bloquantes", "entier"),
                  Column("nb_avertissements", "Avertissements", "entier")],
          key="qualite_sites", file_stem=download_stem(f, "qualite_sites"))
    st.caption(f"Ancienneté : jours écoulés au {formats.day(today)} depuis la date d'extraction des données en "
               "vigueur (dernier dépôt accepté). Anomalies et avertissements : ceux du dernier dépôt reçu.")

    st.header(f"Sites sans données pour {f.period}")
    missing = state.filter(~pl.col("coverage").is_in(["complète", "partielle"]))
    if missing.height:
        table(missing, [Column("nom", "Site"), Column("code_pre", "Code"), Column("coverage", "Situation")],
              key="qualite_absents", file_stem=download_stem(f, "sites_sans_donnees"))
    else:
        st.success("Tous les sites du territoire ont transmis des données couvrant au moins une partie de "
                   f"{f.period}.")

    st.header("Dépôts reçus et rapports de contrôle")
    submissions = submissions.join(sites, on="code_pre", how="left").with_columns(
        status_label=pl.col("statut").replace_strict(labels.STATUSES, default=None))
    table(submissions, [Column("fichier", "Fichier"), Column("nom", "Site"), Column("recu_le", "Reçu le", "date"),
                        Column("status_label", "Statut"), Column("date_extraction", "Date d'extraction", "date"),
                        Column("nb_bloquants", "Anomalies bloquantes", "entier"),
                        Column("nb_avertissements", "Avertissements", "entier"),
                        Column("en_vigueur", "En vigueur")],
          key="qualite_depots", file_stem=download_stem(f, "depots"))
    if not submissions.height:
        st.info("Aucun dépôt reçu pour ce territoire.")
        return
    report_viewer(submissions, label="Ouvrir le rapport de contrôle du dépôt", key="qualite_report")

page("Qualité des données", body)
