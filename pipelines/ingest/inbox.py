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


def ready_files(home: DataHome, *, stable_seconds: float = 0.0) -> list[InboxFile]:
    """Files of the inbox ready to be handled, oldest first.

    `stable_seconds`: the sensor also waits until a file has not changed for that long, in case
    an uploader writes in place; `pre-eval process` handles every file at once (0).
    """
    if not home.inbox.is_dir():
        return []
    now = time.time()
    found = []
    for entry in os.scandir(home.inbox):
        if not entry.is_file(follow_symlinks=False) or is_being_written(entry.name):
            continue
        stat = entry.stat(follow_symlinks=False)
        if stable_seconds and now - stat.st_mtime < stable_seconds:
            continue
        found.append(InboxFile(entry.name, stat.st_size, stat.st_mtime, sha256_of(Path(entry.path))))
    return sorted(found, key=lambda f: (f.mtime, f.name))


# --------------------------------------------------------------------------- ledger and journal


def ledger_path(home: DataHome, sha256: str) -> Path:
    return home.root / "registre" / f"{sha256}.json"


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


def from_config(items: list[dict]) -> list[InboxFile]:
    return [InboxFile(**item) for item in items]
