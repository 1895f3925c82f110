"""The warehouse's asset checks, visible on each mart in the Dagster UI (Assets → a mart → Checks) and run by the
publication job after the models are built. What each guards: `pipelines/warehouse/checks.py`. The blocking
ones, on failure, stop the run before `entrepot_publie`: the published copy in force stays."""

import dagster as dg

from pipelines import settings
from pipelines.contracts.model import DATA_TABLES
from pipelines.defs.resources import DataHomeResource
from pipelines.defs.warehouse import asset_key
from pipelines.warehouse import checks, models
from pipelines.warehouse.store import connect

MARTS = sorted(m.key.partition(".")[2] for m in models.registry().values() if m.schema == "marts")


def _spec(name: str, mart: str, description: str, blocking: bool = True) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset=asset_key(f"marts.{mart}"), blocking=blocking, description=description)


SPECS = [
    _spec("indicateurs_coherents", "indicateurs", "Une ligne par clé ; parts entre 0 et 100 ; compte égal à son "
          "effectif ; intervalle autour de sa valeur."),
    _spec("lignes_conformes_au_registre", "depots", "Les lignes en vigueur de chaque site sont celles que le "
          "registre des dépôts a comptées au chargement."),
    *[_spec("cles_uniques", t, f"Un seul enregistrement par identifiant et par site dans marts.{t}.")
      for t in DATA_TABLES],
    *[_spec("aucun_identifiant_en_clair", m, "Identifiants pseudonymisés ; aucune adresse électronique, aucun "
            "numéro de téléphone, NIR ou INE en clair.") for m in MARTS],
    _spec("volume_stable", "depots", "Signale un site dont le nombre de parcours a diminué de moitié ou doublé "
          "d'un dépôt au suivant (avertissement).", blocking=False),
    _spec("fraicheur_des_sites", "depots", "Signale un site dont les données en vigueur ont été extraites il y a "
          "plus de PRE_FRAICHEUR_JOURS jours (avertissement).", blocking=False),
]


def _result(spec: dg.AssetCheckSpec, outcome: checks.Outcome) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.ERROR if spec.blocking else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(asset_key=spec.asset_key, check_name=spec.name, passed=outcome.passed,
                               severity=severity, description=outcome.message,
                               metadata={"resultat": outcome.message, **outcome.metadata})


@dg.multi_asset_check(specs=SPECS, can_subset=True, name="controles_entrepot")
def warehouse_checks(context: dg.AssetCheckExecutionContext, data_home: DataHomeResource):
    """Every selected check, on one connection (one step: a step per check would pay a connection each)."""
    wanted = context.selected_asset_check_keys
    max_days = settings.load().FRAICHEUR_JOURS
    with connect(data_home.home) as con:
        for spec in SPECS:
            if spec.key not in wanted:
                continue
            mart = spec.asset_key.path[-1]
            if spec.name == "indicateurs_coherents":
                outcome = checks.indicators_consistent(con)
            elif spec.name == "lignes_conformes_au_registre":
                outcome = checks.rows_match_ledger(con)
            elif spec.name == "cles_uniques":
                outcome = checks.unique_keys(con, mart)
            elif spec.name == "aucun_identifiant_en_clair":
                outcome = checks.no_clear_identifier(con, mart)
            elif spec.name == "volume_stable":
                outcome = checks.volume_stable(con)
            else:
                outcome = checks.sites_fresh(con, max_days)
            yield _result(spec, outcome)


defs = dg.Definitions(asset_checks=[warehouse_checks])
