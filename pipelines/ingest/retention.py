"""Retention (operations.md, "Retention"): what `pre-eval purger` and the daily schedule delete.

Rules, as of a reference date (a day in Europe/Paris):

- a refused file in `quarantine/` goes `PRE_RETENTION_QUARANTAINE_JOURS` days after it was received;
- an archived file goes `PRE_RETENTION_ARCHIVE_JOURS` days after it stopped being its site's snapshot
  in force: the day the accepted submission that replaced it was received. A site's accepted
  submissions replace one another in the order they were applied (`traite_le`), so each one's
  successor is the next accepted one of the same site. An `ignore`d file (older than the snapshot in
  force when it arrived) was never in force: it goes the same number of days after its own receipt.
  The snapshot in force keeps its file, however old;
- a run's staging folder (`staging/<run_id>/`, raw values read from the files) goes once the Dagster
  instance knows the run as finished, or does not know it at all (interrupted, crashed); never
  while the run is in progress.

Dates come from the ledger (`ingestion.depots`: `recu_le`, `traite_le`, `statut`, `en_vigueur`,
`chemin`), never from file times. The ledger is read under the warehouse's writer lock, for one query
on a read-only connection: a purge waits for a writer, and holds the lock for milliseconds. The
ledger rows, the reports, `registre/` and the journals are never deleted. A file of `quarantine/` or
`archive/` that the ledger does not know, a symbolic link, anything that is not a regular file, is
reported and left in place.

Every deletion is one JSON line of `journal/purges.jsonl`, written and synced *before* the file is
unlinked: a crash in between leaves a line for a file still there (the next purge deletes it and
writes a second line), never a file gone without a line. A deletion that then fails adds a line
`echec`. Paths are confined: each one is opened component by component from the data home with
`O_NOFOLLOW`, so no symbolic link, planted anywhere on the way, is followed out of the data home;
unlinking a name removes that name only.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

import duckdb

from pipelines import settings
from pipelines.common import formats
from pipelines.common.datahome import DataHome
from pipelines.ingest import precheck
from pipelines.warehouse.store import writer_lock

PARIS = ZoneInfo("Europe/Paris")
JOURNAL_NAME = "purges.jsonl"
LOCK_NAME = ".verrou-purge"
QUARANTINE, ARCHIVE, STAGING = "quarantine", "archive", "staging"
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
KIND_LABEL = {QUARANTINE: "quarantaine", ARCHIVE: "archive", STAGING: "espace de travail"}


def today() -> date:
    """Today in Europe/Paris (the day a purge applies the rules as of, by default)."""
    return datetime.now(tz=PARIS).date()


def parse_date(text: str) -> date:
    """A reference date written `AAAA-MM-JJ`; `ValueError` with a French message otherwise (the text is
    not echoed: it may come from a run's configuration)."""
    if not (isinstance(text, str) and _ISO_DAY.fullmatch(text)):
        raise ValueError("Date invalide : attendu AAAA-MM-JJ (par exemple 2026-03-31).")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("Date invalide : ce jour n'existe pas au calendrier (attendu AAAA-MM-JJ).") from None


def local_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


# --------------------------------------------------------------------------- the ledger


@dataclass(frozen=True)
class Record:
    """One row of the ledger, as the purge needs it."""

    sha256: str
    code_pre: str | None
    recu_le: datetime
    traite_le: datetime
    statut: str
    en_vigueur: bool
    chemin: str


def read_ledger(home: DataHome, wait_seconds: float | None = None) -> list[Record]:
    """Every row of `ingestion.depots` (empty when there is no warehouse yet)."""
    if not home.warehouse.exists():
        return []
    with writer_lock(home, wait_seconds):
        con = duckdb.connect(str(home.warehouse), read_only=True)
        try:
            if not con.execute("select 1 from duckdb_tables() where database_name = current_database() "
                               "and schema_name = 'ingestion' and table_name = 'depots'").fetchone():
                return []
            rows = con.execute("select sha256, code_pre, recu_le, traite_le, statut, en_vigueur, chemin "
                               "from ingestion.depots").fetchall()
        finally:
            con.close()
    return [Record(*row) for row in rows]


@dataclass(frozen=True)
class Due:
    """A file the rules send away as of the reference date (or one kept, with why, for anomalies)."""

    record: Record
    expires: date  # first day it may be deleted
    motif: str


@dataclass
class Assessment:
    due: list[Due] = field(default_factory=list)
    kept_anomalies: list[str] = field(default_factory=list)  # French lines


def assess(records: list[Record], as_of: date, quarantine_days: int, archive_days: int) -> Assessment:
    """Which recorded files have expired as of `as_of` (pure: no file is looked at)."""
    result = Assessment()
    successor: dict[str, Record] = {}
    by_site: dict[str, list[Record]] = {}
    for record in records:
        if record.statut == "accepte" and record.code_pre:
            by_site.setdefault(record.code_pre, []).append(record)
    for applied in by_site.values():
        applied.sort(key=lambda r: (r.traite_le, r.recu_le, r.sha256))
        for before, after in itertools.pairwise(applied):
            successor[before.sha256] = after
    for record in records:
        if record.statut == "refuse":
            received = local_day(record.recu_le)
            expires = received + timedelta(days=quarantine_days)
            motif = f"refusé reçu le {received.isoformat()}, conservé {quarantine_days} jours"
        elif record.statut == "ignore":
            received = local_day(record.recu_le)
            expires = received + timedelta(days=archive_days)
            motif = (f"ignoré (plus ancien que l'état en vigueur à son arrivée, jamais en vigueur) reçu le "
                     f"{received.isoformat()}, conservé {archive_days} jours")
        elif record.statut == "accepte" and not record.en_vigueur:
            after = successor.get(record.sha256)
            if after is None:
                result.kept_anomalies.append(
                    f"{record.chemin} : accepté, plus en vigueur, mais aucun dépôt remplaçant n'est connu au "
                    "registre — conservé")
                continue
            stopped = local_day(after.recu_le)
            expires = stopped + timedelta(days=archive_days)
            motif = (f"remplacé par le dépôt du site reçu le {stopped.isoformat()}, conservé {archive_days} jours "
                     "après")
        else:
            continue  # the snapshot in force keeps its file
        if as_of >= expires:
            result.due.append(Due(record, expires, motif))
    return result


# --------------------------------------------------------------------------- confined file access


class Unsafe(Exception):
    """A path the purge will not touch (French reason)."""


def _parts(chemin: str, area: str) -> list[str]:
    """The components of a ledger path, checked to lie inside `area` of the data home."""
    path = PurePosixPath(chemin)
    parts = list(path.parts)
    if (path.is_absolute() or len(parts) < 2 or parts[0] != area
            or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts)):
        raise Unsafe(f"chemin hors de {area}/")
    return parts


@contextlib.contextmanager
def _open_folder(home: DataHome, folders: list[str]) -> Iterator[int]:
    """A descriptor of the folder `home/folders[0]/folders[1]/…`, opened from the data home one
    component at a time without following any symbolic link (`Unsafe` if one is met on the way).
    `FileNotFoundError` when a folder is missing."""
    fd = os.open(home.root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in folders:
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                raise
            except OSError:
                raise Unsafe(f"« {part} » n'est pas un dossier ordinaire (lien symbolique ?)") from None
            os.close(fd)
            fd = nxt
        yield fd
    finally:
        os.close(fd)


def _tree_size(fd: int, name: str) -> tuple[int, int]:
    """Bytes and number of the entries other than folders under a folder, links not followed."""
    total = count = 0
    for _root, _dirs, files, root_fd in os.fwalk(name, dir_fd=fd, follow_symlinks=False):
        for file in files:
            count += 1
            with contextlib.suppress(OSError):
                info = os.stat(file, dir_fd=root_fd, follow_symlinks=False)
                if stat.S_ISREG(info.st_mode):
                    total += info.st_size
    return total, count


# --------------------------------------------------------------------------- the purge


@dataclass(frozen=True)
class Deletion:
    chemin: str  # relative to the data home
    kind: str  # quarantine | archive | staging
    sha256: str | None
    code_pre: str | None
    motif: str
    size: int


@dataclass
class PurgeResult:
    as_of: date
    simulation: bool
    deletions: list[Deletion] = field(default_factory=list)  # done, or that would be done
    left: list[str] = field(default_factory=list)  # French lines: left in place, and why
    failures: list[str] = field(default_factory=list)  # French lines: deletions that failed

    @property
    def total_size(self) -> int:
        return sum(d.size for d in self.deletions)

    def lines(self) -> list[str]:
        """The French report of the purge, one line per file, then the total."""
        day = formats.day(self.as_of)
        head = (f"Simulation de la purge au {day} : rien n'est supprimé." if self.simulation
                else f"Purge au {day}.")
        verb = "À supprimer" if self.simulation else "Supprimé"
        lines = [head]
        lines += [f"{verb} : {_shown(d.chemin)} ({KIND_LABEL[d.kind]}, {formats.size(d.size)}) — {d.motif}"
                  for d in self.deletions]
        lines += [f"Laissé en place : {line}" for line in self.left]
        lines += [f"Échec de suppression : {line}" for line in self.failures]
        if not self.deletions:
            lines.append("Rien à supprimer." if self.simulation else "Rien n'a été supprimé.")
        elif self.simulation:
            lines.append(f"Total : {formats.plural(len(self.deletions), 'élément')} à supprimer, "
                         f"{formats.size(self.total_size)}.")
        else:
            lines.append(f"Total : {formats.plural(len(self.deletions), 'élément supprimé', 'éléments supprimés')}, "
                         f"{formats.size(self.total_size)} libérés.")
        return lines


def purge(home: DataHome, as_of: date | None = None, *, simulation: bool = False, instance=None,
          quarantine_days: int | None = None, archive_days: int | None = None) -> PurgeResult:
    """Apply the retention rules as of `as_of` (default today, Europe/Paris).

    `instance`: the Dagster instance that knows the runs (`get_run_by_id`); without it, staging is
    left alone. One purge at a time per data home (a file lock); ingestion is never waited for but
    for the one query that reads the ledger.
    """
    config = settings.load()
    as_of = as_of or today()
    quarantine_days = quarantine_days or config.RETENTION_QUARANTAINE_JOURS
    archive_days = archive_days or config.RETENTION_ARCHIVE_JOURS
    result = PurgeResult(as_of, simulation)
    home.root.mkdir(parents=True, exist_ok=True)
    with (home.root / LOCK_NAME).open("a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            records = read_ledger(home)
            assessment = assess(records, as_of, quarantine_days, archive_days)
            result.left += assessment.kept_anomalies
            for due in sorted(assessment.due, key=lambda d: d.record.chemin):
                area = QUARANTINE if due.record.statut == "refuse" else ARCHIVE
                _purge_file(home, due, area, result)
            reported = {line.split(" : ")[0] for line in result.left}
            _report_unknown(home, {r.chemin for r in records}, reported, result)
            if instance is not None:
                _purge_staging(home, instance, result)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return result


def _purge_file(home: DataHome, due: Due, area: str, result: PurgeResult) -> None:
    chemin = due.record.chemin
    try:
        parts = _parts(chemin, area)
        with _open_folder(home, parts[:-1]) as fd:
            name = parts[-1]
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                return  # already deleted (a previous purge), or not yet filed
            if stat.S_ISLNK(info.st_mode):
                raise Unsafe("lien symbolique, jamais suivi")
            if not stat.S_ISREG(info.st_mode):
                raise Unsafe("n'est pas un fichier ordinaire")
            deletion = Deletion(chemin, area, due.record.sha256, due.record.code_pre, due.motif, info.st_size)
            _delete(home, result, deletion, lambda: os.unlink(name, dir_fd=fd))
    except FileNotFoundError:
        return
    except Unsafe as reason:
        result.left.append(f"{_shown(chemin)} : {reason} (registre : à supprimer — {due.motif})")


def _delete(home: DataHome, result: PurgeResult, deletion: Deletion, remove: Callable[[], None]) -> None:
    """Journal the deletion (fsynced) before `remove()` does it; a failure is journaled too and reported.
    In a simulation nothing is journaled nor removed: the deletion is only listed."""
    if not result.simulation:
        _journal(home, result.as_of, deletion)
        try:
            remove()
        except OSError as error:
            _journal(home, result.as_of, deletion, failure=error.strerror or str(error))
            result.failures.append(f"{deletion.chemin} : {error.strerror or error}")
            return
    result.deletions.append(deletion)


def _shown(path: str) -> str:
    """A path as printed: a name planted by someone else may hold control characters."""
    return "".join(c if c.isprintable() else "?" for c in path)


def _report_unknown(home: DataHome, known: set[str], reported: set[str], result: PurgeResult) -> None:
    """Anything in quarantine/ or archive/ that the ledger does not know (`known`: its paths), and any
    link: reported (unless already `reported`), never deleted."""
    for area in (QUARANTINE, ARCHIVE):
        top = home.root / area
        if top.is_symlink():
            result.left.append(f"{area}/ : lien symbolique, jamais suivi ni purgé")
            continue
        if not top.is_dir():
            continue
        for root, dirs, files in os.walk(top, followlinks=False):
            base = PurePosixPath(os.path.relpath(root, home.root))
            for name in sorted(dirs):
                if os.path.islink(os.path.join(root, name)):
                    result.left.append(f"{_shown(str(base / name))} : lien symbolique (dossier), jamais suivi")
            for name in sorted(files):
                relative = str(base / name)
                if _shown(relative) in reported:
                    continue
                if os.path.islink(os.path.join(root, name)):
                    result.left.append(f"{_shown(relative)} : lien symbolique, jamais suivi")
                elif relative not in known:
                    result.left.append(f"{_shown(relative)} : inconnu du registre des dépôts")


def _purge_staging(home: DataHome, instance, result: PurgeResult) -> None:
    try:
        with _open_folder(home, [STAGING]) as fd:
            entries = sorted(os.listdir(fd))
            for name in entries:
                chemin = f"{STAGING}/{name}"
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISDIR(info.st_mode):
                    result.left.append(f"{_shown(chemin)} : n'est pas un dossier d'exécution (lien ou fichier)")
                    continue
                if name == precheck.FOLDER:  # the inbox sensor's checks: only those no run will take over
                    _purge_prechecks(home, result)
                    continue
                run = instance.get_run_by_id(name)
                if run is not None and not run.is_finished:
                    result.left.append(f"{chemin} : exécution en cours ({run.status.value}), conservé")
                    continue
                size, files = _tree_size(fd, name)
                if not files:  # a finished run leaves its folder empty: removed, nothing to journal
                    if not result.simulation:
                        with contextlib.suppress(OSError):
                            shutil.rmtree(name, dir_fd=fd)
                    continue
                state = "inconnue de l'instance Dagster" if run is None else f"terminée ({run.status.value})"
                deletion = Deletion(chemin, STAGING, None, None,
                                    f"espace de travail d'une exécution {state}, données brutes lues", size)
                _delete(home, result, deletion, lambda name=name: shutil.rmtree(name, dir_fd=fd))
    except FileNotFoundError:
        return
    except Unsafe:
        result.left.append(f"{STAGING}/ : lien symbolique, jamais suivi ni purgé")


def _purge_prechecks(home: DataHome, result: PurgeResult) -> None:
    for path in precheck.leftovers(home):
        chemin = str(path.relative_to(home.root))
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        deletion = Deletion(chemin, STAGING, None, None,
                            "contrôle anticipé d'un fichier qui n'attend plus dans la boîte de dépôt, "
                            "données brutes lues", size)
        _delete(home, result, deletion, lambda path=path: shutil.rmtree(path))


def remove_leftover_staging(home: DataHome, instance) -> PurgeResult:
    """Only the staging rule, journaled like any purge: an ingestion run calls it as it starts, so that
    a crashed run's raw values go at the next run (operations.md). Never waits: when a purge is
    running, that purge removes them."""
    result = PurgeResult(today(), simulation=False)
    home.root.mkdir(parents=True, exist_ok=True)
    with (home.root / LOCK_NAME).open("a+") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return result
        try:
            _purge_staging(home, instance, result)
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return result


# --------------------------------------------------------------------------- the journal


def _journal(home: DataHome, as_of: date, deletion: Deletion, *, failure: str | None = None) -> None:
    """Append one line to `journal/purges.jsonl` and sync it (and its folder) to disk."""
    home.journal.mkdir(parents=True, exist_ok=True)
    line = {"evenement": "echec" if failure else "suppression",
            "purge_le": datetime.now(tz=UTC).isoformat(timespec="seconds"),
            "date_reference": as_of.isoformat(), "chemin": deletion.chemin, "nature": KIND_LABEL[deletion.kind],
            "sha256": deletion.sha256, "code_pre": deletion.code_pre, "taille_octets": deletion.size,
            "motif": deletion.motif}
    if failure:
        line["erreur"] = failure
    fd = os.open(home.journal / JOURNAL_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    folder = os.open(home.journal, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def read_journal(home: DataHome) -> list[dict]:
    """The purge journal's lines, oldest first."""
    path = home.journal / JOURNAL_NAME
    if not path.is_file():
        return []
    return [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines() if text.strip()]
