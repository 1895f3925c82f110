"""The dashboard's published copy, and the job that rebuilds the warehouse's models and publishes."""

from __future__ import annotations

import time

import dagster as dg
import duckdb

from pipelines import settings
from pipelines.common import timings
from pipelines.defs.ingestion import ingestion_job
from pipelines.defs.referential import referentiel_sites
from pipelines.defs.resources import DataHomeResource
from pipelines.defs.run_tags import INTERRUPTED_TAG
from pipelines.defs.warehouse import asset_key, model_assets
from pipelines.publication.published import publish
from pipelines.warehouse import models


@dg.asset(group_name="publication", kinds={"duckdb"},
          deps=[asset_key(m.key) for m in models.registry().values() if m.schema == "marts"])
def entrepot_publie(data_home: DataHomeResource) -> dg.MaterializeResult:
    """Copie en lecture seule des marts pour le tableau de bord, remplacée d'un bloc."""
    home = data_home.home
    before = timings.snapshot()["phases"]
    target = publish(home)
    spent = {name: seconds - before[name] for name, seconds in timings.snapshot()["phases"].items()}
    con = duckdb.connect(str(target), read_only=True)
    try:
        rows = con.execute("select count(*) from marts.indicateurs").fetchone()[0]
    finally:
        con.close()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "fichier": str(target.relative_to(home.root)),
        "taille_octets": target.stat().st_size,
        # Where the step's time went (the live-path benchmark reads these).
        "secret_statistique_s": round(spent["secret"], 2),
        "copie_publiee_s": round(spent["publication"], 2),
    })


publication_job = dg.define_asset_job(
    "publication",
    selection=dg.AssetSelection.assets(referentiel_sites, *model_assets, entrepot_publie),
    # One process: the steps share one DuckDB writer anyway, and a subprocess per step cost
    # about 3 s of imports each (25 steps), most of a publication's time through the daemon.
    executor_def=dg.in_process_executor,
    description="Reconstruit les marts et publie la copie du tableau de bord.")


IMPLICIT_JOB = "__ASSET_JOB"  # Dagster's name for the runs the UI launches by materialising assets
_ACTIVE = {dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
           dg.DagsterRunStatus.STARTED}


@dg.sensor(job=publication_job, minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Publication groupée : après des dépôts traités (acceptés ou refusés), au plus une "
                       "publication par intervalle (PRE_INTERVALLE_PUBLICATION_MIN, 15 minutes par défaut), "
                       "jamais une par fichier quand plusieurs arrivent.")
def publication_groupee(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    instance = context.instance
    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]
    done = instance.get_run_records(dg.RunsFilter(job_name=ingestion_job.name, statuses=finished), limit=1)
    # A replay launched from the UI (« Materialize » on partitions of `depot`, a backfill) runs in Dagster's
    # implicit asset job: it changes the warehouse too.
    done += [r for r in instance.get_run_records(dg.RunsFilter(job_name=IMPLICIT_JOB, statuses=finished), limit=5)
             if dg.AssetKey("depot") in (r.dagster_run.asset_selection or ())][:1]
    if not done:
        return dg.SkipReason("Aucun dépôt traité.")
    latest = max(done, key=lambda r: r.storage_id)
    published = instance.get_run_records(dg.RunsFilter(job_name=publication_job.name), limit=1)
    last = published[0] if published else None
    if last and last.dagster_run.status == dg.DagsterRunStatus.FAILURE and last.dagster_run.tags.get(INTERRUPTED_TAG):
        # Killed with its service (`pipelines.process.fail_interrupted_runs`): what it was publishing is
        # still unpublished, and the cursor says it was covered. Once per interrupted run (its run key).
        return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"reprise-{last.dagster_run.run_id}")],
                               cursor=context.cursor)
    # The cursor is the latest handled ingestion run already covered by a requested publication
    # (ingestion runs are queued one at a time: they finish in the order they were created).
    if context.cursor and latest.storage_id <= int(context.cursor):
        return dg.SkipReason("Rien de nouveau depuis la dernière publication.")
    if last:
        if last.dagster_run.status in _ACTIVE:
            return dg.SkipReason("Une publication est en cours.")
        wait = settings.load().INTERVALLE_PUBLICATION_MIN * 60
        since = time.time() - last.create_timestamp.timestamp()
        if since < wait:
            return dg.SkipReason(f"Publication groupée dans {max(0.1, round((wait - since) / 60, 1))} min.")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"groupee-{latest.dagster_run.run_id}")],
                           cursor=str(latest.storage_id))


defs = dg.Definitions(assets=[entrepot_publie], jobs=[publication_job], sensors=[publication_groupee])
