"""Sidebar filters (figures: an edition or the live copy; period type, period, level, territory), kept
in the URL so a view can be shared.

The URL is never trusted: every value is checked against the periods and territories the published
copy knows, and an unknown value falls back to the default. Within a session the widgets lead;
the URL and a session mirror (which survives pages without filters) are rewritten after each run.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import streamlit as st

import access
import data
import labels

# The URL's query parameters (users see them in shared links: French, unchanged).
PARAMS = ("edition", "type", "periode", "niveau", "territoire")
MIRROR = "_filters"
WIDGET = {param: f"filter_{param}" for param in PARAMS}
LEVEL_ORDER = ("national", "region", "departement", "pre")


@dataclass(frozen=True)
class Filters:
    source: str  # an edition's name, or editions.LIVE
    period_type: str
    period: str
    level: str
    territory: str
    periods: tuple[str, ...]  # every period of the chosen type, oldest first

    @property
    def label(self) -> str:
        return territory_label(self.level, self.territory)

    def upper(self) -> tuple[str, str] | None:
        """The upper level containing the territory (a site's département, …), None for France."""
        return upper_level(self.level, self.territory)


def site_names() -> dict[str, str]:
    df = data.sites()
    return dict(zip(df["code_pre"].to_list(), df["nom"].to_list(), strict=True))


def territory_label(level: str, territory: str) -> str:
    return labels.territory(level, territory, site_names() if level == "pre" else None)


def upper_level(level: str, territory: str) -> tuple[str, str] | None:
    if level == "national":
        return None
    if level == "region":
        return "national", "FR"
    sites = data.sites()
    if level == "departement":
        regions = sites.filter(pl.col("departement") == territory)["region"].drop_nulls().unique().to_list()
        return ("region", regions[0]) if len(regions) == 1 else ("national", "FR")
    row = sites.filter(pl.col("code_pre") == territory)
    if row.height and row["departement"][0]:
        return "departement", row["departement"][0]
    return "national", "FR"


def territories_by_level() -> dict[str, list[str]]:
    """The territories indicators exist for, per level (from marts.completude)."""
    df = data.completeness().select("niveau", "territoire").unique()  # the person's perimeter only
    found = {level: sorted(df.filter(pl.col("niveau") == level)["territoire"].to_list()) for level in LEVEL_ORDER}
    return {level: codes for level, codes in found.items() if codes}


def _exists(level: str, territory: str) -> bool:
    """Is this a territory the published figures know (whoever may see it)?"""
    known = data.query("completude").select("niveau", "territoire").unique()
    return known.filter((pl.col("niveau") == level) & (pl.col("territoire") == territory)).height > 0


def periods_by_type() -> dict[str, list[str]]:
    df = data.periods()
    found = {t: df.filter(pl.col("type_periode") == t)["periode"].to_list() for t in labels.PERIOD_TYPES}
    return {t: p for t, p in found.items() if p}


def default_period(periods: list[str]) -> str:
    """The latest period complete at national level, else the latest one."""
    complete = data.completeness().filter((pl.col("niveau") == "national") & pl.col("complet"))
    complete = set(complete["periode"].to_list())
    candidates = [p for p in periods if p in complete]
    return (candidates or periods)[-1]


def _from_url() -> dict[str, str]:
    out = {}
    for param in PARAMS:
        value = st.query_params.get(param)
        if isinstance(value, str) and value:
            out[param] = value
    return out


def _initialise(param: str, options: list[str], wanted: str | None, default: str) -> None:
    """Give a widget its starting value: its own state if still valid, else the URL's, else the default.

    Always assigned, even when unchanged: a widget created by another page's script does not take
    over the previous page's widget value, but it does take a value set through session state.
    """
    key = WIDGET[param]
    current = st.session_state.get(key)
    st.session_state[key] = current if current in options else wanted if wanted in options else default


def sidebar() -> Filters:
    """Draw the filters in the sidebar and return the validated choice."""
    wanted = {**st.session_state.get(MIRROR, {}), **_from_url()}
    sources = data.sources()
    _initialise("edition", list(sources), wanted.get("edition"), next(iter(sources)))
    with st.sidebar:
        source = st.selectbox("Chiffres", list(sources), key=WIDGET["edition"], format_func=sources.__getitem__,
                              help="Une édition est figée : ses chiffres ne bougent plus. Les données en continu "
                                   "changent à chaque dépôt accepté.")
    st.session_state[data.SOURCE] = source
    by_type = periods_by_type()
    by_level = territories_by_level()
    if not by_type or not by_level:
        raise data.NoData
    if not st.session_state.get(WIDGET["type"]) and wanted.get("periode"):
        # A period given in the URL decides the period type.
        for type_, periods in by_type.items():
            if wanted["periode"] in periods:
                wanted["type"] = type_

    asked = wanted.get("territoire")
    if asked and asked not in by_level.get(wanted.get("niveau", ""), []) and not access.visible(
            wanted.get("niveau", ""), asked) and _exists(wanted.get("niveau", ""), asked):
        # A link naming a territory outside the perimeter: say so, show nothing of it.
        access.record("acces_refuse", page="territoire hors périmètre", niveau=wanted.get("niveau", ""))
        raise access.OutsidePerimeter(asked)
    types = list(by_type)
    _initialise("type", types, wanted.get("type"), "civile" if "civile" in types else types[0])
    with st.sidebar:
        st.header("Filtres")
        period_type = st.radio("Type de période", types, key=WIDGET["type"],
                               format_func=labels.PERIOD_TYPES.__getitem__)
        periods = by_type[period_type]
        _initialise("periode", periods, wanted.get("periode"), default_period(periods))
        period = st.selectbox("Période", periods, key=WIDGET["periode"])

        levels = list(by_level)
        _initialise("niveau", levels, wanted.get("niveau"), levels[0])
        level = st.selectbox("Niveau territorial", levels, key=WIDGET["niveau"],
                             format_func=labels.LEVELS.__getitem__)
        codes = by_level[level]
        names = site_names()
        _initialise("territoire", codes, wanted.get("territoire"), codes[0])
        # Never disabled, even with one choice: a disabled field's faint label fails contrast (RGAA 3.2).
        territory = st.selectbox("Territoire", codes, key=WIDGET["territoire"],
                                 format_func=lambda code: labels.territory(level, code, names))
        st.caption("Le lien de la page garde ces choix : copiez-le pour partager cette vue.")

    choice = {"edition": source, "type": period_type, "periode": period, "niveau": level, "territoire": territory}
    st.session_state[MIRROR] = choice
    if _from_url() != choice:
        st.query_params.from_dict(choice)
    return Filters(source, period_type, period, level, territory, tuple(periods))
