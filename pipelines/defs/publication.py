"""The dashboard's published copy, and the job that rebuilds the warehouse's models and publishes."""

from __future__ import annotations

import dagster as dg

from pipelines.common import timings
from pipelines.defs.ingestion import ingestion_job
from pipelines.defs.referential import referentiel_sites
from pipelines.defs.resources import DataHomeResource
from pipelines.defs.warehouse import asset_key, model_assets
from pipelines.publication.published import publish
from pipelines.warehouse import models


@dg.asset(group_name="publication", kinds={"duckdb"},
          deps=[asset_key(m.key) for m in models.registry().values() if m.schema == "marts"])
def entrepot_publie(data_home: DataHomeResource) -> dg.MaterializeResult:
    """Copie en lecture seule des marts pour le tableau de bord, remplacée d'un bloc."""
    home = data_home.home
    with timings.measure("publication"):
        target = publish(home)
    return dg.MaterializeResult(metadata={
        "fichier": str(target.relative_to(home.root)),
        "taille_octets": target.stat().st_size,
    })


publication_job = dg.define_asset_job(
    "publication",
    selection=dg.AssetSelection.assets(referentiel_sites, *model_assets, entrepot_publie),
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


defs = dg.Definitions(assets=[entrepot_publie], jobs=[publication_job], sensors=[apres_chargement, apres_refus])
