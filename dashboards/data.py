"""The dashboard's only door to data: the published copy, read-only, through named queries.

Each query is a file of `queries/` run with DuckDB named parameters (never text built from user
input) on a short-lived read-only connection. Results are cached on the published file's
version (path, modification time, size): a new copy, swapped in atomically by `os.replace`,
gives a new version and so fresh results.

The indicators arrive masked in the published copy (`pipelines.publication.disclosure` ran at
publication, on every territory and period at once), so every page and every export hides exactly
the same cells: this module never masks nor computes a figure itself.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

import access
from pipelines import settings
from pipelines.common import formats
from pipelines.common.datahome import DataHome
from pipelines.publication import editions
from pipelines.publication.published import own_site_indicators, own_sites_path, published_path

QUERIES = Path(__file__).with_name("queries")
QUERY_NAMES = frozenset(p.stem for p in QUERIES.glob("*.sql"))

Version = tuple[str, int, int]


class NoData(RuntimeError):
    """No published copy yet."""


def home() -> DataHome:
    """The data home of the settings in force. Reading the settings parses the environment (about 9 ms); a
    page asks for the home once per query, hundreds of times: it is read again only when a `PRE_` variable
    changed."""
    return _home_for(tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(settings.PREFIX))))


@functools.lru_cache(maxsize=4)
def _home_for(environment: tuple[tuple[str, str], ...]) -> DataHome:
    return DataHome.from_settings()


# The figures shown: a frozen edition (the default, the latest one) or the live, provisional copy.
SOURCE = "_source"


def sources() -> dict[str, str]:
    """Every choice of figures, newest edition first, then the live copy: name → French label."""
    found = {e["nom"]: f"Édition {e['nom']} (figée le {formats.day(e['cree_le'][:10])})"
             for e in editions.list_editions(home())}
    return found | {editions.LIVE: LIVE_LABEL}


LIVE_LABEL = "Données en continu (provisoires)"


def source() -> str:
    """The figures chosen in this session (checked again: an edition may have been chosen from a URL)."""
    chosen = st.session_state.get(SOURCE)
    known = sources()
    return chosen if chosen in known else next(iter(known))


def published_file(name: str | None = None) -> Path:
    """The database of the chosen figures (an edition's frozen copy, or the live published copy)."""
    chosen = name or source()
    if chosen != editions.LIVE:
        try:
            return editions.edition_file(home(), chosen)
        except editions.EditionError:
            pass
    return published_path(home())


def version(name: str | None = None) -> Version | None:
    """(path, mtime, size) of the chosen figures' database, or None when there is none."""
    path = published_file(name)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return str(path), stat.st_mtime_ns, stat.st_size


def _current_version(name: str | None = None) -> Version:
    found = version(name)
    if found is None:
        raise NoData
    return found


@st.cache_data(show_spinner=False, max_entries=512)
def _run(name: str, params: tuple[tuple[str, str], ...], version_: Version) -> pl.DataFrame:
    if name not in QUERY_NAMES:
        raise KeyError(name)
    sql = (QUERIES / f"{name}.sql").read_text(encoding="utf-8")
    con = duckdb.connect(version_[0], read_only=True)
    try:
        return con.sql(sql, params=dict(params)).pl()
    finally:
        con.close()


def query(name: str, *, source_: str | None = None, **params: str) -> pl.DataFrame:
    """The result of the named query `queries/<name>.sql` with these parameters, on the chosen figures
    (or on `source_`: an edition's name, or `editions.LIVE`)."""
    return _run(name, tuple(sorted(params.items())), _current_version(source_))


# --- reference data ---------------------------------------------------------------------------------------


def periods() -> pl.DataFrame:
    return query("periodes")


def sites() -> pl.DataFrame:
    return query("sites")


def completeness() -> pl.DataFrame:
    """Completeness of the territories the person may see."""
    return access.keep_visible(query("completude"))


def submissions() -> pl.DataFrame:
    """The submissions of the sites whose status and reports the person may see."""
    return access.keep_own_submissions(query("depots"))


def extraction_dates() -> pl.DataFrame:
    return query("dates_extraction")


def territory_sites(level: str, territory: str) -> pl.DataFrame:
    """The referential's sites belonging to a territory."""
    df = sites()
    if level == "national":
        return df
    column = {"pre": "code_pre", "departement": "departement", "region": "region"}[level]
    return df.filter(pl.col(column) == territory)


# --- masked figures ---------------------------------------------------------------------------------------


def indicators(period: str) -> pl.DataFrame:
    """marts.indicateurs for one period, every territory the person may see, as published: masked
    (+ `parent`, `masque`)."""
    return with_bounds(access.keep_visible(query("indicateurs_periode", niveau="*", parent="*", periode=period)))


BOUNDS = ("borne_basse", "borne_haute")


def with_bounds(df: pl.DataFrame) -> pl.DataFrame:
    """The indicator rows with their interval columns (null in figures published before the intervals)."""
    missing = [pl.lit(None, pl.Float64).alias(c) for c in BOUNDS if c not in df.columns]
    return df.with_columns(missing) if missing else df


def parent(level: str, territory: str) -> str:
    """The territory whose figure pools this one's and its siblings' (as `indicateurs_periode.sql`)."""
    if level == "national":
        return ""
    if level == "region":
        return "FR"
    column, upper = {"pre": ("code_pre", "departement"), "departement": ("departement", "region")}[level]
    found = sites().filter(pl.col(column) == territory)[upper].drop_nulls()
    return found[0] if found.len() else ""


def territory_indicators(level: str, territory: str, periods_: list[str]) -> pl.DataFrame:
    """The published (masked) indicators of one territory over several periods; a coordinator's own
    site, on the live figures, unmasked (see `shows_unmasked`)."""
    if not access.visible(level, territory):
        return empty_indicators()
    frames = [with_bounds(query("indicateurs_periode", niveau=level, parent=parent(level, territory), periode=p))
              .filter(pl.col("territoire") == territory) for p in periods_]
    out = pl.concat(frames).select(empty_indicators().columns) if frames else empty_indicators()
    if shows_unmasked(level, territory) and not out.is_empty():
        own = with_bounds(_own_site(territory, _own_version()).filter(pl.col("periode").is_in(periods_)))
        out = (out.drop("valeur", "effectif", "masque", "borne_basse", "borne_haute")
               .join(own.select("indicateur", "categorie", "periode", "valeur", "effectif", "borne_basse",
                                "borne_haute"),
                     on=["indicateur", "categorie", "periode"], how="left")
               .with_columns(pl.lit(False).alias("masque"))
               .select(empty_indicators().columns))
    return out


def shows_unmasked(level: str, territory: str) -> bool:
    """A site's coordinator sees its own site's live figures unmasked, on that site's pages only."""
    return access.unmasked(level, territory) and source() == editions.LIVE and own_sites_path(home()).exists()


def _own_version() -> Version:
    stat = own_sites_path(home()).stat()
    return str(own_sites_path(home())), stat.st_mtime_ns, stat.st_size


@st.cache_data(show_spinner=False, max_entries=64)
def _own_site(code_pre: str, version_: Version) -> pl.DataFrame:
    return own_site_indicators(home(), code_pre)


def empty_indicators() -> pl.DataFrame:
    return pl.DataFrame(schema={"indicateur": pl.String, "categorie": pl.String, "niveau": pl.String,
                                "territoire": pl.String, "periode": pl.String, "valeur": pl.Float64,
                                "effectif": pl.Int64, "parent": pl.String, "masque": pl.Boolean,
                                "borne_basse": pl.Float64, "borne_haute": pl.Float64})


def km_curves(period: str, level: str, territory: str) -> pl.DataFrame:
    if not access.visible(level, territory):
        return query("km_courbes", periode=period, niveau=level, territoire=territory).clear()
    return query("km_courbes", periode=period, niveau=level, territoire=territory)


WAITS_SCHEMA = {"code_pre": pl.String, "type_action": pl.String, "structure": pl.String, "fenetre": pl.String,
                "premiere_action": pl.Date, "debut": pl.Date, "fin": pl.Date, "complete": pl.Boolean,
                "demandes": pl.Int64, "valeur": pl.Float64, "borne_basse": pl.Float64, "borne_haute": pl.Float64,
                "masque": pl.Boolean}


def waits_around_action(code_pre: str) -> pl.DataFrame | None:
    """The published (masked) waits around each evaluated action's first appearance at one site
    (`marts.attentes_autour_action`); empty outside the perimeter; None in figures published before the table
    existed (an older edition)."""
    if not access.visible("pre", code_pre):
        return pl.DataFrame(schema=WAITS_SCHEMA)
    try:
        return query("attentes_autour_action", code_pre=code_pre)
    except duckdb.CatalogException:
        return None


def report(relative_path: str | None) -> str | None:
    """The Markdown report of a submission, read only from the data home's reports folder."""
    if not relative_path:
        return None
    reports = home().reports.resolve()
    path = (home().root / relative_path).resolve()
    if not path.is_relative_to(reports) or path.suffix != ".md" or not path.is_file():
        return None
    return path.read_text(encoding="utf-8")
