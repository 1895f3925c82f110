"""The indicator catalogue and the SQL layers that compute `marts.indicateurs`.

Layers, each a folder of `sql/`: staging (views on the snapshots in force) → intermediate
(periods, territories, pathway-periods, waiting-time samples, Kaplan–Meier curves) → the
indicator files named by the catalogue, assembled into `marts.indicateurs` → completeness.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import yaml

from pipelines.paths import SQL_DIR

CATALOGUE = Path(__file__).with_name("catalogue_indicateurs.yaml")

# Build order of the SQL files (dependencies first).
STAGING = ("sites_en_vigueur", "parcours", "actions", "bilans", "attentes")
INTERMEDIATE = ("periodes", "territoires_sites", "grille", "enfants", "parcours_periodes", "enfants_suivis",
                "attentes_periodes", "km_courbes")
MARTS = ("periodes", "completude", "km_courbes")
LEVELS = ("pre", "departement", "region", "national")


@dataclass(frozen=True)
class Indicator:
    code: str
    libelle: str
    definition: str
    unite: str
    categories: str | None
    effectif: str
    format: str
    sens: str
    theme: str
    sql: str

    def category_values(self) -> list[str]:
        return list(catalogue_categories()[self.categories]) if self.categories else [""]


@cache
def _raw() -> dict:
    return yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))


def catalogue() -> list[Indicator]:
    return [Indicator(**entry) for entry in _raw()["indicateurs"]]


def catalogue_categories() -> dict[str, dict[str, str]]:
    return {name: {str(k): v for k, v in labels.items()} for name, labels in _raw()["categories"].items()}


def indicator(code: str) -> Indicator:
    return next(i for i in catalogue() if i.code == code)


def run_file(con: duckdb.DuckDBPyConnection, relative: str) -> None:
    con.execute((SQL_DIR / relative).read_text(encoding="utf-8"))


def build_staging(con: duckdb.DuckDBPyConnection) -> None:
    for name in STAGING:
        run_file(con, f"staging/{name}.sql")


def build_intermediate(con: duckdb.DuckDBPyConnection) -> None:
    for name in INTERMEDIATE:
        run_file(con, f"intermediate/{name}.sql")


def indicator_files() -> list[str]:
    """The SQL files named by the catalogue, each producing the rows of one or more indicators."""
    return list(dict.fromkeys(i.sql for i in catalogue()))


def build_indicator_table(con: duckdb.DuckDBPyConnection) -> None:
    """`marts.indicateurs`: the union of the catalogue's files, restricted to catalogue codes."""
    parts = [f"select * from ({(SQL_DIR / f).read_text(encoding='utf-8')})" for f in indicator_files()]
    codes = [i.code for i in catalogue()]
    con.execute("create or replace temp table indicateurs_calcules as " + "\nunion all\n".join(parts))
    con.execute("""
        create or replace table marts.indicateurs as
        select
            cast(indicateur as varchar) as indicateur,
            cast(categorie as varchar) as categorie,
            cast(niveau as varchar) as niveau,
            cast(territoire as varchar) as territoire,
            cast(periode as varchar) as periode,
            cast(valeur as double) as valeur,
            cast(effectif as bigint) as effectif
        from indicateurs_calcules
        where indicateur in (select unnest(?))
        order by indicateur, niveau, territoire, periode, categorie
    """, [codes])


def build_marts(con: duckdb.DuckDBPyConnection) -> None:
    for name in MARTS:
        run_file(con, f"marts/{name}.sql")


def build_indicators(con: duckdb.DuckDBPyConnection) -> None:
    """Everything from the snapshots in force (`ingestion.*`) to `marts.indicateurs`."""
    build_staging(con)
    build_intermediate(con)
    build_indicator_table(con)
    build_marts(con)
