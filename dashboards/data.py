"""The dashboard's only door to data: the published copy, read-only, through named queries.

Each query is a file of `queries/` run with DuckDB named parameters (never text built from user
input) on a short-lived read-only connection. Results are cached on the published file's
version (path, modification time, size): a new copy, swapped in atomically by `os.replace`,
gives a new version and so fresh results.

The indicators arrive masked in the published copy (`pipelines.publication.disclosure` ran at
publication, on every territory and period at once), so every page and every export hides exactly
the same cells. The few tables that are not yet catalogue indicators (per-partner actions, 6-month
follow-up) are masked here by the same module, on complete frames.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from pipelines.common.datahome import DataHome
from pipelines.publication.disclosure import mask, threshold
from pipelines.publication.published import published_path

QUERIES = Path(__file__).with_name("queries")
QUERY_NAMES = frozenset(p.stem for p in QUERIES.glob("*.sql"))

# Secondary suppression for the tables outside the catalogue, shaped like marts.indicateurs plus a
# `parent` column: the categories of one figure add up, and so do the territories sharing a parent.
INDICATOR_GROUPS = [["indicateur", "niveau", "territoire", "periode"], ["indicateur", "categorie", "periode",
                                                                        "niveau", "parent"]]

Version = tuple[str, int, int]


class NoData(RuntimeError):
    """No published copy yet."""


def home() -> DataHome:
    return DataHome.from_settings()


def published_file() -> Path:
    return published_path(home())


def version() -> Version | None:
    """(path, mtime, size) of the published copy, or None when there is none."""
    path = published_file()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return str(path), stat.st_mtime_ns, stat.st_size


def _current_version() -> Version:
    found = version()
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


def query(name: str, **params: str) -> pl.DataFrame:
    """The result of the named query `queries/<name>.sql` with these parameters."""
    return _run(name, tuple(sorted(params.items())), _current_version())


# --- reference data ---------------------------------------------------------------------------------------


def periods() -> pl.DataFrame:
    return query("periodes")


def sites() -> pl.DataFrame:
    return query("sites")


def completeness() -> pl.DataFrame:
    return query("completude")


def submissions() -> pl.DataFrame:
    return query("depots")


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
    """marts.indicateurs for one period, every territory, as published: masked (+ `parent`, `masque`)."""
    return query("indicateurs_periode", niveau="*", parent="*", periode=period)


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
    """The published (masked) indicators of one territory over several periods."""
    frames = [query("indicateurs_periode", niveau=level, parent=parent(level, territory), periode=p)
              .filter(pl.col("territoire") == territory) for p in periods_]
    return pl.concat(frames) if frames else empty_indicators()


def empty_indicators() -> pl.DataFrame:
    return pl.DataFrame(schema={"indicateur": pl.String, "categorie": pl.String, "niveau": pl.String,
                                "territoire": pl.String, "periode": pl.String, "valeur": pl.Float64,
                                "effectif": pl.Int64, "parent": pl.String, "masque": pl.Boolean})


@st.cache_data(show_spinner=False, max_entries=64)
def _masked_follow_up(period: str, threshold_: int, version_: Version) -> pl.DataFrame:
    df = _run("suivi_6_mois", (("periode", period),), version_)
    return mask(df, values=["valeur"], groups=INDICATOR_GROUPS, threshold=threshold_)


def follow_up_6_months(period: str) -> pl.DataFrame:
    """Coverage of the 6-month follow-up, indicator-shaped, every territory, masked."""
    return _masked_follow_up(period, threshold(), _current_version())


@st.cache_data(show_spinner=False, max_entries=64)
def _masked_partners(period: str, threshold_: int, version_: Version) -> pl.DataFrame:
    df = _run("partenaires", (("periode", period),), version_)
    # Partners of one territory add up to its actions; one partner across the sites of a
    # département adds up to the département's figure for that partner.
    df = mask(df, values=["actions", "n_assiduite", "taux_assiduite", "cout_total"], count_column="actions",
              groups=[["niveau", "territoire"], ["partenaire", "niveau", "parent"]], threshold=threshold_)
    # The attendance rate rests on fewer actions (those with both session counts): its own base.
    small = pl.col("n_assiduite").is_null() | (pl.col("n_assiduite") < threshold_)
    return df.with_columns(masque_taux=pl.col("masque") | small).with_columns(
        taux_assiduite=pl.when(pl.col("masque_taux")).then(None).otherwise(pl.col("taux_assiduite")))


def partners(period: str, level: str, territory: str) -> pl.DataFrame:
    """Actions per partner of one territory (masked; `masque`, `masque_taux`)."""
    df = _masked_partners(period, threshold(), _current_version())
    return df.filter((pl.col("niveau") == level) & (pl.col("territoire") == territory))


def km_curves(period: str, level: str, territory: str) -> pl.DataFrame:
    return query("km_courbes", periode=period, niveau=level, territoire=territory)
