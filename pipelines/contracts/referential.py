"""Referentials: PRE sites (the shipped file plus any extra file in `$PRE_HOME/referentiel/`),
and the French territories they belong to (régions and départements, INSEE codes and names)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

from pipelines.common.datahome import DataHome

FOLDER = Path(__file__).with_name("referentiel")
SHIPPED = FOLDER / "sites.csv"
COLUMNS = ["code_pre", "nom", "code_commune", "departement", "region", "porteur"]


def load_sites(home: DataHome | None = None) -> pl.DataFrame:
    """All known sites, one row per code_pre (a later file overrides an earlier one)."""
    home = home or DataHome.from_settings()
    files = [SHIPPED]
    if home.referentiel.is_dir():
        files += sorted(p for p in home.referentiel.glob("*.csv") if not p.name.startswith("."))
    frames = [
        pl.read_csv(f, infer_schema=False, encoding="utf8").select(COLUMNS)
        for f in files
    ]
    return pl.concat(frames).unique(subset="code_pre", keep="last", maintain_order=True).sort("code_pre")


def known_codes(home: DataHome | None = None) -> set[str]:
    return set(load_sites(home)["code_pre"].to_list())


@cache
def regions() -> dict[str, str]:
    """INSEE region code → name (`44` → `Grand Est`)."""
    frame = pl.read_csv(FOLDER / "regions.csv", infer_schema=False)
    return dict(zip(frame["code"].to_list(), frame["nom"].to_list(), strict=True))


@cache
def departements() -> pl.DataFrame:
    """Every département: `code` (2 characters, 3 overseas), `nom`, `region`."""
    return pl.read_csv(FOLDER / "departements.csv", infer_schema=False)


@cache
def departement_names() -> dict[str, str]:
    frame = departements()
    return dict(zip(frame["code"].to_list(), frame["nom"].to_list(), strict=True))
