"""Lifecycle of a submission: stage, check, then file it away (quarantine or archive + apply).

Called by the Dagster assets of `pipelines.defs.ingestion`; each step works on the files of one
run, under `$PRE_HOME/staging/<run_id>/<sha256>/`. Order of writes, for crash safety: the
warehouse transaction (data + ledger row) commits first, then the file moves, then the ledger
marker is written. A file found in the inbox whose content is already recorded in the warehouse
is therefore a half-filed one: it is filed where the record says, without a new record.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path

import duckdb
import polars as pl

from pipelines import settings
from pipelines.access import portal
from pipelines.common import progress, timings, workers
from pipelines.common.datahome import PRIVATE_FILE_MODE, DataHome, share_dir, share_file
from pipelines.contracts import notices
from pipelines.contracts import report as reports
from pipelines.contracts.findings import Findings
from pipelines.contracts.model import DATA_TABLES, Contracts, load_contracts
from pipelines.contracts.reader import LINE, Submission, peek_site, read_submission
from pipelines.contracts.referential import load_sites
from pipelines.contracts.validator import Context, Report, day_of_receipt, validate_many
from pipelines.ingest import precheck
from pipelines.ingest.inbox import InboxFile, ledger_entry, log_arrival, write_ledger
from pipelines.ingest.pseudonym import load_key, pseudonymise_tables, remember_key
from pipelines.warehouse.store import connect

UNKNOWN_SITE = "INCONNU"
_CODE_PRE = re.compile(r"^PRE([0-9]{5}|2[AB][0-9]{3})$")
STATUS_LABEL = {"accepte": "ACCEPTÉ", "refuse": "REFUSÉ", "ignore": "IGNORÉ"}


def staging_root(home: DataHome, run_id: str) -> Path:
    return home.root / "staging" / run_id


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[-120:] or "fichier"


def _stem(file: InboxFile) -> str:
    return f"{file.received_at:%Y%m%d-%H%M%S}_{file.sha256[:12]}_{_safe_name(file.name)}"


def site_folder(code_pre: str | None, known: set[str]) -> str:
    """Folder name for a site's files: only a known, well-formed code (never raw input)."""
    return code_pre if code_pre and _CODE_PRE.match(code_pre) and code_pre in known else UNKNOWN_SITE


def _manifest_code(sub: Submission) -> str | None:
    code = sub.manifest.get("code_pre")
    return code if isinstance(code, str) and _CODE_PRE.match(code) else None


# --------------------------------------------------------------------------- 1. stage


@dataclass
class Staged:
    file: InboxFile
    folder: Path

    @cached_property
    def meta(self) -> dict:
        """What reading found (`lecture.json`), read once: batching, checking and metadata use it."""
        return json.loads((self.folder / "lecture.json").read_text(encoding="utf-8"))


def stage(home: DataHome, run_id: str, files: list[InboxFile]) -> list[Staged]:
    """Read each file of the run into typed frames kept under the run's staging folder.

    Files whose content is already recorded (a crash between the record and the move) are
    filed where the record says, and not staged again.
    """
    recorded = _recorded(home, [f.sha256 for f in files])
    root = staging_root(home, run_id)
    todo = []
    for file in files:
        if file.sha256 in recorded:
            _finish_filing(home, file, recorded[file.sha256])
        elif file.path(home).is_file():  # else handled meanwhile by another run
            todo.append(file)
    staged = []
    # Files the inbox sensor already read and checked (`pipelines.ingest.precheck`): their folder is
    # taken over as it is (one rename), not read again.
    adopted = [f for f in todo if precheck.adopt(home, f, root / f.sha256)]
    staged += [Staged(f, root / f.sha256) for f in adopted]
    todo = [f for f in todo if f not in adopted]
    with progress.phase("Lecture", len(todo)) as bar, timings.measure("lecture"):
        jobs = [read_job(home, f, root / f.sha256) for f in todo]
        for file, rows in zip(todo, workers.ordered_map(_read_to_staging, jobs), strict=True):
            staged.append(Staged(file, root / file.sha256))
            timings.add_rows("lecture", rows)
            bar.advance(1, rows=rows)
    return staged


def read_job(home: DataHome, file: InboxFile, folder: Path) -> tuple[str, str, str, dict]:
    """What `_read_to_staging` and `read_ahead` need to read `file` into `folder`."""
    return (str(file.path(home)), file.name, str(folder),
            {"fichier": file.name, "sha256": file.sha256, "taille": file.size, "mtime": file.mtime})


def read_ahead(job: tuple[str, str, str, dict]) -> tuple[str | None, int]:
    """Read a file whole, before its run, into the early-check area (`staging/controle/<sha256>/`), which
    its run takes over (`precheck.adopt`) instead of reading the file again. Returns the site code its
    manifest names (as `peek_site` would) and its rows. A folder already read for this very file is kept.

    The reading is written in a private folder and put in place whole (`precheck.settle`): the sensor may
    read the same file at the same moment, and neither clears nor half-writes the other's folder. Anything
    that stops the writing leaves the reading to the run: the manifest alone is read for the routing."""
    path, _, folder_name, file_meta = job
    folder = Path(folder_name)
    file = InboxFile(file_meta["fichier"], file_meta["taille"], file_meta["mtime"], file_meta["sha256"])
    if precheck.matches(folder, file):
        with contextlib.suppress(OSError, ValueError, KeyError):
            meta = json.loads((folder / "lecture.json").read_text(encoding="utf-8"))
            return meta["code_pre"], sum(meta["raw_rows"].values())
    written = precheck.temporary(folder)
    try:
        rows = _read_to_staging((path, job[1], str(written), file_meta))
        code = json.loads((written / "lecture.json").read_text(encoding="utf-8"))["code_pre"]
    except OSError:
        shutil.rmtree(written, ignore_errors=True)
        return peek_site(path), 0
    precheck.settle(written, folder, file)  # or the sensor's reading of the same file, if it came first
    return code, rows


def _read_to_staging(job: tuple[str, str, str, dict]) -> int:
    """Read one file into typed frames under its staging folder (in a worker process for big runs)."""
    path, name, folder_name, file_meta = job
    sub = read_submission(Path(path), load_contracts(), name=name)
    code = sub.manifest.get("code_pre")
    folder = Path(folder_name)
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in sub.tables.items():
        frame.write_parquet(folder / f"{table}.parquet")
    meta = {
        **file_meta, "kind": sub.kind, "unusable": sorted(sub.unusable), "manifest_lines": sub.manifest_lines,
        "raw_rows": sub.raw_rows, "type_refused": sub.type_refused, "findings": sub.findings.to_list(),
        "tables": sorted(sub.tables),
        "code_pre": code if isinstance(code, str) else None,  # the manifest's, as read: for routing
    }
    (folder / "lecture.json").write_text(json.dumps(meta, ensure_ascii=False, default=str), encoding="utf-8")
    return sum(sub.raw_rows.values())


def _recorded(home: DataHome, shas: list[str]) -> dict[str, dict]:
    if not shas or not home.warehouse.exists():
        return {}
    with connect(home) as con:
        rows = con.execute(
            "select sha256, statut, chemin from ingestion.depots where sha256 in (select unnest(?))",
            [shas]).fetchall()
    return {sha: {"statut": statut, "chemin": chemin} for sha, statut, chemin in rows}


def _finish_filing(home: DataHome, file: InboxFile, record: dict) -> None:
    source = file.path(home)
    target = home.root / record["chemin"]
    if source.exists():
        if target.exists():  # the recorded copy is already there: this one is a duplicate
            log_arrival(home, file, "doublon", identique_a=record["chemin"])
            source.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, target)
            _private(target)
    write_ledger(home, file.sha256, record)


def load_staged(staged: Staged, contracts: Contracts) -> Submission:
    meta = staged.meta
    tables = {name: pl.read_parquet(staged.folder / f"{name}.parquet", glob=False) for name in meta["tables"]}
    return Submission(
        source=meta["fichier"], kind=meta["kind"], tables=tables,
        findings=Findings.from_list(meta["findings"], contracts.rules_by_code),
        unusable=set(meta["unusable"]), manifest_lines=meta["manifest_lines"], raw_rows=meta["raw_rows"],
        type_refused=meta["type_refused"])


def staged_in_run(home: DataHome, run_id: str) -> list[Staged]:
    root = staging_root(home, run_id)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if (p / "lecture.json").is_file()):
        meta = json.loads((folder / "lecture.json").read_text(encoding="utf-8"))
        found.append(Staged(InboxFile(meta["fichier"], meta["taille"], meta["mtime"], meta["sha256"]), folder))
    return found


def cleanup_staging(home: DataHome, instance) -> None:
    """Remove the staging folders of runs that are over (a crashed run leaves its folder)."""
    root = home.root / "staging"
    if not root.is_dir():
        return
    for folder in root.iterdir():
        if folder.name == precheck.FOLDER:  # the sensor's checks: only those no run will take over
            precheck.remove(precheck.leftovers(home))
            continue
        run = instance.get_run_by_id(folder.name)
        if run is None or run.is_finished:
            shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- 2. check


@dataclass
class Verdict:
    file: InboxFile
    code_pre: str | None
    accepted: bool
    blocking: int
    warnings: int
    report_path: str  # relative to the data home
    rules: list[str]


def check(home: DataHome, run_id: str, contracts: Contracts | None = None) -> list[Verdict]:
    """Run the contracts on the run's staged files; write every report; file the refused ones."""
    contracts = contracts or load_contracts()
    staged = staged_in_run(home, run_id)
    if not staged:
        return []
    sites = load_sites(home)
    known = set(sites["code_pre"].to_list())
    names = dict(zip(sites["code_pre"].to_list(), sites["nom"].to_list(), strict=True))
    verdicts: list[Verdict] = []
    with connect(home) as con, progress.phase("Contrôle", len(staged)) as bar:
        in_force = in_force_counts(con)
        precheck.write_in_force(home, in_force)
        staged = [item for item in staged if _still_pending(home, con, item)]
        # A verdict the sensor already gave stands when it was given against the same snapshot in force
        # (the only fact of the warehouse a check reads); otherwise the file is checked again.
        ready = [item for item in staged if precheck.still_valid(item.folder, in_force)]
        for item in ready:
            verdicts.append(_verdict_object(item))
            bar.advance(1, rows=sum(item.meta["raw_rows"].values()))
        todo = [item for item in staged if item not in ready]
        lots = _lots(todo)
        # GX runs on pandas, one core at a time: with several batches, each is checked in a worker
        # process (as many at once as there are workers, each batch capped at PRE_LOT_LIGNES rows).
        jobs = [(str(home.root), lot, contracts, known, names, in_force) for lot in lots]
        with timings.measure("controle"):
            for lot, judged in zip(lots, workers.ordered_map(_judge_lot, jobs, parallel_from=2), strict=True):
                rows = sum(sum(item.meta["raw_rows"].values()) for item in lot)
                timings.add_rows("controle", rows)
                verdicts += judged
                bar.advance(len(lot), rows=rows)
        by_sha = {item.file.sha256: item for item in staged}
        for verdict in verdicts:
            if not verdict.accepted:
                _file_refused(home, con, by_sha[verdict.file.sha256], _verdict(by_sha[verdict.file.sha256])["folder"])
    return verdicts


def check_early(home: DataHome, files: list[InboxFile], *, budget_s: float = precheck.BUDGET_S,
                contracts: Contracts | None = None) -> list[Verdict]:
    """The sensor's early verdicts (`pipelines.ingest.precheck`): read and check each file in this
    process, one at a time, without the warehouse; files too big, or past the time budget, are left to
    their run. A file already checked is not checked again."""
    started = time.monotonic()
    contracts = contracts or load_contracts()
    sites = load_sites(home)
    known = set(sites["code_pre"].to_list())
    names = dict(zip(sites["code_pre"].to_list(), sites["nom"].to_list(), strict=True))
    in_force = precheck.read_in_force(home)
    if in_force is None and not home.warehouse.exists():
        in_force = {}  # no warehouse yet: nothing is in force
    verdicts = []
    for file in files:
        if time.monotonic() - started > budget_s:
            break
        if file.size > precheck.MAX_BYTES or precheck.done(home, file) or not file.path(home).is_file():
            continue
        # Read and checked in a private folder, put in place whole once its verdict is written: a run (or
        # `pre-eval process` reading ahead) never meets a half-written folder.
        target = precheck.folder(home, file.sha256)
        written = precheck.temporary(target)
        try:
            _read_to_staging(read_job(home, file, written))
            item = Staged(file, written)
            verdicts += judge(home, [item], [load_staged(item, contracts)], contracts, known, names, in_force)
        except BaseException:
            shutil.rmtree(written, ignore_errors=True)
            raise
        precheck.settle(written, target, file)
    return verdicts


def in_force_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Pathways of each site's snapshot in force (the one warehouse fact a contract check reads)."""
    return dict(con.execute("select code_pre, nb_parcours from ingestion.depots where en_vigueur").fetchall())


def judge(home: DataHome, lot: list[Staged], subs: list[Submission], contracts: Contracts, known: set[str],
          names: dict[str, str], in_force: dict[str, int] | None) -> list[Verdict]:
    """Check staged files against the contracts; write each report, its verdict (`verdict.json`) and the
    verdict's notice (`pipelines.contracts.notices`). Touches neither the warehouse nor the files themselves."""
    # The day of receipt is the file's (the ledger's recu_le), not the day the check runs.
    contexts = [Context(known_sites=known, in_force_parcours=(in_force or {}).get(_manifest_code(s)),
                        received_on=day_of_receipt(item.file.received_at))
                for item, s in zip(lot, subs, strict=True)]
    reps = validate_many(subs, contexts, contracts)
    verdicts = []
    for item, sub, rep in zip(lot, subs, reps, strict=True):
        folder = site_folder(rep.code_pre, known)
        report_path = _write_report(home, item.file, folder, rep, names.get(rep.code_pre or ""))
        code = _manifest_code(sub)
        verdict = {
            "accepted": rep.accepted, "blocking": rep.blocking_count, "warnings": rep.warning_count,
            "report": report_path, "code_pre": code, "folder": folder, "rules": sorted(rep.findings.rules()),
            "date_extraction": rep.date_extraction.isoformat() if rep.date_extraction else None,
            "date_debut_donnees": _date_or_none(sub.manifest.get("date_debut_donnees")),
            "rows": {t: (None if t in sub.unusable else sub.raw_rows.get(t)) for t in DATA_TABLES},
            precheck.IN_FORCE_USED: precheck.used(in_force, code),
        }
        (item.folder / "verdict.json").write_text(json.dumps(verdict), encoding="utf-8")
        notices.write(home, item.file.sha256, verdict)
        verdicts.append(_verdict_object(item))
    return verdicts


def _judge_lot(job: tuple[str, list[Staged], Contracts, set[str], dict[str, str], dict[str, int] | None]
               ) -> list[Verdict]:
    """Check one batch of staged files (`judge`), in a worker process for runs of several batches."""
    root, lot, contracts, known, names, in_force = job
    subs = [load_staged(item, contracts) for item in lot]
    return judge(DataHome(Path(root)), lot, subs, contracts, known, names, in_force)


def _verdict_object(item: Staged) -> Verdict:
    v = _verdict(item)
    return Verdict(item.file, v["code_pre"], v["accepted"], v["blocking"], v["warnings"], v["report"], v["rules"])


def _lots(staged: list[Staged]) -> list[list[Staged]]:
    """Files in batches of at most `PRE_LOT_LIGNES` rows: one GX run per table and batch keeps the
    fixed cost of GX low, and the cap keeps memory flat whatever the number of files.

    When more than one batch is needed, they are checked in the worker processes: their number is then
    rounded up to a multiple of the workers and their rows evened out (4,5 million rows, a cap of a million
    and two workers: six batches of about 750 000 rather than four full ones and a half-empty fifth that
    one worker would check alone while the other waits)."""
    config = settings.load()
    cap = config.LOT_LIGNES
    sizes = [sum(item.meta["raw_rows"].values()) for item in staged]
    total = sum(sizes)
    count = -(-total // cap)
    if count <= 1:
        return [staged] if staged else []
    if config.workers > 1:
        count = -(-count // config.workers) * config.workers
    target = total / count
    lots: list[list[Staged]] = [[]]
    size = 0
    for item, rows in zip(staged, sizes, strict=True):
        if lots[-1] and (size + rows / 2 > target or size + rows > cap):  # the batch nearest its target
            lots.append([])
            size = 0
        lots[-1].append(item)
        size += rows
    return [lot for lot in lots if lot]


def _date_or_none(value) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def _write_report(home: DataHome, file: InboxFile, folder: str, rep: Report, site_name: str | None) -> str:
    target = share_dir(home.reports / folder)  # reports/ is read by the dashboard's group
    stem = _stem(file)
    (target / f"{stem}.json").write_text(
        reports.to_json(rep, {"sha256": file.sha256, "recu_le": file.received_at.isoformat()}), encoding="utf-8")
    (target / f"{stem}.md").write_text(reports.to_markdown(rep, site_name), encoding="utf-8")
    share_file(target / f"{stem}.json")
    share_file(target / f"{stem}.md")
    return str((target / f"{stem}.md").relative_to(home.root))


def _still_pending(home: DataHome, con: duckdb.DuckDBPyConnection, item: Staged) -> bool:
    """False when another writer (a concurrent run) filed this content meanwhile."""
    recorded = con.execute("select 1 from ingestion.depots where sha256 = ?", [item.file.sha256]).fetchone()
    if recorded or not item.file.path(home).is_file():
        shutil.rmtree(item.folder, ignore_errors=True)
        return False
    return True


def _verdict(item: Staged) -> dict:
    return json.loads((item.folder / "verdict.json").read_text(encoding="utf-8"))


def _record(home: DataHome, con: duckdb.DuckDBPyConnection, item: Staged, statut: str, in_force: bool,
            chemin: str) -> None:
    v = _verdict(item)
    rows = v["rows"]
    con.execute(
        "insert into ingestion.depots (sha256, fichier, code_pre, date_extraction, date_debut_donnees, recu_le, "
        "traite_le, statut, en_vigueur, nb_bloquants, nb_avertissements, nb_parcours, nb_actions, nb_bilans, "
        "nb_attentes, rapport, chemin, depose_par) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [item.file.sha256, item.file.name, v["code_pre"], v["date_extraction"], v["date_debut_donnees"],
         item.file.received_at, datetime.now(tz=UTC), statut, in_force, v["blocking"], v["warnings"],
         rows["parcours"], rows["actions"], rows["bilans"], rows["attentes"], v["report"], chemin,
         portal.sender_of(home, item.file.sha256)])


def _private(path: Path) -> None:
    """A filed submission is owner-only, whatever mode its uploader gave it (deploy/systemd/README.md)."""
    with contextlib.suppress(PermissionError):  # dropped by another account (the portal's): its folder guards it
        path.chmod(PRIVATE_FILE_MODE)


def _move(home: DataHome, item: Staged, destination: Path) -> str:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(item.file.path(home), destination)
    _private(destination)
    return str(destination.relative_to(home.root))


def _file_refused(home: DataHome, con: duckdb.DuckDBPyConnection, item: Staged, folder: str) -> None:
    destination = home.quarantine / folder / _stem(item.file)
    chemin = str(destination.relative_to(home.root))
    _record(home, con, item, "refuse", False, chemin)  # autocommit: recorded before the file moves
    _move(home, item, destination)
    _close(home, item, "refuse", chemin)


def _close(home: DataHome, item: Staged, statut: str, chemin: str) -> None:
    write_ledger(home, item.file.sha256, {"statut": statut, "chemin": chemin, "fichier": item.file.name})
    log_arrival(home, item.file, statut, chemin=chemin)
    shutil.rmtree(item.folder, ignore_errors=True)


# --------------------------------------------------------------------------- 3. apply


@dataclass
class Applied:
    file: InboxFile
    code_pre: str
    statut: str  # accepte | ignore
    rows: dict[str, int]


# Submissions loaded per transaction when a run loads many (a national load: 530). Each commit of DuckDB
# writes and syncs its log: one per submission cost about 5 s of a national load (docs/performance.md).
LOAD_GROUP = 16


def apply(home: DataHome, run_id: str, contracts: Contracts | None = None) -> list[Applied]:
    """Replace each site's snapshot by its accepted submissions, in (date_extraction, arrival) order.

    A submission's four tables and its ledger row change together or not at all: submissions are
    loaded in transactions of up to `LOAD_GROUP` of them, and a failure undoes its whole transaction
    (those submissions stay staged, their files in the inbox, for the next run). Files are moved once
    their transaction has committed. A submission strictly older than the snapshot in force is archived
    as `ignore`.
    """
    contracts = contracts or load_contracts()
    staged = [s for s in staged_in_run(home, run_id) if (s.folder / "verdict.json").is_file()]
    verdicts = {s.folder: _verdict(s) for s in staged}  # read once: sorting and applying both need them
    accepted = [s for s in staged if verdicts[s.folder]["accepted"]]
    accepted.sort(key=lambda s: (verdicts[s.folder]["code_pre"], verdicts[s.folder]["date_extraction"],
                                 s.file.mtime, s.file.name))
    if not accepted:
        return []
    identifiers = identifier_columns(contracts)
    done: list[Applied] = []
    group: list[_Loaded] = []  # loaded in the open transaction, filed once it commits
    with connect(home) as con, progress.phase("Chargement", len(accepted)) as bar, \
            timings.measure("chargement"):
        # Read under the writer lock and checked against the warehouse's fingerprint (never a new
        # key beside pseudonyms made with another one): docs/exploitation/cle.md.
        key = load_key(home, con)
        # Pseudonymising is per file and CPU-bound: workers prepare the next files while this
        # process, the only writer, loads them.
        jobs = [(str(item.folder), verdicts[item.folder]["code_pre"], key, identifiers) for item in accepted]
        # Fewer automatic checkpoints while loading many files (each commit stays durable in
        # the write-ahead log); one checkpoint at the end.
        con.execute("set checkpoint_threshold = '1GB'")
        inserts = _Inserts(key)
        con.begin()
        try:
            for item, _ in zip(accepted, workers.ordered_map(_prepare, jobs), strict=True):
                rows = sum(n or 0 for n in verdicts[item.folder]["rows"].values())
                timings.add_rows("chargement", rows)
                loaded = _load_one(home, con, item, verdicts[item.folder], inserts)
                if loaded is not None:
                    group.append(loaded)
                bar.advance(1, rows=rows if loaded else 0)
                if len(group) >= LOAD_GROUP:
                    inserts.flush(con)
                    con.commit()
                    con.begin()  # first: a failure while filing must find a transaction to roll back
                    done += [_file_away(home, loaded) for loaded in group]
                    group = []
            inserts.flush(con)
        except BaseException:
            con.rollback()
            raise
        con.commit()
        done += [_file_away(home, loaded) for loaded in group]
        precheck.write_in_force(home, in_force_counts(con))  # what the sensor's next checks compare with
    return done


def identifier_columns(contracts: Contracts) -> dict[str, list[str]]:
    """Each site table's identifier columns (the ones pseudonymised)."""
    return {t: [c.name for c in contracts.tables[t].columns if c.nature == "identifiant"] for t in DATA_TABLES}


def ready_frames(tables: dict[str, pl.DataFrame], code: str, key: bytes,
                 identifiers: dict[str, list[str]]) -> dict[str, pl.DataFrame]:
    """The rows of a submission as the warehouse holds them: read tables (`Submission.tables`),
    line numbers dropped, the site's code added, identifiers pseudonymised."""
    frames = {t: tables[t].drop(LINE).with_columns(pl.lit(code).alias("code_pre")) for t in DATA_TABLES}
    return pseudonymise_tables(frames, identifiers, code, key)


def _prepare(job: tuple[str, str, bytes, dict[str, list[str]]]) -> None:
    """Write the pseudonymised tables of one staged file (`<table>.pret.parquet`)."""
    folder, code, key, identifiers = job
    tables = {t: pl.read_parquet(Path(folder) / f"{t}.parquet", glob=False) for t in DATA_TABLES}
    for table, frame in ready_frames(tables, code, key, identifiers).items():
        # lz4 rather than zstd: read once, by the insert that follows; a third less time to write
        frame.write_parquet(Path(folder) / f"{table}.pret.parquet", compression="lz4")


def replace_site_rows(con: duckdb.DuckDBPyConnection, code: str, frames: dict[str, pl.DataFrame | Path],
                      has_rows: bool = True) -> None:
    """Replace a site's rows of the four tables by `frames` (inside the caller's transaction); a table may
    be given as the path of a Parquet file (`insert_rows`)."""
    if has_rows:
        delete_site_rows(con, code, list(frames))
    for table, frame in frames.items():
        insert_rows(con, table, [frame])


def delete_site_rows(con: duckdb.DuckDBPyConnection, code: str, tables: Iterable[str] = DATA_TABLES) -> None:
    for table in tables:
        con.execute(f"delete from ingestion.{table} where code_pre = ?", [code])


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, sources: list[pl.DataFrame | Path]) -> None:
    """Insert rows into `ingestion.<table>`: frames, or Parquet files read by DuckDB itself in one statement
    (no copy through polars; columns matched by name), unless a path holds a character DuckDB would take
    for a wildcard (`*`, `?`, `[`: a data home may be anywhere): then polars reads it, wildcards off."""
    paths = [str(s) for s in sources if isinstance(s, Path) and not any(c in str(s) for c in "*?[")]
    if paths:
        con.execute(f"insert into ingestion.{table} by name select * from read_parquet(?, union_by_name = true)",
                    [paths])
    for source in sources:
        if isinstance(source, Path) and str(source) in paths:
            continue
        rows = pl.read_parquet(source, glob=False) if isinstance(source, Path) else source  # noqa: F841 - DuckDB reads it
        con.execute(f"insert into ingestion.{table} by name select * from rows")


class _Inserts:
    """The prepared files of the submissions loaded in the open transaction, inserted together: one
    statement per table (rather than four per submission: 2 120 for a national load, about 7 ms each)."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.sites: set[str] = set()
        self.files: dict[str, list[Path]] = {t: [] for t in DATA_TABLES}

    def add(self, code: str, folder: Path) -> None:
        self.sites.add(code)
        for table in DATA_TABLES:
            self.files[table].append(folder / f"{table}.pret.parquet")

    def flush(self, con: duckdb.DuckDBPyConnection) -> None:
        """Insert what waits (before a commit, and before another submission of one of these sites)."""
        if not self.sites:
            return
        for table, files in self.files.items():
            insert_rows(con, table, files)
        remember_key(con, self.key)  # the first load records the key's fingerprint, atomically with its rows
        self.sites.clear()
        self.files = {t: [] for t in DATA_TABLES}


@dataclass
class _Loaded:
    """A submission loaded in the open transaction, to be filed once it commits."""
    item: Staged
    code_pre: str
    statut: str
    destination: Path
    rows: dict[str, int]


def _load_one(home: DataHome, con: duckdb.DuckDBPyConnection, item: Staged, v: dict,
              inserts: _Inserts) -> _Loaded | None:
    """Load one submission in the caller's open transaction: its site's rows deleted, its rows queued in
    `inserts`, its ledger row written (or only its ledger row, `ignore`, when it is older than the snapshot
    in force). None when another run filed it meanwhile."""
    if not _still_pending(home, con, item):
        return None
    code = v["code_pre"]
    if code in inserts.sites:
        inserts.flush(con)  # the site's earlier submission of this transaction: its rows in before the delete
    current = con.execute("select date_extraction from ingestion.depots where code_pre = ? and en_vigueur",
                          [code]).fetchone()
    # A site's first snapshot has nothing to delete: skip scanning the national tables.
    has_rows = current is not None or con.execute(
        "select 1 from ingestion.depots where code_pre = ? and statut = 'accepte' limit 1",
        [code]).fetchone() is not None
    destination = home.archive / v["folder"] / _stem(item.file)
    chemin = str(destination.relative_to(home.root))
    if current and current[0] and date.fromisoformat(v["date_extraction"]) < current[0]:
        _record(home, con, item, "ignore", False, chemin)
        return _Loaded(item, code, "ignore", destination, v["rows"])
    if has_rows:
        delete_site_rows(con, code)
    inserts.add(code, item.folder)
    con.execute("update ingestion.depots set en_vigueur = false where code_pre = ? and en_vigueur", [code])
    _record(home, con, item, "accepte", True, chemin)
    return _Loaded(item, code, "accepte", destination, v["rows"])


def _file_away(home: DataHome, loaded: _Loaded) -> Applied:
    """Once its load committed: the file archived, its ledger marker written, its staging removed."""
    _move(home, loaded.item, loaded.destination)
    _close(home, loaded.item, loaded.statut, str(loaded.destination.relative_to(home.root)))
    return Applied(loaded.item.file, loaded.code_pre, loaded.statut, loaded.rows)


# --------------------------------------------------------------------------- summaries


def summary_lines(home: DataHome, shas: list[str]) -> list[str]:
    """One French line per submission, from the warehouse's ledger."""
    if not shas:
        return []
    with connect(home) as con:
        rows = con.execute(
            "select d.fichier, d.statut, d.code_pre, s.nom, d.nb_parcours, d.nb_actions, d.nb_bilans, d.nb_attentes, "
            "d.nb_bloquants, d.nb_avertissements, d.rapport from ingestion.depots d "
            "left join ingestion.sites s using (code_pre) where d.sha256 in (select unnest(?)) order by d.recu_le",
            [shas]).fetchall()
    from pipelines.common import formats

    lines = []
    for fichier, statut, code, nom, p, a, b, d, nb_b, nb_a, rapport in rows:
        site = f"{code} ({nom})" if code and nom else (code or "site non lu")
        counts = ", ".join(formats.plural(n, one, many) if n is not None else f"— {many}"
                           for n, one, many in ((p, "parcours", "parcours"), (a, "action", "actions"),
                                                (b, "bilan", "bilans"), (d, "demande", "demandes")))
        lines.append(f"{fichier} : {STATUS_LABEL[statut]} — {site}, {counts} ; "
                     f"{formats.plural(nb_b, 'anomalie bloquante', 'anomalies bloquantes')}, "
                     f"{formats.plural(nb_a, 'avertissement')} — rapport : {rapport}")
    return lines


def already_handled(home: DataHome, sha256: str) -> bool:
    return ledger_entry(home, sha256) is not None
