"""`pre-eval process`: handle every file of the inbox once, synchronously, through the same
Dagster definitions the sensors use, then rebuild the marts and publish."""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import dagster as dg

from pipelines import settings
from pipelines.common import timings
from pipelines.common.datahome import DataHome

# The instance configuration pre-eval writes into `DAGSTER_HOME` (see `dagster_instance`). French
# comments: operators read this file. The production file, with run monitoring, retries and
# retention, is `deploy/dagster.yaml`.
_GENERATED_HEADER = """\
# Écrit par pre-eval (pipelines/process.py) et réécrit par lui quand PRE_DAGSTER_POSTGRES_URL change.
# Pour une configuration à vous, modifiez ce fichier (ou partez de deploy/dagster.yaml) : pre-eval ne
# réécrit jamais un fichier qui n'est pas mot pour mot l'un des siens.
"""
_POSTGRES_STORAGE = """\
# Exécutions, événements et planifications dans PostgreSQL ; l'adresse (avec son mot de passe) est
# lue dans l'environnement à chaque démarrage et n'est jamais écrite ici.
storage:
  postgres:
    postgres_url:
      env: PRE_DAGSTER_POSTGRES_URL
"""
_COMMON = """\
# Une exécution à la fois : l'entrepôt DuckDB n'a qu'un écrivain (qui prend aussi un verrou de fichier).
concurrency:
  runs:
    max_concurrent_runs: 1
telemetry:
  enabled: false
"""
# The SQLite event log writing Dagster's batches of events in one transaction (pipelines/defs/event_log.py).
# Its folder is this one's `history/runs` (where Dagster's default puts it), written out in full: the
# marker is replaced when the file is written (`_write_instance_config`), again if the folder moves.
_EVENTS_DIR = "<<history/runs>>"
_SQLITE_EVENTS = f"""\
# Journal des événements dans les fichiers SQLite de history/runs (comme par défaut), écrit par lots :
# les événements d'une exécution sur plusieurs sites, une transaction au lieu de deux par événement.
event_log_storage:
  module: pipelines.defs.event_log
  class: SqliteEventLogBatches
  config:
    base_dir: {_EVENTS_DIR}
"""
DAGSTER_YAML = _GENERATED_HEADER + _SQLITE_EVENTS + _COMMON  # embedded default: SQLite files under DAGSTER_HOME
DAGSTER_YAML_POSTGRES = _GENERATED_HEADER + _POSTGRES_STORAGE + _COMMON
# What earlier versions wrote: still pre-eval's own, replaced like the current ones.
_EARLIER_DAGSTER_YAML = (_GENERATED_HEADER + _COMMON, """\
# Written by pre-eval on first use. Runs launched by the daemon are queued and run one at a
# time (the warehouse has a single writer; writers also take a file lock).
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 1
telemetry:
  enabled: false
""",)
_GENERATED = (DAGSTER_YAML_POSTGRES, *_EARLIER_DAGSTER_YAML)
# The SQLite file pre-eval writes, for any folder (one moved or copied keeps its former path until rewritten).
_OURS_SQLITE = re.compile(re.escape(DAGSTER_YAML).replace(re.escape(_EVENTS_DIR), r'"(?:[^"\\\n]|\\.)*"'))


def dagster_home(home: DataHome) -> str:
    """Dagster's own folder: `DAGSTER_HOME` when the operator set it, else the data home's `dagster/`."""
    return os.environ.get("DAGSTER_HOME") or str(home.dagster)


def _write_instance_config(folder: str, wanted: str) -> None:
    """Write `dagster.yaml` when absent or when it is one of pre-eval's own files for another setting.

    An operator's own `dagster.yaml` (anything that is not, byte for byte, a file pre-eval wrote) is
    left as it is, whatever `PRE_DAGSTER_POSTGRES_URL` says: it is theirs to keep in line.
    """
    path = os.path.join(folder, "dagster.yaml")
    # A JSON string is a YAML double-quoted scalar: any character of the path is written safely.
    wanted = wanted.replace(_EVENTS_DIR, json.dumps(os.path.join(os.path.realpath(folder), "history", "runs")))
    try:
        with open(path, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        current = None
    except UnicodeDecodeError:
        return  # not ours
    if current is not None and current != wanted and current not in _GENERATED and not _OURS_SQLITE.fullmatch(current):
        if wanted == DAGSTER_YAML_POSTGRES and "PRE_DAGSTER_POSTGRES_URL" not in current:
            print(f"Attention : PRE_DAGSTER_POSTGRES_URL est défini, mais {path} (écrit à la main, laissé tel "
                  "quel) ne s'en sert pas : l'instance Dagster suit ce fichier.", file=sys.stderr, flush=True)
        return
    if current == wanted:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(wanted)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class InstanceUnavailable(RuntimeError):
    """The instance's PostgreSQL database cannot be reached (French message, without the password)."""


def dagster_instance(home: DataHome) -> dg.DagsterInstance:
    """The persistent Dagster instance of the data home (so runs show in the UI): on PostgreSQL when
    `PRE_DAGSTER_POSTGRES_URL` is set, else on SQLite files under `DAGSTER_HOME`."""
    url = settings.load().DAGSTER_POSTGRES_URL
    try:
        return _open_instance(home, postgres=url is not None)
    except Exception as exc:
        if url is None or isinstance(exc, InstanceUnavailable):
            raise
        parts = urlsplit(url.get_secret_value())
        cause = exc
        while cause.__cause__ is not None:
            cause = cause.__cause__
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        if parts.password:
            reason = reason.replace(parts.password, "***")
        raise InstanceUnavailable(
            f"Instance Dagster : base PostgreSQL injoignable (PRE_DAGSTER_POSTGRES_URL, serveur {parts.hostname}:"
            f"{parts.port or 5432}, base {parts.path.strip('/')}) : {reason}") from None


# Runs the instance believes are under way.
_IN_FLIGHT = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
START_TIMEOUT_S = 180  # a run launched this long ago whose process never reported is taken as lost
INTERRUPTED = ("Exécution interrompue : aucun de ses processus (pid {pids}) ne tourne plus (service arrêté "
               "brutalement ou machine redémarrée). Elle est marquée en échec pour libérer la file. {next}")
INTERRUPTED_BEFORE_START = ("Exécution interrompue avant d'avoir démarré (aucun processus en {seconds} s). "
                            "Elle est marquée en échec pour libérer la file. {next}")
# What happens next, by job (the sensors request them again: pipelines/defs/).
AFTER_INTERRUPTION = {
    "ingestion": "Ses fichiers, restés dans la boîte de dépôt, sont traités de nouveau.",
    "publication": "La copie publiée reste la précédente ; la publication est relancée.",
}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:  # a zombie has exited: only its parent has not read its status yet
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def fail_interrupted_runs(instance: dg.DagsterInstance, *, now: float | None = None) -> list[str]:
    """Mark as failed the runs still recorded as under way whose processes are all gone; their ids.

    Runs launched on this machine (Dagster's default launcher: a subprocess per run) are not watched by
    anyone: killed with their service, they stay STARTED for ever, and with one run at a time
    (`max_concurrent_runs: 1`) the queue behind them never moves again. A run is judged from the pids
    its events carry (the launcher's, the run worker's, its steps'). Runs of another launcher (a
    cluster's) are left to that launcher's own run monitoring (deploy/dagster.yaml)."""
    from dagster._core.launcher import DefaultRunLauncher

    from pipelines.defs.run_tags import INTERRUPTED_TAG

    if not isinstance(instance.run_launcher, DefaultRunLauncher):
        return []
    now = time.time() if now is None else now
    failed = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=_IN_FLIGHT)):
        run = record.dagster_run
        after = AFTER_INTERRUPTION.get(run.job_name, "")
        pids = sorted({entry.dagster_event.pid for entry in instance.all_logs(run.run_id)
                       if entry.dagster_event is not None and entry.dagster_event.pid})
        if pids:
            if any(_alive(pid) for pid in pids):
                continue
            message = INTERRUPTED.format(pids=", ".join(map(str, pids)), next=after)
        else:
            created = record.create_timestamp.timestamp()
            if now - created < START_TIMEOUT_S:
                continue
            message = INTERRUPTED_BEFORE_START.format(seconds=START_TIMEOUT_S, next=after)
        instance.add_run_tags(run.run_id, {INTERRUPTED_TAG: "1"})  # the inbox sensor may request it again
        instance.report_run_failed(run, message)
        failed.append(run.run_id)
    return failed


def release_interrupted_runs(instance: dg.DagsterInstance) -> list[str]:
    """`fail_interrupted_runs`, saying on the terminal which runs it marked."""
    failed = fail_interrupted_runs(instance)
    for run_id in failed:
        print(f"Exécution {run_id[:8]} interrompue lors d'un arrêt précédent : marquée en échec, la file est "
              "libérée.", flush=True)
    return failed


def _open_instance(home: DataHome, *, postgres: bool) -> dg.DagsterInstance:
    return open_instance_folder(dagster_home(home), DAGSTER_YAML_POSTGRES if postgres else DAGSTER_YAML)


def open_instance_folder(folder: str, config: str | None = None) -> dg.DagsterInstance:
    """The Dagster instance that `folder`'s `dagster.yaml` describes, each storage's tables created;
    with `config`, pre-eval's own `dagster.yaml` is written there first (see `_write_instance_config`)."""
    os.makedirs(folder, exist_ok=True)
    # Dagster's storages create their tables on first open, and two processes doing it at the same
    # time fail ("table ... already exists"). Serialise writing the configuration and the first open.
    with open(os.path.join(folder, ".verrou-instance"), "w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            if config is not None:
                _write_instance_config(folder, config)
            instance = dg.DagsterInstance.from_config(folder)
            instance.get_runs(limit=1)  # touch each storage so its tables exist
            instance.get_latest_materialization_event(dg.AssetKey("depot"))
            instance.all_instigator_state()
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return instance


# Runs keep their full logs in the Dagster instance; the terminal gets only errors.
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _run_config(home: DataHome) -> dict:
    """Quiet runs on this data home (the definitions' resource would otherwise read `PRE_HOME`)."""
    return QUIET | {"resources": {"data_home": {"config": {"root": str(home.root)}}}}


@dataclass
class ProcessResult:
    handled: int = 0
    lines: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    left_in_inbox: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.left_in_inbox and not self.errors


def process(home: DataHome | None = None) -> ProcessResult:
    from pipelines.definitions import defs
    from pipelines.defs.ingestion import route, run_config, sites
    from pipelines.ingest.inbox import ready_files, triage
    from pipelines.ingest.lifecycle import cleanup_staging, summary_lines

    home = (home or DataHome.from_settings()).ensure()
    started = time.perf_counter()
    instance = dagster_instance(home)
    release_interrupted_runs(instance)
    result = ProcessResult()
    cleanup_staging(home, instance)
    found = triage(home, ready_files(home, stable_seconds=0))
    result.duplicates = [f"{f.name} : contenu identique à un dépôt déjà reçu ({original}), retiré de la boîte de dépôt"
                         for f, original in found.duplicates]
    pending = []
    if found.new:
        from pipelines.ingest.pseudonym import check_before_loading

        check_before_loading(home)  # a wrong key: nothing read, loaded or published (raises KeyRefused)
        # Each file read whole once, here, in the worker processes: its manifest routes it to its site's
        # partition, and its run takes the folder over.
        pending = route(home, found.new, read_whole=True)
        wanted = sorted({site for site, _ in pending})
        known = instance.get_dynamic_partitions(sites.name)
        missing = [s for s in wanted if s not in known]
        if missing:
            instance.add_dynamic_partitions(sites.name, missing)
            known = instance.get_dynamic_partitions(sites.name)
        # One run for the whole batch: a range of site partitions (sites in between with no
        # file have nothing to do), so that a national load does not pay one run per site.
        positions = sorted(known.index(s) for s in wanted)
        start, end = known[positions[0]], known[positions[-1]]
        job = defs.resolve_job_def("ingestion")
        files = [f for _, f in pending]
        options = {"partition_key": start} if start == end else {
            "tags": {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}}
        config = run_config(files).to_config_dict() | _run_config(home)
        timings.wall("avant_execution", time.perf_counter() - started)
        started = time.perf_counter()
        run = job.execute_in_process(run_config=config, instance=instance, raise_on_error=False, **options)
        result.errors += _unexpected_failures(run)
        result.handled = len(files)
        result.left_in_inbox = [f.name for f in files if f.path(home).exists()]
        timings.wall("execution_ingestion", time.perf_counter() - started)
    started = time.perf_counter()
    result.errors += _publish(home, instance)
    timings.wall("execution_publication", time.perf_counter() - started)
    if pending:
        result.lines = summary_lines(home, [f.sha256 for _, f in pending])
    return result


def _publish(home: DataHome, instance: dg.DagsterInstance) -> list[str]:
    """Rebuild the models and publish (the publication job, in this process); the errors, in French."""
    from pipelines.definitions import defs

    publication = defs.resolve_job_def("publication").execute_in_process(
        run_config=_run_config(home), instance=instance, raise_on_error=False)
    if publication.success:
        return []
    # A blocking check of the warehouse that failed stops the run before the copy is replaced: say which.
    failed = [f"contrôle de l'entrepôt « {e.check_name} » en échec : {e.description or ''} La copie publiée en "
              "vigueur reste inchangée." for e in publication.get_asset_check_evaluations()
              if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    return failed + _unexpected_failures(publication) or ["la publication a échoué"]


@dataclass
class ReplayResult:
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def replay(home: DataHome, sites: list[str] | None, *, reason: str, by: str) -> ReplayResult:
    """`pre-eval rejouer`: the ingestion job run without files over the sites' partitions (the same path as
    a materialisation from the Dagster UI, so the run shows there), then the publication."""
    from pipelines.definitions import defs
    from pipelines.defs.ingestion import sites as site_partitions
    from pipelines.ingest.replay import checked_reason, checked_sites
    from pipelines.warehouse.store import connect

    reason = checked_reason(reason)  # refused before anything starts
    home = home.ensure()
    if sites is None:
        with connect(home) as con:
            sites = [code for (code,) in con.execute(
                "select code_pre from ingestion.depots where en_vigueur and statut = 'accepte' order by 1").fetchall()]
        if not sites:
            return ReplayResult(lines=["Aucun dépôt en vigueur : rien à rejouer."])
    sites = checked_sites(sites)
    instance = dagster_instance(home)
    known = instance.get_dynamic_partitions(site_partitions.name)
    missing = [s for s in sites if s not in known]
    if missing:  # a data home restored into a new Dagster instance, or a site never seen by this one
        instance.add_dynamic_partitions(site_partitions.name, missing)
        known = instance.get_dynamic_partitions(site_partitions.name)
    positions = sorted(known.index(s) for s in sites)
    start, end = known[positions[0]], known[positions[-1]]
    options = {"partition_key": start} if start == end else {
        "tags": {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}}
    config = {"ops": {"depot": {"config": {"files": [], "motif": reason, "par": by, "sites": sites}}}}
    run = defs.resolve_job_def("ingestion").execute_in_process(
        run_config=config | _run_config(home), instance=instance, raise_on_error=False, **options)
    result = ReplayResult(errors=_unexpected_failures(run))
    from pipelines.ingest.replay import from_journal, journal

    entry = next((e for e in reversed(journal(home)) if e.get("execution") == run.run_id), None)
    if entry is not None:
        result.lines = [item.line() for item in from_journal(entry)]
    elif not result.errors:
        result.errors.append("le rejeu n'a rien inscrit au journal des rejeux")
    result.errors += _publish(home, instance)
    return result


def _unexpected_failures(run: dg.ExecuteInProcessResult) -> list[str]:
    """Step failures other than the contract check refusing files (which is a handled outcome)."""
    errors = []
    for event in run.all_events:
        if not event.is_step_failure:
            continue
        data = event.step_failure_data
        error = data.error if data else None
        if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
            continue  # a blocking contract check that did not pass: files refused, as designed
        message = error.message.strip() if error else "erreur inconnue"
        errors.append(f"étape {event.step_key} : {message}")
    return errors
