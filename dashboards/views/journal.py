"""Journal des accès (/journal): sign-ins, refusals, pages, downloads and portal actions; operators only."""

import json

import polars as pl
import streamlit as st

import access
import data
from display import dataframe, page
from pipelines.access.journal import read_journal

LIMIT = 2000


def body(_) -> None:
    if access.current().role != "exploitant":
        st.error("Cette page est réservée à l'exploitant de la plateforme.")
        return
    events = read_journal(data.home(), limit=LIMIT)
    if not events:
        st.info("Le journal des accès est vide.")
        return
    df = pl.DataFrame([{"horodatage": e.get("horodatage", ""), "email": e.get("email", ""),
                        "role": e.get("role", ""), "evenement": e.get("evenement", ""),
                        "detail": json.dumps(e.get("detail", {}), ensure_ascii=False)} for e in events])
    kinds = sorted(df["evenement"].unique().to_list())
    chosen = st.multiselect("Événements", kinds, default=kinds, key="journal_evenements")
    shown = df.filter(pl.col("evenement").is_in(chosen))
    st.caption(f"{shown.height} événement(s), les plus récents d'abord (au plus {LIMIT}).")
    dataframe(shown.rename({"horodatage": "Horodatage (UTC)", "email": "Adresse", "role": "Rôle",
                            "evenement": "Événement", "detail": "Détail"}))


page("Journal des accès", body, filters=False)
