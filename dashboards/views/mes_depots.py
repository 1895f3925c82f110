"""Mes dépôts (/mes-depots): the person's sites' submissions, newest first, with their verdict and
report; files sent through the portal and not yet handled show as « en attente »."""

import polars as pl
import streamlit as st

import access
import data
from display import page, report_viewer
from pipelines.access import portal
from pipelines.common import formats
from pipelines.publication import editions

# The statuses as access.md words them.
STATUSES = {"accepte": "accepté", "refuse": "refusé", "ignore": "ignoré"}


def body(_) -> None:
    person = access.current()
    if person.role not in ("site", "exploitant"):
        st.error("Cette page est réservée aux coordinations des PRE.")
        return
    home = data.home()
    try:
        received = access.keep_own_submissions(data.query("mes_depots", source_=editions.LIVE))
    except data.NoData:
        received = pl.DataFrame(schema={"fichier": pl.String, "sha256": pl.String, "code_pre": pl.String})
    handled = set(received["sha256"].to_list()) if "sha256" in received.columns else set()
    waiting = [r for r in portal.pending(home, handled) if person.role == "exploitant" or r["code_pre"] in person.codes]
    if received.is_empty() and not waiting:
        st.info("Aucun dépôt reçu pour vos sites. Déposez un fichier depuis la page « Déposer un fichier ».")
        return
    in_force = {}
    if not received.is_empty():
        for row in received.filter(pl.col("en_vigueur")).iter_rows(named=True):
            in_force[row["code_pre"]] = row["date_extraction"]
    rows = [{"Fichier": r["fichier"], "Site": r["code_pre"], "Reçu le": r["recu_le"][:19].replace("T", " "),
             "Envoyé par": r["depose_par"], "Statut": r["statut"], "Données en vigueur au": ""} for r in waiting]
    for r in received.iter_rows(named=True):
        rows.append({"Fichier": r["fichier"], "Site": r["code_pre"] or "illisible",
                     "Reçu le": formats.day(r["recu_le"]), "Envoyé par": r["depose_par"] or "autre canal",
                     "Statut": STATUSES.get(r["statut"], r["statut"]),
                     "Données en vigueur au": formats.day(in_force.get(r["code_pre"]))
                     if in_force.get(r["code_pre"]) else ""})
    # A plain table (a site's submissions are few): readable by screen readers and searchable in the page.
    st.table(pl.DataFrame(rows).to_pandas().set_index("Fichier"))
    if waiting:
        st.caption("« en attente » : le fichier est dans la boîte de dépôt ; son contrôle suit dans quelques "
                   "secondes. « accepté, chargement en cours » puis « accepté, publication à venir » : le "
                   "rapport est prêt, les chiffres qui incluent le dépôt paraîtront à la prochaine publication.")
    # Reports: those of the files just checked first, then those of the published submissions.
    readable = [{"fichier": r["fichier"], "recu_le": r["recu_le"][:10], "statut": r["statut"],
                 "rapport": r["rapport"]} for r in waiting if r["rapport"]]
    if "rapport" in received.columns:
        readable += [{"fichier": r["fichier"], "recu_le": str(r["recu_le"])[:10], "statut": r["statut"],
                      "rapport": r["rapport"]} for r in received.iter_rows(named=True)]
    if not readable:
        return
    report_viewer(pl.DataFrame(readable, schema={c: pl.String for c in ("fichier", "recu_le", "statut", "rapport")}),
                  label="Ouvrir le rapport de contrôle", key="mes_depots_rapport")

page("Mes dépôts", body, filters=False)
