"""The early verdict: the inbox sensor checks a new file in its own long-lived process, before any run.

Why: a coordinator waits for the verdict, and runs are queued one at a time behind the warehouse's single
writer (a publication can hold it for minutes on the national warehouse). A contract check needs no
writer: it reads the file, the contracts, the site referential and one fact of the warehouse, the number
of pathways of each site's snapshot in force (rule `parcours.volume_en_baisse`, a warning). That fact is
kept in a small file (`staging/controle/en_vigueur.json`), rewritten by every ingestion run.

So the sensor (`pipelines.defs.ingestion.boite_de_depot`, evaluated in Dagster's code server, where GX,
the contracts and the imports stay loaded from one tick to the next) reads and checks each new file into
`staging/controle/<sha256>/`, writes its report and its notice (`pipelines.contracts.notices`, which
/mes-depots shows at once), then requests the run. The run takes the folder over (one rename), keeps
the verdict when the snapshot in force is still the one it was given against, and otherwise checks the
file again; then it files the file and loads it as before. Nothing here writes the warehouse, moves a
submitted file or writes the ledger: the run alone does, in the writer's queue.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

from pipelines.common.datahome import DataHome
from pipelines.ingest.inbox import InboxFile

FOLDER = "controle"  # under staging/
IN_FORCE_USED = "en_vigueur_parcours"  # in verdict.json: what the check knew of the snapshot in force
# A tick of the sensor must end well within Dagster's sensor timeout (60 s): files beyond this size,
# or found once this much of the tick is spent, are checked by their run as before.
MAX_BYTES = 20 * 1024 * 1024
BUDGET_S = 15.0
# A reading is written in a private folder (`temporary`), then put in place whole (`settle`). One still
# there after this long belongs to a writer that died: a leftover.
WRITING_SUFFIX = ".tmp"
WRITING_GRACE_S = 3600


def root(home: DataHome) -> Path:
    return home.root / "staging" / FOLDER


def folder(home: DataHome, sha256: str) -> Path:
    return root(home) / sha256


# --------------------------------------------------------------------------- the snapshot in force


def write_in_force(home: DataHome, counts: dict[str, int]) -> None:
    """Record each site's pathways in force (called by ingestion runs, under the writer's lock)."""
    target = root(home) / "en_vigueur.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(counts, sort_keys=True), encoding="utf-8")
    os.replace(tmp, target)


def read_in_force(home: DataHome) -> dict[str, int] | None:
    """The counts last recorded; None when unknown (no run yet, or an unreadable file)."""
    try:
        counts = json.loads((root(home) / "en_vigueur.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(counts, dict):
        return None
    return {k: v for k, v in counts.items() if isinstance(k, str) and isinstance(v, int)}


def used(in_force: dict[str, int] | None, code: str | None) -> dict:
    """What a check knew of the site's snapshot in force, as kept in its verdict."""
    return {"connu": in_force is not None, "parcours": (in_force or {}).get(code or "")}


def still_valid(staged: Path, in_force: dict[str, int]) -> bool:
    """A verdict already in the staged folder that was given against this snapshot in force."""
    try:
        verdict = json.loads((staged / "verdict.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return verdict.get(IN_FORCE_USED) == used(in_force, verdict.get("code_pre"))


# --------------------------------------------------------------------------- the folders


def done(home: DataHome, file: InboxFile) -> bool:
    """This file was read and checked by the sensor, and its run has not taken it over yet."""
    return matches(folder(home, file.sha256), file) and (folder(home, file.sha256) / "verdict.json").is_file()


def matches(staged: Path, file: InboxFile) -> bool:
    """The folder holds a complete reading of this very file (same name, size, time and content)."""
    try:
        meta = json.loads((staged / "lecture.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (meta.get("sha256"), meta.get("fichier"), meta.get("taille"), meta.get("mtime")) == (
        file.sha256, file.name, file.size, file.mtime)


def temporary(target: Path) -> Path:
    """A private folder, beside `target`, to write a reading into. Two writers may read one file at once
    (the sensor, and `pre-eval process` reading ahead): each writes its own folder, which nobody else
    reads, takes over or clears, and `settle` puts a whole reading in place in one rename."""
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}{WRITING_SUFFIX}")


def settle(written: Path, target: Path, file: InboxFile) -> None:
    """Put the reading written in `written` in place as `target` (one rename), unless a whole reading of
    this very file is there already (another writer's, kept: `written` is removed). A folder there for
    anything else (another name or time of the content) is removed first."""
    if target.exists() and not matches(target, file):
        _discard(target)
    try:
        os.rename(written, target)
    except OSError:  # another writer's reading got there first (only whole readings are put in place)
        shutil.rmtree(written, ignore_errors=True)


def _discard(path: Path) -> None:
    """Remove a folder of this area: renamed aside first, so that a run never takes over half of it."""
    aside = temporary(path)
    try:
        os.rename(path, aside)
    except OSError:  # gone or taken meanwhile
        return
    shutil.rmtree(aside, ignore_errors=True)


def _being_written(entry: Path) -> bool:
    if not (entry.name.startswith(".") and entry.name.endswith(WRITING_SUFFIX)):
        return False
    try:
        return time.time() - entry.stat().st_mtime < WRITING_GRACE_S
    except OSError:
        return False


def adopt(home: DataHome, file: InboxFile, target: Path) -> bool:
    """Move the folder read for this very file (same name, size, time and content) to a run's staging,
    with its verdict when the sensor checked it (`pre-eval process` reads files ahead without checking
    them: `lifecycle.read_ahead`); False when there is none (the run reads the file itself)."""
    if not matches(folder(home, file.sha256), file):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(folder(home, file.sha256), target)
    except OSError:  # taken meanwhile (another run) or a partial folder: read again
        return False
    return True


def leftovers(home: DataHome) -> list[Path]:
    """Folders of the sensor whose file is no longer waiting in the inbox as it was read (handled,
    replaced, removed), or that are incomplete: raw values no run will take over. A reading being written
    (`temporary`) is left to its writer for `WRITING_GRACE_S`."""
    base = root(home)
    if not base.is_dir():
        return []
    found = []
    for entry in base.iterdir():
        if entry.is_symlink() or not entry.is_dir() or _being_written(entry):
            continue
        try:
            meta = json.loads((entry / "lecture.json").read_text(encoding="utf-8"))
            waiting = os.stat(home.inbox / Path(str(meta["fichier"])).name, follow_symlinks=False)
            if (meta["sha256"], meta["taille"], meta["mtime"]) != (entry.name, waiting.st_size, waiting.st_mtime):
                raise ValueError
        except (OSError, ValueError, KeyError, TypeError):
            found.append(entry)
    return found


def remove(paths: list[Path]) -> None:
    for path in paths:
        _discard(path)
