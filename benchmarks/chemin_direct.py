"""The live path through the running daemon: a site's new file dropped into the inbox, until its verdict
and until the published figures include it.

    .venv/bin/python benchmarks/chemin_direct.py DOSSIER [--depots 5] [--intervalle-publication 0]
        [--sans-publication] [--chargement-initial SECONDES] [--publication-petit SECONDES]

DOSSIER is a data home after a full load (the national benchmark's, kept with `benchmarks/national.py
--dossier DOSSIER`). It is copied first (the copy receives the drops), unless `--sur-place`.

`dagster dev` is started on the copy, as `pre-eval dev` starts it (webserver, daemon, sensors running), and
the median ZIP of the archive is dropped again N times, each time extracted one day later (a new snapshot
of that site, which replaces the one in force). For each drop:
- **verdict**: from the file's arrival in the inbox to its notice (`reports/avis/<sha256>.json`: status and
  report written, shown by /mes-depots), given by the inbox sensor's early check;
- **classé**: to its ledger entry (`registre/`, and its row of `ingestion.depots`): the ingestion run has
  filed and loaded it, in the writer's queue;
- **publication**: from the filing to the published copy being replaced, split into the wait (the
  batching interval, `PRE_INTERVALLE_PUBLICATION_MIN`, and the sensor's tick) and the publication run's
  own duration (from Dagster's run record).

It prints p50 and p95 of each, the peak memory of all of dagster dev's processes (sampled each half second,
and per step of the publication run), and
the targets of issue 15 beside them. Nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from latence_tableau_de_bord import percentile  # noqa: E402
from national import _machine, _median_site, _resubmission  # noqa: E402

from pipelines.common import formats  # noqa: E402
from pipelines.common.datahome import DataHome  # noqa: E402
from pipelines.contracts import notices  # noqa: E402
from pipelines.dev import stop_services, wait_http  # noqa: E402
from pipelines.ingest.inbox import sha256_of  # noqa: E402

BIN = Path(sys.executable).parent
VERDICT_TARGET_S = 5.0
PUBLICATION_TARGET = 0.05  # of the full load
FLATNESS_TARGET = 1.5  # publication after one site's change, national / 53 sites
MEMORY_TARGET_MB = 4000
PROFILE_MODEL_FROM_S = 0.5  # SQL models shown apart in the publication's profile from this p50
# The published copy's step, split by its materialisation's metadata.
PUBLISHED_PARTS = {"secret_statistique_s": "dont protection (secret statistique)",
                   "copie_publiee_s": "dont copies publiées"}


def _s(seconds: float) -> str:
    return f"{formats.number(seconds, 1)} s"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ledger_entry(home: DataHome, name: str) -> dict | None:
    for path in home.ledger.glob("*.json"):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(entry, dict) and entry.get("fichier") == name:
            return entry
    return None


def _published_version(home: DataHome) -> tuple[int, int] | None:
    try:
        stat = (home.published / "entrepot.duckdb").stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def _last_publication_run(dagster_home: Path, after: float) -> tuple[float, float, str] | None:
    """(start, end, run id) of the first successful publication run that started after `after` (epoch s)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with dg.DagsterInstance.get() as instance:
        records = instance.get_run_records(
            dg.RunsFilter(job_name="publication", statuses=[dg.DagsterRunStatus.SUCCESS]), limit=5)
    runs = [(r.start_time, r.end_time, r.dagster_run.run_id) for r in records
            if r.start_time and r.end_time and r.start_time >= after]
    return min(runs) if runs else None


def _run_profile(dagster_home: Path, run_id: str) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """Seconds per step of a run (Dagster's step events), with the published copy's step split into the
    protection and the copies (its materialisation's metadata); and each step's (start, end), epoch seconds."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    started, profile, windows, last = {}, {}, {}, 0.0
    with dg.DagsterInstance.get() as instance:
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or not event.step_key:
                continue
            if event.event_type_value == "STEP_START":
                started[event.step_key] = last = entry.timestamp
            elif event.event_type_value == "STEP_SUCCESS" and event.step_key in started:
                profile[event.step_key] = entry.timestamp - started[event.step_key]
                windows[event.step_key] = (started[event.step_key], entry.timestamp)
            elif event.event_type_value == "ASSET_MATERIALIZATION" and event.step_key == "modeles_sql":
                # The models are built one after the other and each is reported once built.
                profile[f"modeles_sql : dont {event.asset_key.to_user_string()}"] = entry.timestamp - last
                last = entry.timestamp
            elif event.event_type_value == "ASSET_MATERIALIZATION":
                metadata = event.event_specific_data.materialization.metadata
                for name, label in PUBLISHED_PARTS.items():
                    if name in metadata:
                        profile[f"{event.step_key} : {label}"] = float(metadata[name].value)
    return profile, windows


class MemorySampler(threading.Thread):
    """Every half second, the resident memory of every process of a session (`dagster dev` started with
    `start_new_session`: its webserver, daemon, code servers, runs and their workers), summed; keeps the peak
    and the samples (time, sum, largest process), to tell which step of a run reached it."""

    def __init__(self, session: int, every: float = 0.5):
        super().__init__(daemon=True)
        self.session, self.every, self.peak_kb, self.stopped = session, every, 0, threading.Event()
        self.samples: list[tuple[float, int, int]] = []

    def peak_between(self, start: float, end: float) -> tuple[int, int]:
        """(sum, largest process) in kB at the highest sample taken between two times (epoch s)."""
        inside = [(total, largest) for at, total, largest in self.samples if start <= at <= end]
        return max(inside, default=(0, 0))

    def total_kb(self) -> int:
        return self.measure()[0]

    def measure(self) -> tuple[int, int]:
        """(sum, largest process) of the session's resident memory, in kB."""
        total = largest = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
                if int(fields[3]) != self.session:
                    continue
                status = (stat.parent / "status").read_text(encoding="ascii", errors="replace")
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            rss = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
            total, largest = total + rss, max(largest, rss)
        return total, largest

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            total, largest = self.measure()
            self.samples.append((time.time(), total, largest))
            self.peak_kb = max(self.peak_kb, total)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dossier")
    parser.add_argument("--depots", type=int, default=5, help="dépôts successifs mesurés (5 par défaut)")
    parser.add_argument("--intervalle-publication", type=float, default=0.0,
                        help="PRE_INTERVALLE_PUBLICATION_MIN du démon (0 par défaut : publier dès que possible)")
    parser.add_argument("--sans-publication", action="store_true",
                        help="mesurer les verdicts seulement (le capteur de publication est arrêté)")
    parser.add_argument("--sur-place", action="store_true", help="déposer dans DOSSIER lui-même, sans copie")
    parser.add_argument("--delai", type=float, default=1800, help="attente maximale d'une étape (s)")
    parser.add_argument("--chargement-initial", type=float, metavar="SECONDES",
                        help="durée du chargement initial de ce dossier (benchmarks/national.py), pour la cible "
                             "« publication après le changement d'un site ≤ 5 % du chargement initial »")
    parser.add_argument("--publication-petit", type=float, metavar="SECONDES",
                        help="durée p50 de la publication (exécution) mesurée de même sur l'entrepôt de 53 sites, "
                             "pour la cible « publication plate : national / 53 sites ≤ 1,5 »")
    args = parser.parse_args()
    if not 1 <= args.depots <= 50:
        parser.error("--depots : de 1 à 50")

    source = DataHome(Path(args.dossier))
    if not source.warehouse.is_file():
        parser.error(f"{args.dossier} n'est pas un dossier de données chargé (entrepôt absent)")
    work = Path(tempfile.mkdtemp(prefix="chemin-direct-"))
    if args.sur_place:
        home = source
    else:
        started = time.perf_counter()
        shutil.copytree(source.root, work / "data", symlinks=True)
        home = DataHome(work / "data")
        print(f"Copie du dossier de données : {_s(time.perf_counter() - started)}", flush=True)
    dagster_home = home.dagster
    zips = sorted(home.archive.glob("*/*.zip"))
    if not zips:
        parser.error("aucun dépôt ZIP archivé dans ce dossier")
    original = _median_site(zips)

    port = _free_port()
    interval = str(args.intervalle_publication)
    env = {**os.environ, "PRE_HOME": str(home.root), "DAGSTER_HOME": str(dagster_home),
           "PRE_INTERVALLE_PUBLICATION_MIN": interval}
    from pipelines.process import dagster_instance, release_interrupted_runs

    os.environ.update(PRE_HOME=str(home.root), DAGSTER_HOME=str(dagster_home))
    # Writes the instance's dagster.yaml and frees the queue of runs killed with an earlier service, as
    # `pre-eval dev` does.
    release_interrupted_runs(dagster_instance(home))
    log = (work / "dagster.log").open("w", encoding="utf-8")
    if args.sans_publication:
        # Stopped in the instance before the daemon starts: with no publication yet, the first verdict would
        # otherwise start one at once (the whole protection of a national warehouse, on both cores).
        subprocess.run([str(BIN / "dagster"), "sensor", "stop", "publication_groupee", "-m", "pipelines.definitions"],
                       cwd=home.root, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    dagster = subprocess.Popen([str(BIN / "dagster"), "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1",
                                "-p", str(port)], cwd=home.root, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    verdicts, filings, waits, runs, totals = [], [], [], [], []
    profiles: list[dict[str, float]] = []
    step_memory: list[dict[str, tuple[int, int]]] = []
    memory = MemorySampler(dagster.pid)  # the session of `dagster dev` is its pid
    memory.start()
    try:
        if not wait_http(f"http://127.0.0.1:{port}/server_info", 180):
            raise SystemExit(f"Dagster ne répond pas ; voir {work / 'dagster.log'}")
        time.sleep(15)  # the daemon's first sensor ticks
        print(f"{_machine()}\nDossier : {source.root} ; site médian : {original.parent.name} "
              f"({formats.number(original.stat().st_size)} octets) ; "
              + ("publication arrêtée" if args.sans_publication else f"intervalle de publication : {interval} min"),
              flush=True)
        print("| dépôt | verdict | classé | attente de la publication | publication (exécution) | dépôt → publié |")
        print("|---|---|---|---|---|---|")
        for k in range(1, args.depots + 1):
            name = f"renvoi{k}_{original.name.split('_', 2)[-1]}"
            staged = _resubmission(original, work / name, days=k)
            before = _published_version(home)
            sha = sha256_of(staged)
            dropped_at = time.time()
            os.replace(staged, home.inbox / name)  # arrives whole, as an uploader's rename
            notice = None
            while notice is None:
                if time.time() - dropped_at > args.delai:
                    raise SystemExit(f"pas de verdict pour {name} après {args.delai} s ; voir {work / 'dagster.log'}")
                time.sleep(0.05)
                notice = notices.read(home, sha)
            verdict = time.time() - dropped_at
            if notice["statut"] != "accepte" or not (home.root / notice["rapport"]).is_file():
                raise SystemExit(f"{name} : verdict {notice['statut']} (attendu : accepte, avec son rapport)")
            entry = None
            while entry is None:
                if time.time() - dropped_at > args.delai:
                    raise SystemExit(f"pas de verdict pour {name} après {args.delai} s ; voir {work / 'dagster.log'}")
                time.sleep(0.1)
                entry = _ledger_entry(home, name)
            filed = time.time() - dropped_at
            if entry.get("statut") != "accepte":
                raise SystemExit(f"{name} : statut {entry.get('statut')} (attendu : accepte)")
            verdicts.append(verdict)
            filings.append(filed)
            if args.sans_publication:
                print(f"| {k} | {_s(verdict)} | {_s(filed)} | — | — | — |", flush=True)
                continue
            # The publication that includes the file is the first to start after its verdict (the sensor
            # looks at finished ingestion runs); the published copy is replaced by its last step.
            filed_at = dropped_at + filed
            run = None
            while run is None:
                if time.time() - dropped_at > args.delai:
                    raise SystemExit(f"pas de publication après {args.delai} s ; voir {work / 'dagster.log'}")
                time.sleep(0.5)
                run = _last_publication_run(dagster_home, filed_at)
            if _published_version(home) == before:
                raise SystemExit("la publication a réussi sans remplacer la copie publiée")
            profile, windows = _run_profile(dagster_home, run[2])
            profiles.append(profile)
            step_memory.append({step: memory.peak_between(*window) for step, window in windows.items()})
            duration = run[1] - run[0]
            published = run[1] - dropped_at
            wait = published - filed - duration
            waits.append(wait)
            runs.append(duration)
            totals.append(published)
            print(f"| {k} | {_s(verdict)} | {_s(filed)} | {_s(wait)} | {_s(duration)} | {_s(published)} |",
                  flush=True)
    finally:
        memory.stopped.set()
        stop_services([dagster], timeout=60)
        log.close()

    print()
    for label, values in (("verdict", verdicts), ("classé", filings), ("attente de la publication", waits),
                          ("publication (exécution)", runs), ("dépôt → publié", totals)):
        if values:
            print(f"- {label} : p50 {_s(statistics.median(values))}, p95 {_s(percentile(values, 95))} "
                  f"({formats.plural(len(values), 'dépôt')})")
    if profiles:
        print("\nProfil de la publication (Dagster, par étape ; p50 sur les dépôts) :\n")
        print("| étape | p50 | p95 |\n|---|---|---|")
        for step in sorted({k for p in profiles for k in p}, key=lambda k: -statistics.median(
                [p.get(k, 0.0) for p in profiles])):
            values = [p.get(step, 0.0) for p in profiles]
            if step.startswith("modeles_sql : dont ") and statistics.median(values) < PROFILE_MODEL_FROM_S:
                continue
            print(f"| {step} | {_s(statistics.median(values))} | {_s(percentile(values, 95))} |")
        print("\nMémoire de la publication par étape (pointe relevée pendant l'étape, la plus haute des dépôts) :\n")
        print("| étape | tous les processus | dont le plus gros processus |\n|---|---|---|")
        for step in sorted({k for m in step_memory for k in m}):
            total, largest = max(m.get(step, (0, 0)) for m in step_memory)
            print(f"| {step} | {formats.number(total / 1024)} Mo | {formats.number(largest / 1024)} Mo |")
        print()
    p50 = statistics.median(verdicts)
    print(f"- objectif « verdict p50 ≤ {formats.number(VERDICT_TARGET_S)} s » : {_s(p50)} — "
          f"{'atteint' if p50 <= VERDICT_TARGET_S else 'non atteint'}")
    if runs and args.chargement_initial:
        share = statistics.median(runs) / args.chargement_initial
        print(f"- objectif « publication après le changement d'un site ≤ 5 % du chargement initial "
              f"({_s(args.chargement_initial)}) » : {formats.percent(share * 100)} — "
              f"{'atteint' if share <= PUBLICATION_TARGET else 'non atteint'}")
    if runs and args.publication_petit:
        ratio = statistics.median(runs) / args.publication_petit
        print(f"- objectif « publication plate : ici / 53 sites ({_s(args.publication_petit)}) ≤ "
              f"{formats.number(FLATNESS_TARGET, 1)} » : {formats.number(ratio, 2)} — "
              f"{'atteint' if ratio <= FLATNESS_TARGET else 'non atteint'}")
    peak_mb = memory.peak_kb / 1024
    print(f"- objectif « mémoire de pointe < {formats.number(MEMORY_TARGET_MB)} Mo » (tous les processus de "
          f"dagster dev, relevés chaque demi-seconde) : {formats.number(peak_mb)} Mo — "
          f"{'atteint' if peak_mb < MEMORY_TARGET_MB else 'non atteint'}")
    print(f"Journal de Dagster : {work / 'dagster.log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
