"""The dashboard's only door to data: the published copy, read-only, through named queries.

Each query is a file of `requetes/` run with DuckDB named parameters (never text built from user
input) on a short-lived read-only connection. Results are cached on the published file's
version (path, modification time, size): a new copy, swapped in atomically by `os.replace`,
gives a new version and so fresh results.

Figures meant for funders leave this module already masked (`pipelines.publication.disclosure`): the masking
is applied to complete frames (every territory of a period) so that every page and every export
hides exactly the same cells.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import streamlit as st

from pipelines.common.datahome import DataHome
from pipelines.publication.disclosure import CATEGORY_GROUP, COMPARISON_GROUP, mask, threshold
from pipelines.publication.published import published_path

REQUETES = Path(__file__).with_name("requetes")
NOMS = frozenset(p.stem for p in REQUETES.glob("*.sql"))

# Secondary suppression for frames shaped like marts.indicateurs plus a `parent` column: the
# categories of one figure add up, and so do the territories sharing a parent (the sites of a
# département add up to the département's figure, the départements to their région's…).
GROUPES_INDICATEURS = [list(CATEGORY_GROUP), [*COMPARISON_GROUP, "parent"]]

Version = tuple[str, int, int]


class AucuneDonnee(RuntimeError):
    """No published copy yet."""


def home() -> DataHome:
    return DataHome.from_settings()


def chemin() -> Path:
    return published_path(home())


def version() -> Version | None:
    """(path, mtime, size) of the published copy, or None when there is none."""
    path = chemin()
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return str(path), stat.st_mtime_ns, stat.st_size


def _version() -> Version:
    found = version()
    if found is None:
        raise AucuneDonnee
    return found


@st.cache_data(show_spinner=False, max_entries=512)
def _executer(nom: str, params: tuple[tuple[str, str], ...], version_: Version) -> pl.DataFrame:
    if nom not in NOMS:
        raise KeyError(nom)
    sql = (REQUETES / f"{nom}.sql").read_text(encoding="utf-8")
    con = duckdb.connect(version_[0], read_only=True)
    try:
        return con.sql(sql, params=dict(params)).pl()
    finally:
        con.close()


def requete(nom: str, **params: str) -> pl.DataFrame:
    """The result of the named query `requetes/<nom>.sql` with these parameters."""
    return _executer(nom, tuple(sorted(params.items())), _version())


# --- reference data ---------------------------------------------------------------------------------------


def periodes() -> pl.DataFrame:
    return requete("periodes")


def sites() -> pl.DataFrame:
    return requete("sites")


def completude() -> pl.DataFrame:
    return requete("completude")


def depots() -> pl.DataFrame:
    return requete("depots")


def dates_extraction() -> pl.DataFrame:
    return requete("dates_extraction")


def sites_du_territoire(niveau: str, territoire: str) -> pl.DataFrame:
    """The referential's sites belonging to a territory."""
    df = sites()
    if niveau == "national":
        return df
    column = {"pre": "code_pre", "departement": "departement", "region": "region"}[niveau]
    return df.filter(pl.col(column) == territoire)


# --- masked figures ---------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=128)
def _indicateurs_masques(periode: str, seuil_: int, version_: Version) -> pl.DataFrame:
    df = _executer("indicateurs_periode", (("niveau", "*"), ("parent", "*"), ("periode", periode)), version_)
    return mask(df, values=["valeur"], groups=GROUPES_INDICATEURS, threshold=seuil_)


def indicateurs(periode: str) -> pl.DataFrame:
    """marts.indicateurs for one period, every territory, masked (columns + `parent`, `masque`)."""
    return _indicateurs_masques(periode, threshold(), _version())


def parent(niveau: str, territoire: str) -> str:
    """The territory whose figure pools this one's and its siblings' (as `indicateurs_periode.sql`)."""
    if niveau == "national":
        return ""
    if niveau == "region":
        return "FR"
    column, upper = {"pre": ("code_pre", "departement"), "departement": ("departement", "region")}[niveau]
    found = sites().filter(pl.col(column) == territoire)[upper].drop_nulls()
    return found[0] if found.len() else ""


@st.cache_data(show_spinner=False, max_entries=256)
def _famille_masquee(periode: str, niveau: str, parent_: str, seuil_: int, version_: Version) -> pl.DataFrame:
    df = _executer("indicateurs_periode", (("niveau", niveau), ("parent", parent_), ("periode", periode)),
                   version_)
    return mask(df, values=["valeur"], groups=GROUPES_INDICATEURS, threshold=seuil_)


def indicateurs_territoire(niveau: str, territoire: str, periodes_: list[str]) -> pl.DataFrame:
    """The masked indicators of one territory over several periods.

    Both groupings of the secondary suppression stay within one level and one parent (the
    categories of one territory; the territories sharing a parent), so masking the territory's
    family (its level, its parent) hides exactly the cells that masking the whole period hides,
    for a fraction of the work: a national time series no longer masks every site of France for
    each period. `tests/integration/test_dashboard_pages.py` checks the pages against whole-period masking.
    """
    family = parent(niveau, territoire)
    frames = [_famille_masquee(p, niveau, family, threshold(), _version()).filter(pl.col("territoire") == territoire)
              for p in periodes_]
    return pl.concat(frames) if frames else indicateurs_vide()


def indicateurs_vide() -> pl.DataFrame:
    return pl.DataFrame(schema={"indicateur": pl.String, "categorie": pl.String, "niveau": pl.String,
                                "territoire": pl.String, "periode": pl.String, "valeur": pl.Float64,
                                "effectif": pl.Int64, "parent": pl.String, "masque": pl.Boolean})


@st.cache_data(show_spinner=False, max_entries=64)
def _suivi_masque(periode: str, seuil_: int, version_: Version) -> pl.DataFrame:
    df = _executer("suivi_6_mois", (("periode", periode),), version_)
    return mask(df, values=["valeur"], groups=GROUPES_INDICATEURS, threshold=seuil_)


def suivi_6_mois(periode: str) -> pl.DataFrame:
    """Coverage of the 6-month follow-up, indicator-shaped, every territory, masked."""
    return _suivi_masque(periode, threshold(), _version())


@st.cache_data(show_spinner=False, max_entries=64)
def _partenaires_masques(periode: str, seuil_: int, version_: Version) -> pl.DataFrame:
    df = _executer("partenaires", (("periode", periode),), version_)
    # Partners of one territory add up to its actions; one partner across the sites of a
    # département adds up to the département's figure for that partner.
    df = mask(df, values=["actions", "n_assiduite", "taux_assiduite", "cout_total"], count_column="actions",
                 groups=[["niveau", "territoire"], ["partenaire", "niveau", "parent"]], threshold=seuil_)
    # The attendance rate rests on fewer actions (those with both session counts): its own base.
    small = pl.col("n_assiduite").is_null() | (pl.col("n_assiduite") < seuil_)
    return df.with_columns(masque_taux=pl.col("masque") | small).with_columns(
        taux_assiduite=pl.when(pl.col("masque_taux")).then(None).otherwise(pl.col("taux_assiduite")))


def partenaires(periode: str, niveau: str, territoire: str) -> pl.DataFrame:
    """Actions per partner of one territory (masked; `masque`, `masque_taux`)."""
    df = _partenaires_masques(periode, threshold(), _version())
    return df.filter((pl.col("niveau") == niveau) & (pl.col("territoire") == territoire))


def repartitions(periode: str, niveau: str, territoire: str) -> pl.DataFrame:
    """Counts of entries per referral source and of exits per reason (unmasked: callers show shares)."""
    return requete("repartitions", periode=periode, niveau=niveau, territoire=territoire)


def km_courbes(periode: str, niveau: str, territoire: str) -> pl.DataFrame:
    return requete("km_courbes", periode=periode, niveau=niveau, territoire=territoire)
