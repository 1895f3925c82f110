"""The inbox of the data home: which files are ready, which are new, which are duplicates.

Used identically by the Dagster sensor and by `pre-eval process`. Everything here works on the
file system only (no warehouse connection), so the sensor never contends for DuckDB's lock.

The ledger `$PRE_HOME/registre/<sha256>.json` records every content already handled (accepted,
refused or ignored) and where its file went; the journal `$PRE_HOME/journal/arrivees.jsonl` logs
every arrival, duplicates included.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat as stat_
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.common.datahome import DataHome

WRITING_SUFFIXES = (".part", ".tmp")


@dataclass(frozen=True)
class InboxFile:
    name: str
    size: int
    mtime: float
    sha256: str

    def path(self, home: DataHome) -> Path:
        return home.inbox / self.name

    @property
    def received_at(self) -> datetime:
        return datetime.fromtimestamp(self.mtime, tz=UTC)


def is_being_written(name: str) -> bool:
    """Uploaders write under a dot name or a .part/.tmp suffix and rename when done."""
    return name.startswith(".") or name.lower().endswith(WRITING_SUFFIXES)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_key(stat: os.stat_result) -> str:
    """What identifies a file's content without reading it, as long as nobody touches the file.

    Any write changes the modification and the change times (the change time cannot be set back by
    a user); a replaced file has another inode. Used as the key of the sensor's hash cache.
    """
    return f"{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"


def ready_files(home: DataHome, *, stable_seconds: float = 0.0,
                known_hashes: dict[str, str] | None = None) -> list[InboxFile]:
    """Files of the inbox ready to be handled, oldest first.

    `stable_seconds`: the sensor also waits until a file has not changed for that long, in case
    an uploader writes in place; `pre-eval process` handles every file at once (0).
    `known_hashes` (`hash_key` → SHA-256, the sensor's cache kept from one tick to the next): a file
    whose key is there is not read again; the dict is left holding the files of this call only.
    """
    if not home.inbox.is_dir():
        return []
    now = time.time()
    found = []
    seen: dict[str, str] = {}
    for entry in os.scandir(home.inbox):
        if not entry.is_file(follow_symlinks=False) or is_being_written(entry.name):
            continue
        stat = entry.stat(follow_symlinks=False)
        if stable_seconds and now - stat.st_mtime < stable_seconds:
            continue
        key = hash_key(stat)
        digest = known_hashes.get(key) if known_hashes is not None else None
        if digest is None or not SHA256.fullmatch(digest):
            digest = sha256_of(Path(entry.path))
        seen[key] = digest
        found.append(InboxFile(entry.name, stat.st_size, stat.st_mtime, digest))
    if known_hashes is not None:
        known_hashes.clear()
        known_hashes.update(seen)
    return sorted(found, key=lambda f: (f.mtime, f.name))


def unstable_wait(home: DataHome, stable_seconds: float) -> float:
    """Seconds until every file of the inbox written less than `stable_seconds` ago has been left alone
    that long (0: none); files still being written under a temporary name are not counted."""
    if not stable_seconds or not home.inbox.is_dir():
        return 0.0
    now = time.time()
    wait = 0.0
    for entry in os.scandir(home.inbox):
        if not entry.is_file(follow_symlinks=False) or is_being_written(entry.name):
            continue
        age = now - entry.stat(follow_symlinks=False).st_mtime
        if 0 <= age < stable_seconds:
            wait = max(wait, stable_seconds - age)
    return wait


# --------------------------------------------------------------------------- ledger and journal


def ledger_path(home: DataHome, sha256: str) -> Path:
    return home.ledger / f"{sha256}.json"


def ledger_entry(home: DataHome, sha256: str) -> dict | None:
    path = ledger_path(home, sha256)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_ledger(home: DataHome, sha256: str, entry: dict) -> None:
    path = ledger_path(home, sha256)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def log_arrival(home: DataHome, file: InboxFile, outcome: str, **extra) -> None:
    """Append one line to the arrivals journal (every file received, duplicates included)."""
    journal = home.root / "journal" / "arrivees.jsonl"
    journal.parent.mkdir(parents=True, exist_ok=True)
    line = {"fichier": file.name, "sha256": file.sha256, "taille": file.size,
            "recu_le": file.received_at.isoformat(), "issue": outcome,
            "journalise_le": datetime.now(tz=UTC).isoformat(), **extra}
    with journal.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line, ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class Triage:
    new: list[InboxFile]
    duplicates: list[tuple[InboxFile, str]]  # (file, where its content already is)


def triage(home: DataHome, files: list[InboxFile]) -> Triage:
    """Split ready files into new contents and duplicates; remove and log the duplicates.

    A duplicate is a content already handled (in the ledger) or a content that another file of
    this inbox, received earlier, also has. The earliest file of a content is the new one.
    """
    new: list[InboxFile] = []
    duplicates: list[tuple[InboxFile, str]] = []
    seen: dict[str, InboxFile] = {}
    for file in files:
        entry = ledger_entry(home, file.sha256)
        if entry is not None:
            duplicates.append((file, entry.get("chemin", "")))
        elif file.sha256 in seen:
            duplicates.append((file, f"inbox/{seen[file.sha256].name}"))
        else:
            seen[file.sha256] = file
            new.append(file)
    for file, original in duplicates:
        log_arrival(home, file, "doublon", identique_a=original)
        file.path(home).unlink(missing_ok=True)
    return Triage(new, duplicates)


def to_config(files: list[InboxFile]) -> list[dict]:
    return [asdict(f) for f in files]


SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_NAME_BYTES = 255


class UntrustedFile(ValueError):
    """A run's configuration names something that is not a file waiting in the inbox."""


def bare_name_problem(name: object) -> str | None:
    """Why `name` is not a bare inbox file name (None when it is one). Never echoes the name."""
    if not isinstance(name, str) or not name:
        return "le nom de fichier est vide"
    if "/" in name or "\\" in name or name in {".", ".."}:
        return "le nom de fichier contient un chemin (seul un nom de fichier de la boîte de dépôt est accepté)"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "le nom de fichier contient des caractères de contrôle"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"le nom de fichier dépasse {MAX_NAME_BYTES} octets"
    if is_being_written(name):
        return "le fichier est encore en cours d'écriture (nom commençant par un point ou finissant par .part/.tmp)"
    return None


def from_config(home: DataHome, items: list[dict]) -> list[InboxFile]:
    """The inbox files a run's configuration names, each checked against the inbox itself.

    The configuration may come from the Dagster UI, so nothing in it is trusted: each `name` must
    be a bare file name and, when the inbox holds it, name a regular file (not a link) whose content
    has the given `sha256`; a file no longer there (handled meanwhile by another run) is left out.
    Size and time are read from the file, not from the configuration. Raises `UntrustedFile` (in
    French, without echoing the values) otherwise.
    """
    files = []
    for position, item in enumerate(items, start=1):
        name, digest = item.get("name"), item.get("sha256")
        problem = bare_name_problem(name)
        if problem is None and not (isinstance(digest, str) and SHA256.fullmatch(digest)):
            problem = "l'empreinte sha256 doit compter 64 caractères hexadécimaux en minuscules"
        if problem is None:
            path = home.inbox / name
            try:
                info = path.lstat()
            except OSError:
                info = None
            if info is None:
                continue  # handled meanwhile by another run (or never there): nothing to do
            if not stat_.S_ISREG(info.st_mode):
                problem = "ce nom ne désigne pas un fichier ordinaire de la boîte de dépôt"
            elif sha256_of(path) != digest:
                problem = "le contenu du fichier de la boîte de dépôt ne correspond pas à l'empreinte donnée"
            else:
                files.append(InboxFile(name, info.st_size, info.st_mtime, digest))
        if problem is not None:
            raise UntrustedFile(f"Configuration d'exécution refusée, fichier n° {position} : {problem}. "
                                "Les dépôts se lancent depuis la boîte de dépôt (capteur ou pre-eval process).")
    return files
