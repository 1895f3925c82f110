"""Retention: the daily purge (operations.md, "Retention"), the same as `pre-eval purger`.

The job reads the ledger under the warehouse's writer lock for one query only (read-only
connection), so it never holds up an ingestion for more than milliseconds; the files themselves are
deleted without the lock (the ingestion never touches an expired file again).
"""

import dagster as dg

from pipelines.defs.resources import DataHomeResource
from pipelines.ingest import retention

SCHEDULE_CRON = "30 3 * * *"  # every day at 03:30, Europe/Paris
SCHEDULE_TIMEZONE = "Europe/Paris"


class PurgeConfig(dg.Config):
    """As `pre-eval purger`: the reference date (`AAAA-MM-JJ`, empty: today) and simulation."""

    date: str = ""
    simulation: bool = False


@dg.op(description="Applique les règles de conservation : quarantaine, archives remplacées, espaces de travail "
                   "d'exécutions interrompues ; chaque suppression est journalisée (journal/purges.jsonl).")
def purger(context: dg.OpExecutionContext, config: PurgeConfig, data_home: DataHomeResource) -> dg.Nothing:
    try:
        as_of = retention.parse_date(config.date) if config.date else retention.today()
    except ValueError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    result = retention.purge(data_home.home, as_of, simulation=config.simulation, instance=context.instance)
    for line in result.lines():
        context.log.info(line)
    context.add_output_metadata({
        "date_reference": as_of.isoformat(),
        "simulation": config.simulation,
        "supprimes": len(result.deletions),
        "octets": result.total_size,
        "laisses_en_place": len(result.left),
        "echecs": len(result.failures),
    })
    if result.failures:
        raise dg.Failure(description="Purge incomplète : " + " ; ".join(result.failures[:10]), allow_retries=False)


@dg.job(name="purge", executor_def=dg.in_process_executor,
        description="Purge de conservation (la même que pre-eval purger), lancée chaque nuit par purge_quotidienne.")
def purge_job() -> None:
    purger()


@dg.schedule(job=purge_job, cron_schedule=SCHEDULE_CRON, execution_timezone=SCHEDULE_TIMEZONE,
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Chaque nuit à 03:30 (heure de Paris), la purge de conservation du jour.")
def purge_quotidienne(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    moment = context.scheduled_execution_time
    day = moment.astimezone(retention.PARIS).date() if moment else retention.today()
    return dg.RunRequest(run_key=f"purge-{day.isoformat()}",
                         run_config={"ops": {"purger": {"config": {"date": day.isoformat()}}}})


defs = dg.Definitions(jobs=[purge_job], schedules=[purge_quotidienne])
