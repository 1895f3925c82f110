"""Event-driven ingestion: the inbox sensor, the per-site submission asset, its blocking contract
check, and the site's tables in the warehouse."""

import json
import time

import dagster as dg
import polars as pl
from pydantic import Field

from pipelines import settings
from pipelines.common import formats, progress, timings, workers
from pipelines.common.datahome import DataHome
from pipelines.contracts.model import DATA_TABLES
from pipelines.contracts.reader import peek_site
from pipelines.contracts.referential import known_codes
from pipelines.defs.metadata import PREVIEW_ROWS, markdown_table
from pipelines.defs.resources import DataHomeResource
from pipelines.defs.run_tags import INTERRUPTED_TAG
from pipelines.ingest import lifecycle, precheck, retention
from pipelines.ingest.inbox import InboxFile, UntrustedFile, from_config, ready_files, to_config, triage, unstable_wait

sites = dg.DynamicPartitionsDefinition(name="sites")
WAIT_IN_TICK_S = 3.0  # the longest a tick waits for a file about to be stable (PRE_DELAI_STABILITE_S)



class ReceivedFile(dg.Config):
    """One inbox file, as found by the sensor or `pre-eval process`."""

    name: str
    size: int
    mtime: float
    sha256: str


REPLAY_FROM_UI = "matérialisation depuis l'interface Dagster (sans fichier : rejeu des dépôts en vigueur)"


class DepotConfig(dg.Config):
    """The inbox files this run handles; none (the UI's "Materialize", a backfill): the sites' snapshots in
    force are replayed (`pipelines.ingest.replay`)."""

    files: list[ReceivedFile] = Field(default_factory=list, description="Fichiers de la boîte de dépôt à traiter "
                                      "(vide : les dépôts en vigueur des sites choisis sont rejoués).")
    motif: str = Field(default=REPLAY_FROM_UI, description="Motif d'un rejeu, inscrit au journal des rejeux.")
    par: str = Field(default="", description="Qui demande le rejeu (journal des rejeux).")
    sites: list[str] = Field(default_factory=list, description="Rejeu : ces sites seulement parmi les partitions "
                             "choisies (vide : toutes).")


@dg.asset(partitions_def=sites, backfill_policy=dg.BackfillPolicy.single_run(), group_name="ingestion",
          kinds={"polars"})
def depot(context: dg.AssetExecutionContext, config: DepotConfig, data_home: DataHomeResource) -> dg.MaterializeResult:
    """Dépôts reçus d'un site : fichiers lus avec la tolérance du format et mis en attente de contrôle."""
    home = data_home.home
    if not config.files:
        return _replay(context, config, home)
    # A crashed run's staging (raw values read from its files) goes at the next run (operations.md,
    # "Retention"); runs in progress keep theirs.
    for gone in retention.remove_leftover_staging(home, context.instance).deletions:
        context.log.info(f"Espace de travail supprimé : {gone.chemin} — {gone.motif}")
    try:
        files = from_config(home, [f.model_dump() for f in config.files])
    except UntrustedFile as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    staged = lifecycle.stage(home, context.run_id, files)
    rows = []
    for item in staged:
        meta = item.meta
        counts = meta["raw_rows"]
        rows.append({"fichier": item.file.name, "format": meta["kind"],
                     **{t: formats.number(counts.get(t, 0)) for t in DATA_TABLES}})
    context.log.info(f"{len(staged)} fichier(s) lu(s) pour {', '.join(context.partition_keys)}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(sum(item.meta["raw_rows"].values()) for item in staged),
        "fichiers": len(staged),
        "apercu": dg.MetadataValue.md(markdown_table(pl.DataFrame(rows)) if rows else "Aucun fichier."),
    })


def _replay(context: dg.AssetExecutionContext, config: DepotConfig, home: DataHome) -> dg.MaterializeResult:
    """The partition's sites replayed (their archived snapshots in force checked and loaded again)."""
    from pipelines.ingest.replay import ReplayError, replay

    codes = [k for k in context.partition_keys if k != lifecycle.UNKNOWN_SITE]
    if config.sites:
        codes = [k for k in codes if k in set(config.sites)]
    who = config.par or context.run.tags.get("dagster/user") or "interface Dagster"
    try:
        done = replay(home, codes, reason=config.motif, by=who, run_id=context.run.run_id)
    except ReplayError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    for item in done:
        context.log.info(item.line())
    lines = [f"- {item.line()}" for item in done[:PREVIEW_ROWS]]
    if len(done) > PREVIEW_ROWS:
        lines.append(f"- … et {len(done) - PREVIEW_ROWS} autres (journal/rejeux.jsonl)")
    return dg.MaterializeResult(metadata={
        "rejeu": True,
        "sites_rejoues": sum(item.changed for item in done),
        "sites_inchanges": sum(not item.changed for item in done),
        "apercu": dg.MetadataValue.md("\n".join(lines) or "Aucun site."),
    })


@dg.asset_check(asset=depot, blocking=True,
                description="Conformité au format d'échange (contrats ODCS, Great Expectations) ; "
                            "les dépôts refusés sont mis en quarantaine avec leur rapport.")
def depot_conforme_au_contrat(context: dg.AssetCheckExecutionContext,
                              data_home: DataHomeResource) -> dg.AssetCheckResult:
    verdicts = lifecycle.check(data_home.home, context.run.run_id)
    refused = [v for v in verdicts if not v.accepted]
    metadata = {
        "fichiers": len(verdicts),
        "acceptes": len(verdicts) - len(refused),
        "refuses": len(refused),
        "nb_bloquants": sum(v.blocking for v in verdicts),
        "nb_avertissements": sum(v.warnings for v in verdicts),
        "rapports": dg.MetadataValue.md("\n".join(
            [f"- {v.file.name} : {'accepté' if v.accepted else 'refusé'} — {v.report_path}"
             for v in verdicts[:PREVIEW_ROWS]]
            + ([f"- … et {len(verdicts) - PREVIEW_ROWS} autres (voir reports/)"]
               if len(verdicts) > PREVIEW_ROWS else []))
            or "Aucun fichier."),
    }
    if refused:
        metadata["regles_en_echec"] = ", ".join(sorted({r for v in refused for r in v.rules}))
    # Nothing acceptable: block the site's tables. Some refused among accepted ones: warn only,
    # the accepted ones are applied and the refused ones are already in quarantine.
    severity = dg.AssetCheckSeverity.ERROR if refused and len(refused) == len(verdicts) else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(passed=not refused, severity=severity, metadata=metadata)


@dg.asset(partitions_def=sites, deps=[depot], backfill_policy=dg.BackfillPolicy.single_run(),
          group_name="ingestion", kinds={"duckdb"})
def donnees_site(context: dg.AssetExecutionContext, data_home: DataHomeResource) -> dg.MaterializeResult:
    """Données en vigueur du site (parcours, actions, bilans, attentes), remplacées d'un bloc.

    Les identifiants y sont pseudonymisés (HMAC-SHA256 avec la clé du dossier de données, salée par le code du site).
    """
    applied = lifecycle.apply(data_home.home, context.run_id)
    table = pl.DataFrame([{"fichier": a.file.name, "site": a.code_pre, "statut": a.statut,
                           **{t: a.rows.get(t) for t in DATA_TABLES}}
                          for a in applied]) if applied else None
    return dg.MaterializeResult(metadata={
        "depots_appliques": sum(a.statut == "accepte" for a in applied),
        "depots_ignores": sum(a.statut == "ignore" for a in applied),
        "dagster/row_count": sum(sum(n or 0 for n in a.rows.values()) for a in applied if a.statut == "accepte"),
        "apercu": dg.MetadataValue.md(markdown_table(table) if table is not None else "Aucun dépôt appliqué."),
    })


def run_config(files: list[InboxFile]) -> dg.RunConfig:
    return dg.RunConfig(ops={"depot": DepotConfig(files=[ReceivedFile(**f) for f in to_config(files)])})


ingestion_job = dg.define_asset_job(
    "ingestion", selection=dg.AssetSelection.assets(depot, donnees_site),
    executor_def=dg.in_process_executor,  # steps in the run's process: no imports paid again per step
    description="Contrôle et chargement des dépôts d'un site (déclenché par la boîte de dépôt).")


def pending_requests(home: DataHome, *, stable_seconds: float,
                     memory: dict | None = None) -> tuple[list[tuple[str, InboxFile]], list]:
    """New inbox contents with their site partition; duplicates are removed and logged.

    `memory` (the sensor's, kept from one tick to the next in its cursor, updated here): the
    SHA-256 of each waiting file (`empreintes`, by `hash_key`) and the site code its manifest names
    (`sites`, by SHA-256), so that a file waiting for its run is read once, not at every tick.
    """
    hashes = None if memory is None else memory.setdefault("empreintes", {})
    found = triage(home, ready_files(home, stable_seconds=stable_seconds, known_hashes=hashes))
    return route(home, found.new, memory=memory), found.duplicates


def route(home: DataHome, files: list[InboxFile], *, memory: dict | None = None,
          read_whole: bool = False) -> list[tuple[str, InboxFile]]:
    """Each new file with the site partition its manifest names.

    The sensor peeks at manifests only (a tick must stay short). `pre-eval process` reads each file whole
    instead (`read_whole`), into the early-check area its run takes over (`lifecycle.read_ahead`): the
    manifest comes with the rest, and no file is opened twice (an XLSX is measured whole before the
    spreadsheet library may open it, then again when it is read)."""
    known = known_codes(home)
    codes = {} if memory is None else memory.setdefault("sites", {})
    unread = list({f.sha256: f for f in files if f.sha256 not in codes}.values())
    if read_whole:
        jobs = [lifecycle.read_job(home, f, precheck.folder(home, f.sha256)) for f in unread]
        with progress.phase("Lecture", len(unread)) as bar, timings.measure("lecture"):
            for file, (code, rows) in zip(unread, workers.ordered_map(lifecycle.read_ahead, jobs), strict=True):
                codes[file.sha256] = code
                timings.add_rows("lecture", rows)
                bar.advance(1, rows=rows)
    else:
        # A national batch peeks at hundreds of manifests (an XLSX is measured whole before it is opened):
        # spread over the worker processes, like the reading that follows.
        for file, code in zip(unread, workers.ordered_map(peek_site, [str(f.path(home)) for f in unread]),
                              strict=True):
            codes[file.sha256] = code
    pending = [(site_partition(codes[file.sha256], known), file) for file in files]
    if memory is not None:
        memory["sites"] = {f.sha256: codes[f.sha256] for f in files}
    return pending


def site_partition(code: str | None, known: set[str]) -> str:
    """The partition of a file whose manifest names `code`: a known site, else the unknown one."""
    return code if code in known else lifecycle.UNKNOWN_SITE


def sensor_memory(cursor: str | None) -> dict:
    """The inbox sensor's memory read back from its cursor; anything malformed is forgotten."""
    try:
        memory = json.loads(cursor or "{}")
    except ValueError:
        return {}
    if not isinstance(memory, dict):
        return {}
    hashes, codes, seen = memory.get("empreintes"), memory.get("sites"), memory.get("vus")
    return {
        "empreintes": {k: v for k, v in hashes.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(hashes, dict) else {},
        "sites": {k: v for k, v in codes.items() if isinstance(k, str) and (v is None or isinstance(v, str))}
        if isinstance(codes, dict) else {},
        "vus": [k for k in seen if isinstance(k, str)] if isinstance(seen, list) else [],
    }


_warmed = False


def _warm(context: dg.SensorEvaluationContext) -> None:
    """Once per code server, on a tick with nothing to check: GX imported and its suites built (about
    5 s), so that the first file's verdict does not wait for them."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    from pipelines.contracts.validator import warm

    try:
        warm()
    except Exception as error:  # only a head start: the first check builds them anyway
        context.log.warning(f"Préparation des contrôles impossible ({type(error).__name__}).")


def early_verdicts(context: dg.SensorEvaluationContext, home: DataHome, pending: list[tuple[str, InboxFile]],
                   memory: dict) -> None:
    """Check, in this long-lived process, the files whose run is requested for the first time
    (`pipelines.ingest.precheck`); a file whose run was requested by an earlier tick is its run's alone,
    so that the sensor never checks a file its run is handling. Any failure leaves the check to the run."""
    from pipelines.ingest import precheck
    from pipelines.ingest.lifecycle import STATUS_LABEL, check_early

    seen = set(memory.get("vus", []))
    memory["vus"] = sorted(file.sha256 for _, file in pending)
    precheck.remove(precheck.leftovers(home))
    first = [file for _, file in pending if file.sha256 not in seen]
    if not first:
        _warm(context)
        return
    try:
        verdicts = check_early(home, first)
    except Exception as error:  # never hold the inbox: the run checks the file
        context.log.warning(f"Contrôle anticipé impossible ({type(error).__name__}) : le contrôle se fera "
                            "dans l'exécution d'ingestion.")
        return
    for v in verdicts:
        context.log.info(f"{v.file.name} : {STATUS_LABEL['accepte' if v.accepted else 'refuse']} "
                         f"(contrôle anticipé) — rapport : {v.report_path}")


def interrupted_contents(instance: dg.DagsterInstance) -> dict[str, int]:
    """{SHA-256: number of its runs interrupted} (runs are rarely interrupted: one small query a tick)."""
    counts: dict[str, int] = {}
    for run in instance.get_runs(dg.RunsFilter(tags={INTERRUPTED_TAG: "1"})):
        sha = run.tags.get("sha256")
        if sha:
            counts[sha] = counts.get(sha, 0) + 1
    return counts


def run_key(sha256: str, interrupted: dict[str, int]) -> str:
    """The inbox sensor's run key for a content: its SHA-256, so that Dagster requests one run per content
    whatever the number of ticks that see it; with a suffix once a run of it was interrupted (Dagster never
    requests a key twice, even for a failed run, and the file would otherwise wait in the inbox for ever).
    A run that failed on its own is not retried: its failure is for an operator to read."""
    count = interrupted.get(sha256, 0)
    return f"{sha256}-reprise{count}" if count else sha256


# The daemon evaluates sensors at most every 5 s (its loop); asking for 1 s makes it evaluate this one at
# every turn of that loop.
@dg.sensor(job=ingestion_job, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Surveille la boîte de dépôt ($PRE_HOME/inbox) : contrôle anticipé de chaque contenu "
                       "nouveau (rapport et avis sans attendre), puis une exécution par contenu nouveau.")
def boite_de_depot(context: dg.SensorEvaluationContext, data_home: DataHomeResource) -> dg.SensorResult:
    home = data_home.home.ensure()
    # Uploaders that write in place: wait until a file has not changed for this long.
    stable = settings.load().DELAI_STABILITE_S
    memory = sensor_memory(context.cursor)
    wait = unstable_wait(home, stable)
    if 0 < wait <= WAIT_IN_TICK_S:  # a file that will be stable in a moment: wait in this tick, not the next one
        time.sleep(wait)
    pending, duplicates = pending_requests(home, stable_seconds=stable, memory=memory)
    early_verdicts(context, home, pending, memory)
    for file, original in duplicates:
        context.log.info(f"{file.name} : contenu identique à {original}, retiré de la boîte de dépôt")
    existing = set(context.instance.get_dynamic_partitions(sites.name))
    new_sites = sorted({site for site, _ in pending} - existing)
    interrupted = interrupted_contents(context.instance) if pending else {}
    requests = [
        dg.RunRequest(run_key=run_key(file.sha256, interrupted), partition_key=site, run_config=run_config([file]),
                      tags={"fichier": file.name[:200], "sha256": file.sha256})
        for site, file in pending
    ]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(memory, separators=(",", ":")),
                           dynamic_partitions_requests=[sites.build_add_request(new_sites)] if new_sites else [])


defs = dg.Definitions(assets=[depot, donnees_site], asset_checks=[depot_conforme_au_contrat],
                      jobs=[ingestion_job], sensors=[boite_de_depot])
