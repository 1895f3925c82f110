"""Warehouse marts (one asset per SQL file) and the dashboard's published copy."""

from __future__ import annotations

import dagster as dg

from pipelines.defs.ingestion import depot, donnees_site, ingestion_job
from pipelines.defs.referential import referentiel_sites
from pipelines.defs.resources import DataHomeResource
from pipelines.paths import SQL_DIR
from pipelines.warehouse import connect, publish, run_sql_file

# Each mart is built by sql/marts/<name>.sql; upstream assets give the lineage shown in the UI.
MART_DEPS = {
    "sites": [referentiel_sites],
    "depots": [depot, donnees_site],
    "parcours": [donnees_site],
    "actions": [donnees_site],
    "bilans": [donnees_site],
    "attentes": [donnees_site],
}


def _description(name: str) -> str:
    first = (SQL_DIR / "marts" / f"{name}.sql").read_text(encoding="utf-8").splitlines()[0]
    return first.removeprefix("--").strip()


def mart_asset(name: str, deps: list) -> dg.AssetsDefinition:
    @dg.asset(name=name, key_prefix="marts", group_name="marts", kinds={"duckdb", "sql"}, deps=deps,
              description=_description(name))
    def _mart(donnees: DataHomeResource) -> dg.MaterializeResult:
        with connect(donnees.home) as con:
            run_sql_file(con, f"marts/{name}.sql")
            # `name` comes from the fixed MART_DEPS keys, never from input.
            count = con.execute(f"select count(*) from marts.{name}").fetchone()[0]
        return dg.MaterializeResult(metadata={"row_count": count, "sql": f"sql/marts/{name}.sql"})

    return _mart


marts = [mart_asset(name, deps) for name, deps in MART_DEPS.items()]


@dg.asset(group_name="publication", kinds={"duckdb"}, deps=marts)
def entrepot_publie(donnees: DataHomeResource) -> dg.MaterializeResult:
    """Copie en lecture seule des marts pour le tableau de bord, remplacée d'un bloc."""
    home = donnees.home
    target = publish(home)
    return dg.MaterializeResult(metadata={
        "fichier": str(target.relative_to(home.root)),
        "taille_octets": target.stat().st_size,
    })


publication_job = dg.define_asset_job(
    "publication", selection=dg.AssetSelection.assets(referentiel_sites, *marts, entrepot_publie),
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


defs = dg.Definitions(assets=[*marts, entrepot_publie], jobs=[publication_job],
                      sensors=[apres_chargement, apres_refus])
