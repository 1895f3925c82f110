"""Sidebar filters (period type, period, level, territory), kept in the URL so a view can be shared.

The URL is never trusted: every value is checked against the periods and territories the published
copy knows, and an unknown value falls back to the default. Within a session the widgets lead;
the URL and a session mirror (which survives pages without filters) are rewritten after each run.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import streamlit as st

import donnees
import libelles

CLES = ("type", "periode", "niveau", "territoire")
MIROIR = "_filtres"
WIDGET = {cle: f"filtre_{cle}" for cle in CLES}
ORDRE_NIVEAUX = ("national", "region", "departement", "pre")


@dataclass(frozen=True)
class Filtres:
    type_periode: str
    periode: str
    niveau: str
    territoire: str
    periodes: tuple[str, ...]  # every period of the chosen type, oldest first

    @property
    def libelle(self) -> str:
        return libelle_territoire(self.niveau, self.territoire)

    def superieur(self) -> tuple[str, str] | None:
        """The upper level containing the territory (a site's département, …), None for France."""
        return niveau_superieur(self.niveau, self.territoire)


def noms_sites() -> dict[str, str]:
    df = donnees.sites()
    return dict(zip(df["code_pre"].to_list(), df["nom"].to_list(), strict=True))


def libelle_territoire(niveau: str, territoire: str) -> str:
    return libelles.territoire(niveau, territoire, noms_sites() if niveau == "pre" else None)


def niveau_superieur(niveau: str, territoire: str) -> tuple[str, str] | None:
    if niveau == "national":
        return None
    if niveau == "region":
        return "national", "FR"
    sites = donnees.sites()
    if niveau == "departement":
        regions = sites.filter(pl.col("departement") == territoire)["region"].drop_nulls().unique().to_list()
        return ("region", regions[0]) if len(regions) == 1 else ("national", "FR")
    row = sites.filter(pl.col("code_pre") == territoire)
    if row.height and row["departement"][0]:
        return "departement", row["departement"][0]
    return "national", "FR"


def territoires_par_niveau() -> dict[str, list[str]]:
    """The territories indicators exist for, per level (from marts.completude)."""
    df = donnees.completude().select("niveau", "territoire").unique()
    found = {n: sorted(df.filter(pl.col("niveau") == n)["territoire"].to_list()) for n in ORDRE_NIVEAUX}
    return {n: codes for n, codes in found.items() if codes}


def periodes_par_type() -> dict[str, list[str]]:
    df = donnees.periodes()
    found = {t: df.filter(pl.col("type_periode") == t)["periode"].to_list() for t in libelles.TYPES_PERIODE}
    return {t: p for t, p in found.items() if p}


def periode_par_defaut(periodes: list[str]) -> str:
    """The latest period complete at national level, else the latest one."""
    complete = donnees.completude().filter((pl.col("niveau") == "national") & pl.col("complet"))
    complete = set(complete["periode"].to_list())
    candidates = [p for p in periodes if p in complete]
    return (candidates or periodes)[-1]


def _depuis_url() -> dict[str, str]:
    out = {}
    for cle in CLES:
        value = st.query_params.get(cle)
        if isinstance(value, str) and value:
            out[cle] = value
    return out


def _initialiser(cle: str, options: list[str], voulu: str | None, defaut: str) -> None:
    """Give a widget its starting value: its own state if still valid, else the URL's, else the default.

    Always assigned, even when unchanged: a widget created by another page's script does not take
    over the previous page's widget value, but it does take a value set through session state.
    """
    key = WIDGET[cle]
    current = st.session_state.get(key)
    st.session_state[key] = current if current in options else voulu if voulu in options else defaut


def barre_laterale() -> Filtres:
    """Draw the filters in the sidebar and return the validated choice."""
    par_type = periodes_par_type()
    par_niveau = territoires_par_niveau()
    if not par_type or not par_niveau:
        raise donnees.AucuneDonnee
    voulu = {**st.session_state.get(MIROIR, {}), **_depuis_url()}
    if not st.session_state.get(WIDGET["type"]) and voulu.get("periode"):
        # A period given in the URL decides the period type.
        for type_, periodes in par_type.items():
            if voulu["periode"] in periodes:
                voulu["type"] = type_

    types = list(par_type)
    _initialiser("type", types, voulu.get("type"), "civile" if "civile" in types else types[0])
    with st.sidebar:
        st.header("Filtres")
        type_periode = st.radio("Type de période", types, key=WIDGET["type"],
                                format_func=libelles.TYPES_PERIODE.__getitem__)
        periodes = par_type[type_periode]
        _initialiser("periode", periodes, voulu.get("periode"), periode_par_defaut(periodes))
        periode = st.selectbox("Période", periodes, key=WIDGET["periode"])

        niveaux = list(par_niveau)
        _initialiser("niveau", niveaux, voulu.get("niveau"), niveaux[0])
        niveau = st.selectbox("Niveau territorial", niveaux, key=WIDGET["niveau"],
                              format_func=libelles.NIVEAUX.__getitem__)
        codes = par_niveau[niveau]
        noms = noms_sites()
        _initialiser("territoire", codes, voulu.get("territoire"), codes[0])
        territoire = st.selectbox("Territoire", codes, key=WIDGET["territoire"],
                                  format_func=lambda code: libelles.territoire(niveau, code, noms),
                                  disabled=len(codes) == 1)
        st.caption("Le lien de la page garde ces choix : copiez-le pour partager cette vue.")

    choix = {"type": type_periode, "periode": periode, "niveau": niveau, "territoire": territoire}
    st.session_state[MIROIR] = choix
    if _depuis_url() != choix:
        st.query_params.from_dict(choix)
    return Filtres(type_periode, periode, niveau, territoire, tuple(periodes))
