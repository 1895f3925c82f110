"""The indicator catalogue (`catalogue_indicateurs.yaml`): codes, French labels, definitions,
display kinds, category sets and the SQL file computing each indicator.

The norms some indicators are measured against live beside it (`normes.yaml`). It is the single
source of the indicators' SQL (`pipelines.warehouse.models` assembles
`marts.indicateurs` from the files it names), of the dashboard's labels, of the methodology page
and of the tests. Category sets are either a code list of the data contracts (codes and labels
come from there) or written in the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from pipelines.contracts.model import load_contracts

CATALOGUE = Path(__file__).with_name("catalogue_indicateurs.yaml")
NORMS = Path(__file__).with_name("normes.yaml")
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
    nature: str  # compte | part | autre (statistical disclosure control)
    base: str | None  # shared population of the effectif (E, C, A, S, demandes), None when its own
    base_par_categorie: bool = False  # each category has its own base (requests per structure…)
    somme_categories: bool = False  # the categories' numerators add up to the base
    numerateur_de: str | None = None  # "indicateur:categorie" whose numerator is the same count
    # 95 % interval (borne_basse, borne_haute): "wilson" (a share, count over effectif: computed from valeur
    # and effectif), "kaplan_meier" (given by the indicator's SQL file), None (NULL bounds)
    intervalle: str | None = None

    def category_values(self) -> list[str]:
        return list(catalogue_categories()[self.categories]) if self.categories else [""]


@cache
def _raw() -> dict:
    return yaml.safe_load(CATALOGUE.read_text(encoding="utf-8"))


def catalogue() -> list[Indicator]:
    return [Indicator(**entry) for entry in _raw()["indicateurs"]]


@cache
def catalogue_categories() -> dict[str, dict[str, str]]:
    """Each category set: code → French label, in display order."""
    contracts = load_contracts()
    return {name: contracts.code_list(labels) if isinstance(labels, str) else {str(k): v for k, v in labels.items()}
            for name, labels in _raw()["categories"].items()}


def indicator(code: str) -> Indicator:
    return next(i for i in catalogue() if i.code == code)


def indicator_files() -> list[str]:
    """The SQL files named by the catalogue (relative to `sql/`), each producing one or more indicators."""
    return list(dict.fromkeys(i.sql for i in catalogue()))


@cache
def norms() -> dict[str, dict]:
    """The referential of norms: name → {libelle, valeur, unite}."""
    return yaml.safe_load(NORMS.read_text(encoding="utf-8"))
