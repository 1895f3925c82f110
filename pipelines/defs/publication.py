"""Warehouse marts (one asset per SQL file) and the dashboard's published copy."""

from __future__ import annotations

import dagster as dg

from pipelines import indicators, mesures
from pipelines.defs.ingestion import depot, donnees_site, ingestion_job
from pipelines.defs.referential import referentiel_sites
from pipelines.defs.resources import DataHomeResource
from pipelines.paths import SQL_DIR
from pipelines.warehouse import connect, publish, run_sql_file

# Each SQL file is run by one asset; upstream assets give the lineage shown in the UI.
MART_DEPS = {
    "sites": [referentiel_sites],
    "depots": [depot, donnees_site],
    "parcours": [donnees_site],
    "actions": [donnees_site],
    "bilans": [donnees_site],
    "attentes": [donnees_site],
}


def _description(relative: str) -> str:
    first = (SQL_DIR / relative).read_text(encoding="utf-8").splitlines()[0]
    return first.removeprefix("--").strip()


def sql_asset(layer: str, name: str, deps: list, group: str) -> dg.AssetsDefinition:
    """An asset that runs sql/<layer>/<name>.sql in the warehouse."""
    relative = f"{layer}/{name}.sql"
    prefix = {"staging": "staging", "intermediate": "intermediaire", "marts": "marts"}[layer]

    @dg.asset(name=name, key_prefix=prefix, group_name=group, kinds={"duckdb", "sql"}, deps=deps,
              description=_description(relative))
    def _run(donnees: DataHomeResource) -> dg.MaterializeResult:
        with connect(donnees.home) as con, mesures.chrono("marts"):
            run_sql_file(con, relative)
            # `prefix` and `name` come from this module's fixed lists, never from input.
            count = con.execute(f"select count(*) from {prefix}.{name}").fetchone()[0]
        return dg.MaterializeResult(metadata={"row_count": count, "sql": f"sql/{relative}"})

    return _run


marts = [sql_asset("marts", name, deps, "marts") for name, deps in MART_DEPS.items()]

stg = {name: sql_asset("staging", name, [donnees_site] + ([referentiel_sites] if name == "sites_en_vigueur" else []),
                       "indicateurs") for name in indicators.STAGING}
INTERMEDIATE_DEPS = {
    "periodes": ["parcours", "sites_en_vigueur"],
    "territoires_sites": ["sites_en_vigueur"],
    "grille": ["territoires_sites", "periodes"],
    "enfants": ["parcours"],
    "parcours_periodes": ["parcours", "periodes"],
    "enfants_suivis": ["parcours_periodes", "territoires_sites"],
    "attentes_periodes": ["attentes", "sites_en_vigueur", "periodes"],
    "km_courbes": ["attentes_periodes", "territoires_sites"],
}
inter: dict[str, dg.AssetsDefinition] = {}
for _name in indicators.INTERMEDIATE:
    inter[_name] = sql_asset("intermediate", _name,
                             [inter.get(d) or stg[d] for d in INTERMEDIATE_DEPS[_name]], "indicateurs")


@dg.asset(name="indicateurs", key_prefix="marts", group_name="indicateurs", kinds={"duckdb", "sql"},
          deps=[*inter.values(), stg["actions"], stg["bilans"], stg["attentes"]])
def marts_indicateurs(donnees: DataHomeResource) -> dg.MaterializeResult:
    """Indicateurs du catalogue pour chaque période, territoire et catégorie (valeurs non arrondies)."""
    with connect(donnees.home) as con, mesures.chrono("marts"):
        indicators.build_indicator_table(con)
        counts = con.execute("select count(*), count(distinct indicateur), count(distinct periode) "
                             "from marts.indicateurs").fetchone()
    return dg.MaterializeResult(metadata={
        "row_count": counts[0], "indicateurs": counts[1], "periodes": counts[2],
        "catalogue": "pipelines/catalogue_indicateurs.yaml",
    })


indicator_marts = [
    marts_indicateurs,
    sql_asset("marts", "periodes", [inter["periodes"]], "indicateurs"),
    sql_asset("marts", "completude", [inter["territoires_sites"], inter["periodes"]], "indicateurs"),
    sql_asset("marts", "km_courbes", [inter["km_courbes"]], "indicateurs"),
]
indicator_assets = [*stg.values(), *inter.values(), *indicator_marts]


@dg.asset(group_name="publication", kinds={"duckdb"}, deps=[*marts, *indicator_marts])
def entrepot_publie(donnees: DataHomeResource) -> dg.MaterializeResult:
    """Copie en lecture seule des marts pour le tableau de bord, remplacée d'un bloc."""
    home = donnees.home
    with mesures.chrono("publication"):
        target = publish(home)
    return dg.MaterializeResult(metadata={
        "fichier": str(target.relative_to(home.root)),
        "taille_octets": target.stat().st_size,
    })


publication_job = dg.define_asset_job(
    "publication",
    selection=dg.AssetSelection.assets(referentiel_sites, *marts, *indicator_assets, entrepot_publie),
    description="Reconstruit les marts et publie la copie du tableau de bord.")


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[ingestion_job],
                      request_job=publication_job, default_status=dg.DefaultSensorStatus.RUNNING,
                      description="Après un chargement réussi : reconstruit les marts et publie.")
def apres_chargement(context: dg.RunStatusSensorContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"apres-{context.dagster_run.run_id}")


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.FAILURE, monitored_jobs=[ingestion_job],
                      request_job=publication_job, default_status=dg.DefaultSensorStatus.RUNNING,
                      description="Après un dépôt refusé : publie quand même, pour que le refus et son "
                                  "rapport soient visibles dans la vue de qualité des données.")
def apres_refus(context: dg.RunStatusSensorContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=f"apres-{context.dagster_run.run_id}")


defs = dg.Definitions(assets=[*marts, *indicator_assets, entrepot_publie], jobs=[publication_job],
                      sensors=[apres_chargement, apres_refus])
