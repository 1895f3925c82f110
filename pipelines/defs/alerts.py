"""Alerts: the run failure sensor that tells the operators (e-mail, webhook) when a run fails.

A refused submission is a data outcome, told to the site by its report and the portal's
`/mes-depots`, never to the operators. Its ingestion run does end in FAILURE, though: the contract
check is blocking, and a blocking check that does not pass fails its step
(`DagsterAssetCheckFailedError`). The sensor recognises such a run (every failed step is that
check not passing, nothing else) and sends nothing, as `pre-eval process` does not count it as an
error either.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from pipelines import settings
from pipelines.common import alerts
from pipelines.defs.ingestion import depot_conforme_au_contrat

# A blocking check's failure lists the checks that did not pass, one `asset: check` per line.
CHECK_FAILED = "DagsterAssetCheckFailedError"
REFUSAL_CHECKS = {f"{key.asset_key.to_user_string()}: {key.name}" for key in depot_conforme_au_contrat.check_keys}


def is_refusal(context: dg.RunFailureSensorContext) -> bool:
    """Whether the run failed only because the contract check refused the submissions (no alert)."""
    failures = context.get_step_failure_events()
    if not failures:
        return False
    for event in failures:
        error = event.step_failure_data.error if event.step_failure_data else None
        if error is None or error.cls_name != CHECK_FAILED:
            return False
        checks = {line.strip() for line in error.message.splitlines()[1:] if line.strip()}
        if not checks or not checks <= REFUSAL_CHECKS:
            return False
    return True


def run_failure(context: dg.RunFailureSensorContext) -> alerts.RunFailure:
    """The facts of the failed run: its job, id, time, partition, cause and failed steps."""
    run = context.dagster_run
    record = context.instance.get_run_record_by_id(run.run_id)
    ended = record.end_time if record is not None and record.end_time else None
    failed_at = (dt.datetime.fromtimestamp(ended, dt.UTC) if ended else dt.datetime.now(dt.UTC))
    errors = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        errors.append(_step_error(event.step_key or "", data.error if data else None,
                                  data.user_failure_data.description if data and data.user_failure_data else None))
    if not errors:
        # A failure outside the steps (run worker lost, resource or launch error): the run's own error.
        data = context.failure_event.event_specific_data
        error = getattr(data, "error", None)
        if error is not None:
            errors.append(_step_error("(exécution)", error, None))
    return alerts.RunFailure(job=run.job_name, run_id=run.run_id, failed_at=failed_at, errors=errors,
                             partition=run.tags.get("dagster/partition"),
                             reason=run.tags.get("dagster/failure_reason"),
                             summary=context.failure_event.message)


def _step_error(step: str, error, description: str | None) -> alerts.StepError:
    """The innermost cause of a Dagster error (the user code's exception), its class and message."""
    if error is None:
        return alerts.StepError(step, "erreur", description or "")
    while error.cause is not None:
        error = error.cause
    message = error.message or ""
    prefix, colon, rest = message.partition(": ")
    if colon and prefix.rpartition(".")[2] == error.cls_name:
        message = rest
    return alerts.StepError(step, error.cls_name or "erreur", description or message)


@dg.run_failure_sensor(name="alerte_echec", default_status=dg.DefaultSensorStatus.RUNNING,
                       minimum_interval_seconds=30,
                       description="Prévient les exploitants (courriel, webhook) de chaque exécution en échec de "
                                   "la plateforme ; un dépôt refusé n'est pas un échec.")
def alerte_echec(context: dg.RunFailureSensorContext) -> None:
    try:
        channels = alerts.Channels.from_settings(settings.load())
    except settings.SettingsError as error:
        context.log.warning(f"Alerte non envoyée : réglages invalides.\n{error}")
        return
    try:
        if is_refusal(context):
            context.log.info(f"Exécution {context.dagster_run.run_id} : dépôt refusé par le contrôle des "
                             "contrats, signalé au site par son rapport ; pas d'alerte.")
            return
        facts = run_failure(context)
    except Exception as error:  # an alert must still go out with what is known
        context.log.warning(f"Détails de l'échec illisibles ({type(error).__name__}) : alerte réduite.")
        run = context.dagster_run
        facts = alerts.RunFailure(job=run.job_name, run_id=run.run_id, failed_at=dt.datetime.now(dt.UTC))
    alerts.notify(facts, channels, context.log)


defs = dg.Definitions(sensors=[alerte_echec])
