"""The indicator catalogue (`catalogue_indicateurs.yaml`): codes, French labels, definitions,
display kinds, category sets and the SQL file computing each indicator.

The norms some indicators are measured against live beside it (`normes.yaml`), and so does the
referential of evaluated action types (`actions_evaluees.yaml`: each type with its related care
services). It is the single
source of the indicators' SQL (`pipelines.warehouse.models` assembles
`marts.indicateurs` from the files it names), of the dashboard's labels, of the methodology page
and of the tests. Category sets are either a code list of the data contracts (codes and labels
come from there), written in the catalogue, the product of two sets (`{produit: [a, b]}`: codes
`"<a>:<b>"`, labels `"<label a> — <label b>"`, a-major order), or the evaluated action types
(`{actions_evaluees: <contract list>}`: the referential's types, labelled by that list).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipelines.common import yamlfile
from pipelines.contracts.model import load_contracts

CATALOGUE = Path(__file__).with_name("catalogue_indicateurs.yaml")
NORMS = Path(__file__).with_name("normes.yaml")
EVALUATED_ACTIONS = Path(__file__).with_name("actions_evaluees.yaml")
PRODUCT_SEPARATOR = ":"  # code of a product set's category: "<first>:<second>"
PRODUCT_LABEL_SEPARATOR = " — "
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
    # On a product set (a × b): the indicator of which this one's effectif is a part: for each category "a:b",
    # the effectifs of the indicators naming the same X add up to X's effectif at category b.
    partie_de: str | None = None
    # The categories' effectifs add up to that indicator's effectif (same territory and period): the actions
    # whose attendance is known, per action type or partner, make those of taux_assiduite.
    somme_effectifs: str | None = None
    ajout: bool = False  # added by the project (indicators.md lets it add indicators to the catalogue)

    def category_values(self) -> list[str]:
        return list(catalogue_categories()[self.categories]) if self.categories else [""]


@cache
def _raw() -> dict:
    return yamlfile.load(CATALOGUE)


def catalogue() -> list[Indicator]:
    return [Indicator(**entry) for entry in _raw()["indicateurs"]]


@cache
def catalogue_categories() -> dict[str, dict[str, str]]:
    """Each category set: code → French label, in display order."""
    contracts = load_contracts()
    sets: dict[str, dict[str, str]] = {}
    pending = dict(_raw()["categories"])
    while pending:
        for name, labels in list(pending.items()):
            if isinstance(labels, str):
                sets[name] = contracts.code_list(labels)
            elif isinstance(labels, dict) and set(labels) == {"produit"}:
                first, second = labels["produit"]
                if first not in sets or second not in sets:
                    continue  # after its factors
                sets[name] = {f"{a}{PRODUCT_SEPARATOR}{b}": f"{la}{PRODUCT_LABEL_SEPARATOR}{lb}"
                              for a, la in sets[first].items() for b, lb in sets[second].items()}
            elif isinstance(labels, dict) and set(labels) == {"actions_evaluees"}:
                listed = contracts.code_list(labels["actions_evaluees"])
                unknown = [t for t in evaluated_actions() if t not in listed]
                if unknown:
                    raise ValueError(f"{EVALUATED_ACTIONS.name} : types d'action inconnus : {', '.join(unknown)}")
                structures = contracts.code_list("attentes.structure")
                unknown = sorted({s for ss in evaluated_actions().values() for s in ss} - set(structures))
                if unknown:
                    raise ValueError(f"{EVALUATED_ACTIONS.name} : structures inconnues : {', '.join(unknown)}")
                sets[name] = {t: listed[t] for t in evaluated_actions()}
            else:
                sets[name] = {str(k): v for k, v in labels.items()}
            del pending[name]
    order = list(_raw()["categories"])
    return {name: sets[name] for name in order}


def product_factors(name: str) -> tuple[str, str] | None:
    """The two sets of a product category set, None for another set."""
    labels = _raw()["categories"].get(name)
    if isinstance(labels, dict) and set(labels) == {"produit"}:
        first, second = labels["produit"]
        return first, second
    return None


def indicator(code: str) -> Indicator:
    return next(i for i in catalogue() if i.code == code)


def indicator_files() -> list[str]:
    """The SQL files named by the catalogue (relative to `sql/`), each producing one or more indicators."""
    return list(dict.fromkeys(i.sql for i in catalogue()))


@cache
def evaluated_actions() -> dict[str, list[str]]:
    """The referential of evaluated action types: type_action → its related care services (structures of
    attentes.structure), in the referential's order."""
    raw = yamlfile.load(EVALUATED_ACTIONS) or {}
    return {str(t): [str(s) for s in entry["structures"]] for t, entry in raw.items()}


@cache
def norms() -> dict[str, dict]:
    """The referential of norms: name → {libelle, valeur, unite}."""
    return yamlfile.load(NORMS)
