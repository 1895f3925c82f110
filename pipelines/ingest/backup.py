"""Backup and restore of the data home (`pre-eval sauvegarder`, `pre-eval restaurer`).

What a backup holds, and why:

- `warehouse.duckdb`, copied under the writer lock after a `CHECKPOINT`. Every writer
  (ingestion, publication, replay, key rotation) takes that lock around its whole session, and the
  filing of a submission (the warehouse row, the file moved into `archive/`, the ledger marker,
  the report) happens inside one session; the purge deletes under a lock of its own. Holding both
  for the whole backup gives a warehouse and folders that agree with each other. A byte copy of the
  checkpointed file was preferred to `EXPORT DATABASE` or `COPY FROM DATABASE`: it keeps everything
  the file holds (views, sequences, the key's fingerprint) without a second definition of the schema
  to keep in step, it is as fast as the disk, and its SHA-256 can be checked before anything is
  restored. (An export would survive a DuckDB storage change; the restore checks that the file opens
  with the DuckDB installed, and a backup is restored with the pre-eval version that wrote it.)
- `archive/` (the snapshots in force are needed to replay a site), `registre/`, `reports/`,
  `referentiel/`, `acces/`, `journal/`, `editions/`, `portail/envois/` (who sent which content
  through the portal: `marts.depots.depose_par` is read from it again by a replay).
- `secret/` but for the pseudonymisation key: the key of the statistical-secrecy draws and the
  masks already solved (`masques/`), without which a restore would draw other complements (two
  publications compared could then reveal more) and solve every period again (hours at national
  scale). The pseudonymisation key itself (and a rotation's pending new key) only with
  `--avec-cle`: the documentation asks for it to be kept apart, offline.

Not backed up: `inbox/` (transient: a file waiting there is sent again by its site),
`quarantine/` (refused files may hold what should never have been sent: they are deleted after
30 days and never copied elsewhere), `staging/` (a run's scratch), `published/` (rebuilt from the
warehouse by the restore), `dagster/` (run history; a production instance keeps it in PostgreSQL,
saved with `pg_dump`), `portail/verifications/` (unsent private copies, deleted after 24 h).

The manifest `sauvegarde.json` lists every file with its size, SHA-256 and mode. A restore, before
writing anything: checks all of them; refuses paths that leave the backup (`..`, absolute, symbolic
links, folders outside the list above); refuses a key that differs from the backup's, or whose
fingerprint is not the one the backed-up warehouse keeps (`pseudonym`); and requires an empty data
home. It then writes every file and folder with its recorded mode, never open to other accounts
(`secret/` owner-only), and the caller rebuilds the published copy.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path, PurePosixPath

import duckdb

from pipelines import settings
from pipelines.common.datahome import DataHome
from pipelines.ingest import pseudonym
from pipelines.ingest.pseudonym import KEY_FILE
from pipelines.ingest.retention import LOCK_NAME as PURGE_LOCK
from pipelines.warehouse.store import writer_lock

MANIFEST = "sauvegarde.json"
FORMAT = "pre-eval-sauvegarde/1"
WAREHOUSE = "warehouse.duckdb"
# Folders copied whole (relative to the data home), and `secret/` without the key.
FOLDERS = ("archive", "registre", "reports", "referentiel", "acces", "journal", "editions", "portail/envois")
SECRET = "secret"
KEY_PATH = f"{SECRET}/{KEY_FILE}"
CHUNK = 1 << 20
# Folders above a backed-up one (`portail/` above `portail/envois/`): their modes are recorded too.
PARENTS = tuple(sorted({str(PurePosixPath(f).parent) for f in FOLDERS if "/" in f}))


class BackupError(Exception):
    """A French message for the operator; for a restore, nothing was written when it is raised
    before the copy starts."""


@dataclass
class BackupResult:
    folder: Path
    files: int
    size: int
    manifest_sha256: str
    with_key: bool
    left_out: list[str] = field(default_factory=list)  # French lines: what is not in the backup


@dataclass
class RestoreResult:
    home: Path
    files: int
    size: int
    manifest_sha256: str
    key_source: str  # French: where the pseudonymisation key comes from
    created: str  # the backup's date
    version: str


def version() -> str:
    try:
        return metadata.version("pre-eval")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree without its install
        return "inconnue"


# --------------------------------------------------------------------------- backup


def backup(home: DataHome, out: Path, *, with_key: bool = False) -> BackupResult:
    """Write a consistent backup of `home` into `out` (absent or empty), owner-only."""
    out = Path(out).absolute()
    root = home.root.absolute()
    if not root.is_dir():
        raise BackupError(f"Dossier de données introuvable : {root}")
    if out == root or out.is_relative_to(root) or root.is_relative_to(out):
        raise BackupError("Le dossier de sauvegarde doit être hors du dossier de données (et ne pas le contenir).")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise BackupError(f"{out} existe et n'est pas un dossier.")
    if out.is_dir() and any(out.iterdir()):
        raise BackupError(f"Le dossier de sauvegarde {out} existe et n'est pas vide : choisissez un dossier neuf.")
    key = _current_key(home) if with_key else None
    if with_key and key is None:
        raise BackupError("--avec-cle : aucune clé de pseudonymisation à sauvegarder (ni fichier dans secret/, "
                          "ni PRE_CLE_PSEUDONYMISATION).")
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(out, 0o700)
    entries: list[dict] = []
    folders: list[dict] = [{"chemin": ".", "mode": _mode(root)}]
    # The purge's lock, then the writers' (the order the purge takes them): no file is filed, replaced
    # or deleted while the backup copies.
    with _purge_lock(root), writer_lock(home):
        if home.warehouse.is_file():
            _checkpoint(home.warehouse)
            entries.append(_copy_in(home.warehouse, out, WAREHOUSE))
        for name in PARENTS:
            if (root / name).is_dir() and not (root / name).is_symlink():
                folders.append({"chemin": name, "mode": _mode(root / name)})
        for name in (*FOLDERS, SECRET):
            source = root / name
            if not source.is_dir() or source.is_symlink():
                continue
            for relative, path in _walk(root, source, folders):
                if _is_key(relative) and (key is None or relative == KEY_PATH):
                    continue  # the key only on request (below); a rotation's pending key with it
                copied = _copy_in(path, out, relative)
                if copied is not None:
                    entries.append(copied)
        if key is not None:
            entries.append(_write_in(key, out, KEY_PATH))
    manifest = {
        "format": FORMAT,
        "version": version(),
        "cree_le": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "dossier_de_donnees": str(root),
        "avec_cle": key is not None,
        "dossiers": folders,
        "fichiers": entries,
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
    _write_file(out / MANIFEST, text, final_name=True)
    _fsync_dir(out)
    pending = [p.name for p in home.inbox.iterdir() if p.is_file()] if home.inbox.is_dir() else []
    left_out = []
    if pending:
        left_out.append(f"{len(pending)} fichier(s) en attente dans la boîte de dépôt ne sont pas sauvegardés "
                        "(traitez-les d'abord, ou les sites les redéposeront).")
    return BackupResult(out, len(entries), sum(e["octets"] for e in entries), hashlib.sha256(text).hexdigest(),
                        key is not None, left_out)


@contextlib.contextmanager
def _purge_lock(root: Path) -> Iterator[None]:
    with (root / PURGE_LOCK).open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _is_key(relative: str) -> bool:
    """The key file, and a rotation's pending new key (`cle_pseudonymisation.nouvelle`)."""
    return relative.startswith(KEY_PATH)


def _current_key(home: DataHome) -> bytes | None:
    """The key in use, without ever creating one (`pseudonym.load_key` creates a missing key)."""
    from_env = settings.load().CLE_PSEUDONYMISATION
    if from_env is not None:
        return from_env.get_secret_value().encode("utf-8")
    path = home.secret / KEY_FILE
    return path.read_text(encoding="utf-8").strip().encode("utf-8") if path.is_file() else None


def _checkpoint(path: Path) -> None:
    """Fold the write-ahead log into the file (called under the writer lock: nobody else writes)."""
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:  # held by a program outside the platform (an analyst's read-only session)
        raise BackupError(f"L'entrepôt n'a pas pu être ouvert pour la sauvegarde ({exc}) : un autre programme "
                          "l'a-t-il ouvert ? Fermez-le et relancez.") from None
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    if Path(f"{path}.wal").exists():
        raise BackupError("Le journal d'écriture de l'entrepôt n'a pas pu être intégré (fichier .wal restant) : "
                          "sauvegarde interrompue.")


def _walk(root: Path, folder: Path, folders: list[dict]) -> Iterator[tuple[str, Path]]:
    """Regular files under `folder`, sorted, as (path relative to the data home, path); symbolic
    links are skipped (the data home holds none; a link could point anywhere)."""
    folders.append({"chemin": folder.relative_to(root).as_posix(), "mode": _mode(folder)})
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        path = Path(entry.path)
        if entry.is_symlink():
            continue
        if entry.is_dir():
            yield from _walk(root, path, folders)
        elif entry.is_file() and not _being_written(entry.name):
            yield path.relative_to(root).as_posix(), path


def _being_written(name: str) -> bool:
    return name.endswith((".tmp", ".part"))


def _mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def _copy_in(source: Path, out: Path, relative: str) -> dict | None:
    """Copy one file into the backup, hashing the bytes copied (what the manifest describes is
    exactly what the backup holds); None for a file gone meanwhile (a portal check expired)."""
    try:
        src_fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    target = out / relative
    _make_parents(out, target)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(src_fd, "rb") as src, os.fdopen(fd, "wb") as dst:
        for chunk in iter(lambda: src.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return {"chemin": relative, "octets": size, "sha256": digest.hexdigest(), "mode": _mode(source)}


def _write_in(data: bytes, out: Path, relative: str) -> dict:
    target = out / relative
    _make_parents(out, target)
    _write_file(target, data)
    return {"chemin": relative, "octets": len(data), "sha256": hashlib.sha256(data).hexdigest(), "mode": "0600"}


def _make_parents(base: Path, target: Path) -> None:
    missing = []
    parent = target.parent
    while parent != base and not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700)


def _write_file(target: Path, data: bytes, *, final_name: bool = False) -> None:
    """Write owner-only, synced; with `final_name`, under a temporary name renamed at the end."""
    path = target.with_name(f".{target.name}.tmp") if final_name else target
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    if final_name:
        os.replace(path, target)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- restore


def restore(source: Path, home: DataHome, *, key_file: Path | None = None) -> RestoreResult:
    """Restore the backup `source` into `home` (absent or empty). Every file is checked against the
    manifest before anything is written; the caller then rebuilds the published copy."""
    source = Path(source).absolute()
    root = home.root.absolute()
    if not source.is_dir() or source.is_symlink():
        raise BackupError(f"Sauvegarde introuvable : {source} n'est pas un dossier.")
    if root == source or root.is_relative_to(source) or source.is_relative_to(root):
        raise BackupError("Le dossier de données et la sauvegarde doivent être deux dossiers distincts, "
                          "l'un hors de l'autre.")
    if root.is_symlink() or (root.exists() and not root.is_dir()):
        raise BackupError(f"Le dossier de données {root} n'est pas un dossier.")
    if root.is_dir() and any(root.iterdir()):
        raise BackupError(f"Le dossier de données {root} n'est pas vide : la restauration n'écrit que dans un "
                          "dossier vide ou absent (PRE_HOME). Videz-le ou choisissez-en un autre.")
    manifest, manifest_sha256 = _read_manifest(source)
    entries = _checked_entries(manifest)
    folders = _checked_folders(manifest)
    for entry in entries:  # every file, before anything is written
        _verify(source, entry)
    key, effective, key_source = _restore_key(source, entries, key_file)
    _check_fingerprint(source, entries, effective)

    existed = root.is_dir()  # an empty folder the operator prepared keeps its owner, group and mode
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    root_mode = stat.S_IMODE(root.stat().st_mode)
    os.chmod(root, 0o700)  # until every file is in place
    for folder in folders:  # empty ones too (an empty `referentiel/`)
        if folder["chemin"] != ".":
            _make_parents(root, root / folder["chemin"] / "x")
    for entry in entries:
        _restore_file(source, root, entry)
    if key is not None and not any(e["chemin"] == KEY_PATH for e in entries):
        target = root / KEY_PATH
        _make_parents(root, target)
        _write_file(target, key, final_name=True)
    _check_warehouse(root)
    # Folders get their modes last, deepest first (a read-only edition folder is filled first).
    for folder in sorted(folders, key=lambda f: f["chemin"].count("/") + (f["chemin"] != "."), reverse=True):
        if folder["chemin"] == ".":
            continue
        if (root / folder["chemin"]).is_dir():
            os.chmod(root / folder["chemin"], _restored_mode(folder["chemin"], folder["mode"], folder=True))
    recorded_root = next((f["mode"] for f in folders if f["chemin"] == "."), 0o700)
    os.chmod(root, root_mode if existed else (recorded_root & 0o2750) | 0o700)
    return RestoreResult(root, len(entries), sum(e["octets"] for e in entries), manifest_sha256, key_source,
                         str(manifest.get("cree_le", "")), str(manifest.get("version", "")))


def _read_manifest(source: Path) -> tuple[dict, str]:
    path = source / MANIFEST
    if path.is_symlink() or not path.is_file():
        raise BackupError(f"Sauvegarde incomplète ou invalide : {MANIFEST} est absent de {source}.")
    data = path.read_bytes()
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BackupError(f"{MANIFEST} est illisible : sauvegarde corrompue.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST} n'est pas un manifeste de sauvegarde pre-eval ({FORMAT}).")
    return manifest, hashlib.sha256(data).hexdigest()


def _allowed(relative: str) -> bool:
    if relative == WAREHOUSE:
        return True
    return any(relative.startswith(f"{top}/") for top in (*FOLDERS, SECRET))


def _safe_path(value: object) -> str:
    """A manifest path: relative, normalised, no `..`, inside the folders a backup holds."""
    if not isinstance(value, str) or not value or "\\" in value or "\x00" in value:
        raise BackupError(f"Chemin invalide dans le manifeste : {value!r}")
    path = PurePosixPath(value)
    if path.is_absolute() or any(part in ("..", ".", "") for part in value.split("/")):
        raise BackupError(f"Chemin refusé dans le manifeste (hors de la sauvegarde) : {value}")
    if not _allowed(path.as_posix()):
        raise BackupError(f"Chemin refusé dans le manifeste (hors des dossiers sauvegardés) : {value}")
    return path.as_posix()


def _checked_entries(manifest: dict) -> list[dict]:
    files = manifest.get("fichiers")
    if not isinstance(files, list):
        raise BackupError(f"{MANIFEST} ne liste pas de fichiers : sauvegarde invalide.")
    seen: set[str] = set()
    entries = []
    for item in files:
        if not isinstance(item, dict):
            raise BackupError(f"Entrée invalide dans le manifeste : {item!r}")
        relative = _safe_path(item.get("chemin"))
        size, digest, mode = item.get("octets"), item.get("sha256"), item.get("mode", "0600")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 or not isinstance(digest, str) \
                or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise BackupError(f"Entrée invalide dans le manifeste : {relative}")
        if relative in seen:
            raise BackupError(f"Fichier listé deux fois dans le manifeste : {relative}")
        seen.add(relative)
        entries.append({"chemin": relative, "octets": size, "sha256": digest, "mode": _parse_mode(mode, relative)})
    # A file cannot also be a folder of another entry (`archive/a` and `archive/a/b`).
    for relative in seen:
        parent = PurePosixPath(relative).parent
        while parent != PurePosixPath("."):
            if parent.as_posix() in seen:
                raise BackupError(f"Chemins incompatibles dans le manifeste : {parent.as_posix()}")
            parent = parent.parent
    return entries


def _checked_folders(manifest: dict) -> list[dict]:
    """The folders' modes (restored last); a folder outside the backed-up ones is refused."""
    folders = manifest.get("dossiers", [])
    if not isinstance(folders, list):
        raise BackupError(f"{MANIFEST} : liste des dossiers invalide.")
    checked = []
    for item in folders:
        if not isinstance(item, dict):
            raise BackupError(f"Entrée invalide dans le manifeste : {item!r}")
        relative = item.get("chemin")
        if relative != "." and (not isinstance(relative, str) or relative not in (*FOLDERS, *PARENTS, SECRET)):
            relative = _safe_path(relative)
        checked.append({"chemin": relative, "mode": _parse_mode(item.get("mode", "0700"), str(relative))})
    return checked


def _parse_mode(value: object, relative: str) -> int:
    if not isinstance(value, str) or len(value) != 4 or any(c not in "01234567" for c in value):
        raise BackupError(f"Mode invalide dans le manifeste pour {relative} : {value!r}")
    return int(value, 8)


def _restored_mode(relative: str, recorded: int, *, folder: bool) -> int:
    """The mode a restored file or folder gets: the one it had, as the manifest records it — the
    platform's own (owner-only; `published/`, `reports/`, `editions/` open to the group) and the
    operator's (the folders shared with the dashboard's account: deploy/systemd/README.md) — but never
    anything for other accounts, no set-user-id, and `secret/` always owner-only."""
    if relative.split("/")[0] == SECRET:
        return 0o700 if folder else 0o600
    if folder:
        return (recorded & 0o3770) | 0o500  # setgid and sticky kept (folders the dashboard writes into)
    return (recorded & 0o770) | 0o400


def _source_file(source: Path, relative: str) -> Path:
    """The file of the backup, refusing symbolic links at any level."""
    path = source
    for part in PurePosixPath(relative).parts:
        path = path / part
        try:
            info = path.lstat()
        except FileNotFoundError:
            raise BackupError(f"Fichier manquant dans la sauvegarde : {relative}") from None
        if stat.S_ISLNK(info.st_mode):
            raise BackupError(f"Lien symbolique refusé dans la sauvegarde : {relative}")
    if not stat.S_ISREG(path.lstat().st_mode):
        raise BackupError(f"{relative} n'est pas un fichier ordinaire dans la sauvegarde.")
    return path


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _verify(source: Path, entry: dict) -> None:
    digest, size = _digest(_source_file(source, entry["chemin"]))
    if size != entry["octets"] or digest != entry["sha256"]:
        raise BackupError(f"Sauvegarde altérée : {entry['chemin']} ne correspond pas à son empreinte SHA-256 "
                          "dans le manifeste. Rien n'a été restauré.")


def _restore_key(source: Path, entries: list[dict], key_file: Path | None) -> tuple[bytes | None, bytes | None, str]:
    """The pseudonymisation key to write (None: none to write), the key the restored home will use,
    and a French note on where it comes from. Two different keys are refused: the wrong one would
    give the same children other pseudonyms."""
    in_backup = None
    if any(e["chemin"] == KEY_PATH for e in entries):
        in_backup = _source_file(source, KEY_PATH).read_bytes().strip()
    given = None
    if key_file is not None:
        path = Path(key_file)
        if not path.is_file():
            raise BackupError(f"Fichier de clé introuvable : {key_file}")
        given = path.read_bytes().strip()
        if not given:
            raise BackupError(f"Le fichier de clé {key_file} est vide.")
        if in_backup is not None and given != in_backup:
            raise BackupError("La clé donnée par --cle diffère de celle contenue dans la sauvegarde : "
                              "restauration refusée.")
    from_env = settings.load().CLE_PSEUDONYMISATION
    env = from_env.get_secret_value().encode("utf-8") if from_env is not None else None
    if env is not None and (given or in_backup) not in (None, env):
        raise BackupError("PRE_CLE_PSEUDONYMISATION est définie et diffère de la clé de la sauvegarde (ou de --cle) : "
                          "restauration refusée.")
    if given is not None:
        return given, env or given, f"clé de pseudonymisation installée depuis {key_file}"
    if in_backup is not None:
        return None, env or in_backup, "clé de pseudonymisation restaurée depuis la sauvegarde"
    if env is not None:
        return None, env, "clé de pseudonymisation lue dans PRE_CLE_PSEUDONYMISATION"
    if any(e["chemin"] == WAREHOUSE for e in entries):
        raise BackupError("La sauvegarde ne contient pas la clé de pseudonymisation : donnez-la avec "
                          "--cle FICHIER (ou définissez PRE_CLE_PSEUDONYMISATION). Sans elle, les prochains dépôts "
                          "recevraient d'autres pseudonymes que les données restaurées.")
    return None, None, "aucune clé (la sauvegarde ne contient pas d'entrepôt)"


def _check_fingerprint(source: Path, entries: list[dict], key: bytes | None) -> None:
    """The key must be the one whose fingerprint the backed-up warehouse holds (`pseudonym`), or the
    pending key of a rotation that committed (the next load puts it in place)."""
    if key is None or not any(e["chemin"] == WAREHOUSE for e in entries):
        return
    try:
        con = duckdb.connect(str(_source_file(source, WAREHOUSE)), read_only=True)
    except duckdb.Error as exc:
        raise BackupError(f"L'entrepôt de la sauvegarde ne s'ouvre pas avec cette version de DuckDB "
                          f"({duckdb.__version__}) : {exc}") from None
    try:
        stored = pseudonym.stored_fingerprint(con)
    except duckdb.CatalogException:
        return  # a warehouse older than the fingerprint: the first load records it
    finally:
        con.close()
    if stored is None:
        return
    candidates = [key]
    pending = f"{KEY_PATH}{pseudonym.PENDING_SUFFIX}"
    if any(e["chemin"] == pending for e in entries):
        candidates.append(_source_file(source, pending).read_bytes().strip())
    if not any(hmac.compare_digest(pseudonym.fingerprint(k), stored) for k in candidates):
        raise BackupError("La clé de pseudonymisation n'est pas celle de l'entrepôt sauvegardé (son empreinte "
                          "diffère de celle enregistrée dans l'entrepôt) : restauration refusée. Retrouvez la clé "
                          "conservée à part à la date de cette sauvegarde (docs/exploitation/cle.md).")


def _restore_file(source: Path, root: Path, entry: dict) -> None:
    """Copy one file in, hashing again what is copied (the backup could change after the check)."""
    target = root / entry["chemin"]
    _make_parents(root, target)
    digest = hashlib.sha256()
    fd_in = os.open(_source_file(source, entry["chemin"]), os.O_RDONLY | os.O_NOFOLLOW)
    fd_out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd_in, "rb") as src, os.fdopen(fd_out, "wb") as dst:
        for chunk in iter(lambda: src.read(CHUNK), b""):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    if digest.hexdigest() != entry["sha256"]:
        raise BackupError(f"Sauvegarde modifiée pendant la restauration : {entry['chemin']}. Le dossier de données "
                          f"{root} est incomplet : videz-le et recommencez.")
    os.chmod(target, _restored_mode(entry["chemin"], entry["mode"], folder=False))


def _check_warehouse(root: Path) -> None:
    path = root / WAREHOUSE
    if not path.is_file():
        return
    try:
        con = duckdb.connect(str(path), read_only=True)
        con.close()
    except duckdb.Error as exc:
        raise BackupError(f"L'entrepôt restauré ne s'ouvre pas avec cette version de DuckDB ({duckdb.__version__}) : "
                          f"{exc}") from None
